//! The SCIM 2.0 filter and PATCH path language (RFC 7644 §3.4.2.2 and §3.5.2).
//!
//! STUB: the scim-filter issue writes the full crate documentation here.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ast;
mod error;
mod eval;
mod parse;
mod print;

pub use ast::{AttrPath, CompValue, CompareOp, Comparison, Filter, Number, Path, ValuePath};
pub use error::{Expected, ParseError, ParseErrorKind};
pub use eval::{AttrSchema, AttrType, Characteristics, EvalError};
pub use parse::{
    DEFAULT_MAX_COMPARISONS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LEN, Parser, parse, parse_path,
};

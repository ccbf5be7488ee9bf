//! The SCIM 2.0 filter and PATCH path language (RFC 7644 §3.4.2.2 and §3.5.2).
//!
//! This crate turns the text of a SCIM `filter` query parameter (`userName eq "bjensen"`)
//! or of a PATCH operation's `path` (`emails[type eq "work"].value`) into a tree, prints
//! trees back as canonical text, and evaluates filters against JSON resources. It has no
//! knowledge of any schema: what it needs to know about attributes comes through the
//! [`AttrSchema`] trait.
//!
//! # Primary types
//!
//! - [`Filter`] is a parsed filter: comparisons ([`Comparison`]), `pr`, `not`, n-ary `and` /
//!   `or`, and value paths (`emails[type eq "work"]`), all its nodes in one buffer. Walk it
//!   through [`Filter::root`], a [`Node`] whose variants give views ([`FilterRef`]) of the
//!   children, to translate it into another query language; build one with
//!   [`Filter::compare`], [`Filter::and`] and the other constructors.
//! - [`Path`] is a parsed PATCH path: an [`AttrPath`] and an optional value filter.
//! - [`AttrPath`] names an attribute: an optional schema URN, a name and an optional
//!   sub-attribute.
//! - [`CompValue`] is a comparison literal: a JSON string, [`Number`], boolean or `null`.
//! - [`Parser`] holds the options: which identity-provider dialects are accepted, and the
//!   budgets that bound what an input may cost.
//! - [`ParseError`] says why a text is not a filter or path: where ([`ParseError::span`]),
//!   what ([`ParseErrorKind`]) and what would have fit ([`Expected`]).
//!
//! # Conversions
//!
//! - Text to tree: [`parse`] and [`parse_path`] read the strict RFC 7644 grammar;
//!   [`Parser::parse`] and [`Parser::parse_path`] read it with the options of a [`Parser`],
//!   such as [`Parser::with_dialects`] for what Microsoft Entra ID, Okta and other providers
//!   actually send.
//! - Tree to text: [`Display`](std::fmt::Display) prints the canonical form (lower-case
//!   keywords, single spaces, JSON strings, every nested group in parentheses). For every
//!   parsed filter `f`, `parse(&f.to_string()) == Ok(f)`, and the printed text of a filter
//!   read with the dialects is standard SCIM.
//! - Borrowed to owned: a parsed tree borrows names and unescaped strings from its input;
//!   [`Filter::into_owned`] and [`Path::into_owned`] detach it.
//! - Tree to answer: [`Filter::matches`] and [`Filter::matches_with`] evaluate a filter
//!   against a `serde_json::Value`; [`Filter::select`] and [`Filter::select_with`] over a
//!   slice of them (a store's scan), with the same answers: over resources that are not in
//!   cache, several times faster than `matches` on each, since it reads what the filter
//!   looks at first in many resources at once before evaluating them.
//!
//! # Example
//!
//! ```
//! use scim_filter::{CompValue, Node, Parser, parse};
//!
//! // The strict grammar, as written in RFC 7644.
//! let f = parse(r#"userName Eq "bjensen" and (emails[type eq "work"] or not (title pr))"#)?;
//! let Node::And(mut terms) = f.root() else { unreachable!() };
//! let Some(Node::Compare(c)) = terms.next().map(|t| t.node()) else { unreachable!() };
//! assert_eq!(c.attr.name(), "userName");
//! assert_eq!(c.value, CompValue::String("bjensen".into()));
//! assert_eq!(
//!     f.to_string(),
//!     r#"userName eq "bjensen" and (emails[type eq "work"] or not (title pr))"#
//! );
//!
//! // What identity providers send: an unquoted value, and Entra ID's value-path form.
//! let tolerant = Parser::with_dialects();
//! let f = tolerant.parse(r#"emails[type eq "work"].value eq bjensen@example.com"#)?;
//! assert_eq!(
//!     f.to_string(),
//!     r#"emails[type eq "work" and value eq "bjensen@example.com"]"#
//! );
//!
//! // A PATCH path.
//! let p = scim_filter::parse_path(r#"members[value eq "2819c223"].display"#)?;
//! assert_eq!(p.attr.sub_attr(), Some("display"));
//! # Ok::<(), scim_filter::ParseError>(())
//! ```
//!
//! # Input safety
//!
//! Filters come from the network, so every input is bounded:
//!
//! - **Size.** An input longer than [`DEFAULT_MAX_LEN`] bytes (64 KiB) or with more than
//!   [`DEFAULT_MAX_COMPARISONS`] comparisons (1,000) is refused with a [`ParseError`] before
//!   any more work is done ([`Parser::max_len`], [`Parser::max_comparisons`]).
//! - **Nesting.** A filter deeper than [`DEFAULT_MAX_DEPTH`] levels (64, counted as in
//!   [`Filter::depth`]), or with parentheses and brackets nested deeper than that (redundant
//!   ones included), is refused ([`Parser::max_depth`]). Ten thousand `(` fail at the 65th.
//! - **Bounded recursion in the parser.** A valid filter is read by a quick
//!   recursive-descent pass that goes one call deeper per open group, but never more than
//!   16 deep (a deeper filter is left to the full parser); the full parser, which also
//!   reports errors, keeps its open groups on an explicit stack. So the parser's own stack
//!   use is bounded by a constant, whatever the input. A filter's nodes are in one
//!   flat buffer, so [`Filter::depth`], [`Filter::into_owned`] and the destructor are loops.
//!   What walks the tree — printing, evaluating — recurses once per level, which the nesting
//!   budget bounds: a tree at the default budget prints well within a 256 KiB thread stack.
//!   Long `and` / `or` chains are one wide node, not a deep one, whatever their length.
//! - **Linear time.** The lexer is hand-written over bytes, and every decision needs at most
//!   one word of lookahead; an input is read at most twice (the quick pass stops at
//!   anything it would have to report, and the full parser reads the input again).
//! - **No panics.** Every input yields a tree or a
//!   [`ParseError`]; this is fuzzed and property-tested.
//!
//! # Error reporting
//!
//! A [`ParseError`] carries the byte span at fault, a [`ParseErrorKind`] (unknown operator,
//! unclosed `(`, single-quoted value, ...), and the [`Expected`] set of what the grammar
//! would have accepted there. Its `Display` is meant to be shown to the person who wrote the
//! filter (for example in a SCIM `invalidFilter` error's `detail`): one line saying what and
//! where, then the input with a caret under the fault. Inputs longer than about 200 bytes
//! are cut around the fault, so the message stays short, and control characters are shown as
//! visible symbols so the caret stays aligned. `Debug` leaves the input out.
//!
//! ```
//! let err = scim_filter::parse(r#"userName lte "bjensen""#).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid filter at byte 9: unknown operator `lte`; \
//!      expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`\n\
//!      \x20 userName lte \"bjensen\"\n\
//!      \x20          ^^^"
//! );
//! ```
//!
//! # Modules
//!
//! - `sql` (cargo feature `sql`, off by default): compiles a filter to a parameterised
//!   SQL `WHERE` clause that selects what [`Filter::matches_with`] matches, given a mapping
//!   from attribute paths to columns or JSON members; what it cannot express exactly it
//!   widens and flags for an in-memory recheck.
//! - [`ast`]: the tree types. The parser, printer, errors and evaluator are re-exported at
//!   the crate root.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ast;
mod error;
mod eval;
mod parse;
mod print;
#[cfg(feature = "sql")]
pub mod sql;

pub use ast::{
    AttrPath, CompValue, CompareOp, Comparison, Filter, FilterRef, Node, Number, Path, Terms,
};
pub use error::{Expected, ParseError, ParseErrorKind};
pub use eval::{AttrSchema, AttrType, Characteristics, EvalError, fold};
pub use parse::{
    DEFAULT_MAX_COMPARISONS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LEN, Parser, parse, parse_path,
};

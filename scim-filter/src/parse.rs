//! Text to AST: a hand-written, linear-time parser with a nesting and size budget.
//!
//! STUB: the parser issue replaces this body; the public signatures are fixed.

use crate::ast::{Filter, Path};
use crate::error::{ParseError, ParseErrorKind};

/// Default nesting budget: how many AST levels a filter may have.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default size budget: the longest input accepted, in bytes.
pub const DEFAULT_MAX_LEN: usize = 64 * 1024;
/// Default size budget: the most comparisons (including `pr`) in one filter.
pub const DEFAULT_MAX_COMPARISONS: usize = 1000;

/// A configured parser: which identity-provider dialects are accepted, and the budgets.
///
/// [`Parser::new`] is the strict RFC 7644 grammar (what [`parse`] and [`parse_path`] use);
/// [`Parser::with_dialects`] also accepts what real identity providers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parser {
    bare_words: bool,
    entra_value_paths: bool,
    max_depth: usize,
    max_len: usize,
    max_comparisons: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// The strict RFC 7644 §3.4.2.2 grammar with the default budgets.
    pub const fn new() -> Self {
        Parser {
            bare_words: false,
            entra_value_paths: false,
            max_depth: DEFAULT_MAX_DEPTH,
            max_len: DEFAULT_MAX_LEN,
            max_comparisons: DEFAULT_MAX_COMPARISONS,
        }
    }

    /// The grammar with every identity-provider dialect switched on.
    pub const fn with_dialects() -> Self {
        Parser::new().bare_words(true).entra_value_paths(true)
    }

    /// Accept bare-word comparison values (`externalId eq jyoung`).
    pub const fn bare_words(mut self, on: bool) -> Self {
        self.bare_words = on;
        self
    }

    /// Accept the Entra form `emails[type eq "work"].value eq "x"`.
    pub const fn entra_value_paths(mut self, on: bool) -> Self {
        self.entra_value_paths = on;
        self
    }

    /// Sets the nesting budget (AST levels).
    pub const fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the longest input accepted, in bytes.
    pub const fn max_len(mut self, len: usize) -> Self {
        self.max_len = len;
        self
    }

    /// Sets the most comparisons accepted in one filter.
    pub const fn max_comparisons(mut self, n: usize) -> Self {
        self.max_comparisons = n;
        self
    }

    /// Parses a filter.
    pub fn parse<'a>(&self, input: &'a str) -> Result<Filter<'a>, ParseError> {
        let _ = (self, input);
        Err(ParseError::new(input, 0..0, ParseErrorKind::Empty))
    }

    /// Parses a PATCH path.
    pub fn parse_path<'a>(&self, input: &'a str) -> Result<Path<'a>, ParseError> {
        let _ = (self, input);
        Err(ParseError::new(input, 0..0, ParseErrorKind::Empty))
    }
}

/// Parses a filter with the strict RFC 7644 grammar and the default budgets.
pub fn parse(input: &str) -> Result<Filter<'_>, ParseError> {
    Parser::new().parse(input)
}

/// Parses a PATCH path (`attrPath / valuePath [subAttr]`) with the strict grammar.
pub fn parse_path(input: &str) -> Result<Path<'_>, ParseError> {
    Parser::new().parse_path(input)
}

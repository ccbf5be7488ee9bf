//! Parse errors: where, what was expected, and a rendering with a caret.
//!
//! STUB: the parser issue fills this in.

use std::fmt;
use std::ops::Range;

/// What went wrong while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input is empty or only whitespace.
    Empty,
}

/// A filter or path that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    span: Range<usize>,
    input: String,
}

impl ParseError {
    pub(crate) fn new(input: &str, span: Range<usize>, kind: ParseErrorKind) -> Self {
        ParseError {
            kind,
            span,
            input: input.to_owned(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The byte range of the input at fault.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at byte {}: {:?} in {}",
            self.span.start, self.kind, self.input
        )
    }
}

impl std::error::Error for ParseError {}

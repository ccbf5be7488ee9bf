//! Parse errors: where, what went wrong, what was expected, and a rendering with a caret.
//!
//! A [`ParseError`] keeps the byte span at fault, a [`ParseErrorKind`] saying what went wrong,
//! an [`Expected`] set saying what the grammar would have accepted there, and a short excerpt
//! of the input (at most 200 bytes around the fault) so that its
//! [`Display`](fmt::Display) can show the input with a caret under the fault:
//!
//! ```text
//! invalid filter at byte 9: unknown operator `lte`; expected a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`
//!   userName lte "bjensen"
//!            ^^^
//! ```

use std::fmt;
use std::ops::Range;

/// The most input bytes an error keeps and shows around the fault.
pub(crate) const MAX_EXCERPT: usize = 200;
/// How many bytes before the fault the excerpt starts, when the input is too long to show.
const BEFORE: usize = 80;
/// How many bytes of the text at fault are quoted in the message (e.g. an unknown operator).
const MAX_QUOTED: usize = 24;

/// What went wrong while parsing.
///
/// The grammar position is in [`ParseError::span`] and what would have been accepted there in
/// [`ParseError::expected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input is empty or only whitespace.
    Empty,
    /// The input is longer than the size budget ([`Parser::max_len`](crate::Parser::max_len)).
    TooLong {
        /// The budget, in bytes.
        max: usize,
    },
    /// The filter nests deeper than the nesting budget
    /// ([`Parser::max_depth`](crate::Parser::max_depth)): too many levels of `and`/`or`/`not`,
    /// value paths or parentheses.
    TooDeep {
        /// The budget, in levels.
        max: usize,
    },
    /// The filter has more comparisons than the size budget
    /// ([`Parser::max_comparisons`](crate::Parser::max_comparisons)).
    TooManyComparisons {
        /// The budget.
        max: usize,
    },
    /// The input ended where more was needed.
    UnexpectedEnd,
    /// Something that does not fit the grammar at this place.
    Unexpected,
    /// A complete filter or path is followed by more text (in a filter, text that is not
    /// `and` or `or`).
    TrailingInput,
    /// An attribute name that is not `ALPHA *(ALPHA / DIGIT / "-" / "_")` (or `$ref`), such as
    /// one starting with a digit, or a missing name (`name.`).
    InvalidAttrName,
    /// A schema URN prefix that is not `urn:` followed by colon-separated segments, or a
    /// colon in a name that does not start with `urn:`.
    InvalidUrn,
    /// More than one sub-attribute (`a.b.c`).
    TooManySubAttrs,
    /// A value path on a sub-attribute (`name.x[...]`): the grammar puts no sub-attribute
    /// before `[`.
    SubAttrBeforeValuePath,
    /// A value path inside a value path (`a[b[c pr]]`).
    NestedValuePath,
    /// Text right after a value path's `]` in a filter, such as the Entra form
    /// `emails[type eq "work"].value eq "x"` when that dialect is off.
    AfterValuePath,
    /// A word in operator position that is not a comparison operator or `pr` (`lte`).
    UnknownOperator,
    /// A comparison operator with no value after it.
    MissingValue,
    /// A value after `pr`, which takes none.
    PresentWithValue,
    /// A value in single quotes: SCIM strings are JSON strings, in double quotes.
    SingleQuote,
    /// An unquoted value (`userName eq bjensen`) while the bare-word dialect is off.
    BareWord,
    /// A value that starts like a number but is not a JSON number (`01`, `1.`, `5x`).
    InvalidNumber,
    /// A string with no closing `"`.
    UnterminatedString,
    /// A backslash escape JSON does not define (`\x`, `\u12G4`).
    InvalidEscape,
    /// A `\uXXXX` escape of half a surrogate pair without its other half.
    LoneSurrogate,
    /// A control character (U+0000 to U+001F) written unescaped in a string.
    ControlCharacter,
    /// `not` not followed by a parenthesised filter.
    NotWithoutParens,
    /// A `(` that is never closed.
    UnclosedParen,
    /// A `)` with no `(` to close.
    UnmatchedParen,
    /// A `[` that is never closed.
    UnclosedBracket,
    /// A `]` with no `[` to close.
    UnmatchedBracket,
}

impl ParseErrorKind {
    /// Whether the input broke a budget rather than the grammar: such an input may be
    /// valid, and accepted by a parser with larger budgets.
    pub const fn is_budget(self) -> bool {
        matches!(
            self,
            ParseErrorKind::TooLong { .. }
                | ParseErrorKind::TooDeep { .. }
                | ParseErrorKind::TooManyComparisons { .. }
        )
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty input"),
            ParseErrorKind::TooLong { max } => write!(f, "input longer than {max} bytes"),
            ParseErrorKind::TooDeep { max } => write!(f, "nested deeper than {max} levels"),
            ParseErrorKind::TooManyComparisons { max } => {
                write!(f, "more than {max} comparisons")
            }
            ParseErrorKind::UnexpectedEnd => f.write_str("unexpected end of input"),
            ParseErrorKind::Unexpected => f.write_str("unexpected input"),
            ParseErrorKind::TrailingInput => f.write_str("unexpected trailing text"),
            ParseErrorKind::InvalidAttrName => f.write_str("invalid attribute name"),
            ParseErrorKind::InvalidUrn => f.write_str("invalid schema URN prefix"),
            ParseErrorKind::TooManySubAttrs => {
                f.write_str("more than one sub-attribute (at most `attr.subAttr`)")
            }
            ParseErrorKind::SubAttrBeforeValuePath => {
                f.write_str("a value path cannot filter a sub-attribute")
            }
            ParseErrorKind::NestedValuePath => {
                f.write_str("a value path cannot contain another value path")
            }
            ParseErrorKind::AfterValuePath => f.write_str("unexpected text after a value path"),
            ParseErrorKind::UnknownOperator => f.write_str("unknown operator"),
            ParseErrorKind::MissingValue => f.write_str("missing comparison value"),
            ParseErrorKind::PresentWithValue => f.write_str("`pr` takes no value"),
            ParseErrorKind::SingleQuote => {
                f.write_str("single-quoted value (strings take double quotes)")
            }
            ParseErrorKind::BareWord => f.write_str("unquoted string value"),
            ParseErrorKind::InvalidNumber => f.write_str("invalid number"),
            ParseErrorKind::UnterminatedString => f.write_str("unterminated string"),
            ParseErrorKind::InvalidEscape => f.write_str("invalid escape in string"),
            ParseErrorKind::LoneSurrogate => f.write_str("unpaired surrogate escape in string"),
            ParseErrorKind::ControlCharacter => {
                f.write_str("unescaped control character in string")
            }
            ParseErrorKind::NotWithoutParens => f.write_str("`not` without parentheses"),
            ParseErrorKind::UnclosedParen => f.write_str("unclosed `(`"),
            ParseErrorKind::UnmatchedParen => f.write_str("unmatched `)`"),
            ParseErrorKind::UnclosedBracket => f.write_str("unclosed `[`"),
            ParseErrorKind::UnmatchedBracket => f.write_str("unmatched `]`"),
        }
    }
}

/// What the grammar would have accepted where an error occurred: a small set.
///
/// ```
/// use scim_filter::{Expected, ParseErrorKind, parse};
///
/// let err = parse("title pr and").unwrap_err();
/// assert_eq!(err.kind(), &ParseErrorKind::UnexpectedEnd);
/// assert!(err.expected().contains(Expected::ATTR_PATH));
/// assert_eq!(err.expected().to_string(), "an attribute path, `not (` or `(`");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Expected(u32);

/// The members of [`Expected`] with their descriptions, in display order.
const EXPECTED_NAMES: [(Expected, &str); 18] = [
    (Expected::ATTR_PATH, "an attribute path"),
    (Expected::ATTR_NAME, "an attribute name"),
    (Expected::NOT, "`not (`"),
    (Expected::OPEN_PAREN, "`(`"),
    (Expected::OPEN_BRACKET, "`[`"),
    (
        Expected::COMPARE_OP,
        "a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le)",
    ),
    (Expected::PRESENT, "`pr`"),
    (
        Expected::VALUE,
        "a value (a JSON string in double quotes, a number, true, false or null)",
    ),
    (Expected::AND, "`and`"),
    (Expected::OR, "`or`"),
    (Expected::CLOSE_PAREN, "`)`"),
    (Expected::CLOSE_BRACKET, "`]`"),
    (Expected::SUB_ATTR, "`.` and a sub-attribute name"),
    (Expected::CLOSE_QUOTE, "a closing `\"`"),
    (
        Expected::ESCAPE,
        "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and four hex digits)",
    ),
    (
        Expected::LOW_SURROGATE,
        "a low surrogate escape (\\uDC00 to \\uDFFF)",
    ),
    (Expected::SMALLER, "a smaller input"),
    (Expected::END, "the end of the input"),
];

impl Expected {
    /// Nothing in particular (an empty set).
    pub const NOTHING: Expected = Expected(0);
    /// An attribute path (`userName`, `name.givenName`, `urn:...:User:manager`).
    pub const ATTR_PATH: Expected = Expected(1);
    /// An attribute name (after `.` or a URN prefix).
    pub const ATTR_NAME: Expected = Expected(1 << 1);
    /// `not (`.
    pub const NOT: Expected = Expected(1 << 2);
    /// `(`.
    pub const OPEN_PAREN: Expected = Expected(1 << 3);
    /// `[`.
    pub const OPEN_BRACKET: Expected = Expected(1 << 4);
    /// A comparison operator.
    pub const COMPARE_OP: Expected = Expected(1 << 5);
    /// `pr`.
    pub const PRESENT: Expected = Expected(1 << 6);
    /// A comparison value.
    pub const VALUE: Expected = Expected(1 << 7);
    /// `and`.
    pub const AND: Expected = Expected(1 << 8);
    /// `or`.
    pub const OR: Expected = Expected(1 << 9);
    /// `)`.
    pub const CLOSE_PAREN: Expected = Expected(1 << 10);
    /// `]`.
    pub const CLOSE_BRACKET: Expected = Expected(1 << 11);
    /// `.subAttr`.
    pub const SUB_ATTR: Expected = Expected(1 << 12);
    /// The closing `"` of a string.
    pub const CLOSE_QUOTE: Expected = Expected(1 << 13);
    /// A JSON escape sequence.
    pub const ESCAPE: Expected = Expected(1 << 14);
    /// The low half of a surrogate pair.
    pub const LOW_SURROGATE: Expected = Expected(1 << 15);
    /// A smaller input (a budget was exceeded).
    pub const SMALLER: Expected = Expected(1 << 16);
    /// The end of the input.
    pub const END: Expected = Expected(1 << 17);
    /// The start of a filter: an attribute path, `not (` or `(`.
    pub const FILTER: Expected = Expected::ATTR_PATH
        .union(Expected::NOT)
        .union(Expected::OPEN_PAREN);
    /// An operator after an attribute path: a comparison operator or `pr`.
    pub const OPERATOR: Expected = Expected::COMPARE_OP.union(Expected::PRESENT);

    /// Both sets.
    pub const fn union(self, other: Expected) -> Expected {
        Expected(self.0 | other.0)
    }

    /// Whether every member of `other` is in `self`.
    pub const fn contains(self, other: Expected) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The descriptions of the members, in display order.
    pub fn descriptions(self) -> impl Iterator<Item = &'static str> {
        EXPECTED_NAMES
            .into_iter()
            .filter(move |(e, _)| self.contains(*e))
            .map(|(_, name)| name)
    }
}

impl std::ops::BitOr for Expected {
    type Output = Expected;

    fn bitor(self, rhs: Expected) -> Expected {
        self.union(rhs)
    }
}

impl fmt::Debug for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.descriptions()).finish()
    }
}

/// Lists the members as English: "a, b or c".
impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.descriptions().count();
        if n == 0 {
            return f.write_str("nothing");
        }
        for (i, name) in self.descriptions().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == n { " or " } else { ", " })?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// What was being parsed, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Filter,
    Path,
}

/// A filter or path that could not be parsed.
///
/// It keeps the span at fault, what went wrong, what was expected, and an excerpt of at most
/// 200 bytes of the input around the fault (never the whole of a long input).
/// Its [`Display`](fmt::Display) shows the excerpt with a caret under the fault:
///
/// ```
/// let err = scim_filter::parse("userName eq 'bjensen'").unwrap_err();
/// assert_eq!(err.span(), 12..21);
/// assert_eq!(
///     err.to_string(),
///     "invalid filter at byte 12: single-quoted value (strings take double quotes); \
///      expected a value (a JSON string in double quotes, a number, true, false or null)\n  \
///      userName eq 'bjensen'\n              ^^^^^^^^^"
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    span: Range<usize>,
    expected: Expected,
    target: Target,
    /// Up to `MAX_EXCERPT` bytes of the input, cut at character boundaries.
    excerpt: String,
    /// Where `excerpt` starts in the input.
    excerpt_start: usize,
    /// The length of the whole input.
    input_len: usize,
}

/// The largest char boundary of `s` at or below `i`.
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` at or above `i`.
fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl ParseError {
    pub(crate) fn new(
        input: &str,
        target: Target,
        span: Range<usize>,
        kind: ParseErrorKind,
        expected: Expected,
    ) -> Self {
        let start = floor_boundary(input, span.start);
        let end = ceil_boundary(input, span.end.max(start));
        let (from, to) = if input.len() <= MAX_EXCERPT {
            (0, input.len())
        } else {
            let from = floor_boundary(input, start.saturating_sub(BEFORE));
            (from, floor_boundary(input, from + MAX_EXCERPT))
        };
        ParseError {
            kind,
            span: start..end,
            expected,
            target,
            excerpt: input[from..to].to_owned(),
            excerpt_start: from,
            input_len: input.len(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The byte range of the input at fault (empty at the end of the input when more was
    /// needed).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// What the grammar would have accepted at [`span`](ParseError::span).
    pub fn expected(&self) -> Expected {
        self.expected
    }

    /// The part of the span that lies in the excerpt, relative to the excerpt.
    fn span_in_excerpt(&self) -> Range<usize> {
        let len = self.excerpt.len();
        let start = self.span.start.saturating_sub(self.excerpt_start).min(len);
        let end = self.span.end.saturating_sub(self.excerpt_start).min(len);
        start..end.max(start)
    }
}

/// Writes `s` with each control character replaced by one visible character, so that the
/// caret line below stays aligned.
fn write_visible(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        let shown = match c {
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            c if c.is_control() => '\u{fffd}',
            c => c,
        };
        write!(f, "{shown}")?;
    }
    Ok(())
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.target {
            Target::Filter => "filter",
            Target::Path => "path",
        };
        write!(
            f,
            "invalid {what} at byte {}: {}",
            self.span.start, self.kind
        )?;
        let at = self.span_in_excerpt();
        let quoted = &self.excerpt[at.clone()];
        if matches!(
            self.kind,
            ParseErrorKind::UnknownOperator
                | ParseErrorKind::Unexpected
                | ParseErrorKind::TrailingInput
                | ParseErrorKind::InvalidAttrName
                | ParseErrorKind::InvalidUrn
                | ParseErrorKind::InvalidNumber
                | ParseErrorKind::BareWord
                | ParseErrorKind::AfterValuePath
                | ParseErrorKind::InvalidEscape
        ) && !quoted.is_empty()
            && quoted.len() <= MAX_QUOTED
        {
            f.write_str(" `")?;
            write_visible(f, quoted)?;
            f.write_str("`")?;
        }
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        f.write_str("\n  ")?;
        let truncated_left = self.excerpt_start > 0;
        let truncated_right = self.excerpt_start + self.excerpt.len() < self.input_len;
        if truncated_left {
            f.write_str("...")?;
        }
        write_visible(f, &self.excerpt)?;
        if truncated_right {
            f.write_str("...")?;
        }
        f.write_str("\n  ")?;
        let pad = self.excerpt[..at.start].chars().count() + if truncated_left { 3 } else { 0 };
        let carets = quoted.chars().count().max(1);
        for _ in 0..pad {
            f.write_str(" ")?;
        }
        for _ in 0..carets {
            f.write_str("^")?;
        }
        Ok(())
    }
}

/// Shows the kind, span and expected set, not the input excerpt.
impl fmt::Debug for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseError")
            .field("kind", &self.kind)
            .field("span", &self.span)
            .field("expected", &self.expected)
            .finish()
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str, span: Range<usize>, kind: ParseErrorKind) -> ParseError {
        ParseError::new(input, Target::Filter, span, kind, Expected::VALUE)
    }

    #[test]
    fn caret_under_span() {
        let e = err("a eq 'x'", 5..8, ParseErrorKind::SingleQuote);
        let s = e.to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1], "  a eq 'x'");
        assert_eq!(lines[2], "       ^^^");
    }

    #[test]
    fn caret_at_end_for_empty_span() {
        let e = err("a eq", 4..4, ParseErrorKind::MissingValue);
        let s = e.to_string();
        assert!(s.ends_with("\n  a eq\n      ^"), "{s}");
    }

    #[test]
    fn long_input_is_truncated_around_fault() {
        let input = format!("{}a eq 'x'{}", "b".repeat(10_000), "c".repeat(10_000));
        let e = err(&input, 10_005..10_008, ParseErrorKind::SingleQuote);
        let s = e.to_string();
        assert!(s.len() < 2 * MAX_EXCERPT + 200, "{}", s.len());
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[1].starts_with("  ...") && lines[1].ends_with("..."));
        let caret = lines[2].find('^').unwrap();
        assert_eq!(&lines[1][caret..caret + 3], "'x'");
        assert_eq!(e.span(), 10_005..10_008);
    }

    #[test]
    fn multibyte_characters_align_and_cut_at_boundaries() {
        let input = format!("{}é eq 1", "é".repeat(300));
        let e = err(&input, 600..602, ParseErrorKind::InvalidAttrName);
        let s = e.to_string();
        let lines: Vec<&str> = s.lines().collect();
        let pad = lines[2].chars().take_while(|c| *c == ' ').count();
        assert_eq!(lines[1].chars().nth(pad), Some('é'));
        // A span inside a character is widened to the character.
        let e = err("é", 1..1, ParseErrorKind::InvalidAttrName);
        assert_eq!(e.span(), 0..2);
    }

    #[test]
    fn control_characters_are_shown_visibly() {
        let e = err("a eq \"\u{1}\"", 6..7, ParseErrorKind::ControlCharacter);
        let s = e.to_string();
        assert!(s.contains("a eq \"\u{2401}\""), "{s}");
        assert_eq!(s.lines().count(), 3);
    }

    #[test]
    fn expected_lists_in_english() {
        assert_eq!(Expected::NOTHING.to_string(), "nothing");
        assert_eq!(Expected::AND.to_string(), "`and`");
        assert_eq!(
            (Expected::AND | Expected::OR | Expected::END).to_string(),
            "`and`, `or` or the end of the input"
        );
        assert!(Expected::FILTER.contains(Expected::NOT));
        assert!(!Expected::FILTER.contains(Expected::VALUE));
        assert_eq!(format!("{:?}", Expected::CLOSE_PAREN), "{\"`)`\"}");
    }

    #[test]
    fn budget_kinds() {
        assert!(ParseErrorKind::TooDeep { max: 1 }.is_budget());
        assert!(!ParseErrorKind::Empty.is_budget());
    }
}

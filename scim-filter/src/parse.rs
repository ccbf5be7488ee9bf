//! Text to AST: a hand-written, linear-time parser with a nesting and size budget.
//!
//! The lexer works on bytes and never allocates: names, numbers and strings without escapes
//! are borrowed from the input. Two parsers share it:
//!
//! - the full parser ([`State::filter`]), an operator-precedence loop over an explicit
//!   stack of open groups (`(`, `not (`, `[`), which does not recurse at all and reports
//!   every error precisely;
//! - the quick pass (module `quick`), a recursive descent for valid filters with at most
//!   16 groups nested, which [`Parser::parse`] tries first. It gives up on anything it would
//!   have to report, and the full parser then reads the input again.
//!
//! The nesting budget protects what walks the tree afterwards (printing, evaluating), not
//! the parsers. Every decision needs at most one token of lookahead, so
//! parsing time is linear in the input.
//!
//! Whitespace (spaces and tabs) may be repeated between tokens; it is required only where
//! two words would otherwise run together. A value path's `[` must follow its attribute
//! directly.

use std::borrow::Cow;
use std::mem;
use std::ops::Range;

use crate::ast::{
    AttrPath, CompValue, CompareOp, Comparison, Filter, Lone, Nodes, Number, Path, Slot, SlotKind,
};
use crate::error::{Expected, ParseError, ParseErrorKind, Target};

mod quick;

/// Default nesting budget: how many AST levels a filter may have.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default size budget: the longest input accepted, in bytes.
pub const DEFAULT_MAX_LEN: usize = 64 * 1024;
/// Default size budget: the most comparisons (including `pr`) in one filter.
pub const DEFAULT_MAX_COMPARISONS: usize = 1000;

/// A configured parser: which identity-provider dialects are accepted, and the budgets.
///
/// [`Parser::new`] is the strict RFC 7644 grammar (what [`parse`] and [`parse_path`] use);
/// [`Parser::with_dialects`] also accepts what real identity providers send:
///
/// - **bare words** ([`Parser::bare_words`]): an unquoted comparison value such as
///   `externalId eq jyoung` or `id eq 54D382A4-2050-4B4F-9A5B-2F2E2D2A9B3C` is read as a
///   string. The value runs to the next whitespace, control character, parenthesis, bracket
///   or `"`; a run that
///   is exactly `true`, `false`, `null` (in any case) or a JSON number keeps that meaning.
///   A run starting with `'` is still rejected (single quotes are never string delimiters).
/// - **Entra value paths** ([`Parser::entra_value_paths`]): Microsoft Entra ID's
///   `emails[type eq "work"].value eq "x@y.com"` is read as the RFC form
///   `emails[type eq "work" and value eq "x@y.com"]`.
///
/// The budgets bound what a hostile input can cost: [`Parser::max_len`] (bytes),
/// [`Parser::max_comparisons`] and [`Parser::max_depth`] (nesting).
///
/// ```
/// use scim_filter::{Parser, parse};
///
/// let tolerant = Parser::with_dialects();
/// let f = tolerant.parse(r#"emails[type eq "work"].value eq bjensen@example.com"#)?;
/// assert_eq!(
///     f.to_string(),
///     r#"emails[type eq "work" and value eq "bjensen@example.com"]"#
/// );
/// // The printed form is standard SCIM, so the strict parser reads it back.
/// assert_eq!(parse(&f.to_string())?, f);
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
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

    /// Sets the nesting budget: both the depth of the tree ([`Filter::depth`]) and the
    /// nesting of parentheses and brackets (redundant ones included) must stay within it.
    ///
    /// Printing and evaluating a filter recurse once per level, so a raised budget raises
    /// the stack those need (dropping one does not recurse).
    pub const fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the longest input accepted, in bytes.
    pub const fn max_len(mut self, len: usize) -> Self {
        self.max_len = len;
        self
    }

    /// Sets the most comparisons (including `pr`) accepted in one filter.
    pub const fn max_comparisons(mut self, n: usize) -> Self {
        self.max_comparisons = n;
        self
    }

    /// Checks the size budget and emptiness before parsing.
    fn precheck(&self, input: &str, target: Target) -> Result<(), Fault> {
        self.check_len(input)?;
        if input.bytes().all(|b| b == b' ' || b == b'\t') {
            return Err(empty(input, target));
        }
        Ok(())
    }

    /// Checks the size budget.
    #[inline]
    fn check_len(&self, input: &str) -> Result<(), Fault> {
        // Attribute paths keep 32-bit offsets, so no input may be longer than 4 GiB.
        let max = self.max_len.min(u32::MAX as usize);
        if input.len() > max {
            return Err(Fault::new(
                ParseErrorKind::TooLong { max },
                max..input.len(),
                Expected::SMALLER,
            ));
        }
        Ok(())
    }

    /// Parses a filter.
    ///
    /// ```
    /// use scim_filter::{CompValue, Parser};
    ///
    /// let f = Parser::new().parse(r#"userName eq "bjensen""#)?;
    /// let Some(c) = f.as_compare() else { panic!() };
    /// assert_eq!(c.attr.name(), "userName");
    /// assert_eq!(c.value, CompValue::String("bjensen".into()));
    /// # Ok::<(), scim_filter::ParseError>(())
    /// ```
    pub fn parse<'a>(&self, input: &'a str) -> Result<Filter<'a>, ParseError> {
        // Errors are attached to the input where they arise, so that the filter is built
        // in the caller's result.
        let fail = |e: Fault| e.into_error(input, Target::Filter);
        if let Err(e) = self.check_len(input) {
            return Err(fail(e));
        }
        let mut st = State::new(self, input);
        // A filter that is one comparison (or `pr`) needs none of the group machinery.
        // (A bare slot: on every path below it is handed to its owner, a `Lone` or the
        // buffer of `State::quick`, before anything else can return.)
        let mut first = None;
        if let Err(e) = st.first_leaf(&mut first) {
            return Err(fail(e));
        }
        // Only whitespace: `first_leaf` skipped it all and found nothing (it reads no
        // further than the first word, so it has no error of its own for such an input).
        if first.is_none() && st.pos == st.b().len() {
            return Err(fail(empty(input, Target::Filter)));
        }
        if first.is_some() {
            st.skip_ws();
            let end = st.pos;
            if end == st.b().len()
                && let Some(leaf) = first
            {
                // A leaf's depth is 1.
                if let Err(e) = st.check_depth(1, end..end) {
                    drop(Lone::new(leaf));
                    return Err(fail(e));
                }
                return Ok(Filter::leaf(Lone::new(leaf)));
            }
        }
        // A valid filter is read by the quick pass; anything it leaves (an error, deep
        // nesting) is parsed again from the start by the full parser.
        match st.quick(first) {
            Some(slots) => {
                let filter = Filter::from_slots(slots);
                // Checked in debug builds and under the fuzzer (whose builds may not
                // have debug assertions).
                if cfg!(any(debug_assertions, fuzzing)) {
                    self.check_quick(input, &filter);
                }
                Ok(filter)
            }
            None => self.parse_full(input),
        }
    }

    /// Parses a filter with [`State::filter`] (after [`State::first_leaf`]), the parser
    /// that reports errors.
    #[cold]
    #[inline(never)]
    fn parse_full<'a>(&self, input: &'a str) -> Result<Filter<'a>, ParseError> {
        let fail = |e: Fault| e.into_error(input, Target::Filter);
        self.precheck(input, Target::Filter).map_err(fail)?;
        let mut st = State::new(self, input);
        // (A bare slot, handed to `State::filter`'s buffer.)
        let mut first = None;
        let present = st.first_leaf(&mut first).map_err(fail)?;
        if first.is_some() {
            st.skip_ws();
        }
        // (A lone leaf at the end is checked against the depth budget there.)
        st.filter(Opener::Top, 0, first, present)
            .map(Filter::from_slots)
            .map_err(fail)
    }

    /// In debug builds and under the fuzzer: panics unless the full parser reads `input` as
    /// the quick pass did.
    #[cold]
    #[inline(never)]
    fn check_quick(&self, input: &str, quick: &Filter<'_>) {
        let full = self.parse_full(input);
        assert!(
            full.as_ref() == Ok(quick),
            "the quick pass read {input:?} as {quick:?}, the full parser as {full:?}"
        );
    }

    /// Parses a PATCH path.
    ///
    /// ```
    /// use scim_filter::Parser;
    ///
    /// let p = Parser::new().parse_path(r#"emails[type eq "work"].value"#)?;
    /// assert_eq!(p.attr.name(), "emails");
    /// assert_eq!(p.attr.sub_attr(), Some("value"));
    /// assert_eq!(p.filter.unwrap().to_string(), r#"type eq "work""#);
    /// # Ok::<(), scim_filter::ParseError>(())
    /// ```
    pub fn parse_path<'a>(&self, input: &'a str) -> Result<Path<'a>, ParseError> {
        self.precheck(input, Target::Path)
            .and_then(|()| State::new(self, input).path())
            .map_err(|e| e.into_error(input, Target::Path))
    }
}

/// Parses a filter with the strict RFC 7644 grammar and the default budgets.
///
/// ```
/// let f = scim_filter::parse(r#"title pr and userType EQ "Employee""#)?;
/// assert_eq!(f.to_string(), r#"title pr and userType eq "Employee""#);
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
#[inline]
pub fn parse(input: &str) -> Result<Filter<'_>, ParseError> {
    Parser::new().parse(input)
}

/// Parses a PATCH path (`attrPath / valuePath [subAttr]`) with the strict grammar.
///
/// ```
/// let p = scim_filter::parse_path(r#"members[value eq "2819c223"]"#)?;
/// assert_eq!(p.attr.name(), "members");
/// assert!(p.filter.is_some());
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
#[inline]
pub fn parse_path(input: &str) -> Result<Path<'_>, ParseError> {
    Parser::new().parse_path(input)
}

/// The error for an input that is empty or only whitespace.
#[cold]
fn empty(input: &str, target: Target) -> Fault {
    Fault::new(
        ParseErrorKind::Empty,
        0..input.len(),
        match target {
            Target::Filter => Expected::FILTER,
            Target::Path => Expected::ATTR_PATH,
        },
    )
}

/// An error before it is attached to its input.
#[derive(Debug)]
struct Fault {
    kind: ParseErrorKind,
    span: Range<usize>,
    expected: Expected,
}

impl Fault {
    fn new(kind: ParseErrorKind, span: Range<usize>, expected: Expected) -> Self {
        Fault {
            kind,
            span,
            expected,
        }
    }

    #[cold]
    #[inline(never)]
    fn into_error(self, input: &str, target: Target) -> ParseError {
        ParseError::new(input, target, self.span, self.kind, self.expected)
    }
}

type PResult<T> = Result<T, Fault>;

/// Byte classes for the lexer.
const WS: u8 = 1;
/// Part of a word: anything but whitespace, control characters, `(`, `)`, `[`, `]` and `"`.
const RUN: u8 = 1 << 1;
/// `ALPHA`.
const ALPHA: u8 = 1 << 2;
/// `ALPHA / DIGIT / "-" / "_"`: the rest of an attribute name.
const NAME: u8 = 1 << 3;
/// A character of a URN segment: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
const URN: u8 = 1 << 4;
/// Ends the plain part of a JSON string: `"`, `\\` or a control character.
const STR_END: u8 = 1 << 5;

static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b == b' ' || b == b'\t' {
            c |= WS;
        }
        let delimiter =
            b <= b' ' || b == 0x7f || b == b'(' || b == b')' || b == b'[' || b == b']' || b == b'"';
        if !delimiter {
            c |= RUN;
        }
        if b.is_ascii_alphabetic() {
            c |= ALPHA | NAME | URN;
        }
        if b.is_ascii_digit() || b == b'-' || b == b'_' {
            c |= NAME | URN;
        }
        if b == b'.' || b == b'~' {
            c |= URN;
        }
        if b == b'"' || b == b'\\' || b < 0x20 {
            c |= STR_END;
        }
        t[i] = c;
        i += 1;
    }
    t
}

#[inline]
fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// `src[start..end]`, or `""` if either end is not a character boundary (the lexer only
/// cuts next to ASCII delimiters). Two `split_at_checked`s, which compile to a byte test
/// each, where `str::get` with a range is a call.
#[inline(always)]
fn cut(src: &str, start: usize, end: usize) -> &str {
    match src.split_at_checked(end) {
        Some((head, _)) => match head.split_at_checked(start) {
            Some((_, text)) => text,
            None => "",
        },
        None => "",
    }
}

/// What opened the group being parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    /// The whole filter.
    Top,
    /// The `[` of a PATCH path.
    PathBracket,
    /// `(`.
    Paren,
    /// `not (`.
    Not,
    /// The `[` of a value path (whose attribute is kept aside: value paths do not nest).
    Bracket,
}

/// `and` or `or` between two terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

/// A chain of terms being parsed: where its first and last terms' roots are in the
/// filter's buffer, and how many there are.
#[derive(Debug, Clone, Copy)]
struct Chain {
    first: u32,
    last: u32,
    len: u32,
}

impl Chain {
    const EMPTY: Chain = Chain {
        first: 0,
        last: 0,
        len: 0,
    };
}

/// A group being parsed: its pending `and` and `or` chains and their depths. Small and
/// `Copy`: the terms themselves are in the filter's buffer.
#[derive(Debug, Clone, Copy)]
struct Frame {
    opener: Opener,
    /// Where the opener is in the input (at most 4 GiB, see [`Parser::check_len`]).
    at: u32,
    /// The group's finished `or` terms.
    or: Chain,
    /// The current `and` chain's terms.
    and: Chain,
    /// (Depths are at most the number of slots, so 32-bit.)
    and_depth: u32,
    or_depth: u32,
}

impl Frame {
    const fn new(opener: Opener, at: usize) -> Self {
        Frame {
            opener,
            at: at as u32,
            or: Chain::EMPTY,
            and: Chain::EMPTY,
            and_depth: 0,
            or_depth: 0,
        }
    }

    /// Where the opener is in the input.
    #[inline(always)]
    const fn at(&self) -> usize {
        self.at as usize
    }
}

/// How many enclosing groups are kept in place before the stack spills to the heap.
const INLINE_FRAMES: usize = 4;

/// The filter's buffer being filled, and the open groups.
///
/// Nodes go into the buffer in post-order, as they are finished: a leaf when it is read,
/// a chain's node when the chain ends (its terms are already in the buffer before it,
/// linked one to the next), a `not` or value path after its operand. The term just
/// finished is always the buffer's last slot. The enclosing groups are small `Copy`
/// frames, the first [`INLINE_FRAMES`] of them in place: a filter with few groups
/// allocates no stack.
struct Groups<'a> {
    slots: Nodes<'a>,
    /// The innermost open group.
    cur: Frame,
    /// How many groups enclose `cur`.
    saved: usize,
    /// The first enclosing groups (each set when its group opens: only a tag to start
    /// with, not four frames).
    inline: [Option<Frame>; INLINE_FRAMES],
    spill: Vec<Frame>,
}

impl<'a> Groups<'a> {
    fn new(opener: Opener, at: usize, capacity: usize) -> Self {
        Groups {
            slots: Nodes::with_capacity(capacity),
            cur: Frame::new(opener, at),
            saved: 0,
            inline: [None; INLINE_FRAMES],
            spill: Vec::new(),
        }
    }

    /// Opens a group at `at`, making it current.
    #[inline]
    fn open(&mut self, opener: Opener, at: usize) {
        let parent = mem::replace(&mut self.cur, Frame::new(opener, at));
        if let Some(slot) = self.inline.get_mut(self.saved) {
            *slot = Some(parent);
        } else {
            self.spill.push(parent);
        }
        self.saved += 1;
    }

    /// Closes the current group (whose chains are finished), making its parent current;
    /// what opened the closed group, and where. `None` at the base group.
    #[inline]
    fn close(&mut self) -> Option<(Opener, usize)> {
        let i = self.saved.checked_sub(1)?;
        let done = (self.cur.opener, self.cur.at());
        self.cur = match self.inline.get(i) {
            Some(&Some(p)) => p,
            // Set by `open` for every saved group below `INLINE_FRAMES`.
            Some(None) => return None,
            None => self.spill.pop()?,
        };
        self.saved = i;
        Some(done)
    }

    /// Pushes a finished node.
    #[inline(always)]
    fn push(&mut self, kind: SlotKind<'a>) {
        self.slots.push_parsed(Slot::new(kind));
    }

    /// Adds the term just finished to `chain`.
    /// (Offsets are 32-bit: the input is at most 4 GiB and every slot takes a byte of it.)
    #[inline(always)]
    fn link(slots: &mut [Slot<'a>], chain: &mut Chain) {
        let t = slots.len().wrapping_sub(1) as u32;
        if chain.len == 0 {
            chain.first = t;
        } else if let Some(prev) = slots.get_mut(chain.last as usize) {
            prev.next = t.wrapping_sub(chain.last);
        }
        chain.last = t;
        chain.len += 1;
    }

    #[inline]
    fn push_and(&mut self, depth: usize) {
        Groups::link(self.slots.as_mut_slice(), &mut self.cur.and);
        self.cur.and_depth = self.cur.and_depth.max(depth as u32);
    }

    /// Ends the current `and` chain with the term just finished: the depth of the chain's
    /// node (or of the term alone).
    #[inline(always)]
    fn close_and(&mut self, depth: usize) -> usize {
        if self.cur.and.len == 0 {
            return depth;
        }
        Groups::link(self.slots.as_mut_slice(), &mut self.cur.and);
        let depth = 1 + (self.cur.and_depth as usize).max(depth);
        let chain = mem::replace(&mut self.cur.and, Chain::EMPTY);
        self.cur.and_depth = 0;
        let first = (self.slots.len() as u32).wrapping_sub(chain.first);
        self.push(SlotKind::And {
            first,
            len: chain.len,
        });
        depth
    }

    #[inline]
    fn push_or(&mut self, depth: usize) {
        Groups::link(self.slots.as_mut_slice(), &mut self.cur.or);
        self.cur.or_depth = self.cur.or_depth.max(depth as u32);
    }

    /// Ends the current group with the term just finished: the depth of the group's node.
    #[inline(always)]
    fn finish(&mut self, depth: usize) -> usize {
        let depth = self.close_and(depth);
        if self.cur.or.len == 0 {
            return depth;
        }
        Groups::link(self.slots.as_mut_slice(), &mut self.cur.or);
        let depth = 1 + (self.cur.or_depth as usize).max(depth);
        let chain = self.cur.or;
        let first = (self.slots.len() as u32).wrapping_sub(chain.first);
        self.push(SlotKind::Or {
            first,
            len: chain.len,
        });
        depth
    }
}

/// The parser's state over one input.
struct State<'a> {
    src: &'a str,
    pos: usize,
    bare_words: bool,
    entra: bool,
    max_depth: usize,
    max_comparisons: usize,
    comparisons: usize,
    /// A value path's attribute and `[` read by [`State::first_leaf`], not yet opened.
    value_path: Option<(AttrPath<'a>, usize)>,
}

impl<'a> State<'a> {
    fn new(p: &Parser, src: &'a str) -> Self {
        State {
            src,
            pos: 0,
            bare_words: p.bare_words,
            entra: p.entra_value_paths,
            max_depth: p.max_depth,
            max_comparisons: p.max_comparisons,
            comparisons: 0,
            value_path: None,
        }
    }

    /// The input's bytes.
    #[inline(always)]
    fn b(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b().get(self.pos).copied()
    }

    /// Skips spaces and tabs; whether there were any.
    #[inline(always)]
    fn skip_ws(&mut self) -> bool {
        let b = self.b();
        let start = self.pos;
        let mut i = start;
        // Most bytes here are above the space: one test for them.
        while let Some(&c) = b.get(i)
            && c <= b' '
            && (c == b' ' || c == b'\t')
        {
            i += 1;
        }
        self.pos = i;
        i > start
    }

    /// Reads a word: the longest run of non-delimiter bytes (possibly empty).
    #[inline]
    fn run(&mut self) -> &'a str {
        let b = self.b();
        let start = self.pos;
        let mut i = start;
        while b.get(i).is_some_and(|&c| is(c, RUN)) {
            i += 1;
        }
        self.pos = i;
        // Delimiters are ASCII, so both ends are character boundaries.
        self.src.get(start..i).unwrap_or_default()
    }

    /// Reads a word like [`State::run`], with the classes all its bytes share.
    #[inline]
    fn run_classes(&mut self) -> (&'a str, u8) {
        // Attribute names are mostly letters: eight bytes at a time while they are.
        self.run_classes_from(letters_end(self.b(), self.pos))
    }

    /// [`State::run_classes`], where the word's leading letters end at `letters`.
    #[inline(always)]
    fn run_classes_from(&mut self, letters: usize) -> (&'a str, u8) {
        let b = self.b();
        let start = self.pos;
        let mut i = letters;
        let mut shared = if i > start { CLASS[b'a' as usize] } else { !0 };
        while let Some(&c) = b.get(i) {
            let class = CLASS[c as usize];
            if class & RUN == 0 {
                break;
            }
            shared &= class;
            i += 1;
        }
        self.pos = i;
        (cut(self.src, start, i), shared)
    }

    /// The span of the character (or end of input) at `at`.
    fn char_span(&self, at: usize) -> Range<usize> {
        let len = self
            .src
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8);
        at..at + len
    }

    /// Counts one comparison against the budget.
    #[inline]
    fn count(&mut self, span: Range<usize>) -> PResult<()> {
        self.comparisons += 1;
        if self.comparisons > self.max_comparisons {
            return Err(Fault::new(
                ParseErrorKind::TooManyComparisons {
                    max: self.max_comparisons,
                },
                span,
                Expected::SMALLER,
            ));
        }
        Ok(())
    }

    /// Checks a finished node's depth against the budget.
    #[inline]
    fn check_depth(&self, depth: usize, span: Range<usize>) -> PResult<()> {
        if depth > self.max_depth {
            return Err(self.too_deep(span));
        }
        Ok(())
    }

    fn too_deep(&self, span: Range<usize>) -> Fault {
        Fault::new(
            ParseErrorKind::TooDeep {
                max: self.max_depth,
            },
            span,
            Expected::SMALLER,
        )
    }

    /// Opens a group at `at`, making it current, within the nesting budget.
    #[inline]
    fn open(&self, groups: &mut Groups<'a>, opener: Opener, at: usize) -> PResult<()> {
        if groups.saved >= self.max_depth {
            return Err(self.too_deep(at..at + 1));
        }
        groups.open(opener, at);
        Ok(())
    }

    /// The first operand of a filter when it is a leaf (an attribute path that is not `not`
    /// and has no `[` after it): what [`State::operand`] would read there, without the group
    /// machinery, put in `out`; `out` stays `None` (position unchanged) for anything else.
    /// Whether the leaf is `pr`.
    ///
    /// A value path's `attr[` is read too (not the `[`): its attribute and where the `[` is
    /// go to [`State::value_path`], for [`State::filter`] to open the group with.
    #[inline(always)]
    fn first_leaf(&mut self, out: &mut Option<Slot<'a>>) -> PResult<bool> {
        self.skip_ws();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(false);
        };
        // Most filters start with a name of letters and a space: read it without sorting
        // its bytes into classes.
        let letters = letters_end(self.b(), start);
        if let Some((attr, end)) = self.plain_path(start, letters) {
            self.pos = end;
            return self.attr_exp::<true>(
                attr,
                start,
                #[inline(always)]
                |leaf| *out = Some(Slot::new(leaf)),
            );
        }
        let (run, classes) = self.run_classes_from(letters);
        if run.is_empty() || run.eq_ignore_ascii_case("not") {
            self.pos = start;
            return Ok(false);
        }
        // What `operand` does with this word (the same errors, at the same place).
        let attr = self.operand_path(run, classes, c, start)?;
        if self.peek() == Some(b'[') {
            let at_bracket = self.pos;
            if let Some(sub) = attr.sub_attr() {
                return Err(sub_attr_before_bracket(sub, at_bracket));
            }
            self.value_path = Some((attr, at_bracket));
            return Ok(false);
        }
        self.attr_exp::<true>(
            attr,
            start,
            #[inline(always)]
            |leaf| *out = Some(Slot::new(leaf)),
        )
    }

    /// An operand: opens the groups (`(`, `not (`, a value path's `attr[`) before it, then
    /// reads `attrPath op value` or `attrPath pr` and pushes the leaf; whether it is `pr`.
    #[inline(always)]
    fn operand(
        &mut self,
        groups: &mut Groups<'a>,
        bracket: &mut Option<AttrPath<'a>>,
        in_bracket: &mut bool,
    ) -> PResult<bool> {
        loop {
            // An operand: `(`, `not (`, a value path's `attr[`, or `attrPath op value`.
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else {
                return Err(Fault::new(
                    ParseErrorKind::UnexpectedEnd,
                    start..start,
                    Expected::FILTER,
                ));
            };
            if c == b'(' {
                self.open(groups, Opener::Paren, start)?;
                self.pos += 1;
                continue;
            }
            let (run, classes) = self.run_classes();
            if run.is_empty() {
                let kind = match c {
                    b')' if groups.saved == 0 => ParseErrorKind::UnmatchedParen,
                    b']' if !*in_bracket => ParseErrorKind::UnmatchedBracket,
                    _ => ParseErrorKind::Unexpected,
                };
                return Err(Fault::new(kind, self.char_span(start), Expected::FILTER));
            }
            if run.eq_ignore_ascii_case("not") && self.not_group(start)? {
                let paren = self.pos;
                self.open(groups, Opener::Not, paren)?;
                self.pos += 1;
                continue;
            }
            let attr = self.operand_path(run, classes, c, start)?;
            if self.peek() == Some(b'[') {
                let at_bracket = self.pos;
                if let Some(sub) = attr.sub_attr() {
                    return Err(sub_attr_before_bracket(sub, at_bracket));
                }
                if *in_bracket {
                    return Err(Fault::new(
                        ParseErrorKind::NestedValuePath,
                        at_bracket..at_bracket + 1,
                        Expected::OPERATOR,
                    ));
                }
                self.open(groups, Opener::Bracket, at_bracket)?;
                *bracket = Some(attr);
                *in_bracket = true;
                self.pos += 1;
                continue;
            }
            return self.attr_exp::<false>(
                attr,
                start,
                #[inline(always)]
                |leaf| groups.push(leaf),
            );
        }
    }

    /// Parses a filter up to the end of the input (`Top`) or up to and including the `]` of a
    /// PATCH path (`PathBracket` at `at`): its nodes, for [`Filter::from_slots`] (the buffer
    /// is smaller than the filter, so the callers build it where they return it).
    ///
    /// `first`, if given, is the first operand, already parsed by [`State::first_leaf`].
    fn filter(
        &mut self,
        base: Opener,
        at: usize,
        first: Option<Slot<'a>>,
        first_present: bool,
    ) -> PResult<Nodes<'a>> {
        // Room for about one node per 10 bytes of input (the reference filter has nine in
        // its 92 bytes), so that the buffer rarely grows.
        let mut groups = Groups::new(base, at, self.b().len() / 10 + 3);
        // The attribute of the open value path, if any.
        let mut bracket: Option<AttrPath<'a>> = None;
        let mut in_bracket = base == Opener::PathBracket;
        let mut present = match first {
            Some(leaf) => {
                groups.slots.push_parsed(leaf);
                first_present
            }
            None => {
                // A value path's `attr[` already read by `first_leaf`: what `operand` does
                // after it.
                if let Some((attr, at_bracket)) = self.value_path.take() {
                    self.open(&mut groups, Opener::Bracket, at_bracket)?;
                    bracket = Some(attr);
                    in_bracket = true;
                    self.pos = at_bracket + 1;
                }
                self.operand(&mut groups, &mut bracket, &mut in_bracket)?
            }
        };
        loop {
            let mut depth = 1;
            let mut after_bracket = false;
            // After an operand: `and`, `or`, a closing `)` or `]`, or the end.
            loop {
                let spaced = self.skip_ws();
                let at = self.pos;
                let Some(c) = self.peek() else {
                    return match groups.cur.opener {
                        Opener::Top => {
                            let d = groups.finish(depth);
                            self.check_depth(d, at..at)?;
                            Ok(groups.slots)
                        }
                        Opener::Paren | Opener::Not => Err(Fault::new(
                            ParseErrorKind::UnclosedParen,
                            groups.cur.at()..groups.cur.at() + 1,
                            Expected::CLOSE_PAREN,
                        )),
                        Opener::Bracket | Opener::PathBracket => Err(Fault::new(
                            ParseErrorKind::UnclosedBracket,
                            groups.cur.at()..groups.cur.at() + 1,
                            Expected::CLOSE_BRACKET,
                        )),
                    };
                };
                match c {
                    b')' => {
                        match groups.cur.opener {
                            Opener::Paren | Opener::Not => {}
                            Opener::Bracket | Opener::PathBracket => {
                                return Err(Fault::new(
                                    ParseErrorKind::UnclosedBracket,
                                    groups.cur.at()..groups.cur.at() + 1,
                                    Expected::CLOSE_BRACKET,
                                ));
                            }
                            Opener::Top => {
                                return Err(Fault::new(
                                    ParseErrorKind::UnmatchedParen,
                                    at..at + 1,
                                    Expected::AND | Expected::OR | Expected::END,
                                ));
                            }
                        }
                        self.pos += 1;
                        let d = groups.finish(depth);
                        self.check_depth(d, groups.cur.at()..self.pos)?;
                        let Some((opener, opened_at)) = groups.close() else {
                            // A `Paren` or `Not` frame always has a parent.
                            return Err(self.too_deep(at..at + 1));
                        };
                        depth = match opener {
                            Opener::Not => {
                                groups.push(SlotKind::Not);
                                d + 1
                            }
                            _ => d,
                        };
                        self.check_depth(depth, opened_at..self.pos)?;
                        present = false;
                        after_bracket = false;
                    }
                    b']' => {
                        match groups.cur.opener {
                            Opener::Bracket => {}
                            Opener::PathBracket => {
                                self.pos += 1;
                                let d = groups.finish(depth);
                                self.check_depth(d, groups.cur.at()..self.pos)?;
                                return Ok(groups.slots);
                            }
                            Opener::Paren | Opener::Not if in_bracket => {
                                return Err(Fault::new(
                                    ParseErrorKind::UnclosedParen,
                                    groups.cur.at()..groups.cur.at() + 1,
                                    Expected::CLOSE_PAREN,
                                ));
                            }
                            Opener::Paren | Opener::Not | Opener::Top => {
                                return Err(Fault::new(
                                    ParseErrorKind::UnmatchedBracket,
                                    at..at + 1,
                                    Expected::AND | Expected::OR | Expected::END,
                                ));
                            }
                        }
                        self.pos += 1;
                        let d = groups.finish(depth);
                        let Some((_, opened_at)) = groups.close() else {
                            // A `Bracket` frame always has a parent.
                            return Err(self.too_deep(at..at + 1));
                        };
                        let Some(attr) = bracket.take() else {
                            return Err(self.too_deep(at..at + 1));
                        };
                        in_bracket = false;
                        let d = if self.entra && self.peek() == Some(b'.') {
                            self.entra_comparison(&mut groups.slots, d)?
                        } else {
                            d
                        };
                        groups.push(SlotKind::value_path(attr));
                        depth = d + 1;
                        self.check_depth(depth, opened_at..self.pos)?;
                        present = false;
                        after_bracket = true;
                    }
                    _ => match self.logic() {
                        Ok(Logic::And) => {
                            groups.push_and(depth);
                            break;
                        }
                        Ok(Logic::Or) => {
                            let d = groups.close_and(depth);
                            self.check_depth(d, at..at + 2)?;
                            groups.push_or(d);
                            break;
                        }
                        Err(run) => {
                            return Err(self.after_operand_fault(
                                groups.cur.opener,
                                at,
                                run,
                                present,
                                after_bracket && !spaced,
                            ));
                        }
                    },
                }
            }
            present = self.operand(&mut groups, &mut bracket, &mut in_bracket)?;
        }
    }

    /// After a term, at a byte that is not a closer: `and` or `or`, read; otherwise the
    /// word there, read, for the error.
    ///
    /// `and ` and `or ` (one space; a tab takes the path below) are read as one four-byte
    /// word, the space with them (`| 0x20` lowercases a letter).
    #[inline(always)]
    fn logic(&mut self) -> Result<Logic, &'a str> {
        let at = self.pos;
        if let Some(w) = word4(self.b(), at) {
            if w | 0x0020_2020 == u32::from_le_bytes(*b"and ") {
                self.pos = at + 4;
                return Ok(Logic::And);
            }
            if (w | 0x2020) & 0x00ff_ffff == u32::from_le_bytes(*b"or \0") {
                self.pos = at + 3;
                return Ok(Logic::Or);
            }
        }
        let run = self.run();
        if run.eq_ignore_ascii_case("and") {
            Ok(Logic::And)
        } else if run.eq_ignore_ascii_case("or") {
            Ok(Logic::Or)
        } else {
            Err(run)
        }
    }

    /// The error for something after an operand that is not `and`, `or` or a closer.
    fn after_operand_fault(
        &self,
        opener: Opener,
        at: usize,
        run: &str,
        present: bool,
        after_bracket: bool,
    ) -> Fault {
        let span = if run.is_empty() {
            self.char_span(at)
        } else {
            at..at + run.len()
        };
        let closer = match opener {
            Opener::Top => Expected::END,
            Opener::Paren | Opener::Not => Expected::CLOSE_PAREN,
            Opener::Bracket | Opener::PathBracket => Expected::CLOSE_BRACKET,
        };
        let expected = Expected::AND | Expected::OR | closer;
        let looks_like_value = self.b().get(at) == Some(&b'"')
            || run.eq_ignore_ascii_case("true")
            || run.eq_ignore_ascii_case("false")
            || run.eq_ignore_ascii_case("null")
            || Number::new(run).is_some();
        let kind = if present && looks_like_value {
            ParseErrorKind::PresentWithValue
        } else if after_bracket && !run.is_empty() {
            ParseErrorKind::AfterValuePath
        } else if matches!(opener, Opener::Top) {
            ParseErrorKind::TrailingInput
        } else {
            ParseErrorKind::Unexpected
        };
        Fault::new(kind, span, expected)
    }

    /// After the word `not` at `start` (the position is just after it): whether it opens a
    /// `not (` group, leaving the position at the `(`. An attribute named `not` (followed
    /// by an operator or `[`) is not a group; anything else is an error.
    fn not_group(&mut self, start: usize) -> PResult<bool> {
        let after = self.pos;
        if self.peek() == Some(b'[') {
            return Ok(false);
        }
        let spaced = self.skip_ws();
        if self.peek() == Some(b'(') {
            return Ok(true);
        }
        let word = self.run();
        let operator = word.eq_ignore_ascii_case("pr") || CompareOp::from_keyword(word).is_some();
        self.pos = after;
        if spaced && operator {
            Ok(false)
        } else {
            Err(Fault::new(
                ParseErrorKind::NotWithoutParens,
                start..after,
                Expected::OPEN_PAREN,
            ))
        }
    }

    /// `attrPath SP "pr"` or `attrPath SP compareOp SP compValue`, after the path (which
    /// started at `start`). Hands the leaf to `sink` (so that it is built where it goes);
    /// whether it is `pr`.
    ///
    /// `FIRST`: called for a filter's first leaf (outside [`State::filter`]), where the
    /// string scan is inlined.
    #[inline(always)]
    fn attr_exp<const FIRST: bool>(
        &mut self,
        attr: AttrPath<'a>,
        start: usize,
        sink: impl FnOnce(SlotKind<'a>),
    ) -> PResult<bool> {
        // Fastest path: the grammar's form, one space on each side of a two-letter word
        // (` eq `, ` pr `), read as one four-byte word. Anything else takes the path below.
        let p = self.pos;
        if let Some(&[b' ', c0, c1, b' ']) = self.b().get(p..p + 4) {
            let op = match CompareOp::from_pair([c0, c1]) {
                Some(op) => Some(Some(op)),
                None if [c0 | 0x20, c1 | 0x20] == *b"pr" => Some(None),
                None => None,
            };
            match op {
                Some(Some(op)) => {
                    // And most often a string without escapes right after the space.
                    let b = self.b();
                    let open = p + 4;
                    if b.get(open) == Some(&b'"') {
                        let end = if FIRST {
                            plain_end_inline(b, open + 1)
                        } else {
                            plain_end(b, open + 1)
                        };
                        if b.get(end) == Some(&b'"') {
                            self.pos = end + 1;
                            self.count(start..self.pos)?;
                            // Built in the sink's call, so that it is written where it goes.
                            let text = cut(self.src, open + 1, end);
                            sink(SlotKind::compare(Comparison {
                                attr,
                                op,
                                value: CompValue::String(Cow::Borrowed(text)),
                            }));
                            return Ok(false);
                        }
                    }
                    self.pos = open;
                    self.skip_ws();
                    let value = self.comp_value()?;
                    self.count(start..self.pos)?;
                    sink(SlotKind::compare(Comparison { attr, op, value }));
                    return Ok(false);
                }
                Some(None) => {
                    self.pos = p + 3;
                    self.count(start..self.pos)?;
                    sink(SlotKind::present(attr));
                    return Ok(true);
                }
                None => {}
            }
        }
        // ` pr` at the end or before a delimiter (`title pr`, `(title pr)`).
        if let Some(&[b' ', c0, c1]) = self.b().get(p..p + 3)
            && [c0 | 0x20, c1 | 0x20] == *b"pr"
            && self.b().get(p + 3).is_none_or(|&c| !is(c, RUN))
        {
            self.pos = p + 3;
            self.count(start..self.pos)?;
            sink(SlotKind::present(attr));
            return Ok(true);
        }
        self.skip_ws();
        let at = self.pos;
        // Fast path: a two-letter operator ended by a delimiter, recognised from its bytes
        // (`| 0x20` lowercases a letter and maps no other byte onto one).
        if let Some(&[c0, c1]) = self.b().get(at..at + 2)
            && self.b().get(at + 2).is_none_or(|&c| !is(c, RUN))
        {
            let op = match CompareOp::from_pair([c0, c1]) {
                Some(op) => Some(op),
                None if [c0 | 0x20, c1 | 0x20] == *b"pr" => None,
                None => {
                    let (leaf, present) = self.attr_exp_slow(attr, start, at)?;
                    sink(leaf);
                    return Ok(present);
                }
            };
            self.pos = at + 2;
            let Some(op) = op else {
                self.count(start..self.pos)?;
                sink(SlotKind::present(attr));
                return Ok(true);
            };
            self.skip_ws();
            let value = self.comp_value()?;
            self.count(start..self.pos)?;
            sink(SlotKind::compare(Comparison { attr, op, value }));
            return Ok(false);
        }
        let (leaf, present) = self.attr_exp_slow(attr, start, at)?;
        sink(leaf);
        Ok(present)
    }

    /// [`State::attr_exp`] for anything but a two-letter word: the errors.
    #[cold]
    #[inline(never)]
    fn attr_exp_slow(
        &mut self,
        attr: AttrPath<'a>,
        start: usize,
        at: usize,
    ) -> PResult<(SlotKind<'a>, bool)> {
        self.pos = at;
        let word = self.run();
        if word.is_empty() {
            let kind = if at == self.b().len() {
                ParseErrorKind::UnexpectedEnd
            } else {
                ParseErrorKind::Unexpected
            };
            return Err(Fault::new(kind, self.char_span(at), Expected::OPERATOR));
        }
        if word.eq_ignore_ascii_case("pr") {
            self.count(start..self.pos)?;
            return Ok((SlotKind::present(attr), true));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(Fault::new(
                ParseErrorKind::UnknownOperator,
                at..self.pos,
                Expected::OPERATOR,
            ));
        };
        self.skip_ws();
        let value = self.comp_value()?;
        self.count(start..self.pos)?;
        Ok((SlotKind::compare(Comparison { attr, op, value }), false))
    }

    /// `compValue`: a JSON string, number, `true`, `false` or `null`; or a bare word.
    #[inline]
    fn comp_value(&mut self) -> PResult<CompValue<'a>> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(Fault::new(
                ParseErrorKind::MissingValue,
                at..at,
                Expected::VALUE,
            ));
        };
        match c {
            b'"' => return self.string().map(CompValue::String),
            b')' | b']' => {
                return Err(Fault::new(
                    ParseErrorKind::MissingValue,
                    at..at + 1,
                    Expected::VALUE,
                ));
            }
            _ => {}
        }
        let word = self.run();
        let span = at..self.pos;
        if word.is_empty() {
            return Err(Fault::new(
                ParseErrorKind::Unexpected,
                self.char_span(at),
                Expected::VALUE,
            ));
        }
        if word.eq_ignore_ascii_case("true") {
            return Ok(CompValue::Bool(true));
        }
        if word.eq_ignore_ascii_case("false") {
            return Ok(CompValue::Bool(false));
        }
        if word.eq_ignore_ascii_case("null") {
            return Ok(CompValue::Null);
        }
        if let Some(n) = Number::new(word) {
            return Ok(CompValue::Number(n));
        }
        let kind = if word.starts_with('\'') {
            ParseErrorKind::SingleQuote
        } else if self.bare_words {
            return Ok(CompValue::String(Cow::Borrowed(word)));
        } else if word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or") {
            ParseErrorKind::MissingValue
        } else if word
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            ParseErrorKind::InvalidNumber
        } else {
            ParseErrorKind::BareWord
        };
        Err(Fault::new(kind, span, Expected::VALUE))
    }

    /// A JSON string, at its opening `"`: borrowed unless it has escapes.
    #[inline]
    fn string(&mut self) -> PResult<Cow<'a, str>> {
        let open = self.pos;
        let b = self.b();
        let mut i = open + 1;
        // Fast path: no escapes.
        loop {
            i = plain_end(b, i);
            match b.get(i) {
                None => return Err(self.unterminated(open)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(self.src.get(open + 1..i).unwrap_or_default()));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => return Err(control(i)),
                Some(_) => i += 1,
            }
        }
        let mut out = String::with_capacity(i - open + 16);
        let mut run_start = open + 1;
        loop {
            match b.get(i) {
                None => return Err(self.unterminated(open)),
                Some(b'"') => {
                    out.push_str(self.src.get(run_start..i).unwrap_or_default());
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    out.push_str(self.src.get(run_start..i).unwrap_or_default());
                    i = self.escape(i, &mut out)?;
                    run_start = i;
                }
                Some(&c) if c < 0x20 => return Err(control(i)),
                Some(_) => i += 1,
            }
        }
    }

    fn unterminated(&self, open: usize) -> Fault {
        Fault::new(
            ParseErrorKind::UnterminatedString,
            open..open + 1,
            Expected::CLOSE_QUOTE,
        )
    }

    /// Decodes the escape at `i` (a backslash) into `out`; the position after it.
    fn escape(&self, i: usize, out: &mut String) -> PResult<usize> {
        let bad = |end: usize| {
            Fault::new(
                ParseErrorKind::InvalidEscape,
                i..end.min(self.b().len()),
                Expected::ESCAPE,
            )
        };
        let Some(&c) = self.b().get(i + 1) else {
            return Err(self.unterminated_at(i));
        };
        let decoded = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4(i + 2).ok_or_else(|| bad(self.hex_end(i + 2)))?;
                match hi {
                    0xD800..=0xDBFF => {
                        let j = i + 6;
                        let lo = if self.b().get(j) == Some(&b'\\')
                            && self.b().get(j + 1) == Some(&b'u')
                        {
                            let lo = self.hex4(j + 2).ok_or_else(|| bad(self.hex_end(j + 2)))?;
                            (0xDC00..=0xDFFF).contains(&lo).then_some(lo)
                        } else {
                            None
                        };
                        let Some(lo) = lo else {
                            return Err(Fault::new(
                                ParseErrorKind::LoneSurrogate,
                                i..i + 6,
                                Expected::LOW_SURROGATE,
                            ));
                        };
                        let cp =
                            0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                        out.push(char::from_u32(cp).ok_or_else(|| bad(i + 12))?);
                        return Ok(i + 12);
                    }
                    0xDC00..=0xDFFF => {
                        return Err(Fault::new(
                            ParseErrorKind::LoneSurrogate,
                            i..i + 6,
                            Expected::NOTHING,
                        ));
                    }
                    _ => {
                        out.push(char::from_u32(u32::from(hi)).ok_or_else(|| bad(i + 6))?);
                        return Ok(i + 6);
                    }
                }
            }
            _ => return Err(bad(self.char_span(i + 1).end)),
        };
        out.push(decoded);
        Ok(i + 2)
    }

    fn unterminated_at(&self, i: usize) -> Fault {
        Fault::new(
            ParseErrorKind::UnterminatedString,
            i..i + 1,
            Expected::ESCAPE,
        )
    }

    /// Four hex digits at `i`.
    fn hex4(&self, i: usize) -> Option<u16> {
        let digits = self.b().get(i..i + 4)?;
        let mut v = 0u16;
        for &d in digits {
            v = v << 4 | u16::from(char::from(d).to_digit(16)? as u8);
        }
        Some(v)
    }

    /// The end of the hex digits (at most four) at `i`, plus the first bad character.
    fn hex_end(&self, i: usize) -> usize {
        let mut j = i;
        while j < i + 4 && self.b().get(j).is_some_and(u8::is_ascii_hexdigit) {
            j += 1;
        }
        self.char_span(j).end
    }

    /// The attribute path of a leaf when it is the common form: a name of letters (not
    /// `not`), or two joined by `.`, then a space. `start` is where the word starts and
    /// `letters` where its leading letters end. The path and where it ends (at the space),
    /// as [`State::run_classes`] and [`State::operand_path`] would read them; `None` for
    /// anything else.
    #[inline(always)]
    fn plain_path(&self, start: usize, letters: usize) -> Option<(AttrPath<'a>, usize)> {
        if letters == start {
            return None;
        }
        let b = self.b();
        match b.get(letters) {
            Some(b' ') => {
                let name = cut(self.src, start, letters);
                (!name.eq_ignore_ascii_case("not"))
                    .then(|| (AttrPath::from_parts(name, 0, name.len()), letters))
            }
            Some(b'.') => {
                let end = letters_end(b, letters + 1);
                if end == letters + 1 || b.get(end) != Some(&b' ') {
                    return None;
                }
                let text = cut(self.src, start, end);
                Some((AttrPath::from_parts(text, 0, letters - start), end))
            }
            _ => None,
        }
    }

    /// The attribute path an operand starts with: `run`, the word at `start` whose first
    /// byte is `first` and whose bytes' classes are `classes`. Fast path: a plain name (no
    /// URN, no sub-attribute) is borrowed as it is; anything else goes through `attr_path`.
    #[inline(always)]
    fn operand_path(
        &self,
        run: &'a str,
        classes: u8,
        first: u8,
        start: usize,
    ) -> PResult<AttrPath<'a>> {
        if classes & NAME != 0 && is(first, ALPHA) {
            Ok(AttrPath::from_parts(run, 0, run.len()))
        } else {
            self.attr_path(run, start)
        }
    }

    /// Splits a word (at `start`) into an attribute path: `[urn ":"] name ["." sub]`.
    #[inline]
    fn attr_path(&self, run: &'a str, start: usize) -> PResult<AttrPath<'a>> {
        let b = run.as_bytes();
        // Fast path: `name.sub`, both plain names (what the general path below gives for
        // them, without its checks for a URN, `$ref` and the errors).
        if b.first().is_some_and(|&c| is(c, ALPHA)) {
            let dot = name_end(b, 1);
            if b.get(dot) == Some(&b'.')
                && b.get(dot + 1).is_some_and(|&c| is(c, ALPHA))
                && name_end(b, dot + 2) == b.len()
            {
                return Ok(AttrPath::from_parts(run, 0, dot));
            }
        }
        let name_start = if b.len() > 4 && b[..4].eq_ignore_ascii_case(b"urn:") {
            let last = b.iter().rposition(|&c| c == b':').unwrap_or(3);
            self.check_urn(b, last, start)?;
            last + 1
        } else {
            0
        };
        let name_end = self.attr_name(run, name_start, start)?;
        let path = AttrPath::from_parts(run, name_start, name_end);
        let Some(&c) = b.get(name_end) else {
            return Ok(path);
        };
        if c != b'.' {
            return Err(self.bad_name_char(run, name_end, start));
        }
        let end = self.attr_name(run, name_end + 1, start)?;
        match b.get(end) {
            None => Ok(path),
            Some(b'.') => Err(Fault::new(
                ParseErrorKind::TooManySubAttrs,
                start + end..start + run.len(),
                Expected::NOTHING,
            )),
            Some(_) => Err(self.bad_name_char(run, end, start)),
        }
    }

    /// Checks the URN prefix `b[..last]` (which starts with `urn:`).
    fn check_urn(&self, b: &[u8], last: usize, start: usize) -> PResult<()> {
        if last <= 4 {
            return Err(Fault::new(
                ParseErrorKind::InvalidUrn,
                start..start + last + 1,
                Expected::NOTHING,
            ));
        }
        let mut seg_start = 4;
        let segments = b.get(4..last).unwrap_or_default();
        for (k, &c) in segments.iter().enumerate() {
            let i = k + 4;
            if c == b':' {
                if i == seg_start {
                    return Err(Fault::new(
                        ParseErrorKind::InvalidUrn,
                        start + i..start + i + 1,
                        Expected::NOTHING,
                    ));
                }
                seg_start = i + 1;
            } else if !is(c, URN) {
                return Err(Fault::new(
                    ParseErrorKind::InvalidUrn,
                    self.char_span(start + i),
                    Expected::NOTHING,
                ));
            }
        }
        if seg_start == last {
            return Err(Fault::new(
                ParseErrorKind::InvalidUrn,
                start + last..start + last + 1,
                Expected::NOTHING,
            ));
        }
        Ok(())
    }

    /// `ATTRNAME` (or `$ref`) at `i` in `run` (which is at `start`): the name's end.
    #[inline]
    fn attr_name(&self, run: &'a str, i: usize, start: usize) -> PResult<usize> {
        let b = run.as_bytes();
        if let Some(r) = b.get(i..i + 4)
            && r.eq_ignore_ascii_case(b"$ref")
            && matches!(b.get(i + 4), None | Some(b'.'))
        {
            return Ok(i + 4);
        }
        match b.get(i) {
            Some(&c) if is(c, ALPHA) => {}
            None => {
                return Err(Fault::new(
                    ParseErrorKind::InvalidAttrName,
                    start + i..start + i,
                    Expected::ATTR_NAME,
                ));
            }
            Some(_) => return Err(self.bad_name_char(run, i, start)),
        }
        let mut j = i + 1;
        while b.get(j).is_some_and(|&c| is(c, NAME)) {
            j += 1;
        }
        Ok(j)
    }

    /// The error for a character at `i` of `run` that cannot be in an attribute name.
    fn bad_name_char(&self, run: &str, i: usize, start: usize) -> Fault {
        let kind = if run.as_bytes().get(i) == Some(&b':') {
            ParseErrorKind::InvalidUrn
        } else {
            ParseErrorKind::InvalidAttrName
        };
        Fault::new(kind, self.char_span(start + i), Expected::ATTR_NAME)
    }

    /// A word that must be exactly an attribute name (a sub-attribute after `]`).
    fn plain_name(&mut self) -> PResult<&'a str> {
        let start = self.pos;
        let run = self.run();
        let end = self.attr_name(run, 0, start)?;
        match run.as_bytes().get(end) {
            None => Ok(run),
            Some(b'.') => Err(Fault::new(
                ParseErrorKind::TooManySubAttrs,
                start + end..start + run.len(),
                Expected::NOTHING,
            )),
            Some(_) => Err(self.bad_name_char(run, end, start)),
        }
    }

    /// The Entra form: after `attr[filter]`, at `.`: `.subAttr op value` (or `.subAttr pr`),
    /// merged into the value filter as one more `and` term.
    fn entra_comparison(&mut self, slots: &mut Nodes<'a>, depth: usize) -> PResult<usize> {
        self.pos += 1;
        let start = self.pos;
        let name = self.plain_name()?;
        let mut leaf = SlotKind::Not;
        self.attr_exp::<false>(AttrPath::new(name), start, |l| leaf = l)?;
        // The value filter's root is the last slot: an `and` takes the leaf as one more
        // term (moved after it), anything else becomes the first of two.
        let root = slots.len().wrapping_sub(1);
        if let Some(Slot {
            kind: SlotKind::And { first, len },
            ..
        }) = slots.as_slice().last()
        {
            let (first, len) = (*first, *len);
            slots.pop();
            if let Some(last) = slots.as_mut_slice().last_mut() {
                last.next = 1;
            }
            slots.push_parsed(Slot::new(leaf));
            slots.push_parsed(Slot::new(SlotKind::And {
                first: first + 1,
                len: len + 1,
            }));
            return Ok(depth);
        }
        if let Some(last) = slots.as_mut_slice().get_mut(root) {
            last.next = 1;
        }
        slots.push_parsed(Slot::new(leaf));
        slots.push_parsed(Slot::new(SlotKind::And { first: 2, len: 2 }));
        Ok(depth + 1)
    }

    /// A PATCH path: `attrPath / valuePath ["." subAttr]`.
    fn path(mut self) -> PResult<Path<'a>> {
        self.skip_ws();
        let start = self.pos;
        let run = self.run();
        if run.is_empty() {
            return Err(Fault::new(
                ParseErrorKind::Unexpected,
                self.char_span(start),
                Expected::ATTR_PATH,
            ));
        }
        let mut attr = self.attr_path(run, start)?;
        let mut expected = Expected::OPEN_BRACKET | Expected::END;
        let filter = if self.peek() == Some(b'[') {
            let bracket = self.pos;
            if let Some(sub) = attr.sub_attr() {
                return Err(Fault::new(
                    ParseErrorKind::SubAttrBeforeValuePath,
                    bracket - sub.len() - 1..bracket,
                    Expected::END,
                ));
            }
            self.pos += 1;
            let filter =
                Filter::from_slots(self.filter(Opener::PathBracket, bracket, None, false)?);
            if self.peek() == Some(b'.') {
                self.pos += 1;
                attr = attr.with_sub_attr(self.plain_name()?);
                expected = Expected::END;
            } else {
                expected = Expected::SUB_ATTR | Expected::END;
            }
            Some(filter)
        } else {
            None
        };
        self.skip_ws();
        if self.pos < self.b().len() {
            let at = self.pos;
            let end = at + self.run().len();
            let span = if end > at {
                at..end
            } else {
                self.char_span(at)
            };
            return Err(Fault::new(ParseErrorKind::TrailingInput, span, expected));
        }
        Ok(Path { attr, filter })
    }
}

/// The error for a sub-attribute before a value path's `[` (at `at_bracket`).
#[cold]
fn sub_attr_before_bracket(sub: &str, at_bracket: usize) -> Fault {
    Fault::new(
        ParseErrorKind::SubAttrBeforeValuePath,
        at_bracket - sub.len() - 1..at_bracket,
        Expected::OPEN_BRACKET.union(Expected::OPERATOR),
    )
}

/// The four bytes at `at` as a little-endian word (the first byte lowest), if there are
/// four.
#[inline(always)]
fn word4(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..)?.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The position of the first byte at or after `i` that ends the plain part of a JSON string
/// (`"`, `\\` or a control character), or `b.len()`.
///
/// Eight bytes at a time: a byte `x` of a word is flagged by `(x - 0x23) & !x & 0x80` when
/// below `0x23` (a control character, a space, `!` or `"`), or by `(x - 1) & !x & 0x80`
/// after XOR with `\\` (zero where it matched). A borrow can flag a byte above a real match,
/// never one below it, so the lowest flag is the first byte that is below `0x23` or a
/// backslash; a space or `!` there is read past, and the word read again after it.
#[inline(never)]
fn plain_end(b: &[u8], i: usize) -> usize {
    plain_end_inline(b, i)
}

/// [`plain_end`], inlined where it is called.
#[inline(always)]
fn plain_end_inline(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(bytes);
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let flags = (w.wrapping_sub(ONES * 0x23) | backslash.wrapping_sub(ONES)) & !w & HIGH;
        if flags != 0 {
            let at = i + (flags.trailing_zeros() / 8) as usize;
            match b.get(at) {
                Some(b' ' | b'!') => i = at + 1,
                _ => return at,
            }
        } else {
            i += 8;
        }
    }
    while b.get(i).is_some_and(|&c| !is(c, STR_END)) {
        i += 1;
    }
    i
}

/// The end of the run of ASCII letters at `i` in `b`, read eight bytes at a time (the
/// last fewer than eight bytes are left to the caller's byte-wise loop).
#[inline(always)]
fn letters_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let n = leading_letters(u64::from_le_bytes(bytes));
        i += n;
        if n < 8 {
            break;
        }
    }
    i
}

/// The end of the run of name characters (`ALPHA / DIGIT / "-" / "_"`) at `i` in `b`:
/// letters eight at a time, then byte by byte.
#[inline]
fn name_end(b: &[u8], i: usize) -> usize {
    let mut i = letters_end(b, i);
    while b.get(i).is_some_and(|&c| is(c, NAME)) {
        i += 1;
    }
    i
}

/// How many of the eight bytes of `w` (little-endian: the first byte lowest) are ASCII
/// letters before the first that is not (8 if all are).
///
/// Each byte is lowercased (`| 0x20`) and its high bit cleared, so adding 0x1f sets the
/// high bit exactly for bytes at or above `a`, and adding 0x05 exactly for those above `z`,
/// with no carry into the next byte; bytes that had the high bit set (not ASCII) are
/// excluded by `!w`.
#[inline(always)]
fn leading_letters(w: u64) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let x = (w | (ONES * 0x20)) & !HIGH;
    let at_least_a = x.wrapping_add(ONES * (0x80 - u64::from(b'a')));
    let above_z = x.wrapping_add(ONES * (0x80 - u64::from(b'z') - 1));
    let letters = at_least_a & !above_z & !w & HIGH;
    ((!letters & HIGH).trailing_zeros() / 8) as usize
}

/// The error for an unescaped control character at `i` in a string.
fn control(i: usize) -> Fault {
    Fault::new(ParseErrorKind::ControlCharacter, i..i + 1, Expected::ESCAPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ast::Node;

    fn cmp<'a>(name: &'a str, op: CompareOp, value: CompValue<'a>) -> Filter<'a> {
        Filter::from(Comparison {
            attr: AttrPath::new(name),
            op,
            value,
        })
    }

    fn s(v: &str) -> CompValue<'_> {
        CompValue::String(Cow::Borrowed(v))
    }

    fn parse_err_span(input: &str) -> std::ops::Range<usize> {
        parse(input).unwrap_err().span()
    }

    fn kind(input: &str) -> ParseErrorKind {
        *parse(input).unwrap_err().kind()
    }

    #[test]
    fn single_comparison_borrows() {
        let f = parse(r#"userName eq "bjensen""#).unwrap();
        assert_eq!(f, cmp("userName", CompareOp::Eq, s("bjensen")));
        let Some(c) = f.as_compare() else {
            unreachable!()
        };
        assert!(c.attr.is_borrowed());
        assert!(matches!(c.value, CompValue::String(Cow::Borrowed(_))));
    }

    /// A filter that is one leaf takes a shorter path than a leaf followed by more: both
    /// must read the leaf the same way and fail the same way.
    #[test]
    fn lone_leaf_reads_like_a_leaf_in_a_chain() {
        let leaves = [
            r#"userName eq "bjensen""#,
            "title pr",
            "TITLE PR",
            r#"name.familyName co "O'Malley""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            "$ref eq null",
            "not eq 1.5e3",
            "a.b ne true",
            r#"x eq "esc\"aped""#,
        ];
        for leaf in leaves {
            let alone = parse(leaf).unwrap();
            for padded in [format!("  {leaf}\t "), format!("\t{leaf}")] {
                assert_eq!(parse(&padded).unwrap(), alone, "{padded}");
            }
            let chained = format!("{leaf} and z pr");
            let chain = parse(&chained).unwrap();
            let Node::And(mut terms) = chain.root() else {
                panic!("{chained}")
            };
            assert_eq!(terms.next().map(|t| t.to_filter()), Some(alone.clone()));
            let negated = format!("not ({leaf})");
            let not = parse(&negated).unwrap();
            let Node::Not(inner) = not.root() else {
                panic!("{leaf}")
            };
            assert_eq!(inner.to_filter(), alone);
        }
        let bad = [
            "userName eq",
            "userName eq ",
            "userName lte 1",
            "userName eq 'x'",
            "userName eq bjensen",
            "a.b.c pr",
            "urn:: pr",
            "1abc pr",
            "userName pr 1",
            r#"userName eq "x" trailing"#,
            r#"userName eq "\q""#,
            "userName",
            "not",
            "not x",
        ];
        let mut compared = 0;
        for input in bad {
            let alone = parse(input).unwrap_err();
            // The same fault, found by the general loop behind a leading `(`.
            let grouped = parse(&format!("({input}")).unwrap_err();
            if alone.kind() != &ParseErrorKind::TrailingInput
                && grouped.kind() != &ParseErrorKind::UnclosedParen
            {
                assert_eq!(alone.kind(), grouped.kind(), "{input}");
                assert_eq!(alone.span().start + 1, grouped.span().start, "{input}");
                compared += 1;
            }
        }
        assert!(compared >= 10, "{compared}");
        // The budgets hold on the short path too.
        let e = Parser::new().max_comparisons(0).parse("a pr").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooManyComparisons { max: 0 });
        let e = Parser::new().max_depth(0).parse(r#"a eq "x""#).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 0 });
        assert_eq!(e.span(), 8..8);
    }

    /// The error `e` of parsing `input` has the given span and message.
    fn assert_error(e: ParseError, input: &str, span: Range<usize>, message: &str) {
        assert_eq!(
            (e.span(), e.to_string()),
            (span, message.to_owned()),
            "{input:?}"
        );
    }

    /// Each input fails to parse with the given span and message.
    fn assert_errors<const N: usize>(cases: [(&str, Range<usize>, &str); N]) {
        for (input, span, message) in cases {
            assert_error(parse(input).unwrap_err(), input, span, message);
        }
    }

    /// `and ` and `or ` read as one word after an operand: the edges of that test give the
    /// same trees and errors as the byte-wise path (tabs, case, a NUL, the end).
    #[test]
    fn and_or_words_at_their_edges() {
        for (a, b) in [
            ("a pr and\tb pr", "a pr and b pr"),
            ("a pr or\tb pr", "a pr or b pr"),
            ("a pr AND b pr", "a pr and b pr"),
            ("a pr Or\t\tb pr", "a pr or b pr"),
        ] {
            assert_eq!(parse(a), parse(b), "{a}");
        }
        let cases: [(&str, Range<usize>, &str); 10] = [
            (
                "a pr and\u{0}b pr",
                8..9,
                "invalid filter at byte 8: unexpected input `␀`; expected an attribute path, `not (` or `(`\n  a pr and␀b pr\n          ^",
            ),
            (
                "a pr or\u{0}b pr",
                7..8,
                "invalid filter at byte 7: unexpected input `␀`; expected an attribute path, `not (` or `(`\n  a pr or␀b pr\n         ^",
            ),
            (
                "a pr and",
                8..8,
                "invalid filter at byte 8: unexpected end of input; expected an attribute path, `not (` or `(`\n  a pr and\n          ^",
            ),
            (
                "a pr or",
                7..7,
                "invalid filter at byte 7: unexpected end of input; expected an attribute path, `not (` or `(`\n  a pr or\n         ^",
            ),
            (
                "a pr or ",
                8..8,
                "invalid filter at byte 8: unexpected end of input; expected an attribute path, `not (` or `(`\n  a pr or \n          ^",
            ),
            (
                "a pr and ",
                9..9,
                "invalid filter at byte 9: unexpected end of input; expected an attribute path, `not (` or `(`\n  a pr and \n           ^",
            ),
            (
                "a pr andb pr",
                5..9,
                "invalid filter at byte 5: unexpected trailing text `andb`; expected `and`, `or` or the end of the input\n  a pr andb pr\n       ^^^^",
            ),
            (
                "a pr orb",
                5..8,
                "invalid filter at byte 5: unexpected trailing text `orb`; expected `and`, `or` or the end of the input\n  a pr orb\n       ^^^",
            ),
            (
                "a pr an",
                5..7,
                "invalid filter at byte 5: unexpected trailing text `an`; expected `and`, `or` or the end of the input\n  a pr an\n       ^^",
            ),
            (
                "a pr o",
                5..6,
                "invalid filter at byte 5: unexpected trailing text `o`; expected `and`, `or` or the end of the input\n  a pr o\n       ^",
            ),
        ];
        assert_errors(cases);
    }

    /// `name.sub` read by the fast path of `attr_path`: the same paths, and the same errors
    /// where it gives way to the general path.
    #[test]
    fn sub_attribute_paths() {
        let oks: [(&str, &str); 6] = [
            (
                "a-.b- eq 1",
                r#"Compare(Comparison { attr: AttrPath { urn: None, name: "a-", sub_attr: Some("b-") }, op: Eq, value: Number(Number("1")) })"#,
            ),
            (
                "a.b pr",
                r#"Present(AttrPath { urn: None, name: "a", sub_attr: Some("b") })"#,
            ),
            (
                "a.$ref pr",
                r#"Present(AttrPath { urn: None, name: "a", sub_attr: Some("$ref") })"#,
            ),
            (
                "A1-_.b2-_ eq 1",
                r#"Compare(Comparison { attr: AttrPath { urn: None, name: "A1-_", sub_attr: Some("b2-_") }, op: Eq, value: Number(Number("1")) })"#,
            ),
            (
                "abcdefghijklmnop.qrstuvwxyzabcdefgh pr",
                r#"Present(AttrPath { urn: None, name: "abcdefghijklmnop", sub_attr: Some("qrstuvwxyzabcdefgh") })"#,
            ),
            (
                "name.familyName pr",
                r#"Present(AttrPath { urn: None, name: "name", sub_attr: Some("familyName") })"#,
            ),
        ];
        for (input, debug) in oks {
            assert_eq!(format!("{:?}", parse(input).unwrap()), debug, "{input}");
        }
        let errors: [(&str, Range<usize>, &str); 10] = [
            (
                "a.b.c pr",
                3..5,
                "invalid filter at byte 3: more than one sub-attribute (at most `attr.subAttr`)\n  a.b.c pr\n     ^^",
            ),
            (
                "a. pr",
                2..2,
                "invalid filter at byte 2: invalid attribute name; expected an attribute name\n  a. pr\n    ^",
            ),
            (
                "a.1 pr",
                2..3,
                "invalid filter at byte 2: invalid attribute name `1`; expected an attribute name\n  a.1 pr\n    ^",
            ),
            (
                "a.~b pr",
                2..3,
                "invalid filter at byte 2: invalid attribute name `~`; expected an attribute name\n  a.~b pr\n    ^",
            ),
            (
                "a~.b pr",
                1..2,
                "invalid filter at byte 1: invalid attribute name `~`; expected an attribute name\n  a~.b pr\n   ^",
            ),
            (
                "a.b~ pr",
                3..4,
                "invalid filter at byte 3: invalid attribute name `~`; expected an attribute name\n  a.b~ pr\n     ^",
            ),
            (
                "a.-b pr",
                2..3,
                "invalid filter at byte 2: invalid attribute name `-`; expected an attribute name\n  a.-b pr\n    ^",
            ),
            (
                "ab.cdefghijklmnopq.r pr",
                18..20,
                "invalid filter at byte 18: more than one sub-attribute (at most `attr.subAttr`)\n  ab.cdefghijklmnopq.r pr\n                    ^^",
            ),
            (
                "a..b pr",
                2..3,
                "invalid filter at byte 2: invalid attribute name `.`; expected an attribute name\n  a..b pr\n    ^",
            ),
            (
                ".a pr",
                0..1,
                "invalid filter at byte 0: invalid attribute name `.`; expected an attribute name\n  .a pr\n  ^",
            ),
        ];
        assert_errors(errors);
    }

    /// Empty and whitespace-only inputs (a filter's found by `first_leaf`, a path's by the
    /// precheck), and the inputs next to them.
    #[test]
    fn empty_inputs() {
        let cases: [(&str, bool, Range<usize>, &str); 11] = [
            (
                "",
                false,
                0..0,
                "invalid filter at byte 0: empty input; expected an attribute path, `not (` or `(`\n  \n  ^",
            ),
            (
                " ",
                false,
                0..1,
                "invalid filter at byte 0: empty input; expected an attribute path, `not (` or `(`\n   \n  ^",
            ),
            (
                "\t",
                false,
                0..1,
                "invalid filter at byte 0: empty input; expected an attribute path, `not (` or `(`\n  ␉\n  ^",
            ),
            (
                " \t  ",
                false,
                0..4,
                "invalid filter at byte 0: empty input; expected an attribute path, `not (` or `(`\n   ␉  \n  ^^^^",
            ),
            (
                "  (",
                false,
                3..3,
                "invalid filter at byte 3: unexpected end of input; expected an attribute path, `not (` or `(`\n    (\n     ^",
            ),
            (
                " not",
                false,
                1..4,
                "invalid filter at byte 1: `not` without parentheses; expected `(`\n   not\n   ^^^",
            ),
            (
                "\t[",
                false,
                1..2,
                "invalid filter at byte 1: unexpected input `[`; expected an attribute path, `not (` or `(`\n  ␉[\n   ^",
            ),
            (
                "   )",
                false,
                3..4,
                "invalid filter at byte 3: unmatched `)`; expected an attribute path, `not (` or `(`\n     )\n     ^",
            ),
            (
                "",
                true,
                0..0,
                "invalid path at byte 0: empty input; expected an attribute path\n  \n  ^",
            ),
            (
                " ",
                true,
                0..1,
                "invalid path at byte 0: empty input; expected an attribute path\n   \n  ^",
            ),
            (
                "\t ",
                true,
                0..2,
                "invalid path at byte 0: empty input; expected an attribute path\n  ␉ \n  ^^",
            ),
        ];
        for (input, path, span, message) in cases {
            let e = if path {
                parse_path(input).unwrap_err()
            } else {
                parse(input).unwrap_err()
            };
            assert_error(e, input, span, message);
        }
    }

    /// A filter that starts with a value path (its `attr[` read before the group machinery
    /// exists): the same errors, spans and messages as when it was read as an operand.
    #[test]
    fn value_path_first_errors() {
        let cases: [(Parser, &str, Range<usize>, &str); 10] = [
            (
                Parser::new().max_depth(0),
                "emails[type pr]",
                6..7,
                "invalid filter at byte 6: nested deeper than 0 levels; expected a smaller input\n  emails[type pr]\n        ^",
            ),
            (
                Parser::new().max_depth(1),
                "emails[type pr]",
                6..15,
                "invalid filter at byte 6: nested deeper than 1 levels; expected a smaller input\n  emails[type pr]\n        ^^^^^^^^^",
            ),
            (
                Parser::new(),
                "a.b[c pr]",
                1..3,
                "invalid filter at byte 1: a value path cannot filter a sub-attribute; expected `[`, a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`\n  a.b[c pr]\n   ^^",
            ),
            (
                Parser::new(),
                "  a.b[c pr]",
                3..5,
                "invalid filter at byte 3: a value path cannot filter a sub-attribute; expected `[`, a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`\n    a.b[c pr]\n     ^^",
            ),
            (
                Parser::new(),
                "1a[c pr]",
                0..1,
                "invalid filter at byte 0: invalid attribute name `1`; expected an attribute name\n  1a[c pr]\n  ^",
            ),
            (
                Parser::new(),
                "a:b[c pr]",
                1..2,
                "invalid filter at byte 1: invalid schema URN prefix `:`; expected an attribute name\n  a:b[c pr]\n   ^",
            ),
            (
                Parser::new(),
                "emails[type pr",
                6..7,
                "invalid filter at byte 6: unclosed `[`; expected `]`\n  emails[type pr\n        ^",
            ),
            (
                Parser::new(),
                "emails[]",
                7..8,
                "invalid filter at byte 7: unexpected input `]`; expected an attribute path, `not (` or `(`\n  emails[]\n         ^",
            ),
            (
                Parser::new(),
                "emails[type pr] x",
                16..17,
                "invalid filter at byte 16: unexpected trailing text `x`; expected `and`, `or` or the end of the input\n  emails[type pr] x\n                  ^",
            ),
            (
                Parser::new(),
                "emails[type pr]x",
                15..16,
                "invalid filter at byte 15: unexpected text after a value path `x`; expected `and`, `or` or the end of the input\n  emails[type pr]x\n                 ^",
            ),
        ];
        for (parser, input, span, message) in cases {
            assert_error(parser.parse(input).unwrap_err(), input, span, message);
        }
        // And it parses as before, also after a URN and with more after it.
        let f = parse("urn:x:y:emails[type pr] and a pr").unwrap();
        assert_eq!(f.to_string(), "urn:x:y:emails[type pr] and a pr");
        assert_eq!(parse(" emails[type pr]").unwrap().depth(), 2);
    }

    #[test]
    fn plain_end_finds_the_first_terminator() {
        let slow =
            |b: &[u8], i: usize| (i..b.len()).find(|&j| is(b[j], STR_END)).unwrap_or(b.len());
        // Every byte value at every position of a 20-byte run (two words and a tail), with
        // a second terminator after it and a high byte before it, from every start.
        let mut checked = 0;
        for v in 0..=255u8 {
            for at in 0..20 {
                let mut b = [b'a'; 20];
                b[at] = v;
                if at >= 2 {
                    b[at - 2] = 0xC3;
                }
                if at + 3 < b.len() {
                    b[at + 3] = b'"';
                }
                for start in 0..=b.len() {
                    assert_eq!(
                        plain_end(&b, start),
                        slow(&b, start),
                        "{v} at {at} from {start}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 256 * 20 * 21);
        // Two bytes of the classes around the word test's edges (spaces and `!` are flagged
        // and read past) at every pair of positions, from every start.
        let edges = [
            b' ', b'!', b'"', b'#', b'\\', b'[', b']', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xC3, 0xff,
            b'a',
        ];
        for &v in &edges {
            for &u in &edges {
                for at in 0..20 {
                    for later in at..20 {
                        let mut b = [b'x'; 20];
                        b[at] = v;
                        b[later] = u;
                        for start in 0..=b.len() {
                            assert_eq!(
                                plain_end(&b, start),
                                slow(&b, start),
                                "{v} at {at}, {u} at {later}, from {start}"
                            );
                        }
                    }
                }
            }
        }
        // Runs of spaces before a terminator.
        let b = b"a b  c   !!  \"end";
        assert_eq!(plain_end(b, 0), 13);
        assert_eq!(plain_end(b"        \"", 0), 8);
    }

    #[test]
    fn leading_letters_against_the_byte_test() {
        // Every byte value at every position, after a prefix of letters of each length.
        for pos in 0..8 {
            for x in 0..=255u8 {
                let mut bytes = *b"aBcDeFgH";
                bytes[pos] = x;
                let expected = bytes
                    .iter()
                    .position(|c| !c.is_ascii_alphabetic())
                    .unwrap_or(8);
                assert_eq!(
                    leading_letters(u64::from_le_bytes(bytes)),
                    expected,
                    "{bytes:?}"
                );
            }
        }
        // Bytes that border the letters, or are non-ASCII, after the letters.
        for x in [b'@', b'[', b'`', b'{', 0x80, 0xc1, 0xda, 0xff, b'A' | 0x80] {
            let bytes = [b'z', b'Z', b'a', x, x, b'a', b'a', b'a'];
            assert_eq!(leading_letters(u64::from_le_bytes(bytes)), 3, "{x:#x}");
        }
    }

    #[test]
    fn whitespace_runs_between_tokens() {
        // One space, several, tabs, and mixes: all read alike.
        let one = parse(r#"title pr and userType eq "Employee""#).unwrap();
        for spaced in [
            "title  pr and userType eq \"Employee\"",
            "title\tpr and\t\tuserType  eq\t \"Employee\"",
            " \t title pr  and userType eq \"Employee\"\t ",
            "title pr \tand userType \t eq \"Employee\"  ",
        ] {
            assert_eq!(parse(spaced).unwrap(), one, "{spaced:?}");
        }
        // The four-byte operator word and the keyword with its space, beside their slow paths.
        let or = parse(r#"title pr or userType eq "Employee""#).unwrap();
        for spaced in [
            "title PR Or\tuserType EQ \"Employee\"",
            "title pr or  userType eq  \"Employee\"",
            "title pr\tor userType\teq\t\"Employee\"",
            "title pr OR userType Eq\"Employee\"",
        ] {
            assert_eq!(parse(spaced).unwrap(), or, "{spaced:?}");
        }
        assert_eq!(kind("title pr or "), ParseErrorKind::UnexpectedEnd);
        assert_eq!(kind("title pr and "), ParseErrorKind::UnexpectedEnd);
        assert_eq!(kind("title  eq "), ParseErrorKind::MissingValue);
        assert_eq!(kind("title eq  "), ParseErrorKind::MissingValue);
        assert_eq!(kind("title eqq 1"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("title pr  1"), ParseErrorKind::PresentWithValue);
        // ` pr` at the end or before a delimiter, beside `pr` after other whitespace.
        for (fast, slow) in [
            ("title pr", "title\tpr"),
            ("(title pr)", "(title  pr)"),
            ("a[title pr]", "a[title\tpr]"),
            ("not (title PR)", "not (title\tPR)"),
        ] {
            assert_eq!(parse(fast).unwrap(), parse(slow).unwrap(), "{fast:?}");
        }
        assert_eq!(kind("title pr)"), ParseErrorKind::UnmatchedParen);
        assert_eq!(kind("title prx"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("title pr\"x\""), ParseErrorKind::PresentWithValue);
        // The budget error at an `or` has the same span on both paths.
        for input in ["a pr and b pr or c pr", "a pr and b pr\tor c pr"] {
            let e = Parser::new().max_depth(1).parse(input).unwrap_err();
            assert_eq!(
                (*e.kind(), e.span()),
                (ParseErrorKind::TooDeep { max: 1 }, 14..16)
            );
        }
        // A string right after ` eq ` is read in place unless it has an escape or a fault.
        let escaped = parse(r#"a eq "x\"y" and b eq "z""#).unwrap();
        assert_eq!(escaped.to_string(), r#"a eq "x\"y" and b eq "z""#);
        assert_eq!(kind("a eq \"x\u{1}\""), ParseErrorKind::ControlCharacter);
        assert_eq!(kind("a eq \"x"), ParseErrorKind::UnterminatedString);
        assert_eq!(parse_err_span("a eq \"x"), 5..6);
        // Names longer than eight letters, and names that stop in the middle of a word.
        let long = parse(r#"abcdefghijklmnopq eq 1 and abcdefgh1 pr and x_y-z pr"#).unwrap();
        assert_eq!(
            long.to_string(),
            "abcdefghijklmnopq eq 1 and abcdefgh1 pr and x_y-z pr"
        );
        assert_eq!(kind("abcdefgh\u{e9} pr"), ParseErrorKind::InvalidAttrName);
        assert_eq!(kind("abcdefghij: pr"), ParseErrorKind::InvalidUrn);
    }

    #[test]
    fn escapes_allocate_and_decode() {
        let f = parse(r#"a eq "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap();
        let expected = "x\"y\\z/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}";
        assert_eq!(
            f,
            cmp("a", CompareOp::Eq, CompValue::String(expected.into()))
        );
    }

    #[test]
    fn string_errors() {
        assert_eq!(kind(r#"a eq "x"#), ParseErrorKind::UnterminatedString);
        assert_eq!(kind(r#"a eq "x\"#), ParseErrorKind::UnterminatedString);
        assert_eq!(kind(r#"a eq "\x""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(r#"a eq "\u12G4""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(r#"a eq "\u12""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(r#"a eq "\ud800""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(
            kind(r#"a eq "\ud800\u0041""#),
            ParseErrorKind::LoneSurrogate
        );
        assert_eq!(kind(r#"a eq "\udc00""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind("a eq \"\u{1}\""), ParseErrorKind::ControlCharacter);
        assert_eq!(
            kind("a eq \"x\\n\u{1f}\""),
            ParseErrorKind::ControlCharacter
        );
        assert_eq!(kind(r#"a eq "\é""#), ParseErrorKind::InvalidEscape);
    }

    #[test]
    fn precedence_and_flattening() {
        let f = parse("a pr or b pr and c pr or d pr").unwrap();
        let p = |n| Filter::present(AttrPath::new(n));
        assert_eq!(
            f,
            Filter::or([p("a"), Filter::and([p("b"), p("c")]), p("d")])
        );
        let f = parse("a pr and (b pr and c pr)").unwrap();
        assert_eq!(f, Filter::and([p("a"), Filter::and([p("b"), p("c")])]));
        assert_eq!(parse("((a pr))").unwrap(), p("a"));
        assert_eq!(
            parse("not(a pr) and NOT  (b pr)").unwrap(),
            Filter::and([Filter::not(p("a")), Filter::not(p("b"))])
        );
    }

    /// Chains at every level of a nest deeper than the in-place frames (so the frame stack
    /// spills and comes back), each chain moved out of the shared buffer at its exact size.
    #[test]
    fn chains_in_groups_beyond_the_inline_frames() {
        let p = |n| Filter::present(AttrPath::new(n));
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        // a pr and (b pr or (c pr and (... (h pr or z pr) ...) and y pr) or y pr) and y pr
        let mut text = String::from("h pr or z pr");
        let mut expected = Filter::or([p("h"), p("z")]);
        for (level, name) in names.iter().rev().skip(1).enumerate() {
            let and = level % 2 == 1;
            let joiner = if and { "and" } else { "or" };
            text = format!("{name} pr {joiner} ({text}) {joiner} y pr");
            let terms = [p(name), expected, p("y")];
            expected = if and {
                Filter::and(terms)
            } else {
                Filter::or(terms)
            };
        }
        assert!(names.len() > INLINE_FRAMES + 2);
        let f = parse(&text).unwrap();
        assert_eq!(f, expected, "{text}");
        let mut node = f.as_ref();
        let mut levels = 0;
        while let Node::And(terms) | Node::Or(terms) = node.node() {
            assert!((2..=3).contains(&terms.len()), "{node}");
            levels += 1;
            match terms.clone().nth(1) {
                Some(inner) if matches!(inner.node(), Node::And(_) | Node::Or(_)) => node = inner,
                _ => break,
            }
        }
        assert_eq!(levels, names.len());
        // The same nest inside a value path and under `not`.
        let wrapped = format!("x[not ({text})]");
        let vp = parse(&wrapped).unwrap();
        let Node::ValuePath(_, inner) = vp.root() else {
            panic!("{wrapped}")
        };
        assert_eq!(inner.to_filter(), Filter::not(expected));
    }

    #[test]
    fn operators_and_keywords_from_bytes() {
        let p = |n| Filter::present(AttrPath::new(n));
        for (text, op) in [
            ("EQ", CompareOp::Eq),
            ("nE", CompareOp::Ne),
            ("Le", CompareOp::Le),
        ] {
            assert_eq!(
                parse(&format!("a {text} 1")).unwrap(),
                cmp("a", op, CompValue::Number(Number::new("1").unwrap()))
            );
        }
        assert_eq!(parse("a PR").unwrap(), p("a"));
        assert_eq!(parse("a\tpR\t").unwrap(), p("a"));
        assert_eq!(kind("a ab 1"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a eqx 1"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a lte 1"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a prx"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a e"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a @q 1"), ParseErrorKind::UnknownOperator);
        assert_eq!(kind("a pr 1"), ParseErrorKind::PresentWithValue);
        let and = Filter::and([p("a"), p("b")]);
        let or = Filter::or([p("a"), p("b")]);
        for text in ["a pr AND b pr", "a pr aNd\tb pr", "a pr and(b pr)"] {
            assert_eq!(parse(text).unwrap(), and, "{text}");
        }
        for text in ["a pr OR b pr", "a pr oR\tb pr", "a pr or(b pr)"] {
            assert_eq!(parse(text).unwrap(), or, "{text}");
        }
        assert_eq!(kind("a pr andx b pr"), ParseErrorKind::TrailingInput);
        assert_eq!(kind("a pr orx b pr"), ParseErrorKind::TrailingInput);
        assert_eq!(kind("a pr an b pr"), ParseErrorKind::TrailingInput);
        assert_eq!(kind("a pr or"), ParseErrorKind::UnexpectedEnd);
        assert_eq!(kind("a pr and "), ParseErrorKind::UnexpectedEnd);
        // `| 0x20` maps no non-letter onto a letter of a keyword.
        assert_eq!(kind("a pr \u{0}r b pr"), ParseErrorKind::TrailingInput);
    }

    #[test]
    fn attribute_named_not() {
        let f = parse("not pr and not eq 1").unwrap();
        assert_eq!(
            f,
            Filter::and([
                Filter::present(AttrPath::new("not")),
                cmp(
                    "not",
                    CompareOp::Eq,
                    CompValue::Number(Number::new("1").unwrap())
                ),
            ])
        );
        assert_eq!(kind("not a pr"), ParseErrorKind::NotWithoutParens);
        assert_eq!(kind("not"), ParseErrorKind::NotWithoutParens);
        assert_eq!(kind("notpr"), ParseErrorKind::UnexpectedEnd);
    }

    #[test]
    fn depth_budget_counts_levels_and_parens() {
        let p = Parser::new().max_depth(4);
        assert!(p.parse("not (a pr and (b pr or c pr))").is_ok());
        let e = p.parse("not (a pr and (b pr or not (c pr)))").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 4 });
        assert!(p.parse("((((a pr))))").is_ok());
        let e = p.parse("(((((a pr)))))").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 4 });
        assert_eq!(e.span(), 4..5);
        let e = Parser::new().max_depth(0).parse("a pr").unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 0 });
    }

    #[test]
    fn entra_merges() {
        let p = Parser::with_dialects();
        let f = p
            .parse(r#"emails[type eq "work" or primary eq true].value pr"#)
            .unwrap();
        assert_eq!(
            f.to_string(),
            r#"emails[(type eq "work" or primary eq true) and value pr]"#
        );
        assert_eq!(
            kind(r#"emails[type eq "work"].value eq "x""#),
            ParseErrorKind::AfterValuePath
        );
    }
}

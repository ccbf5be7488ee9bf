//! The quick pass: a recursive-descent parser for filters that parse without error.
//!
//! [`State::filter`] handles every input and says precisely what is wrong with a bad one;
//! its explicit stack of open groups is what lets it do so without recursing, and what
//! makes it slow. Most filters are valid and shallow, so [`Parser::parse`] first tries
//! this pass: the same reading of the same grammar, with one function per level and no
//! error reporting. It reads leaves, names and values with the very functions the full
//! parser uses, so the two differ only in how they nest groups and chain terms. On anything
//! it would have to report (or does not handle), it gives up with `None`, and the caller
//! parses the input again with [`State::filter`], which finds the error.
//!
//! The pass recurses once per open group (three calls a level), and never beyond
//! [`QUICK_NEST`] levels, whatever the nesting budget: deeper filters are left to the full
//! parser. In debug builds [`Parser::parse`] checks every filter this pass builds against
//! the full parser's.
//!
//! [`Parser::parse`]: super::Parser::parse

use std::borrow::Cow;

use super::{Slot, SlotKind, State, cut, letters_end, plain_end_inline};
use crate::ast::{CompValue, CompareOp, Comparison};
use crate::ast::AttrPath;

/// The deepest nesting of groups (`(`, `not (`, `[`) the quick pass reads.
pub(super) const QUICK_NEST: usize = 16;

/// What follows a finished term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joint {
    /// `and`, read.
    And,
    /// `or`, read.
    Or,
    /// `)`, `]` or the end of the input, not read.
    Close,
}

impl<'a> State<'a> {
    /// The whole filter, after its first term if [`State::first_leaf`] read one (`first`)
    /// or read a value path's `attr[` (in [`State::value_path`]): its nodes, or `None` for
    /// [`State::filter`] to parse it again.
    pub(super) fn quick(&mut self, first: Option<Slot<'a>>) -> Option<Vec<Slot<'a>>> {
        // Room for about one node per 10 bytes of input, as in `State::filter`.
        let mut slots = Vec::with_capacity(self.b().len() / 10 + 3);
        let depth = match first {
            Some(leaf) => {
                slots.push(leaf);
                1
            }
            None => match self.value_path.take() {
                Some((attr, at_bracket)) => {
                    self.pos = at_bracket;
                    self.quick_bracket(&mut slots, attr, 0)?
                }
                None => self.quick_term(&mut slots, 0, false)?,
            },
        };
        let depth = self.quick_chain(&mut slots, 0, false, Some(depth))?;
        (self.pos == self.b().len() && depth <= self.max_depth).then_some(slots)
    }

    /// A group's content, up to its closer (not read): `or` of `and` chains of terms.
    /// `first`: the depth of its first term if already read (the buffer's last slot).
    /// The depth of the group's root.
    ///
    /// One call a group: the terms are read inline, a group inside calls this again.
    fn quick_chain(
        &mut self,
        slots: &mut Vec<Slot<'a>>,
        nest: usize,
        in_bracket: bool,
        first: Option<usize>,
    ) -> Option<usize> {
        let term = match first {
            Some(depth) => depth,
            None => self.quick_term(slots, nest, in_bracket)?,
        };
        // The `and` chain being read, and the group's `or` chain of finished ones.
        let mut and = Chain::new(slots, term);
        let mut or: Option<Chain> = None;
        loop {
            let joint = self.quick_joint()?;
            if joint == Joint::And {
                let term = self.quick_term(slots, nest, in_bracket)?;
                and.add(slots, term);
                continue;
            }
            let done = and.finish(slots, |first, len| SlotKind::And { first, len });
            match &mut or {
                Some(or) => or.add(slots, done),
                None => or = Some(Chain::new(slots, done)),
            }
            if joint == Joint::Close {
                return or.map(|or| or.finish(slots, |first, len| SlotKind::Or { first, len }));
            }
            let term = self.quick_term(slots, nest, in_bracket)?;
            and = Chain::new(slots, term);
        }
    }

    /// What follows a term, read as [`State::filter`] reads it.
    #[inline(always)]
    fn quick_joint(&mut self) -> Option<Joint> {
        self.skip_ws();
        let at = self.pos;
        let b = self.b();
        let Some(&c) = b.get(at) else {
            return Some(Joint::Close);
        };
        if c == b')' || c == b']' {
            return Some(Joint::Close);
        }
        if let Some(w) = word4(b, at) {
            if w | 0x0020_2020 == u32::from_le_bytes(*b"and ") {
                self.pos = at + 4;
                return Some(Joint::And);
            }
            if (w | 0x2020) & 0x00ff_ffff == u32::from_le_bytes(*b"or \0") {
                self.pos = at + 3;
                return Some(Joint::Or);
            }
        }
        let run = self.run();
        if run.eq_ignore_ascii_case("and") {
            Some(Joint::And)
        } else if run.eq_ignore_ascii_case("or") {
            Some(Joint::Or)
        } else {
            None
        }
    }

    /// A term: a leaf, `(filter)`, `not (filter)` or a value path, pushed; its depth.
    #[inline(always)]
    fn quick_term(
        &mut self,
        slots: &mut Vec<Slot<'a>>,
        nest: usize,
        in_bracket: bool,
    ) -> Option<usize> {
        self.skip_ws();
        let start = self.pos;
        let b = self.b();
        let c = *b.get(start)?;
        if c == b'(' {
            return self.quick_group(slots, nest, in_bracket);
        }
        // Most terms start with a name of letters only, followed by a space (a leaf) or
        // `[` (a value path): read it without sorting its bytes into classes. (`not`
        // followed by a space may open a group: that takes the path below.)
        let letters = letters_end(b, start);
        if let Some((attr, end)) = self.plain_path(start, letters) {
            // Most leaves are `attr op "text"`: ` op "` read as one word.
            if let Some(w) = word(b, end)
                && w & 0xff_ff00_00ff == u64::from_le_bytes(*b" \0\0 \"\0\0\0")
                && let Some(op) = two_letter_op(w >> 8)
            {
                let open = end + 5;
                let close = plain_end_inline(b, open);
                if b.get(close) == Some(&b'"') {
                    self.pos = close + 1;
                    self.count(start..self.pos).ok()?;
                    let text = cut(self.src, open, close);
                    push(
                        slots,
                        SlotKind::Compare(Comparison {
                            attr,
                            op,
                            value: CompValue::String(Cow::Borrowed(text)),
                        }),
                    );
                    return Some(1);
                }
            }
            self.pos = end;
            // (`FIRST`: with the string scan inlined.)
            self.attr_exp::<true>(
                attr,
                start,
                #[inline(always)]
                |leaf| push(slots, leaf),
            )
            .ok()?;
            return Some(1);
        }
        if letters > start {
            match b.get(letters) {
                // A name and a space that is not a leaf's is `not`: `not (`, as
                // `State::not_group` reads it.
                Some(b' ') if b.get(letters + 1) == Some(&b'(') => {
                    self.pos = letters + 1;
                    let depth = self.quick_group(slots, nest, in_bracket)?;
                    push(slots, SlotKind::Not);
                    return Some(depth + 1);
                }
                Some(b'[') if !in_bracket => {
                    let name = cut(self.src, start, letters);
                    if !name.eq_ignore_ascii_case("not") {
                        self.pos = letters;
                        let attr = AttrPath::from_parts(name, 0, name.len());
                        return self.quick_bracket(slots, attr, nest);
                    }
                }
                _ => {}
            }
        }
        let (run, classes) = self.run_classes_from(letters);
        if run.is_empty() {
            return None;
        }
        if run.eq_ignore_ascii_case("not") && self.not_group(start).ok()? {
            let depth = self.quick_group(slots, nest, in_bracket)?;
            push(slots, SlotKind::Not);
            return Some(depth + 1);
        }
        let attr = self.operand_path(run, classes, c, start).ok()?;
        if self.peek() == Some(b'[') {
            if in_bracket || attr.sub_attr().is_some() {
                return None;
            }
            return self.quick_bracket(slots, attr, nest);
        }
        self.attr_exp::<false>(
            attr,
            start,
            #[inline(always)]
            |leaf| push(slots, leaf),
        )
        .ok()?;
        Some(1)
    }

    /// `(filter)`, at the `(`: its depth (a group adds no node).
    fn quick_group(
        &mut self,
        slots: &mut Vec<Slot<'a>>,
        nest: usize,
        in_bracket: bool,
    ) -> Option<usize> {
        if nest >= self.max_depth.min(QUICK_NEST) {
            return None;
        }
        self.pos += 1;
        let depth = self.quick_chain(slots, nest + 1, in_bracket, None)?;
        if self.peek() != Some(b')') {
            return None;
        }
        self.pos += 1;
        Some(depth)
    }

    /// A value path's `[filter]` (and the Entra form's `.subAttr op value`), at the `[`,
    /// pushed with its attribute `attr`; its depth.
    fn quick_bracket(
        &mut self,
        slots: &mut Vec<Slot<'a>>,
        attr: AttrPath<'a>,
        nest: usize,
    ) -> Option<usize> {
        if nest >= self.max_depth.min(QUICK_NEST) {
            return None;
        }
        self.pos += 1;
        let depth = self.quick_chain(slots, nest + 1, true, None)?;
        if self.peek() != Some(b']') {
            return None;
        }
        self.pos += 1;
        let depth = if self.entra && self.peek() == Some(b'.') {
            self.entra_comparison(slots, depth).ok()?
        } else {
            depth
        };
        push(slots, SlotKind::ValuePath(attr));
        Some(depth + 1)
    }
}

/// A chain of terms being read: where its first and last terms' roots are in the buffer,
/// how many there are and the deepest one's depth.
struct Chain {
    first: usize,
    last: usize,
    len: u32,
    depth: usize,
}

impl Chain {
    /// A chain of one term: the buffer's last slot, `depth` deep.
    #[inline(always)]
    fn new(slots: &[Slot<'_>], depth: usize) -> Self {
        let at = slots.len().wrapping_sub(1);
        Chain {
            first: at,
            last: at,
            len: 1,
            depth,
        }
    }

    /// Adds the term just finished (the buffer's last slot, `depth` deep).
    #[inline(always)]
    fn add(&mut self, slots: &mut [Slot<'_>], depth: usize) {
        let at = slots.len().wrapping_sub(1);
        if let Some(prev) = slots.get_mut(self.last) {
            prev.next = at.wrapping_sub(self.last) as u32;
        }
        self.last = at;
        self.len += 1;
        self.depth = self.depth.max(depth);
    }

    /// Ends the chain: a term alone stays as it is; two or more get their node, made by
    /// `node` from how far back the first term is and how many there are. The depth of
    /// the chain's root.
    #[inline(always)]
    fn finish<'a>(
        self,
        slots: &mut Vec<Slot<'a>>,
        node: impl FnOnce(u32, u32) -> SlotKind<'a>,
    ) -> usize {
        if self.len == 1 {
            return self.depth;
        }
        let at = slots.len();
        push(slots, node(at.wrapping_sub(self.first) as u32, self.len));
        self.depth + 1
    }
}

/// Pushes a node.
#[inline(always)]
fn push<'a>(slots: &mut Vec<Slot<'a>>, kind: SlotKind<'a>) {
    slots.push(Slot::new(kind));
}

/// The eight bytes at `at` as a little-endian word (the first byte lowest), if there are
/// eight.
#[inline(always)]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..)?.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The four bytes at `at` as a little-endian word, if there are four.
#[inline(always)]
fn word4(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..)?.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The comparison operator spelled by the two lowest bytes of `w`, in any case.
#[inline(always)]
fn two_letter_op(w: u64) -> Option<CompareOp> {
    // `| 0x2020` lowercases letters and maps no other byte onto one.
    const fn key(op: &[u8; 2]) -> u16 {
        u16::from_le_bytes(*op)
    }
    Some(match (w as u16) | 0x2020 {
        k if k == key(b"eq") => CompareOp::Eq,
        k if k == key(b"ne") => CompareOp::Ne,
        k if k == key(b"co") => CompareOp::Co,
        k if k == key(b"sw") => CompareOp::Sw,
        k if k == key(b"ew") => CompareOp::Ew,
        k if k == key(b"gt") => CompareOp::Gt,
        k if k == key(b"lt") => CompareOp::Lt,
        k if k == key(b"ge") => CompareOp::Ge,
        k if k == key(b"le") => CompareOp::Le,
        _ => return None,
    })
}

//! The quick pass: a recursive-descent parser for filters that parse without error.
//!
//! [`State::filter`] handles every input and says precisely what is wrong with a bad one;
//! its explicit stack of open groups is what lets it do so without recursing, and what
//! costs it time. Most filters are valid and shallow, so [`Parser::parse`] first tries
//! this pass: the same reading of the same grammar, with one function per group and no
//! error reporting. It reads leaves, names, values and `and`/`or` with the very functions
//! the full parser uses. On anything it would have to
//! report (or does not handle), it gives up with `None`, and the caller parses the input
//! again with [`State::filter`], which finds the error.
//!
//! The pass goes one call deeper per open group ([`State::quick_chain`] reads a group),
//! and never beyond [`QUICK_NEST`] levels, whatever the nesting budget: deeper filters are
//! left to the full parser. In debug builds and under cargo-fuzz (`cfg(fuzzing)`),
//! [`Parser::parse`] checks every filter this pass builds against the full parser's.
//!
//! It is faster because each group is one call with its chains in locals (no frames to
//! save and restore), and because a name of letters is read by the eight-byte letter scan
//! alone ([`State::plain_path`]). Everything else it reads with the full parser's own
//! functions ([`State::attr_exp`], [`State::logic`], …).
//!
//! [`Parser::parse`]: super::Parser::parse

use super::{Chain, Groups, Logic, Nodes, Slot, SlotKind, State, cut, letters_end};
use crate::ast::AttrPath;

/// The deepest nesting of groups (`(`, `not (`, `[`) the quick pass reads.
pub(super) const QUICK_NEST: usize = 16;

/// What a term starts with, once [`State::quick_operand`] has read that far.
enum Term<'a> {
    /// A leaf, read and pushed.
    Leaf,
    /// `(`, not read.
    Group,
    /// `not (`, read up to the `(`.
    Not,
    /// A value path's attribute, read up to the `[`.
    ValuePath(AttrPath<'a>),
}

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
    pub(super) fn quick(&mut self, first: Option<Slot<'a>>) -> Option<Nodes<'a>> {
        // Room for about one node per 10 bytes of input, as in `State::filter`.
        let mut slots = Nodes::with_capacity(self.b().len() / 10 + 3);
        let depth = match first {
            Some(leaf) => {
                slots.push_parsed(leaf);
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
        slots: &mut Nodes<'a>,
        nest: usize,
        in_bracket: bool,
        first: Option<usize>,
    ) -> Option<usize> {
        let term = match first {
            Some(depth) => depth,
            None => self.quick_term(slots, nest, in_bracket)?,
        };
        let mut joint = self.quick_joint()?;
        if joint == Joint::Close {
            // A group of one term (a value path's single condition, a parenthesised leaf).
            return Some(term);
        }
        // The `and` chain being read, and the group's `or` chain of finished ones.
        let mut and = Linked::new(slots, term);
        let mut or: Option<Linked> = None;
        loop {
            if joint == Joint::And {
                let term = self.quick_term(slots, nest, in_bracket)?;
                and.add(slots, term);
                joint = self.quick_joint()?;
                continue;
            }
            let done = and.finish(slots, |first, len| SlotKind::And { first, len });
            match &mut or {
                Some(or) => or.add(slots, done),
                None => or = Some(Linked::new(slots, done)),
            }
            if joint == Joint::Close {
                return or.map(|or| or.finish(slots, |first, len| SlotKind::Or { first, len }));
            }
            let term = self.quick_term(slots, nest, in_bracket)?;
            and = Linked::new(slots, term);
            joint = self.quick_joint()?;
        }
    }

    /// What follows a term, read as [`State::filter`] reads it.
    #[inline(always)]
    fn quick_joint(&mut self) -> Option<Joint> {
        self.skip_ws();
        match self.peek() {
            None | Some(b')' | b']') => Some(Joint::Close),
            Some(_) => match self.logic() {
                Ok(Logic::And) => Some(Joint::And),
                Ok(Logic::Or) => Some(Joint::Or),
                Err(_) => None,
            },
        }
    }

    /// A term: a leaf, `(filter)`, `not (filter)` or a value path, pushed; its depth.
    #[inline(always)]
    fn quick_term(
        &mut self,
        slots: &mut Nodes<'a>,
        nest: usize,
        in_bracket: bool,
    ) -> Option<usize> {
        match self.quick_operand(slots, in_bracket)? {
            Term::Leaf => Some(1),
            Term::Group => self.quick_enclosed(slots, nest, in_bracket, b')'),
            Term::Not => {
                let depth = self.quick_enclosed(slots, nest, in_bracket, b')')?;
                push(slots, SlotKind::Not);
                Some(depth + 1)
            }
            Term::ValuePath(attr) => self.quick_bracket(slots, attr, nest),
        }
    }

    /// The start of a term: a leaf, read and pushed, or what opens the group the term is
    /// (the position then at its `(` or `[`).
    ///
    /// Inlined in optimised builds; out of line in debug builds, where its locals would
    /// otherwise stay on the stack of every nested group (the quick pass recurses through
    /// [`State::quick_term`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline(never))]
    fn quick_operand(&mut self, slots: &mut Nodes<'a>, in_bracket: bool) -> Option<Term<'a>> {
        self.skip_ws();
        let start = self.pos;
        let b = self.b();
        let c = *b.get(start)?;
        if c == b'(' {
            return Some(Term::Group);
        }
        // Most terms start with a name of letters only, followed by a space (a leaf) or
        // `[` (a value path): read it without sorting its bytes into classes.
        let letters = letters_end(b, start);
        let attr = match self.plain_path(start, letters) {
            Some((attr, end)) => {
                self.pos = end;
                attr
            }
            None => match self.quick_operand_path(start, letters, c, in_bracket)? {
                Ok(attr) => attr,
                Err(group) => return Some(group),
            },
        };
        // (`FIRST`: with the string scan inlined.)
        self.attr_exp::<true>(
            attr,
            start,
            #[inline(always)]
            |leaf| push(slots, leaf),
        )
        .ok()?;
        Some(Term::Leaf)
    }

    /// [`State::quick_operand`] for a term that does not start with a plain path (at
    /// `start`, whose first byte is `c` and whose leading letters end at `letters`): the
    /// leaf's attribute path (the position after it), or the group the term opens.
    #[inline(always)]
    fn quick_operand_path(
        &mut self,
        start: usize,
        letters: usize,
        c: u8,
        in_bracket: bool,
    ) -> Option<Result<AttrPath<'a>, Term<'a>>> {
        let b = self.b();
        if letters > start {
            match b.get(letters) {
                // A name and a space that is not a leaf's is `not`: `not (`, as
                // `State::not_group` reads it.
                Some(b' ') if b.get(letters + 1) == Some(&b'(') => {
                    self.pos = letters + 1;
                    return Some(Err(Term::Not));
                }
                Some(b'[') if !in_bracket => {
                    let name = cut(self.src, start, letters);
                    if !name.eq_ignore_ascii_case("not") {
                        self.pos = letters;
                        let attr = AttrPath::from_parts(name, 0, name.len());
                        return Some(Err(Term::ValuePath(attr)));
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
            return Some(Err(Term::Not));
        }
        let attr = self.operand_path(run, classes, c, start).ok()?;
        if self.peek() == Some(b'[') {
            if in_bracket || attr.sub_attr().is_some() {
                return None;
            }
            return Some(Err(Term::ValuePath(attr)));
        }
        Some(Ok(attr))
    }

    /// A group's opener (at the position), its content and its `closer`: the content's
    /// depth (`(filter)` adds no node).
    fn quick_enclosed(
        &mut self,
        slots: &mut Nodes<'a>,
        nest: usize,
        in_bracket: bool,
        closer: u8,
    ) -> Option<usize> {
        if nest >= self.max_depth.min(QUICK_NEST) {
            return None;
        }
        self.pos += 1;
        let depth = self.quick_chain(slots, nest + 1, in_bracket, None)?;
        if self.peek() != Some(closer) {
            return None;
        }
        self.pos += 1;
        Some(depth)
    }

    /// A value path's `[filter]` (and the Entra form's `.subAttr op value`), at the `[`,
    /// pushed with its attribute `attr`; its depth.
    fn quick_bracket(
        &mut self,
        slots: &mut Nodes<'a>,
        attr: AttrPath<'a>,
        nest: usize,
    ) -> Option<usize> {
        let depth = self.quick_enclosed(slots, nest, true, b']')?;
        let depth = if self.entra && self.peek() == Some(b'.') {
            self.entra_comparison(slots, depth).ok()?
        } else {
            depth
        };
        push(slots, SlotKind::value_path(attr));
        Some(depth + 1)
    }
}

/// A chain of terms being read: the full parser's [`Chain`] of links, and the deepest
/// term's depth.
struct Linked {
    links: Chain,
    depth: usize,
}

impl Linked {
    /// A chain of one term: the buffer's last slot, `depth` deep.
    #[inline(always)]
    fn new(slots: &mut Nodes<'_>, depth: usize) -> Self {
        let mut links = Chain::EMPTY;
        Groups::link(slots.as_mut_slice(), &mut links);
        Linked { links, depth }
    }

    /// Adds the term just finished (the buffer's last slot, `depth` deep).
    #[inline(always)]
    fn add(&mut self, slots: &mut Nodes<'_>, depth: usize) {
        Groups::link(slots.as_mut_slice(), &mut self.links);
        self.depth = self.depth.max(depth);
    }

    /// Ends the chain: a term alone stays as it is; two or more get their node, made by
    /// `node` from how far back the first term is and how many there are. The depth of
    /// the chain's root.
    #[inline(always)]
    fn finish<'a>(
        self,
        slots: &mut Nodes<'a>,
        node: impl FnOnce(u32, u32) -> SlotKind<'a>,
    ) -> usize {
        if self.links.len == 1 {
            return self.depth;
        }
        let at = slots.len() as u32;
        push(
            slots,
            node(at.wrapping_sub(self.links.first), self.links.len),
        );
        self.depth + 1
    }
}

/// Pushes a node.
#[inline(always)]
fn push<'a>(slots: &mut Nodes<'a>, kind: SlotKind<'a>) {
    slots.push_parsed(Slot::new(kind));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::Parser;
    use super::*;
    use crate::ast::Filter;

    /// What the quick pass makes of `input` on its own (as [`Parser::parse`] calls it):
    /// `None` where it leaves the input to the full parser.
    fn quick(p: &Parser, input: &str) -> Option<Filter<'static>> {
        p.check_len(input).ok()?;
        let mut st = State::new(p, input);
        let mut first = None;
        st.first_leaf(&mut first).ok()?;
        if first.is_some() {
            st.skip_ws();
        }
        st.quick(first)
            .map(|slots| Filter::from_slots(slots).into_owned())
    }

    /// Asserts that the quick pass reads `input` itself, as the full parser does.
    fn takes_quick_pass(p: &Parser, input: &str) {
        let q = quick(p, input);
        assert!(q.is_some(), "{input:?} left to the full parser");
        assert_eq!(q.as_ref(), p.parse_full(input).ok().as_ref(), "{input:?}");
    }

    /// `parse` (quick pass first) and the full parser agree on `input`, errors included.
    fn agree(p: &Parser, input: &str) {
        assert_eq!(p.parse(input), p.parse_full(input), "{input:?}");
    }

    #[test]
    fn the_common_shapes_take_the_quick_pass() {
        let strict = Parser::new();
        for input in [
            r#"userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J" and x pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z" and a eq 1 and b eq true or c eq null"#,
            r#"(a pr)"#,
            r#"((a pr) and ((b pr)))"#,
            r#"NOT (a pr) AND b Eq "x" OR c pr"#,
            "a pr\tand  b pr",
            r#"a eq "x\"y" and b pr"#,
            r#"not eq "x" and not pr"#,
            r#"not[type eq "x"] and b pr"#,
            r#"a pr and(b pr)"#,
            r#"emails[not (type eq "work")] and x pr"#,
        ] {
            takes_quick_pass(&strict, input);
            agree(&strict, input);
        }
        let tolerant = Parser::with_dialects();
        for input in [
            r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            r#"emails[type eq "work" and primary eq true].value pr or userName eq bjensen"#,
            "externalId eq 0a21f0f2 and id eq 54D382A4-2050",
        ] {
            takes_quick_pass(&tolerant, input);
        }
    }

    #[test]
    fn errors_and_deep_filters_go_to_the_full_parser() {
        let strict = Parser::new();
        for input in [
            "a pr and",
            "a pr b pr",
            "(a pr",
            "a pr)",
            "a[b pr",
            "a[b[c pr]]",
            "a.b[c pr]",
            r#"a eq 'x' and b pr"#,
            r#"a eq x and b pr"#,
            r#"emails[type eq "work"].value eq "x""#,
            "not a pr and b pr",
            "a pr and not b",
            "a pr and (b pr]",
            "a pr and [b pr]",
        ] {
            assert_eq!(quick(&strict, input), None, "{input:?}");
            assert!(strict.parse(input).is_err(), "{input:?}");
            agree(&strict, input);
        }
        // Deeper than the quick pass reads: the full parser, which accepts it.
        let deep = format!(
            "{}a pr{}",
            "(".repeat(QUICK_NEST + 1),
            ")".repeat(QUICK_NEST + 1)
        );
        assert_eq!(quick(&strict, &deep), None);
        assert!(strict.parse(&deep).is_ok());
        agree(&strict, &deep);
        let within = format!(
            "{}a pr{} and b pr",
            "(".repeat(QUICK_NEST),
            ")".repeat(QUICK_NEST)
        );
        assert!(quick(&strict, &within).is_some());
        agree(&strict, &within);
    }

    #[test]
    fn budgets_are_the_full_parsers() {
        // Depth: `a pr and (b pr or c pr)` is three levels deep.
        let input = "a pr and (b pr or c pr)";
        assert!(quick(&Parser::new().max_depth(3), input).is_some());
        assert_eq!(quick(&Parser::new().max_depth(2), input), None);
        for depth in 0..5 {
            agree(&Parser::new().max_depth(depth), input);
            agree(&Parser::new().max_depth(depth), "((((a pr))))");
        }
        // Comparisons.
        assert!(quick(&Parser::new().max_comparisons(3), input).is_some());
        assert_eq!(quick(&Parser::new().max_comparisons(2), input), None);
        agree(&Parser::new().max_comparisons(2), input);
        // Length is checked before either parser runs.
        agree(&Parser::new().max_len(5), input);
    }

    /// Words and separators that filters, almost-filters and garbage are made of.
    fn soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "a",
            "userName",
            "emails",
            "Emails",
            "not",
            "NOT",
            "and",
            "AND",
            "or",
            "Or",
            "pr",
            "eq",
            "EQ",
            "co",
            "gt",
            "lte",
            "name.givenName",
            "a.b.c",
            "value",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "\"x\"",
            "\"a\\\"b\"",
            "\"unterminated",
            "'x'",
            "1",
            "-2.5e3",
            "true",
            "null",
            "bare",
            "(",
            ")",
            "[",
            "]",
            ".",
            "$ref",
            "\u{e9}",
        ]);
        let gap = prop::sample::select(vec![" ", " ", " ", "", "  ", "\t"]);
        prop::collection::vec((token, gap), 1..24).prop_map(|parts| {
            parts
                .into_iter()
                .map(|(t, g)| format!("{t}{g}"))
                .collect::<String>()
        })
    }

    /// Valid filters in the printed form, with random case in the keywords.
    fn valid() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec!["a", "userName", "emails.value", "title", "x_1"]);
        let op = prop::sample::select(vec!["eq", "NE", "co", "Sw", "gt", "le"]);
        let value = prop::sample::select(vec!["\"x\"", "\"@example.com\"", "1", "true", "null"]);
        let leaf = prop_oneof![
            (name.clone(), op, value).prop_map(|(n, o, v)| format!("{n} {o} {v}")),
            name.prop_map(|n| format!("{n} pr")),
        ];
        leaf.prop_recursive(5, 40, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| format!("({f})")),
                inner.clone().prop_map(|f| format!("not ({f})")),
                (
                    inner.clone(),
                    prop::sample::select(vec![" and ", " AND ", " or ", " OR "]),
                    inner
                )
                    .prop_map(|(l, j, r)| format!("{l}{j}{r}")),
            ]
        })
    }

    proptest! {
        #[test]
        fn both_parsers_agree_on_soup(input in soup()) {
            agree(&Parser::new(), &input);
            agree(&Parser::with_dialects(), &input);
            agree(&Parser::new().max_depth(3).max_comparisons(4), &input);
        }

        #[test]
        fn valid_filters_take_the_quick_pass(input in valid()) {
            let strict = Parser::new();
            let q = quick(&strict, &input);
            prop_assert!(q.is_some(), "{:?} left to the full parser", input);
            let full = strict.parse_full(&input).ok();
            prop_assert_eq!(q.as_ref(), full.as_ref());
            // And in a value path.
            let bracketed = format!("emails[{input}] and b pr");
            let q = quick(&strict, &bracketed);
            prop_assert!(q.is_some(), "{:?} left to the full parser", bracketed);
            let full = strict.parse_full(&bracketed).ok();
            prop_assert_eq!(q.as_ref(), full.as_ref());
        }
    }
}

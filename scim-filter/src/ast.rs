//! The abstract syntax of SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).
//!
//! A [`Filter`] keeps all its nodes in one buffer; a user walks it through [`Filter::root`]
//! (a [`Node`], whose variants give [`FilterRef`] views of the children) to translate it
//! into another query language, and builds one with [`Filter::and`], [`Filter::compare`] and
//! the other constructors. The leaves are plain public data ([`Comparison`], [`AttrPath`],
//! [`CompValue`]). Strings are [`Cow`]s: a parsed filter borrows
//! names and unescaped string values from its input and allocates only for string values that
//! contained escapes. An [`AttrPath`] is one text (`urn:name.sub`) with the offsets that split
//! it, read through its accessors. [`Filter::into_owned`] detaches a filter from its input.
//!
//! Names keep the case they were written in; comparing them is the evaluator's job
//! (attribute names are case-insensitive in SCIM). `PartialEq` on these types is structural
//! and case-sensitive: `parse(&f.to_string()) == f` holds for every filter.

use std::borrow::Cow;
use std::mem::{self, ManuallyDrop};

/// A SCIM filter: the `FILTER` rule of RFC 7644 §3.4.2.2.
///
/// A filter is a tree kept flat: all its nodes are in one buffer (one allocation per
/// filter, none at all for a filter that is a single comparison or `pr`), children before
/// their parent, linked by offsets. Dropping it never recurses: it frees the buffer, after
/// one flat pass over it when some of its text is owned (a string value that had escapes,
/// text given to a builder as a `String`, [`Filter::into_owned`]). Because a filter frees
/// the text it owns itself, the input it borrows must outlive it up to its drop (the end of
/// its scope, or an explicit `drop`), not only up to its last use. Read it
/// through [`Filter::root`] (a [`Node`], whose variants give views of the children) or
/// [`Filter::as_ref`] (a [`FilterRef`]); build one with [`Filter::compare`],
/// [`Filter::present`], [`Filter::not`], [`Filter::and`], [`Filter::or`] and
/// [`Filter::value_path`].
///
/// `and` and `or` are n-ary: an unparenthesised chain `a or b or c` is one [`Node::Or`]
/// with three children, so a long chain is wide, not deep. Parentheses that group a chain
/// inside another chain of the same kind are kept as a nested node (`a and (b and c)` is an
/// `and` holding an `and`), and [`Display`](std::fmt::Display) prints every nested group in
/// parentheses, so printing and parsing again gives the same tree.
#[derive(Clone, PartialEq)]
pub struct Filter<'a> {
    repr: Repr<'a>,
}

/// A filter's nodes: a lone leaf in place, or the whole tree in post-order.
#[derive(Clone, PartialEq)]
enum Repr<'a> {
    Leaf(Lone<'a>),
    Tree(Nodes<'a>),
}

/// One node of a filter's buffer. Children come before their parent (post-order): the
/// child of a `not` or a value path is the slot just before it; the children of a chain are
/// linked from its first one through [`Slot::next`].
///
/// A slot has no drop glue: its leaf is held in a [`ManuallyDrop`], and the slot's owner,
/// [`Nodes`] or [`Lone`], frees the text of the leaves that own some. So building a node
/// and pushing it writes it where it goes (a value with drop glue must be kept addressable
/// while `Vec::push` may grow the buffer and unwind, so it is built aside and copied), and
/// a buffer whose text is all borrowed from the input is freed without a loop over it.
/// A bare slot that owns text and is dropped leaks it: slots are only made to be handed
/// to their owner at once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot<'a> {
    pub(crate) kind: SlotKind<'a>,
    /// How far ahead the next child of the same chain is (0: none).
    pub(crate) next: u32,
}

/// What a slot holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SlotKind<'a> {
    /// Made by [`SlotKind::compare`].
    Compare(ManuallyDrop<Comparison<'a>>),
    /// Made by [`SlotKind::present`].
    Present(ManuallyDrop<AttrPath<'a>>),
    /// The operand is the slot before.
    Not,
    /// `first`: how far back the first child is; `len`: how many children.
    And {
        first: u32,
        len: u32,
    },
    Or {
        first: u32,
        len: u32,
    },
    /// The filter is the slot before. Made by [`SlotKind::value_path`].
    ValuePath(ManuallyDrop<AttrPath<'a>>),
}

impl<'a> SlotKind<'a> {
    /// A comparison leaf.
    #[inline(always)]
    pub(crate) const fn compare(c: Comparison<'a>) -> Self {
        SlotKind::Compare(ManuallyDrop::new(c))
    }

    /// A `pr` leaf.
    #[inline(always)]
    pub(crate) const fn present(attr: AttrPath<'a>) -> Self {
        SlotKind::Present(ManuallyDrop::new(attr))
    }

    /// A value path's node.
    #[inline(always)]
    pub(crate) const fn value_path(attr: AttrPath<'a>) -> Self {
        SlotKind::ValuePath(ManuallyDrop::new(attr))
    }
}

impl<'a> Slot<'a> {
    #[inline(always)]
    pub(crate) const fn new(kind: SlotKind<'a>) -> Self {
        Slot { kind, next: 0 }
    }

    /// Whether the slot's leaf owns text (which its owner must free).
    #[inline(always)]
    fn owns_text(&self) -> bool {
        !self.paths_borrowed() || self.value_owns_text()
    }

    /// Whether the slot is a comparison whose value owns its text.
    #[inline(always)]
    fn value_owns_text(&self) -> bool {
        matches!(&self.kind, SlotKind::Compare(c) if c.value.owns_text())
    }

    /// Whether the slot's path, if it has one, borrows its text.
    #[inline(always)]
    fn paths_borrowed(&self) -> bool {
        match &self.kind {
            SlotKind::Compare(c) => c.attr.is_borrowed(),
            SlotKind::Present(a) | SlotKind::ValuePath(a) => a.is_borrowed(),
            SlotKind::Not | SlotKind::And { .. } | SlotKind::Or { .. } => true,
        }
    }

    /// Frees the slot's leaf, leaving `not` in its place.
    fn release(&mut self) {
        match mem::replace(&mut self.kind, SlotKind::Not) {
            SlotKind::Compare(c) => drop(ManuallyDrop::into_inner(c)),
            SlotKind::Present(a) | SlotKind::ValuePath(a) => drop(ManuallyDrop::into_inner(a)),
            SlotKind::Not | SlotKind::And { .. } | SlotKind::Or { .. } => {}
        }
    }

    /// The slot, with its leaf's text detached from the input.
    fn into_owned(self) -> Slot<'static> {
        let kind = match self.kind {
            SlotKind::Compare(c) => {
                let c = ManuallyDrop::into_inner(c);
                SlotKind::compare(Comparison {
                    attr: c.attr.into_owned(),
                    op: c.op,
                    value: c.value.into_owned(),
                })
            }
            SlotKind::Present(a) => SlotKind::present(ManuallyDrop::into_inner(a).into_owned()),
            SlotKind::ValuePath(a) => {
                SlotKind::value_path(ManuallyDrop::into_inner(a).into_owned())
            }
            SlotKind::Not => SlotKind::Not,
            SlotKind::And { first, len } => SlotKind::And { first, len },
            SlotKind::Or { first, len } => SlotKind::Or { first, len },
        };
        Slot {
            kind,
            next: self.next,
        }
    }
}

/// A filter's buffer of slots, which frees the text its leaves own.
///
/// `owns` is set when a slot that owns text is pushed (a string with escapes, a name given
/// to a builder as a `String`, [`Filter::into_owned`]); without it, dropping the buffer
/// only frees its memory.
#[derive(Debug, Clone)]
pub(crate) struct Nodes<'a> {
    slots: Vec<Slot<'a>>,
    owns: bool,
}

impl<'a> Nodes<'a> {
    /// An empty buffer with room for `capacity` slots.
    #[inline]
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Nodes {
            slots: Vec::with_capacity(capacity),
            owns: false,
        }
    }

    /// Appends a slot.
    #[inline(always)]
    pub(crate) fn push(&mut self, slot: Slot<'a>) {
        if slot.owns_text() {
            self.owns = true;
        }
        self.slots.push(slot);
    }

    /// Appends a slot the parser made. The parser borrows every path from its input (it
    /// makes no other), so only a comparison's value can own text: a string with escapes.
    ///
    /// (Checking the path too costs a fifth of the parse of a typical filter: it is not
    /// known at compile time, and the flag's update then sits between building the slot
    /// and writing it.)
    #[inline(always)]
    pub(crate) fn push_parsed(&mut self, slot: Slot<'a>) {
        debug_assert!(slot.paths_borrowed(), "the parser borrows every path");
        if slot.value_owns_text() {
            self.owns = true;
        }
        self.slots.push(slot);
    }

    /// How many slots there are.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slots.
    #[inline(always)]
    pub(crate) fn as_slice(&self) -> &[Slot<'a>] {
        &self.slots
    }

    /// The slots, to link them (a slot's leaf must not be replaced through this).
    #[inline(always)]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Slot<'a>] {
        &mut self.slots
    }

    /// Removes the last slot and hands it to the caller (who must give it an owner).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Slot<'a>> {
        self.slots.pop()
    }

    /// Moves all of `other`'s slots to the end of this buffer.
    fn append(&mut self, mut other: Nodes<'a>) {
        self.owns |= mem::take(&mut other.owns);
        self.slots.append(&mut other.slots);
    }

    /// Copies of `slots`.
    fn cloned(slots: &[Slot<'a>]) -> Self {
        let mut nodes = Nodes::with_capacity(slots.len());
        for slot in slots {
            nodes.push(slot.clone());
        }
        nodes
    }

    /// The buffer with all its text detached from the input.
    fn into_owned(mut self) -> Nodes<'static> {
        // (Taken out whole: this buffer is then empty, and its drop frees nothing.)
        let slots = mem::take(&mut self.slots);
        let mut owned = Nodes::with_capacity(slots.len());
        for slot in slots {
            owned.push(slot.into_owned());
        }
        owned
    }
}

impl Drop for Nodes<'_> {
    fn drop(&mut self) {
        if self.owns {
            for slot in &mut self.slots {
                slot.release();
            }
        }
    }
}

impl PartialEq for Nodes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.slots == other.slots
    }
}

/// A filter that is one leaf, which frees the text the leaf owns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lone<'a>(Slot<'a>);

impl<'a> Lone<'a> {
    /// Takes ownership of `slot`.
    #[inline(always)]
    pub(crate) const fn new(slot: Slot<'a>) -> Self {
        Lone(slot)
    }

    /// The slot, handed to the caller (who must give it an owner).
    #[inline(always)]
    pub(crate) fn take(mut self) -> Slot<'a> {
        mem::replace(&mut self.0, Slot::new(SlotKind::Not))
    }
}

impl Drop for Lone<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.0.owns_text() {
            self.0.release();
        }
    }
}

/// A borrowed view of one node of a [`Filter`] and the subtree under it: what
/// [`Node::Not`], the items of [`Terms`] and [`Node::ValuePath`] give. It prints
/// ([`Display`](std::fmt::Display)) and evaluates like the filter it is part of.
#[derive(Clone, Copy)]
pub struct FilterRef<'f, 'a> {
    slots: &'f [Slot<'a>],
    at: usize,
}

/// One node of a filter, with views of its children.
#[derive(Debug, Clone, Copy)]
pub enum Node<'f, 'a> {
    /// `attrPath compareOp compValue`, e.g. `userName eq "bjensen"`.
    Compare(&'f Comparison<'a>),
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(&'f AttrPath<'a>),
    /// `not (filter)`.
    Not(FilterRef<'f, 'a>),
    /// Filters joined by `and` (two or more in a parsed filter).
    And(Terms<'f, 'a>),
    /// Filters joined by `or` (two or more in a parsed filter).
    Or(Terms<'f, 'a>),
    /// `attrPath[valFilter]`: a filter over the elements of a (usually multi-valued) complex
    /// attribute, whose conditions must all hold within one element. The attribute's
    /// `sub_attr` is `None` in a parsed filter (the grammar puts none before `[`); the filter
    /// names sub-attributes of it and contains no further value path.
    ValuePath(&'f AttrPath<'a>, FilterRef<'f, 'a>),
}

/// The children of an `and` or `or` node, in written order.
#[derive(Clone, Copy)]
pub struct Terms<'f, 'a> {
    slots: &'f [Slot<'a>],
    at: usize,
    left: usize,
}

impl<'f, 'a> Iterator for Terms<'f, 'a> {
    type Item = FilterRef<'f, 'a>;

    #[inline]
    fn next(&mut self) -> Option<FilterRef<'f, 'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = self.at;
        let next = self.slots.get(at).map_or(0, |s| s.next as usize);
        self.at = at + next;
        Some(FilterRef {
            slots: self.slots,
            at,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Terms<'_, '_> {}

impl std::fmt::Debug for Terms<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(*self).finish()
    }
}

impl<'f, 'a> FilterRef<'f, 'a> {
    /// The buffer and the root's position in it (for the evaluator's walk).
    #[inline(always)]
    pub(crate) fn parts(self) -> (&'f [Slot<'a>], usize) {
        (self.slots, self.at)
    }

    /// The view of the slot at `at` of `slots`.
    #[inline(always)]
    pub(crate) fn new(slots: &'f [Slot<'a>], at: usize) -> Self {
        FilterRef { slots, at }
    }

    /// The node at the root of this subtree.
    #[inline]
    pub fn node(self) -> Node<'f, 'a> {
        let Some(slot) = self.slots.get(self.at) else {
            // Views are only made for slots that exist.
            return Node::And(Terms {
                slots: self.slots,
                at: 0,
                left: 0,
            });
        };
        let child = FilterRef {
            slots: self.slots,
            at: self.at.wrapping_sub(1),
        };
        match &slot.kind {
            SlotKind::Compare(c) => Node::Compare(c),
            SlotKind::Present(a) => Node::Present(a),
            SlotKind::Not => Node::Not(child),
            SlotKind::And { first, len } => Node::And(self.terms(*first, *len)),
            SlotKind::Or { first, len } => Node::Or(self.terms(*first, *len)),
            SlotKind::ValuePath(a) => Node::ValuePath(a, child),
        }
    }

    #[inline]
    fn terms(self, first: u32, len: u32) -> Terms<'f, 'a> {
        Terms {
            slots: self.slots,
            at: self.at.wrapping_sub(first as usize),
            left: len as usize,
        }
    }

    /// The subtree's nodes, children before parents.
    fn subtree(self) -> &'f [Slot<'a>] {
        let mut start = self.at;
        // The leftmost slot of a subtree is reached by following first children.
        loop {
            match self.slots.get(start).map(|s| &s.kind) {
                Some(SlotKind::Not | SlotKind::ValuePath(_)) => start = start.wrapping_sub(1),
                Some(SlotKind::And { first, len } | SlotKind::Or { first, len }) if *len > 0 => {
                    start = start.wrapping_sub(*first as usize);
                }
                _ => break,
            }
        }
        self.slots.get(start..=self.at).unwrap_or_default()
    }

    /// A copy of this subtree as a filter of its own.
    pub fn to_filter(self) -> Filter<'a> {
        let mut slots = Nodes::cloned(self.subtree());
        if let Some(root) = slots.as_mut_slice().last_mut() {
            root.next = 0;
        }
        Filter::from_slots(slots)
    }

    /// The depth of the subtree: 1 for a comparison or `pr`, one more for each enclosing
    /// `not`, `and`, `or` or value path. Computed without recursion.
    pub fn depth(self) -> usize {
        let slots = self.subtree();
        let mut depths: Vec<usize> = Vec::with_capacity(slots.len());
        for (i, slot) in slots.iter().enumerate() {
            let below = |back: usize| i.checked_sub(back).and_then(|j| depths.get(j).copied());
            let d = match &slot.kind {
                SlotKind::Compare(_) | SlotKind::Present(_) => 1,
                SlotKind::Not | SlotKind::ValuePath(_) => 1 + below(1).unwrap_or(0),
                SlotKind::And { first, len } | SlotKind::Or { first, len } => {
                    let mut j = i.wrapping_sub(*first as usize);
                    let mut max = 0;
                    for _ in 0..*len {
                        max = max.max(depths.get(j).copied().unwrap_or(0));
                        j += slots.get(j).map_or(0, |s| s.next as usize);
                    }
                    1 + max
                }
            };
            depths.push(d);
        }
        depths.last().copied().unwrap_or(0)
    }
}

impl<'a> Filter<'a> {
    /// A filter from its slots (post-order, the root last); a lone leaf is kept in place.
    pub(crate) fn from_slots(mut slots: Nodes<'a>) -> Self {
        if slots.len() == 1
            && let Some(leaf) = slots.pop()
        {
            return Filter {
                repr: Repr::Leaf(Lone::new(leaf)),
            };
        }
        Filter {
            repr: Repr::Tree(slots),
        }
    }

    /// A filter that is one leaf (a comparison or `pr`), without allocating.
    #[inline]
    pub(crate) const fn leaf(leaf: Lone<'a>) -> Self {
        Filter {
            repr: Repr::Leaf(leaf),
        }
    }

    /// The filter's nodes, children before parents, the root last.
    #[inline]
    fn slots(&self) -> &[Slot<'a>] {
        match &self.repr {
            Repr::Leaf(leaf) => std::slice::from_ref(&leaf.0),
            Repr::Tree(slots) => slots.as_slice(),
        }
    }

    /// The nodes, moved out.
    fn into_slots(self) -> Nodes<'a> {
        match self.repr {
            Repr::Leaf(leaf) => {
                let mut slots = Nodes::with_capacity(1);
                slots.push(leaf.take());
                slots
            }
            Repr::Tree(slots) => slots,
        }
    }

    /// A view of the whole filter.
    #[inline]
    pub fn as_ref(&self) -> FilterRef<'_, 'a> {
        let slots = self.slots();
        FilterRef {
            slots,
            at: slots.len().wrapping_sub(1),
        }
    }

    /// The root node.
    ///
    /// ```
    /// use scim_filter::{Node, parse};
    ///
    /// let f = parse(r#"userName eq "bjensen" and not (title pr)"#)?;
    /// let Node::And(mut terms) = f.root() else { panic!() };
    /// let Some(Node::Compare(c)) = terms.next().map(|t| t.node()) else { panic!() };
    /// assert_eq!(c.attr.name(), "userName");
    /// let Some(Node::Not(inner)) = terms.next().map(|t| t.node()) else { panic!() };
    /// assert_eq!(inner.to_string(), "title pr");
    /// # Ok::<(), scim_filter::ParseError>(())
    /// ```
    #[inline]
    pub fn root(&self) -> Node<'_, 'a> {
        self.as_ref().node()
    }

    /// `attr op value`.
    pub fn compare(attr: AttrPath<'a>, op: CompareOp, value: CompValue<'a>) -> Self {
        Filter::from(Comparison { attr, op, value })
    }

    /// `attr pr`.
    pub fn present(attr: AttrPath<'a>) -> Self {
        Filter::leaf(Lone::new(Slot::new(SlotKind::present(attr))))
    }

    /// `not (inner)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(inner: Filter<'a>) -> Self {
        let mut slots = inner.into_slots();
        slots.push(Slot::new(SlotKind::Not));
        Filter::from_slots(slots)
    }

    /// `attr[inner]`: a value path.
    pub fn value_path(attr: AttrPath<'a>, inner: Filter<'a>) -> Self {
        let mut slots = inner.into_slots();
        slots.push(Slot::new(SlotKind::value_path(attr)));
        Filter::from_slots(slots)
    }

    /// The terms joined by `and` (a parsed filter's chains have two or more).
    pub fn and(terms: impl IntoIterator<Item = Filter<'a>>) -> Self {
        Filter::chain(terms, true)
    }

    /// The terms joined by `or` (a parsed filter's chains have two or more).
    pub fn or(terms: impl IntoIterator<Item = Filter<'a>>) -> Self {
        Filter::chain(terms, false)
    }

    fn chain(terms: impl IntoIterator<Item = Filter<'a>>, and: bool) -> Self {
        let mut slots = Nodes::with_capacity(0);
        let mut first = None;
        let mut prev: Option<usize> = None;
        let mut len = 0u32;
        for term in terms {
            match term.repr {
                Repr::Leaf(leaf) => slots.push(leaf.take()),
                // The first term's buffer is reused, so wrapping a tree is not a copy.
                Repr::Tree(more) if slots.len() == 0 => slots = more,
                Repr::Tree(more) => slots.append(more),
            }
            let root = slots.len() - 1;
            if let Some(p) = prev
                && let Some(s) = slots.as_mut_slice().get_mut(p)
            {
                s.next = offset(root - p);
            }
            first.get_or_insert(root);
            prev = Some(root);
            len += 1;
        }
        let at = slots.len();
        let first = offset(at - first.unwrap_or(at));
        slots.push(Slot::new(if and {
            SlotKind::And { first, len }
        } else {
            SlotKind::Or { first, len }
        }));
        Filter {
            repr: Repr::Tree(slots),
        }
    }

    /// Detaches the filter from the input it borrows from (without recursion).
    pub fn into_owned(self) -> Filter<'static> {
        Filter {
            repr: match self.repr {
                Repr::Leaf(leaf) => Repr::Leaf(Lone::new(leaf.take().into_owned())),
                Repr::Tree(slots) => Repr::Tree(slots.into_owned()),
            },
        }
    }

    /// The depth of the tree: 1 for a comparison or `pr`, one more for each enclosing
    /// `not`, `and`, `or` or value path.
    pub fn depth(&self) -> usize {
        self.as_ref().depth()
    }

    /// The comparison, if the filter is one.
    pub fn as_compare(&self) -> Option<&Comparison<'a>> {
        match self.root() {
            Node::Compare(c) => Some(c),
            _ => None,
        }
    }
}

impl<'a> From<Comparison<'a>> for Filter<'a> {
    fn from(c: Comparison<'a>) -> Self {
        Filter::leaf(Lone::new(Slot::new(SlotKind::compare(c))))
    }
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.as_ref(), f)
    }
}

/// Like the filter's [`Node`]s: `And([Compare(..), Not(Present(..))])`. Recurses once per
/// level.
impl std::fmt::Debug for FilterRef<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.node() {
            Node::Compare(c) => f.debug_tuple("Compare").field(c).finish(),
            Node::Present(a) => f.debug_tuple("Present").field(a).finish(),
            Node::Not(inner) => f.debug_tuple("Not").field(&inner).finish(),
            Node::And(terms) => f.debug_tuple("And").field(&terms).finish(),
            Node::Or(terms) => f.debug_tuple("Or").field(&terms).finish(),
            Node::ValuePath(a, inner) => f.debug_tuple("ValuePath").field(a).field(&inner).finish(),
        }
    }
}

/// `attrPath compareOp compValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison<'a> {
    /// The attribute compared. Inside a value path it is relative to the value path's
    /// attribute (`type` in `emails[type eq "work"]`).
    pub attr: AttrPath<'a>,
    /// The operator.
    pub op: CompareOp,
    /// The literal the attribute is compared with.
    pub value: CompValue<'a>,
}

/// An attribute path: `[URI ":"] ATTRNAME ["." subAttr]`.
///
/// A URN prefix is split at the last colon before the attribute name, so in
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` the
/// [`urn`](AttrPath::urn) is `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
/// the [`name`](AttrPath::name) is `manager` and the [`sub_attr`](AttrPath::sub_attr) is
/// `value`. A path that is only a schema URN (such as
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) cannot be told apart from a
/// URN plus an attribute by the grammar; it parses as `urn` = `...:2.0` and `name` = `User`,
/// and [`AttrPath::full_urn`] gives back the whole text for resolution against a schema
/// registry.
///
/// The path is kept as one text (`urn:name.sub`, borrowed from the parsed input) and the
/// two offsets that split it, so that a filter node stays small; the accessors return the
/// parts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AttrPath<'a> {
    /// `[urn ":"] name ["." sub_attr]`.
    text: Cow<'a, str>,
    /// Where the name starts: 0 without a URN, else the URN's length plus one.
    name_start: u32,
    /// Where the name ends: the text's length without a sub-attribute, else the `.`.
    name_end: u32,
}

/// An offset into an attribute path's text. Paths longer than 4 GiB are not supported:
/// the parser rejects longer inputs, and the builders clamp (the accessors then return
/// empty parts instead of panicking).
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2): `attrPath / valuePath [subAttr]`.
///
/// - `name.givenName`: `attr` = `name` with `sub_attr` `givenName`, `filter` `None`;
/// - `members[value eq "2819c223"]`: `attr` = `members`, `filter` set;
/// - `emails[type eq "work"].value`: `attr` = `emails` with `sub_attr` `value`, `filter` set.
///   The sub-attribute applies to the elements the filter selects.
#[derive(Debug, Clone, PartialEq)]
pub struct Path<'a> {
    /// The attribute, and the sub-attribute addressed (after the filter if there is one).
    pub attr: AttrPath<'a>,
    /// The value filter selecting elements of a multi-valued attribute, if any.
    pub filter: Option<Filter<'a>>,
}

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

/// A comparison literal: `compValue` of RFC 7644 §3.4.2.2.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number, kept as written.
    Number(Number<'a>),
    /// A JSON string, unescaped.
    String(Cow<'a, str>),
}

/// A JSON number as written in a filter (RFC 8259 §6 syntax), e.g. `-1.5e3`.
///
/// The text is kept so that printing gives back what was parsed; [`Number::as_f64`] and
/// [`Number::as_i64`] read it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number<'a>(Cow<'a, str>);

impl<'a> Number<'a> {
    /// Wraps `text` if it is a JSON number (`-? int frac? exp?`), else `None`.
    pub fn new(text: impl Into<Cow<'a, str>>) -> Option<Self> {
        let text = text.into();
        is_json_number(&text).then_some(Number(text))
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an `f64` (the nearest one; huge exponents give infinity).
    pub fn as_f64(&self) -> f64 {
        // The text is a valid JSON number, which Rust's float syntax accepts.
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// The value as an `i64` if it is written as an integer (no fraction or exponent) that
    /// fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// Detaches the number from the input it borrows from.
    pub fn into_owned(self) -> Number<'static> {
        Number(Cow::Owned(self.0.into_owned()))
    }
}

impl From<i64> for Number<'static> {
    fn from(n: i64) -> Self {
        Number(Cow::Owned(n.to_string()))
    }
}

impl From<u64> for Number<'static> {
    fn from(n: u64) -> Self {
        Number(Cow::Owned(n.to_string()))
    }
}

/// Whether `s` is a number in RFC 8259 §6 syntax.
pub(crate) fn is_json_number(s: &str) -> bool {
    json_number_len(s.as_bytes()) == Some(s.len())
}

/// The length of the JSON number at the start of `b`, if one starts there.
pub(crate) fn json_number_len(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some(i)
}

impl CompareOp {
    /// Every operator, in the RFC's order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ];

    /// The operator's canonical (lower-case) spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// Reads an operator, case-insensitively (`EQ`, `Eq` and `eq` are all [`CompareOp::Eq`]).
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        let b = word.as_bytes();
        if b.len() != 2 {
            return None;
        }
        CompareOp::from_pair([b[0], b[1]])
    }

    /// Reads an operator from its two bytes, case-insensitively (what the parser reads).
    #[inline(always)]
    pub(crate) const fn from_pair(pair: [u8; 2]) -> Option<CompareOp> {
        // `| 0x20` lowercases a letter and maps no other byte onto one.
        Some(match [pair[0] | 0x20, pair[1] | 0x20] {
            [b'e', b'q'] => CompareOp::Eq,
            [b'n', b'e'] => CompareOp::Ne,
            [b'c', b'o'] => CompareOp::Co,
            [b's', b'w'] => CompareOp::Sw,
            [b'e', b'w'] => CompareOp::Ew,
            [b'g', b't'] => CompareOp::Gt,
            [b'l', b't'] => CompareOp::Lt,
            [b'g', b'e'] => CompareOp::Ge,
            [b'l', b'e'] => CompareOp::Le,
            _ => return None,
        })
    }

    /// Whether the operator orders values (`gt`, `lt`, `ge`, `le`).
    pub const fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le
        )
    }

    /// Whether the operator is a substring test (`co`, `sw`, `ew`).
    pub const fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl<'a> AttrPath<'a> {
    /// A path to the attribute `name` with no URN and no sub-attribute.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        let text = name.into();
        let end = offset(text.len());
        AttrPath {
            text,
            name_start: 0,
            name_end: end,
        }
    }

    /// A path over `text` split at the given offsets (the parser's constructor: `text`
    /// is `[urn ":"] name ["." sub]`, `name_start` is 0 or just after the URN's colon and
    /// `name_end` is the text's end or the `.` before the sub-attribute).
    pub(crate) fn from_parts(text: &'a str, name_start: usize, name_end: usize) -> Self {
        AttrPath {
            text: Cow::Borrowed(text),
            name_start: offset(name_start),
            name_end: offset(name_end),
        }
    }

    /// Sets the URN prefix (replacing any).
    pub fn with_urn(self, urn: impl Into<Cow<'a, str>>) -> Self {
        let urn = urn.into();
        let rest = self
            .text
            .get(self.name_start as usize..)
            .unwrap_or_default();
        let name_len = (self.name_end - self.name_start) as usize;
        let text = format!("{urn}:{rest}");
        AttrPath {
            name_start: offset(urn.len() + 1),
            name_end: offset(urn.len() + 1 + name_len),
            text: Cow::Owned(text),
        }
    }

    /// Sets the sub-attribute (replacing any).
    pub fn with_sub_attr(self, sub_attr: impl Into<Cow<'a, str>>) -> Self {
        let sub_attr = sub_attr.into();
        let head = self.text.get(..self.name_end as usize).unwrap_or_default();
        AttrPath {
            text: Cow::Owned(format!("{head}.{sub_attr}")),
            name_start: self.name_start,
            name_end: self.name_end,
        }
    }

    /// Removes the sub-attribute, if any.
    pub fn without_sub_attr(self) -> Self {
        let text = match self.text {
            Cow::Borrowed(t) => Cow::Borrowed(t.get(..self.name_end as usize).unwrap_or_default()),
            Cow::Owned(mut t) => {
                t.truncate(self.name_end as usize);
                Cow::Owned(t)
            }
        };
        AttrPath {
            text,
            name_start: self.name_start,
            name_end: self.name_end,
        }
    }

    /// The schema URN prefix, without the trailing colon, if one was written.
    #[inline]
    pub fn urn(&self) -> Option<&str> {
        match self.name_start {
            0 => None,
            n => self.text.get(..n as usize - 1),
        }
    }

    /// The attribute name (`ATTRNAME`, or `$ref`).
    #[inline]
    pub fn name(&self) -> &str {
        self.text
            .get(self.name_start as usize..self.name_end as usize)
            .unwrap_or_default()
    }

    /// The sub-attribute name after `.`, if any.
    #[inline]
    pub fn sub_attr(&self) -> Option<&str> {
        self.text.get(self.name_end as usize + 1..)
    }

    /// The whole path as written: `[urn ":"] name ["." sub_attr]`.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URN and the attribute name joined by `:` (the whole text before any `.subAttr`),
    /// for telling whether the path names a whole schema such as
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. `None` without a URN.
    pub fn full_urn(&self) -> Option<&str> {
        match self.name_start {
            0 => None,
            _ => self.text.get(..self.name_end as usize),
        }
    }

    /// Whether the path borrows its text (from the parsed input) rather than owning it.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.text, Cow::Borrowed(_))
    }

    /// Detaches the path from the input it borrows from.
    pub fn into_owned(self) -> AttrPath<'static> {
        AttrPath {
            text: Cow::Owned(self.text.into_owned()),
            name_start: self.name_start,
            name_end: self.name_end,
        }
    }
}

impl std::fmt::Debug for AttrPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttrPath")
            .field("urn", &self.urn())
            .field("name", &self.name())
            .field("sub_attr", &self.sub_attr())
            .finish()
    }
}

impl CompValue<'_> {
    /// Whether the value owns its text.
    #[inline(always)]
    fn owns_text(&self) -> bool {
        match self {
            CompValue::String(s) => matches!(s, Cow::Owned(_)),
            CompValue::Number(n) => matches!(n.0, Cow::Owned(_)),
            CompValue::Null | CompValue::Bool(_) => false,
        }
    }

    /// Detaches the value from the input it borrows from.
    pub fn into_owned(self) -> CompValue<'static> {
        match self {
            CompValue::Null => CompValue::Null,
            CompValue::Bool(b) => CompValue::Bool(b),
            CompValue::Number(n) => CompValue::Number(n.into_owned()),
            CompValue::String(s) => CompValue::String(Cow::Owned(s.into_owned())),
        }
    }
}

impl Path<'_> {
    /// Detaches the path from the input it borrows from.
    pub fn into_owned(self) -> Path<'static> {
        Path {
            attr: self.attr.into_owned(),
            filter: self.filter.map(Filter::into_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers() {
        for ok in [
            "0", "-0", "1", "-12", "1.5", "1e3", "1E+3", "-1.25e-7", "10",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.2", "NaN",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
        assert_eq!(json_number_len(b"12 and"), Some(2));
        assert_eq!(Number::new("2.5").map(|n| n.as_f64()), Some(2.5));
        assert_eq!(Number::new("42").and_then(|n| n.as_i64()), Some(42));
        assert_eq!(Number::new("4e2").and_then(|n| n.as_i64()), None);
    }

    #[test]
    fn operators_case_insensitive() {
        for op in CompareOp::ALL {
            assert_eq!(CompareOp::from_keyword(op.as_str()), Some(op));
            let upper = op.as_str().to_ascii_uppercase();
            assert_eq!(CompareOp::from_keyword(&upper), Some(op));
        }
        assert_eq!(CompareOp::from_keyword("lte"), None);
        assert_eq!(CompareOp::from_keyword("pr"), None);
    }

    #[test]
    fn attr_path_parts_from_one_text() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let built = AttrPath::new("manager")
            .with_sub_attr("value")
            .with_urn(ext);
        assert_eq!(built.urn(), Some(ext));
        assert_eq!(built.name(), "manager");
        assert_eq!(built.sub_attr(), Some("value"));
        assert_eq!(built.as_str(), format!("{ext}:manager.value"));
        assert!(!built.is_borrowed());
        // The parser's form (borrowed, split by offsets) equals the built one.
        let text = format!("{ext}:manager.value");
        let parsed = AttrPath::from_parts(&text, ext.len() + 1, ext.len() + 8);
        assert!(parsed.is_borrowed());
        assert_eq!(parsed, built);
        assert_eq!(parsed.clone().into_owned(), built);
        // Replacing and removing parts.
        let other = parsed.clone().with_urn("urn:x:y");
        assert_eq!(other.urn(), Some("urn:x:y"));
        assert_eq!(other.name(), "manager");
        assert_eq!(other.sub_attr(), Some("value"));
        let bare = parsed.without_sub_attr();
        assert!(bare.is_borrowed());
        assert_eq!(bare.sub_attr(), None);
        assert_eq!(bare.full_urn(), Some(format!("{ext}:manager").as_str()));
        assert_eq!(bare, AttrPath::new("manager").with_urn(ext));
        let owned = AttrPath::new(String::from("emails"))
            .with_sub_attr("value")
            .without_sub_attr();
        assert_eq!(owned, AttrPath::new("emails"));
        let plain = AttrPath::new("userName");
        assert_eq!(
            (plain.urn(), plain.sub_attr(), plain.full_urn()),
            (None, None, None)
        );
        assert_eq!(
            format!("{:?}", AttrPath::new("name").with_sub_attr("givenName")),
            r#"AttrPath { urn: None, name: "name", sub_attr: Some("givenName") }"#
        );
    }

    #[test]
    fn filter_nodes_stay_small() {
        // One comparison is moved whole through the parser's results; keep it compact.
        assert!(std::mem::size_of::<AttrPath<'_>>() <= 32);
        assert!(std::mem::size_of::<Slot<'_>>() <= 80);
        assert!(std::mem::size_of::<Filter<'_>>() <= 80);
    }

    fn pr(name: &str) -> Filter<'_> {
        Filter::present(AttrPath::new(name))
    }

    #[test]
    fn built_trees_read_back_through_the_views() {
        let eq = Filter::compare(
            AttrPath::new("type"),
            CompareOp::Eq,
            CompValue::String("work".into()),
        );
        let f = Filter::or([
            Filter::and([pr("a"), Filter::not(pr("b"))]),
            Filter::value_path(AttrPath::new("emails"), Filter::and([eq.clone(), pr("v")])),
            pr("c"),
        ]);
        assert_eq!(f.depth(), 4);
        let Node::Or(terms) = f.root() else {
            panic!("{f:?}")
        };
        assert_eq!(terms.len(), 3);
        let terms: Vec<FilterRef<'_, '_>> = terms.collect();
        let [first, second, third] = terms.as_slice() else {
            panic!()
        };
        assert_eq!(first.depth(), 3);
        assert_eq!(
            first.to_filter(),
            Filter::and([pr("a"), Filter::not(pr("b"))])
        );
        let Node::And(mut inner) = first.node() else {
            panic!()
        };
        assert!(
            matches!(inner.next().map(|t| t.node()), Some(Node::Present(a)) if a.name() == "a")
        );
        let Some(Node::Not(b)) = inner.next().map(|t| t.node()) else {
            panic!()
        };
        assert_eq!(b.to_filter(), pr("b"));
        assert!(inner.next().is_none());
        let Node::ValuePath(attr, vf) = second.node() else {
            panic!()
        };
        assert_eq!(attr.name(), "emails");
        assert_eq!(vf.to_filter(), Filter::and([eq.clone(), pr("v")]));
        assert_eq!(third.to_filter(), pr("c"));
        assert_eq!(eq.as_compare().map(|c| c.op), Some(CompareOp::Eq));
        assert_eq!(f.as_compare(), None);
        // Debug reads like the nodes.
        assert_eq!(
            format!("{:?}", Filter::not(pr("x"))),
            r#"Not(Present(AttrPath { urn: None, name: "x", sub_attr: None }))"#
        );
        // Detaching keeps the tree.
        assert_eq!(f.clone().into_owned(), f);
        // One chain of one term, and an empty one, are kept as built.
        assert_eq!(Filter::and([pr("a")]).depth(), 2);
        assert!(matches!(Filter::or([]).root(), Node::Or(t) if t.len() == 0));
    }

    /// A tree far deeper than any budget (only a builder can make one) is freed, measured
    /// and detached without recursion.
    #[test]
    fn deep_built_trees_drop_without_recursion() {
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                let mut f = pr("a");
                for i in 0..100_000 {
                    f = if i % 2 == 0 {
                        Filter::not(f)
                    } else {
                        Filter::and([f])
                    };
                }
                assert_eq!(f.depth(), 100_001);
                let owned = f.into_owned();
                drop(owned);
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn full_urn_joins() {
        let p =
            AttrPath::new("User").with_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0");
        assert_eq!(
            p.full_urn(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
    }
}

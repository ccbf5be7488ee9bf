//! String comparison for the filter operators, case-sensitive or not.
//!
//! Case-insensitive comparison folds both sides character by character with Unicode's
//! lowercase mapping (plus final sigma folded to sigma), which is what comparing the
//! `to_lowercase()` forms does, without building them. When both sides are ASCII (the common
//! case) the comparison works on bytes; only `co` on non-ASCII text allocates the folded
//! forms.

use std::cmp::Ordering;

use crate::ast::CompareOp;

/// A string literal of a comparison, with what was learned about it once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needle<'f> {
    pub(super) text: &'f str,
    pub(super) ascii: bool,
}

impl<'f> Needle<'f> {
    pub(super) fn new(text: &'f str) -> Self {
        Needle {
            text,
            ascii: text.is_ascii(),
        }
    }
}

/// One character folded for caseless comparison.
fn fold_char(c: char) -> impl DoubleEndedIterator<Item = char> {
    c.to_lowercase().map(|l| if l == 'ς' { 'σ' } else { l })
}

/// The caseless form of `s`, as an iterator.
fn folded(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(fold_char)
}

/// Applies `op` to `hay` (the attribute's value) and `needle` (the literal).
///
/// `op` is never `ne`: the evaluator turns `ne` into the negation of `eq`.
pub(super) fn compare(op: CompareOp, hay: &str, needle: Needle<'_>, case_exact: bool) -> bool {
    let lit = needle.text;
    if case_exact {
        return match op {
            CompareOp::Eq => hay == lit,
            CompareOp::Ne => hay != lit,
            CompareOp::Co => hay.contains(lit),
            CompareOp::Sw => hay.starts_with(lit),
            CompareOp::Ew => hay.ends_with(lit),
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                ordering_holds(op, hay.cmp(lit))
            }
        };
    }
    let ascii = needle.ascii && hay.is_ascii();
    match op {
        CompareOp::Eq => caseless_eq(hay, lit, ascii),
        CompareOp::Ne => !caseless_eq(hay, lit, ascii),
        CompareOp::Co => caseless_contains(hay, lit, ascii),
        CompareOp::Sw => caseless_starts_with(hay, lit, ascii),
        CompareOp::Ew => caseless_ends_with(hay, lit, ascii),
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            ordering_holds(op, caseless_cmp(hay, lit, ascii))
        }
    }
}

/// Whether `ord` (attribute compared with literal) satisfies the ordering operator `op`.
pub(super) fn ordering_holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn caseless_eq(a: &str, b: &str, ascii: bool) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    !ascii && folded(a).eq(folded(b))
}

fn caseless_cmp(a: &str, b: &str, ascii: bool) -> Ordering {
    if ascii {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        folded(a).cmp(folded(b))
    }
}

fn caseless_starts_with(hay: &str, lit: &str, ascii: bool) -> bool {
    if ascii {
        return hay
            .as_bytes()
            .get(..lit.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(lit.as_bytes()));
    }
    let mut h = folded(hay);
    folded(lit).all(|c| h.next() == Some(c))
}

fn caseless_ends_with(hay: &str, lit: &str, ascii: bool) -> bool {
    if ascii {
        return hay
            .len()
            .checked_sub(lit.len())
            .and_then(|start| hay.as_bytes().get(start..))
            .is_some_and(|h| h.eq_ignore_ascii_case(lit.as_bytes()));
    }
    let mut h = folded(hay).rev();
    folded(lit).rev().all(|c| h.next() == Some(c))
}

fn caseless_contains(hay: &str, lit: &str, ascii: bool) -> bool {
    if ascii {
        let (h, n) = (hay.as_bytes(), lit.as_bytes());
        let Some((&first, rest)) = n.split_first() else {
            return true;
        };
        let first = first.to_ascii_lowercase();
        let last_start = match h.len().checked_sub(n.len()) {
            Some(s) => s,
            None => return false,
        };
        return (0..=last_start).any(|i| {
            h[i].to_ascii_lowercase() == first && h[i + 1..i + n.len()].eq_ignore_ascii_case(rest)
        });
    }
    let hay: String = folded(hay).collect();
    let lit: String = folded(lit).collect();
    hay.contains(&lit)
}

/// Reads `true` or `false` in any case: the form identity providers send booleans in.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CompareOp::*;

    fn ci(op: CompareOp, hay: &str, lit: &str) -> bool {
        compare(op, hay, Needle::new(lit), false)
    }

    fn cs(op: CompareOp, hay: &str, lit: &str) -> bool {
        compare(op, hay, Needle::new(lit), true)
    }

    #[test]
    fn ascii_caseless() {
        assert!(ci(Eq, "BJensen", "bjensen"));
        assert!(!ci(Eq, "bjensen", "bjense"));
        assert!(ci(Ne, "bjensen", "bjense"));
        assert!(ci(Co, "bjensen@Example.com", "@EXAMPLE.COM"));
        assert!(ci(Co, "abc", ""));
        assert!(!ci(Co, "ab", "abc"));
        assert!(ci(Co, "aab", "ab"));
        assert!(ci(Sw, "Barbara", "bar"));
        assert!(!ci(Sw, "Ba", "bar"));
        assert!(ci(Ew, "Jensen", "SEN"));
        assert!(!ci(Ew, "en", "sen"));
        assert!(ci(Gt, "b", "A"));
        assert!(ci(Ge, "B", "b"));
        assert!(ci(Le, "B", "b"));
        assert!(!ci(Lt, "B", "b"));
        assert!(ci(Lt, "a", "B"));
    }

    #[test]
    fn case_exact() {
        assert!(!cs(Eq, "BJensen", "bjensen"));
        assert!(cs(Eq, "bjensen", "bjensen"));
        assert!(!cs(Co, "ABC", "b"));
        assert!(cs(Sw, "ABC", "AB"));
        assert!(!cs(Ew, "ABC", "bc"));
        // 'B' (0x42) sorts before 'a' (0x61) when case matters.
        assert!(cs(Lt, "B", "a"));
        assert!(!ci(Lt, "B", "a"));
    }

    #[test]
    fn unicode_caseless() {
        assert!(ci(Eq, "ÉLODIE", "élodie"));
        assert!(ci(Eq, "Straße", "STRAßE"));
        assert!(ci(Eq, "ΟΔΟΣ", "οδος"));
        // The Kelvin sign folds to an ASCII `k`.
        assert!(ci(Eq, "\u{212A}elvin", "kelvin"));
        assert!(ci(Co, "Zoë Ångström", "ÅNGS"));
        assert!(!ci(Co, "Zoë Ångström", "Angs"));
        assert!(ci(Sw, "Ångström", "åNG"));
        assert!(ci(Ew, "Ångström", "STRÖM"));
        assert!(!ci(Ew, "ström", "xström"));
        assert!(ci(Lt, "élodie", "ÉMILE"));
        assert!(ci(Gt, "Émile", "élodie"));
    }

    #[test]
    fn booleans_in_text() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}

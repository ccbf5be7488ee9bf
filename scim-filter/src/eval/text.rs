//! String comparison for the filter operators, case-sensitive or not.
//!
//! Case-insensitive comparison folds both sides character by character with Unicode's
//! lowercase mapping (plus final sigma folded to sigma), which is what comparing the
//! `to_lowercase()` forms does, without building them. When both sides are ASCII (the common
//! case) the comparison works on bytes; only `co` on non-ASCII text allocates the folded
//! forms.

use std::cmp::Ordering;

use crate::ast::CompareOp;

/// One character folded for caseless comparison.
fn fold_char(c: char) -> impl DoubleEndedIterator<Item = char> {
    c.to_lowercase().map(|l| if l == 'ς' { 'σ' } else { l })
}

/// The caseless form of `s`, as an iterator.
fn folded(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(fold_char)
}

/// Folds `s` for caseless comparison exactly as the evaluator compares strings that are not
/// `caseExact`: each character's Unicode lowercase mapping, with final sigma (`ς`) folded to
/// sigma (`σ`). Two strings are caselessly equal iff their folds are equal, and caseless
/// `co`, `sw`, `ew` and ordering are those of the folds. Stores use it for indexed columns
/// (a folded `userName`) so that SQL and in-memory evaluation agree.
///
/// ```
/// assert_eq!(scim_filter::fold("BJensen"), "bjensen");
/// assert_eq!(scim_filter::fold("ΟΔΥΣΣΕΎΣ"), scim_filter::fold("οδυσσεύς"));
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    out.extend(folded(s));
    out
}

/// Applies `op` to `hay` (the attribute's value) and `lit` (the literal).
pub(super) fn compare(op: CompareOp, hay: &str, lit: &str, case_exact: bool) -> bool {
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
    compare_caseless(op, hay, lit)
}

/// [`compare`] with `caseExact` false.
#[inline]
pub(super) fn compare_caseless(op: CompareOp, hay: &str, lit: &str) -> bool {
    match op {
        CompareOp::Eq => caseless_eq(hay, lit),
        CompareOp::Ne => !caseless_eq(hay, lit),
        _ => {
            let ascii = is_ascii(lit.as_bytes()) && is_ascii(hay.as_bytes());
            match op {
                CompareOp::Co => caseless_contains(hay, lit, ascii),
                CompareOp::Sw => caseless_starts_with(hay, lit, ascii),
                CompareOp::Ew => caseless_ends_with(hay, lit, ascii),
                _ => ordering_holds(op, caseless_cmp(hay, lit, ascii)),
            }
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

/// `a` and `b` equal once ASCII letters are lowercased (other bytes compare exactly), like
/// `eq_ignore_ascii_case`, eight bytes at a time.
#[inline]
pub(super) fn ascii_caseless_eq(a: &[u8], b: &[u8]) -> bool {
    eq_by_words(a, b, lower8)
}

/// How two names compare: ASCII case-insensitively equal, and if so, exactly equal too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameMatch {
    /// Different names.
    No,
    /// Equal but for ASCII case.
    Caseless,
    /// Byte for byte equal.
    Exact,
}

/// Compares two names in one pass, eight bytes at a time.
#[inline(always)]
pub(super) fn name_match(a: &[u8], b: &[u8]) -> NameMatch {
    let n = a.len();
    if n != b.len() {
        return NameMatch::No;
    }
    let mut exact = true;
    let mut same = |x: u64, y: u64| {
        if x == y {
            return true;
        }
        exact = false;
        lower8(x) == lower8(y)
    };
    let equal = if n < 8 {
        same(short_word(a), short_word(b))
    } else {
        let mut i = 0;
        let mut ok = true;
        while ok && i + 8 < n {
            ok = same(word_at(a, i), word_at(b, i));
            i += 8;
        }
        ok && same(word_at(a, n - 8), word_at(b, n - 8))
    };
    match (equal, exact) {
        (false, _) => NameMatch::No,
        (true, false) => NameMatch::Caseless,
        (true, true) => NameMatch::Exact,
    }
}

#[inline]
fn eq_by_words(a: &[u8], b: &[u8], map: impl Fn(u64) -> u64) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return map(short_word(a)) == map(short_word(b));
    }
    // Whole words, then the last eight bytes (overlapping the previous word if needed).
    let mut i = 0;
    while i + 8 < n {
        if map(word_at(a, i)) != map(word_at(b, i)) {
            return false;
        }
        i += 8;
    }
    map(word_at(a, n - 8)) == map(word_at(b, n - 8))
}

/// Whether `b` is ASCII, a word at a time (faster than `str::is_ascii` on short text).
#[inline]
pub(super) fn is_ascii(b: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = b.len();
    if n < 8 {
        return short_word(b) & HIGH == 0;
    }
    let mut i = 0;
    while i + 8 < n {
        if word_at(b, i) & HIGH != 0 {
            return false;
        }
        i += 8;
    }
    word_at(b, n - 8) & HIGH == 0
}

/// The eight bytes at `i` as a little-endian word (zero past the end, never reached).
#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    bytes
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Fewer than eight bytes as one word: the first and last two or four bytes, overlapping,
/// so that every byte is in the word; two inputs of the same length give equal words iff
/// they are equal.
#[inline]
fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    let two = |i: usize| {
        b.get(i..i + 2)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .map_or(0, |w| u64::from(u16::from_le_bytes(w)))
    };
    let four = |i: usize| {
        b.get(i..i + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    match n {
        0 => 0,
        1 => u64::from(b[0]),
        2 | 3 => two(0) | two(n - 2) << 16,
        _ => four(0) | four(n.saturating_sub(4)) << 32,
    }
}

/// Lowercases the ASCII capital letters among the eight bytes of `x`.
#[inline]
fn lower8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte, with its high bit cleared (so no carry crosses bytes): the high bit of the
    // sum is set iff the byte is at least `A`, or more than `Z`.
    let low = x & !HIGH;
    let at_least_a = low + ONES * (0x80 - u64::from(b'A'));
    let past_z = low + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = at_least_a & !past_z & !x & HIGH;
    x | (upper >> 2)
}

/// `a` (the attribute's value) and `b` (the literal) caselessly equal.
///
/// When the literal is ASCII, text of a length that cannot fold to it is told apart from the
/// lengths alone, without reading its bytes (which, for a resource just fetched, are often
/// not in cache yet): every character of `a` must fold to one ASCII character, and only
/// KELVIN SIGN (U+212A) does so from more than one byte (three), so `a` is
/// `b.len() + 2k` bytes long for some `k <= b.len()`.
fn caseless_eq(a: &str, b: &str) -> bool {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if ab.len() == bb.len() && ascii_caseless_eq(ab, bb) {
        return true;
    }
    if is_ascii(bb) {
        let Some(extra) = ab.len().checked_sub(bb.len()) else {
            return false;
        };
        if extra == 0 || extra % 2 != 0 || extra / 2 > bb.len() || !ab.contains(&0xE2) {
            // Equal lengths: a non-ASCII character would make `a` longer. Otherwise the
            // extra bytes must come from KELVIN SIGNs (E2 84 AA).
            return false;
        }
        return folded(a).eq(folded(b));
    }
    // A non-ASCII literal may fold like any text, ASCII included (`K` as KELVIN SIGN).
    folded(a).eq(folded(b))
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
            .is_some_and(|h| ascii_caseless_eq(h, lit.as_bytes()));
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
            .is_some_and(|h| ascii_caseless_eq(h, lit.as_bytes()));
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
        let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        let Some(last_start) = h.len().checked_sub(n.len()) else {
            return false;
        };
        return h[..=last_start]
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c == lower || c == upper)
            .any(|(i, _)| ascii_caseless_eq(&h[i + 1..i + n.len()], rest));
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
        compare(op, hay, lit, false)
    }

    fn cs(op: CompareOp, hay: &str, lit: &str) -> bool {
        compare(op, hay, lit, true)
    }

    /// The one non-ASCII character whose caseless form is ASCII.
    const KELVIN: char = '\u{212A}';

    #[test]
    fn only_kelvin_folds_to_ascii() {
        // What `caseless_eq`'s length test relies on, checked against this Rust's Unicode
        // tables: ASCII folds to one ASCII byte, and the only other character whose fold is
        // all ASCII is KELVIN SIGN, to `k`.
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let f: String = fold_char(c).collect();
            if c.is_ascii() {
                assert!(f.len() == 1 && f.is_ascii(), "{c:?}");
            } else if f.is_ascii() {
                assert_eq!((c, f.as_str()), (KELVIN, "k"));
            }
        }
    }

    #[test]
    fn caseless_eq_by_length() {
        assert!(ci(Eq, "\u{212A}", "k"));
        assert!(ci(Eq, "k", "\u{212A}"));
        assert!(ci(Eq, "KELVIN", "\u{212A}elvin"));
        assert!(!ci(Eq, "kelvins", "\u{212A}elvin"));
        assert!(ci(Eq, "\u{212A}elvin", "KELVIN"));
        assert!(ci(Eq, "\u{212A}\u{212A}", "kk"));
        assert!(!ci(Eq, "\u{212A}\u{212A}", "k"));
        assert!(!ci(Eq, "\u{212A}x", "kk"));
        assert!(!ci(Eq, "bjensen@example.com", "bjensen"));
        assert!(!ci(Eq, "bj", "bjensen"));
        assert!(!ci(Eq, "éa", "ea"));
        assert!(ci(Eq, "ÉA", "éa"));
        assert!(ci(Eq, "ΟΔΥΣΣΕΎΣ", "οδυσσεύς"));
        assert!(ci(Ne, "bjensen@example.com", "bjensen"));
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
    fn word_at_a_time_matches_std() {
        let samples: &[&[u8]] = &[
            b"",
            b"a",
            b"A",
            b"userName",
            b"USERNAME",
            b"UserName1",
            b"@[`{_\x7f",
            b"`{@[_\x7f",
            b"0123456789abcdefXYZ",
            b"0123456789ABCDEFxyz",
            b"\xc3\x89lodie",
            b"\xc3\xa9lodie",
            b"Z[",
            b"z{",
            b"hello world, HELLO",
            b"HELLO WORLD, hello",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(
                    ascii_caseless_eq(a, b),
                    a.eq_ignore_ascii_case(b),
                    "{a:?} {b:?}"
                );
            }
        }
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([byte; 8]);
            assert_eq!(
                lower8(word),
                u64::from_le_bytes([byte.to_ascii_lowercase(); 8]),
                "{byte}"
            );
        }
    }

    #[test]
    fn names_match_in_one_pass() {
        use NameMatch::*;
        for (a, b, want) in [
            ("userName", "userName", Exact),
            ("userName", "USERNAME", Caseless),
            ("userName", "userNam", No),
            ("userName", "userNamf", No),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "URN:ietf:params:scim:schemas:extension:enterprise:2.0:user",
                Caseless,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                Exact,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Usr_",
                No,
            ),
            ("", "", Exact),
            ("a_", "A\u{7f}", No),
        ] {
            assert_eq!(name_match(a.as_bytes(), b.as_bytes()), want, "{a} {b}");
        }
    }

    #[test]
    fn ascii_by_words() {
        for s in [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "0123456789abcdef0",
        ] {
            assert!(is_ascii(s.as_bytes()), "{s}");
        }
        for s in [
            "é",
            "abcdefé",
            "abcdefgé",
            "éabcdefgh",
            "abcdefghijklmnoé",
            "abcdefghé123456",
        ] {
            assert!(!is_ascii(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn booleans_in_text() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}

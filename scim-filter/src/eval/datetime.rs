//! `dateTime` values (RFC 7643 §2.3.5): xsd:dateTime text to an instant, parsed by `jiff`.
//!
//! Accepted: `YYYY-MM-DDThh:mm:ss`, an optional fraction of any length (digits past the
//! ninth are dropped: jiff keeps nanoseconds), and an optional offset (`Z` or `±hh:mm`); no
//! offset means UTC, as RFC 7643 §2.3.5 reads xsd:dateTime for SCIM.

use jiff::Timestamp;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;

/// Whether `s` starts like an xsd:dateTime (`dddd-dd-ddThh:mm:ss`): a cheap test that keeps
/// ordinary strings away from the date parser.
#[inline]
pub(super) fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 19 {
        return false;
    }
    let digit = |i: usize| b[i].is_ascii_digit();
    (0..4).all(digit)
        && b[4] == b'-'
        && (5..7).all(digit)
        && b[7] == b'-'
        && (8..10).all(digit)
        && matches!(b[10], b'T' | b't')
        && (11..13).all(digit)
        && b[13] == b':'
        && (14..16).all(digit)
        && b[16] == b':'
        && (17..19).all(digit)
}

/// The instant `s` names, if it is an xsd:dateTime.
pub(crate) fn parse(s: &str) -> Option<Timestamp> {
    if !looks_like_datetime(s) {
        return None;
    }
    let b = s.as_bytes();
    // Fractions longer than nanoseconds: keep nine digits (on the stack; dates are short).
    if b.get(19) == Some(&b'.') {
        let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 9 {
            let mut buf = [0u8; 48];
            let keep = &b[..29];
            let tail = &b[20 + digits..];
            let len = keep.len() + tail.len();
            let out = buf.get_mut(..len)?;
            out[..keep.len()].copy_from_slice(keep);
            out[keep.len()..].copy_from_slice(tail);
            return parse_pieces(std::str::from_utf8(out).ok()?);
        }
    }
    parse_pieces(s)
}

fn parse_pieces(s: &str) -> Option<Timestamp> {
    let pieces = Pieces::parse(s).ok()?;
    if pieces.time_zone_annotation().is_some() {
        return None;
    }
    let time = pieces.time()?;
    let offset = pieces.to_numeric_offset().unwrap_or(Offset::UTC);
    offset.to_timestamp(pieces.date().to_datetime(time)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<(i64, i32)> {
        parse(s).map(|t| (t.as_second(), t.subsec_nanosecond()))
    }

    #[test]
    fn forms() {
        let base = secs("2015-10-10T21:38:21Z").map(|(s, _)| s);
        assert!(base.is_some());
        assert_eq!(secs("2015-10-10T14:38:21-07:00").map(|(s, _)| s), base);
        assert_eq!(secs("2015-10-10T21:38:21").map(|(s, _)| s), base);
        assert_eq!(secs("2015-10-10t21:38:21z").map(|(s, _)| s), base);
        assert_eq!(secs("2015-10-10T23:38:21+02:00").map(|(s, _)| s), base);
        assert_eq!(
            secs("2015-10-10T14:38:21.8617979-07:00"),
            base.map(|s| (s, 861_797_900))
        );
        assert_eq!(
            secs("2015-10-10T21:38:21.123456789123Z"),
            base.map(|s| (s, 123_456_789))
        );
        assert_eq!(
            secs("2015-10-10T21:38:21.12345678901234567890123456789012345678901234567890Z"),
            base.map(|s| (s, 123_456_789))
        );
        assert_eq!(
            secs("2015-10-10T21:38:21.1234567891"),
            base.map(|s| (s, 123_456_789))
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "bjensen",
            "2015-10-10",
            "2015-10-10T14:38",
            "2015-13-10T14:38:21Z",
            "2015-02-30T14:38:21Z",
            "2015-10-10 14:38:21Z",
            "2015-10-10T14:38:21Z[UTC]",
            "2015-10-10T14:38:21Zjunk",
            "2015-10-10T14:38:21.Z",
            "2015-10-10T14:38:21.1234567890Zxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "２０15-10-10T14:38:21Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

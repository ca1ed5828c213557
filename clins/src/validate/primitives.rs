//! FHIR R4 primitive formats: the regular expressions of the specification
//! (<https://hl7.org/fhir/R4/datatypes.html#primitive>) plus the calendar (a month has the days
//! it has, February 29 only in leap years), which the regular expressions alone let through
//! (`1985-02-31` matches the `date` pattern).
//!
//! Written as small parsers rather than regexes: each check is exact, allocation-free and
//! tested on its own edge cases.

use serde_json::Value;

/// The primitive types the validator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Primitive {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    Date,
    /// A date, or a date with time to the second and a timezone.
    DateTime,
    /// A date with time to the second and a timezone.
    Instant,
    /// A JSON number.
    Decimal,
    /// Non-empty, no leading, trailing or double whitespace.
    Code,
    /// `[A-Za-z0-9\-\.]{1,64}`.
    Id,
    /// No whitespace (uri, url, canonical, oid, uuid).
    Uri,
}

impl Primitive {
    /// Whether `value` is a valid JSON representation of this type.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Primitive::Decimal, v) => v.is_number(),
            (_, Value::String(s)) => self.accepts_text(s),
            _ => false,
        }
    }

    fn accepts_text(self, s: &str) -> bool {
        match self {
            Primitive::Date => is_date(s),
            Primitive::DateTime => is_date_time(s),
            Primitive::Instant => is_instant(s),
            Primitive::Decimal => false,
            Primitive::Code => is_code(s),
            Primitive::Id => is_id(s),
            Primitive::Uri => !s.chars().any(char::is_whitespace),
        }
    }

    /// What a valid value looks like, in English and Japanese (never the value itself).
    pub(crate) fn expectation(self) -> (&'static str, &'static str) {
        match self {
            Primitive::Date => (
                "not a valid date (YYYY, YYYY-MM or YYYY-MM-DD, a day that exists)",
                "有効な日付ではありません（YYYY・YYYY-MM・YYYY-MM-DD、実在する日）",
            ),
            Primitive::DateTime => (
                "not a valid dateTime (a date, or YYYY-MM-DDThh:mm:ss with a timezone, a time that exists)",
                "有効な日時ではありません（日付、またはタイムゾーン付きの YYYY-MM-DDThh:mm:ss、実在する日時）",
            ),
            Primitive::Instant => (
                "not a valid instant (YYYY-MM-DDThh:mm:ss with a timezone, a time that exists)",
                "有効な瞬間(instant)ではありません（タイムゾーン付きの YYYY-MM-DDThh:mm:ss、実在する日時）",
            ),
            Primitive::Decimal => (
                "not a valid decimal (a JSON number)",
                "有効な数値ではありません（JSONの数値）",
            ),
            Primitive::Code => (
                "not a valid code (not empty, no leading, trailing or repeated whitespace)",
                "有効なコードではありません（空、前後の空白、連続した空白は不可）",
            ),
            Primitive::Id => (
                "not a valid id (1 to 64 of A-Z a-z 0-9 - .)",
                "有効なIDではありません（A-Z a-z 0-9 - . の1〜64文字）",
            ),
            Primitive::Uri => (
                "not a valid uri (no whitespace)",
                "有効なURIではありません（空白は不可）",
            ),
        }
    }
}

/// `n` ASCII digits at the start of `b`, as a number.
fn digits(b: &[u8], n: usize) -> Option<u32> {
    let d = b.get(..n)?;
    d.iter()
        .all(u8::is_ascii_digit)
        .then(|| d.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, a day that exists (year 0001 or later).
fn is_full_date(b: &[u8]) -> bool {
    if b.len() < 10 {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(b, 4), digits(&b[5..], 2), digits(&b[8..], 2)) else {
        return false;
    };
    b[4] == b'-'
        && b[7] == b'-'
        && y >= 1
        && (1..=12).contains(&m)
        && (1..=days_in_month(y, m)).contains(&d)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let year = || digits(b, 4).is_some_and(|y| y >= 1);
    match b.len() {
        4 => year(),
        7 => year() && b[4] == b'-' && digits(&b[5..], 2).is_some_and(|m| (1..=12).contains(&m)),
        10 => is_full_date(b),
        _ => false,
    }
}

fn is_date_time(s: &str) -> bool {
    (s.len() <= 10 && is_date(s)) || is_instant(s)
}

fn is_instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 11 && is_full_date(b) && b[10] == b'T' && is_time_with_zone(&b[11..])
}

/// `hh:mm:ss(.f+)?` and `Z` or `±hh:mm` (hours below 24, a leap second allowed, offsets up to
/// ±14:00).
fn is_time_with_zone(b: &[u8]) -> bool {
    if b.len() < 8 {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (digits(b, 2), digits(&b[3..], 2), digits(&b[6..], 2))
    else {
        return false;
    };
    if b[2] != b':' || b[5] != b':' || h > 23 || m > 59 || sec > 60 {
        return false;
    }
    let mut rest = &b[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        b"Z" => true,
        [sign, zone @ ..] if matches!(sign, b'+' | b'-') && zone.len() == 5 => {
            match (digits(zone, 2), zone[2], digits(&zone[3..], 2)) {
                (Some(14), b':', Some(0)) => true,
                (Some(zh), b':', Some(zm)) => zh <= 13 && zm <= 59,
                _ => false,
            }
        }
        _ => false,
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s
            .chars()
            .zip(s.chars().skip(1))
            .any(|(a, b)| a.is_whitespace() && b.is_whitespace())
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(p: Primitive, s: &str) -> bool {
        p.accepts(&json!(s))
    }

    #[test]
    fn dates_follow_the_pattern_and_the_calendar() {
        for good in [
            "1985",
            "1985-04",
            "1985-04-30",
            "2024-02-29",
            "2000-02-29",
            "0001-01-01",
        ] {
            assert!(ok(Primitive::Date, good), "{good}");
        }
        for bad in [
            "1985-13-45",
            "1985-13",
            "1985-00",
            "2023-02-29",
            "1900-02-29",
            "1985-04-31",
            "1985-04-00",
            "0000",
            "85-04-01",
            "1985-4-1",
            "19850401",
            "1985/04/01",
            "1985-04-01T10:00:00+09:00",
            "",
            "１９８５",
        ] {
            assert!(!ok(Primitive::Date, bad), "{bad}");
        }
        assert!(!Primitive::Date.accepts(&json!(1985)));
    }

    #[test]
    fn date_times_need_seconds_and_a_zone_when_they_have_a_time() {
        for good in [
            "2024-02-29",
            "2024",
            "2024-02",
            "2024-02-29T23:59:60Z",
            "2025-06-02T10:15:00.250+09:00",
            "2025-06-02T00:00:00-14:00",
            "2025-06-02T00:00:00+13:59",
            "2025-06-02T10:15:00.1Z",
        ] {
            assert!(ok(Primitive::DateTime, good), "{good}");
        }
        for bad in [
            "2023-02-29T10:00:00+09:00",
            "2025-06-02T24:00:00+09:00",
            "2025-06-02T10:60:00+09:00",
            "2025-06-02T10:15:61Z",
            "2025-06-02T10:15:00",
            "2025-06-02T10:15+09:00",
            "2025-06-02T10:15:00.+09:00",
            "2025-06-02T10:15:00+14:30",
            "2025-06-02T10:15:00+0900",
            "2025-06-02 10:15:00+09:00",
            "2025-06-02T10:15:00+09:00 ",
            "1985-13-45",
        ] {
            assert!(!ok(Primitive::DateTime, bad), "{bad}");
        }
    }

    #[test]
    fn instants_need_the_full_date_and_time() {
        assert!(ok(Primitive::Instant, "2024-02-29T10:15:00.250+09:00"));
        assert!(ok(Primitive::Instant, "2025-06-02T10:15:00Z"));
        for bad in [
            "2025-06-02",
            "2025",
            "2023-02-29T10:15:00Z",
            "2025-06-02T25:15:00Z",
            "2025-06-02T10:15:00",
        ] {
            assert!(!ok(Primitive::Instant, bad), "{bad}");
        }
    }

    #[test]
    fn decimals_are_json_numbers() {
        assert!(Primitive::Decimal.accepts(&json!(1.5)));
        assert!(Primitive::Decimal.accepts(&json!(-3)));
        assert!(!Primitive::Decimal.accepts(&json!("1.5")));
        assert!(!Primitive::Decimal.accepts(&json!(null)));
    }

    #[test]
    fn codes_ids_and_uris() {
        for good in ["final", "1", "a b", "電子カルテ"] {
            assert!(ok(Primitive::Code, good), "{good}");
        }
        for bad in ["", " final", "final ", "a  b", "a\tb\tc "] {
            assert!(!ok(Primitive::Code, bad), "{bad:?}");
        }
        assert!(!Primitive::Code.accepts(&json!(1)));
        for good in ["P0001", "a-b.c", &"x".repeat(64)] {
            assert!(ok(Primitive::Id, good), "{good}");
        }
        for bad in ["", "a_b", "患者1", "a b", &"x".repeat(65)] {
            assert!(!ok(Primitive::Id, bad), "{bad}");
        }
        for good in ["http://jpfhir.jp/fhir/core", "urn:uuid:1234", ""] {
            assert!(ok(Primitive::Uri, good), "{good}");
        }
        for bad in ["http://x y", " urn:oid:1"] {
            assert!(!ok(Primitive::Uri, bad), "{bad}");
        }
    }
}

//! A calendar month in Japan Standard Time: the report's period, and the JST day of an instant.
//!
//! All day and month boundaries of the quality figures are JST (+09:00) midnights, whatever the
//! machine's timezone.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, TimeZone};

/// A month, `YYYY-MM`, in JST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    first: NaiveDate,
}

/// `--month` was not `YYYY-MM`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("month must be YYYY-MM (e.g. 2026-04), got {0:?} / 月は YYYY-MM 形式で指定してください")]
pub struct BadMonth(pub String);

impl FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Self, BadMonth> {
        let bad = || BadMonth(s.chars().take(20).collect());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Month { first })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

impl Month {
    fn next_first(self) -> NaiveDate {
        self.first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX)
    }

    /// 00:00 JST of the first day, unix ms.
    pub fn start_ms(self) -> i64 {
        midnight_ms(self.first)
    }

    /// 00:00 JST of the first day of the next month, unix ms (exclusive end).
    pub fn end_ms(self) -> i64 {
        midnight_ms(self.next_first())
    }

    /// The JST month containing the instant `ms` (unix ms).
    pub fn containing(ms: i64) -> Month {
        let day = jst_date(ms);
        Month {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    /// Every day of the month.
    pub fn days(self) -> Vec<NaiveDate> {
        let end = self.next_first();
        self.first.iter_days().take_while(|d| *d < end).collect()
    }
}

fn midnight_ms(d: NaiveDate) -> i64 {
    let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    tsunagi_clins::time::jst()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// The JST calendar day of an instant (unix ms).
pub fn jst_date(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tsunagi_clins::time::jst()).date_naive())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_jst_midnights() {
        let m: Month = "2026-04".parse().unwrap();
        assert_eq!(m.to_string(), "2026-04");
        // 2026-04-01T00:00+09:00 = 2026-03-31T15:00Z.
        assert_eq!(m.start_ms(), 1_774_969_200_000);
        assert_eq!(m.end_ms() - m.start_ms(), 30 * 86_400_000);
        assert_eq!(m.days().len(), 30);
        assert_eq!(jst_date(m.start_ms() - 1).to_string(), "2026-03-31");
        assert_eq!(jst_date(m.start_ms()).to_string(), "2026-04-01");
        assert_eq!(jst_date(m.end_ms() - 1).to_string(), "2026-04-30");
        let dec: Month = "2025-12".parse().unwrap();
        assert_eq!(dec.days().len(), 31);
        assert_eq!(dec.end_ms(), "2026-01".parse::<Month>().unwrap().start_ms());
        assert_eq!("2024-02".parse::<Month>().unwrap().days().len(), 29);
    }

    #[test]
    fn the_month_of_an_instant_starts_at_jst_midnight() {
        // 2025-01-01T00:30+09:00 = 2024-12-31T15:30Z.
        let t = 1_735_659_000_000;
        assert_eq!(Month::containing(t).start_ms(), 1_735_657_200_000);
        assert_eq!(Month::containing(t).to_string(), "2025-01");
    }

    #[test]
    fn only_yyyy_mm_is_accepted() {
        for bad in [
            "2026-4",
            "2026-13",
            "26-04",
            "2026/04",
            "",
            "2026-04-01",
            "abcd-ef",
            "+202-04",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }
}

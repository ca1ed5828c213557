//! Time in Japan: bundle timestamps are written in JST (+09:00), which has no daylight saving.

/// Japan Standard Time.
pub fn jst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jst_is_nine_hours_ahead_of_utc() {
        let epoch = chrono::DateTime::UNIX_EPOCH.with_timezone(&jst());
        assert_eq!(epoch.to_rfc3339(), "1970-01-01T09:00:00+09:00");
    }
}

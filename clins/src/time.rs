//! Time in Japan: bundle timestamps are written in JST (+09:00), which has no daylight saving.

/// Japan Standard Time's offset from UTC, in seconds (+09:00). The one JST constant: day and
/// month boundaries in the agent are computed from it too.
pub const JST_OFFSET_SECONDS: i32 = 9 * 3600;

/// Japan Standard Time.
pub fn jst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(JST_OFFSET_SECONDS).expect("+09:00 is a valid offset")
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

//! The agent's wall clock: unix milliseconds, the unit every stored time uses.
//!
//! One function so that the store, the sender, the operations surface and the CLI read the same
//! clock; day and month boundaries in Japan are `tsunagi_clins::time`'s.

/// Milliseconds since the Unix epoch (UTC), now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2025_and_in_milliseconds() {
        // 2025-01-01T00:00:00Z in ms; a seconds clock would be a thousand times smaller.
        assert!(now_ms() > 1_735_689_600_000);
    }
}

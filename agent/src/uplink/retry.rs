//! When to try again after a failed delivery: capped exponential backoff with jitter, and no limit
//! on the number of attempts (an item is never given up on because of transient failures; only a
//! permanent rejection stops it).
//!
//! Invariants of [`RetryPolicy::delay`]:
//! - the result never exceeds `max`, except to honour a longer `Retry-After`;
//! - a `Retry-After` is honoured (never retry earlier than asked) up to [`RETRY_AFTER_CAP`];
//! - before jitter, the delay is non-decreasing in the attempt number.

use std::time::Duration;

use super::UplinkError;

/// The longest `Retry-After` we honour; a server asking for more gets this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Backoff parameters; build with [`RetryPolicy::new`] or from a `RetryConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: f64,
}

impl RetryPolicy {
    /// The longest any item can be told to wait: the backoff cap or the `Retry-After` cap.
    pub fn longest_wait(&self) -> Duration {
        self.max.max(RETRY_AFTER_CAP)
    }

    /// `initial` > 0, `max` >= `initial`, `multiplier` >= 1 and finite, `jitter` in 0..=1.
    pub fn new(
        initial: Duration,
        max: Duration,
        multiplier: f64,
        jitter: f64,
    ) -> Result<Self, UplinkError> {
        let bad = |field, reason: String| Err(UplinkError::Config { field, reason });
        if initial.is_zero() {
            return bad("uplink.retry.initial_ms", "must be > 0".into());
        }
        if max < initial {
            return bad(
                "uplink.retry.max_secs",
                format!("must be >= initial ({} ms)", initial.as_millis()),
            );
        }
        if !(multiplier.is_finite() && (1.0..=100.0).contains(&multiplier)) {
            return bad(
                "uplink.retry.multiplier",
                format!("must be 1.0..=100.0, got {multiplier}"),
            );
        }
        if !(0.0..=1.0).contains(&jitter) {
            return bad(
                "uplink.retry.jitter",
                format!("must be 0.0..=1.0, got {jitter}"),
            );
        }
        Ok(RetryPolicy {
            initial,
            max,
            multiplier,
            jitter,
        })
    }

    /// The delay before the next attempt, after `attempt` consecutive failures (1 = the first
    /// failure; 0 is treated as 1). `retry_after` is what the server asked for, if anything.
    ///
    /// The base is `initial * multiplier^(attempt-1)` capped at `max`; jitter then removes a
    /// random fraction of up to `jitter` of it (so the result lies in `base*(1-jitter) ..= base`).
    /// A `Retry-After` longer than that wins, capped at [`RETRY_AFTER_CAP`].
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl rand::Rng,
    ) -> Duration {
        let base = self.base(attempt);
        let cut: f64 = self.jitter * rng.random::<f64>();
        let jittered = base.mul_f64((1.0 - cut).clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => jittered.max(asked.min(RETRY_AFTER_CAP)),
            None => jittered,
        }
    }

    /// The delay before jitter for `attempt` consecutive failures.
    pub fn base(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1024) as i32;
        let secs = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs).min(self.max)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn policy(initial_ms: u64, max_secs: u64, multiplier: f64, jitter: f64) -> RetryPolicy {
        RetryPolicy::new(
            Duration::from_millis(initial_ms),
            Duration::from_secs(max_secs),
            multiplier,
            jitter,
        )
        .unwrap()
    }

    #[test]
    fn doubles_from_initial_until_the_cap() {
        let p = policy(500, 300, 2.0, 0.0);
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(p.delay(0, None, &mut rng), Duration::from_millis(500));
        assert_eq!(p.delay(1, None, &mut rng), Duration::from_millis(500));
        assert_eq!(p.delay(2, None, &mut rng), Duration::from_secs(1));
        assert_eq!(p.delay(3, None, &mut rng), Duration::from_secs(2));
        assert_eq!(p.delay(11, None, &mut rng), Duration::from_secs(300));
        assert_eq!(p.delay(u32::MAX, None, &mut rng), Duration::from_secs(300));
    }

    #[test]
    fn retry_after_is_honoured_but_capped_at_an_hour() {
        let p = policy(500, 300, 2.0, 0.5);
        let mut rng = StdRng::seed_from_u64(2);
        let d = p.delay(1, Some(Duration::from_secs(3)), &mut rng);
        assert_eq!(d, Duration::from_secs(3));
        let d = p.delay(1, Some(Duration::from_secs(86_400)), &mut rng);
        assert_eq!(d, RETRY_AFTER_CAP);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ms = Duration::from_millis;
        assert!(RetryPolicy::new(ms(0), ms(10), 2.0, 0.1).is_err());
        assert!(RetryPolicy::new(ms(10), ms(5), 2.0, 0.1).is_err());
        assert!(RetryPolicy::new(ms(10), ms(50), 0.5, 0.1).is_err());
        assert!(RetryPolicy::new(ms(10), ms(50), f64::NAN, 0.1).is_err());
        assert!(RetryPolicy::new(ms(10), ms(50), 2.0, -0.1).is_err());
        assert!(RetryPolicy::new(ms(10), ms(50), 2.0, 1.1).is_err());
    }

    fn any_policy() -> impl Strategy<Value = RetryPolicy> {
        (1u64..10_000, 0u64..3_600, 1.0f64..10.0, 0.0f64..=1.0).prop_map(
            |(initial_ms, extra_secs, mult, jitter)| {
                let initial = Duration::from_millis(initial_ms);
                RetryPolicy::new(
                    initial,
                    initial + Duration::from_secs(extra_secs),
                    mult,
                    jitter,
                )
                .unwrap()
            },
        )
    }

    proptest! {
        #[test]
        fn never_exceeds_the_cap_without_retry_after(
            p in any_policy(), attempt in any::<u32>(), seed in any::<u64>()
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let d = p.delay(attempt, None, &mut rng);
            prop_assert!(d <= p.max);
            prop_assert!(d >= p.base(attempt).mul_f64(1.0 - p.jitter).saturating_sub(Duration::from_nanos(1)));
        }

        #[test]
        fn base_grows_and_stays_within_initial_and_max(p in any_policy(), attempt in 1u32..200) {
            prop_assert!(p.base(attempt + 1) >= p.base(attempt));
            prop_assert!(p.base(attempt) >= p.initial);
            prop_assert!(p.base(attempt) <= p.max);
        }

        #[test]
        fn honours_retry_after_up_to_an_hour(
            p in any_policy(), attempt in any::<u32>(), seed in any::<u64>(),
            asked_secs in 0u64..100_000
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let asked = Duration::from_secs(asked_secs);
            let d = p.delay(attempt, Some(asked), &mut rng);
            prop_assert!(d >= asked.min(RETRY_AFTER_CAP));
            prop_assert!(d <= p.max.max(asked.min(RETRY_AFTER_CAP)));
        }
    }
}

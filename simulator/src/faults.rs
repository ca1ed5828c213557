//! Fault injection: what can go wrong between the agent and the national platform.
//!
//! `FaultSpec` is parsed from a comma-separated SPEC string (`503=0.2,latency=50,seed=7`) and
//! printed back in the same form. `FaultDice` turns a spec into one decision per
//! `POST /clins/v1/bundles` request, using a seedable RNG so tests are reproducible.
//!
//! Keys: `503=RATE`, `429=RATE`, `retry-after=SECS`, `latency=MS`, `reset=RATE`, `hang=RATE`,
//! `first503=N`, `accept-then-reset=RATE`, `wrong-cert` (start-up only), `seed=N`.
//! RATE is a probability in 0..=1.

use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A SPEC string that does not parse; names the offending key, never guesses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("unknown fault key `{0}`")]
    UnknownKey(String),
    #[error("fault key `{0}` needs a value (`{0}=...`)")]
    MissingValue(String),
    #[error("fault key `{0}` takes no value")]
    UnexpectedValue(String),
    #[error("fault key `{key}`: `{value}` is not {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}

/// The faults applied to bundle submissions. `Default` = no faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Probability of answering 503 with an OperationOutcome.
    pub rate_503: f64,
    /// Probability of answering 429 with `Retry-After`.
    pub rate_429: f64,
    /// Value of the `Retry-After` header on 429 (seconds).
    pub retry_after_secs: u64,
    /// Delay before answering any submission.
    pub latency: Duration,
    /// Probability of closing the connection without answering (after reading the request).
    pub rate_reset: f64,
    /// Probability of never answering (connection held until the client gives up).
    pub rate_hang: f64,
    /// The first N submissions (since start or since the faults were last set) answer 503.
    pub first_503: u64,
    /// Probability of storing a valid bundle as accepted, then closing without answering.
    pub rate_accept_then_reset: f64,
    /// Present the wrong CA's server certificate (read only when the simulator starts).
    pub wrong_cert: bool,
    /// RNG seed; `None` = seeded from the OS.
    pub seed: Option<u64>,
}

impl FaultSpec {
    /// Parses a SPEC string; an empty string means no faults.
    pub fn parse(spec: &str) -> Result<FaultSpec, FaultSpecError> {
        let mut f = FaultSpec::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (item, None),
            };
            let need = || value.ok_or_else(|| FaultSpecError::MissingValue(key.into()));
            match key {
                "503" => f.rate_503 = rate(key, need()?)?,
                "429" => f.rate_429 = rate(key, need()?)?,
                "retry-after" => f.retry_after_secs = int(key, need()?)?,
                "latency" => f.latency = Duration::from_millis(int(key, need()?)?),
                "reset" => f.rate_reset = rate(key, need()?)?,
                "hang" => f.rate_hang = rate(key, need()?)?,
                "first503" => f.first_503 = int(key, need()?)?,
                "accept-then-reset" => f.rate_accept_then_reset = rate(key, need()?)?,
                "seed" => f.seed = Some(int(key, need()?)?),
                "wrong-cert" => match value {
                    None => f.wrong_cert = true,
                    Some(_) => return Err(FaultSpecError::UnexpectedValue(key.into())),
                },
                _ => return Err(FaultSpecError::UnknownKey(key.into())),
            }
        }
        Ok(f)
    }

    /// True when no fault is set.
    pub fn is_empty(&self) -> bool {
        FaultSpec {
            seed: None,
            ..self.clone()
        } == FaultSpec::default()
    }
}

fn rate(key: &str, value: &str) -> Result<f64, FaultSpecError> {
    match value.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(FaultSpecError::BadValue {
            key: key.into(),
            value: value.into(),
            expected: "a rate between 0 and 1",
        }),
    }
}

fn int(key: &str, value: &str) -> Result<u64, FaultSpecError> {
    value.parse::<u64>().map_err(|_| FaultSpecError::BadValue {
        key: key.into(),
        value: value.into(),
        expected: "a non-negative integer",
    })
}

impl fmt::Display for FaultSpec {
    /// Prints the SPEC form; `FaultSpec::parse(&f.to_string()) == Ok(f)`.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let mut r = |k: &str, v: f64| {
            if v > 0.0 {
                parts.push(format!("{k}={v}"));
            }
        };
        r("503", self.rate_503);
        r("429", self.rate_429);
        r("reset", self.rate_reset);
        r("hang", self.rate_hang);
        r("accept-then-reset", self.rate_accept_then_reset);
        if self.retry_after_secs > 0 {
            parts.push(format!("retry-after={}", self.retry_after_secs));
        }
        if !self.latency.is_zero() {
            parts.push(format!("latency={}", self.latency.as_millis()));
        }
        if self.first_503 > 0 {
            parts.push(format!("first503={}", self.first_503));
        }
        if self.wrong_cert {
            parts.push("wrong-cert".into());
        }
        if let Some(s) = self.seed {
            parts.push(format!("seed={s}"));
        }
        write!(out, "{}", parts.join(","))
    }
}

/// What to do with one submission, decided before it is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Process normally.
    None,
    /// Answer 503 without processing.
    Unavailable,
    /// Answer 429 with `Retry-After: secs` without processing.
    TooMany { retry_after_secs: u64 },
    /// Close the connection without answering, without processing.
    Reset,
    /// Never answer, without processing.
    Hang,
    /// Process; if the bundle is newly accepted, close the connection without answering.
    AcceptThenReset,
}

/// Rolls the dice of a `FaultSpec`, one `decide` per submission.
///
/// Invariant: the sequence of decisions depends only on the spec (with its seed) and the number
/// of calls since the spec was set.
pub struct FaultDice {
    spec: FaultSpec,
    rng: StdRng,
    posts: u64,
}

impl FaultDice {
    pub fn new(spec: FaultSpec) -> FaultDice {
        let rng = match spec.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        FaultDice {
            spec,
            rng,
            posts: 0,
        }
    }

    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// The delay to apply before answering the next submission.
    pub fn latency(&self) -> Duration {
        self.spec.latency
    }

    /// Decides the fate of the next submission. Every rate is rolled every time, in a fixed
    /// order, so one fault's rate does not shift the others' sequence.
    pub fn decide(&mut self) -> Fault {
        self.posts += 1;
        let s = &self.spec;
        let rolls: [f64; 5] = std::array::from_fn(|_| self.rng.random::<f64>());
        if self.posts <= s.first_503 {
            Fault::Unavailable
        } else if rolls[0] < s.rate_hang {
            Fault::Hang
        } else if rolls[1] < s.rate_reset {
            Fault::Reset
        } else if rolls[2] < s.rate_503 {
            Fault::Unavailable
        } else if rolls[3] < s.rate_429 {
            Fault::TooMany {
                retry_after_secs: s.retry_after_secs,
            }
        } else if rolls[4] < s.rate_accept_then_reset {
            Fault::AcceptThenReset
        } else {
            Fault::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_key() {
        let f = FaultSpec::parse(
            "503=0.5, 429=0.25,retry-after=3,latency=40,reset=0.1,hang=0.05,first503=2,\
             accept-then-reset=1,wrong-cert,seed=9",
        )
        .unwrap();
        assert_eq!(
            f,
            FaultSpec {
                rate_503: 0.5,
                rate_429: 0.25,
                retry_after_secs: 3,
                latency: Duration::from_millis(40),
                rate_reset: 0.1,
                rate_hang: 0.05,
                first_503: 2,
                rate_accept_then_reset: 1.0,
                wrong_cert: true,
                seed: Some(9),
            }
        );
        assert_eq!(FaultSpec::parse(&f.to_string()), Ok(f));
    }

    #[test]
    fn empty_spec_is_no_faults() {
        assert_eq!(FaultSpec::parse(""), Ok(FaultSpec::default()));
        assert!(FaultSpec::parse(" , ").unwrap().is_empty());
        assert!(FaultSpec::parse("seed=3").unwrap().is_empty());
        assert!(!FaultSpec::parse("latency=1").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            FaultSpec::parse("503=0.1,bogus=1"),
            Err(FaultSpecError::UnknownKey("bogus".into()))
        );
        let e = FaultSpec::parse("503=1.5").unwrap_err();
        assert!(e.to_string().contains("`503`"), "{e}");
        assert_eq!(
            FaultSpec::parse("latency"),
            Err(FaultSpecError::MissingValue("latency".into()))
        );
        assert_eq!(
            FaultSpec::parse("wrong-cert=1"),
            Err(FaultSpecError::UnexpectedValue("wrong-cert".into()))
        );
        assert!(FaultSpec::parse("first503=-1").is_err());
        assert!(FaultSpec::parse("reset=NaN").is_err());
    }

    #[test]
    fn first503_then_normal() {
        let mut d = FaultDice::new(FaultSpec::parse("first503=2,seed=1").unwrap());
        assert_eq!(d.decide(), Fault::Unavailable);
        assert_eq!(d.decide(), Fault::Unavailable);
        assert_eq!(d.decide(), Fault::None);
    }

    #[test]
    fn same_seed_same_decisions() {
        let spec = FaultSpec::parse("503=0.3,reset=0.2,429=0.2,seed=42").unwrap();
        let (mut a, mut b) = (FaultDice::new(spec.clone()), FaultDice::new(spec));
        let xs: Vec<Fault> = (0..200).map(|_| a.decide()).collect();
        let ys: Vec<Fault> = (0..200).map(|_| b.decide()).collect();
        assert_eq!(xs, ys);
        assert!(xs.contains(&Fault::Unavailable) && xs.contains(&Fault::None));
    }

    #[test]
    fn rate_one_always_fires() {
        let mut d = FaultDice::new(FaultSpec::parse("429=1,retry-after=7").unwrap());
        for _ in 0..20 {
            assert_eq!(
                d.decide(),
                Fault::TooMany {
                    retry_after_secs: 7
                }
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = FaultSpec::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_keyish_input(
            s in "((503|429|retry-after|latency|reset|hang|first503|seed|wrong-cert|x)(=[-0-9.eE]{0,6})?,?){0,6}"
        ) {
            if let Ok(f) = FaultSpec::parse(&s) {
                prop_assert_eq!(FaultSpec::parse(&f.to_string()), Ok(f));
            }
        }
    }
}

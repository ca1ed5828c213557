//! JP-CLINS for tsunagi: the pure stages of processing.
//!
//! Canonical records (from `tsunagi-adapters`) go in; checked JP-CLINS bundles, held items and
//! each coded item's mapping outcome come out:
//!
//! - [`map`]: the map stage: national masters and the hospital's mapping table in memory, the
//!   decision for each received code ([`map::Outcome`]), and [`map::Mapper`], which answers the
//!   builder's [`map::Terminology`] questions and records each item's outcome.
//! - [`build`]: JP_Bundle_CLINS from FHIR inputs and canonical records, the three documents,
//!   deletions; asks a [`map::Terminology`] for national codes and a
//!   [`build::PatientDirectory`] for patients earlier inputs brought.
//! - [`validate`]: the JP-CLINS rules a bundle must pass before it is queued.
//! - [`processing`]: [`process`], map → build → validate for one input, the one entry point
//!   the agent's processor, `tsunagi inspect --bundles` and the benchmark call.
//! - [`time`]: Japan Standard Time, the timezone of every bundle timestamp.
//!
//! The rule of this crate is in its `Cargo.toml`: no database, network or async runtime. The
//! agent loads terminology and patients and passes them in, so the daemon, `tsunagi inspect
//! --bundles`, the benchmarks and vendors' tools all run the same code on the same values.

pub mod build;
pub mod map;
pub mod processing;
pub mod time;
pub mod validate;

pub use processing::{process, Decision};

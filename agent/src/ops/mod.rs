//! The local operations surface: `/healthz`, `/readyz`, `/metrics` (Prometheus text) and a
//! status page for hospital IT (`/`, Japanese by default, `/?lang=en`), on HTTP bound to
//! 127.0.0.1 by default, with optional TLS and a bearer token for remote access.
//!
//! ```text
//! daemon ──sets──▶ Readiness, Counters ──▶ OpsListener ──▶ /readyz /metrics /
//!                  store (fresh read connection per request) ─┘
//! ```
//!
//! Invariants:
//! - Nothing served carries patient data: metrics are counts and times labelled with fixed
//!   vocabularies and configured names (every label value passes [`redact::label`]); free text
//!   shown on the page passes [`redact::scrub`]. No handler reads raw inputs or bundle bodies.
//! - A non-loopback address is served only with TLS and a token ([`config::OpsConfig::problems`]).
//! - The surface never writes to the store; `/readyz` opens a write transaction and rolls it back.
//!
//! Where things are: `config` (`[ops]`), `readiness` (what the daemon sets), `checks` (readiness
//! verdict), `snapshot` (store reads), `metrics` (exposition), `page` (status page), `redact`,
//! `server` (routes, token, TLS).

pub mod certificates;
mod checks;
pub mod config;
mod metrics;
mod page;
mod readiness;
pub(crate) use crate::redact;
mod server;
mod snapshot;

/// What the fleet report (`crate::fleet`) reuses: the readiness checks and the JST day.
pub(crate) use checks::{run as run_checks, Checks};
pub use config::OpsConfig;
pub use readiness::{Counters, Readiness};
pub use server::{exposition, OpsError, OpsListener, OpsState};
pub(crate) use snapshot::jst_day_start;

#[cfg(test)]
mod server_tests;

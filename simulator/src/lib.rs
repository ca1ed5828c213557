//! `tsunagi-sim`: a simulator of the national 電子カルテ情報共有サービス (CLINS) intake.
//!
//! # The protocol is OUR ASSUMPTION
//! The real CLINS Web API specification is distributed only to registered vendors. Everything
//! below is what tsunagi assumes until that spec is available; the transport parts live in
//! their own modules (`https`, `shared_folder`) so they can be swapped without touching the
//! checks (`checks`), the storage (`ledger`) or the decision logic (`intake`).
//!
//! ## Online route: HTTPS with mutual TLS (`https`)
//! - TLS 1.2/1.3 (rustls); the client must present a certificate signed by the configured
//!   client CA, otherwise the handshake is refused. HTTP/1.1 and HTTP/2 (ALPN).
//! - `POST /clins/v1/bundles`, body = one JP-CLINS Bundle (`application/fhir+json`), header
//!   `Idempotency-Key` (required, 1..=128 of `[A-Za-z0-9_-]`).
//!   - `201 Created` + `X-Receipt-Id: <uuid>` + OperationOutcome (information): accepted; the
//!     body was stored durably before the answer.
//!   - `200 OK` + the same `X-Receipt-Id` + `X-Duplicate: true`: the key was already accepted
//!     (also after a simulator restart); nothing is stored again.
//!   - `400 Bad Request`: key missing/malformed or body not JSON.
//!   - `422 Unprocessable Entity`: rules broken; OperationOutcome with one issue per rule,
//!     `severity=error`, `code=invalid`, `details.text = "<RULE-KEY>: <message>"`,
//!     `expression = [<path>]`. Messages never contain patient values.
//!   - `429` (+ `Retry-After`) / `503` / dropped connection / no answer: injected faults
//!     (`faults`), meaning "try again later with the same key".
//! - A Bundle with the same `Bundle.identifier.value` as an earlier one replaces it; a Bundle
//!   holding only the Patient means "delete everything under this identifier".
//! - `GET /stats`: JSON [`Stats`].
//!
//! ## Offline route: shared folder via the 資格確認端末 (`shared_folder`)
//! Requests as files `ROOT/req/<key>.json`, results as `ROOT/res/<key>.result.json`; see that
//! module for the layout.
//!
//! ## Admin port (plain HTTP, loopback only; `admin`)
//! `GET /stats`, `GET /faults` (SPEC string), `PUT /faults` (body = SPEC string).

pub mod admin;
pub mod checks;
pub mod durable;
pub mod faults;
pub mod fixtures;
pub mod https;
pub mod intake;
pub mod ledger;
pub mod outcome;
pub mod pki;
pub mod shared_folder;
mod sim;

#[cfg(test)]
mod net_tests;

pub use faults::{FaultSpec, FaultSpecError};
pub use pki::{PkiError, ServerTls, TestPki};
pub use sim::{start, RunningSim, SimConfig, SimError};

use serde::{Deserialize, Serialize};

/// Counters of bundle submissions since start (HTTPS and shared folder together).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Every submission, including those answered by an injected fault.
    pub received: u64,
    /// Newly accepted and stored.
    pub accepted: u64,
    /// Answered 400 or 422.
    pub rejected: u64,
    /// Key already accepted; answered with the earlier receipt.
    pub duplicates: u64,
}

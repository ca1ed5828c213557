//! End-to-end tests: the real `tsunagi` binary against the platform simulator, on loopback, with
//! real files, a real SQLite database and real HTTPS (mTLS). One test binary; each module says
//! what belongs in it. Helpers are in `util.rs`.
//!
//! Tests are named after the behaviour they prove; those from issue 2's acceptance list carry its
//! letter, e.g. `a_n_files_are_accepted_exactly_once`.

mod util;

/// Delivery through the Web API route: the happy path and each kind of failure.
mod delivery;

/// kill -9 at random moments: nothing accepted is lost or sent twice.
mod crash;

/// TLS: the agent refuses a server it does not trust.
mod tls;

/// The shared-folder route (資格確認端末経由方式).
mod shared_folder;

/// The free-space reserve pauses and resumes intake.
mod disk;

/// HL7 v2 in: MLLP and SS-MIX2 storages through the real binary.
mod hl7;

/// FHIR over HTTP (`[[source.fhir]]`): real FHIR clients, bad requests, the disk reserve.
mod fhir_http;

/// MLLP beyond loopback: stalled connections cannot lock a sender out; exposure rules.
mod mllp_exposure;

/// Fleet reporting over OpAMP: tsunagi-fleet, the official protobufs, a third-party client.
mod fleet;

/// The command line: check-config, status, queue.
mod cli;

/// The operations surface: /metrics through a real parser, the status page in Chromium, no
/// patient data in logs, metrics, pages or stderr.
mod ops_page;

/// Codes to national masters: SS-MIX2 records mapped, gaps suggested, fixes replayed.
mod mapping;

/// `inspect --bundles` and the daemon build the same bundles.
mod inspect_identity;

/// A database removed under the running agent: no acknowledgements, unready, refused restart.
mod store_loss;

/// Tried as a new user would (issue 9): relative paths, the demo's banner and plain logs,
/// `report` on a sandbox directory, every problem of a config file.
mod first_run;

/// Links never lead a source out of its root; skipped and empty inputs leave a trace.
#[cfg(unix)] // symbolic links and FIFOs are made with Unix calls
mod symlinks;

/// Documents (referral, discharge summary, checkup report) built to pass the official profiles.
mod documents;
/// Exec plugins: records delivered, exactly once across kill -9, misbehaviour contained (issue 14).
mod exec_plugins;
/// An official FHIR package loaded as a master (issue 11, part 2).
mod fhir_package;
/// Declarative table adapters: CSV and fixed-width exports by TOML spec (issue 14, part 2).
mod tables;
/// OTLP metrics push decoded by the official opentelemetry-proto protobufs (issue 13, part 2).
mod telemetry;

/// `tsunagi doctor` on the demo sandbox's config (issue 15, part 6).
#[cfg(unix)] // the sandbox is stopped with SIGTERM
mod doctor;
/// Signed self-update (issue 15): the sandbox's refusal and verification, rollback of a new
/// version that never becomes ready.
mod update;

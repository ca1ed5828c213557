//! `[telemetry]`: push the agent's metrics to an OpenTelemetry Collector over OTLP/HTTP.
//!
//! ```toml
//! [telemetry]
//! otlp_endpoint = "https://collector.example.jp:4318/v1/metrics"
//! interval_secs = 60
//! ca_cert = "/etc/tsunagi/collector-ca.pem"
//! token = "…"                        # sent as Authorization: Bearer; or client_cert + client_key
//! ```
//!
//! Plain `http://` only to a loopback address (a Collector beside the agent).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::outbound::{Endpoint, EndpointError};

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The Collector's OTLP/HTTP metrics URL (usually ending in `/v1/metrics`).
    pub otlp_endpoint: String,
    /// Seconds between pushes (default 60).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// The CA the Collector's certificate chains to (required for https).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Client certificate (mTLS), with `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Client key, with `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Bearer token.
    #[serde(default)]
    pub token: Option<String>,
}

fn default_interval() -> u64 {
    60
}

impl TelemetryConfig {
    /// The endpoint these settings describe.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            section: "[telemetry]",
            key: "otlp_endpoint",
            url: &self.otlp_endpoint,
            ca_cert: self.ca_cert.as_deref(),
            client_cert: self.client_cert.as_deref(),
            client_key: self.client_key.as_deref(),
            interval_secs: self.interval_secs,
        }
    }

    /// What is wrong with it, if anything (no file is read).
    pub fn problems(&self) -> Option<EndpointError> {
        self.endpoint().url().err()
    }

    /// The TLS files resolved against the config file's directory.
    pub fn resolve_paths(&mut self, base: &Path) {
        crate::outbound::resolve_paths(
            base,
            [
                &mut self.ca_cert,
                &mut self.client_cert,
                &mut self.client_key,
            ],
        );
    }
}

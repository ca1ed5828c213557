//! `[fleet]`: where the agent reports its state (an OpAMP server, e.g. `tsunagi-fleet`).
//!
//! ```toml
//! [fleet]
//! opamp_url = "https://fleet.example.jp/v1/opamp"
//! interval_secs = 30                 # with ±10 % jitter
//! ca_cert = "/etc/tsunagi/fleet-ca.pem"
//! token = "…"                        # or client_cert + client_key
//! ```
//!
//! Plain `http://` only to a loopback address.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[fleet]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// The OpAMP server's endpoint (`…/v1/opamp`).
    pub opamp_url: String,
    /// Seconds between reports (a heartbeat when nothing changed); jittered by ±10 %.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// PEM CA certificate(s) the server's certificate must chain to (https).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate chain (mutual TLS), with `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM client private key.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Bearer token sent with every report.
    #[serde(default)]
    pub token: Option<String>,
    /// The config file's text, for `effective_config` (secrets removed before sending).
    #[serde(skip)]
    pub config_text: String,
}

fn default_interval() -> u64 {
    30
}

/// Why `[fleet]` is refused (the shared outbound endpoint rules).
pub type FleetConfigError = crate::outbound::EndpointError;

impl FleetConfig {
    /// The endpoint these settings describe.
    pub fn endpoint(&self) -> crate::outbound::Endpoint<'_> {
        crate::outbound::Endpoint {
            section: "[fleet]",
            key: "opamp_url",
            url: &self.opamp_url,
            ca_cert: self.ca_cert.as_deref(),
            client_cert: self.client_cert.as_deref(),
            client_key: self.client_key.as_deref(),
            interval_secs: self.interval_secs,
        }
    }

    /// The URL, checked: https anywhere, http only to loopback.
    pub fn url(&self) -> Result<reqwest::Url, FleetConfigError> {
        self.endpoint().url()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> FleetConfig {
        toml::from_str(&format!("opamp_url = \"{url}\"")).unwrap()
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(cfg("http://127.0.0.1:4320/v1/opamp").url().is_ok());
        assert!(cfg("http://[::1]:4320/v1/opamp").url().is_ok());
        assert!(cfg("http://localhost/v1/opamp").url().is_ok());
        use crate::outbound::Fault;
        let fault = |u: &str| cfg(u).url().unwrap_err().fault;
        assert_eq!(fault("http://fleet.example.jp/v1/opamp"), Fault::PlainHttp);
        assert_eq!(fault("https://fleet.example.jp/v1/opamp"), Fault::NoCa);
        assert_eq!(fault("ftp://x/"), Fault::Scheme);
        assert_eq!(cfg("https://x/").interval_secs, 30);
    }
}

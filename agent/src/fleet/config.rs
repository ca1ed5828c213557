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

use std::net::IpAddr;
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

/// Why `[fleet]` is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FleetConfigError {
    /// Not a URL.
    #[error("[fleet] opamp_url is not a URL ({0}) / opamp_url が URL ではありません")]
    Url(String),
    /// `http://` to a non-loopback host.
    #[error("[fleet] opamp_url: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https / 平文の http は loopback のみ許可されます。https を使ってください")]
    PlainHttp,
    /// Neither http nor https.
    #[error("[fleet] opamp_url must start with https:// (or http:// on loopback) / opamp_url は https:// で始めてください")]
    Scheme,
    /// https without `ca_cert`.
    #[error("[fleet] https needs ca_cert (the CA the fleet server's certificate chains to) / https には ca_cert が必要です")]
    NoCa,
    /// Zero interval.
    #[error("[fleet] interval_secs must be at least 1 / interval_secs は 1 以上にしてください")]
    Interval,
    /// Only one of the client certificate and key.
    #[error("[fleet] client_cert and client_key go together / client_cert と client_key は両方指定してください")]
    ClientPair,
    /// TLS files unusable.
    #[error("[fleet] TLS: {0} / TLS の設定を読めません")]
    Tls(String),
}

impl FleetConfig {
    /// The URL, checked: https anywhere, http only to loopback.
    pub fn url(&self) -> Result<reqwest::Url, FleetConfigError> {
        let url = reqwest::Url::parse(&self.opamp_url)
            .map_err(|e| FleetConfigError::Url(e.to_string()))?;
        match url.scheme() {
            "https" if self.ca_cert.is_none() => return Err(FleetConfigError::NoCa),
            "https" => {}
            "http" if loopback(&url) => {}
            "http" => return Err(FleetConfigError::PlainHttp),
            _ => return Err(FleetConfigError::Scheme),
        }
        if self.interval_secs == 0 {
            return Err(FleetConfigError::Interval);
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(FleetConfigError::ClientPair);
        }
        Ok(url)
    }

    /// The TLS files resolved against the config file's directory.
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [
            &mut self.ca_cert,
            &mut self.client_cert,
            &mut self.client_key,
        ]
        .into_iter()
        .flatten()
        {
            *p = crate::uplink::resolve(base, p);
        }
    }
}

fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
        assert_eq!(
            cfg("http://fleet.example.jp/v1/opamp").url(),
            Err(FleetConfigError::PlainHttp)
        );
        assert_eq!(
            cfg("https://fleet.example.jp/v1/opamp").url(),
            Err(FleetConfigError::NoCa)
        );
        assert_eq!(cfg("ftp://x/").url(), Err(FleetConfigError::Scheme));
        assert_eq!(cfg("https://x/").interval_secs, 30);
    }
}

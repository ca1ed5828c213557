//! The `[uplink]` section of the agent's TOML config: which route, where the platform is, which
//! certificates, and how to space retries. Unknown keys are refused so a typo cannot silently
//! fall back to a default. Paths are relative to the config's base directory.
//!
//! ```toml
//! [uplink]
//! route = "web-api"            # or "shared-folder"
//! concurrency = 4
//! [uplink.web_api]
//! url = "https://127.0.0.1:8443/clins/v1/bundles"
//! ca_cert = "pki/ca.pem"       # required for https; the ONLY trusted roots (may be a bundle)
//! client_cert = "pki/client.pem"
//! client_key = "pki/client-key.pem"
//! connect_timeout_secs = 10
//! request_timeout_secs = 30
//! [uplink.shared_folder]
//! dir = "/mnt/oqs-terminal/clins"
//! [uplink.retry]
//! initial_ms = 500
//! max_secs = 300
//! multiplier = 2.0
//! jitter = 0.2
//! ```

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::retry::RetryPolicy;
use super::UplinkError;

/// Which way bundles leave the hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    WebApi,
    SharedFolder,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::WebApi => "web-api",
            Route::SharedFolder => "shared-folder",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkConfig {
    pub route: Route,
    /// Max requests in flight (used by the sender loop).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default)]
    pub web_api: Option<WebApiConfig>,
    #[serde(default)]
    pub shared_folder: Option<SharedFolderConfig>,
    #[serde(default)]
    pub retry: RetryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebApiConfig {
    /// `https://...`; `http://` only to a loopback address (tests, a local simulator).
    pub url: String,
    /// PEM file of the CA certificate(s) to trust. Required for `https`: the agent has no
    /// built-in root list. To trust the operating system's roots, point it at the system bundle
    /// (e.g. `/etc/ssl/certs/ca-certificates.crt`); every certificate in the file is trusted.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS (with `client_key`; both or neither).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedFolderConfig {
    /// The folder shared with the オンライン資格確認 terminal (holding `req/` and `res/`).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    #[serde(default = "default_initial_ms")]
    pub initial_ms: u64,
    #[serde(default = "default_max_secs")]
    pub max_secs: u64,
    /// Growth per failed attempt (>= 1.0).
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// Fraction of the delay taken off at random (0..=1), so agents do not retry in lockstep.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_ms: default_initial_ms(),
            max_secs: default_max_secs(),
            multiplier: default_multiplier(),
            jitter: default_jitter(),
        }
    }
}

impl RetryConfig {
    pub fn policy(&self) -> Result<RetryPolicy, UplinkError> {
        RetryPolicy::new(
            Duration::from_millis(self.initial_ms),
            Duration::from_secs(self.max_secs),
            self.multiplier,
            self.jitter,
        )
    }
}

impl TryFrom<&RetryConfig> for RetryPolicy {
    type Error = UplinkError;
    fn try_from(cfg: &RetryConfig) -> Result<Self, Self::Error> {
        cfg.policy()
    }
}

impl UplinkConfig {
    /// Checks that do not touch the file system or network.
    pub fn validate(&self) -> Result<(), UplinkError> {
        if self.concurrency == 0 || self.concurrency > 64 {
            return Err(UplinkError::Config {
                field: "uplink.concurrency",
                reason: format!("must be 1..=64, got {}", self.concurrency),
            });
        }
        self.retry.policy()?;
        if let (Route::WebApi, Some(web)) = (self.route, &self.web_api) {
            web.validate()?;
        }
        Ok(())
    }
}

impl WebApiConfig {
    pub fn validate(&self) -> Result<(), UplinkError> {
        let url = self.parsed_url()?;
        if url.scheme() == "https" && self.ca_cert.is_none() {
            return Err(UplinkError::Config {
                field: "uplink.web_api.ca_cert",
                reason: "required for https (no built-in roots; set it to the platform's CA, or \
                         to the system bundle such as /etc/ssl/certs/ca-certificates.crt)"
                    .into(),
            });
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(UplinkError::Config {
                field: "uplink.web_api.client_cert",
                reason: "client_cert and client_key must be set together".into(),
            });
        }
        for (field, secs) in [
            (
                "uplink.web_api.connect_timeout_secs",
                self.connect_timeout_secs,
            ),
            (
                "uplink.web_api.request_timeout_secs",
                self.request_timeout_secs,
            ),
        ] {
            if secs == 0 || secs > 3600 {
                return Err(UplinkError::Config {
                    field,
                    reason: format!("must be 1..=3600 seconds, got {secs}"),
                });
            }
        }
        Ok(())
    }

    /// The URL, refused unless `https`, or `http` to a loopback address.
    pub fn parsed_url(&self) -> Result<reqwest::Url, UplinkError> {
        let bad = |reason: String| UplinkError::Config {
            field: "uplink.web_api.url",
            reason,
        };
        let url = reqwest::Url::parse(&self.url).map_err(|e| bad(format!("not a URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&url) => {}
            "http" => {
                return Err(bad(
                    "plain http is allowed only to a loopback address; use https".into(),
                ))
            }
            other => return Err(bad(format!("scheme {other:?} is not supported; use https"))),
        }
        if url.host().is_none() {
            return Err(bad("the URL has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in the URL are not supported".into()));
        }
        Ok(url)
    }
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn default_concurrency() -> usize {
    4
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_request_timeout_secs() -> u64 {
    30
}
fn default_initial_ms() -> u64 {
    500
}
fn default_max_secs() -> u64 {
    300
}
fn default_multiplier() -> f64 {
    2.0
}
fn default_jitter() -> f64 {
    0.2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(url: &str) -> WebApiConfig {
        WebApiConfig {
            url: url.into(),
            ca_cert: Some("ca.pem".into()),
            client_cert: None,
            client_key: None,
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
        }
    }

    #[test]
    fn full_example_parses_with_defaults() {
        let cfg: UplinkConfig = toml::from_str(
            r#"
            route = "web-api"
            [web_api]
            url = "https://127.0.0.1:8443/clins/v1/bundles"
            ca_cert = "pki/ca.pem"
            client_cert = "pki/client.pem"
            client_key = "pki/client-key.pem"
            [shared_folder]
            dir = "/mnt/oqs-terminal/clins"
            [retry]
            initial_ms = 250
            "#,
        )
        .unwrap();
        assert_eq!(cfg.route, Route::WebApi);
        assert_eq!(cfg.concurrency, 4);
        let web = cfg.web_api.as_ref().unwrap();
        assert_eq!(web.connect_timeout_secs, 10);
        assert_eq!(web.request_timeout_secs, 30);
        assert_eq!(cfg.retry.initial_ms, 250);
        assert_eq!(cfg.retry.max_secs, 300);
        cfg.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<UplinkConfig>(
            "route = \"web-api\"\n[web_api]\nurl = \"https://x\"\ninsecure = true\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("insecure"), "{err}");
        assert!(toml::from_str::<UplinkConfig>("route = \"carrier-pigeon\"\n").is_err());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://clins.example.jp/v1/bundles",
            "http://127.0.0.1:8080/x",
            "http://127.3.2.1/x",
            "http://[::1]:80/x",
            "http://localhost:9/x",
        ] {
            web(ok).validate().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://10.0.0.1/x",
            "http://clins.example.jp/x",
            "http://127.0.0.1.evil.example/x",
            "ftp://127.0.0.1/x",
            "not a url",
            "https://user:pw@clins.example.jp/",
        ] {
            assert!(web(bad).validate().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn https_requires_a_ca_and_client_pair_is_all_or_nothing() {
        let mut w = web("https://clins.example.jp/");
        w.ca_cert = None;
        assert!(w.validate().unwrap_err().to_string().contains("ca_cert"));
        let mut w = web("https://clins.example.jp/");
        w.client_cert = Some("c.pem".into());
        assert!(w.validate().unwrap_err().to_string().contains("client_key"));
        let mut w = web("https://clins.example.jp/");
        w.request_timeout_secs = 0;
        assert!(w.validate().is_err());
    }

    #[test]
    fn concurrency_and_retry_are_checked() {
        let mut cfg: UplinkConfig = toml::from_str("route = \"shared-folder\"\n").unwrap();
        cfg.concurrency = 0;
        assert!(cfg.validate().is_err());
        cfg.concurrency = 4;
        cfg.retry.jitter = 1.5;
        assert!(cfg.validate().is_err());
    }
}

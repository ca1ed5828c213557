//! `[ops]`: where the operations surface (health, metrics, status page) listens, and how it is
//! protected.
//!
//! ```toml
//! [ops]
//! listen = "127.0.0.1:9464"     # default; "" (or enabled = false) turns the surface off
//! # Outside loopback, both TLS and a bearer token are required:
//! # listen = "0.0.0.0:9464"
//! # tls_cert = "ops-cert.pem"
//! # tls_key = "ops-key.pem"
//! # token = "a long random string"
//! ```
//!
//! Invariant (checked by [`OpsConfig::problems`], refused at config load): a non-loopback
//! address is never served without TLS and a token ("TLS everywhere outside loopback").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Shortest token accepted (a guessable token protects nothing).
pub use tsunagi_web::MIN_TOKEN_LEN;

/// `[ops]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// Serve at all (`false` turns the surface off, as does `listen = ""`).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// `host:port` to bind; `127.0.0.1:0` picks a free port (logged at start).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// PEM certificate chain for HTTPS.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Bearer token every request must carry (`Authorization: Bearer …`). Required outside
    /// loopback; optional on loopback.
    #[serde(default)]
    pub token: Option<String>,
}

fn default_enabled() -> bool {
    true
}
fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            enabled: true,
            listen: DEFAULT_LISTEN.into(),
            tls_cert: None,
            tls_key: None,
            token: None,
        }
    }
}

/// Why an `[ops]` table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsConfigError {
    /// `listen` is not `host:port` with an IP address.
    #[error("[ops] listen {0:?} is not an IP address and port, e.g. \"127.0.0.1:9464\"")]
    BadListen(String),
    /// A non-loopback address without a token.
    #[error(
        "[ops] listen {0} is not loopback: set [ops] token (at least {MIN_TOKEN_LEN} characters)"
    )]
    TokenRequired(String),
    /// A non-loopback address without TLS.
    #[error("[ops] listen {0} is not loopback: set [ops] tls_cert and tls_key (TLS everywhere outside loopback)")]
    TlsRequired(String),
    /// Only one of `tls_cert` / `tls_key`.
    #[error("[ops] tls_cert and tls_key go together: set both or neither")]
    TlsPair,
    /// A token that is too short.
    #[error("[ops] token is shorter than {MIN_TOKEN_LEN} characters")]
    TokenTooShort,
}

impl OpsConfigError {
    /// The same problem in Japanese.
    pub fn ja(&self) -> String {
        match self {
            OpsConfigError::BadListen(l) => {
                format!("[ops] listen {l:?} は IPアドレス:ポート の形式で指定してください")
            }
            OpsConfigError::TokenRequired(l) => {
                format!("[ops] listen {l} はループバック以外です。token を設定してください")
            }
            OpsConfigError::TlsRequired(l) => format!(
                "[ops] listen {l} はループバック以外です。tls_cert と tls_key を設定してください"
            ),
            OpsConfigError::TlsPair => "[ops] tls_cert と tls_key は両方指定してください".into(),
            OpsConfigError::TokenTooShort => {
                format!("[ops] token は{MIN_TOKEN_LEN}文字以上にしてください")
            }
        }
    }
}

impl OpsConfig {
    /// The address to bind, or `None` when the surface is turned off.
    pub fn listen_addr(&self) -> Result<Option<SocketAddr>, OpsConfigError> {
        let l = self.listen.trim();
        if !self.enabled || l.is_empty() {
            return Ok(None);
        }
        l.parse()
            .map(Some)
            .map_err(|_| OpsConfigError::BadListen(l.to_string()))
    }

    /// Whether HTTPS is configured.
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => None,
        }
    }

    /// Every problem of this table (empty = usable).
    pub fn problems(&self) -> Vec<OpsConfigError> {
        let mut p = Vec::new();
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            p.push(OpsConfigError::TlsPair);
        }
        if self.token.as_ref().is_some_and(|t| t.len() < MIN_TOKEN_LEN) {
            p.push(OpsConfigError::TokenTooShort);
        }
        match self.listen_addr() {
            Err(e) => p.push(e),
            Ok(Some(addr)) if !addr.ip().is_loopback() => {
                if self.token.is_none() {
                    p.push(OpsConfigError::TokenRequired(addr.to_string()));
                }
                if self.tls().is_none() {
                    p.push(OpsConfigError::TlsRequired(addr.to_string()));
                }
            }
            Ok(_) => {}
        }
        p
    }

    /// Makes relative certificate paths relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> OpsConfig {
        toml::from_str(t).unwrap()
    }

    #[test]
    fn default_is_loopback_and_on() {
        let c = parse("");
        assert_eq!(
            c.listen_addr().unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert!(c.problems().is_empty());
    }

    #[test]
    fn empty_listen_or_disabled_turns_it_off() {
        assert_eq!(parse("listen = \"\"").listen_addr().unwrap(), None);
        assert_eq!(parse("enabled = false").listen_addr().unwrap(), None);
    }

    #[test]
    fn outside_loopback_needs_token_and_tls() {
        let c = parse("listen = \"0.0.0.0:9464\"");
        let p = c.problems();
        assert!(p.contains(&OpsConfigError::TokenRequired("0.0.0.0:9464".into())));
        assert!(p.contains(&OpsConfigError::TlsRequired("0.0.0.0:9464".into())));
        let token_only = parse("listen = \"10.0.0.5:9464\"\ntoken = \"0123456789abcdef0\"");
        assert_eq!(
            token_only.problems(),
            vec![OpsConfigError::TlsRequired("10.0.0.5:9464".into())]
        );
        let full = parse(
            "listen = \"10.0.0.5:9464\"\ntoken = \"0123456789abcdef0\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"",
        );
        assert!(full.problems().is_empty());
    }

    #[test]
    fn ipv6_loopback_is_loopback() {
        assert!(parse("listen = \"[::1]:9464\"").problems().is_empty());
    }

    #[test]
    fn half_tls_short_token_and_bad_address_are_refused() {
        let p =
            parse("tls_cert = \"c.pem\"\ntoken = \"short\"\nlisten = \"localhost:1\"").problems();
        assert!(p.contains(&OpsConfigError::TlsPair));
        assert!(p.contains(&OpsConfigError::TokenTooShort));
        assert!(p.contains(&OpsConfigError::BadListen("localhost:1".into())));
        assert!(p.iter().all(|e| !e.ja().is_empty()));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<OpsConfig>("listn = \"x\"").is_err());
    }
}

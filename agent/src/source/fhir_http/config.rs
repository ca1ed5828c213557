//! `[[source.fhir]]` configuration: one FHIR R4 REST endpoint, its limits and how it is protected.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                   | default           | meaning                                                   |
//! |-----------------------|-------------------|-----------------------------------------------------------|
//! | `name`                | required          | source name recorded with every stored request           |
//! | `listen`              | `127.0.0.1:8088`  | address to bind; outside loopback see the exposure rule below |
//! | `base_path`           | `/fhir`           | the FHIR base: `POST [base]`, `POST [base]/[type]`, `PUT [base]/[type]/[id]`, `GET [base]/metadata` |
//! | `max_body_bytes`      | 16777216 (16 MiB) | larger bodies are answered 413 and not stored             |
//! | `header_timeout_secs` | 10                | a request's headers must arrive within this long          |
//! | `body_timeout_secs`   | 60                | a request's body must arrive within this long (then 408)  |
//! | `idle_timeout_secs`   | 60                | a connection with no request in progress is closed after this long |
//! | `max_connections`     | 256               | connections at once; at the cap a new one evicts the one idle the longest, never one whose request is committing |
//! | `token_file`          | none              | a file holding the bearer token every write must carry (`Authorization: Bearer …`) |
//! | `[source.fhir.tls]`   | none              | `cert`, `key` (PEM), optional `client_ca`: require client certificates signed by it |
//!
//! Exposure rule (checked by [`FhirConfig::problems`], refused at config load and at bind): an
//! endpoint bound outside loopback (including `0.0.0.0` / `[::]`) needs `[source.fhir.tls]` AND a
//! way to tell who is calling: `token_file` or `tls.client_ca` (the ops surface's rule). Paths are
//! relative to the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::source::mllp::config::MllpTlsConfig as TlsFiles;

/// Default listen address: loopback.
#[cfg(any(test, feature = "demo"))] // only `tsunagi demo` uses it
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8088";
/// Default FHIR base path.
pub const DEFAULT_BASE_PATH: &str = "/fhir";
/// Default body cap (16 MiB, as MLLP's message cap).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Shortest token accepted (as the ops surface's).
pub use tsunagi_web::MIN_TOKEN_LEN;

/// One FHIR endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirConfig {
    /// Source name (stored with every request; part of the deduplication key).
    pub name: String,
    /// Address to bind; port 0 picks a free port.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The FHIR base path, e.g. `/fhir` (no trailing slash; `/` for the root).
    #[serde(default = "default_base_path")]
    pub base_path: String,
    /// Largest accepted body.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Seconds a request's headers may take.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds a request's body may take.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_secs: u64,
    /// Seconds a connection may stay open without a request in progress.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Connections served at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// File holding the bearer token (first line, trimmed).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// TLS; without it the endpoint speaks plain HTTP (loopback only, unless TLS).
    #[serde(default)]
    pub tls: Option<TlsFiles>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8088))
}
fn default_base_path() -> String {
    DEFAULT_BASE_PATH.into()
}
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    60
}
fn default_idle_timeout() -> u64 {
    60
}
fn default_max_connections() -> usize {
    256
}

/// Why a `[[source.fhir]]` table is refused. Display is English; [`FhirConfigError::ja`] the
/// same in Japanese. Each names the endpoint and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirConfigError {
    /// `name` is empty.
    #[error("source.fhir: name must not be empty")]
    EmptyName,
    /// `base_path` is not `/segment[/segment…]` or `/`.
    #[error("source.fhir {0:?}: base_path must start with / and hold only letters, digits, -, _, . and / (no trailing /), e.g. \"/fhir\"")]
    BasePath(String),
    /// `max_body_bytes` below 64.
    #[error("source.fhir {0:?}: max_body_bytes must be at least 64")]
    MaxBodyBytes(String),
    /// A timeout is 0.
    #[error("source.fhir {0:?}: {1} must be at least 1")]
    Timeout(String, &'static str),
    /// `max_connections` is 0 or absurd.
    #[error("source.fhir {0:?}: max_connections must be between 1 and 65536")]
    MaxConnections(String),
    /// Outside loopback without TLS.
    #[error("source.fhir {name:?}: listen {listen} is not loopback: set [source.fhir.tls] (cert, key): TLS everywhere outside loopback")]
    TlsRequired { name: String, listen: SocketAddr },
    /// Outside loopback without a token or client certificates.
    #[error("source.fhir {name:?}: listen {listen} is not loopback: set token_file (a bearer token of at least {MIN_TOKEN_LEN} characters) or [source.fhir.tls] client_ca (client certificates)")]
    AuthRequired { name: String, listen: SocketAddr },
}

impl FhirConfigError {
    /// The same problem in Japanese.
    pub fn ja(&self) -> String {
        match self {
            FhirConfigError::EmptyName => "source.fhir: name を指定してください".into(),
            FhirConfigError::BasePath(n) => format!(
                "source.fhir {n:?}: base_path は / で始め、英数字と - _ . / だけで指定してください (末尾の / は不要、例 \"/fhir\")"
            ),
            FhirConfigError::MaxBodyBytes(n) => {
                format!("source.fhir {n:?}: max_body_bytes は64以上にしてください")
            }
            FhirConfigError::Timeout(n, key) => {
                format!("source.fhir {n:?}: {key} は1以上にしてください")
            }
            FhirConfigError::MaxConnections(n) => {
                format!("source.fhir {n:?}: max_connections は1以上65536以下にしてください")
            }
            FhirConfigError::TlsRequired { name, listen } => format!(
                "source.fhir {name:?}: listen {listen} はループバック以外です。[source.fhir.tls] (cert, key) を設定してください"
            ),
            FhirConfigError::AuthRequired { name, listen } => format!(
                "source.fhir {name:?}: listen {listen} はループバック以外です。token_file (ベアラートークン) か [source.fhir.tls] の client_ca (クライアント証明書) を設定してください"
            ),
        }
    }
}

/// Whether `p` is a usable base path.
fn base_path_ok(p: &str) -> bool {
    p == "/"
        || (p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains("//")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)))
}

impl FhirConfig {
    /// A plain-HTTP endpoint named `name` on `listen`, every other key at its default.
    #[cfg(test)]
    pub fn new(name: &str, listen: SocketAddr) -> Self {
        FhirConfig {
            name: name.to_owned(),
            listen,
            base_path: DEFAULT_BASE_PATH.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout_secs: default_header_timeout(),
            body_timeout_secs: default_body_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            max_connections: default_max_connections(),
            token_file: None,
            tls: None,
        }
    }

    /// The base path as routes are built from it: `""` for the root, else `/fhir`.
    pub fn base(&self) -> &str {
        if self.base_path == "/" {
            ""
        } else {
            &self.base_path
        }
    }

    /// Every problem serde cannot see (empty = usable).
    pub fn problems(&self) -> Vec<FhirConfigError> {
        let mut p = Vec::new();
        if self.name.trim().is_empty() {
            p.push(FhirConfigError::EmptyName);
        }
        let n = || self.name.clone();
        if !base_path_ok(&self.base_path) {
            p.push(FhirConfigError::BasePath(n()));
        }
        if self.max_body_bytes < 64 {
            p.push(FhirConfigError::MaxBodyBytes(n()));
        }
        for (v, key) in [
            (self.header_timeout_secs, "header_timeout_secs"),
            (self.body_timeout_secs, "body_timeout_secs"),
            (self.idle_timeout_secs, "idle_timeout_secs"),
        ] {
            if v == 0 {
                p.push(FhirConfigError::Timeout(n(), key));
            }
        }
        if self.max_connections == 0 || self.max_connections > 65_536 {
            p.push(FhirConfigError::MaxConnections(n()));
        }
        if !self.listen.ip().is_loopback() {
            let (name, listen) = (n(), self.listen);
            if self.tls.is_none() {
                p.push(FhirConfigError::TlsRequired {
                    name: name.clone(),
                    listen,
                });
            }
            let client_certs = self.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
            if self.token_file.is_none() && !client_certs {
                p.push(FhirConfigError::AuthRequired { name, listen });
            }
        }
        p
    }

    /// The first problem, if any (the endpoint refuses to bind with it).
    pub fn validate(&self) -> Result<(), FhirConfigError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Makes relative paths (TLS files, token file) relative to `base` (the config file's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        let tls = self.tls.iter_mut().flat_map(|t| {
            [&mut t.cert, &mut t.key]
                .into_iter()
                .chain(t.client_ca.as_mut())
        });
        for p in tls.chain(self.token_file.as_mut()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> FhirConfig {
        toml::from_str(t).unwrap()
    }

    #[test]
    fn defaults_are_loopback_and_fhir() {
        let c = parse("name = \"ehr\"");
        assert_eq!(c, FhirConfig::new("ehr", DEFAULT_LISTEN.parse().unwrap()));
        assert_eq!(c.base(), "/fhir");
        assert!(c.problems().is_empty());
        assert_eq!(parse("name = \"a\"\nbase_path = \"/\"").base(), "");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<FhirConfig>("name = \"a\"\nport = 1").is_err());
        let c = parse("name = \"a\"\nbase_path = \"fhir/\"\nbody_timeout_secs = 0\nmax_connections = 0\nmax_body_bytes = 1");
        let p = c.problems();
        assert_eq!(
            p,
            vec![
                FhirConfigError::BasePath("a".into()),
                FhirConfigError::MaxBodyBytes("a".into()),
                FhirConfigError::Timeout("a".into(), "body_timeout_secs"),
                FhirConfigError::MaxConnections("a".into()),
            ]
        );
        for e in &p {
            assert!(
                e.to_string().contains("\"a\"") && e.ja().contains("\"a\""),
                "{e}"
            );
        }
        for bad in ["/fhir//r4", "/fh ir", "/fhir/"] {
            assert!(!base_path_ok(bad), "{bad}");
        }
        assert!(base_path_ok("/api/fhir-r4"));
    }

    #[test]
    fn outside_loopback_needs_tls_and_a_token_or_client_certificates() {
        let open = parse("name = \"ehr\"\nlisten = \"0.0.0.0:8088\"").problems();
        assert!(
            matches!(
                &open[..],
                [
                    FhirConfigError::TlsRequired { .. },
                    FhirConfigError::AuthRequired { .. }
                ]
            ),
            "{open:?}"
        );
        assert!(open[0].ja().contains("ループバック以外"));
        let tls_only =
            parse("name = \"ehr\"\nlisten = \"10.0.0.5:8088\"\n[tls]\ncert = \"c\"\nkey = \"k\"")
                .problems();
        assert!(
            matches!(&tls_only[..], [FhirConfigError::AuthRequired { .. }]),
            "{tls_only:?}"
        );
        let token_only =
            parse("name = \"ehr\"\nlisten = \"10.0.0.5:8088\"\ntoken_file = \"t\"").problems();
        assert!(
            matches!(&token_only[..], [FhirConfigError::TlsRequired { .. }]),
            "{token_only:?}"
        );
        for ok in [
            "name = \"ehr\"\nlisten = \"[::]:8088\"\ntoken_file = \"t\"\n[tls]\ncert = \"c\"\nkey = \"k\"",
            "name = \"ehr\"\nlisten = \"[::]:8088\"\n[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"ca\"",
            "name = \"ehr\"\nlisten = \"[::1]:8088\"",
        ] {
            assert!(parse(ok).problems().is_empty(), "{ok}");
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let mut c = parse("name = \"a\"\ntoken_file = \"fhir.token\"\n[tls]\ncert = \"pki/c.pem\"\nkey = \"/etc/k.pem\"\nclient_ca = \"ca.pem\"");
        c.resolve_paths(Path::new("/etc/tsunagi"));
        assert_eq!(c.token_file, Some(PathBuf::from("/etc/tsunagi/fhir.token")));
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/tsunagi/pki/c.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/k.pem"));
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/tsunagi/ca.pem")));
    }
}

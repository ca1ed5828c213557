//! The uplink: how one JP-CLINS Bundle reaches the national platform (CLINS), and what its answer
//! means for our outbox.
//!
//! Two routes exist: the Web API (`web_api`, HTTPS with mutual TLS) and the shared folder of the
//! オンライン資格確認 terminal (`shared_folder`, 資格確認端末経由方式). Both take a [`Submission`]
//! (the idempotency key and the bundle bytes) and answer with an [`Outcome`] that says what the
//! caller must do next: record success, park the item as rejected, retry later, or wait for the
//! terminal's answer. The retry timing is [`RetryPolicy`]. This module owns no state about the
//! outbox: the caller (the sender loop) claims rows, calls [`Uplink::submit`], and records the
//! outcome; delivery is at-least-once and the idempotency key makes a resend harmless.
//!
//! Invariants:
//! - An [`Outcome`]'s `reason` never contains bundle content: it is built from status codes,
//!   headers, transport errors and the platform's OperationOutcome, bounded in length.
//! - Nothing here panics on what the network or the shared folder returns.
//! - Server certificates are always verified; there is no switch to turn that off.

mod classify;
mod config;
mod probe;
mod retry;
mod shared_folder;
mod tls;
/// The uplink's TLS client settings, shared with the fleet report (`crate::fleet`).
pub(crate) use tls::client_config as tls_client_config;
mod web_api;

#[cfg(test)]
pub(crate) mod test_pki;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod web_api_tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use config::{Route, UplinkConfig};
pub use probe::Probed;
pub use retry::RetryPolicy;
pub use shared_folder::SharedFolderClient;
pub use tls::{load_certs, load_key};
pub use web_api::WebApiClient;

/// One bundle to deliver. The key is 64 lowercase hex characters made by us (stable for the
/// outbox item, so every resend carries the same key).
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    pub idempotency_key: &'a str,
    pub body: &'a [u8],
}

/// Why a retryable failure happened; the operator reads it (and TLS needs a human to fix it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    /// TCP connect failed, refused, or name resolution failed.
    Connect,
    /// The TLS handshake failed (certificate not trusted, client certificate refused, ...).
    Tls,
    /// The platform answered 408, 5xx, or an unexpected status.
    Server,
    /// The platform answered 429.
    RateLimited,
    /// Timed out before the request could be sent (connect phase).
    Timeout,
    /// A local I/O failure (shared folder unavailable, ...).
    Io,
}

/// What the platform (or the route) said about one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted now, or already accepted earlier under the same key (`duplicate`).
    Accepted {
        receipt: Option<String>,
        duplicate: bool,
    },
    /// Permanently refused: resending the same bytes will not help. `reason` carries the
    /// OperationOutcome's rule keys and messages, bounded in length.
    Rejected { status: Option<u16>, reason: String },
    /// Not delivered; retry later (not before `retry_after` when given).
    Transient {
        kind: TransientKind,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The request was (at least partly) sent but no answer arrived: resend with the same key.
    Ambiguous { reason: String },
    /// Shared folder: the request is written; the answer comes through [`Uplink::collect`].
    Awaiting,
}

/// A configuration or setup problem found by [`Uplink::from_config`]; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("uplink config `{field}`: {reason} / 設定 `{field}` が不正です")]
    Config { field: &'static str, reason: String },
    #[error("{path}: {reason} / 証明書または鍵ファイルを読み込めません")]
    Pem { path: PathBuf, reason: String },
    #[error("TLS setup: {reason} / TLS 設定に失敗しました")]
    Tls { reason: String },
    #[error("HTTP client setup: {reason} / HTTP クライアントを作成できません")]
    Client { reason: String },
}

/// The configured route to the platform.
#[derive(Debug)]
pub enum Uplink {
    WebApi(WebApiClient),
    SharedFolder(SharedFolderClient),
}

impl Uplink {
    /// Build the configured route. Relative paths in `cfg` are resolved against `base_dir`.
    /// Loads and checks the PEM files now so that a bad certificate stops startup with a clear
    /// message instead of failing every send.
    pub fn from_config(cfg: &UplinkConfig, base_dir: &Path) -> Result<Uplink, UplinkError> {
        cfg.validate()?;
        match cfg.route {
            Route::WebApi => {
                let web = cfg.web_api.as_ref().ok_or_else(|| UplinkError::Config {
                    field: "uplink.web_api",
                    reason: "route is \"web-api\" but [uplink.web_api] is missing".into(),
                })?;
                Ok(Uplink::WebApi(WebApiClient::new(web, base_dir)?))
            }
            Route::SharedFolder => {
                let shared = cfg
                    .shared_folder
                    .as_ref()
                    .ok_or_else(|| UplinkError::Config {
                        field: "uplink.shared_folder",
                        reason: "route is \"shared-folder\" but [uplink.shared_folder] is missing"
                            .into(),
                    })?;
                Ok(Uplink::SharedFolder(SharedFolderClient::new(&resolve(
                    base_dir,
                    &shared.dir,
                ))))
            }
        }
    }

    /// Deliver one bundle. Never panics; every failure becomes an [`Outcome`].
    pub async fn submit(&self, s: Submission<'_>) -> Outcome {
        match self {
            Uplink::WebApi(c) => c.submit(s).await,
            Uplink::SharedFolder(c) => c.submit(s).await,
        }
    }

    /// Answers that arrived for earlier [`Outcome::Awaiting`] submissions, keyed by idempotency
    /// key. Unreadable result files are logged (once each, by file name) and left in place.
    /// Web API: always empty.
    pub async fn collect(&self) -> Vec<(String, Outcome)> {
        match self {
            Uplink::WebApi(_) => Vec::new(),
            Uplink::SharedFolder(c) => c.collect_logged().await,
        }
    }

    /// Call after the outcome from [`Uplink::collect`] is committed: removes the result file.
    /// Web API: no-op.
    pub async fn acknowledge(&self, key: &str) -> std::io::Result<()> {
        match self {
            Uplink::WebApi(_) => Ok(()),
            Uplink::SharedFolder(c) => c.acknowledge(key).await,
        }
    }

    /// `"web-api"` or `"shared-folder"` (the same words as the config's `route`).
    pub fn route_name(&self) -> &'static str {
        match self {
            Uplink::WebApi(_) => Route::WebApi.name(),
            Uplink::SharedFolder(_) => Route::SharedFolder.name(),
        }
    }
}

/// `path` as given when absolute, otherwise under `base_dir`.
pub(crate) fn resolve(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// Our idempotency keys are exactly 64 lowercase hex characters; anything else is a bug upstream
/// and must not reach a header or a file name.
pub(crate) fn is_valid_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The outcome for a key we refuse to use (a bug upstream: it is made by us).
pub(crate) fn invalid_key_outcome() -> Outcome {
    Outcome::Rejected {
        status: None,
        reason: "internal: idempotency key is not 64 lowercase hex characters".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::config::{RetryConfig, SharedFolderConfig, WebApiConfig};
    use super::*;

    #[test]
    fn keys_must_be_64_lowercase_hex() {
        assert!(is_valid_key(&"a".repeat(64)));
        assert!(is_valid_key(&"0123456789abcdef".repeat(4)));
        assert!(!is_valid_key(&"A".repeat(64)));
        assert!(!is_valid_key(&"a".repeat(63)));
        assert!(!is_valid_key(&format!("../{}", "a".repeat(61))));
        assert!(!is_valid_key(""));
    }

    #[test]
    fn relative_paths_resolve_under_base_dir() {
        assert_eq!(
            resolve(Path::new("/etc/tsunagi"), Path::new("pki/ca.pem")),
            PathBuf::from("/etc/tsunagi/pki/ca.pem")
        );
        assert_eq!(
            resolve(Path::new("/etc/tsunagi"), Path::new("/opt/ca.pem")),
            PathBuf::from("/opt/ca.pem")
        );
    }

    /// The integrator's view: config section in, route out, submit → awaiting → collect → ack.
    #[tokio::test]
    async fn shared_folder_route_round_trip_through_uplink() {
        let cfg: UplinkConfig =
            toml::from_str("route = \"shared-folder\"\n[shared_folder]\ndir = \"terminal\"\n")
                .unwrap();
        let shared: &SharedFolderConfig = cfg.shared_folder.as_ref().unwrap();
        assert_eq!(shared.dir, PathBuf::from("terminal"));
        let dir = tempfile::tempdir().unwrap();
        let up = Uplink::from_config(&cfg, dir.path()).unwrap();
        assert_eq!(up.route_name(), "shared-folder");
        assert!(
            up.collect().await.is_empty(),
            "missing res/ means nothing yet"
        );

        let root = dir.path().join("terminal");
        std::fs::create_dir_all(root.join("req")).unwrap();
        std::fs::create_dir_all(root.join("res")).unwrap();
        let key = "e".repeat(64);
        let out = up
            .submit(Submission {
                idempotency_key: &key,
                body: b"{}",
            })
            .await;
        assert_eq!(out, Outcome::Awaiting);
        // The terminal answers.
        std::fs::remove_file(root.join("req").join(format!("{key}.json"))).unwrap();
        let result = root.join("res").join(format!("{key}.result.json"));
        std::fs::write(
            &result,
            format!(r#"{{"idempotencyKey":"{key}","status":"accepted","receipt":"R9"}}"#),
        )
        .unwrap();
        let got = up.collect().await;
        assert_eq!(
            got,
            vec![(
                key.clone(),
                Outcome::Accepted {
                    receipt: Some("R9".into()),
                    duplicate: false
                }
            )]
        );
        up.acknowledge(&key).await.unwrap();
        assert!(!result.exists());
        assert!(up.collect().await.is_empty());
    }

    #[test]
    fn retry_section_becomes_a_policy() {
        let cfg: UplinkConfig = toml::from_str(
            "route = \"web-api\"\n[retry]\ninitial_ms = 100\nmax_secs = 1\njitter = 0.0\n",
        )
        .unwrap();
        let retry: &RetryConfig = &cfg.retry;
        let policy = RetryPolicy::try_from(retry).unwrap();
        let mut rng = rand::rng();
        assert_eq!(policy.delay(1, None, &mut rng), Duration::from_millis(100));
        assert_eq!(policy.delay(30, None, &mut rng), Duration::from_secs(1));
        let web: Option<&WebApiConfig> = cfg.web_api.as_ref();
        assert!(web.is_none());
    }

    #[test]
    fn missing_route_section_is_a_config_error() {
        let cfg: UplinkConfig = toml::from_str("route = \"web-api\"\n").unwrap();
        let err = Uplink::from_config(&cfg, Path::new("/")).unwrap_err();
        assert!(err.to_string().contains("uplink.web_api"), "{err}");
    }
}

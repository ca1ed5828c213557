//! The Web API route: one `POST` of one Bundle per submission over HTTPS (mutual TLS when a
//! client certificate is configured), keyed by `Idempotency-Key`. The meaning of each answer is
//! decided in `classify`; this file only talks to the network.
//!
//! The client keeps connections alive (HTTP/2 when the server offers it) and never follows
//! redirects or uses a proxy (the platform is reached directly on its closed network).

use std::path::Path;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};

use super::classify::{classify_answer, classify_transport, parse_retry_after, Answer};
use super::config::WebApiConfig;
use super::{invalid_key_outcome, is_valid_key, resolve, tls, Outcome, Submission, UplinkError};

/// The answer body we read at most (an OperationOutcome is far smaller).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

#[derive(Debug, Clone)]
pub struct WebApiClient {
    pub(super) client: reqwest::Client,
    pub(super) url: reqwest::Url,
}

impl WebApiClient {
    /// Loads the PEM files named by `cfg` (relative to `base_dir`) and builds the HTTP client.
    pub fn new(cfg: &WebApiConfig, base_dir: &Path) -> Result<Self, UplinkError> {
        cfg.validate()?;
        let url = cfg.parsed_url()?;
        let ca = cfg.ca_cert.as_ref().map(|p| resolve(base_dir, p));
        let client_paths = match (&cfg.client_cert, &cfg.client_key) {
            (Some(c), Some(k)) => Some((resolve(base_dir, c), resolve(base_dir, k))),
            _ => None,
        };
        let tls = tls::client_config(
            ca.as_deref(),
            client_paths
                .as_ref()
                .map(|(c, k)| (c.as_path(), k.as_path())),
        )?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .timeout(Duration::from_secs(cfg.request_timeout_secs))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("tsunagi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UplinkError::Client {
                reason: e.to_string(),
            })?;
        Ok(WebApiClient { client, url })
    }

    /// `POST` the bundle and classify the answer.
    pub async fn submit(&self, s: Submission<'_>) -> Outcome {
        if !is_valid_key(s.idempotency_key) {
            return invalid_key_outcome();
        }
        let sent = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, FHIR_JSON)
            .header(ACCEPT, "application/fhir+json")
            .header("Idempotency-Key", s.idempotency_key)
            .body(s.body.to_vec())
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return classify_transport(&e),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // The status line is authoritative; a body we cannot read only loses detail.
        let body = read_bounded(&mut response).await;
        classify_answer(&Answer {
            status,
            duplicate: header_str(&headers, "x-duplicate"),
            receipt: header_str(&headers, "x-receipt-id"),
            retry_after: header_str(&headers, RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(v, SystemTime::now())),
            body: &body,
        })
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Up to [`MAX_ANSWER_BYTES`] of the answer body; whatever arrived before an error.
async fn read_bounded(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    body
}

//! A reachability probe (`tsunagi doctor`): one `HEAD` of the configured URL through the same
//! client as deliveries (so the same TLS: the configured CA, the client certificate). Nothing is
//! submitted; any HTTP answer proves the handshake, and its `Date` header tells the platform's
//! clock.

use super::classify::classify_transport;
use super::{Outcome, TransientKind, WebApiClient};

/// What the platform answered.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The HTTP status (a refused `HEAD`, e.g. 405, still proves the way there).
    pub status: u16,
    /// The `Date` header, as sent.
    pub date: Option<String>,
}

/// Why the platform could not be reached.
#[derive(Debug, Clone)]
pub struct ProbeError {
    /// Connect, TLS or timeout, when the failure says which.
    pub kind: Option<TransientKind>,
    /// What went wrong (transport errors only: no request content exists).
    pub reason: String,
}

impl WebApiClient {
    /// One `HEAD` request to the configured URL.
    pub async fn probe(&self) -> Result<Probed, ProbeError> {
        match self.client.head(self.url.clone()).send().await {
            Ok(r) => Ok(Probed {
                status: r.status().as_u16(),
                date: r
                    .headers()
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            }),
            Err(e) => Err(match classify_transport(&e) {
                Outcome::Transient { kind, reason, .. } => ProbeError {
                    kind: Some(kind),
                    reason,
                },
                Outcome::Ambiguous { reason } => ProbeError { kind: None, reason },
                other => ProbeError {
                    kind: None,
                    reason: format!("{other:?}"),
                },
            }),
        }
    }
}

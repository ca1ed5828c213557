//! OTLP/HTTP metrics push (`[telemetry]`, issue 13): every `interval_secs` the agent sends the
//! series of its `/metrics` ([`exposition`]) to an OpenTelemetry Collector as an
//! `ExportMetricsServiceRequest` (protobuf, `tsunagi_opamp::otlp`), with the resource attributes
//! of its OpAMP description (`service.name`, `service.version`, `service.instance.id`, host facts,
//! the 医療機関番号, the uplink route). A central Collector → Prometheus/Grafana stack then holds
//! every hospital's metrics, though nobody can scrape an agent inside a hospital network.
//!
//! Metrics are current state, not data: a push that fails is logged (once per change from
//! working to failing and back) and the next interval sends the state then; counters are
//! cumulative, so a gap loses nothing. Nothing here carries patient data: the series are the
//! `/metrics` ones, whose labels are source names, states and reasons.
//!
//! ```text
//! daemon ─spawn─▶ run (task): every interval ─▶ ops::exposition ─▶ exposition::metrics ─▶ POST
//! ```

pub mod config;
pub mod exposition;

use std::time::Duration;

use tsunagi_opamp::otlp::{
    ExportMetricsServiceRequest, InstrumentationScope, Resource, ResourceMetrics, ScopeMetrics,
};
use tsunagi_opamp::proto::KeyValue;
use tsunagi_opamp::Message;

pub use config::TelemetryConfig;

use crate::ops::OpsState;
use crate::outbound::EndpointError;
use crate::shutdown::Shutdown;

/// Starts the push task of `[telemetry]`; refuses a URL or TLS setting that
/// must never send (plain http off loopback, https without a CA); a Collector being down does not.
pub fn spawn(
    telemetry: &TelemetryConfig,
    base_dir: &std::path::Path,
    ops: OpsState,
    resource: Vec<KeyValue>,
    shutdown: Shutdown,
) -> Result<tokio::task::JoinHandle<()>, EndpointError> {
    let mut t = telemetry.clone();
    t.resolve_paths(base_dir);
    let push = Push {
        url: t.endpoint().url()?,
        client: t.endpoint().client()?,
        token: t.token.clone(),
        resource,
    };
    let interval = Duration::from_secs(t.interval_secs);
    tracing::info!(
        interval_secs = t.interval_secs,
        "telemetry: pushing metrics over OTLP / OTLP でメトリクスを送信します"
    );
    Ok(tokio::spawn(run(push, ops, interval, shutdown)))
}

/// Where and how the metrics go.
struct Push {
    url: reqwest::Url,
    client: reqwest::Client,
    token: Option<String>,
    resource: Vec<KeyValue>,
}

fn now_ns() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

async fn run(push: Push, ops: OpsState, interval: Duration, shutdown: Shutdown) {
    let start_ns = now_ns();
    let mut failing = false;
    loop {
        let ops_now = ops.clone();
        let text = tokio::task::spawn_blocking(move || crate::ops::exposition(&ops_now))
            .await
            .unwrap_or_default();
        let body = push.request(&text, start_ns, now_ns()).encode_to_vec();
        match push.send(body).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(
                    "telemetry: the collector takes metrics again / メトリクス送信が回復しました"
                );
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "telemetry: the collector did not take the metrics; retrying each interval / メトリクスを送信できません");
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.triggered() => return,
        }
    }
}

impl Push {
    fn request(&self, text: &str, start_ns: u64, now_ns: u64) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource.clone(),
                    dropped_attributes_count: 0,
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "tsunagi".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                    }),
                    metrics: exposition::metrics(text, start_ns, now_ns),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    async fn send(&self, body: Vec<u8>) -> Result<(), String> {
        let mut req = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, tsunagi_opamp::CONTENT_TYPE)
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("HTTP {}", s.as_u16())),
        }
    }
}

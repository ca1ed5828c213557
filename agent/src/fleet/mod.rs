//! Fleet reporting: the agent reports its state out to an OpAMP server (`[fleet]`), because
//! nobody can reach into a hospital network to scrape it.
//!
//! ```text
//! daemon ─spawn─▶ run (task): every interval ─▶ report::gather (checks, store figures)
//!                                            ─▶ client::Exchange ─POST /v1/opamp─▶ fleet server
//! ```
//!
//! Invariants: the report carries counts, ages, times, state words, fixed error texts, the
//! config with its secrets removed and host facts — never patient data. The server being down
//! never stops or slows the agent's work. The agent accepts nothing from the server but the
//! `ReportFullState` flag (no remote config, no commands).
//!
//! Where things are: `config` (`[fleet]`), `identity` (instance_uid), `report` (what is sent),
//! `redact` (effective config), `client` (the exchange).

mod client;
mod config;
mod identity;
mod redact;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use config::{FleetConfig, FleetConfigError};

use crate::ops::Readiness;
use crate::shutdown::Shutdown;

/// Longest wait for the goodbye message on a clean stop.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the agent says about itself, from its config.
#[derive(Debug, Clone)]
pub struct Reporting {
    /// The data directory (the instance uid is kept there).
    pub data_dir: PathBuf,
    /// The 保険医療機関番号.
    pub institution: String,
    /// The uplink's route.
    pub route: &'static str,
    /// Every configured source's name.
    pub sources: Vec<String>,
}

/// Starts reporting when `[fleet]` is configured. Unusable settings stop the start (a plain-http
/// URL off loopback must never send); the server being down does not.
pub fn spawn(
    fleet: Option<&FleetConfig>,
    agent: &Reporting,
    base_dir: &Path,
    readiness: Arc<Readiness>,
    counters: Arc<crate::ops::Counters>,
    shutdown: Shutdown,
) -> Result<Option<tokio::task::JoinHandle<()>>, FleetConfigError> {
    let Some(fleet) = fleet else {
        return Ok(None);
    };
    let mut fleet = fleet.clone();
    fleet.resolve_paths(base_dir);
    let url = fleet.url()?;
    let client = fleet.endpoint().client()?;
    let data_dir = agent.data_dir.clone();
    let uid = identity::instance_uid(&data_dir).map_err(|e| {
        fleet.endpoint().fault(crate::outbound::Fault::Tls(format!(
            "cannot keep the instance uid in the data dir: {e}"
        )))
    })?;
    let id = report::Identity {
        uid: uid.to_string(),
        institution: agent.institution.clone(),
        route: agent.route,
        sources: agent.sources.clone(),
    };
    let exchange = client::Exchange::new(client, url, fleet.token.clone(), *uid.as_bytes());
    let round = Round {
        description: report::description(&id),
        id,
        config: redact::effective_config(&fleet.config_text),
        data_dir,
        readiness,
        counters,
    };
    let interval = Duration::from_secs(fleet.interval_secs);
    tracing::info!(instance_uid = %uid, "fleet reporting started / フリートへの報告を開始しました");
    Ok(Some(tokio::spawn(run(exchange, round, interval, shutdown))))
}

/// The attributes that describe this agent to an OpenTelemetry backend: its OpAMP description's
/// identifying and non-identifying attributes (`[telemetry]` puts them on the OTLP resource, so
/// metrics and fleet status name the same instance).
pub fn resource_attributes(
    agent: &Reporting,
) -> std::io::Result<Vec<tsunagi_opamp::proto::KeyValue>> {
    let uid = identity::instance_uid(&agent.data_dir)?;
    let d = report::description(&report::Identity {
        uid: uid.to_string(),
        institution: agent.institution.clone(),
        route: agent.route,
        sources: Vec::new(),
    });
    let mut attrs = d.identifying_attributes;
    attrs.extend(d.non_identifying_attributes);
    Ok(attrs)
}

/// What each round reads.
struct Round {
    id: report::Identity,
    description: tsunagi_opamp::proto::AgentDescription,
    config: Option<String>,
    data_dir: std::path::PathBuf,
    readiness: Arc<Readiness>,
    /// Exec source plugins' states.
    counters: Arc<crate::ops::Counters>,
}

impl Round {
    async fn state(&self) -> client::State {
        let (dir, r) = (self.data_dir.clone(), self.readiness.clone());
        let plugins = self
            .counters
            .plugins()
            .iter()
            .map(|(name, stats)| (name.clone(), stats.state()))
            .collect();
        let facts = tokio::task::spawn_blocking(move || {
            report::gather(&dir, &r, plugins, crate::clock::now_ms())
        })
        .await;
        let (health, packages) = match facts {
            Ok(f) => (report::health(&self.id, &f), Some(report::packages(&f))),
            Err(_) => (
                tsunagi_opamp::proto::ComponentHealth {
                    status: "unknown".into(),
                    last_error: "the report could not be gathered / 状態を取得できませんでした"
                        .into(),
                    ..Default::default()
                },
                None,
            ),
        };
        client::State {
            description: self.description.clone(),
            health,
            config: self.config.clone(),
            packages,
        }
    }
}

async fn run(mut x: client::Exchange, round: Round, interval: Duration, shutdown: Shutdown) {
    let mut down = false;
    let mut resend_now = false;
    loop {
        match x.report(&round.state().await).await {
            Ok(full) => {
                if down {
                    tracing::info!("fleet server reachable again / フリートサーバに再接続しました");
                }
                down = false;
                // The server asked for everything: send it at once (once; then the interval).
                resend_now = full && !resend_now;
            }
            Err(e) => {
                if !down {
                    tracing::warn!(error = %e, "fleet report not delivered; the agent keeps working and retries / フリートへの報告に失敗しました。処理は続行し再試行します");
                }
                down = true;
                resend_now = false;
            }
        }
        if resend_now {
            continue;
        }
        tokio::select! {
            _ = shutdown.triggered() => break,
            _ = tokio::time::sleep(client::jittered(interval)) => {}
        }
    }
    match tokio::time::timeout(DISCONNECT_TIMEOUT, x.disconnect()).await {
        Ok(Ok(())) => tracing::info!("fleet told of the clean stop / フリートに停止を通知しました"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "fleet not told of the stop / 停止を通知できませんでした")
        }
        Err(_) => tracing::warn!(
            "fleet not told of the stop (timeout) / 停止を通知できませんでした (タイムアウト)"
        ),
    }
}

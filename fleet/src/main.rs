//! `tsunagi-fleet`: the central fleet view. An OpAMP server (`POST /v1/opamp`, HTTP transport,
//! protobuf) that keeps the latest state of every agent in SQLite, and shows the fleet on a web
//! page in Japanese and English (`/`, `/agent/{uid}`), as JSON (`/agents.json`) and as Prometheus
//! gauges (`/metrics`).
//!
//! ```text
//! agents ──POST /v1/opamp──▶ http ──▶ fleet (memory + store: SQLite) ──▶ page, metrics, agents.json
//! ```
//!
//! HTTPS with `--tls-cert`/`--tls-key` (`tsunagi_web`, the agent's operations surface's TLS);
//! plain HTTP only on loopback. Any other address needs TLS and both tokens (agents', page's).

mod agent;
mod fleet;
mod http;
mod metrics;
mod page;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;

/// The central fleet view for tsunagi agents (OpAMP server, ja/en page, /metrics).
#[derive(Debug, Parser)]
#[command(name = "tsunagi-fleet", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one, printed at start). Off loopback it needs
    /// `--tls-cert`, `--tls-key` and both token files.
    #[arg(long, default_value = "127.0.0.1:4320")]
    listen: SocketAddr,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The SQLite database of agents' latest states.
    #[arg(long, default_value = "fleet.db")]
    db: PathBuf,
    /// File holding the bearer token agents must send (none: agents send none).
    #[arg(long)]
    agent_token_file: Option<PathBuf>,
    /// File holding the bearer token of the page, /agents.json and /metrics.
    #[arg(long)]
    page_token_file: Option<PathBuf>,
    /// The agents' reporting interval, seconds: an agent silent for 3 intervals is stale.
    #[arg(long, default_value_t = 30)]
    interval_secs: u64,
}

fn token(path: &Option<PathBuf>) -> anyhow::Result<Option<String>> {
    let Some(p) = path else { return Ok(None) };
    let t = std::fs::read_to_string(p).with_context(|| {
        format!(
            "トークンファイルを読めません / cannot read token file {}",
            p.display()
        )
    })?;
    let t = t.trim().to_string();
    if t.len() < 16 {
        bail!(
            "トークンが短すぎます (16文字以上) / token in {} is shorter than 16 characters",
            p.display()
        );
    }
    Ok(Some(t))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            tsunagi_web::tls_acceptor(cert, key)
                .map_err(|e| anyhow::anyhow!("TLS の設定を読めません / TLS {e}"))?,
        ),
        _ => None,
    };
    let (agent_token, page_token) = (
        token(&args.agent_token_file)?,
        token(&args.page_token_file)?,
    );
    exposure(
        &args,
        tls.is_some(),
        agent_token.is_some() && page_token.is_some(),
    )?;
    let fleet = fleet::Fleet::open(&args.db)
        .with_context(|| format!("cannot open {}", args.db.display()))?;
    let app = http::App {
        fleet: Arc::new(fleet),
        agent_token,
        page_token,
        stale_after_ms: (args.interval_secs.max(1) * 3 * 1000) as i64,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("tsunagi-fleet listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, "tsunagi-fleet listening");
    tsunagi_web::serve("fleet", listener, tls, http::router(app), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

/// Off loopback, the fleet view holds every hospital's state: it must speak TLS and ask both
/// tokens.
fn exposure(args: &Args, tls: bool, both_tokens: bool) -> anyhow::Result<()> {
    if args.listen.ip().is_loopback() || (tls && both_tokens) {
        return Ok(());
    }
    bail!(
        "{} は loopback ではありません。--tls-cert/--tls-key と --agent-token-file/--page-token-file が必要です / \
         {} is not a loopback address: it needs --tls-cert/--tls-key and both --agent-token-file and --page-token-file",
        args.listen,
        args.listen
    )
}

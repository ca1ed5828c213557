//! `tsunagi-fleet`: the central fleet view. An OpAMP server (`POST /v1/opamp`, HTTP transport,
//! protobuf) that keeps the latest state of every agent in SQLite, and shows the fleet on a web
//! page in Japanese and English (`/`, `/agent/{uid}`), as JSON (`/agents.json`) and as Prometheus
//! gauges (`/metrics`).
//!
//! ```text
//! agents ──POST /v1/opamp──▶ http ──▶ fleet (memory + store: SQLite) ──▶ page, metrics, agents.json
//! ```
//!
//! Plain HTTP on loopback only: this version has no TLS, so it refuses any other address (put it
//! behind a TLS-terminating reverse proxy on the same host to reach it from outside).

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
    /// Address to listen on (loopback only; port 0 picks a free one, printed at start).
    #[arg(long, default_value = "127.0.0.1:4320")]
    listen: SocketAddr,
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
    if !args.listen.ip().is_loopback() {
        bail!(
            "{} は loopback ではありません。TLS 未対応のため loopback のみで待ち受けます / \
             {} is not a loopback address: without TLS, tsunagi-fleet listens on loopback only \
             (put a TLS reverse proxy in front)",
            args.listen,
            args.listen
        );
    }
    let fleet = fleet::Fleet::open(&args.db)
        .with_context(|| format!("cannot open {}", args.db.display()))?;
    let app = http::App {
        fleet: Arc::new(fleet),
        agent_token: token(&args.agent_token_file)?,
        page_token: token(&args.page_token_file)?,
        stale_after_ms: (args.interval_secs.max(1) * 3 * 1000) as i64,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("tsunagi-fleet listening on http://{addr}");
    tracing::info!(%addr, "tsunagi-fleet listening");
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

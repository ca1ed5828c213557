//! `tsunagi-platform-sim`: runs the national-platform simulator until SIGTERM/SIGINT.
//!
//! Prints one line per listening address on stdout (`listening https://…`, `admin http://…/stats`,
//! `shared-folder …`), logs with `tracing` to stderr (never bundle contents), exits 0 on a
//! signal and 1 when it cannot start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tsunagi_sim::{start, FaultSpec, ServerTls, SimConfig, TestPki};

/// Simulator of the national 電子カルテ情報共有サービス (CLINS) bundle intake.
#[derive(Debug, Parser)]
#[command(name = "tsunagi-platform-sim", version)]
struct Args {
    /// mTLS listen address, e.g. 127.0.0.1:8443.
    #[arg(long)]
    listen: SocketAddr,
    /// Data directory (accepted/, rejected/, identifiers.log, pki/).
    #[arg(long = "data")]
    data: PathBuf,
    /// Plain-HTTP admin address (loopback only), e.g. 127.0.0.1:8444.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Do not fsync accepted bundles (benchmarks of the agent only; a crash can lose them).
    #[arg(long)]
    no_fsync: bool,
    /// Fault SPEC, e.g. `503=0.2,latency=50,seed=7`.
    #[arg(long, default_value = "")]
    faults: String,
    /// PKI directory (default DATA/pki); generated when files are missing.
    #[arg(long)]
    pki_dir: Option<PathBuf>,
    /// Enable the shared-folder route with this root.
    #[arg(long)]
    shared_folder: Option<PathBuf>,
    /// Registered 10-digit institution number (repeatable; none = accept any).
    #[arg(long = "institution")]
    institutions: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tsunagi-platform-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let faults = FaultSpec::parse(&args.faults)?;
    let pki_dir = args.pki_dir.unwrap_or_else(|| args.data.join("pki"));
    let pki = TestPki::load_or_generate(&pki_dir)?;
    let sim = start(SimConfig {
        listen: args.listen,
        admin_listen: args.admin_listen,
        data_dir: args.data,
        pki: ServerTls::from_pki(&pki),
        faults,
        shared_folder: args.shared_folder.clone(),
        institutions: args.institutions,
        fsync: !args.no_fsync,
    })
    .await?;
    println!("listening https://{}", sim.addr);
    if let Some(a) = sim.admin_addr {
        println!("admin http://{a}/stats");
    }
    if let Some(root) = &args.shared_folder {
        println!("shared-folder {}", root.display());
    }
    println!("pki {}", pki_dir.display());
    wait_for_signal().await?;
    tracing::info!("signal received; shutting down");
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

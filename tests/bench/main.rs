//! `tsunagi-bench`: the durable core's throughput and memory, measured on loopback.
//!
//! ```sh
//! cargo build --release -p tsunagi -p tsunagi-tests
//! target/release/tsunagi-bench --inputs 10000
//! ```
//! It writes N FHIR input files (Patient + Condition each), starts the platform simulator
//! (in-process, HTTPS with client certificates) and the real `tsunagi` binary found beside this
//! one (`tsunagi run`, a child process), then renames all N files into the watched folder at
//! once and reports:
//! - files/s stored: N / time until every input is committed (fsynced) in SQLite,
//! - bundles/s delivered: N / time until the simulator has accepted every bundle,
//! - the agent's peak RSS (VmHWM from /proc) and the database size.
//!
//! Run it in release mode; figures from a debug build mean nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use tsunagi_sim::fixtures::condition_input;
use tsunagi_sim::{FaultSpec, ServerTls, SimConfig, TestPki};

/// Benchmark of tsunagi's durable core (intake → store → build → deliver).
#[derive(Parser, Debug)]
struct Args {
    /// How many input files.
    #[arg(long, default_value_t = 10_000)]
    inputs: usize,
    /// Requests in flight to the simulator.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Keep the working directory here (default: a temporary one, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let agent = std::env::current_exe()?
        .parent()
        .map(|p| p.join("tsunagi"))
        .context("locating tsunagi")?;
    if !agent.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p tsunagi`",
            agent.display()
        );
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run the release build for figures");
    }
    for d in ["inbox", "staging", "agent", "pki", "platform"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let n = args.inputs;
    let started = Instant::now();
    for i in 0..n {
        std::fs::write(
            dir.join("staging").join(format!("in-{i:06}.json")),
            condition_input(i),
        )?;
    }
    eprintln!(
        "wrote {n} inputs in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Runtime::new()?;
    let pki = TestPki::generate(&dir.join("pki"))?;
    let sim = rt.block_on(tsunagi_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse()?,
        admin_listen: None,
        data_dir: dir.join("platform"),
        pki: ServerTls::from_pki(&pki),
        faults: FaultSpec::default(),
        shared_folder: None,
        institutions: vec![],
        fsync: false,
    }))?;
    let config = dir.join("tsunagi.toml");
    std::fs::write(
        &config,
        format!(
            r#"[agent]
data_dir = "agent"
institution_number = "1318814790"
department = ["01", "内科"]
disk_reserve_mb = 0
[[source.folder]]
name = "bench"
path = "inbox"
mode = "move"
stable_ms = 500
[uplink]
route = "web-api"
concurrency = {c}
[uplink.web_api]
url = "https://localhost:{port}/clins/v1/bundles"
ca_cert = "{ca}"
client_cert = "{cert}"
client_key = "{key}"
"#,
            c = args.concurrency,
            port = sim.addr.port(),
            ca = pki.ca_cert.display(),
            cert = pki.client_cert.display(),
            key = pki.client_key.display()
        ),
    )?;
    let log = std::fs::File::create(dir.join("agent.log"))?;
    let mut child = Command::new(&agent)
        .args(["run", "--config"])
        .arg(&config)
        .env("TSUNAGI_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting tsunagi")?;
    std::thread::sleep(Duration::from_millis(500));

    let t0 = Instant::now();
    for i in 0..n {
        let name = format!("in-{i:06}.json");
        std::fs::rename(
            dir.join("staging").join(&name),
            dir.join("inbox").join(&name),
        )?;
    }
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let db = dir.join("agent").join("tsunagi.db");
    let (mut stored_at, mut delivered_at) = (None, None);
    let mut peak_rss_kb = 0;
    while delivered_at.is_none() || stored_at.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("timed out: stored {stored_at:?}, delivered {delivered_at:?}");
        }
        peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        if stored_at.is_none() && count_inputs(&agent, &dir.join("agent")).unwrap_or(0) >= n {
            stored_at = Some(t0.elapsed());
        }
        if delivered_at.is_none() && sim.stats().accepted as usize >= n {
            delivered_at = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    let stats = sim.stats();
    rt.block_on(sim.shutdown());
    let stored = stored_at.unwrap_or_default().as_secs_f64();
    let delivered = delivered_at.unwrap_or_default().as_secs_f64();
    let db_mb = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    println!(
        "tsunagi-bench: {n} inputs, concurrency {}",
        args.concurrency
    );
    println!(
        "  stored (committed, fsynced)  {stored:>7.2} s  {:>9.0} files/s",
        n as f64 / stored
    );
    println!(
        "  delivered (platform 201)     {delivered:>7.2} s  {:>9.0} bundles/s",
        n as f64 / delivered
    );
    println!(
        "  agent peak RSS               {:>7.1} MiB",
        peak_rss_kb as f64 / 1024.0
    );
    println!("  database size                {db_mb:>7.1} MiB");
    println!(
        "  platform: accepted {} duplicates {} rejected {}",
        stats.accepted, stats.duplicates, stats.rejected
    );
    Ok(())
}

/// Peak resident set size of a process, from /proc (Linux).
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Inputs committed so far, via `tsunagi status --json` (a reader; safe while the agent runs).
fn count_inputs(agent: &Path, data: &Path) -> Option<usize> {
    let out = Command::new(agent)
        .args(["status", "--data"])
        .arg(data)
        .arg("--json")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let n = ["inputs_received", "inputs_processed", "inputs_quarantined"]
        .iter()
        .filter_map(|k| v[k].as_u64())
        .sum::<u64>();
    Some(n as usize)
}

//! `tsunagi-bench`: the durable core's throughput and memory, measured on loopback.
//!
//! ```sh
//! cargo build --release -p tsunagi -p tsunagi-tests
//! target/release/tsunagi-bench --inputs 10000
//! ```
//! It prepares N patients' worth of inputs of one `--kind` ([`workload`]: FHIR files, CSV
//! exports through the declarative specs, or an exec source plugin), starts the platform
//! simulator (in-process, HTTPS with client certificates) and the real `tsunagi` binary found
//! beside this one (`tsunagi run`, a child process), then renames all files into the watched
//! folders at once (the plugin starts with the agent) and reports:
//! - inputs/s stored: inputs / time until every input is committed (fsynced) in SQLite,
//! - records/s processed: N 傷病名 records / time until every input is processed (parsed,
//!   mapped, built, validated, queued),
//! - bundles/s delivered: N / time until the simulator has accepted every bundle,
//! - the agent's peak RSS (VmHWM from /proc) and the database size.
//!
//! Run it in release mode; figures from a debug build mean nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use tsunagi_sim::{FaultSpec, ServerTls, SimConfig, TestPki};

mod workload;
use workload::Kind;

/// Benchmark of tsunagi's durable core (intake → store → build → deliver).
#[derive(Parser, Debug)]
struct Args {
    /// How many patients (one 傷病名 bundle each).
    #[arg(long, default_value_t = 10_000)]
    inputs: usize,
    /// What carries them.
    #[arg(long, value_enum, default_value_t = Kind::Files)]
    kind: Kind,
    /// `--kind csv`: rows per CSV file.
    #[arg(long, default_value_t = 100)]
    rows: usize,
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
    for d in ["agent", "pki", "platform"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let n = args.inputs;
    let started = Instant::now();
    let work = workload::prepare(args.kind, &dir, n, args.rows)?;
    eprintln!(
        "prepared {n} patients ({:?}) in {:.1} s",
        args.kind,
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
{sources}
[uplink]
route = "web-api"
concurrency = {c}
[uplink.web_api]
url = "https://localhost:{port}/clins/v1/bundles"
ca_cert = "{ca}"
client_cert = "{cert}"
client_key = "{key}"
"#,
            sources = work.sources,
            c = args.concurrency,
            port = sim.addr.port(),
            ca = pki.ca_cert.display(),
            cert = pki.client_cert.display(),
            key = pki.client_key.display()
        ),
    )?;
    let log = std::fs::File::create(dir.join("agent.log"))?;
    // The exec plugin starts with the agent: its clock starts here, start-up included.
    let spawned = Instant::now();
    let mut child = Command::new(&agent)
        .args(["run", "--config"])
        .arg(&config)
        .env("TSUNAGI_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting tsunagi")?;
    std::thread::sleep(Duration::from_millis(500));
    let data = dir.join("agent");
    // The patient master goes in first and is processed before the clock starts.
    for (from, to) in &work.before {
        std::fs::rename(from, to)?;
    }
    let ahead = work.before.len();
    let before_started = Instant::now();
    while count(&agent, &data, &["inputs_processed"]).unwrap_or(0) < ahead {
        std::thread::sleep(Duration::from_millis(50));
    }
    if ahead > 0 {
        let secs = before_started.elapsed().as_secs_f64();
        eprintln!(
            "before the clock: the patient master processed in {secs:.2} s ({:.0} patients/s)",
            n as f64 / secs
        );
    }

    let t0 = if args.kind == Kind::Exec {
        spawned
    } else {
        Instant::now()
    };
    for (from, to) in &work.feed {
        std::fs::rename(from, to)?;
    }
    let total = ahead + work.inputs;
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let db = dir.join("agent").join("tsunagi.db");
    let (mut stored_at, mut processed_at, mut delivered_at) = (None, None, None);
    let mut peak_rss_kb = 0;
    const ALL: [&str; 3] = ["inputs_received", "inputs_processed", "inputs_quarantined"];
    while delivered_at.is_none() || stored_at.is_none() || processed_at.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("timed out: stored {stored_at:?}, processed {processed_at:?}, delivered {delivered_at:?}");
        }
        peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        if stored_at.is_none() && count(&agent, &data, &ALL).unwrap_or(0) >= total {
            stored_at = Some(t0.elapsed());
        }
        if processed_at.is_none()
            && count(&agent, &data, &["inputs_processed"]).unwrap_or(0) >= total
        {
            processed_at = Some(t0.elapsed());
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
    let processed = processed_at.unwrap_or_default().as_secs_f64();
    let delivered = delivered_at.unwrap_or_default().as_secs_f64();
    let db_mb = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    println!(
        "tsunagi-bench: {n} patients as {:?} ({} inputs), concurrency {}",
        args.kind, work.inputs, args.concurrency
    );
    println!(
        "  stored (committed, fsynced)  {stored:>7.2} s  {:>9.0} inputs/s",
        work.inputs as f64 / stored
    );
    println!(
        "  processed (built, queued)    {processed:>7.2} s  {:>9.0} records/s",
        n as f64 / processed
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

/// The sum of these `tsunagi status --json` counts (a reader; safe while the agent runs).
fn count(agent: &Path, data: &Path, keys: &[&str]) -> Option<usize> {
    let out = Command::new(agent)
        .args(["status", "--data"])
        .arg(data)
        .arg("--json")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let n = keys.iter().filter_map(|k| v[k].as_u64()).sum::<u64>();
    Some(n as usize)
}

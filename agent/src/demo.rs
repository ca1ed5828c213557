//! `tsunagi demo`: the whole agent on loopback, with no configuration.
//!
//! It generates a throw-away PKI, starts the bundled platform simulator (HTTPS with client
//! certificates, on 127.0.0.1), writes a config for the agent into the data directory, feeds it
//! the synthetic samples shipped in `config-examples/samples/` (compiled into the binary), waits
//! until every sample has ended where it should, prints a summary, and exits 0 only if every
//! sample's end state matches `config-examples/samples/expected.toml`.
//!
//! `--serve` keeps both running until SIGTERM/SIGINT: a sandbox where a hospital drops its own
//! files into `DIR/inbox` before go-live. Started again on the same `DIR`, it keeps the masters
//! and mapping rows its user loaded (synthetic ones only fill kinds and categories with none).
//! The banner names the status page, `/metrics`, `/report` and the MLLP address.

use crate::console::outln;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Deserialize;

use crate::shutdown::Shutdown;
use crate::store::{self, InputState, OutboxState};

/// The samples, compiled in so the demo works from an installed binary too.
const SAMPLES: &[(&str, &[u8])] = &[
    (
        "01-conditions-bundle.json",
        include_bytes!("../../config-examples/samples/01-conditions-bundle.json"),
    ),
    (
        "02-allergy.json",
        include_bytes!("../../config-examples/samples/02-allergy.json"),
    ),
    (
        "03-lab-report.json",
        include_bytes!("../../config-examples/samples/03-lab-report.json"),
    ),
    (
        "04-patient-only.json",
        include_bytes!("../../config-examples/samples/04-patient-only.json"),
    ),
    (
        "05-condition-for-known-patient.json",
        include_bytes!("../../config-examples/samples/05-condition-for-known-patient.json"),
    ),
    (
        "06-ready-made-clins.json",
        include_bytes!("../../config-examples/samples/06-ready-made-clins.json"),
    ),
    (
        "07-unregistered-institution.json",
        include_bytes!("../../config-examples/samples/07-unregistered-institution.json"),
    ),
    (
        "08-medication-request.json",
        include_bytes!("../../config-examples/samples/08-medication-request.json"),
    ),
    (
        "09-referral-document.json",
        include_bytes!("../../config-examples/samples/09-referral-document.json"),
    ),
    (
        "10-discharge-summary.json",
        include_bytes!("../../config-examples/samples/10-discharge-summary.json"),
    ),
    (
        "11-checkup-report.json",
        include_bytes!("../../config-examples/samples/11-checkup-report.json"),
    ),
    (
        "broken.json",
        include_bytes!("../../config-examples/samples/broken.json"),
    ),
];

/// The synthetic SS-MIX2 storage (one invented patient), by path in the storage.
const SSMIX2_SAMPLES: &[(&str, &[u8])] = &[
    (
        "999/000/9990000001/-/ADT-00/9990000001_-_ADT-00_000000000000001_20250401090000000_-_1",
        include_bytes!("../../config-examples/samples/ssmix2/999/000/9990000001/-/ADT-00/9990000001_-_ADT-00_000000000000001_20250401090000000_-_1"),
    ),
    (
        "999/000/9990000001/-/PPR-01/9990000001_-_PPR-01_000000000000002_20250401100000000_-_1",
        include_bytes!("../../config-examples/samples/ssmix2/999/000/9990000001/-/PPR-01/9990000001_-_PPR-01_000000000000002_20250401100000000_-_1"),
    ),
    (
        "999/000/9990000001/20250401/OML-11/9990000001_20250401_OML-11_000000000000003_20250401120000000_01_1",
        include_bytes!("../../config-examples/samples/ssmix2/999/000/9990000001/20250401/OML-11/9990000001_20250401_OML-11_000000000000003_20250401120000000_01_1"),
    ),
];

/// The synthetic national masters (kind, file name, bytes); `clins-lab` files share a folder.
const MASTERS: &[(&str, &str, &[u8])] = &[
    ("medis-disease", "nmain900.txt", include_bytes!("../../config-examples/masters/nmain900.txt")),
    ("medis-modifier", "medis-modifiers.csv", include_bytes!("../../config-examples/masters/medis-modifiers.csv")),
    ("jlac10", "jlac10.csv", include_bytes!("../../config-examples/masters/jlac10.csv")),
    ("jfagy", "JFAGY_SYNTH_20250401_R01.csv", include_bytes!("../../config-examples/masters/JFAGY_SYNTH_20250401_R01.csv")),
    ("clins-lab", "clins-lab/CodeSystem-synthetic-JLAC10-corelabo.json", include_bytes!("../../config-examples/masters/clins-lab/CodeSystem-synthetic-JLAC10-corelabo.json")),
    ("clins-lab", "clins-lab/CodeSystem-synthetic-JLAC10-infectionlabo.json", include_bytes!("../../config-examples/masters/clins-lab/CodeSystem-synthetic-JLAC10-infectionlabo.json")),
];

/// The hospital mapping table of the demo (two local codes of the SS-MIX2 sample).
const MAPPING: &[u8] = include_bytes!("../../config-examples/mapping-example.csv");

/// The SS-MIX2 source's name in the demo.
const SSMIX2_SOURCE: &str = "demo-ssmix2";
const EXPECTED: &str = include_str!("../../config-examples/samples/expected.toml");

/// The demo's source name.
const SOURCE: &str = "demo-inbox";

#[derive(Deserialize)]
struct Expected {
    institution: String,
    files: BTreeMap<String, ExpectedFile>,
    /// The SS-MIX2 sample storage's files, by path in the storage.
    #[serde(default)]
    ssmix2: BTreeMap<String, ExpectedFile>,
}

impl Expected {
    /// Every expected input as (source, origin, expectation).
    fn inputs(&self) -> impl Iterator<Item = (&'static str, &String, &ExpectedFile)> {
        self.files
            .iter()
            .map(|(n, e)| (SOURCE, n, e))
            .chain(self.ssmix2.iter().map(|(n, e)| (SSMIX2_SOURCE, n, e)))
    }
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct ExpectedFile {
    #[serde(default)]
    delivered: i64,
    #[serde(default)]
    rejected: i64,
    #[serde(default)]
    held: i64,
    #[serde(default)]
    patients: i64,
    #[serde(default)]
    quarantined: bool,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    why: Option<String>,
}

/// Runs the demo; `Ok(true)` when every sample ended where expected.
pub fn run(data: Option<PathBuf>, serve: bool) -> anyhow::Result<bool> {
    let started = Instant::now();
    let expected: Expected = toml::from_str(EXPECTED).context("embedded expected.toml")?;
    let tmp;
    let dir = match data {
        // Absolute once, here: the generated config names files by absolute path, and its
        // relative paths are joined to its own directory (issue 9: `--data demo` gave
        // `demo/demo/pki/ca.pem`).
        Some(d) => std::path::absolute(&d)
            .with_context(|| format!("resolving {} / パスを解決できません", d.display()))?,
        None => {
            tmp = tempfile::Builder::new().prefix("tsunagi-demo-").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    for sub in ["inbox", "platform", "pki", "ssmix2", "masters"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    owner_only_dir(&dir.join("agent"))?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let pki = tsunagi_sim::TestPki::load_or_generate(&dir.join("pki")).context("generating test certificates")?;
        let sim = tsunagi_sim::start(tsunagi_sim::SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            data_dir: dir.join("platform"),
            pki: tsunagi_sim::ServerTls::from_pki(&pki),
            faults: tsunagi_sim::FaultSpec::default(),
            shared_folder: None,
            institutions: vec![expected.institution.clone()],
            fsync: true,
        })
        .await
        .context("starting the platform simulator")?;
        let config_path = write_config(&dir, &pki, sim.addr, &expected.institution, serve)?;
        let updates = match serve {
            true => Some(crate::update::demo::start(&dir).await.context("preparing the sandbox's update")?),
            false => None,
        };
        if let Some(u) = &updates {
            use std::io::Write;
            std::fs::OpenOptions::new().append(true).open(&config_path)?.write_all(u.config_toml().as_bytes())?;
        }
        let fleet = if serve { sandbox_fleet(&dir, &config_path) } else { None };
        let (cfg, _) = crate::config::load(&config_path).map_err(|p| {
            anyhow::anyhow!("demo config: {}", p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))
        })?;
        load_terminology(&dir, &cfg.agent.data_dir)?;
        let mut signals = crate::shutdown::StopSignals::install().context("cannot catch stop signals")?;
        let shutdown = Shutdown::new();
        let running = crate::daemon::start(&cfg, &dir, shutdown.clone(), crate::reload_request::ReloadRequest::new()).await?;
        feed_samples(&dir.join("inbox"))?;
        write_storage(&dir.join("ssmix2"))?;

        outln!("tsunagi demo / デモ")?;
        outln!("  data directory   {}", dir.display())?;
        outln!("  config           {}", config_path.display())?;
        outln!("  platform (sim)   https://{}/clins/v1/bundles (mTLS)", sim.addr)?;
        outln!("  SS-MIX2 storage  {}", dir.join("ssmix2").display())?;
        outln!("  masters, mapping {}  (synthetic; see config-examples/masters)", dir.join("agent/terminology.db").display())?;
        if let Some(a) = sim.admin_addr {
            outln!("  platform stats   http://{a}/stats")?;
        }
        print_ops(running.ops_url())?;
        let ok = if serve {
            outln!("  inbox            {}  (drop FHIR JSON files here / ここにファイルを置いてください)", dir.join("inbox").display())?;
            print_listening(running.listening())?;
            if let Some(u) = &updates {
                print_update(u, &config_path)?;
            }
            print_fleet(fleet.as_ref())?;
            outln!("serving until SIGTERM/SIGINT (Ctrl-C) / 停止するまで待機します")?;
            signals.recv().await;
            true
        } else {
            // The signals are caught now, so Ctrl-C must end the wait itself (and stop cleanly).
            let settled = tokio::select! {
                s = wait_settled(&cfg.agent.data_dir, &expected, Duration::from_secs(90)) => s,
                _ = signals.recv() => false,
            };
            if !settled {
                outln!("  (timed out waiting for every sample to settle)")?;
            }
            true
        };
        shutdown.trigger();
        running.wait().await;
        drop(fleet);
        let stats = sim.stats();
        sim.shutdown().await;
        let verdict = report(&cfg.agent.data_dir, &expected, started.elapsed())?;
        outln!(
            "  platform saw: received {} accepted {} rejected {} duplicates {}",
            stats.received, stats.accepted, stats.rejected, stats.duplicates
        )?;
        Ok::<bool, anyhow::Error>(ok && (serve || verdict))
    })
}

/// The banner's lines for the sandbox's listeners (MLLP, FHIR).
fn print_listening(listening: &[crate::source::kinds::Listening]) -> std::io::Result<()> {
    use crate::source::kinds::SourceKind;
    for l in listening {
        let at = &l.at;
        match l.kind {
            crate::source::mllp::Listeners::NAME => outln!("  MLLP (HL7 v2)    {at}  (point the EHR's test feed here / 電子カルテのテスト送信先)")?,
            crate::source::fhir_http::Endpoints::NAME => outln!("  FHIR endpoint    {at}  (POST Bundles or resources, no token on loopback / FHIR の送信先)")?,
            kind => outln!("  {kind:<16} {at}")?,
        }
    }
    Ok(())
}

/// The banner's lines for the operations surface: status page, metrics, this month's report.
fn print_ops(url: Option<&str>) -> std::io::Result<()> {
    let Some(url) = url else {
        outln!(
            "  status page      not started, see the log / 運用画面は起動していません(ログを参照)"
        )?;
        return Ok(());
    };
    let month = chrono::Utc::now()
        .with_timezone(&tsunagi_clins::time::jst())
        .format("%Y-%m");
    outln!("  status page      {url}/  (English: {url}/?lang=en) / 稼働状況")?;
    outln!("  metrics          {url}/metrics  (Prometheus)")?;
    outln!("  monthly report   {url}/report?month={month} / 月次品質レポート")?;
    Ok(())
}

/// Starts the sandbox's fleet view and points the agent at it; `None` (said in the banner) when
/// `tsunagi-fleet` was not built or did not start.
fn sandbox_fleet(dir: &Path, config: &Path) -> Option<crate::demo_fleet::SandboxFleet> {
    let bin = crate::demo_fleet::binary()?;
    let fleet = crate::demo_fleet::start(dir, &bin)
        .map_err(|e| tracing::warn!(error = %e, "demo: fleet view not started"))
        .ok()?;
    use std::io::Write;
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .open(config)
        .and_then(|mut f| f.write_all(fleet.config_toml().as_bytes()));
    appended
        .map_err(|e| tracing::warn!(error = %e, "demo: cannot point the agent at the fleet view"))
        .ok()?;
    Some(fleet)
}

/// The banner's line for the fleet view.
fn print_fleet(fleet: Option<&crate::demo_fleet::SandboxFleet>) -> std::io::Result<()> {
    match fleet {
        Some(f) => outln!(
            "  fleet view       {}/  (page token in {}; the agent reports every 5 s / フリート画面)",
            f.url,
            f.page_token_file.display()
        )?,
        None => outln!(
            "  fleet view       not started: build it with `cargo build -p tsunagi-fleet` / フリート画面は未ビルドです"
        )?,
    }
    Ok(())
}

/// The banner's lines for the sandbox's signed update.
fn print_update(u: &crate::update::demo::SandboxUpdates, config: &Path) -> std::io::Result<()> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tsunagi"));
    outln!(
        "  update manifest  {}  ({} = this binary, signed with {})",
        u.manifest_url,
        u.version,
        u.dir.join("sandbox.key").display()
    )?;
    outln!(
        "  try the update   {} update apply --config {} --dry-run",
        exe.display(),
        config.display()
    )?;
    outln!("                   (corrupt {} and it refuses, the binary unchanged; restore it and it verifies / 署名検証の体験)", u.archive.display())?;
    outln!("                   (the manifest appears once this binary is packed and signed, a few seconds / 準備に数秒かかります)")?;
    Ok(())
}

fn write_config(
    dir: &Path,
    pki: &tsunagi_sim::TestPki,
    addr: SocketAddr,
    institution: &str,
    serve: bool,
) -> anyhow::Result<PathBuf> {
    // The sandbox also takes HL7 v2 over MLLP on the usual port, and FHIR over HTTP.
    let sandbox = if serve {
        format!(
            r#"
[[source.mllp]]
name = "demo-mllp"
listen = "{mllp}"

[[source.fhir]]
name = "demo-fhir"
listen = "{fhir}"
"#,
            mllp = crate::source::mllp::config::DEFAULT_LISTEN,
            fhir = crate::source::fhir_http::config::DEFAULT_LISTEN
        )
    } else {
        // A run of a few seconds: any free port, so it never collides with a running agent.
        "\n[ops]\nlisten = \"127.0.0.1:0\"\n".to_string()
    };
    let text = format!(
        r#"# Written by `tsunagi demo`: the agent's configuration for this sandbox.
[agent]
data_dir = "agent"
institution_number = "{institution}"
disk_reserve_mb = 64
department = ["01", "内科"]

[[source.folder]]
name = "{SOURCE}"
format = "fhir-json"
path = "inbox"
mode = "move"
watch = "events"
stable_ms = 300

[[source.ssmix2]]
name = "{SSMIX2_SOURCE}"
path = "ssmix2"
stable_ms = 300
{sandbox}
[uplink]
route = "web-api"
concurrency = 4
[uplink.web_api]
url = "https://localhost:{port}/clins/v1/bundles"
ca_cert = "{ca}"
client_cert = "{cert}"
client_key = "{key}"
[uplink.retry]
initial_ms = 200
max_secs = 5
"#,
        port = addr.port(),
        ca = pki.ca_cert.display(),
        cert = pki.client_cert.display(),
        key = pki.client_key.display(),
    );
    let p = dir.join(crate::config::FILE_NAME);
    std::fs::write(&p, text)?;
    Ok(p)
}

/// Writes the samples in file-name order, each renamed into place whole.
fn feed_samples(inbox: &Path) -> anyhow::Result<()> {
    for (name, bytes) in SAMPLES {
        let tmp = inbox.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, inbox.join(name))?;
    }
    Ok(())
}

/// Creates the agent's data directory owner-only (0700), like `store::open` does, and tightens
/// one an earlier demo created 0755.
fn owner_only_dir(path: &Path) -> anyhow::Result<()> {
    crate::owner_only::create_dir(path).with_context(|| format!("creating {}", path.display()))
}

/// Loads the synthetic masters and the mapping table into the agent's `terminology.db`, as
/// hospital IT would with `tsunagi masters load` and `tsunagi mapping import`. A sandbox keeps
/// what its user loaded: only kinds with no stored version get the synthetic master, and only
/// mapping categories with no rows get the example's rows.
fn load_terminology(dir: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let folder = dir.join("masters");
    std::fs::create_dir_all(folder.join("clins-lab"))?;
    for (_, name, bytes) in MASTERS {
        std::fs::write(folder.join(name), bytes)?;
    }
    let mut conn = crate::store::terminology::open(data_dir)?;
    let stored: BTreeSet<crate::masters::MasterKind> = crate::masters::status(&conn)?
        .into_iter()
        .map(|s| s.kind)
        .collect();
    let mut loaded = BTreeSet::new();
    for (kind_name, name, _) in MASTERS {
        let kind = kind_name.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        if stored.contains(&kind) || !loaded.insert(kind) {
            continue;
        }
        let path = match kind {
            crate::masters::MasterKind::ClinsLab => folder.join("clins-lab"),
            _ => folder.join(name),
        };
        crate::masters::load(&mut conn, kind, &path, None)?;
    }
    let mut file = crate::mapping::read_file(MAPPING).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mapped: BTreeSet<_> = crate::store::terminology::mapping::load(&conn, None)?
        .into_iter()
        .map(|r| r.category)
        .collect();
    file.rows.retain(|(_, r)| !mapped.contains(&r.category));
    if !file.rows.is_empty() {
        crate::store::terminology::mapping::import(
            &mut conn,
            &file,
            crate::mapping::ImportMode::Replace,
        )?;
    }
    Ok(())
}

/// Writes the SS-MIX2 sample storage (each file renamed into place whole).
fn write_storage(root: &Path) -> anyhow::Result<()> {
    for (rel, bytes) in SSMIX2_SAMPLES {
        let path = root.join(rel);
        let parent = path.parent().context("storage path")?;
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(".tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// What one sample ended as, read from the store.
fn actual(
    conn: &rusqlite::Connection,
    source: &str,
    name: &str,
) -> anyhow::Result<Option<(ExpectedFile, bool)>> {
    let Some(o) = store::demo::sample_outcome(conn, source, name)? else {
        return Ok(None);
    };
    let settled = o.state != InputState::Received && o.unsettled == 0;
    Ok(Some((
        ExpectedFile {
            delivered: o.delivered,
            rejected: o.rejected,
            held: o.held,
            patients: o.patients,
            quarantined: o.state == InputState::Quarantined,
            ..Default::default()
        },
        settled,
    )))
}

async fn wait_settled(data_dir: &Path, expected: &Expected, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let done = store::open_existing(data_dir).ok().is_some_and(|conn| {
            expected
                .inputs()
                .all(|(source, name, _)| matches!(actual(&conn, source, name), Ok(Some((_, true)))))
        });
        if done {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Prints the per-sample table and the totals; returns whether everything matched.
fn report(data_dir: &Path, expected: &Expected, elapsed: Duration) -> anyhow::Result<bool> {
    let conn = store::open_existing(data_dir)?;
    let mut all_ok = true;
    outln!()?;
    outln!(
        "  {:<40} {:>9} {:>8} {:>5} {:>8} {:>11}  verdict",
        "sample",
        "delivered",
        "rejected",
        "held",
        "patients",
        "quarantined"
    )?;
    for (source, name, want) in expected.inputs() {
        let got = actual(&conn, source, name)?.map(|(a, _)| a);
        // SS-MIX2 paths are long and start with the patient ID: show the data type.
        let name = &match name.rsplit('/').nth(1) {
            Some(data_type) if source == SSMIX2_SOURCE => format!("ssmix2 {data_type}"),
            _ => name.clone(),
        };
        let ok = got.as_ref().is_some_and(|g| {
            g.delivered == want.delivered
                && g.rejected == want.rejected
                && g.held == want.held
                && g.patients == want.patients
                && g.quarantined == want.quarantined
        });
        all_ok &= ok;
        match got {
            Some(g) => outln!(
                "  {:<40} {:>9} {:>8} {:>5} {:>8} {:>11}  {}",
                name,
                g.delivered,
                g.rejected,
                g.held,
                g.patients,
                if g.quarantined { "yes" } else { "-" },
                if ok { "as expected" } else { "NOT AS EXPECTED" }
            )?,
            None => outln!("  {name:<40} (never received)  NOT AS EXPECTED")?,
        }
        if !ok {
            outln!("      expected: {want:?}")?;
        }
    }
    let s = store::query::status(&conn)?;
    outln!()?;
    outln!(
        "  received {}  delivered {}  rejected {}  held {}  quarantined {}  elapsed {:.1} s",
        s.inputs_received + s.inputs_processed + s.inputs_quarantined,
        s.count(OutboxState::Delivered),
        s.count(OutboxState::Rejected),
        s.count(OutboxState::Held),
        s.inputs_quarantined,
        elapsed.as_secs_f64()
    )?;
    outln!(
        "  {}",
        if all_ok {
            "every input ended where it should / すべての入力が期待どおりに処理されました"
        } else {
            "some inputs did not end where they should / 期待と異なる結果があります"
        }
    )?;
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masters::MasterKind;

    /// Issue 9: `demo --serve --data DIR` started again keeps the masters and mapping rows its
    /// user loaded; only kinds and categories with nothing stored get the synthetic ones.
    #[test]
    fn a_sandbox_keeps_what_its_user_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("agent");
        let jfagy = MASTERS.iter().find(|m| m.0 == "jfagy").unwrap().2;
        let text = String::from_utf8(jfagy.to_vec()).unwrap();
        // The user's own J-FAGY file: the synthetic one without its last row.
        let own: Vec<&str> = text.lines().collect();
        let user_file = dir.path().join("own-jfagy.csv");
        std::fs::write(&user_file, own[..own.len() - 1].join("\n")).unwrap();
        let mut conn = crate::store::terminology::open(&data).unwrap();
        crate::masters::load(
            &mut conn,
            MasterKind::Jfagy,
            &user_file,
            Some("hospital-own"),
        )
        .unwrap();
        let rows = "category,source_system,local_system,local_code,local_name,standard_system,standard_code,standard_display,note\n\
             lab,HIS,99H,K1,カリウム,http://medis.or.jp/CodeSystem/master-JLAC10-17digits,3H015000002326101,カリウム,own\n";
        let own_mapping = crate::mapping::read_file(rows.as_bytes()).unwrap();
        crate::store::terminology::mapping::import(
            &mut conn,
            &own_mapping,
            crate::mapping::ImportMode::Replace,
        )
        .unwrap();

        for _ in 0..2 {
            load_terminology(dir.path(), &data).unwrap();
        }

        let status = crate::masters::status(&conn).unwrap();
        let active = |kind| {
            status
                .iter()
                .find(|s| s.kind == kind)
                .and_then(|s| s.active.as_ref())
                .map(|v| v.label.clone())
        };
        assert_eq!(active(MasterKind::Jfagy).as_deref(), Some("hospital-own"));
        assert!(
            active(MasterKind::MedisDisease).is_some(),
            "missing kinds are loaded"
        );
        let rows = crate::store::terminology::mapping::load(&conn, None).unwrap();
        let labs: Vec<&str> = rows
            .iter()
            .filter(|r| r.category == crate::map::category::Category::Lab)
            .map(|r| r.local_code.as_str())
            .collect();
        assert_eq!(labs, ["K1"], "the user's lab rows stay, alone");
        assert!(
            rows.iter()
                .any(|r| r.category == crate::map::category::Category::Allergen),
            "a category with no rows gets the example's"
        );
    }
}

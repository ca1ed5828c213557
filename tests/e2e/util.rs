//! Helpers for the end-to-end tests: the real `tsunagi` binary, the simulator, real files.
//!
//! Every test gets its own temporary directory with `inbox/`, `agent/` (the database), `pki/`
//! and `platform/` (the simulator's data). The agent runs as a child process (`tsunagi run`)
//! whose stderr is captured to `agent.log`, so tests can assert that no patient data was logged.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tsunagi_sim::{FaultSpec, RunningSim, ServerTls, SimConfig, TestPki};

/// Institution number used by every test (the IG's example number).
pub const INSTITUTION: &str = "1318814790";

/// A loopback port free at the time of asking (the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `tsunagi-fleet` binary beside the agent's (`tsunagi demo --serve` starts it from there).
/// `cargo test --workspace` builds it for `fleet/tests/cli.rs`, as it builds the agent for
/// `agent/tests/cli.rs`; a run of this package alone builds it here on demand.
pub fn fleet_bin() -> PathBuf {
    let bin = agent_bin().with_file_name(format!("tsunagi-fleet{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "tsunagi-fleet"])
            .status()
            .expect("cargo build -p tsunagi-fleet");
        assert!(status.success(), "building tsunagi-fleet failed");
    }
    bin
}

/// The `tsunagi` binary built for this test run.
pub fn agent_bin() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_tsunagi") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/e2e-<hash> → target/<profile>/tsunagi
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("tsunagi");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "tsunagi", "--bin", "tsunagi"])
            .status()
            .expect("cargo build -p tsunagi");
        assert!(status.success(), "building the tsunagi binary failed");
    }
    bin
}

/// A test's world: directories, PKI, and (once started) the simulator and the agent.
pub struct World {
    pub dir: tempfile::TempDir,
    pub pki: TestPki,
    pub sim: Option<RunningSim>,
    pub agent: Option<Child>,
    pub rt: tokio::runtime::Runtime,
    pub extra_config: String,
    pub route: Route,
}

/// Which uplink route the agent uses.
#[derive(Clone, Copy, PartialEq)]
pub enum Route {
    WebApi,
    SharedFolder,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["inbox", "agent", "pki", "platform", "terminal"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        let pki = TestPki::generate(&dir.path().join("pki")).expect("pki");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        World {
            dir,
            pki,
            sim: None,
            agent: None,
            rt,
            extra_config: String::new(),
            route: Route::WebApi,
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Starts the simulator with these faults (and the wrong CA's certificate if `wrong_cert`).
    pub fn start_sim(&mut self, faults: &str, wrong_cert: bool) {
        let tls = if wrong_cert {
            ServerTls::wrong_ca_from_pki(&self.pki)
        } else {
            ServerTls::from_pki(&self.pki)
        };
        let cfg = SimConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            admin_listen: None,
            data_dir: self.path("platform"),
            pki: tls,
            faults: FaultSpec::parse(faults).expect("fault spec"),
            shared_folder: (self.route == Route::SharedFolder).then(|| self.path("terminal")),
            institutions: vec![INSTITUTION.to_string()],
            fsync: true,
        };
        let sim = self
            .rt
            .block_on(tsunagi_sim::start(cfg))
            .expect("simulator starts");
        self.sim = Some(sim);
    }

    pub fn sim(&self) -> &RunningSim {
        self.sim.as_ref().expect("simulator started")
    }

    /// Writes the agent's config file and returns its path.
    pub fn write_config(&self) -> PathBuf {
        let addr = self.sim().addr;
        let uplink = match self.route {
            Route::WebApi => format!(
                r#"[uplink]
route = "web-api"
concurrency = 4
[uplink.web_api]
url = "https://localhost:{port}/clins/v1/bundles"
ca_cert = "{ca}"
client_cert = "{cert}"
client_key = "{key}"
request_timeout_secs = 5
connect_timeout_secs = 2
[uplink.retry]
initial_ms = 50
max_secs = 1
"#,
                port = addr.port(),
                ca = self.pki.ca_cert.display(),
                cert = self.pki.client_cert.display(),
                key = self.pki.client_key.display(),
            ),
            Route::SharedFolder => r#"[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
[uplink.retry]
initial_ms = 50
max_secs = 1
"#
            .to_string(),
        };
        let text = format!(
            r#"[agent]
data_dir = "agent"
institution_number = "{INSTITUTION}"
disk_reserve_mb = 0
department = ["01", "内科"]
{extra}

[[source.folder]]
name = "drop"
format = "fhir-json"
path = "inbox"
mode = "move"
watch = "events"
stable_ms = 200

{uplink}"#,
            extra = self.extra_config
        );
        let p = self.path("tsunagi.toml");
        std::fs::write(&p, text).expect("write config");
        p
    }

    /// Starts `tsunagi run` (appending its stderr to agent.log).
    pub fn start_agent(&mut self) {
        let cfg = self.write_config();
        let before = self.started_count();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("agent.log"))
            .expect("log file");
        let child = Command::new(agent_bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .env("TSUNAGI_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tsunagi");
        self.agent = Some(child);
        self.wait_started(before);
    }

    /// How many times the agent's log says it started (count it before spawning).
    pub fn started_count(&self) -> usize {
        self.agent_log().matches("tsunagi started").count()
    }

    /// Waits until the agent logged one more start than `before`; panics if it exited.
    pub fn wait_started(&mut self, before: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.agent_log().matches("tsunagi started").count() > before {
                return;
            }
            if let Some(c) = self.agent.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("the agent exited at start with {status}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not start within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9.
    pub fn kill_agent(&mut self) {
        if let Some(mut c) = self.agent.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop_agent(&mut self) {
        if let Some(mut c) = self.agent.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(status.success(), "agent exited with {status}");
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "agent did not stop within 30 s of SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Drops a file into the inbox atomically (write elsewhere, then rename into place).
    pub fn drop_file(&self, name: &str, bytes: &[u8]) {
        let tmp = self.path(&format!("staging-{name}"));
        std::fs::write(&tmp, bytes).expect("write");
        std::fs::rename(&tmp, self.path("inbox").join(name)).expect("rename");
    }

    /// Runs `tsunagi <args> --data agent` and returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.cli_command(args).output().expect("run tsunagi");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `tsunagi ARGS[0] --data <agent dir> ARGS[1..]`: `--data` belongs to the command (`status`,
    /// `queue`), before any sub-action.
    fn cli_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(agent_bin());
        command
            .arg(args[0])
            .arg("--data")
            .arg(self.path("agent"))
            .args(&args[1..]);
        command
    }

    /// [`World::cli`] with stdout a stream whose reader is already gone (`tsunagi … | head` once
    /// head has exited): (success, stderr). Its writes fail with EPIPE, as a closed pipe's do.
    #[cfg(unix)]
    pub fn cli_into_closed_pipe(&self, args: &[&str]) -> (bool, String) {
        let (reader, writer) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        drop(reader);
        let writer = std::os::fd::OwnedFd::from(writer);
        let out = self
            .cli_command(args)
            .stdout(writer)
            .output()
            .expect("run tsunagi");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `tsunagi masters load KIND FILE` for each of `config-examples/masters/`'s synthetic
    /// masters named, as (kind, file in that folder); panics naming the kind on a failure.
    pub fn load_synthetic_masters(&self, masters: &[(&str, &str)]) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/masters");
        for (kind, file) in masters {
            let path = dir.join(file);
            let (ok, _, err) = self.cli(&["masters", "load", kind, path.to_str().expect("utf-8")]);
            assert!(ok, "{kind}: {err}");
        }
    }

    /// `tsunagi status --json` as JSON.
    pub fn status(&self) -> serde_json::Value {
        let (ok, out, err) = self.cli(&["status", "--json"]);
        assert!(ok, "status failed: {err}");
        serde_json::from_str(&out).expect("status JSON")
    }

    /// The number of distinct bundles the simulator accepted (files in platform/accepted).
    pub fn accepted_files(&self) -> usize {
        std::fs::read_dir(self.path("platform/accepted"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Files (not folders) directly in `dir` under the test directory (0 if it is missing).
    pub fn files_in(&self, dir: &str) -> usize {
        std::fs::read_dir(self.path(dir))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .count()
            })
            .unwrap_or(0)
    }

    /// `SELECT COUNT(*) …` on the agent's database (opened read-only for the query).
    pub fn db_count(&self, sql: &str) -> i64 {
        let db = rusqlite::Connection::open(self.path("agent/tsunagi.db")).expect("db opens");
        db.query_row(sql, [], |r| r.get(0)).expect("count query")
    }

    /// Everything the agent logged so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.path("agent.log")).unwrap_or_default()
    }

    /// Asserts none of `secrets` appears in the agent's log.
    pub fn assert_log_has_no(&self, secrets: &[&str]) {
        let log = self.agent_log();
        for s in secrets {
            assert!(
                !log.contains(s),
                "patient data {s:?} appeared in the agent's log"
            );
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.kill_agent();
        if std::thread::panicking() {
            let log = self.agent_log();
            let _ = std::fs::write(
                std::env::temp_dir().join("tsunagi-e2e-failed-agent.log"),
                &log,
            );
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of the agent's log ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        if let Some(sim) = self.sim.take() {
            self.rt.block_on(sim.shutdown());
        }
    }
}

/// Polls `f` every 50 ms until it returns true; panics with `what` after `secs`.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub use tsunagi_sim::fixtures::{condition_input, SECRET_BIRTH, SECRET_FAMILY, SECRET_GIVEN};

/// The permission bits of `path` (`None` off Unix, where owner-only is an ACL the agent's own
/// tests check).
pub fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// `tsunagi demo --serve --data SANDBOX` with its banner in `banner`, stopped when dropped (also
/// when the test panics, so that a failed test leaves no sandbox holding the demo's ports).
/// The demo listens on fixed ports, so one serves at a time: the guard holds [`DEMO_PORTS`].
pub struct ServingDemo {
    child: Child,
    _ports: std::sync::MutexGuard<'static, ()>,
}

/// Held while a `demo --serve` runs: its ports are fixed.
static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl ServingDemo {
    /// Starts the demo and returns once its banner contains `ready`.
    pub fn start(sandbox: &Path, banner: &Path, ready: &str) -> ServingDemo {
        let ports = DEMO_PORTS.lock().unwrap_or_else(|p| p.into_inner());
        let child = Command::new(agent_bin())
            .args(["demo", "--serve", "--data"])
            .arg(sandbox)
            .stdout(std::fs::File::create(banner).expect("banner file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the demo");
        let mut demo = ServingDemo {
            child,
            _ports: ports,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = std::fs::read_to_string(banner).unwrap_or_default();
            if text.contains(ready) {
                return demo;
            }
            if let Ok(Some(status)) = demo.child.try_wait() {
                panic!("the demo exited with {status} (ports 2575/8088/9464 in use?):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "the demo's banner did not say {ready:?} within 120 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ServingDemo {
    /// SIGTERM, then up to 60 s for the sandbox to stop, then SIGKILL (elsewhere: kill at once).
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

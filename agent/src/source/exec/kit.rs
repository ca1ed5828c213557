//! The conformance kit (`tsunagi plugin test -- ARGV`): what a vendor runs before shipping a
//! source plugin. It runs the plugin four times, as the agent would, without a store, and checks
//! the handshake, the records, determinism, resuming from a checkpoint after a kill, that a
//! malformed line on stdin is not fatal, and that closing stdin stops the plugin.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::config::ExecConfig;
use super::lines::{read_line, Line};
use super::protocol::{self, Outcome, Parsed};
use super::{child, config};

/// What to run and how long to wait.
pub struct KitOptions {
    /// The plugin's argv.
    pub argv: Vec<String>,
    /// Where it runs.
    pub dir: PathBuf,
    /// A plugin that sends no record for this long has sent everything it has.
    pub quiet: Duration,
    /// Longest wait for the hello.
    pub timeout: Duration,
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

fn check(name: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name,
        passed,
        detail: detail.into(),
    }
}

/// Records by id, in a run.
type Records = BTreeMap<String, Vec<u8>>;

/// One run of the plugin under the kit.
struct Run {
    proc: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Option<Line>>,
    produces: Vec<String>,
    /// Problems seen (bad lines, duplicate ids with other data).
    faults: Vec<String>,
}

impl Run {
    fn start(opts: &KitOptions, checkpoint: Option<&str>) -> Result<(Run, String), String> {
        let cfg = ExecConfig {
            name: "conformance".into(),
            command: opts.argv.clone(),
            working_dir: Some(opts.dir.clone()),
            message_timeout_secs: opts.timeout.as_secs().max(1),
            max_line_bytes: config::DEFAULT_MAX_LINE_BYTES,
            max_bad_lines: 1,
            restart_initial_ms: 1,
            restart_max_secs: 1,
            memory_mb: None,
            cpu_secs: None,
        };
        let mut proc = child::spawn(&cfg).map_err(|e| format!("cannot start: {e}"))?;
        let (stdout, stderr) = (proc.stdout.take(), proc.stderr.take());
        let (tx, rx) = mpsc::sync_channel(1024);
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                let mut r = BufReader::new(out);
                while let Ok(Some(l)) = read_line(&mut r, config::DEFAULT_MAX_LINE_BYTES) {
                    if tx.send(Some(l)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(None);
            });
        }
        if let Some(mut err) = stderr {
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        }
        let mut run = Run {
            stdin: proc.stdin.take(),
            proc,
            lines: rx,
            produces: Vec::new(),
            faults: Vec::new(),
        };
        let hello = match run.lines.recv_timeout(opts.timeout) {
            Ok(Some(Line::Text(t))) => t,
            Ok(_) | Err(RecvTimeoutError::Disconnected) => {
                run.kill();
                return Err("no hello: the plugin ended or wrote a huge first line".into());
            }
            Err(RecvTimeoutError::Timeout) => {
                run.kill();
                return Err(format!("no hello within {} s", opts.timeout.as_secs()));
            }
        };
        let adapters = crate::formats::Adapters::builtin();
        let names = adapters.names().join(", ");
        let hello = match protocol::parse_hello(&hello, |f| adapters.knows(f), &names) {
            Ok(h) => h,
            Err(e) => {
                run.kill();
                return Err(e.to_string());
            }
        };
        run.produces = hello.produces.clone();
        run.send(&protocol::start_line("conformance", checkpoint));
        let said = format!(
            "{} {}, produces {}",
            hello.name,
            hello.version,
            hello.produces.join(", ")
        );
        Ok((run, said))
    }

    fn send(&mut self, line: &[u8]) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(line).and_then(|()| s.flush());
        }
    }

    /// Reads records until none came for `quiet` (or the plugin ended). With `stop_after`, stops
    /// at the first checkpoint once that many records came; returns the records and the last
    /// checkpoint with the records it covers.
    fn collect(
        &mut self,
        quiet: Duration,
        stop_after: Option<usize>,
    ) -> (Records, Option<(String, Records)>) {
        let mut records = Records::new();
        let mut last_cp = None;
        let mut last_record = Instant::now();
        loop {
            let line = match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(Line::Text(t))) => t,
                Ok(Some(Line::TooLong { size, .. })) => {
                    self.faults.push(format!("a line of {size} bytes"));
                    continue;
                }
                Ok(None) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if last_record.elapsed() >= quiet => break,
                Err(RecvTimeoutError::Timeout) => continue,
            };
            match protocol::parse_line(&line, &self.produces) {
                Ok(Parsed::Record(r)) => {
                    last_record = Instant::now();
                    self.send(&protocol::ack_line(&r.id, Outcome::Stored));
                    if let Some(fault) = content_fault(&r.format, &r.raw) {
                        self.faults.push(format!("record {:?}: {fault}", r.id));
                    }
                    if records.get(&r.id).is_some_and(|old| *old != r.raw) {
                        self.faults
                            .push(format!("id {:?} came twice with different data", r.id));
                    }
                    records.insert(r.id, r.raw);
                }
                Ok(Parsed::Checkpoint(state)) => {
                    last_cp = Some((state, records.clone()));
                    if stop_after.is_some_and(|n| records.len() >= n) {
                        break;
                    }
                }
                Ok(Parsed::Heartbeat) => {}
                Err(e) => self.faults.push(e.to_string()),
            }
        }
        (records, last_cp)
    }

    fn alive(&mut self) -> bool {
        matches!(self.proc.try_wait(), Ok(None))
    }

    /// Closes stdin; whether the plugin exited within `wait`.
    fn close(&mut self, wait: Duration) -> bool {
        self.stdin = None;
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn kill(&mut self) {
        child::end(&mut self.proc);
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Why a record's data is not what its format says, if it is not.
fn content_fault(format: &str, raw: &[u8]) -> Option<&'static str> {
    match format.split(':').next() {
        Some("fhir-json") => {
            let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
            (!v.get("resourceType").is_some_and(|t| t.is_string()))
                .then_some("fhir-json data without resourceType")
        }
        Some("hl7v2") => (!raw.starts_with(b"MSH")).then_some("hl7v2 data not starting with MSH"),
        _ => None,
    }
}

/// Runs every check.
pub fn run(opts: &KitOptions) -> Vec<Check> {
    let mut out = Vec::new();
    let (mut first, said) = match Run::start(opts, None) {
        Ok(r) => r,
        Err(e) => return vec![check("handshake", false, e)],
    };
    out.push(check("handshake", true, said));
    let (all, cp) = first.collect(opts.quiet, None);
    out.push(check(
        "records",
        !all.is_empty() && first.faults.is_empty(),
        if first.faults.is_empty() {
            format!("{} records, every line a protocol message", all.len())
        } else {
            format!("{} records; {}", all.len(), first.faults.join("; "))
        },
    ));
    out.push(check(
        "checkpoint",
        cp.is_some(),
        if cp.is_some() {
            "emitted"
        } else {
            "no checkpoint was emitted: a restart would start over"
        },
    ));
    first.send(b"this line is not JSON\n");
    std::thread::sleep(Duration::from_millis(500));
    out.push(check(
        "malformed input line",
        first.alive(),
        if first.alive() {
            "ignored, still running"
        } else {
            "the plugin died on a malformed line"
        },
    ));
    let stopped = first.close(Duration::from_secs(5));
    out.push(check(
        "stops when stdin closes",
        stopped,
        if stopped {
            "exited"
        } else {
            "still running 5 s after stdin closed"
        },
    ));
    drop(first);
    out.push(determinism(opts, &all));
    out.push(resume(opts, &all));
    out
}

fn determinism(opts: &KitOptions, all: &Records) -> Check {
    match Run::start(opts, None) {
        Ok((mut again, _)) => {
            let (second, _) = again.collect(opts.quiet, None);
            let same = second == *all;
            check(
                "same input, same records",
                same,
                if same {
                    format!("{} records, identical", second.len())
                } else {
                    format!(
                        "first run {} records, second {}: ids or data differ",
                        all.len(),
                        second.len()
                    )
                },
            )
        }
        Err(e) => check("same input, same records", false, e),
    }
}

fn resume(opts: &KitOptions, all: &Records) -> Check {
    const NAME: &str = "kill and resume from checkpoint";
    let (mut run, _) = match Run::start(opts, None) {
        Ok(r) => r,
        Err(e) => return check(NAME, false, e),
    };
    let (_, cp) = run.collect(opts.quiet, Some(all.len().div_ceil(2).max(1)));
    run.kill();
    drop(run);
    let Some((state, before)) = cp else {
        return check(NAME, false, "no checkpoint to resume from");
    };
    let (mut again, _) = match Run::start(opts, Some(&state)) {
        Ok(r) => r,
        Err(e) => return check(NAME, false, e),
    };
    let (after, _) = again.collect(opts.quiet, None);
    let lost: Vec<&String> = all
        .keys()
        .filter(|id| !before.contains_key(*id) && !after.contains_key(*id))
        .collect();
    let changed = after
        .iter()
        .filter(|(id, raw)| all.get(*id).is_some_and(|r| r != *raw))
        .count();
    let resent = after.keys().filter(|id| before.contains_key(*id)).count();
    let passed = lost.is_empty() && changed == 0;
    check(
        NAME,
        passed,
        format!(
            "killed after {} records; resumed with {}; lost {}, changed {}, sent again (recognised, stored once) {}",
            before.len(),
            after.len(),
            lost.len(),
            changed,
            resent
        ),
    )
}

/// The result table, for a terminal.
pub fn table(checks: &[Check]) -> String {
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut s = format!("{:width$}  result  detail\n", "check");
    for c in checks {
        let r = if c.passed { "PASS" } else { "FAIL" };
        s.push_str(&format!("{:width$}  {r:6}  {}\n", c.name, c.detail));
    }
    s
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn python() -> bool {
        std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[test]
    fn the_minimal_sample_passes_every_check() {
        if !python() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (0..6)
            .map(|i| format!("{{\"resourceType\":\"Patient\",\"id\":\"p{i}\"}}\n"))
            .collect();
        std::fs::write(dir.path().join("records.ndjson"), lines).unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../adapters/examples/minimal_source.py");
        let checks = run(&KitOptions {
            argv: vec![
                "python3".into(),
                script.display().to_string(),
                "records.ndjson".into(),
            ],
            dir: dir.path().to_path_buf(),
            quiet: Duration::from_millis(800),
            timeout: Duration::from_secs(10),
        });
        let t = table(&checks);
        assert!(checks.iter().all(|c| c.passed), "{t}");
        assert_eq!(checks.len(), 7, "{t}");
    }

    #[test]
    fn a_plugin_that_is_not_one_fails_the_handshake() {
        let checks = run(&KitOptions {
            argv: vec!["echo".into(), "hello".into()],
            dir: std::env::temp_dir(),
            quiet: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
        });
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].passed);
        assert!(table(&checks).contains("FAIL"));
    }
}

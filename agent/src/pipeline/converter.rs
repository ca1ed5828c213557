//! Exec plugins in the converter role (issue 14): a `[[format]]` with `converter = [argv…]`.
//! The processor hands each stored raw input of that format to the vendor's program and reads
//! back records in a format the agent knows (`canonical-json`, `fhir-json`, `hl7v2`), which it
//! parses with its own adapter. So a vendor's file format fed through a watched folder is
//! converted by the vendor's code, and `tsunagi replay` converts it again.
//!
//! Protocol v1 over JSON lines, as for source plugins: the plugin's `hello` (role `converter`,
//! what it `produces`), the agent's `start`, then per input the agent's
//! `{"type":"convert","id","origin","data":"<base64>"}` answered by `record`s, then
//! `{"type":"converted","id"}` or `{"type":"refused","id","field","reason_en","reason_ja"}`.
//!
//! Containment: the plugin is started at its first input and kept running; a plugin that cannot
//! start, crashes, stays silent past `timeout_secs`, writes a line over the cap or a line that is
//! not a message ends that conversion with a fatal problem naming the converter and what
//! happened (the input is quarantined, replayable), and is started again for the next input.
//! Its stderr is logged by level and scrubbed, as a source plugin's.

use std::io::{BufReader, Write};
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use tsunagi_adapters::{Adapter, Parsed, Problem, RawInput};

use crate::source::exec::lines::{read_line, Line};
use crate::source::exec::{child, protocol, stderr, ExecConfig, PluginStats};

/// The adapter of a converter format.
pub struct ConverterAdapter {
    cfg: ExecConfig,
    formats: super::Adapters,
    session: Mutex<Option<Session>>,
    next_id: AtomicU64,
    stats: Arc<PluginStats>,
}

/// A running converter.
struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Option<Line>>,
    produces: Vec<String>,
}

/// How a conversion ended badly; English and Japanese, never the plugin's output.
#[derive(Debug)]
pub struct Failure {
    en: String,
    ja: String,
}

fn failure(en: impl Into<String>, ja: impl Into<String>) -> Failure {
    Failure {
        en: en.into(),
        ja: ja.into(),
    }
}

/// A message from a converter after its hello.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Reply {
    Record {
        id: String,
        format: String,
        data: Value,
    },
    Converted {
        id: String,
    },
    Refused {
        id: String,
        field: String,
        reason_en: String,
        reason_ja: String,
    },
    Heartbeat {},
}

impl ConverterAdapter {
    /// A converter for `cfg` (its `name` is the format's); records it returns are parsed with
    /// the built-in adapters.
    pub fn new(cfg: ExecConfig) -> Self {
        ConverterAdapter {
            cfg,
            formats: super::Adapters::builtin(),
            session: Mutex::new(None),
            next_id: AtomicU64::new(1),
            stats: Arc::new(PluginStats::default()),
        }
    }

    /// Starts the plugin now (the kit's handshake check); its name, version and formats.
    pub fn handshake(&self) -> Result<String, String> {
        let mut guard = self.session.lock().map_err(|_| "poisoned".to_string())?;
        let (session, said) =
            Session::start(&self.cfg, &self.formats, &self.stats).map_err(|f| f.en)?;
        *guard = Some(session);
        Ok(said)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.message_timeout_secs.max(1))
    }

    fn convert(&self, input: &RawInput<'_>) -> Result<Parsed, Failure> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| failure("converter state lost", "変換プラグインの状態が失われました"))?;
        if guard.is_none() {
            let (session, said) = Session::start(&self.cfg, &self.formats, &self.stats)?;
            tracing::info!(format = %self.cfg.name, plugin = %said, "converter started / 変換プラグインを起動しました");
            *guard = Some(session);
        }
        let Some(session) = guard.as_mut() else {
            return Err(failure(
                "converter not running",
                "変換プラグインが動いていません",
            ));
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let result = session.convert(&id, input, self.timeout(), &self.formats);
        if result.is_err() {
            if let Some(mut s) = guard.take() {
                child::end(&mut s.child);
            }
        }
        result
    }
}

impl Adapter for ConverterAdapter {
    fn name(&self) -> &'static str {
        "converter"
    }

    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        self.convert(input).unwrap_or_else(|f| {
            tracing::warn!(format = %self.cfg.name, reason = %f.en, "conversion failed / 変換に失敗しました");
            let mut parsed = Parsed::default();
            parsed.problems.push(Problem::fatal(
                format!("converter {}", self.cfg.name),
                f.en,
                f.ja,
            ));
            parsed
        })
    }
}

impl Drop for ConverterAdapter {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.session.lock() {
            if let Some(mut s) = guard.take() {
                drop(s.stdin);
                child::end(&mut s.child);
            }
        }
    }
}

impl Session {
    fn start(
        cfg: &ExecConfig,
        formats: &super::Adapters,
        stats: &Arc<PluginStats>,
    ) -> Result<(Session, String), Failure> {
        let mut proc = child::spawn(cfg).map_err(|e| {
            failure(
                format!("the converter cannot be started: {e}"),
                "変換プラグインを起動できません",
            )
        })?;
        let (Some(stdin), Some(stdout), Some(err)) =
            (proc.stdin.take(), proc.stdout.take(), proc.stderr.take())
        else {
            child::end(&mut proc);
            return Err(failure(
                "the converter's pipes are missing",
                "パイプがありません",
            ));
        };
        let (tx, rx) = mpsc::sync_channel(256);
        let cap = cfg.max_line_bytes;
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Ok(Some(l)) = read_line(&mut r, cap) {
                if tx.send(Some(l)).is_err() {
                    return;
                }
            }
            let _ = tx.send(None);
        });
        let name = cfg.name.clone();
        let stats = Arc::clone(stats);
        std::thread::spawn(move || stderr::follow(name, err, stats));
        let mut session = Session {
            child: proc,
            stdin,
            lines: rx,
            produces: Vec::new(),
        };
        match session.hello(cfg, formats) {
            Ok(said) => Ok((session, said)),
            Err(f) => {
                child::end(&mut session.child);
                Err(f)
            }
        }
    }

    fn hello(&mut self, cfg: &ExecConfig, formats: &super::Adapters) -> Result<String, Failure> {
        let timeout = Duration::from_secs(cfg.message_timeout_secs.max(1));
        let line = self.next_line(timeout)?;
        let names = formats.names().join(", ");
        let hello = protocol::parse_hello_as(
            &line,
            protocol::Role::Converter,
            |f| formats.knows(f),
            &names,
        )
        .map_err(|e| failure(e.to_string(), e.ja()))?;
        self.produces = hello.produces.clone();
        self.send(&protocol::start_line(&cfg.name, None))?;
        Ok(format!(
            "{} {}, produces {}",
            hello.name,
            hello.version,
            hello.produces.join(", ")
        ))
    }

    fn send(&mut self, line: &[u8]) -> Result<(), Failure> {
        self.stdin
            .write_all(line)
            .and_then(|_| self.stdin.flush())
            .map_err(|_| {
                failure(
                    "the converter stopped reading its input (it ended or closed stdin)",
                    "変換プラグインが入力を読まなくなりました（終了したか stdin を閉じました）",
                )
            })
    }

    fn next_line(&mut self, timeout: Duration) -> Result<Vec<u8>, Failure> {
        match self.lines.recv_timeout(timeout) {
            Ok(Some(Line::Text(t))) => Ok(t),
            Ok(Some(Line::TooLong { size, .. })) => Err(failure(
                format!("the converter wrote a line of {size} bytes, over max_line_bytes"),
                format!("変換プラグインが {size} バイトの行を書きました（max_line_bytes 超過）"),
            )),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => Err(failure(
                "the converter ended (crashed or exited)",
                "変換プラグインが終了しました（異常終了または終了）",
            )),
            Err(RecvTimeoutError::Timeout) => Err(failure(
                format!(
                    "the converter wrote nothing for {} s (hung)",
                    timeout.as_secs()
                ),
                format!("変換プラグインが {} 秒間応答しません", timeout.as_secs()),
            )),
        }
    }

    fn convert(
        &mut self,
        id: &str,
        input: &RawInput<'_>,
        timeout: Duration,
        formats: &super::Adapters,
    ) -> Result<Parsed, Failure> {
        let data = base64::engine::general_purpose::STANDARD.encode(input.bytes);
        let mut line =
            serde_json::json!({"type": "convert", "id": id, "origin": input.origin, "data": data})
                .to_string()
                .into_bytes();
        line.push(b'\n');
        self.send(&line)?;
        let mut parsed = Parsed::default();
        loop {
            let text = self.next_line(timeout)?;
            let reply: Reply = serde_json::from_slice(&text).map_err(|_| {
                failure(
                    "the converter wrote a line that is not a converter message",
                    "変換プラグインがプロトコルにない行を書きました",
                )
            })?;
            match reply {
                Reply::Heartbeat {} => {}
                Reply::Record {
                    id: rid,
                    format,
                    data,
                } => {
                    self.record(&rid, &format, data, input, formats, &mut parsed)?;
                }
                Reply::Converted { id: done } if done == id => return Ok(parsed),
                Reply::Refused {
                    id: done,
                    field,
                    reason_en,
                    reason_ja,
                } if done == id => {
                    parsed.records.clear();
                    parsed.problems.push(Problem::fatal(
                        clip(&field),
                        clip(&reason_en),
                        clip(&reason_ja),
                    ));
                    return Ok(parsed);
                }
                Reply::Converted { .. } | Reply::Refused { .. } => {
                    return Err(failure(
                        "the converter answered another input's id",
                        "変換プラグインが別の入力の id で応答しました",
                    ))
                }
            }
        }
    }

    /// Parses one returned record with the agent's adapter for its format.
    fn record(
        &self,
        rid: &str,
        format: &str,
        data: Value,
        input: &RawInput<'_>,
        formats: &super::Adapters,
        parsed: &mut Parsed,
    ) -> Result<(), Failure> {
        let adapter = formats
            .resolve(format)
            .filter(|_| self.produces.iter().any(|p| p == format))
            .ok_or_else(|| {
                failure(
                    "the converter returned a record in a format it did not announce",
                    "変換プラグインが宣言していない形式のレコードを返しました",
                )
            })?;
        let bytes = match data {
            Value::String(s) => s.into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let mut one = adapter.parse(&RawInput {
            bytes: &bytes,
            origin: input.origin,
        });
        for p in &mut one.problems {
            p.field = format!("record {}: {}", clip(rid), p.field);
        }
        parsed.records.append(&mut one.records);
        parsed.problems.append(&mut one.problems);
        parsed.decode_replacements += one.decode_replacements;
        Ok(())
    }
}

/// A plugin's text in a problem, at most 200 characters, without control characters.
fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(all(test, unix))]
#[path = "converter_tests.rs"]
mod tests;

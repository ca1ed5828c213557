//! One run of a plugin: start it, read its hello, hand it its checkpoint, then commit what it
//! writes and acknowledge each record only after its commit, until it ends or misbehaves.
//!
//! Three helper threads per run: one reads stdout into a bounded channel (a plugin writing
//! faster than the store commits waits), one logs stderr, one writes the agent's lines to stdin
//! from a bounded queue (a plugin that never reads them fills it and is ended as `not-reading`).

use std::io::{BufReader, Write};
use std::process::{Child, ChildStdin};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use super::child;
use super::commit::{self, BadLine, Batch};
use super::lines::{read_line, Line};
use super::protocol::{self, Parsed};
use super::stats::{EndReason, LineFault, PluginState};
use super::Feed;

/// Records committed together at most.
const MAX_BATCH: usize = 512;
/// Lines from stdout waiting to be handled.
const LINE_QUEUE: usize = 1024;
/// Lines to stdin waiting to be written.
const ACK_QUEUE: usize = 1000;
/// How often a wait looks at the shutdown signal.
const TICK: Duration = Duration::from_millis(200);
/// How long a stopping plugin may take to exit after its stdin closed.
const GRACE: Duration = Duration::from_secs(2);

/// What the stdout thread hands over.
enum Event {
    Line(Line),
    Eof,
    Failed,
}

/// How a run ended.
pub struct RunEnd {
    /// The named reason.
    pub reason: EndReason,
    /// Detail safe to log (an exit status, a protocol error): never plugin output.
    pub detail: String,
    /// Records committed in this run.
    pub committed: u64,
}

impl RunEnd {
    fn new(reason: EndReason, detail: impl Into<String>) -> Self {
        RunEnd {
            reason,
            detail: detail.into(),
            committed: 0,
        }
    }
}

/// Runs the plugin once, until it ends, misbehaves or the agent stops.
pub fn run_once(feed: &Feed) -> RunEnd {
    feed.stats.set_state(PluginState::Starting);
    let mut proc = match child::spawn(&feed.cfg) {
        Ok(c) => c,
        Err(e) => return RunEnd::new(EndReason::SpawnFailed, e.kind().to_string()),
    };
    let (Some(stdout), Some(stderr), Some(stdin)) =
        (proc.stdout.take(), proc.stderr.take(), proc.stdin.take())
    else {
        child::end(&mut proc);
        return RunEnd::new(EndReason::SpawnFailed, "no pipes");
    };
    let (tx, rx) = mpsc::sync_channel(LINE_QUEUE);
    let cap = feed.cfg.max_line_bytes;
    let spawned = spawn_named("exec-stdout", move || read_stdout(stdout, cap, tx))
        .and_then(|_| {
            let (name, stats) = (feed.source.to_string(), feed.stats.clone());
            spawn_named("exec-stderr", move || {
                super::stderr::follow(name, stderr, stats)
            })
        })
        .and_then(|_| {
            let (acks, queue) = mpsc::sync_channel::<Vec<u8>>(ACK_QUEUE);
            spawn_named("exec-stdin", move || write_stdin(stdin, queue)).map(|_| acks)
        });
    let acks = match spawned {
        Ok(acks) => acks,
        Err(e) => {
            child::end(&mut proc);
            return RunEnd::new(EndReason::SpawnFailed, e.to_string());
        }
    };
    let mut run = Session {
        feed,
        lines: rx,
        acks,
        committed: 0,
        bad_in_row: 0,
    };
    let (reason, detail) = run.converse();
    let committed = run.committed;
    drop(run);
    let (reason, detail) = finish(&mut proc, reason, detail, feed);
    RunEnd {
        reason,
        detail,
        committed,
    }
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
}

fn read_stdout(stdout: impl std::io::Read, cap: usize, tx: SyncSender<Event>) {
    let mut r = BufReader::with_capacity(64 * 1024, stdout);
    loop {
        let ev = match read_line(&mut r, cap) {
            Ok(Some(line)) => Event::Line(line),
            Ok(None) => Event::Eof,
            Err(_) => Event::Failed,
        };
        let last = !matches!(ev, Event::Line(_));
        if tx.send(ev).is_err() || last {
            return;
        }
    }
}

fn write_stdin(mut stdin: ChildStdin, queue: Receiver<Vec<u8>>) {
    while let Ok(line) = queue.recv() {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

/// After the conversation: a plugin whose stdout ended is waited for (its exit status says
/// exited or crashed); a stopping one gets a grace period; anything else is ended at once.
fn finish(proc: &mut Child, reason: EndReason, detail: String, feed: &Feed) -> (EndReason, String) {
    let wait = match reason {
        EndReason::Exited => Duration::from_secs(feed.cfg.message_timeout_secs),
        EndReason::Shutdown => GRACE,
        _ => Duration::ZERO,
    };
    let deadline = Instant::now() + wait;
    let status = loop {
        match proc.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break None,
        }
    };
    child::end(proc);
    match (reason, status) {
        (EndReason::Exited, Some(s)) if s.success() => (EndReason::Exited, s.to_string()),
        (EndReason::Exited, Some(s)) => (EndReason::Crashed, s.to_string()),
        (EndReason::Exited, None) => (EndReason::Hung, "closed its stdout but did not exit".into()),
        other => (other.0, detail),
    }
}

/// What waiting for the next line gave.
enum Next {
    Event(Event),
    Silent,
    Stopping,
}

struct Session<'a> {
    feed: &'a Feed,
    lines: Receiver<Event>,
    acks: SyncSender<Vec<u8>>,
    committed: u64,
    bad_in_row: u32,
}

impl Session<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.feed.cfg.message_timeout_secs)
    }

    /// Waits for the next event, at most the message timeout, looking at shutdown meanwhile.
    fn next(&self) -> Next {
        let deadline = Instant::now() + self.timeout();
        loop {
            if self.feed.shutdown.is_triggered() {
                return Next::Stopping;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Next::Silent;
            }
            match self.lines.recv_timeout(left.min(TICK)) {
                Ok(ev) => return Next::Event(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Next::Event(Event::Failed),
            }
        }
    }

    fn converse(&mut self) -> (EndReason, String) {
        let produces = match self.handshake() {
            Ok(p) => p,
            Err(end) => return end,
        };
        self.feed.stats.set_state(PluginState::Running);
        loop {
            let first = match self.next() {
                Next::Event(ev) => ev,
                Next::Silent => return silent(self.timeout()),
                Next::Stopping => return (EndReason::Shutdown, String::new()),
            };
            let mut batch = Batch::default();
            let mut ended = self.take(first, &produces, &mut batch);
            while ended.is_none() && batch.records.len() < MAX_BATCH {
                match self.lines.try_recv() {
                    Ok(ev) => ended = self.take(ev, &produces, &mut batch),
                    Err(_) => break,
                }
            }
            if let Err(end) = self.commit(batch) {
                return end;
            }
            if let Some(end) = ended {
                return end;
            }
        }
    }

    /// Reads the hello and answers `start` with the stored checkpoint; the formats it produces.
    fn handshake(&mut self) -> Result<Vec<String>, (EndReason, String)> {
        let line = match self.next() {
            Next::Event(Event::Line(Line::Text(t))) => t,
            Next::Event(Event::Line(Line::TooLong { .. })) => {
                return Err((
                    EndReason::Handshake,
                    protocol::HelloError::NotHello.to_string(),
                ))
            }
            Next::Event(_) => return Err((EndReason::Exited, "ended before its hello".into())),
            Next::Silent => return Err(silent(self.timeout())),
            Next::Stopping => return Err((EndReason::Shutdown, String::new())),
        };
        let adapters = crate::formats::Adapters::builtin();
        let names = adapters.names().join(", ");
        let hello = protocol::parse_hello(&line, |f| adapters.knows(f), &names)
            .map_err(|e| (EndReason::Handshake, format!("{e} / {}", e.ja())))?;
        tracing::info!(source = %self.feed.source, plugin = %hello.name, version = %hello.version, produces = ?hello.produces, "exec plugin started");
        let checkpoint = self
            .feed
            .checkpoint()
            .map_err(|e| (EndReason::StoreFailed, e.to_string()))?;
        self.send(protocol::start_line(
            &self.feed.source,
            checkpoint.as_deref(),
        ))?;
        Ok(hello.produces)
    }

    /// Adds one event to the batch; `Some` when the run must end after this batch.
    fn take(
        &mut self,
        ev: Event,
        produces: &[String],
        batch: &mut Batch,
    ) -> Option<(EndReason, String)> {
        let line = match ev {
            Event::Line(line) => line,
            Event::Eof => return Some((EndReason::Exited, String::new())),
            Event::Failed => return Some((EndReason::Crashed, "stdout failed".into())),
        };
        let bad = match line {
            Line::Text(t) => match protocol::parse_line(&t, produces) {
                Ok(Parsed::Record(r)) => {
                    self.bad_in_row = 0;
                    batch.records.push(r);
                    return None;
                }
                Ok(Parsed::Checkpoint(state)) => {
                    self.bad_in_row = 0;
                    batch.checkpoint = Some(state);
                    return None;
                }
                Ok(Parsed::Heartbeat) => {
                    self.bad_in_row = 0;
                    return None;
                }
                Err(e) => BadLine {
                    fault: LineFault::Garbage,
                    size: t.len() as u64,
                    bytes: t,
                    reason: format!("{}: {e} / {}", self.feed.source, e.ja()),
                },
            },
            Line::TooLong { size, head } => BadLine {
                fault: LineFault::TooLong,
                size,
                bytes: head,
                reason: format!(
                    "{}: a line of {size} bytes is over max_line_bytes ({}); it was not stored / 行が max_line_bytes を超えているため取り込みませんでした",
                    self.feed.source, self.feed.cfg.max_line_bytes
                ),
            },
        };
        self.feed.stats.quarantined(bad.fault);
        tracing::warn!(source = %self.feed.source, fault = bad.fault.name(), size = bad.size, "exec plugin line quarantined / プラグインの行を隔離しました");
        batch.bad.push(bad);
        self.bad_in_row += 1;
        (self.bad_in_row >= self.feed.cfg.max_bad_lines).then(|| {
            (
                EndReason::Garbage,
                format!(
                    "{} lines in a row were not protocol messages",
                    self.bad_in_row
                ),
            )
        })
    }

    /// Commits the batch durably, then acknowledges its records.
    fn commit(&mut self, batch: Batch) -> Result<(), (EndReason, String)> {
        if batch.is_empty() {
            return Ok(());
        }
        while self.feed.reserve.paused() {
            // Nothing is acknowledged: the plugin emits these records again after a restart.
            if self.feed.shutdown.wait_timeout(Duration::from_secs(1)) {
                return Err((EndReason::Shutdown, String::new()));
            }
        }
        let outcomes = commit::commit(&self.feed.writer, &self.feed.source, batch)
            .map_err(|e| (EndReason::StoreFailed, e.to_string()))?;
        let new = outcomes
            .iter()
            .filter(|(_, o)| *o == protocol::Outcome::Stored)
            .count() as u64;
        self.feed
            .stats
            .add_records(new, outcomes.len() as u64 - new);
        self.committed += outcomes.len() as u64;
        if new > 0 {
            self.feed.wake.ring();
        }
        for (id, outcome) in outcomes {
            self.send(protocol::ack_line(&id, outcome))?;
        }
        Ok(())
    }

    fn send(&self, line: Vec<u8>) -> Result<(), (EndReason, String)> {
        match self.acks.try_send(line) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err((
                EndReason::NotReading,
                format!("{ACK_QUEUE} lines to its stdin are not read"),
            )),
            // Its stdin is closed: the end of its stdout tells how it ended.
            Err(TrySendError::Disconnected(_)) => Ok(()),
        }
    }
}

fn silent(timeout: Duration) -> (EndReason, String) {
    (
        EndReason::Hung,
        format!("no message within {} s", timeout.as_secs()),
    )
}

//! `/metrics`: the Prometheus text exposition format 0.0.4, written by hand.
//!
//! Store figures are read at scrape time (they move with the work done and survive restarts:
//! the store never deletes rows, so its counts are monotonic counters); process figures come
//! from `/proc` and the file system; in-process figures from [`Counters`]. Every label value goes
//! through [`redact::label`], so no label can carry patient data whatever the store holds.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::readiness::{Counters, UplinkState};
use super::redact;
use super::snapshot::{self, Snapshot};
use crate::source::mllp::CloseReason;
use crate::store::commit_figures::{CommitCounts, Commits};
use crate::store::{InputState, OutboxState};

/// The content type of format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The build's version and git commit (`TSUNAGI_GIT_COMMIT` at build time, if set).
pub fn build_info() -> (&'static str, &'static str) {
    (
        env!("CARGO_PKG_VERSION"),
        option_env!("TSUNAGI_GIT_COMMIT").unwrap_or("unknown"),
    )
}

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{}", self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(redact::label(v)));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'a>(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    Family { out, name }
}

/// Label value escaping of the text format (the values are tokens already; this is belt and
/// braces).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn grouped(
    out: &mut String,
    name: &'static str,
    kind: &str,
    help: &str,
    label: &str,
    rows: &[(String, i64)],
    always: &[&str],
) {
    let mut f = family(out, name, kind, help);
    for key in always {
        if !rows.iter().any(|(k, _)| k == key) {
            f.sample(&[(label, key)], 0.0);
        }
    }
    for (k, n) in rows {
        f.sample(&[(label, k)], *n as f64);
    }
}

/// Process and file-system figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessFigures {
    /// Resident set size.
    pub rss_bytes: Option<u64>,
    /// Free bytes on the data directory's file system.
    pub free_disk_bytes: Option<u64>,
    /// Database and WAL size.
    pub database_bytes: u64,
}

impl ProcessFigures {
    /// Reads them now.
    pub fn read(data_dir: &Path) -> ProcessFigures {
        ProcessFigures {
            rss_bytes: rss_bytes(),
            free_disk_bytes: fs4::available_space(data_dir).ok(),
            database_bytes: snapshot::database_bytes(data_dir),
        }
    }
}

/// This process's resident set size (working set on Windows), from `sysinfo`.
pub fn rss_bytes() -> Option<u64> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new();
    let only_memory = ProcessRefreshKind::nothing().with_memory();
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, only_memory);
    system.process(pid).map(|p| p.memory())
}

/// The profile rules validation runs with (`build_info`-style: one series, value 1), from the
/// readiness fact `name#version (origin)`: labels `package`, `version` and `origin` (`builtin`,
/// `masters`, `config`, or `none` for the hand-written rules only); nothing before the
/// processor has said.
pub fn validation_rules(rules: &str) -> String {
    let mut out = String::new();
    if rules.is_empty() {
        return out;
    }
    let (id, origin) = rules.split_once(" (").unwrap_or((rules, ""));
    let (package, version, origin) = match (id.split_once('#'), origin) {
        (Some((name, version)), o) if o.starts_with("built-in") => (name, version, "builtin"),
        (Some((name, version)), o) if o.starts_with("masters") => (name, version, "masters"),
        (Some((name, version)), _) => (name, version, "config"),
        (None, _) => ("none", "none", "none"),
    };
    family(
        &mut out,
        "tsunagi_validation_rules_info",
        "gauge",
        "The JP-CLINS profile rules (IG package, version, where from) validation runs with.",
    )
    .sample(
        &[
            ("package", package),
            ("version", version),
            ("origin", origin),
        ],
        1.0,
    );
    out
}

/// Writes the whole exposition. `store` is `None` when the database could not be read (then
/// `tsunagi_store_up` is 0 and the store figures are left out).
pub fn render(
    store: Option<&Snapshot>,
    uplink: UplinkState,
    counters: &Counters,
    process: ProcessFigures,
) -> String {
    let mut out = String::with_capacity(4096);
    let (version, commit) = build_info();
    family(
        &mut out,
        "tsunagi_build_info",
        "gauge",
        "Build version and git commit.",
    )
    .sample(&[("version", version), ("commit", commit)], 1.0);
    family(
        &mut out,
        "tsunagi_store_up",
        "gauge",
        "1 if the database could be read for this scrape.",
    )
    .sample(&[], if store.is_some() { 1.0 } else { 0.0 });
    if let Some(s) = store {
        store_families(&mut out, s);
    }
    let mut f = family(
        &mut out,
        "tsunagi_uplink_state",
        "gauge",
        "The uplink's state (1 for the current one).",
    );
    for st in [
        UplinkState::Unknown,
        UplinkState::Ok,
        UplinkState::Degraded,
        UplinkState::Down,
    ] {
        f.sample(
            &[("state", st.as_str())],
            if st == uplink { 1.0 } else { 0.0 },
        );
    }
    family(
        &mut out,
        "tsunagi_decode_replacements_total",
        "counter",
        "Characters replaced while decoding inputs.",
    )
    .sample(
        &[],
        counters.decode_replacements.load(Ordering::Relaxed) as f64,
    );
    mllp_families(&mut out, counters);
    plugin_families(&mut out, counters);
    let mut f = family(
        &mut out,
        "tsunagi_store_pruned_rows_total",
        "counter",
        "Rows pruned past retention since start (bodies and raw inputs are nulled, not deleted).",
    );
    for (kind, n) in counters.pruned() {
        f.sample(&[("table", kind.table())], n as f64);
    }
    skip_family(&mut out, counters);
    if let Some(c) = counters.commits() {
        commit_families(&mut out, c);
    }
    family(
        &mut out,
        "tsunagi_database_size_bytes",
        "gauge",
        "Size of the database file and its WAL.",
    )
    .sample(&[], process.database_bytes as f64);
    if let Some(b) = process.free_disk_bytes {
        family(
            &mut out,
            "tsunagi_data_dir_free_bytes",
            "gauge",
            "Bytes available on the data directory's file system.",
        )
        .sample(&[], b as f64);
    }
    if let Some(b) = process.rss_bytes {
        family(
            &mut out,
            "tsunagi_process_resident_memory_bytes",
            "gauge",
            "Resident set size of the agent.",
        )
        .sample(&[], b as f64);
    }
    out
}

/// The store writer's group commits: jobs waiting, commits and the jobs they carried.
fn commit_families(out: &mut String, c: CommitCounts) {
    family(
        out,
        "tsunagi_store_writer_jobs_queued",
        "gauge",
        "Jobs waiting for the store writer (a queue that keeps growing: the disk does not keep up).",
    )
    .sample(&[], c.queued as f64);
    let kinds = [("acknowledged", c.acknowledged), ("derived", c.derived)];
    by_durability(
        out,
        "tsunagi_store_commits_total",
        "Transactions the store writer committed, by durability (acknowledged: fsynced before the caller was answered).",
        &kinds,
        |k| k.commits,
    );
    by_durability(
        out,
        "tsunagi_store_committed_jobs_total",
        "Jobs those transactions carried (jobs per commit: group commit at work).",
        &kinds,
        |k| k.jobs,
    );
    family(
        out,
        "tsunagi_store_commits_failed_total",
        "counter",
        "Batches whose transaction did not commit (every job of them failed and was not acknowledged).",
    )
    .sample(&[], c.failed as f64);
}

/// A counter family with one sample per commit durability.
fn by_durability(
    out: &mut String,
    name: &'static str,
    help: &str,
    kinds: &[(&str, Commits)],
    count: fn(&Commits) -> u64,
) {
    let mut f = family(out, name, "counter", help);
    for (durability, k) in kinds {
        f.sample(&[("durability", durability)], count(k) as f64);
    }
}

fn store_families(out: &mut String, s: &Snapshot) {
    grouped(
        out,
        "tsunagi_outbox_items",
        "gauge",
        "Outbox items by state (queue depth).",
        "state",
        &s.outbox,
        &[
            OutboxState::Pending,
            OutboxState::InFlight,
            OutboxState::Awaiting,
            OutboxState::Delivered,
            OutboxState::Rejected,
            OutboxState::Held,
            OutboxState::Dead,
        ]
        .map(OutboxState::as_str),
    );
    family(
        out,
        "tsunagi_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest item not yet delivered (0 when none).",
    )
    .sample(&[], s.oldest_pending_age_secs.unwrap_or(0) as f64);
    grouped(
        out,
        "tsunagi_inbox_inputs",
        "gauge",
        "Stored inputs by state.",
        "state",
        &s.inbox,
        &[
            InputState::Received,
            InputState::Processed,
            InputState::Quarantined,
        ]
        .map(InputState::as_str),
    );
    family(
        out,
        "tsunagi_quarantined_inputs",
        "gauge",
        "Inputs in quarantine.",
    )
    .sample(&[], s.inputs(InputState::Quarantined) as f64);
    grouped(
        out,
        "tsunagi_held_items",
        "gauge",
        "Held outbox items by reason.",
        "reason",
        &s.held_by_reason,
        &[],
    );
    grouped(
        out,
        "tsunagi_ingested_inputs_total",
        "counter",
        "Inputs stored, by source.",
        "source",
        &s.ingested_by_source,
        &[],
    );
    grouped(
        out,
        "tsunagi_delivery_attempts_total",
        "counter",
        "Delivery attempts by outcome.",
        "outcome",
        &s.attempts_by_outcome,
        &[
            "accepted",
            "duplicate",
            "rejected",
            "transient",
            "ambiguous",
        ],
    );
    let retries = Snapshot::get(&s.attempts_by_outcome, "transient")
        + Snapshot::get(&s.attempts_by_outcome, "ambiguous");
    family(
        out,
        "tsunagi_delivery_retries_total",
        "counter",
        "Attempts that will be retried (transient or ambiguous).",
    )
    .sample(&[], retries as f64);
    grouped(
        out,
        "tsunagi_rejections_total",
        "counter",
        "Platform rejections by rule key.",
        "rule",
        &s.rejections_by_rule,
        &[],
    );
    family(
        out,
        "tsunagi_intake_paused",
        "gauge",
        "1 while intake is paused by the free-space reserve.",
    )
    .sample(&[], if s.intake_paused { 1.0 } else { 0.0 });
    if let Some(t) = s.last_delivery_ms {
        family(
            out,
            "tsunagi_last_delivery_timestamp_seconds",
            "gauge",
            "When the last bundle was delivered.",
        )
        .sample(&[], t as f64 / 1000.0);
    }
}

fn mllp_families(out: &mut String, counters: &Counters) {
    let listeners: Vec<_> = counters
        .mllp()
        .into_iter()
        .map(|(name, stats)| (name, stats.snapshot()))
        .collect();
    let mut f = family(
        out,
        "tsunagi_mllp_connections",
        "gauge",
        "MLLP connections open now.",
    );
    for (name, c) in &listeners {
        f.sample(&[("listener", name)], c.connections_open as f64);
    }
    let mut f = family(
        out,
        "tsunagi_mllp_connections_accepted_total",
        "counter",
        "MLLP connections accepted.",
    );
    for (name, c) in &listeners {
        f.sample(&[("listener", name)], c.connections_accepted as f64);
    }
    let mut f = family(
        out,
        "tsunagi_mllp_messages_total",
        "counter",
        "MLLP frames received.",
    );
    for (name, c) in &listeners {
        f.sample(&[("listener", name)], c.messages as f64);
    }
    let mut f = family(
        out,
        "tsunagi_mllp_connections_closed_by_listener_total",
        "counter",
        "MLLP connections the listener closed, by reason (frame-timeout, idle-timeout, peer-cap, not-allowed, evicted).",
    );
    for (name, c) in &listeners {
        for reason in CloseReason::ALL {
            f.sample(
                &[("listener", name), ("reason", reason.label())],
                c.closed(reason) as f64,
            );
        }
    }
    let mut f = family(
        out,
        "tsunagi_mllp_messages_in_flight",
        "gauge",
        "MLLP messages handed to the store whose ACK is not yet out.",
    );
    for (name, c) in &listeners {
        f.sample(&[("listener", name)], c.messages_in_flight as f64);
    }
}

/// Exec plugin sources: state, run ends by named reason, records, quarantined lines, stderr
/// lines dropped. Labels are the configured source name and closed sets of names.
fn plugin_families(out: &mut String, counters: &Counters) {
    use crate::source::exec::PluginState;
    let plugins = counters.plugins();
    let mut f = family(
        out,
        "tsunagi_plugin_state",
        "gauge",
        "Exec plugin state: 1 for the state it is in (starting, running, backoff, refused, stopped).",
    );
    for (name, s) in &plugins {
        let now = s.state();
        for st in PluginState::ALL {
            f.sample(
                &[("source", name), ("state", st.name())],
                f64::from(u8::from(st == now)),
            );
        }
    }
    let mut f = family(
        out,
        "tsunagi_plugin_runs_ended_total",
        "counter",
        "Exec plugin runs ended, by reason (spawn-failed, handshake, exited, crashed, hung, garbage, not-reading, store-failed).",
    );
    for (name, s) in &plugins {
        for (r, n) in s.ends() {
            f.sample(&[("source", name), ("reason", r.name())], n as f64);
        }
    }
    let mut f = family(
        out,
        "tsunagi_plugin_records_total",
        "counter",
        "Exec plugin records committed: stored new, or recognised as already stored (duplicate).",
    );
    for (name, s) in &plugins {
        let (new, dup) = s.records();
        f.sample(&[("source", name), ("outcome", "stored")], new as f64);
        f.sample(&[("source", name), ("outcome", "duplicate")], dup as f64);
    }
    let mut f = family(
        out,
        "tsunagi_plugin_lines_quarantined_total",
        "counter",
        "Exec plugin lines quarantined, by fault (garbage, line-too-long).",
    );
    for (name, s) in &plugins {
        for (fault, n) in s.quarantined_lines() {
            f.sample(&[("source", name), ("fault", fault.name())], n as f64);
        }
    }
    let mut f = family(
        out,
        "tsunagi_plugin_stderr_dropped_total",
        "counter",
        "Exec plugin stderr lines not logged because the plugin wrote too many.",
    );
    for (name, s) in &plugins {
        f.sample(&[("source", name)], s.stderr_dropped() as f64);
    }
}

/// Candidates each file source did not take (links, non-UTF-8 names, hidden files), by reason.
/// The `source` label is the configured name, never a file's.
fn skip_family(out: &mut String, counters: &Counters) {
    let mut f = family(
        out,
        "tsunagi_source_inputs_skipped_total",
        "counter",
        "Files a folder or SS-MIX2 source did not take, by reason (each path counted once while it stays).",
    );
    for s in counters.source_skips() {
        for (reason, n) in &s.by_reason {
            f.sample(&[("source", &s.source), ("reason", reason)], *n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_inputs_are_counted_by_source_and_reason() {
        let counters = Counters::default();
        let counts = crate::source::SkipCounts::new();
        let mut skips = crate::source::skips::Skips::new("drop", counts.clone());
        skips.record(
            "taro-yamada.json",
            crate::source::skips::SkipReason::Symlink,
        );
        counters.watch_source_skips("drop", counts);
        let text = render(
            None,
            UplinkState::Unknown,
            &counters,
            ProcessFigures::default(),
        );
        assert!(text.contains("# TYPE tsunagi_source_inputs_skipped_total counter\n"));
        assert!(text.contains(
            "tsunagi_source_inputs_skipped_total{source=\"drop\",reason=\"symlink\"} 1\n"
        ));
        assert!(text.contains(
            "tsunagi_source_inputs_skipped_total{source=\"drop\",reason=\"non-utf8-name\"} 0\n"
        ));
        assert!(!text.contains("taro"));
    }

    #[test]
    fn exposition_has_help_type_and_escaped_safe_labels() {
        let s = Snapshot {
            outbox: vec![("pending".into(), 3)],
            ingested_by_source: vec![("drop".into(), 4), ("試験 花子".into(), 1)],
            rejections_by_rule: vec![("R9012".into(), 2)],
            ..Snapshot::default()
        };
        let counters = Counters::default();
        counters.add_pruned(crate::store::retention::Pruned::BundleBody, 7);
        let text = render(
            Some(&s),
            UplinkState::Ok,
            &counters,
            ProcessFigures::default(),
        );
        assert!(text.contains("tsunagi_store_pruned_rows_total{table=\"outbox\"} 7\n"));
        assert!(text.contains("tsunagi_store_pruned_rows_total{table=\"patient\"} 0\n"));
        assert!(
            text.contains("# TYPE tsunagi_outbox_items gauge\n"),
            "{text}"
        );
        assert!(text.contains("tsunagi_outbox_items{state=\"pending\"} 3\n"));
        assert!(text.contains("tsunagi_outbox_items{state=\"rejected\"} 0\n"));
        assert!(text.contains("tsunagi_ingested_inputs_total{source=\"other\"} 1\n"));
        assert!(!text.contains("試験"));
        assert!(text.contains("tsunagi_rejections_total{rule=\"R9012\"} 2\n"));
        assert!(text.contains("tsunagi_uplink_state{state=\"ok\"} 1\n"));
        assert!(text.contains("tsunagi_build_info{version=\""));
        let rules = validation_rules("jp-eCSCLINS.r4#1.10.0 (built-in)");
        assert!(rules.contains(
            "tsunagi_validation_rules_info{package=\"jp-eCSCLINS.r4\",version=\"1.10.0\",origin=\"builtin\"} 1\n"
        ));
        let loaded = validation_rules("jp-eCSCLINS.r4#1.11.0 (masters load fhir-package)");
        assert!(loaded.contains("version=\"1.11.0\",origin=\"masters\"} 1\n"));
        let none = validation_rules("hand-written rules only");
        assert!(none.contains("{package=\"none\",version=\"none\",origin=\"none\"} 1\n"));
        assert!(validation_rules("").is_empty());
        assert!(text.ends_with('\n'));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn mllp_closes_by_reason_and_messages_in_flight_are_exposed_per_listener() {
        let stats = std::sync::Arc::new(crate::source::mllp::MllpStats::default());
        stats.closed_by_listener(CloseReason::Evicted);
        stats.closed_by_listener(CloseReason::NotAllowed);
        stats.message_in_flight();
        let counters = Counters::default();
        counters.watch_mllp("ehr", stats);
        let text = render(
            None,
            UplinkState::Unknown,
            &counters,
            ProcessFigures::default(),
        );
        assert!(text.contains("# TYPE tsunagi_mllp_connections_closed_by_listener_total counter\n"));
        assert!(text.contains(
            "tsunagi_mllp_connections_closed_by_listener_total{listener=\"ehr\",reason=\"evicted\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "tsunagi_mllp_connections_closed_by_listener_total{listener=\"ehr\",reason=\"not-allowed\"} 1\n"
        ));
        assert!(text.contains(
            "tsunagi_mllp_connections_closed_by_listener_total{listener=\"ehr\",reason=\"frame-timeout\"} 0\n"
        ));
        assert!(text.contains("# TYPE tsunagi_mllp_messages_in_flight gauge\n"));
        assert!(text.contains("tsunagi_mllp_messages_in_flight{listener=\"ehr\"} 1\n"));
    }

    #[test]
    fn the_writer_commits_are_exposed_by_durability() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _thread) =
            crate::store::Writer::spawn(crate::store::open(dir.path()).unwrap()).unwrap();
        writer.call(|_| Ok(())).unwrap();
        writer.call(|_| Ok(())).unwrap();
        writer.call_derived(|_| Ok(())).unwrap();
        let counters = Counters::default();
        let text = |counters: &Counters| {
            render(
                None,
                UplinkState::Unknown,
                counters,
                ProcessFigures::default(),
            )
        };
        assert!(!text(&counters).contains("tsunagi_store_commits_total"));
        counters.watch_commits(writer.figures());
        let text = text(&counters);
        for line in [
            "# TYPE tsunagi_store_writer_jobs_queued gauge\n",
            "tsunagi_store_writer_jobs_queued 0\n",
            "# TYPE tsunagi_store_commits_total counter\n",
            "tsunagi_store_commits_total{durability=\"acknowledged\"} 2\n",
            "tsunagi_store_commits_total{durability=\"derived\"} 1\n",
            "tsunagi_store_committed_jobs_total{durability=\"acknowledged\"} 2\n",
            "tsunagi_store_commits_failed_total 0\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn a_failed_store_read_says_so() {
        let text = render(
            None,
            UplinkState::Unknown,
            &Counters::default(),
            ProcessFigures::default(),
        );
        assert!(text.contains("tsunagi_store_up 0\n"));
        assert!(!text.contains("tsunagi_outbox_items"));
    }

    #[test]
    fn rss_is_read_from_proc() {
        assert!(rss_bytes().is_some_and(|b| b > 1_000_000));
    }
}

//! `tsunagi queue list|show|retry|drop` and `tsunagi replay`.
//!
//! `show request:<X-Request-Id>` follows one FHIR request: its input (state, error) and the
//! outbox items it produced with their delivery states, by the `I-`/`O-` ids the other actions
//! take; an input stored but not processed yet, or one that produced no item, says so.
//!
//! `show` prints metadata and the attempt history; the content (bundle or raw input, which is
//! patient data) only with `--reveal`, and that access is written to the audit table first.

use crate::console::outln;
use std::path::Path;

use clap::Subcommand;
use rusqlite::Connection;

use crate::store::{self, inbox, outbox, query, InputState, OutboxState};

/// `queue` actions.
#[derive(Subcommand, Debug)]
pub enum QueueAction {
    /// List items (default: rejected, held, pending, awaiting, in flight, quarantined).
    List {
        /// Only this state (pending, in_flight, awaiting, delivered, rejected, held, dead, quarantined).
        #[arg(long)]
        state: Option<String>,
        /// At most this many rows per kind.
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// One item's details and attempts; or, for `request:<X-Request-Id>` (or
    /// `<source>:request:<X-Request-Id>`, as `list` shows it), the FHIR request's input, its
    /// state, and its outbox items with their delivery states.
    Show {
        /// O-12, I-7, request:<X-Request-Id> or <source>:request:<X-Request-Id>.
        id: String,
        /// Also print its content (patient data); the access is audited.
        #[arg(long)]
        reveal: bool,
    },
    /// Send a rejected, dead or invalid item again now (O-12), or process a quarantined input
    /// again after a fix (I-7); or every item a filter selects (`--all`, `--state`, `--reason`).
    #[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["id", "all", "state", "reason"])))]
    Retry {
        /// O-12 or I-7.
        #[arg(conflicts_with_all = ["all", "state", "reason"])]
        id: Option<String>,
        /// Every item that can be sent again (rejected, dead, pending, held for findings).
        #[arg(long, conflicts_with_all = ["state", "reason"])]
        all: bool,
        /// Only items in this state (rejected, dead, pending, held).
        #[arg(long)]
        state: Option<String>,
        /// Only items with this hold reason, or whose last error contains this text.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give up on an item (O-12) or on an input and everything it produced (I-7) for good;
    /// the reason is recorded in the audit table.
    Drop {
        /// O-12 or I-7.
        id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
}

fn actor() -> String {
    crate::owner_only::account()
}

fn outbox_id(id: &str) -> anyhow::Result<i64> {
    match query::parse_item_id(id)? {
        ("outbox", _, n) => Ok(n),
        _ => anyhow::bail!("{id}: this action takes an outbox id (O-12) / 送信キューのID (O-12) を指定してください"),
    }
}

/// `queue retry --all|--state|--reason`: every selected item is made due now, in one
/// transaction, each one audited.
fn retry_filtered(
    conn: &rusqlite::Connection,
    state: Option<&str>,
    reason: Option<String>,
) -> anyhow::Result<bool> {
    let filter = outbox::RetryFilter {
        state: state.map(str::parse).transpose()?,
        reason,
    };
    let who = actor();
    let n = in_tx(conn, |c| {
        let ids = outbox::retryable(c, &filter)?;
        for id in &ids {
            outbox::retry_now(c, *id, &who)?;
        }
        Ok(ids.len())
    })?;
    outln!("{n} item(s) will be sent again / {n} 件を再送します")?;
    Ok(true)
}

/// Runs a queue action.
pub fn run(data_dir: &Path, action: QueueAction) -> anyhow::Result<bool> {
    let conn = store::open_existing(data_dir)?;
    match action {
        QueueAction::List { state, limit } => list(&conn, state.as_deref(), limit),
        QueueAction::Show { id, reveal } => show(&conn, &id, reveal),
        QueueAction::Retry {
            id: None,
            state,
            reason,
            ..
        } => retry_filtered(&conn, state.as_deref(), reason),
        QueueAction::Retry { id: Some(id), .. } => {
            if let ("inbox", _, n) = query::parse_item_id(&id)? {
                // A quarantined input is retried by running the pipeline on it again.
                let who = actor();
                let done = in_tx(&conn, |c| {
                    let done = inbox::replay(c, &[n])?;
                    outbox::audit(c, &who, "replay", &id, None)?;
                    Ok(done)
                })?;
                if done == 0 {
                    anyhow::bail!("{id}: no stored raw input to process again (pruned?) / 再処理できる原本がありません");
                }
                outln!("{id}: will be processed again / 再処理します")?;
                return Ok(true);
            }
            let n = outbox_id(&id)?;
            in_tx(&conn, |c| outbox::retry_now(c, n, &actor()))?;
            outln!("{id}: will be sent again / 再送します")?;
            Ok(true)
        }
        QueueAction::Drop { id, reason } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must say why / 理由を入力してください");
            }
            if let ("inbox", _, n) = query::parse_item_id(&id)? {
                let who = actor();
                let items = in_tx(&conn, |c| {
                    let items = inbox::drop_input(c, n, &reason)?;
                    outbox::audit(c, &who, "drop", &id, Some(&reason))?;
                    Ok(items)
                })?;
                outln!("{id}: dropped with {items} undelivered item(s); recorded in the audit table / 入力と未送信の{items}件を破棄し監査記録に残しました")?;
                return Ok(true);
            }
            let n = outbox_id(&id)?;
            in_tx(&conn, |c| outbox::drop_item(c, n, &actor(), &reason))?;
            outln!("{id}: dropped; recorded in the audit table / 破棄し監査記録に残しました")?;
            Ok(true)
        }
    }
}

fn in_tx<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, store::StoreError>,
) -> anyhow::Result<T> {
    Ok(store::in_transaction(conn, f)?)
}

/// What `queue list --state` selects: outbox items in one state, or quarantined inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Items(OutboxState),
    Quarantined,
}

fn parse_listed(s: &str) -> anyhow::Result<Listed> {
    if s == InputState::Quarantined.as_str() {
        return Ok(Listed::Quarantined);
    }
    s.parse().map(Listed::Items).map_err(|_| {
        let valid: Vec<&str> = OutboxState::ALL
            .iter()
            .map(|s| s.as_str())
            .chain([InputState::Quarantined.as_str()])
            .collect();
        anyhow::anyhow!(
            "--state {s:?} is not a state; valid: {} / --state {s:?} は状態名ではありません。指定できる状態: {}",
            valid.join(", "),
            valid.join(", ")
        )
    })
}

fn list(conn: &Connection, state: Option<&str>, limit: usize) -> anyhow::Result<bool> {
    let default = [
        OutboxState::Rejected,
        OutboxState::Held,
        OutboxState::Pending,
        OutboxState::Awaiting,
        OutboxState::InFlight,
    ];
    let (states, quarantined): (Vec<OutboxState>, bool) = match state.map(parse_listed) {
        None => (default.to_vec(), true),
        Some(listed) => match listed? {
            Listed::Quarantined => (vec![], true),
            Listed::Items(s) => (vec![s], false),
        },
    };
    let items = query::queue(conn, &states, quarantined, limit)?;
    outln!(
        "{:<10} {:<12} {:<20} {:>8}  {:<19}  source / reason",
        "id",
        "state",
        "kind",
        "attempts",
        "updated"
    )?;
    for i in &items {
        outln!(
            "{:<10} {:<12} {:<20} {:>8}  {:<19}  {}",
            i.id,
            i.state,
            i.kind,
            i.attempts,
            super::status::fmt_ms(i.updated_at)
                .get(..19)
                .unwrap_or_default(),
            i.source
        )?;
        if let Some(r) = &i.reason {
            outln!("{:>12}↳ {}", "", first_line(r, 300))?;
        }
    }
    outln!("{} item(s)", items.len())?;
    Ok(true)
}

fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(max).collect()
}

/// A FHIR request named by its `X-Request-Id`, in one source or in any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestRef<'a> {
    source: Option<&'a str>,
    request_id: &'a str,
}

impl RequestRef<'_> {
    /// The inbox origin the FHIR endpoint stores the request under.
    fn origin(&self) -> String {
        format!("{REQUEST_PREFIX}{}", self.request_id)
    }
}

const REQUEST_PREFIX: &str = "request:";

/// `request:<id>` or `<source>:request:<id>`; `None` for anything else (an item id).
fn parse_request_ref(id: &str) -> Option<RequestRef<'_>> {
    if let Some(request_id) = id.strip_prefix(REQUEST_PREFIX) {
        return (!request_id.is_empty()).then_some(RequestRef {
            source: None,
            request_id,
        });
    }
    let (source, request_id) = id.split_once(&format!(":{REQUEST_PREFIX}"))?;
    (!source.is_empty() && !request_id.is_empty()).then_some(RequestRef {
        source: Some(source),
        request_id,
    })
}

/// What an input's state means for a FHIR request that has no outbox item (yet).
fn without_items(state: InputState) -> &'static str {
    match state {
        InputState::Received => {
            "stored, not processed yet: its items appear when the agent processes it / 保存済み・未処理"
        }
        InputState::Processed => "processed into no item to send / 送信対象はありません",
        InputState::Quarantined => "quarantined: see the error above / 隔離されました (上記のエラー)",
        InputState::Dropped => "dropped by hand / 手動で破棄されました",
    }
}

/// `queue show request:<id>`: every input stored under the request id, and its items.
fn show_request(conn: &Connection, request: &RequestRef<'_>) -> anyhow::Result<bool> {
    let inputs = query::inputs_by_origin(conn, request.source, &request.origin())?;
    if inputs.is_empty() {
        anyhow::bail!(
            "no request stored with X-Request-Id {:?} / X-Request-Id {:?} の要求は保存されていません",
            request.request_id,
            request.request_id
        );
    }
    for input in &inputs {
        outln!(
            "I-{}  {}  {}:{}  {}  {} bytes  received {}",
            input.id,
            input.state,
            input.source,
            request.origin(),
            input.format,
            input.size,
            super::status::fmt_ms(input.received_at)
        )?;
        if let Some(e) = &input.error {
            outln!("  error  {}", first_line(e, 300))?;
        }
        let items = query::items_of_input(conn, input.id)?;
        if items.is_empty() {
            outln!("  (no item: {})", without_items(input.state))?;
        }
        for i in &items {
            outln!(
                "  O-{:<8} {:<12} {:<20} attempts {:<3} updated {}{}",
                i.id,
                i.state,
                i.resource_type,
                i.attempts,
                super::status::fmt_ms(i.updated_at),
                i.receipt
                    .as_deref()
                    .map(|r| format!("  receipt {}", first_line(r, 100)))
                    .unwrap_or_default()
            )?;
            if let Some(r) = &i.reason {
                outln!("{:>14}↳ {}", "", first_line(r, 300))?;
            }
        }
    }
    outln!("(details: queue show I-n / O-n; content only with --reveal on those ids)")?;
    Ok(true)
}

fn show(conn: &Connection, id: &str, reveal: bool) -> anyhow::Result<bool> {
    if let Some(request) = parse_request_ref(id) {
        if reveal {
            anyhow::bail!("--reveal takes an item id (I-7 or O-12), not a request id / --reveal には I-7 か O-12 を指定してください");
        }
        return show_request(conn, &request);
    }
    let (table, _, n) = query::parse_item_id(id)?;
    let missing = || anyhow::anyhow!("no item {id} / {id} は存在しません");
    if table == "outbox" {
        let d = query::item_detail(conn, n)?.ok_or_else(missing)?;
        let row = [
            d.state.to_string(),
            d.resource_type,
            d.bundle_identifier.unwrap_or_default(),
            d.idempotency_key,
            d.attempts.to_string(),
            d.last_error.unwrap_or_default(),
            d.hold_reason.unwrap_or_default(),
            d.receipt.unwrap_or_default(),
            format!("{}:{}", d.source, d.origin),
            format!("I-{}", d.inbox_id),
        ];
        let labels = [
            "state",
            "resource type",
            "bundle identifier",
            "idempotency key",
            "attempts",
            "last error",
            "hold reason",
            "receipt",
            "source",
            "input",
        ];
        outln!("{id}")?;
        for (l, v) in labels.iter().zip(row.iter()) {
            outln!("  {l:<18} {v}")?;
        }
        outln!("  attempts:")?;
        for (at, outcome, detail, delay) in query::attempts(conn, n)? {
            outln!(
                "    {}  {:<10} {}{}",
                super::status::fmt_ms(at),
                outcome,
                detail
                    .as_deref()
                    .map(|d| first_line(d, 200))
                    .unwrap_or_default(),
                delay
                    .map(|d| format!("  (next in {d} ms)"))
                    .unwrap_or_default()
            )?;
        }
    } else {
        let query::InputDetail {
            state,
            source,
            origin,
            format,
            size,
            error,
            content_hash: hash,
        } = query::input_detail(conn, n)?.ok_or_else(missing)?;
        outln!("{id}\n  state              {state}\n  source             {source}:{origin}\n  format             {format}\n  size               {size} bytes\n  sha256             {hash}")?;
        if let Some(e) = error {
            outln!("  error              {e}")?;
        }
    }
    if reveal {
        in_tx(conn, |c| outbox::audit(c, &actor(), "reveal", id, None))?;
        match query::item_content(conn, id)? {
            Some(bytes) => outln!(
                "--- content (patient data; this access was audited) ---\n{}",
                String::from_utf8_lossy(&bytes)
            )?,
            None => outln!("(no content stored: pruned or never built)")?,
        }
    } else {
        outln!("(content hidden; add --reveal to print it — the access is audited / 内容の表示は --reveal、監査記録されます)")?;
    }
    Ok(true)
}

/// `tsunagi replay`: puts inputs back through the pipeline.
pub fn replay(
    data_dir: &Path,
    ids: &[String],
    quarantined: bool,
    held: bool,
    unmapped: bool,
) -> anyhow::Result<bool> {
    let conn = store::open_existing(data_dir)?;
    let mut inputs: Vec<i64> = Vec::new();
    for id in ids {
        match query::parse_item_id(id)? {
            ("inbox", _, n) => inputs.push(n),
            (_, _, n) => inputs.push(query::input_of_item(&conn, n)?),
        }
    }
    if quarantined {
        inputs.extend(query::quarantined_inputs(&conn)?);
    }
    if held {
        inputs.extend(query::inputs_with_held_items(&conn)?);
    }
    if unmapped {
        // After a mapping fix: every input with an item that was unmapped or invalid.
        inputs.extend(store::items::inputs_with_unmapped(&conn)?);
    }
    inputs.sort_unstable();
    inputs.dedup();
    if inputs.is_empty() {
        outln!("nothing to replay / 再処理対象はありません")?;
        return Ok(true);
    }
    let who = actor();
    let n = in_tx(&conn, |c| {
        let n = inbox::replay(c, &inputs)?;
        for i in &inputs {
            outbox::audit(c, &who, "replay", &format!("I-{i}"), None)?;
        }
        Ok(n)
    })?;
    outln!("{n} input(s) will be processed again by the running agent / {n} 件を再処理します")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_refs_name_a_request_id_with_or_without_its_source() {
        assert_eq!(
            parse_request_ref("request:abc-1"),
            Some(RequestRef {
                source: None,
                request_id: "abc-1"
            })
        );
        let r = parse_request_ref("fhir:request:a:b").unwrap();
        assert_eq!((r.source, r.request_id), (Some("fhir"), "a:b"));
        assert_eq!(r.origin(), "request:a:b");
        for not_one in ["O-12", "I-7", "request:", "fhir:request:", ":request:x"] {
            assert_eq!(parse_request_ref(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn a_listed_state_is_parsed_and_an_unknown_one_names_the_valid_ones() {
        assert_eq!(
            parse_listed("in_flight").unwrap(),
            Listed::Items(OutboxState::InFlight)
        );
        assert_eq!(parse_listed("quarantined").unwrap(), Listed::Quarantined);
        let err = parse_listed("sent").unwrap_err().to_string();
        assert!(err.contains("\"sent\""), "{err}");
        assert!(
            err.contains("pending") && err.contains("quarantined"),
            "{err}"
        );
        assert!(err.contains("状態名"), "{err}");
    }
}

//! `tsunagi queue list|show|retry|drop` and `tsunagi replay`.
//!
//! `show` prints metadata and the attempt history; the content (bundle or raw input, which is
//! patient data) only with `--reveal`, and that access is written to the audit table first.

use std::path::Path;

use clap::Subcommand;
use rusqlite::Connection;

use crate::store::{self, inbox, outbox, query};

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
    /// One item's details and attempts.
    Show {
        /// O-12 or I-7.
        id: String,
        /// Also print its content (patient data); the access is audited.
        #[arg(long)]
        reveal: bool,
    },
    /// Send a rejected, dead or invalid item again now (O-12), or process a quarantined input
    /// again after a fix (I-7).
    Retry {
        /// O-12 or I-7.
        id: String,
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
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| format!("uid:{}", unsafe_free_uid()))
}

fn unsafe_free_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

fn outbox_id(id: &str) -> anyhow::Result<i64> {
    match query::parse_item_id(id)? {
        ("outbox", _, n) => Ok(n),
        _ => anyhow::bail!("{id}: this action takes an outbox id (O-12) / 送信キューのID (O-12) を指定してください"),
    }
}

/// Runs a queue action.
pub fn run(data_dir: &Path, action: QueueAction) -> anyhow::Result<bool> {
    let conn = store::open_existing(data_dir)?;
    match action {
        QueueAction::List { state, limit } => list(&conn, state.as_deref(), limit),
        QueueAction::Show { id, reveal } => show(&conn, &id, reveal),
        QueueAction::Retry { id } => {
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
                println!("{id}: will be processed again / 再処理します");
                return Ok(true);
            }
            let n = outbox_id(&id)?;
            in_tx(&conn, |c| outbox::retry_now(c, n, &actor()))?;
            println!("{id}: will be sent again / 再送します");
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
                println!("{id}: dropped with {items} undelivered item(s); recorded in the audit table / 入力と未送信の{items}件を破棄し監査記録に残しました");
                return Ok(true);
            }
            let n = outbox_id(&id)?;
            in_tx(&conn, |c| outbox::drop_item(c, n, &actor(), &reason))?;
            println!("{id}: dropped; recorded in the audit table / 破棄し監査記録に残しました");
            Ok(true)
        }
    }
}

fn in_tx<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, store::StoreError>,
) -> anyhow::Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

fn list(conn: &Connection, state: Option<&str>, limit: usize) -> anyhow::Result<bool> {
    let default = ["rejected", "held", "pending", "awaiting", "in_flight"];
    let (states, quarantined): (Vec<&str>, bool) = match state {
        None => (default.to_vec(), true),
        Some("quarantined") => (vec![], true),
        Some(s) => (vec![s], false),
    };
    let items = query::queue(conn, &states, quarantined, limit)?;
    println!(
        "{:<10} {:<12} {:<20} {:>8}  {:<19}  source / reason",
        "id", "state", "kind", "attempts", "updated"
    );
    for i in &items {
        println!(
            "{:<10} {:<12} {:<20} {:>8}  {:<19}  {}",
            i.id,
            i.state,
            i.kind,
            i.attempts,
            super::status::fmt_ms(i.updated_at)
                .get(..19)
                .unwrap_or_default(),
            i.source
        );
        if let Some(r) = &i.reason {
            println!("{:>12}↳ {}", "", first_line(r, 300));
        }
    }
    println!("{} item(s)", items.len());
    Ok(true)
}

fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(max).collect()
}

fn show(conn: &Connection, id: &str, reveal: bool) -> anyhow::Result<bool> {
    let (table, _, n) = query::parse_item_id(id)?;
    if table == "outbox" {
        let row = conn.query_row(
            "SELECT o.state, o.resource_type, o.bundle_identifier, o.idempotency_key, o.attempts, o.last_error,
                    o.hold_reason, o.receipt, i.source, i.origin, o.inbox_id
             FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE o.id = ?1",
            [n],
            |r| {
                Ok([
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?.to_string(),
                    r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    format!("{}:{}", r.get::<_, String>(8)?, r.get::<_, String>(9)?),
                    format!("I-{}", r.get::<_, i64>(10)?),
                ])
            },
        );
        let row = row.map_err(|_| anyhow::anyhow!("no item {id} / {id} は存在しません"))?;
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
        println!("{id}");
        for (l, v) in labels.iter().zip(row.iter()) {
            println!("  {l:<18} {v}");
        }
        println!("  attempts:");
        for (at, outcome, detail, delay) in query::attempts(conn, n)? {
            println!(
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
            );
        }
    } else {
        let row = conn.query_row(
            "SELECT state, source, origin, format, size, error, content_hash FROM inbox WHERE id = ?1",
            [n],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        );
        let (state, source, origin, format, size, error, hash) =
            row.map_err(|_| anyhow::anyhow!("no item {id} / {id} は存在しません"))?;
        println!("{id}\n  state              {state}\n  source             {source}:{origin}\n  format             {format}\n  size               {size} bytes\n  sha256             {hash}");
        if let Some(e) = error {
            println!("  error              {e}");
        }
    }
    if reveal {
        in_tx(conn, |c| outbox::audit(c, &actor(), "reveal", id, None))?;
        match query::item_content(conn, id)? {
            Some(bytes) => println!(
                "--- content (patient data; this access was audited) ---\n{}",
                String::from_utf8_lossy(&bytes)
            ),
            None => println!("(no content stored: pruned or never built)"),
        }
    } else {
        println!("(content hidden; add --reveal to print it — the access is audited / 内容の表示は --reveal、監査記録されます)");
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
            (_, _, n) => inputs.push(conn.query_row(
                "SELECT inbox_id FROM outbox WHERE id = ?1",
                [n],
                |r| r.get(0),
            )?),
        }
    }
    if quarantined {
        let mut stmt =
            conn.prepare("SELECT id FROM inbox WHERE state = 'quarantined' AND raw IS NOT NULL")?;
        inputs.extend(
            stmt.query_map([], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    if held {
        let mut stmt = conn.prepare("SELECT DISTINCT inbox_id FROM outbox WHERE state = 'held'")?;
        inputs.extend(
            stmt.query_map([], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    if unmapped {
        // After a mapping fix: every input with an item that was unmapped or invalid.
        inputs.extend(store::items::inputs_with_unmapped(&conn)?);
    }
    inputs.sort_unstable();
    inputs.dedup();
    if inputs.is_empty() {
        println!("nothing to replay / 再処理対象はありません");
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
    println!("{n} input(s) will be processed again by the running agent / {n} 件を再処理します");
    Ok(true)
}

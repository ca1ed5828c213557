//! `tsunagi status`: what the queue holds and whether delivery is healthy, from the database.

use std::io::Write;
use std::path::Path;

use crate::store::{self, query, OutboxState};

/// Prints the status; `Ok(true)` always (it is a report, not a check). A reader that closes the
/// pipe early (`tsunagi status | grep -q`) ends it as an I/O error that `main` takes as success.
pub fn run(data_dir: &Path, json: bool) -> anyhow::Result<bool> {
    let conn = store::open_existing(data_dir)?;
    let s = query::status(&conn)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&s)?)?;
        return Ok(true);
    }
    writeln!(out, "tsunagi status  ({})", data_dir.display())?;
    writeln!(
        out,
        "  inputs   received {:>8}  processed {:>8}  quarantined {:>6}",
        s.inputs_received, s.inputs_processed, s.inputs_quarantined
    )?;
    write!(out, "  outbox  ")?;
    if s.outbox.is_empty() {
        write!(out, " (empty)")?;
    }
    for (state, n) in &s.outbox {
        write!(out, " {state} {n}")?;
    }
    writeln!(out)?;
    writeln!(out, "  attempts {}", s.attempts)?;
    writeln!(
        out,
        "  oldest pending       {}",
        s.oldest_pending_age_secs
            .map(|a| format!("{a} s ago"))
            .unwrap_or_else(|| "-".into())
    )?;
    writeln!(
        out,
        "  last delivery        {}",
        s.last_delivery_ms.map(fmt_ms).unwrap_or_else(|| "-".into())
    )?;
    match &s.last_error {
        Some((e, at)) => writeln!(out, "  last error           {} ({})", e, fmt_ms(*at))?,
        None => writeln!(out, "  last error           -")?,
    }
    writeln!(
        out,
        "  rejected {}  held {}  quarantined {}",
        s.count(OutboxState::Rejected),
        s.count(OutboxState::Held),
        s.inputs_quarantined
    )?;
    if s.intake_paused {
        writeln!(
            out,
            "  INTAKE PAUSED: free disk space is below the reserve / 空き容量不足のため受付停止中"
        )?;
    }
    Ok(true)
}

/// Formats unix ms as local JST time.
pub fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&tsunagi_clins::time::jst())
                .format("%Y-%m-%d %H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

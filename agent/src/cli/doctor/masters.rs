//! `masters`: which national code masters are loaded in the data directory, and how old the
//! oldest load is (masters are revised several times a year).

use std::path::Path;

use super::{fix, Check, Setting};

/// Warn when a loaded master is older than this.
const STALE_DAYS: i64 = 180;

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    vec![masters(
        &cfg.agent.data_dir,
        chrono::Utc::now().timestamp_millis(),
    )]
}

fn load_fix() -> super::Fix {
    fix(
        "最新の標準マスターを `tsunagi masters load` で読み込んでください (未読込のコードはコードなしで送信されます)",
        "load the current national masters with `tsunagi masters load` (codes that cannot be checked are sent uncoded)",
    )
}

fn masters(data_dir: &Path, now_ms: i64) -> Check {
    if !crate::store::terminology::db_path(data_dir).exists() {
        return Check::warn("masters", "no national master is loaded", load_fix());
    }
    let status = crate::store::terminology::open(data_dir).and_then(|c| crate::masters::status(&c));
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            return Check::fail(
                "masters",
                format!("cannot read the masters: {e}"),
                fix(
                    "データディレクトリの terminology.db を確認し、必要ならマスターを読み込み直してください",
                    "check terminology.db in the data directory; load the masters again if needed",
                ),
            )
        }
    };
    let active: Vec<(String, i64)> = status
        .iter()
        .filter_map(|m| {
            let a = m.active.as_ref()?;
            let days = (now_ms - a.loaded_at_ms) / 86_400_000;
            Some((format!("{} {} ({days} d)", m.kind.as_str(), a.label), days))
        })
        .collect();
    if active.is_empty() {
        return Check::warn("masters", "no national master is loaded", load_fix());
    }
    let oldest = active.iter().map(|(_, d)| *d).max().unwrap_or(0);
    let list: Vec<&str> = active.iter().map(|(s, _)| s.as_str()).collect();
    let detail = format!("{} loaded: {}", active.len(), list.join(", "));
    if oldest > STALE_DAYS {
        return Check::warn(
            "masters",
            format!("{detail}; the oldest was loaded {oldest} days ago"),
            load_fix(),
        );
    }
    Check::ok("masters", detail)
}

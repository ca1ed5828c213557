//! The plugin's stderr: logged line by line at the level the line names, scrubbed of what looks
//! like patient data, and rate-limited so a flooding plugin cannot flood the agent's log.
//!
//! A line may start with a level (`ERROR`, `WARN`/`WARNING`, `INFO`, `DEBUG`, `TRACE`, in any
//! case, optionally in brackets and followed by `:`), or be a JSON object with `level` and
//! `message`. Anything else is logged at `warn`. Besides the agent's usual scrubbing (dates,
//! long digit runs, paths, quoted values), every run of non-ASCII characters is masked: a name
//! written in kanji or kana is not quoted in a free-form line, so vendors log in ASCII.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lines::{read_line, Line};
use super::stats::PluginStats;
use crate::redact::scrub;

/// Longest stderr line read whole.
const MAX_LINE: usize = 8192;
/// Lines logged per window; the rest are counted and dropped.
const LINES_PER_WINDOW: u32 = 100;
/// The rate window.
const WINDOW: Duration = Duration::from_secs(10);

/// A log level a plugin line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

/// Splits a line into its level and message.
pub fn level_of(line: &str) -> (Level, String) {
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(line) {
        let level = o
            .get("level")
            .and_then(|v| v.as_str())
            .and_then(named_level)
            .unwrap_or(Level::Warn);
        let msg = o
            .get("message")
            .or_else(|| o.get("msg"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        return (level, msg);
    }
    let trimmed = line.trim_start();
    let word_end = trimmed
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '['))
        .unwrap_or(trimmed.len());
    let word = trimmed[..word_end].trim_start_matches('[');
    match named_level(word) {
        Some(level) => {
            let rest = trimmed[word_end..].trim_start_matches([']', ':', ' ']);
            (level, rest.to_string())
        }
        None => (Level::Warn, trimmed.to_string()),
    }
}

fn named_level(w: &str) -> Option<Level> {
    Some(match w.to_ascii_lowercase().as_str() {
        "error" | "err" | "fatal" | "critical" => Level::Error,
        "warn" | "warning" => Level::Warn,
        "info" => Level::Info,
        "debug" | "trace" => Level::Debug,
        _ => return None,
    })
}

/// Logs the plugin's stderr until it closes.
pub fn follow(source: String, stderr: impl Read, stats: Arc<PluginStats>) {
    let mut r = BufReader::new(stderr);
    let mut window = (Instant::now(), 0u32, 0u64);
    while let Ok(Some(line)) = read_line(&mut r, MAX_LINE) {
        if window.0.elapsed() >= WINDOW {
            report_dropped(&source, window.2);
            window = (Instant::now(), 0, 0);
        }
        if window.1 >= LINES_PER_WINDOW {
            window.2 += 1;
            stats.add_stderr_dropped(1);
            continue;
        }
        window.1 += 1;
        let text = match &line {
            Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
            Line::TooLong { size, .. } => format!("(a stderr line of {size} bytes, not logged)"),
        };
        log(&source, &text);
    }
    report_dropped(&source, window.2);
    drain(&mut r);
}

fn drain(r: &mut impl BufRead) {
    let _ = std::io::copy(r, &mut std::io::sink());
}

fn report_dropped(source: &str, n: u64) {
    if n > 0 {
        tracing::warn!(source = %source, dropped = n, "plugin stderr flood: lines not logged / プラグインの標準エラー出力が多すぎるため一部を記録しませんでした");
    }
}

fn log(source: &str, line: &str) {
    let (level, msg) = level_of(line);
    let msg = scrub(&mask_non_ascii(&msg));
    match level {
        Level::Error => tracing::error!(source = %source, plugin = %msg, "plugin stderr"),
        Level::Warn => tracing::warn!(source = %source, plugin = %msg, "plugin stderr"),
        Level::Info => tracing::info!(source = %source, plugin = %msg, "plugin stderr"),
        Level::Debug => tracing::debug!(source = %source, plugin = %msg, "plugin stderr"),
    }
}

/// Replaces every run of non-ASCII characters with `…`.
pub fn mask_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('…');
            in_run = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_from_prefixes_and_json() {
        assert_eq!(
            level_of("ERROR: disk gone"),
            (Level::Error, "disk gone".into())
        );
        assert_eq!(level_of("[info] started"), (Level::Info, "started".into()));
        assert_eq!(level_of("warning: slow"), (Level::Warn, "slow".into()));
        assert_eq!(level_of("debug x"), (Level::Debug, "x".into()));
        assert_eq!(
            level_of("Traceback (most recent call last):").0,
            Level::Warn
        );
        assert_eq!(
            level_of(r#"{"level":"error","message":"bad row"}"#),
            (Level::Error, "bad row".into())
        );
    }

    #[test]
    fn patient_data_is_scrubbed_from_what_is_logged() {
        let (_, msg) = level_of("ERROR: row for 山田太郎 id 0012345678 born 1987-06-05");
        let s = scrub(&mask_non_ascii(&msg));
        assert!(
            !s.contains("0012345678") && !s.contains("1987-06-05"),
            "{s}"
        );
        assert!(!s.contains("山田") && s.contains("row for"), "{s}");
    }
}

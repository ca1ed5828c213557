//! `tsunagi doctor [--config FILE] [--format text|json]`: everything hospital IT checks first,
//! each as a named check that says ok, warn or fail, what it saw, and the fix in Japanese and
//! English. Exit 0 when nothing fails (warnings allowed), 1 otherwise.
//!
//! One file per group of checks; each group is a function from the [`Setting`] to its checks, so
//! a new kind of check is one more entry in [`groups`]. Nothing here changes the agent's state
//! (the data directory check writes and removes one empty probe file). Checks report names of
//! files, addresses, counts and versions only: never patient data, tokens or key material.

mod certs;
mod config;
mod data_dir;
mod disk;
mod ig;
mod masters;
mod platform;
mod ports;
mod sources;
mod update;

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The JSON output's schema name (bump the number when a field changes meaning).
pub const SCHEMA: &str = "tsunagi.doctor/1";

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per check, fixes below in Japanese and English.
    Text,
    /// One JSON document (schema `tsunagi.doctor/1`).
    Json,
}

/// How a check ended (ordered: ok < warn < fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One named check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// e.g. `config`, `data-dir`, `port:demo-mllp`.
    pub name: String,
    pub status: Status,
    /// What was seen (file names, addresses, figures; never patient data or secrets).
    pub detail: String,
    /// What to do, in Japanese (empty when ok).
    pub fix_ja: String,
    /// What to do, in English (empty when ok).
    pub fix_en: String,
}

impl Check {
    /// A passed check.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix_ja: String::new(),
            fix_en: String::new(),
        }
    }

    /// A check that found something to look at, not yet a failure.
    pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: Fix) -> Check {
        Check::ended(Status::Warn, name, detail, fix)
    }

    /// A failed check.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: Fix) -> Check {
        Check::ended(Status::Fail, name, detail, fix)
    }

    fn ended(
        status: Status,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: Fix,
    ) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix_ja: fix.ja,
            fix_en: fix.en,
        }
    }
}

/// A fix in both languages.
pub struct Fix {
    pub ja: String,
    pub en: String,
}

/// A fix from its Japanese and English text.
pub fn fix(ja: impl Into<String>, en: impl Into<String>) -> Fix {
    Fix {
        ja: ja.into(),
        en: en.into(),
    }
}

/// What the checks look at: the config file, and the config when it could be read at all.
pub struct Setting {
    pub base: PathBuf,
    pub config: Option<crate::config::Config>,
}

/// Every group of checks after the config's own, in output order.
fn groups() -> [fn(&Setting) -> Vec<Check>; 9] {
    [
        data_dir::checks,
        disk::checks,
        sources::checks,
        ports::checks,
        certs::checks,
        platform::checks,
        masters::checks,
        ig::checks,
        update::checks,
    ]
}

/// Runs every check on `file` (else the default config) and prints them; `true` when none
/// failed.
pub fn run(file: Option<&Path>, format: Format) -> anyhow::Result<bool> {
    let file = file.map_or_else(default_config, Path::to_path_buf);
    let checks = all_checks(&file);
    let ok = !checks.iter().any(|c| c.status == Status::Fail);
    let out = match format {
        Format::Text => text(&file, &checks),
        Format::Json => serde_json::to_string_pretty(&json(&file, &checks))? + "\n",
    };
    // A closed pipe (`| head`) is an error to report, not a panic.
    std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())?;
    Ok(ok)
}

/// The checks of `file`: the config's, then (when it could be read) every group's.
pub fn all_checks(file: &Path) -> Vec<Check> {
    let (config_check, config) = config::check(file);
    let setting = Setting {
        base: crate::config::base_dir(file),
        config,
    };
    let mut checks = vec![config_check];
    if setting.config.is_some() {
        checks.extend(groups().iter().flat_map(|group| group(&setting)));
    }
    checks
}

/// `TSUNAGI_CONFIG`, else where the packages install the config.
fn default_config() -> PathBuf {
    if let Ok(p) = std::env::var("TSUNAGI_CONFIG") {
        return PathBuf::from(p);
    }
    if cfg!(windows) {
        let root = std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into());
        return Path::new(&root)
            .join("tsunagi")
            .join(crate::config::FILE_NAME);
    }
    Path::new("/etc/tsunagi").join(crate::config::FILE_NAME)
}

fn counts(checks: &[Check]) -> [usize; 3] {
    [Status::Ok, Status::Warn, Status::Fail]
        .map(|s| checks.iter().filter(|c| c.status == s).count())
}

/// The text report: one line per check, the fix below a warning or failure.
fn text(file: &Path, checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = format!("tsunagi doctor: {}\n", file.display());
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            c.status.word(),
            c.name,
            c.detail
        ));
        if c.status != Status::Ok {
            out.push_str(&format!("      {:<width$}  対処: {}\n", "", c.fix_ja));
            out.push_str(&format!("      {:<width$}  fix:  {}\n", "", c.fix_en));
        }
    }
    let [ok, warn, fail] = counts(checks);
    out.push_str(&format!(
        "{ok} ok, {warn} warn, {fail} fail / 正常 {ok}・注意 {warn}・異常 {fail}\n"
    ));
    out
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    config: String,
    ok: bool,
    counts: Counts,
    checks: &'a [Check],
}

#[derive(Serialize)]
struct Counts {
    ok: usize,
    warn: usize,
    fail: usize,
}

fn json<'a>(file: &Path, checks: &'a [Check]) -> Report<'a> {
    let [ok, warn, fail] = counts(checks);
    Report {
        schema: SCHEMA,
        config: file.display().to_string(),
        ok: fail == 0,
        counts: Counts { ok, warn, fail },
        checks,
    }
}

#[cfg(test)]
mod tests;

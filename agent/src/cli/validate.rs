//! `tsunagi validate FILE... [--strict] [--package DIR] [--format text|json]`: the pre-send
//! JP-CLINS validation, on files, without a database: the hand-written rules and the profile
//! rules, from the built-in tables (jp-eCSCLINS.r4 1.10.0) unless `--package` (or
//! `TSUNAGI_FHIR_PACKAGE`) names a package directory, whose rules then replace them.
//!
//! One finding per line, `FILE: SEVERITY RULE PATH MESSAGE_EN / MESSAGE_JA`, never a value from
//! the file. Exit 0 when no file has an error, 1 when one has (or a warning, with `--strict`,
//! or a file is unreadable or not JSON — reported as a finding of that file), 2 when the
//! command cannot run (bad package directory).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::validate::{Finding, Package, Severity, Validator};

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One finding per line.
    Text,
    /// One JSON document: files, findings, verdicts.
    Json,
}

/// The verdict for a list of findings: passes when no error (and no warning with `strict`).
pub fn passes(findings: &[Finding], strict: bool) -> bool {
    !findings
        .iter()
        .any(|f| f.severity == Severity::Error || (strict && f.severity == Severity::Warning))
}

/// Validates one file's bytes: a finding when unreadable JSON, else the validator's findings.
pub fn validate_bytes(validator: &Validator, bytes: &[u8]) -> Vec<Finding> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(doc) => validator.validate_document(&doc),
        Err(_) => vec![unreadable(
            "the file is not JSON",
            "ファイルがJSONではありません",
        )],
    }
}

fn unreadable(en: &str, ja: &str) -> Finding {
    Finding {
        rule: "TSG-INPUT",
        severity: Severity::Error,
        path: String::new(),
        message_en: en.into(),
        message_ja: ja.into(),
    }
}

/// The package from `--package`, else `TSUNAGI_FHIR_PACKAGE`, else none.
fn load_package(dir: Option<&Path>) -> anyhow::Result<Option<Arc<Package>>> {
    let loaded = match dir {
        Some(d) => Some(Package::load(d)),
        None => Package::from_env(),
    };
    loaded
        .transpose()
        .context("--package / TSUNAGI_FHIR_PACKAGE")
        .map(|p| p.map(Arc::new))
}

/// Runs `validate`; `Ok(false)` when any file fails.
pub fn run(
    files: &[PathBuf],
    strict: bool,
    package: Option<&Path>,
    format: Format,
) -> anyhow::Result<bool> {
    let package = load_package(package)?;
    let validator = match &package {
        Some(p) => Validator::with_package(p.clone()),
        None => Validator::new(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut all_pass = true;
    let mut reports = Vec::new();
    for file in files {
        let findings = match std::fs::read(file) {
            Ok(bytes) => validate_bytes(&validator, &bytes),
            Err(_) => vec![unreadable(
                "the file cannot be read",
                "ファイルを読めません",
            )],
        };
        let pass = passes(&findings, strict);
        all_pass &= pass;
        let name = file.display();
        match format {
            Format::Text => {
                for f in &findings {
                    writeln!(out, "{name}: {f}")?;
                }
                let verdict = if pass { "OK" } else { "FAIL" };
                writeln!(out, "{name}: {verdict}")?;
            }
            Format::Json => reports.push(json!({
                "file": name.to_string(),
                "pass": pass,
                "findings": findings.iter().map(|f| json!({
                    "severity": f.severity.label(),
                    "rule": f.rule,
                    "path": f.path,
                    "message_en": f.message_en,
                    "message_ja": f.message_ja,
                })).collect::<Vec<_>>(),
            })),
        }
    }
    if format == Format::Json {
        let doc = json!({
            "package": package.as_ref().map(|p| p.id.clone()),
            "profile_rules": validator.package().map(|p| p.id.clone()),
            "skipped": package.as_ref().map(|p| p.skips()),
            "strict": strict,
            "pass": all_pass,
            "files": reports,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if let Some(p) = &package {
        let s = p.skips();
        writeln!(
            out,
            "package {}: skipped {} binding(s) not expandable from the package, {} slice(s) not evaluable",
            p.id, s.bindings, s.slices
        )?;
    }
    out.flush()?;
    Ok(all_pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_one_error_finding_and_fails() {
        let f = validate_bytes(&Validator::new(), b"{not json");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "TSG-INPUT");
        assert!(!passes(&f, false));
    }

    #[test]
    fn warnings_fail_only_when_strict() {
        let w = vec![Finding {
            rule: "R3010",
            severity: Severity::Warning,
            path: "MedicationRequest".into(),
            message_en: String::new(),
            message_ja: String::new(),
        }];
        assert!(passes(&w, false));
        assert!(!passes(&w, true));
        let mut info = w.clone();
        info[0].severity = Severity::Info;
        assert!(passes(&info, true));
    }

    #[test]
    fn a_missing_file_fails_without_stopping() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let ok = run(&[missing], false, None, Format::Json).unwrap();
        assert!(!ok);
        assert!(run(&[], false, Some(dir.path()), Format::Text).is_err());
    }
}

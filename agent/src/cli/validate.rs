//! `tsunagi validate FILE... [--strict] [--package DIR] [--config FILE|--data DIR]
//! [--format text|json]`: the pre-send JP-CLINS validation, on files: the hand-written rules and
//! the profile rules, from the built-in tables (jp-eCSCLINS.r4 1.10.0) unless `--package` names
//! a package directory, or `--config`/`--data` names an agent whose rules (its `[validation]
//! fhir_package`, else the package loaded into its masters) then replace them, or
//! `TSUNAGI_FHIR_PACKAGE` does. The agent's database is only read.
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

/// The profile rules a run validates with, and where they came from.
pub struct Rules {
    package: Option<Arc<Package>>,
    origin: &'static str,
}

impl Rules {
    /// `--package`, else the agent's (`--config`/`--data`: its `[validation] fhir_package`, else
    /// the package loaded into its masters), else `TSUNAGI_FHIR_PACKAGE`, else the built-in
    /// tables. An agent without a loaded package validates with the built-in tables, as it does.
    pub fn chosen(package: Option<&Path>, agent: &super::Target) -> anyhow::Result<Rules> {
        if let Some(dir) = package {
            let p = Package::load(dir).context("--package")?;
            return Ok(Rules::of(p, "--package"));
        }
        if agent.config.is_some() || agent.data.is_some() {
            return Rules::of_agent(agent);
        }
        match Package::from_env()
            .transpose()
            .context("TSUNAGI_FHIR_PACKAGE")?
        {
            Some(p) => Ok(Rules::of(p, "TSUNAGI_FHIR_PACKAGE")),
            None => Ok(Rules::builtin()),
        }
    }

    fn of(package: Package, origin: &'static str) -> Rules {
        Rules {
            package: Some(Arc::new(package)),
            origin,
        }
    }

    fn builtin() -> Rules {
        Rules {
            package: None,
            origin: "built-in",
        }
    }

    fn of_agent(agent: &super::Target) -> anyhow::Result<Rules> {
        if let Some(config) = &agent.config {
            let (cfg, _) = crate::config::load(config).map_err(super::problems_error)?;
            if let Some(dir) = &cfg.validation.fhir_package {
                let p = Package::load(dir).context("[validation] fhir_package")?;
                return Ok(Rules::of(p, "[validation] fhir_package"));
            }
        }
        let data_dir = agent.data_dir()?;
        if !crate::store::terminology::db_path(&data_dir).exists() {
            return Ok(Rules::builtin());
        }
        let conn = crate::store::terminology::open(&data_dir)?;
        Ok(match crate::masters::fhir_package::active(&conn)? {
            Some((_, package)) => Rules {
                package: Some(package),
                origin: "masters",
            },
            None => Rules::builtin(),
        })
    }

    fn validator(&self) -> Validator {
        match &self.package {
            Some(p) => Validator::with_package(p.clone()),
            None => Validator::new(),
        }
    }
}

/// Runs `validate`; `Ok(false)` when any file fails.
pub fn run(files: &[PathBuf], strict: bool, rules: &Rules, format: Format) -> anyhow::Result<bool> {
    let package = &rules.package;
    let validator = rules.validator();
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
            "rules_from": rules.origin,
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
            "package {} ({}): skipped {} binding(s) not expandable from the package, {} slice(s) not evaluable",
            p.id, rules.origin, s.bindings, s.slices
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
        let ok = run(&[missing], false, &Rules::builtin(), Format::Json).unwrap();
        assert!(!ok);
        let nobody = super::super::Target {
            config: None,
            data: None,
        };
        assert!(Rules::chosen(Some(dir.path()), &nobody).is_err());
    }
}

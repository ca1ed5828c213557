//! `tsunagi inspect PATH...`: what the agent would make of some inputs, without storing or
//! sending anything.
//!
//! Accepts HL7 v2 files (one message each, as in an SS-MIX2 storage), MLLP captures (files of
//! `0x0B … 0x1C 0x0D` frames, one message per frame), whole directories (walked recursively, in
//! sorted order; an SS-MIX2 storage root works) and FHIR JSON files. Each input is decoded,
//! parsed and canonicalized by the same adapters the daemon uses, and printed as one JSON object
//! per canonical record (`--format jsonl`) or a readable table, with counts per record type and
//! per problem at the end. Patient values (IDs, names, birth dates, addresses, free text) and the
//! patient ID in SS-MIX2 file names are masked unless `--reveal` is given.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tsunagi_adapters::{Adapter, FhirJsonAdapter, Hl7v2Adapter, RawInput, Record, Severity};

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per record, aligned columns.
    Table,
    /// One JSON object per line.
    Jsonl,
}

/// Runs `inspect`; `Ok(false)` when any input had a fatal problem.
pub fn run(paths: &[PathBuf], format: Format, reveal: bool) -> anyhow::Result<bool> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let hl7 = Hl7v2Adapter::new();
    let fhir = FhirJsonAdapter;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut problems: BTreeMap<String, usize> = BTreeMap::new();
    let (mut messages, mut fatal) = (0usize, 0usize);
    for file in &files {
        let bytes = std::fs::read(file)?;
        let name = display_name(file, reveal);
        for (i, msg) in split_messages(&bytes).into_iter().enumerate() {
            messages += 1;
            let origin = if i == 0 && !bytes.starts_with(&[0x0b]) {
                name.clone()
            } else {
                format!("{name}#{}", i + 1)
            };
            let adapter: &dyn Adapter = if looks_like_json(msg) { &fhir } else { &hl7 };
            let parsed = adapter.parse(&RawInput {
                bytes: msg,
                origin: &origin,
            });
            for p in &parsed.problems {
                if p.severity == Severity::Fatal {
                    fatal += 1;
                }
                *problems
                    .entry(format!("{:?} {}: {}", p.severity, p.field, p.reason_en))
                    .or_default() += 1;
            }
            for r in &parsed.records {
                let (kind, v) = render(r, reveal);
                *counts.entry(kind).or_default() += 1;
                match format {
                    Format::Jsonl => {
                        let mut v = v;
                        v["origin"] = json!(origin);
                        writeln!(out, "{v}")?;
                    }
                    Format::Table => writeln!(out, "{:<14} {:<40} {}", kind, origin, summary(&v))?,
                }
            }
        }
    }
    let totals = json!({
        "files": files.len(),
        "messages": messages,
        "records": counts,
        "problems": problems,
        "fatal": fatal,
    });
    match format {
        Format::Jsonl => writeln!(out, "{}", json!({ "summary": totals }))?,
        Format::Table => {
            writeln!(out)?;
            writeln!(out, "{} file(s), {messages} message(s)", files.len())?;
            for (k, n) in &counts {
                writeln!(out, "  {k:<14} {n}")?;
            }
            if !problems.is_empty() {
                writeln!(out, "problems / 問題:")?;
                for (p, n) in &problems {
                    writeln!(out, "  {n:>6}  {p}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(fatal == 0)
}

pub(super) fn collect_files(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = std::fs::metadata(p)
        .map_err(|e| anyhow::anyhow!("{}: {e} / 読み込めません", p.display()))?;
    if meta.is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|e| {
            !e.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for e in entries {
        collect_files(&e, out)?;
    }
    Ok(())
}

/// Splits an MLLP capture into its frames; anything else is one message.
pub fn split_messages(bytes: &[u8]) -> Vec<&[u8]> {
    if !bytes.contains(&0x0b) {
        return vec![bytes];
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.iter().position(|&b| b == 0x0b) {
        let after = &rest[start + 1..];
        match after.iter().position(|&b| b == 0x1c) {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    out
}

pub(super) fn looks_like_json(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{')
}

/// The file name shown: with `--reveal` the path; otherwise the last component, with the
/// patient-ID part of an SS-MIX2 file name (`PID_date_type_…`) masked.
pub(super) fn display_name(p: &Path, reveal: bool) -> String {
    if reveal {
        return p.display().to_string();
    }
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.split_once('_') {
        Some((pid, rest))
            if !pid.is_empty()
                && pid.chars().all(|c| c.is_ascii_alphanumeric())
                && rest.contains('_') =>
        {
            format!("***_{rest}")
        }
        _ => name,
    }
}

/// A record as JSON: the inspect view, and the table kit's golden files (`reveal`: values
/// shown). The shape is the `canonical-json` input format's, so a golden file can be fed back.
pub(super) fn render(r: &Record, reveal: bool) -> (&'static str, Value) {
    let kind = match r {
        Record::Patient(_) => "Patient",
        Record::Condition(_) => "Condition",
        Record::Allergy(_) => "Allergy",
        Record::LabResult(_) => "LabResult",
        Record::Prescription(_) => "Prescription",
        Record::Fhir(_) => "FhirResource",
    };
    (kind, tsunagi_adapters::canonical_json::to_value(r, !reveal))
}

/// A short, non-identifying summary for the table view.
fn summary(v: &Value) -> String {
    let pick = |k: &str| {
        v.get(k).filter(|x| !x.is_null()).map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let keys: &[&str] = match v["type"].as_str() {
        Some("Condition") => &["disease_key", "icd10", "onset", "original_text"],
        Some("LabResult") => &["jlac10", "value", "unit", "collected_at"],
        Some("Prescription") => &["drug_codes", "days"],
        Some("Allergy") => &["category", "allergen"],
        _ => &["gender"],
    };
    keys.iter()
        .filter_map(|k| pick(k).map(|x| format!("{k}={x}")))
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mllp_captures_split_into_frames_and_plain_files_stay_whole() {
        let cap = b"\x0bMSH|a\r\x1c\r\x0bMSH|b\r\x1c\r";
        assert_eq!(split_messages(cap), vec![&b"MSH|a\r"[..], &b"MSH|b\r"[..]]);
        assert_eq!(split_messages(b"MSH|x\r"), vec![&b"MSH|x\r"[..]]);
        assert_eq!(split_messages(b"\x0bMSH|cut"), vec![&b"MSH|cut"[..]]);
    }

    #[test]
    fn ssmix2_file_names_hide_the_patient_id_unless_revealed() {
        let p = Path::new("/s/012/345/0123456789/20250101/OML-11/0123456789_20250101_OML-11_000000000000001_20250101000000000_01_1");
        assert_eq!(
            display_name(p, false),
            "***_20250101_OML-11_000000000000001_20250101000000000_01_1"
        );
        assert!(display_name(p, true).contains("0123456789_"));
        assert_eq!(display_name(Path::new("x/a.json"), false), "a.json");
    }
}

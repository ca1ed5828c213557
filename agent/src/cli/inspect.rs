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
use tsunagi_adapters::{
    Adapter, Allergy, Coded, Condition, FhirJsonAdapter, Hl7v2Adapter, LabResult, LabValue,
    Patient, Prescription, RawInput, Record, Sensitive, Severity,
};

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

fn secret(s: &Sensitive<String>, reveal: bool) -> Value {
    if reveal {
        json!(s.expose())
    } else {
        json!("***")
    }
}

fn coded(c: &Coded) -> Value {
    json!({ "system": c.system, "code": c.code, "display": c.display })
}

/// A record as JSON: the inspect view, and the table kit's golden files (`reveal`: values shown).
pub(super) fn render(r: &Record, reveal: bool) -> (&'static str, Value) {
    match r {
        Record::Patient(p) => ("Patient", patient(p, reveal)),
        Record::Condition(c) => ("Condition", condition(c, reveal)),
        Record::Allergy(a) => ("Allergy", allergy(a, reveal)),
        Record::LabResult(l) => ("LabResult", lab(l, reveal)),
        Record::Prescription(p) => ("Prescription", prescription(p, reveal)),
        Record::Fhir(f) => (
            "FhirResource",
            json!({ "resourceType": f.resource_type, "id": if reveal { json!(f.id) } else { json!("***") } }),
        ),
    }
}

fn patient(p: &Patient, reveal: bool) -> Value {
    let name = |n: &Option<tsunagi_adapters::PersonName>| {
        n.as_ref().map(
            |n| json!({ "family": secret(&n.family, reveal), "given": secret(&n.given, reveal) }),
        )
    };
    json!({
        "type": "Patient",
        "local_id": secret(&p.local_id, reveal),
        "insurance": p.insurance.as_ref().map(|i| secret(&i.member_id(), reveal)),
        "name_kanji": name(&p.name_kanji),
        "name_kana": name(&p.name_kana),
        "gender": format!("{:?}", p.gender),
        "birth_date": p.birth_date.as_ref().map(|b| secret(b, reveal)),
        "address": p.address.as_ref().map(|a| secret(a, reveal)),
    })
}

fn condition(c: &Condition, reveal: bool) -> Value {
    let mods = |m: &[tsunagi_adapters::DiseaseModifier]| -> Vec<Value> {
        m.iter()
            .map(|m| json!({ "key_number": m.key_number, "exchange_code": m.exchange_code, "display": m.display }))
            .collect()
    };
    json!({
        "type": "Condition",
        "patient_id": secret(&c.patient_id, reveal),
        "record_id": c.record_id,
        "disease_key": c.disease_key,
        "exchange_code": c.exchange_code,
        "icd10": c.icd10,
        "prefix_modifiers": mods(&c.prefix_modifiers),
        "postfix_modifiers": mods(&c.postfix_modifiers),
        "onset": c.onset,
        "abatement": c.abatement,
        "outcome": c.outcome.as_ref().map(coded),
        "principal": c.principal,
        "suspected": c.suspected,
        "entered_in_error": c.entered_in_error,
        "recorded": c.recorded,
        "original_text": secret(&c.original_text, reveal),
        "local_code": c.local_code.as_ref().map(coded),
    })
}

fn allergy(a: &Allergy, reveal: bool) -> Value {
    json!({
        "type": "Allergy",
        "patient_id": secret(&a.patient_id, reveal),
        "record_id": a.record_id,
        "category": format!("{:?}", a.category),
        "allergen": a.allergen.as_ref().map(coded),
        "original_text": secret(&a.original_text, reveal),
        "severity": a.severity.as_ref().map(coded),
        "reaction": a.reaction.as_ref().map(|r| secret(r, reveal)),
        "onset": a.onset,
        "recorded": a.recorded,
    })
}

fn lab(l: &LabResult, reveal: bool) -> Value {
    let value = match &l.value {
        Some(LabValue::Numeric(n)) => json!(n),
        Some(LabValue::Coded(c)) => coded(c),
        Some(LabValue::Text(t)) => secret(t, reveal),
        None => Value::Null,
    };
    json!({
        "type": "LabResult",
        "patient_id": secret(&l.patient_id, reveal),
        "report_id": l.report_id,
        "local_code": coded(&l.local_code),
        "jlac10": l.jlac10,
        "value": value,
        "unit": l.unit,
        "reference_range": l.reference_range,
        "flag": l.flag,
        "specimen": l.specimen.as_ref().map(coded),
        "collected_at": l.collected_at,
        "status": l.status,
    })
}

fn prescription(p: &Prescription, reveal: bool) -> Value {
    json!({
        "type": "Prescription",
        "patient_id": secret(&p.patient_id, reveal),
        "order_id": p.order_id,
        "drug_codes": p.drug_codes.iter().map(coded).collect::<Vec<_>>(),
        "drug_text": p.drug_text,
        "dose": p.dose.as_ref().map(|d| json!({ "value": d.value, "unit": d.unit })),
        "usage": p.usage.as_ref().map(coded),
        "days": p.days,
        "injection": p.injection,
    })
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

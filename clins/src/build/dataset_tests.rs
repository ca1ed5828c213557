//! The third-party SS-MIX2 data set `ssmixtwins-300` (beside the checkout, in
//! `shared/datasets`) through the HL7 v2 adapter and the canonical builder, checking the
//! structural rules of every bundle. Skipped with a message when the data set is absent.
//! The data set has no insurance (IN1): the test gives every patient a synthetic 被保険者識別子.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use sha2::Digest;
use tsunagi_adapters::{Adapter, Hl7v2Adapter, InsuranceId, RawInput, Record};

use super::*;
use crate::validate::{BundleValidator, Severity};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn codings_have_display(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            let own = match o.get("coding") {
                Some(Value::Array(c)) => c.iter().all(|c| {
                    c.get("display")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.is_empty())
                }),
                _ => true,
            };
            own && o.values().all(codings_have_display)
        }
        Value::Array(a) => a.iter().all(codings_have_display),
        _ => true,
    }
}

#[test]
fn ssmixtwins_300_builds_bundles_that_keep_the_structural_rules() {
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let root = shared.join("datasets/ssmixtwins-300");
    if !root.is_dir() {
        println!("SKIPPED: {} absent (../shared)", root.display());
        return;
    }
    let mut paths = Vec::new();
    files(&root, &mut paths);
    // Patients first (ADT), as a storage scan would deliver them before later orders.
    paths.sort_by_key(|p| (!p.to_string_lossy().contains("/ADT-"), p.clone()));
    let settings = BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap();
    let builder = BundleBuilder::new(settings).with_terminology(Arc::new(PassThrough));
    let re =
        regex::Regex::new(r"^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$").unwrap();
    let validator = BundleValidator::new();
    let mut known: BTreeMap<String, Value> = BTreeMap::new();
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut held: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut broken: BTreeMap<String, usize> = BTreeMap::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let origin = path.to_string_lossy().to_string();
        let mut parsed = Hl7v2Adapter::new().parse(&RawInput {
            bytes: &bytes,
            origin: &origin,
        });
        for r in parsed.records.iter_mut() {
            if let Record::Patient(p) = r {
                p.insurance = Some(InsuranceId {
                    insurer_number: "06123456".to_string().into(),
                    symbol: "テスト".to_string().into(),
                    number: "１２３".to_string().into(),
                    branch: "01".to_string().into(),
                });
            }
        }
        let key = hex::encode(sha2::Sha256::digest(&bytes));
        let ctx = BuildContext {
            input_key: &key,
            received_at: chrono::DateTime::parse_from_rfc3339("2026-03-31T12:00:00+09:00").unwrap(),
        };
        let result = builder.build(&ctx, &parsed.records, &known);
        known.extend(result.patients);
        for h in &result.held {
            *held.entry(h.code.key()).or_default() += 1;
        }
        for b in &result.bundles {
            *by_type
                .entry(format!("{:?} {}", b.kind, b.resource_type))
                .or_default() += 1;
            let j: Value = serde_json::from_slice(&b.body).unwrap();
            assert!(re.is_match(&b.identifier), "{origin}: {}", b.identifier);
            let entries = j["entry"].as_array().unwrap();
            assert_eq!(
                entries[0]["resource"]["resourceType"], "Patient",
                "{origin}"
            );
            for e in &entries[1..] {
                assert_eq!(
                    e["resource"]["resourceType"],
                    b.resource_type.as_str(),
                    "{origin}"
                );
                let ext = e["resource"]["extension"].as_array().unwrap();
                assert!(
                    ext.iter().any(|x| x["url"] == clins::INSTITUTION_EXTENSION),
                    "{origin}"
                );
            }
            assert!(
                codings_have_display(&j),
                "{origin}: a coding without display"
            );
            if b.kind == BundleKind::Clins {
                for f in validator
                    .validate(&j)
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error)
                {
                    *broken.entry(f.rule.to_string()).or_default() += 1;
                }
            }
        }
    }
    println!("bundles: {by_type:?}\nheld: {held:?}\nvalidator errors: {broken:?}");
    assert!(
        by_type.keys().any(|k| k.ends_with("Condition")),
        "{by_type:?}"
    );
    assert!(
        by_type.keys().any(|k| k.ends_with("Observation")),
        "{by_type:?}"
    );
    assert!(broken.is_empty(), "{broken:?}");
}

//! Acceptance against the official material beside the checkout (skipped with a message when
//! `../shared` is absent): every IG example gets the verdict jp-eCSCLINS.r4 1.10.0 gives it,
//! from the hand-written layer alone, by default and with the package; every single-element
//! deletion of every example gets the same verdict by default as with the package; the
//! built-in tables are what the generator makes of the package; the constraint coverage
//! listing; and the `#[ignore]` throughput benchmark.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::*;

fn shared() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // Beside the checkout, or beside a worktree under wt/.
            let near = manifest.join("../../shared");
            if near.is_dir() {
                near
            } else {
                manifest.join("../../../shared")
            }
        });
    let ok =
        dir.join("fhir/jp-eCSCLINS.r4-1.10.0").is_dir() && dir.join("examples/jp-clins").is_dir();
    if !ok {
        eprintln!("skipped: no shared reference material at {}", dir.display());
    }
    ok.then_some(dir)
}

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Under 1.10.0, the examples that are errors, with the reason.
const ERRORS: &[(&str, &str)] = &[
    (
        "AllergyIntolerance-Example-JP-Allergy-eCS-01.json",
        "clinicalStatus.coding.display missing (min 1 in the 1.10.0 differential)",
    ),
    (
        "AllergyIntolerance-Example-JP-Allergy-eCS-02.json",
        "clinicalStatus.coding.display missing",
    ),
    (
        "Condition-Example-JP-Condition-eCS-ABDPAIN.json",
        "clinicalStatus/verificationStatus.coding.display missing",
    ),
    (
        "Condition-Example-JP-Condition-eCS-ANGINA.json",
        "clinicalStatus/verificationStatus.coding.display missing",
    ),
    (
        "Condition-Example-JP-Condition-eCS-Fx.json",
        "clinicalStatus/verificationStatus.coding.display missing",
    ),
    (
        "Condition-Example-JP-Condition-eCS-cc1-Referral01.json",
        "clinicalStatus/verificationStatus.coding.display missing",
    ),
    (
        "Condition-Example-JP-Condition-eCS-cc2-Referral01.json",
        "clinicalStatus/verificationStatus.coding.display missing",
    ),
    (
        "Bundle-Bundle-CLINS-Referral-Example-01.json",
        "its five inline Conditions lack the status displays",
    ),
];

/// Valid (no error) but with warnings, so `--strict` fails them; with the reason.
const WARNINGS: &[(&str, &str)] = &[
    ("Observation-ErrorExample-ObsLabo-eGFR.json", "no local code: warn-localCode-observation-laboresult is a warning on an Observation alone (R6021 is an error only inside JP_Bundle_CLINS)"),
    ("MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json", "no YJ / 規格別薬剤成分 code: R3010, a warning in the 1.10.0 snapshot (error only in the FSH source)"),
    ("MedicationRequest-ErrorExample-JP-MedReq-PO-SID-28days.json", "wrong 一般名処方 code: the JP-Core code list is not in the package (info), and R3010 warning"),
    ("MedicationRequest-Example-JP-MedReq-ExtSkin-Total2.json", "R3010 warning (no YJ / 規格別薬剤成分 code)"),
    ("MedicationRequest-Example-JP-MedReq-PO-BID-10days-AsNeeded.json", "R3010 warning"),
    ("MedicationRequest-Example-JP-MedReq-PO-SID-28days.json", "R3010 warning"),
];

fn verdict(findings: &[Finding]) -> &'static str {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        "error"
    } else if findings.iter().any(|f| f.severity == Severity::Warning) {
        "warning"
    } else {
        "valid"
    }
}

fn expected(name: &str) -> (&'static str, &'static str) {
    if let Some((_, why)) = ERRORS.iter().find(|(n, _)| *n == name) {
        return ("error", why);
    }
    if let Some((_, why)) = WARNINGS.iter().find(|(n, _)| *n == name) {
        return ("warning", why);
    }
    (
        "valid",
        "conforms (JP-Core profiles not in the package: built-in rules of the type only)",
    )
}

fn examples(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("examples/jp-clins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_gets_the_verdict_of_the_official_package() {
    let Some(dir) = shared() else { return };
    let package = Arc::new(Package::load(&dir.join("fhir/jp-eCSCLINS.r4-1.10.0")).unwrap());
    let layers = [
        ("hand-written", Validator::hand_written()),
        ("default", Validator::new()),
        ("with package", Validator::with_package(package)),
    ];
    let mut wrong = Vec::new();
    for path in examples(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let doc = load(&path);
        let (want, why) = expected(&name);
        for (layer, v) in &layers {
            let findings = v.validate_document(&doc);
            let got = verdict(&findings);
            println!("{name:70} {layer:17} {got:8} expected {want:8} ({why})");
            if got != want {
                wrong.push(format!(
                    "{name} [{layer}]: {got}, expected {want}: {findings:#?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_display_errors_come_from_both_layers() {
    let Some(dir) = shared() else { return };
    let package = Package::load(&dir.join("fhir/jp-eCSCLINS.r4-1.10.0")).unwrap();
    for (name, _) in ERRORS {
        let doc = load(&dir.join("examples/jp-clins").join(name));
        let builtin = Validator::hand_written().validate_document(&doc);
        let mut from_package = Vec::new();
        if name.starts_with("Bundle") {
            for (i, e) in doc["entry"].as_array().unwrap().iter().enumerate() {
                package.check(
                    &e["resource"],
                    &format!("Bundle.entry[{i}].resource"),
                    &mut from_package,
                );
            }
        } else {
            package.check(
                &doc,
                doc["resourceType"].as_str().unwrap(),
                &mut from_package,
            );
        }
        for layer in [&builtin, &from_package] {
            assert!(
                layer
                    .iter()
                    .any(|f| f.rule == "SD-CARD" && f.path.ends_with(".display")),
                "{name}: {layer:#?}"
            );
        }
    }
}

/// Every path (object key or array item) inside `v`, as pointer segments.
fn element_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(o) => o.iter().map(|(k, x)| (k.clone(), x)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (i.to_string(), x))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        prefix.push(key);
        out.push(prefix.clone());
        element_paths(child, prefix, out);
        prefix.pop();
    }
}

/// `doc` without the element at `path`.
fn without(doc: &Value, path: &[String]) -> Value {
    let mut copy = doc.clone();
    let (last, parent) = path.split_last().unwrap();
    let mut at = &mut copy;
    for seg in parent {
        at = match at {
            Value::Object(o) => o.get_mut(seg).unwrap(),
            Value::Array(a) => &mut a[seg.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    match at {
        Value::Object(o) => {
            o.remove(last);
        }
        Value::Array(a) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => unreachable!(),
    }
    copy
}

/// Mutants per example at most (the largest example, the referral bundle, has about 1,000
/// elements; every example is covered whole under this cap).
const MUTANT_CAP: usize = 2_000;

/// The verdict with and without `--strict`: an error fails both, a warning only the strict one.
fn pass_or_fail(findings: &[Finding]) -> &'static str {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        "error"
    } else if findings.iter().any(|f| f.severity == Severity::Warning) {
        "warning"
    } else {
        "ok"
    }
}

#[test]
fn every_deletion_mutant_gets_the_package_verdict_by_default() {
    let Some(dir) = shared() else {
        println!("skipped: ../shared/fhir/jp-eCSCLINS.r4-1.10.0 absent");
        return;
    };
    let package = Arc::new(Package::load(&dir.join("fhir/jp-eCSCLINS.r4-1.10.0")).unwrap());
    let by_default = Validator::new();
    let with_package = Validator::with_package(package);
    let hand_written = Validator::hand_written();
    let (mut total, mut errors, mut only_profiles) = (0, 0, 0);
    let mut differ = Vec::new();
    let files = examples(&dir);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let doc = load(path);
        let mut paths = Vec::new();
        element_paths(&doc, &mut Vec::new(), &mut paths);
        let stride = paths.len().div_ceil(MUTANT_CAP).max(1);
        let mutants = std::iter::once(doc.clone())
            .chain(paths.iter().step_by(stride).map(|p| without(&doc, p)));
        for (i, mutant) in mutants.enumerate() {
            total += 1;
            let want = pass_or_fail(&with_package.validate_document(&mutant));
            let got = pass_or_fail(&by_default.validate_document(&mutant));
            errors += usize::from(want == "error");
            if got == "error" && pass_or_fail(&hand_written.validate_document(&mutant)) != "error" {
                only_profiles += 1;
            }
            if got != want {
                let deleted = if i == 0 {
                    "none".to_string()
                } else {
                    paths[(i - 1) * stride].join("/")
                };
                differ.push(format!(
                    "{name} without {deleted}: default {got}, package {want}"
                ));
            }
        }
    }
    println!(
        "{} examples, {total} documents (examples and deletion mutants): {errors} errors under the package, \
         {only_profiles} caught only by the profile rules, {} verdicts differ",
        files.len(),
        differ.len()
    );
    assert!(files.len() >= 40, "only {} examples", files.len());
    assert!(
        only_profiles > 0,
        "the profile rules caught nothing the hand-written ones miss"
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn the_builtin_tables_are_what_the_generator_makes_of_the_package() {
    let Some(dir) = shared() else {
        println!("skipped: ../shared/fhir/jp-eCSCLINS.r4-1.10.0 absent");
        return;
    };
    let rules = package::RuleSet::from_dir(&dir.join("fhir/jp-eCSCLINS.r4-1.10.0")).unwrap();
    assert!(
        rules.to_json_lines().unwrap() == package::BUILTIN_TABLES,
        "the built-in tables are stale: cargo run -p tsunagi-clins --example gen-profile-rules -- ../shared/fhir/jp-eCSCLINS.r4-1.10.0"
    );
}

/// The profiles whose constraints the built-in layer is meant to cover.
const COVERED_PROFILES: &[&str] = &[
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_AllergyIntolerance_eCS",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_LabResult_eCS",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS",
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_MedicationDosage_eCS",
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral",
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary",
    "http://jpfhir.jp/fhir/eReferral/StructureDefinition/JP_Composition_eReferral",
    "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Composition_eDischargeSummary",
];

#[test]
fn coverage_listing_of_the_package_constraints() {
    let Some(dir) = shared() else { return };
    let package = Package::load(&dir.join("fhir/jp-eCSCLINS.r4-1.10.0")).unwrap();
    let implemented: Vec<&str> = catalog::implemented_keys().collect();
    let (mut done, mut total) = (0, 0);
    let mut unique = std::collections::BTreeMap::new();
    for url in COVERED_PROFILES {
        let mut keys = package.constraint_keys(url);
        assert!(!keys.is_empty(), "{url} not in the package");
        keys.sort();
        keys.dedup();
        println!("{url}");
        for (key, severity) in keys {
            let yes = implemented.contains(&key.as_str());
            unique.insert(key.clone(), yes);
            total += 1;
            done += usize::from(yes);
            let state = if yes {
                "implemented"
            } else {
                "not implemented"
            };
            println!("  {key:60} {severity:8} {state}");
        }
    }
    println!("coverage: {done}/{total} (profile, key) pairs implemented");
    let unique_done = unique.values().filter(|y| **y).count();
    println!(
        "coverage: {unique_done}/{} distinct constraint keys implemented",
        unique.len()
    );
    assert!(done * 2 > total / 2, "coverage fell: {done}/{total}");
}

fn condition_bundle(entries: usize) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-examples/samples/06-ready-made-clins.json");
    let mut b = load(&path);
    let cond = b["entry"][1].clone();
    let list = b["entry"].as_array_mut().unwrap();
    for i in 2..=entries {
        let mut c = cond.clone();
        c["fullUrl"] = Value::String(format!("urn:uuid:7a1f0c9e-2b3d-4c5e-8f60-{i:012}"));
        list.push(c);
    }
    b
}

#[test]
#[ignore = "benchmark: cargo test --release -p tsunagi validate_throughput -- --ignored --nocapture"]
fn validate_throughput() {
    let bundle = condition_bundle(20);
    let v = Validator::hand_written();
    assert!(v.validate(&bundle).is_empty());
    let n = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(v.validate(std::hint::black_box(&bundle)));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "hand-written rules: {:.0} bundles/s (20-entry Condition bundle)",
        n as f64 / secs
    );
    let v = Validator::new();
    assert!(v.validate(&bundle).is_empty());
    let n = 2_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(v.validate(std::hint::black_box(&bundle)));
    }
    println!(
        "default (hand-written + profile rules): {:.0} bundles/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
}

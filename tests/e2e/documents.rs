use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// The official JP-CLINS package beside the checkout (`TSUNAGI_SHARED_DIR` overrides `../shared`).
fn official_package() -> Option<PathBuf> {
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let package = shared.join("fhir/jp-eCSCLINS.r4-1.10.0");
    package.is_dir().then_some(package)
}

/// `tsunagi demo` delivers the referral, the discharge summary and the checkup report, and every
/// bundle the simulator accepted passes `tsunagi validate --package` with the official 1.10.0
/// package. Skipped (with a message) without `../shared`.
#[test]
fn the_demo_delivers_three_documents_and_every_bundle_passes_the_official_profiles() {
    let Some(package) = official_package() else {
        println!("skipped: ../shared/fhir/jp-eCSCLINS.r4-1.10.0 absent (the official package)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(agent_bin())
        .args(["demo", "--data"])
        .arg(dir.path())
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let accepted: Vec<PathBuf> = std::fs::read_dir(dir.path().join("platform/accepted"))
        .expect("the simulator's accepted bodies")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let mut documents = Vec::new();
    for path in &accepted {
        let body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON body");
        if body["type"] == "document" {
            documents.push(
                body["meta"]["profile"][0]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    documents.sort();
    let profile = |name: &str| format!("http://jpfhir.jp/fhir/clins/StructureDefinition/{name}");
    assert_eq!(
        documents,
        vec![
            profile("JP_Bundle_eCheckupGeneral"),
            profile("JP_Bundle_eDischargeSummary"),
            profile("JP_Bundle_eReferral"),
        ],
        "three documents delivered"
    );
    assert!(accepted.len() > documents.len(), "5情報 bundles too");
    let out = Command::new(agent_bin())
        .arg("validate")
        .arg("--package")
        .arg(&package)
        .args(&accepted)
        .output()
        .expect("validate");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    let ok = report.lines().filter(|l| l.ends_with(": OK")).count();
    assert_eq!(ok, accepted.len(), "{report}");
}

//! `tsunagi masters load fhir-package DIR`: a newer official package becomes the validation
//! rules, `masters status` names it, a broken one is refused and the previous one stays.

use std::path::Path;

use serde_json::{json, Value};

use crate::util::World;

fn write_package(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let sd = |url: &str, root: &str| {
        json!({"resourceType": "StructureDefinition", "url": url, "snapshot": {"element": [
            {"id": root, "min": 0, "max": "*"},
            {"id": format!("{root}.identifier"), "min": 1, "max": "*", "base": {"max": "*"}}]}})
    };
    let files: [(&str, Value); 3] = [
        (
            "package.json",
            json!({"name": "jp-eCSCLINS.r4", "version": version}),
        ),
        (
            "sd-bundle.json",
            sd(
                "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
                "Bundle",
            ),
        ),
        (
            "sd-organization.json",
            sd(
                "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS",
                "Organization",
            ),
        ),
    ];
    for (name, v) in files {
        std::fs::write(dir.join(name), v.to_string()).expect("write");
    }
}

#[test]
fn a_loaded_fhir_package_is_named_by_status_and_a_truncated_one_is_refused() {
    let w = World::new();
    let (ok, out, _) = w.cli(&["masters", "status"]);
    assert!(ok);
    assert!(
        out.contains("fhir-package") && out.contains("jp-eCSCLINS.r4#1.10.0"),
        "the built-in version is named: {out}"
    );

    let good = w.dir.path().join("pkg-1.11.0");
    write_package(&good, "1.11.0");
    let (ok, out, err) = w.cli(&[
        "masters",
        "load",
        "fhir-package",
        good.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("jp-eCSCLINS.r4#1.11.0"), "{out}");
    // `tsunagi validate --data` validates with what this agent validates with, and says so;
    // without an agent it validates with the built-in tables.
    assert_eq!(
        rules_of_validate(&w, true),
        ("jp-eCSCLINS.r4#1.11.0".into(), "masters".into())
    );
    assert_eq!(
        rules_of_validate(&w, false),
        ("jp-eCSCLINS.r4#1.10.0".into(), "built-in".into())
    );

    let cut = w.dir.path().join("pkg-1.12.0");
    write_package(&cut, "1.12.0");
    let file = cut.join("sd-organization.json");
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
    let (ok, _, err) = w.cli(&[
        "masters",
        "load",
        "fhir-package",
        cut.to_str().expect("utf-8"),
    ]);
    assert!(!ok, "a truncated package must be refused");
    assert!(
        err.contains("refused") && err.contains("not valid JSON"),
        "{err}"
    );

    let (_, out, _) = w.cli(&["masters", "status"]);
    let line = out
        .lines()
        .find(|l| l.contains("fhir-package"))
        .unwrap_or_default();
    assert!(line.contains("1.11.0") && !line.contains("1.12.0"), "{out}");
}

/// (`profile_rules`, `rules_from`) of `tsunagi validate --format json` on one file, run on the
/// world's agent (`--data`) or on none.
fn rules_of_validate(w: &World, on_the_agent: bool) -> (String, String) {
    let doc = w.dir.path().join("organization.json");
    let org = json!({"resourceType": "Organization", "name": "synthetic"});
    std::fs::write(&doc, org.to_string()).expect("write");
    let doc = doc.to_str().expect("utf-8");
    let out = match on_the_agent {
        true => w.cli(&["validate", "--format", "json", doc]).1,
        false => {
            let out = std::process::Command::new(crate::util::agent_bin())
                .args(["validate", "--format", "json", doc])
                .output()
                .expect("run tsunagi");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    (text("profile_rules"), text("rules_from"))
}

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

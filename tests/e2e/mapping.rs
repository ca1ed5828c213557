use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Copies a directory tree (the synthetic SS-MIX2 storage) into the test's world.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from)
        .expect("read_dir")
        .map(|e| e.expect("entry"))
    {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// The bodies the simulator accepted.
fn accepted(w: &World) -> Vec<Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(w.path("platform/accepted")).expect("accepted dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "json") {
            out.push(serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json"));
        }
    }
    out
}

/// Every coding of every entry of the bundles whose tag says `kind`, as (identifier, system, code, display).
fn codings(bundles: &[Value], kind: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for b in bundles
        .iter()
        .filter(|b| b["meta"]["tag"][0]["code"] == kind)
    {
        let id = b["identifier"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for e in b["entry"].as_array().into_iter().flatten().skip(1) {
            for c in e["resource"]["code"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                out.push((id.clone(), s("system"), s("code"), s("display")));
            }
        }
    }
    out
}

/// Issue 4 end to end: an SS-MIX2 storage read with the national masters, sent with the IG's
/// uncoded markers where a local code maps to nothing, the gap listed by `mapping suggest`,
/// closed by `mapping import`, and the affected bundles rebuilt by `replay --unmapped` under the
/// same identifiers; every accepted bundle passes `tsunagi validate`.
#[test]
fn ssmix2_records_are_mapped_to_the_masters_and_a_mapping_fix_is_replayed() {
    let mut w = World::new();
    copy_tree(
        &repo().join("config-examples/samples/ssmix2"),
        &w.path("ssmix2"),
    );
    w.extra_config =
        "\n[[source.ssmix2]]\nname = \"ehr\"\npath = \"ssmix2\"\nstable_ms = 200\n".into();
    let masters = repo().join("config-examples/masters");
    for (kind, file) in [
        ("medis-disease", "nmain900.txt"),
        ("jfagy", "JFAGY_SYNTH_20250401_R01.csv"),
        ("clins-lab", "clins-lab"),
        ("jlac10", "jlac10.csv"),
    ] {
        let path = masters.join(file);
        let (ok, _, err) = w.cli(&["masters", "load", kind, path.to_str().expect("utf-8")]);
        assert!(ok, "{kind}: {err}");
    }
    w.start_sim("", false);
    w.start_agent();
    wait_until(60, "three bundles accepted", || w.accepted_files() == 3);

    let first = accepted(&w);
    let conditions = codings(&first, "Condition");
    assert!(
        conditions
            .iter()
            .any(|c| c.2 == "90000001" && c.3 == "胃炎"),
        "the MEDIS code carries the master's display: {conditions:?}"
    );
    assert!(
        conditions.iter().any(|c| c.2 == "99999999"),
        "{conditions:?}"
    );
    let labs = codings(&first, "Observation");
    assert!(
        labs.iter()
            .any(|c| c.2 == "3H015000002326101" && c.3 == "K"),
        "{labs:?}"
    );
    assert!(
        labs.iter().any(|c| c.2 == "99999999999999999"),
        "uncoded marker: {labs:?}"
    );
    let allergies = codings(&first, "AllergyIntolerance");
    assert!(
        allergies.iter().any(|c| c.2 == "D9M000000000"),
        "{allergies:?}"
    );

    // The gap, ranked: the local lab code and the local allergen are listed with a candidate.
    let (ok, out, err) = w.cli(&["mapping", "suggest", "--format", "csv"]);
    assert!(ok, "{err}");
    assert!(out.contains("L0042") && out.contains("L001"), "{out}");

    let table = repo().join("config-examples/mapping-example.csv");
    let (ok, _, err) = w.cli(&["mapping", "import", table.to_str().expect("utf-8")]);
    assert!(ok, "{err}");
    let (ok, out, err) = w.cli(&["replay", "--unmapped"]);
    assert!(ok, "{out}{err}");
    // The lab report and the allergies are rebuilt and replace their earlier bundles; the
    // conditions are rebuilt too (one name stays unmapped) and, unchanged, are sent again.
    wait_until(60, "the rebuilt bundles accepted", || {
        let now = accepted(&w);
        codings(&now, "Observation")
            .iter()
            .any(|c| c.2 == "5C070000002306401")
            && codings(&now, "AllergyIntolerance")
                .iter()
                .any(|c| c.2 == "YCM3399007H1021")
    });
    let after = accepted(&w);
    let lab_ids: std::collections::BTreeSet<String> = codings(&after, "Observation")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        lab_ids.len(),
        1,
        "the rebuilt lab bundle keeps its identifier: {lab_ids:?}"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM item_code WHERE category = 'lab' AND outcome <> 'mapped'"),
        0
    );

    // Everything the platform accepted passes the agent's own validator.
    let files: Vec<String> = std::fs::read_dir(w.path("platform/accepted"))
        .expect("accepted")
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    let out = std::process::Command::new(agent_bin())
        .arg("validate")
        .args(&files)
        .output()
        .expect("validate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    w.stop_agent();
    w.assert_log_has_no(&["見本", "花子", "9990000001", "19600203"]);
}

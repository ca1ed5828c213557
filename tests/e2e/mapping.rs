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
    w.load_synthetic_masters(&[
        ("medis-disease", "nmain900.txt"),
        ("jfagy", "JFAGY_SYNTH_20250401_R01.csv"),
        ("clins-lab", "clins-lab"),
        ("jlac10", "jlac10.csv"),
    ]);
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

    // The EHR withdraws the diagnosis file (a newer version with condition flag 0): the
    // diagnoses sent before are deleted upstream by a Patient-only bundle under their identifier.
    let condition_ids: std::collections::BTreeSet<String> = codings(&after, "Condition")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(condition_ids.len(), 1, "{condition_ids:?}");
    let ppr = w.path("ssmix2/999/000/9990000001/-/PPR-01");
    let original = ppr.join("9990000001_-_PPR-01_000000000000002_20250401100000000_-_1");
    let withdrawn = ppr.join("9990000001_-_PPR-01_000000000000002_20250402100000000_-_0");
    std::fs::copy(&original, ppr.join(".tmp")).expect("copy");
    std::fs::rename(ppr.join(".tmp"), &withdrawn).expect("rename");
    wait_until(60, "the deletion bundle accepted", || {
        accepted(&w).iter().any(|b| {
            b["meta"]["tag"][0]["code"] == "Condition"
                && b["entry"].as_array().is_some_and(|e| e.len() == 1)
                && condition_ids.contains(b["identifier"]["value"].as_str().unwrap_or_default())
        })
    });
    // The withdrawn diagnoses are no longer gaps to map (nor counted in the coded rates).
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM item_code WHERE category = 'disease'"),
        0
    );

    // Everything the platform accepted passes the agent's own validator, except the deletion:
    // the IG's prose makes a Patient-only bundle the deletion of its unit, while the package's
    // R02143 asks every JP_Bundle_CLINS for one resource of its type, so the validator (as the
    // package) refuses it; the pipeline knows what it built and lets deletions through.
    let files: Vec<String> = std::fs::read_dir(w.path("platform/accepted"))
        .expect("accepted")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            let b: Value = serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json");
            b["entry"].as_array().is_some_and(|e| e.len() > 1)
        })
        .map(|p| p.display().to_string())
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

/// The shared reference material beside the checkout (`TSUNAGI_SHARED_DIR` overrides).
pub(crate) fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    dir.join("datasets/ssmixtwins-300").is_dir().then_some(dir)
}

/// The third-party data set (ssmixtwins-300) through the real agent with the public masters:
/// every bundle built is valid and accepted by the simulator, and every mapped allergen and
/// designated lab code is one the master has. Skipped (with a message) without `../shared`.
#[test]
fn the_ssmixtwins_data_set_is_mapped_built_validated_and_accepted() {
    let Some(shared) = shared() else {
        println!("skipped: ../shared absent (ssmixtwins-300 and the public masters)");
        return;
    };
    let mut w = World::new();
    w.extra_config = format!(
        "\n[[source.ssmix2]]\nname = \"twins\"\npath = \"{}\"\nstable_ms = 0\n",
        shared.join("datasets/ssmixtwins-300").display()
    );
    let package = shared.join("fhir/jp-eCSCLINS.r4-1.10.0");
    let jfagy = shared.join("masters/jfagy/JFAGY_J9FN_20250401_R01.utf8.csv");
    for (kind, path) in [
        ("jfagy", jfagy.clone()),
        ("clins-lab", package.clone()),
        (
            "yj",
            shared.join("masters/drugs/mhlw-drug-price-list-20250716.csv"),
        ),
        (
            "receipt-disease",
            shared.join("masters/disease/receipt-disease-names.csv"),
        ),
    ] {
        let (ok, _, err) = w.cli(&["masters", "load", kind, path.to_str().expect("utf-8")]);
        assert!(ok, "{kind}: {err}");
    }
    w.start_sim("", false);
    w.start_agent();
    wait_until(
        300,
        "every input processed and every bundle settled",
        || {
            let inbox = w.db_count("SELECT COUNT(*) FROM inbox");
            inbox >= 3653
            && w.db_count("SELECT COUNT(*) FROM inbox WHERE state = 'received'") == 0
            && w.db_count(
                "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight', 'awaiting')",
            ) == 0
        },
    );
    w.stop_agent();
    let by = |sql: &str| w.db_count(sql);
    let delivered = |t: &str| {
        by(&format!(
            "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' AND resource_type = '{t}'"
        ))
    };
    let (conditions, allergies, labs) = (
        delivered("Condition"),
        delivered("AllergyIntolerance"),
        delivered("Observation"),
    );
    println!("ssmixtwins-300: delivered {conditions} Condition, {allergies} AllergyIntolerance, {labs} Observation bundles");
    assert!(conditions > 0 && allergies > 0 && labs > 0);
    assert_eq!(
        by("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'"),
        0
    );
    assert_eq!(
        by("SELECT COUNT(*) FROM outbox WHERE state = 'held' AND hold_reason = 'invalid'"),
        0,
        "no bundle failed validation"
    );
    assert_eq!(
        by("SELECT COUNT(*) FROM item_code WHERE outcome = 'invalid'"),
        0
    );
    // Mapped codes are the masters' own.
    let jfagy_codes = std::fs::read_to_string(&jfagy).expect("jfagy");
    let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db");
    let mut st = db
        .prepare("SELECT DISTINCT standard_code FROM item_code WHERE category = 'allergen' AND outcome = 'mapped'")
        .expect("query");
    let allergens: Vec<String> = st
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("codes");
    assert!(!allergens.is_empty());
    for c in &allergens {
        assert!(
            jfagy_codes.contains(&format!("\"{c}\"")),
            "{c} is not in J-FAGY"
        );
    }
    let core = std::fs::read_to_string(
        package.join("CodeSystem-jp-clins-codesystem-JLAC10-corelabo-cs.json"),
    )
    .expect("core labo");
    let mut st = db
        .prepare("SELECT DISTINCT standard_code FROM item_code WHERE category = 'lab' AND standard_system LIKE '%CoreLabo_CS'")
        .expect("query");
    let designated: Vec<String> = st
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("codes");
    assert!(!designated.is_empty());
    for c in &designated {
        assert!(
            core.contains(&format!("\"{c}\"")),
            "{c} is not a CoreLabo code"
        );
    }
    let coded = |cat: &str, outcome: &str| {
        by(&format!(
            "SELECT COUNT(*) FROM item_code WHERE category = '{cat}' AND outcome = '{outcome}'"
        ))
    };
    println!(
        "items: disease mapped {} unmapped {}; lab mapped {} unmapped {}; allergen mapped {} unmapped {}",
        coded("disease", "mapped"),
        coded("disease", "unmapped"),
        coded("lab", "mapped"),
        coded("lab", "unmapped"),
        coded("allergen", "mapped"),
        coded("allergen", "unmapped")
    );
    // The monthly report names every hold reason (none is `other`) and counts the patients held
    // for a missing 被保険者番号 without naming them.
    let month = (chrono::Utc::now() + chrono::Duration::hours(9))
        .format("%Y-%m")
        .to_string();
    let (ok, json, err) = w.cli(&["report", "--month", &month, "--format", "json"]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&json).expect("report json");
    let holds: Vec<&Value> = report["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|r| r["kind"] == "hold")
        .collect();
    assert!(holds.iter().all(|r| r["key"] != "other"), "{holds:?}");
    let no_insurance = by(
        "SELECT COUNT(*) FROM outbox WHERE hold_reason = 'patient-no-insurance-id' AND state <> 'superseded'",
    );
    assert_eq!(report["insurance_gap"]["items"], no_insurance);
    println!(
        "ssmixtwins-300: held for a missing insurance id: {} items, {} patients",
        report["insurance_gap"]["items"], report["insurance_gap"]["patients"]
    );
}

/// Issue 11 (5): local codes in FHIR inputs go through the same map stage as HL7 v2 records.
/// A mapped local disease and allergen are delivered with the national code and the master's
/// display (the local coding kept after it), unmapped ones with the IG's uncoded markers (the
/// default policy), every accepted bundle passes `tsunagi validate`, and `mapping suggest`
/// lists the unmapped codes with their record counts.
#[test]
fn fhir_inputs_with_local_codes_are_mapped_like_hl7_records() {
    let mut w = World::new();
    w.load_synthetic_masters(&[
        ("medis-disease", "nmain900.txt"),
        ("jfagy", "JFAGY_SYNTH_20250401_R01.csv"),
    ]);
    let disease = "http://example.org/local-disease";
    let allergen = "http://example.org/local-allergen";
    let table = w.path("local-mapping.csv");
    std::fs::write(
        &table,
        format!(
            "category,source_system,local_system,local_code,local_name,standard_system,standard_code,standard_display,note\n\
             disease,*,{disease},L0002,高 血圧症,http://medis.or.jp/CodeSystem/master-disease-keyNumber,20058911,狭心症,test\n\
             allergen,*,{allergen},A01,アスピリン,http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS,YCM3399007H1021,アスピリン（合成見本）,test\n"
        ),
    )
    .expect("table");
    let (ok, out, err) = w.cli(&["mapping", "import", table.to_str().expect("utf-8")]);
    assert!(ok, "{out}{err}");

    let sample = |name: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(repo().join("config-examples/samples").join(name)).expect("sample"),
        )
        .expect("json")
    };
    let local = |system: &str, code: &str, text: &str| serde_json::json!({"coding": [{"system": system, "code": code, "display": text}], "text": text});
    let mut conditions = sample("01-conditions-bundle.json");
    conditions["entry"][1]["resource"]["code"] = local(disease, "L0002", "高 血圧症");
    conditions["entry"][2]["resource"]["code"] = local(disease, "L0003", "見本病");
    let mut allergies = sample("02-allergy.json");
    let mut second = allergies["entry"][1].clone();
    allergies["entry"][1]["resource"]["code"] = local(allergen, "A01", "アスピリン");
    allergies["entry"][1]["resource"]["category"] = serde_json::json!(["medication"]);
    second["resource"]["id"] = "tsg-alg-0002-2".into();
    second["resource"]["identifier"][0]["value"] = "TSG-A-000202".into();
    second["resource"]["code"] = local(allergen, "A02", "見本アレルゲン");
    allergies["entry"]
        .as_array_mut()
        .expect("entries")
        .push(second);
    w.start_sim("", false);
    w.start_agent();
    w.drop_file("conditions.json", conditions.to_string().as_bytes());
    w.drop_file("allergies.json", allergies.to_string().as_bytes());
    wait_until(60, "two bundles accepted", || w.accepted_files() == 2);

    let bundles = accepted(&w);
    let conditions = codings(&bundles, "Condition");
    let has = |list: &[(String, String, String, String)], code: &str, display: Option<&str>| {
        list.iter()
            .any(|c| c.2 == code && display.is_none_or(|d| c.3 == d))
    };
    assert!(
        has(&conditions, "20058911", Some("狭心症")),
        "{conditions:?}"
    );
    assert!(
        has(&conditions, "L0002", None),
        "the local coding is kept: {conditions:?}"
    );
    assert!(
        has(&conditions, "99999999", None),
        "uncoded marker: {conditions:?}"
    );
    let allergies = codings(&bundles, "AllergyIntolerance");
    assert!(
        has(
            &allergies,
            "YCM3399007H1021",
            Some("アスピリン（合成見本）")
        ),
        "{allergies:?}"
    );
    assert!(has(&allergies, "D9M000000000", None) || has(&allergies, "D9F000000000", None));

    let files: Vec<String> = std::fs::read_dir(w.path("platform/accepted"))
        .expect("accepted")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.display().to_string())
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

    let (ok, out, err) = w.cli(&["mapping", "suggest", "--format", "csv"]);
    assert!(ok, "{err}");
    let header: Vec<&str> = out.lines().next().expect("header").split(',').collect();
    let records = header
        .iter()
        .position(|h| *h == "records")
        .expect("records column");
    for (code, system) in [("L0003", disease), ("A02", allergen)] {
        let row = out
            .lines()
            .find(|l| l.contains(code))
            .unwrap_or_else(|| panic!("{code} not suggested: {out}"));
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[2], system, "{row}");
        // The note column holds one quoted comma; `records` is counted from the end.
        let from_end = header.len() - records;
        assert_eq!(cells[cells.len() - from_end], "1", "one record: {row}");
    }
    assert!(
        !out.contains("L0002") && !out.contains(",A01,"),
        "mapped codes are no gap: {out}"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM item_code WHERE local_code IN ('L0002', 'A01') AND outcome = 'mapped' AND via = 'table'"),
        2
    );
    w.stop_agent();
}

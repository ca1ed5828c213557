//! Declarative table adapters (issue 14, part 2): a patient master (fixed width), a 病名 CSV
//! and a 検体検査結果 CSV, described in TOML and named by `[[format]]`, delivered end to end
//! through watched folders; a malformed export quarantined naming its line and column; the
//! committed samples passing `tsunagi plugin test-table`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sample(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(
        repo()
            .join("config-examples/samples/tables")
            .join(dir)
            .join(name),
    )
    .expect("sample")
}

/// Puts a file into a watched folder the way an EHR should: written aside, renamed in.
fn put(w: &World, folder: &str, name: &str, bytes: &[u8]) {
    let tmp = w.path(&format!("staging-{name}"));
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, w.path(folder).join(name)).expect("rename");
}

fn table_sources() -> String {
    let mut text = String::new();
    for (format, folder, ext) in [
        ("kanja-fixed", "kanja", "dat"),
        ("byomei-csv", "byomei", "csv"),
        ("kensa-csv", "kensa", "csv"),
    ] {
        let spec = repo()
            .join("config-examples/formats")
            .join(format!("{format}.toml"));
        text.push_str(&format!(
            "\n[[format]]\nname = \"{format}\"\ntable = \"{}\"\n\n[[source.folder]]\nname = \"{folder}\"\nformat = \"{format}\"\npath = \"{folder}\"\nmode = \"move\"\nwatch = \"events\"\nstable_ms = 200\nextensions = [\"{ext}\"]\n",
            spec.display()
        ));
    }
    text
}

/// The codes of every entry of the accepted bundles tagged `kind`.
fn codes(w: &World, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(w.path("platform/accepted")).expect("accepted") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let b: Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
        if b["meta"]["tag"][0]["code"] != kind {
            continue;
        }
        for entry in b["entry"].as_array().into_iter().flatten() {
            for c in entry["resource"]["code"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
            {
                out.push(c["code"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

#[test]
fn csv_and_fixed_width_exports_are_delivered_and_a_bad_row_is_quarantined_by_line() {
    let mut w = World::new();
    for d in ["kanja", "byomei", "kensa"] {
        std::fs::create_dir_all(w.path(d)).expect("mkdir");
    }
    w.extra_config = table_sources();
    w.load_synthetic_masters(&[
        ("medis-disease", "nmain900.txt"),
        ("clins-lab", "clins-lab"),
        ("jlac10", "jlac10.csv"),
    ]);
    w.start_sim("", false);
    w.start_agent();
    // The diagnoses and results arrive before their patient: they wait for it, and go out by
    // themselves once the patient master export brings the patient with insurance.
    put(&w, "byomei", "byomei.csv", &sample("byomei", "byomei.csv"));
    put(&w, "kensa", "kensa.csv", &sample("kensa", "kensa.csv"));
    wait_until(30, "both exports taken", || {
        w.files_in("byomei") == 0 && w.files_in("kensa") == 0
    });
    assert_eq!(
        w.accepted_files(),
        0,
        "nothing is sent before the patient is known"
    );
    put(&w, "kanja", "kanja.dat", &sample("kanja", "kanja.dat"));
    wait_until(
        60,
        "one 傷病名 bundle and two lab reports accepted",
        || w.accepted_files() == 3,
    );
    let conditions = codes(&w, "Condition");
    for code in ["90000001", "20058911"] {
        assert!(
            conditions.iter().any(|c| c == code),
            "{code}: {conditions:?}"
        );
    }
    let labs = codes(&w, "Observation");
    for code in [
        "2A990000001930952",
        "2A990000001930951",
        "3H015000002326101",
    ] {
        assert!(labs.iter().any(|c| c == code), "{code}: {labs:?}");
    }
    for e in std::fs::read_dir(w.path("platform/accepted")).expect("accepted") {
        let p = e.expect("entry").path();
        let out = Command::new(agent_bin())
            .arg("validate")
            .arg(&p)
            .output()
            .expect("run tsunagi validate");
        assert!(out.status.success(), "{}: {out:?}", p.display());
    }

    // A malformed export: quarantined whole, naming each row's line and column, never a value.
    put(
        &w,
        "byomei",
        "bad-rows.csv",
        &sample("byomei", "bad-rows.csv"),
    );
    wait_until(30, "quarantine visible", || {
        w.status()["inputs_quarantined"] == 1
    });
    let (ok, list, _) = w.cli(&["queue", "list", "--state", "quarantined"]);
    assert!(ok);
    assert!(
        list.contains("byomei:bad-rows.csv"),
        "names the file: {list}"
    );
    assert!(
        list.contains("line 3") && list.contains("開始日"),
        "names line and column: {list}"
    );
    assert!(!list.contains("2025/02/30"), "never the value: {list}");
    assert_eq!(w.accepted_files(), 3, "nothing of the bad file was sent");
    w.stop_agent();
    w.assert_log_has_no(&["見本", "ミホン", "見本町", "1960-03-15"]);
}

fn kit(args: &[&Path]) -> (bool, String) {
    let out = Command::new(agent_bin())
        .args(["plugin", "test-table"])
        .arg(args[0])
        .arg("--inputs")
        .arg(args[1])
        .arg("--expect")
        .arg(args[2])
        .output()
        .expect("run tsunagi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_sample_specs_and_converter_pass_their_kits_and_a_changed_golden_or_spec_fails() {
    let samples = repo().join("config-examples/samples/tables");
    let formats = repo().join("config-examples/formats");
    for (spec, dir) in [
        ("kanja-fixed", "kanja"),
        ("byomei-csv", "byomei"),
        ("kensa-csv", "kensa"),
    ] {
        let spec = formats.join(format!("{spec}.toml"));
        let (ok, out) = kit(&[&spec, &samples.join(dir), &samples.join(dir).join("expect")]);
        assert!(ok && out.contains("conformance: PASS"), "{dir}: {out}");
        assert!(!out.contains("FAIL"), "{dir}: {out}");
    }
    // The sample converter plugin passes its kit too.
    let examples = repo().join("adapters/examples");
    let out = Command::new(agent_bin())
        .args(["plugin", "test-converter", "--inputs"])
        .arg(examples.join("xml-export"))
        .arg("--expect")
        .arg(examples.join("xml-export/expect"))
        .args(["--", "python3"])
        .arg(examples.join("xml_converter.py"))
        .output()
        .expect("run tsunagi");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !shown.contains("FAIL"), "{shown}");
    assert!(
        shown.contains("handshake") && shown.contains("malformed reported"),
        "{shown}"
    );
    // A golden file that no longer matches what the spec reads fails the kit, by path.
    let w = tempfile::tempdir().expect("tempdir");
    let expect = w.path().join("expect");
    std::fs::create_dir_all(&expect).expect("mkdir");
    let golden = samples.join("byomei/expect/byomei.csv.json");
    let changed = std::fs::read_to_string(golden)
        .expect("golden")
        .replace("K297", "K296");
    std::fs::write(expect.join("byomei.csv.json"), changed).expect("write");
    let inputs = w.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    std::fs::copy(samples.join("byomei/byomei.csv"), inputs.join("byomei.csv")).expect("copy");
    let spec = formats.join("byomei-csv.toml");
    let (ok, out) = kit(&[&spec, &inputs, &expect]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("golden") && out.contains("$.records[0].icd10"),
        "{out}"
    );
    // A spec whose dates are declared in another format refuses every row: `reads` fails.
    let other = w.path().join("other.toml");
    let text = std::fs::read_to_string(&spec)
        .expect("spec")
        .replace("%Y/%m/%d", "%Y-%m-%d");
    std::fs::write(&other, text).expect("write");
    let (ok, out) = kit(&[&other, &inputs, &expect]);
    assert!(
        !ok && out.contains("reads") && out.contains("not a date"),
        "{out}"
    );
}

/// Issue 14, converter role: a vendor's XML export in a watched folder is converted by the
/// vendor's plugin (the sample in `adapters/examples/`) and delivered; XML the plugin refuses is
/// quarantined with the plugin's line; a converter that dies at start quarantines its inputs
/// with a named reason while the other sources keep delivering.
#[test]
fn a_converter_plugin_converts_a_watched_folder_and_a_broken_one_is_contained() {
    let mut w = World::new();
    for d in ["xml", "broken"] {
        std::fs::create_dir_all(w.path(d)).expect("mkdir");
    }
    let script = repo().join("adapters/examples/xml_converter.py");
    w.extra_config = format!(
        r#"
[[format]]
name = "vendor-xml"
converter = ["python3", "{}"]
timeout_secs = 10

[[format]]
name = "dies-at-start"
converter = ["python3", "-c", "import sys; sys.exit(1)"]

[[source.folder]]
name = "xml"
format = "vendor-xml"
path = "xml"
mode = "move"
watch = "events"
stable_ms = 200
extensions = ["xml"]

[[source.folder]]
name = "broken"
format = "dies-at-start"
path = "broken"
mode = "move"
watch = "events"
stable_ms = 200
"#,
        script.display()
    );
    w.load_synthetic_masters(&[
        ("medis-disease", "nmain900.txt"),
        ("jfagy", "JFAGY_SYNTH_20250401_R01.csv"),
    ]);
    w.start_sim("", false);
    w.start_agent();
    let examples = repo().join("adapters/examples/xml-export");
    let export = std::fs::read(examples.join("export-0001.xml")).expect("sample");
    put(&w, "xml", "export-0001.xml", &export);
    put(&w, "broken", "a.dat", b"anything");
    w.drop_file("fhir.json", &tsunagi_sim::fixtures::condition_input(1));
    wait_until(
        60,
        "the 傷病名 and allergy bundles and the FHIR file delivered",
        || w.accepted_files() == 3,
    );
    let conditions = codes(&w, "Condition");
    assert!(conditions.iter().any(|c| c == "90000001"), "{conditions:?}");
    assert!(codes(&w, "AllergyIntolerance")
        .iter()
        .any(|c| c == "J9FC11310000"));

    let bad = std::fs::read(examples.join("bad-truncated.xml")).expect("sample");
    put(&w, "xml", "bad-truncated.xml", &bad);
    wait_until(30, "both quarantines visible", || {
        w.status()["inputs_quarantined"] == 2
    });
    let (ok, list, _) = w.cli(&["queue", "list", "--state", "quarantined"]);
    assert!(ok);
    assert!(
        list.contains("xml:bad-truncated.xml") && list.contains("line 5"),
        "{list}"
    );
    assert!(
        list.contains("broken:a.dat") && list.contains("converter dies-at-start"),
        "{list}"
    );
    // `replay` hands the stored XML to the converter again (a fresh one: the last one failed);
    // it is still refused, by the same converter, with the same line.
    let (ok, out, err) = w.cli(&["replay", "--quarantined"]);
    assert!(ok, "{out}{err}");
    wait_until(30, "both replayed and quarantined again", || {
        w.db_count("SELECT COUNT(*) FROM audit WHERE action = 'replay'") >= 1
            && w.status()["inputs_quarantined"] == 2
    });
    let (_, again, _) = w.cli(&["queue", "list", "--state", "quarantined"]);
    assert!(
        again.contains("xml:bad-truncated.xml") && again.contains("line 5"),
        "{again}"
    );
    assert_eq!(w.accepted_files(), 3, "nothing more was sent");
    w.stop_agent();
    w.assert_log_has_no(&["見本", "ミホン", "さば", "見本町"]);
}

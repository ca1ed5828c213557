//! `tsunagi inspect --bundles` shows what the daemon sends (issue 10): the same inputs, config,
//! masters and mapping give the same bundles, apart from the processing time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// The synthetic FHIR samples, in the order the demo feeds them (Patients before the items that
/// need them); `broken.json` is quarantined by both.
fn samples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config-examples/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "samples found: {}", files.len());
    files
}

/// A bundle without what depends on when it was processed: `meta.lastUpdated` anywhere and
/// `Bundle.timestamp`.
fn timeless(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("lastUpdated");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Value::Object(m) = &mut v {
        m.remove("timestamp");
    }
    strip(&mut v);
    v
}

/// A bundle (without its processing time) and the outcomes of the coded items of its input.
type Shown = (Value, Vec<Value>);

/// Bundles the daemon queued, by identifier, with their inputs' item outcomes.
fn queued(w: &World) -> BTreeMap<String, Shown> {
    let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db opens");
    let mut stmt = db
        .prepare(
            "SELECT bundle_identifier, body, inbox_id FROM outbox WHERE body IS NOT NULL ORDER BY id",
        )
        .expect("query");
    let rows: Vec<(String, Vec<u8>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    rows.into_iter()
        .map(|(id, body, input)| {
            let body = timeless(serde_json::from_slice(&body).expect("json"));
            (id, (body, items_of(&db, input)))
        })
        .collect()
}

/// The item outcomes the daemon recorded for an input, as inspect prints them.
fn items_of(db: &rusqlite::Connection, input: i64) -> Vec<Value> {
    let mut stmt = db
        .prepare(
            "SELECT category, outcome, via, local_system, local_code, standard_system, standard_code
             FROM item_code WHERE inbox_id = ?1 ORDER BY id",
        )
        .expect("query");
    stmt.query_map([input], |r| {
        Ok(serde_json::json!({
            "item": r.get::<_, String>(0)?, "outcome": r.get::<_, String>(1)?,
            "via": r.get::<_, Option<String>>(2)?, "local_system": r.get::<_, String>(3)?,
            "local_code": r.get::<_, String>(4)?,
            "standard_system": r.get::<_, Option<String>>(5)?,
            "standard_code": r.get::<_, Option<String>>(6)?}))
    })
    .expect("rows")
    .map(|r| r.expect("row"))
    .collect()
}

/// Bundles `tsunagi inspect --bundles --format jsonl` shows for `inputs` with the world's
/// config (and so its masters and mapping), by identifier, with their inputs' item outcomes.
fn inspected(w: &World, inputs: &[PathBuf]) -> BTreeMap<String, Shown> {
    let out = Command::new(agent_bin())
        .args([
            "inspect",
            "--bundles",
            "--format",
            "jsonl",
            "--reveal",
            "--config",
        ])
        .arg(w.path("tsunagi.toml"))
        .args(inputs)
        .output()
        .expect("run inspect");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("body").is_some())
        .map(|v| {
            let id = v["bundle"].as_str().expect("identifier").to_string();
            let items = v["items"].as_array().expect("the bundle's items").clone();
            (id, (timeless(v["body"].clone()), items))
        })
        .collect()
}

/// Asserts that the daemon queued exactly the bundles inspect shows, body for body, and that
/// inspect shows the item outcomes the daemon recorded for each bundle's input.
fn assert_same_bundles(daemon: &BTreeMap<String, Shown>, inspected: &BTreeMap<String, Shown>) {
    assert_eq!(
        daemon.keys().collect::<Vec<_>>(),
        inspected.keys().collect::<Vec<_>>(),
        "the same bundle identifiers"
    );
    for (id, (body, items)) in daemon {
        let (shown_body, shown_items) = &inspected[id];
        assert_eq!(body, shown_body, "bundle {id} differs");
        assert_eq!(
            items, shown_items,
            "the item outcomes of bundle {id}'s input differ"
        );
    }
    assert!(
        daemon.values().any(|(_, items)| !items.is_empty()),
        "some bundle comes from an input with coded items"
    );
}

/// Copies a folder tree (the sample storage) into the test directory.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from)
        .expect("read_dir")
        .filter_map(Result::ok)
    {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

#[test]
fn inspect_bundles_shows_the_bundles_the_daemon_queues() {
    let mut w = World::new();
    // The sample SS-MIX2 storage too: its files go through the version rules and Patient
    // directory of an SS-MIX2 source in both.
    let storage =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config-examples/samples/ssmix2");
    copy_tree(&storage, &w.path("ssmix2"));
    w.extra_config =
        "\n[[source.ssmix2]]\nname = \"storage\"\npath = \"ssmix2\"\nstable_ms = 100\n".into();
    w.start_sim("", false);
    w.start_agent();
    wait_until(60, "the storage is processed", || {
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'storage' AND state = 'processed'")
            >= 3
    });
    let files = samples();
    for f in &files {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        w.drop_file(&name, &std::fs::read(f).expect("read sample"));
        wait_until(30, "the sample is taken", || w.files_in("inbox") == 0);
        wait_until(30, "the sample is processed", || {
            w.db_count("SELECT COUNT(*) FROM inbox WHERE state = 'received'") == 0
        });
    }
    w.stop_agent();
    let daemon = queued(&w);
    assert!(daemon.len() >= 8, "bundles queued: {}", daemon.len());

    let mut inputs = files.clone();
    inputs.push(w.path("ssmix2"));
    let inspected = inspected(&w, &inputs);
    assert_same_bundles(&daemon, &inspected);
}

/// Files under `dir`, recursively.
fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| {
            if e.path().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// The same identity over the whole third-party SS-MIX2 data set (ssmixtwins-300, 3,653 files,
/// about a minute in a debug build) with the public masters loaded, read in place by the daemon
/// and by inspect as `mapping.rs` reads it. Skipped without `../shared`.
#[test]
fn inspect_bundles_shows_the_bundles_the_daemon_queues_for_ssmixtwins() {
    let Some(shared) = crate::mapping::shared() else {
        println!("skipped: ../shared absent (ssmixtwins-300 and the public masters)");
        return;
    };
    let mut w = World::new();
    let storage = shared.join("datasets/ssmixtwins-300");
    let files = count_files(&storage);
    w.extra_config = format!(
        "\n[[source.ssmix2]]\nname = \"twins\"\npath = \"{}\"\nstable_ms = 0\n",
        storage.display()
    );
    for (kind, path) in [
        ("jfagy", "masters/jfagy/JFAGY_J9FN_20250401_R01.utf8.csv"),
        ("clins-lab", "fhir/jp-eCSCLINS.r4-1.10.0"),
        ("yj", "masters/drugs/mhlw-drug-price-list-20250716.csv"),
        (
            "receipt-disease",
            "masters/disease/receipt-disease-names.csv",
        ),
    ] {
        let path = shared.join(path);
        let (ok, _, err) = w.cli(&["masters", "load", kind, path.to_str().expect("utf-8")]);
        assert!(ok, "{kind}: {err}");
    }
    w.start_sim("", false);
    w.start_agent();
    wait_until(300, "every file of the storage processed", || {
        w.db_count("SELECT COUNT(*) FROM inbox") >= files as i64
            && w.db_count("SELECT COUNT(*) FROM inbox WHERE state = 'received'") == 0
    });
    w.stop_agent();
    let daemon = queued(&w);
    // 1,423 bundles with the masters above; far fewer would mean the storage was not read.
    assert!(daemon.len() > 1000, "bundles queued: {}", daemon.len());
    let inspected = inspected(&w, &[storage]);
    println!(
        "ssmixtwins-300: {files} files, {} bundles queued, {} shown by inspect",
        daemon.len(),
        inspected.len()
    );
    assert_same_bundles(&daemon, &inspected);
}

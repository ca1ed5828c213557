use std::process::Command;

use crate::util::*;

#[test]
fn check_config_lists_problems_with_lines_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[agent]\ndata_dir = \"d\"\ninstitution_number = \"1318814790\"\nretension_days = 3\n\n[uplink]\nroute = \"web-api\"\n",
    )
    .expect("write");
    let out = Command::new(agent_bin())
        .arg("check-config")
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 4"), "{text}");
    assert!(text.contains("retension_days"), "{text}");
    assert!(text.contains("設定"), "Japanese too: {text}");
}

#[test]
fn queue_show_hides_content_unless_revealed_and_audits_reveal_and_drop() {
    let mut w = World::new();
    w.start_sim("503=1.0", false);
    w.start_agent();
    w.drop_file("one.json", &condition_input(7));
    wait_until(60, "an item is pending", || {
        w.status()["attempts"].as_i64().unwrap_or(0) >= 1
    });
    let (ok, list, _) = w.cli(&["queue", "list"]);
    assert!(ok, "{list}");
    let id = list
        .split_whitespace()
        .find(|t| t.starts_with("O-"))
        .expect("an outbox id")
        .to_string();
    // A reader that went away (`| head`, `| grep -q`) ends a command's output quietly, not
    // with a panic (every command prints with `outln!`; these are the ones piped in practice).
    #[cfg(unix)]
    for args in [
        &["queue", "list"][..],
        &["queue", "show", &id],
        &["status"],
        &["masters", "status"],
        &["mapping", "check"],
    ] {
        let (ok, err) = w.cli_into_closed_pipe(args);
        assert!(ok && err.is_empty(), "{args:?} into a closed pipe: {err}");
    }
    let (ok, shown, _) = w.cli(&["queue", "show", &id]);
    assert!(ok);
    assert!(
        !shown.contains(SECRET_GIVEN) && !shown.contains(SECRET_BIRTH),
        "{shown}"
    );
    let (ok, revealed, _) = w.cli(&["queue", "show", &id, "--reveal"]);
    assert!(ok);
    assert!(revealed.contains(SECRET_GIVEN), "reveal prints the content");
    // While a request is in flight the drop is refused with "try again"; it goes through between
    // attempts.
    wait_until(30, "drop accepted", || {
        let (ok, _, err) = w.cli(&["queue", "drop", &id, "--reason", "sent on paper"]);
        assert!(ok || err.contains("try again"), "{err}");
        ok
    });
    w.stop_agent();
    let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db");
    let actions: Vec<String> = db
        .prepare("SELECT action || ':' || COALESCE(reason, '') FROM audit ORDER BY id")
        .expect("q")
        .query_map([], |r| r.get(0))
        .expect("q")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(
        actions,
        vec!["reveal:".to_string(), "drop:sent on paper".to_string()]
    );
}

/// The README's first command: the demo needs no configuration and exits 0 only when every
/// sample ended where `config-examples/samples/expected.toml` says.
#[test]
fn the_demo_runs_with_no_configuration_and_every_sample_ends_as_expected() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(agent_bin())
        .args(["demo", "--data"])
        .arg(dir.path())
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("every input ended where it should"),
        "{stdout}"
    );
    assert!(!stdout.contains("NOT AS EXPECTED"), "{stdout}");
    // The samples' (fictional) names and birth dates must not be printed or logged.
    let secrets = sample_patient_values();
    assert!(secrets.len() >= 6, "{secrets:?}");
    for v in &secrets {
        assert!(
            !stdout.contains(v.as_str()) && !stderr.contains(v.as_str()),
            "{v} leaked"
        );
    }
    let db = dir.path().join("agent/tsunagi.db");
    if let Some(mode) = mode_of(&db) {
        assert_eq!(mode, 0o600, "the database is owner-only");
    }
}

/// Family names, given names and birth dates written in the demo's sample files.
fn sample_patient_values() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/samples");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir)
        .expect("samples")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file());
    for e in entries {
        let Ok(v) =
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(e.path()).expect("read"))
        else {
            continue;
        };
        collect(&v, &mut out);
    }
    // The synthetic SS-MIX2 patient (config-examples/samples/ssmix2).
    out.extend(["見本", "花子", "9990000001", "19600203"].map(String::from));
    out.sort();
    out.dedup();
    out
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("family" | "birthDate", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("given", serde_json::Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|g| g.as_str().map(String::from)))
                    }
                    _ => collect(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

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
    let (ok, shown, _) = w.cli(&["queue", "show", &id]);
    assert!(ok);
    assert!(
        !shown.contains(SECRET_GIVEN) && !shown.contains(SECRET_BIRTH),
        "{shown}"
    );
    let (ok, revealed, _) = w.cli(&["queue", "show", &id, "--reveal"]);
    assert!(ok);
    assert!(revealed.contains(SECRET_GIVEN), "reveal prints the content");
    let (ok, _, err) = w.cli(&["queue", "drop", &id, "--reason", "sent on paper"]);
    assert!(ok, "{err}");
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

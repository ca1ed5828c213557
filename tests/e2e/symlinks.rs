//! Issue 9, F2 and F12 through the real binary: links in a move-mode inbox never lead the agent
//! out of it, and what it skips or cannot use leaves a trace (`/metrics`, the status page, the
//! quarantine).

use std::path::Path;

use crate::util::*;

fn get(w: &World, url: &str) -> String {
    w.rt.block_on(async {
        reqwest::get(url)
            .await
            .expect("GET")
            .text()
            .await
            .expect("body")
    })
}

/// Every file under `dir` with its content.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
#[test]
fn links_never_lead_the_agent_out_of_its_inbox_and_skips_are_counted() {
    let mut w = World::new();
    let port = free_port();
    w.extra_config = format!("\n[ops]\nlisten = \"127.0.0.1:{port}\"\n");
    let base = format!("http://127.0.0.1:{port}");
    // Elsewhere: a folder holding a valid FHIR input, and a valid FHIR file on its own.
    let elsewhere = w.path("elsewhere");
    std::fs::create_dir_all(elsewhere.join("theirs")).expect("mkdir");
    std::fs::write(elsewhere.join("theirs/valid.json"), condition_input(1)).expect("write");
    std::fs::write(elsewhere.join("secret.json"), condition_input(2)).expect("write");
    let before = contents(&elsewhere);
    let inbox = w.path("inbox");
    std::os::unix::fs::symlink(elsewhere.join("theirs"), inbox.join("linked")).expect("link");
    std::os::unix::fs::symlink(elsewhere.join("secret.json"), inbox.join("secret.json"))
        .expect("link");
    w.start_sim("", false);
    w.start_agent();
    w.drop_file("own.json", &condition_input(3));
    w.drop_file(
        "empty.json",
        br#"{"resourceType":"Bundle","type":"collection","entry":null}"#,
    );
    wait_until(60, "own input delivered", || w.accepted_files() == 1);
    wait_until(30, "the empty bundle quarantined", || {
        w.db_count("SELECT COUNT(*) FROM inbox WHERE state = 'quarantined'") == 1
    });
    let metrics = get(&w, &format!("{base}/metrics"));
    let page = get(&w, &format!("{base}/?lang=en"));
    w.stop_agent();

    assert!(
        metrics.contains(
            "tsunagi_source_inputs_skipped_total{source=\"drop\",reason=\"symlink\"} 2\n"
        ),
        "{metrics}"
    );
    assert!(page.contains("Files not taken"), "{page}");
    // Nothing elsewhere moved or changed; the links are where they were.
    assert_eq!(contents(&elsewhere), before);
    for link in ["linked", "secret.json"] {
        let md = std::fs::symlink_metadata(inbox.join(link)).expect("link still there");
        assert!(md.file_type().is_symlink(), "{link}");
    }
    // Only the agent's own inputs were stored; only its own one was delivered.
    assert_eq!(w.db_count("SELECT COUNT(*) FROM inbox"), 2);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE origin IN ('own.json', 'empty.json')"),
        2
    );
    assert_eq!(w.accepted_files(), 1);
    let (error,): (String,) = {
        let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db");
        db.query_row(
            "SELECT error FROM inbox WHERE state = 'quarantined'",
            [],
            |r| Ok((r.get(0)?,)),
        )
        .expect("quarantined row")
    };
    assert!(error.contains("臨床データが含まれていません"), "{error}");
    let processed = contents(&inbox.join("processed"));
    let names: Vec<&str> = processed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["empty.json", "own.json"]);
}

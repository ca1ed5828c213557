use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::util::*;

/// Issue 2 (b): 2,000 files, the agent killed with SIGKILL five times at random moments and
/// restarted; every file must be accepted exactly once and the database must open cleanly.
#[test]
fn b_kill_9_during_a_2000_file_run_loses_and_duplicates_nothing() {
    let seed: u64 = std::env::var("TSUNAGI_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed: {seed} (set TSUNAGI_TEST_SEED to repeat)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let total = 2000;
    let mut w = World::new();
    w.start_sim("", false);
    w.start_agent();
    let inbox = w.path("inbox");
    let staging = w.path("staging");
    std::fs::create_dir_all(&staging).expect("mkdir");
    let dropper = std::thread::spawn(move || {
        for i in 0..total {
            let tmp = staging.join(format!("f{i}.json"));
            std::fs::write(&tmp, condition_input(i)).expect("write");
            std::fs::rename(&tmp, inbox.join(format!("f{i}.json"))).expect("rename");
            if i % 100 == 99 {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    for round in 0..5 {
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2500)));
        eprintln!(
            "kill -9 round {round}: {} accepted so far",
            w.accepted_files()
        );
        w.kill_agent();
        w.start_agent();
    }
    dropper.join().expect("dropper");
    wait_until(300, "all 2000 accepted", || w.accepted_files() == total);
    wait_until(60, "inbox folder empty", || w.files_in("inbox") == 0);
    w.stop_agent();
    let stats = w.sim().stats();
    assert_eq!(
        stats.accepted as usize, total,
        "each bundle accepted once: {stats:?}"
    );
    let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db opens");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let inputs: i64 = w.db_count("SELECT COUNT(*) FROM inbox");
    let delivered: i64 = w.db_count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'");
    let not_done: i64 = w.db_count("SELECT COUNT(*) FROM outbox WHERE state <> 'delivered'");
    assert_eq!(inputs as usize, total, "each file stored once");
    assert_eq!(delivered as usize, total);
    assert_eq!(not_done, 0);
    let processed = walk_count(&w.path("inbox/processed"));
    assert_eq!(processed, total, "every file moved to processed/ once");
}

fn walk_count(dir: &std::path::Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                n += walk_count(&p);
            } else {
                n += 1;
            }
        }
    }
    n
}

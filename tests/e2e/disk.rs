use std::time::Duration;

use fs4::FileExt;

use crate::util::*;

/// Issue 2 (h): a reserve just under the free space, then a ballast file that crosses it.
#[test]
fn h_crossing_the_disk_reserve_pauses_intake_and_it_resumes_by_itself() {
    let mut w = World::new();
    let free_mb = fs4::available_space(w.dir.path()).expect("free space") / 1_048_576;
    if free_mb < 2_000 {
        eprintln!("skipped: needs 2 GB free on the temp file system, has {free_mb} MB");
        return;
    }
    let reserve = free_mb - 300;
    // The config template sets disk_reserve_mb = 0 (duplicate keys are errors): rewrite it.
    w.start_sim("", false);
    let cfg = w.write_config();
    let text = std::fs::read_to_string(&cfg).expect("read").replace(
        "disk_reserve_mb = 0",
        &format!("disk_reserve_mb = {reserve}"),
    );
    std::fs::write(&cfg, text).expect("write");
    start_agent_with(&mut w, &cfg);
    w.drop_file("before.json", &condition_input(1));
    wait_until(60, "delivery before the reserve is crossed", || {
        w.accepted_files() == 1
    });

    let ballast = std::fs::File::create(w.path("ballast")).expect("ballast");
    ballast.allocate(600 * 1_048_576).expect("allocate 600 MB");
    wait_until(30, "status says intake is paused", || {
        w.status()["intake_paused"] == true
    });
    for i in 2..5 {
        w.drop_file(&format!("in-{i}.json"), &condition_input(i));
    }
    std::thread::sleep(Duration::from_secs(2));
    let waiting = w.files_in("inbox");
    assert_eq!(waiting, 3, "files stay where they are while paused");
    assert_eq!(w.accepted_files(), 1);

    drop(ballast);
    std::fs::remove_file(w.path("ballast")).expect("remove ballast");
    wait_until(60, "intake resumes and delivers", || {
        w.accepted_files() == 4
    });
    assert_eq!(w.status()["intake_paused"], false);
    w.stop_agent();
}

fn start_agent_with(w: &mut World, cfg: &std::path::Path) {
    let before = w.started_count();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(w.path("agent.log"))
        .expect("log");
    let child = std::process::Command::new(agent_bin())
        .args(["run", "--config"])
        .arg(cfg)
        .stderr(log)
        .spawn()
        .expect("spawn");
    w.agent = Some(child);
    w.wait_started(before);
}

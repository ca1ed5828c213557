//! The folder source cases: one test per promise in the source's contract.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn new_checks_the_root() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    let e = FolderSource::new(cfg(&missing, move_mode(), WatchMode::Poll)).unwrap_err();
    assert!(matches!(e, FolderError::RootMissing { .. }));
    assert!(e.to_string().contains("nope"), "{e}");
    write(&d.path().join("f"), b"x");
    let e = FolderSource::new(cfg(&d.path().join("f"), move_mode(), WatchMode::Poll)).unwrap_err();
    assert!(matches!(e, FolderError::RootNotDir { .. }), "{e}");
    let bad = FolderConfig {
        poll_interval_ms: 0,
        ..cfg(d.path(), move_mode(), WatchMode::Poll)
    };
    assert!(matches!(
        FolderSource::new(bad),
        Err(FolderError::Config(_))
    ));
    // Move mode creates its folders; read-only creates nothing.
    let ro = tempfile::tempdir().unwrap();
    FolderSource::new(cfg(ro.path(), FolderMode::ReadOnly, WatchMode::Poll)).unwrap();
    assert!(listing(ro.path()).is_empty());
    FolderSource::new(cfg(d.path(), move_mode(), WatchMode::Poll)).unwrap();
    assert!(d.path().join("processed").is_dir() && d.path().join("rejected").is_dir());
}

#[test]
fn slowly_written_file_is_taken_only_whole() {
    let d = tempfile::tempdir().unwrap();
    let intake = Arc::new(FakeIntake::default());
    let run = start(
        FolderConfig {
            stable_ms: 1500,
            ..cfg(d.path(), move_mode(), WatchMode::Events)
        },
        &intake,
    );
    let path = d.path().join("slow.json");
    let mut f = fs::File::create(&path).unwrap();
    let mut whole = Vec::new();
    for i in 0..8 {
        let chunk = format!("{{\"part\":{i}}}\n");
        f.write_all(chunk.as_bytes()).unwrap();
        f.flush().unwrap();
        whole.extend_from_slice(chunk.as_bytes());
        thread::sleep(Duration::from_millis(100));
    }
    drop(f);
    eventually("slow file stored", || !intake.stored_rels().is_empty());
    let stats = run.stop();
    let stored = intake.with(|f| f.stored.clone());
    assert_eq!(stored, vec![("slow.json".to_string(), whole)]);
    assert!(d.path().join("processed/slow.json").is_file());
    assert_eq!(stats.stored, 1);
}

#[test]
fn renamed_into_place_is_taken_at_once() {
    let d = tempfile::tempdir().unwrap();
    let intake = Arc::new(FakeIntake::default());
    // A stability window far beyond the test bound: only the rename can make it ready.
    let run = start(
        FolderConfig {
            stable_ms: 600_000,
            ..cfg(d.path(), move_mode(), WatchMode::Events)
        },
        &intake,
    );
    write(&d.path().join("in/a.json.tmp"), b"{\"a\":1}");
    thread::sleep(Duration::from_millis(200));
    fs::rename(d.path().join("in/a.json.tmp"), d.path().join("in/a.json")).unwrap();
    eventually("renamed file stored", || {
        intake.stored_rels() == ["in/a.json"]
    });
    eventually("renamed file moved", || {
        d.path().join("processed/in/a.json").is_file()
    });
    run.stop();
}

#[test]
fn move_mode_moves_only_after_commit_and_never_rescans_processed() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("a.json"), b"A");
    write(&d.path().join("x/y/b.json"), b"B");
    // Already in processed from an earlier run: never offered.
    write(&d.path().join("processed/old.json"), b"old");
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(d.path(), move_mode(), WatchMode::Events), &intake);
    eventually("both stored", || intake.stored_rels().len() == 2);
    eventually("both moved", || {
        d.path().join("processed/a.json").is_file()
            && d.path().join("processed/x/y/b.json").is_file()
    });
    // A later file is a barrier: anything else offered would have been offered before it.
    write(&d.path().join("c.json"), b"C");
    eventually("barrier stored", || intake.stored_rels().len() == 3);
    let stats = run.stop();
    assert_eq!(intake.stored_rels(), vec!["a.json", "c.json", "x/y/b.json"]);
    assert!(intake.with(|f| f.file_existed_at_commit.iter().all(|e| *e)));
    assert!(!d.path().join("a.json").exists());
    assert_eq!(
        fs::read(d.path().join("processed/old.json")).unwrap(),
        b"old"
    );
    assert_eq!((stats.stored, stats.moved, stats.read_errors), (3, 3, 0));
}

#[test]
fn crash_between_commit_and_move_moves_without_storing_twice() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("a.json"), b"A");
    let intake = Arc::new(FakeIntake::default());
    intake.with(|f| f.store.insert(("a.json".into(), b"A".to_vec()), 7));
    let run = start(cfg(d.path(), move_mode(), WatchMode::Poll), &intake);
    eventually("moved", || d.path().join("processed/a.json").is_file());
    let stats = run.stop();
    assert!(intake.stored_rels().is_empty());
    assert_eq!((stats.already_stored, stats.stored, stats.moved), (1, 0, 1));
    assert!(!d.path().join("a.json").exists());
}

#[test]
fn read_only_never_modifies_the_tree_and_skips_known_files() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(&r.join("12345/01/a.xml"), b"<a/>");
    write(&r.join("12345/01/b.xml"), b"<b/>");
    write(&r.join("67890/c.xml"), b"<c/>");
    let md = fs::metadata(r.join("12345/01/b.xml")).unwrap();
    let stamp = walk::stamp_of(&md);
    let intake = Arc::new(FakeIntake::default());
    intake.with(|f| {
        f.known
            .insert(("12345/01/b.xml".into(), stamp.size, stamp.mtime_ns))
    });
    let before = listing(r);
    let run = start(cfg(r, FolderMode::ReadOnly, WatchMode::Events), &intake);
    eventually("unknown files stored", || intake.stored_rels().len() == 2);
    // Barrier: a new file arrives and is taken, so the first scan's files are all decided.
    write(&r.join("d.xml"), b"<d/>");
    eventually("new file stored", || intake.stored_rels().len() == 3);
    let stats = run.stop();
    assert_eq!(
        intake.stored_rels(),
        vec!["12345/01/a.xml", "67890/c.xml", "d.xml"]
    );
    assert_eq!(stats.known_skipped, 1);
    assert_eq!(stats.moved, 0);
    let mut after = listing(r);
    assert!(after.remove(Path::new("d.xml")).is_some());
    assert_eq!(before, after, "read-only source modified the tree");

    // A restart asks the store and reads nothing again.
    let run = start(cfg(r, FolderMode::ReadOnly, WatchMode::Poll), &intake);
    write(&r.join("z.xml"), b"<z/>");
    eventually("restart barrier stored", || intake.stored_rels().len() == 4);
    let stats = run.stop();
    assert_eq!(stats.stored, 1);
    assert_eq!(stats.known_skipped, 4);
}

#[test]
fn paused_intake_leaves_files_and_takes_them_after_unpause() {
    let d = tempfile::tempdir().unwrap();
    let intake = Arc::new(FakeIntake::default());
    intake.with(|f| f.paused = true);
    write(&d.path().join("a.json"), b"A");
    write(&d.path().join("b.json"), b"B");
    let run = start(cfg(d.path(), move_mode(), WatchMode::Events), &intake);
    eventually("retried while paused", || {
        intake.with(|f| f.paused_answers >= 3)
    });
    assert!(d.path().join("a.json").is_file() && d.path().join("b.json").is_file());
    assert!(intake.stored_rels().is_empty());
    // No spinning: with a 100 ms retry interval, one second cannot see hundreds of attempts.
    let a0 = intake.with(|f| f.paused_answers);
    thread::sleep(Duration::from_secs(1));
    let a1 = intake.with(|f| f.paused_answers);
    assert!(a1 - a0 < 50, "spinning while paused: {} attempts", a1 - a0);
    intake.with(|f| f.paused = false);
    eventually("taken after unpause", || intake.stored_rels().len() == 2);
    eventually("moved after unpause", || {
        !d.path().join("a.json").exists() && !d.path().join("b.json").exists()
    });
    let stats = run.stop();
    assert!(stats.paused_skips >= 3);
    assert_eq!(stats.stored, 2);
}

#[test]
fn ignored_names_and_extension_filter() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    let ignored = [
        ".hidden.json",
        "a.json.tmp",
        "b.json.part",
        "c.json.partial",
        "d.json~",
        "e.xml",
        ".cache/f.json",
    ];
    for n in ignored {
        write(&r.join(n), b"x");
    }
    write(&r.join("ok.JSON"), b"ok");
    let intake = Arc::new(FakeIntake::default());
    let run = start(
        FolderConfig {
            extensions: vec!["json".into()],
            ..cfg(r, move_mode(), WatchMode::Events)
        },
        &intake,
    );
    eventually("ok stored", || intake.stored_rels() == ["ok.JSON"]);
    write(&r.join("z.json"), b"z");
    eventually("barrier stored", || intake.stored_rels().len() == 2);
    run.stop();
    assert_eq!(intake.stored_rels(), vec!["ok.JSON", "z.json"]);
    for n in ignored {
        assert!(r.join(n).is_file(), "{n} was touched");
    }
}

#[test]
fn oversize_files_are_quarantined_not_read() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("big.json"), &[b'x'; 100]);
    write(&d.path().join("small.json"), b"{}");
    let intake = Arc::new(FakeIntake::default());
    let run = start(
        FolderConfig {
            max_file_bytes: 10,
            ..cfg(d.path(), move_mode(), WatchMode::Poll)
        },
        &intake,
    );
    eventually("big moved to rejected", || {
        d.path().join("rejected/big.json").is_file()
    });
    eventually("small stored", || intake.stored_rels() == ["small.json"]);
    let stats = run.stop();
    assert_eq!(
        intake.with(|f| f.oversize.clone()),
        vec![("big.json".to_string(), 100)]
    );
    assert_eq!(stats.rejected_oversize, 1);

    // Read-only: quarantined once, remembered through is_known across a restart.
    let ro = tempfile::tempdir().unwrap();
    write(&ro.path().join("big.xml"), &[b'x'; 100]);
    let intake = Arc::new(FakeIntake::default());
    let small = |p: &Path| FolderConfig {
        max_file_bytes: 10,
        ..cfg(p, FolderMode::ReadOnly, WatchMode::Poll)
    };
    let run = start(small(ro.path()), &intake);
    eventually("rejected", || intake.with(|f| f.oversize.len() == 1));
    run.stop();
    let run = start(small(ro.path()), &intake);
    write(&ro.path().join("b.xml"), b"b");
    eventually("barrier", || intake.stored_rels() == ["b.xml"]);
    let stats = run.stop();
    assert_eq!(intake.with(|f| f.oversize.len()), 1);
    assert_eq!(stats.known_skipped, 1);
    assert!(ro.path().join("big.xml").is_file());
}

#[test]
fn poll_mode_finds_files_without_events() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("early.json"), b"1");
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(d.path(), move_mode(), WatchMode::Poll), &intake);
    eventually("early stored", || intake.stored_rels() == ["early.json"]);
    write(&d.path().join("sub/late.json"), b"2");
    eventually("late stored", || intake.stored_rels().len() == 2);
    run.stop();
    assert!(d.path().join("processed/sub/late.json").is_file());
}

#[cfg(unix)]
#[test]
fn bad_entries_are_reported_and_never_block_others() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(
        &r.join(std::ffi::OsStr::from_bytes(b"\xff\xfe.json")),
        b"bad name",
    );
    fs::create_dir(r.join("dir")).unwrap();
    std::os::unix::fs::symlink(r, r.join("dir/loop")).unwrap();
    let fifo = std::ffi::CString::new(r.join("pipe.json").as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    write(&r.join("dir/good.json"), b"good");
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(r, FolderMode::ReadOnly, WatchMode::Events), &intake);
    eventually("good stored", || intake.stored_rels() == ["dir/good.json"]);
    eventually("bad name quarantined", || {
        intake.with(|f| f.bad_names.len()) == 1
    });
    let stats = run.stop();
    assert_eq!(
        (stats.symlinks_skipped, stats.names_not_utf8),
        (1, 1),
        "{stats:?}"
    );
}

/// F2: a move-mode inbox holding a link to a directory elsewhere and a link to a file elsewhere.
#[cfg(unix)]
#[test]
fn links_out_of_the_inbox_are_never_followed_read_or_moved() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = d.path();
    let o = outside.path();
    write(
        &o.join("theirs/valid.json"),
        b"{\"resourceType\":\"Patient\"}",
    );
    write(&o.join("passwd"), b"root:x:0:0");
    std::os::unix::fs::symlink(o.join("theirs"), r.join("linked-dir")).unwrap();
    std::os::unix::fs::symlink(o.join("passwd"), r.join("passwd.json")).unwrap();
    std::os::unix::fs::symlink(o.join("gone"), r.join("dangling.json")).unwrap();
    let before = listing(o);
    let intake = Arc::new(FakeIntake::default());
    for (i, watch) in [WatchMode::Events, WatchMode::Poll].into_iter().enumerate() {
        let own = format!("own-{i}.json");
        write(&r.join(&own), b"own");
        let run = start(cfg(r, move_mode(), watch), &intake);
        // The first full scan walks everything before anything is taken.
        eventually("own moved", || r.join("processed").join(&own).is_file());
        let stats = run.stop();
        assert_eq!(stats.symlinks_skipped, 3, "{stats:?}");
    }
    assert_eq!(intake.stored_rels(), vec!["own-0.json", "own-1.json"]);
    assert_eq!(listing(o), before, "nothing outside the inbox changed");
    assert!(fs::symlink_metadata(r.join("linked-dir"))
        .unwrap()
        .is_symlink());
    assert!(fs::symlink_metadata(r.join("passwd.json"))
        .unwrap()
        .is_symlink());
    assert!(!r.join("processed/linked-dir").exists());
    assert!(!r.join("processed/passwd.json").exists());
}

/// F2: a file read as a regular file and swapped for a link before its move is not moved.
#[cfg(unix)]
#[test]
fn a_file_swapped_for_a_link_before_its_move_is_not_moved() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.json");
    write(&secret, b"not yours");
    write(&d.path().join("a.json"), b"mine");
    let intake = Arc::new(FakeIntake::default());
    intake.with(|f| f.swap_for_link = Some(secret.clone()));
    let (run, skips) = start_counted(cfg(d.path(), move_mode(), WatchMode::Poll), &intake);
    eventually("stored", || intake.stored_rels() == ["a.json"]);
    eventually("the link counted", || {
        skips.get(crate::source::skips::SkipReason::Symlink) == 1
    });
    let stats = run.stop();
    assert_eq!(stats.moved, 0, "{stats:?}");
    assert_eq!(stats.symlinks_skipped, 1, "{stats:?}");
    assert_eq!(fs::read(&secret).unwrap(), b"not yours");
    assert!(fs::symlink_metadata(d.path().join("a.json"))
        .unwrap()
        .is_symlink());
    assert!(fs::read_dir(d.path().join("processed"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(
        intake.with(|f| f.stored.clone()),
        vec![("a.json".to_string(), b"mine".to_vec())]
    );
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_retried_until_readable() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc::geteuid() } == 0 {
        return; // root reads anything; permissions cannot make a file unreadable here.
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("locked.json");
    write(&p, b"L");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    write(&d.path().join("open.json"), b"O");
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(d.path(), move_mode(), WatchMode::Poll), &intake);
    eventually("open stored", || intake.stored_rels() == ["open.json"]);
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    eventually("locked stored after unlock", || {
        intake.stored_rels().len() == 2
    });
    let stats = run.stop();
    assert!(stats.read_errors >= 1);
}

#[test]
fn shutdown_is_prompt_and_finishes_the_commit_in_hand() {
    let d = tempfile::tempdir().unwrap();
    let intake = Arc::new(FakeIntake::default());
    // Idle source: returns promptly.
    let run = start(cfg(d.path(), move_mode(), WatchMode::Events), &intake);
    thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    run.stop();
    assert!(t.elapsed() < Duration::from_secs(5));

    // Shutdown during a slow commit: the commit completes and the file is moved.
    intake.with(|f| f.commit_delay = Duration::from_millis(800));
    write(&d.path().join("a.json"), b"A");
    let run = start(cfg(d.path(), move_mode(), WatchMode::Poll), &intake);
    eventually("commit started", || intake.with(|f| f.in_commit));
    let stats = run.stop();
    assert_eq!((stats.stored, stats.moved), (1, 1));
    assert!(d.path().join("processed/a.json").is_file());
}

#[test]
fn many_files_in_many_folders_are_all_taken_once() {
    let d = tempfile::tempdir().unwrap();
    let intake = Arc::new(FakeIntake::default());
    for i in 0..1000 {
        write(
            &d.path().join(format!("d{}/f{i}.json", i % 25)),
            i.to_string().as_bytes(),
        );
    }
    let run = start(cfg(d.path(), move_mode(), WatchMode::Events), &intake);
    // More arrive while running, some straight into new folders.
    for i in 1000..2000 {
        write(
            &d.path().join(format!("n{}/f{i}.json", i % 25)),
            i.to_string().as_bytes(),
        );
    }
    eventually("all 2000 stored", || {
        intake.with(|f| f.stored.len()) == 2000
    });
    eventually("all moved", || run_moved(d.path()) == 2000);
    let stats = run.stop();
    let rels: HashSet<String> = intake.stored_rels().into_iter().collect();
    assert_eq!(rels.len(), 2000, "a file was stored twice");
    assert_eq!(
        (stats.stored, stats.moved, stats.already_stored),
        (2000, 2000, 0)
    );
}

fn run_moved(root: &Path) -> usize {
    listing(&root.join("processed"))
        .values()
        .filter(|v| !v.2)
        .count()
}

//! The binary's command line answers on its own (and, being an integration test of this
//! package, makes `cargo test --workspace` build the `tsunagi` binary that `tests/e2e` runs).

use std::process::Command;

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .arg("--help")
        .output()
        .expect("run tsunagi");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "check-config", "status", "queue", "replay"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    // `demo` exists only in builds with the `demo` feature (the default).
    let lists_demo = text.lines().any(|l| l.trim_start().starts_with("demo "));
    assert_eq!(lists_demo, cfg!(feature = "demo"), "{text}");
}

#[test]
fn status_without_a_database_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .args(["status", "--data"])
        .arg(dir.path())
        .output()
        .expect("run tsunagi");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no database at"), "{err}");
    assert!(
        !dir.path().join("tsunagi.db").exists(),
        "status must not create a database"
    );
}

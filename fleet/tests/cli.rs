//! The fleet binary's command line answers on its own, and refuses what its start must refuse.
//! Being an integration test of this package, it also makes `cargo test --workspace` build the
//! `tsunagi-fleet` binary that `tests/e2e` runs, with the features that run unifies: without it,
//! the end-to-end tests built it on demand, recompiling tokio, axum and rustls a second time.

use std::process::Command;

fn fleet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tsunagi-fleet"))
}

/// Runs a start that must fail, and returns what it printed on stderr.
fn refused(start: &mut Command) -> String {
    let out = start.output().expect("run tsunagi-fleet");
    assert!(!out.status.success(), "it started: {start:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_names_the_listen_address_tls_and_both_tokens() {
    let out = fleet().arg("--help").output().expect("run tsunagi-fleet");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--tls-cert",
        "--tls-key",
        "--db",
        "--agent-token-file",
        "--page-token-file",
    ] {
        assert!(text.contains(option), "--help lacks {option}: {text}");
    }
}

#[test]
fn a_non_loopback_address_without_tls_is_refused_before_a_database_is_made() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("fleet.db");
    let err = refused(fleet().args(["--listen", "0.0.0.0:0", "--db"]).arg(&db));
    assert!(err.contains("is not a loopback address"), "{err}");
    assert!(err.contains("loopback ではありません"), "{err}");
    assert!(!db.exists(), "a refused start must not create the database");
}

#[test]
fn a_short_token_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = dir.path().join("agents.token");
    std::fs::write(&token, "short\n").expect("write token");
    let err = refused(
        fleet()
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("fleet.db"))
            .arg("--agent-token-file")
            .arg(&token),
    );
    assert!(err.contains("shorter than 16 characters"), "{err}");
    assert!(err.contains("agents.token"), "{err}");
}

//! Retention: what is pruned, what never is, and that the file gives the space back.

use rusqlite::{params, Connection};

use super::read_apart::{read_due, Kind};
use super::*;
use crate::store::{inbox, open, outbox};

const DAY: i64 = 86_400_000;

fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = open(dir.path()).unwrap();
    (dir, conn)
}

/// A processed input with one bundle (about 8 KB, like a real JP-CLINS bundle) of `patient` in
/// `state`, last changed `age_days` ago.
fn item(conn: &Connection, n: usize, patient: &str, state: &str, age_days: i64) -> (i64, i64) {
    let raw = format!("raw input {n}").into_bytes();
    let origin = format!("in-{n}.json");
    let inbox::Stored::New(input) = inbox::insert(
        conn,
        &inbox::NewInput {
            source: "s",
            origin: &origin,
            format: "fhir-json",
            raw: &raw,
            file_stamp: None,
        },
    )
    .unwrap() else {
        panic!("stored once")
    };
    inbox::mark_processed(conn, input).unwrap();
    let body = format!("{{\"bundle\":{n},\"padding\":\"{}\"}}", "x".repeat(8000)).into_bytes();
    let id = outbox::insert_pending(
        conn,
        &outbox::NewBundle {
            inbox_id: input,
            identifier: &format!("1318814790^2026^C{n}"),
            resource_type: "Condition",
            patient_ref: patient,
            body: &body,
            facts: Default::default(),
        },
    )
    .unwrap();
    let at = now_ms() - age_days * DAY;
    let delivered = (state == "delivered").then_some(at);
    conn.execute(
        "UPDATE outbox SET state = ?2, updated_at = ?3, delivered_at = ?4 WHERE id = ?1",
        params![id, state, at, delivered],
    )
    .unwrap();
    conn.execute(
        "UPDATE inbox SET received_at = ?2 WHERE id = ?1",
        params![input, at],
    )
    .unwrap();
    (input, id)
}

fn body_of(conn: &Connection, id: i64) -> Option<Vec<u8>> {
    conn.query_row("SELECT body FROM outbox WHERE id = ?1", [id], |r| r.get(0))
        .unwrap()
}

fn all(conn: &Connection, kind: Pruned, cutoff: i64) -> usize {
    let mut total = 0;
    loop {
        let n = prune(conn, kind, cutoff, 3).unwrap();
        total += n;
        if n < 3 {
            return total;
        }
    }
}

#[test]
fn old_delivered_bodies_are_nulled_and_their_rows_kept() {
    let (_dir, conn) = store();
    let (_, old) = item(&conn, 1, "Patient/a", "delivered", 40);
    let (_, recent) = item(&conn, 2, "Patient/a", "delivered", 5);
    let (_, superseded) = item(&conn, 3, "Patient/a", "superseded", 40);
    let key: String = conn
        .query_row(
            "SELECT idempotency_key FROM outbox WHERE id = ?1",
            [old],
            |r| r.get(0),
        )
        .unwrap();
    let cutoff = now_ms() - 30 * DAY;
    assert_eq!(all(&conn, Pruned::BundleBody, cutoff), 2);
    assert_eq!(body_of(&conn, old), None);
    assert_eq!(body_of(&conn, superseded), None);
    assert!(body_of(&conn, recent).is_some(), "within retention");
    let (state, kept_key, identifier, delivered): (String, String, String, Option<i64>) = conn
        .query_row(
            "SELECT state, idempotency_key, bundle_identifier, delivered_at FROM outbox WHERE id = ?1",
            [old],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (state.as_str(), kept_key, identifier.as_str()),
        ("delivered", key, "1318814790^2026^C1")
    );
    assert!(
        delivered.is_some(),
        "the audit trail keeps the delivery time"
    );
    assert_eq!(all(&conn, Pruned::BundleBody, cutoff), 0, "nothing twice");
}

#[test]
fn unsent_and_unfinished_items_are_never_pruned() {
    let (_dir, conn) = store();
    let mut kept = Vec::new();
    for (n, state) in [
        "pending",
        "in_flight",
        "awaiting",
        "held",
        "rejected",
        "dead",
    ]
    .into_iter()
    .enumerate()
    {
        kept.push(item(&conn, n, "Patient/a", state, 400));
    }
    let cutoff = now_ms() + DAY;
    assert_eq!(all(&conn, Pruned::BundleBody, cutoff), 0);
    assert_eq!(
        all(&conn, Pruned::RawInput, cutoff),
        1,
        "only the dead item's input"
    );
    for (input, id) in kept {
        assert!(body_of(&conn, id).is_some(), "O-{id}");
        let state: String = conn
            .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        let raw: Option<Vec<u8>> = conn
            .query_row("SELECT raw FROM inbox WHERE id = ?1", [input], |r| r.get(0))
            .unwrap();
        assert_eq!(raw.is_some(), state != "dead", "{state}");
    }
}

#[test]
fn patients_referenced_by_unsent_work_are_kept() {
    let (_dir, conn) = store();
    item(&conn, 1, "Patient/waiting", "held", 400);
    item(&conn, 2, "Patient/done", "delivered", 400);
    let old = now_ms() - 400 * DAY;
    for (reference, at) in [
        ("Patient/waiting", old),
        ("Patient/done", old),
        ("Patient/recent", now_ms()),
    ] {
        remembered(&conn, reference, at);
    }
    assert_eq!(all(&conn, Pruned::Patient, now_ms() - 365 * DAY), 1);
    assert_eq!(references(&conn), ["Patient/recent", "Patient/waiting"]);
}

#[test]
fn old_attempts_go_but_each_items_last_stays() {
    let (_dir, conn) = store();
    let (_, a) = item(&conn, 1, "Patient/a", "delivered", 500);
    let (_, b) = item(&conn, 2, "Patient/a", "pending", 500);
    let old = now_ms() - 500 * DAY;
    for id in [a, a, a, b] {
        conn.execute(
            "INSERT INTO attempt (outbox_id, at, outcome) VALUES (?1, ?2, 'transient')",
            params![id, old],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO attempt (outbox_id, at, outcome) VALUES (?1, ?2, 'transient')",
        params![b, now_ms()],
    )
    .unwrap();
    assert_eq!(all(&conn, Pruned::Attempt, now_ms() - 400 * DAY), 3);
    let per_item: Vec<(i64, i64)> = conn
        .prepare("SELECT outbox_id, COUNT(*) FROM attempt GROUP BY outbox_id ORDER BY outbox_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(per_item, [(a, 1), (b, 1)]);
}

#[test]
fn a_withdrawal_still_finds_bundles_whose_bodies_were_pruned() {
    let (_dir, conn) = store();
    let (input, _) = item(&conn, 1, "Patient/a", "delivered", 40);
    assert_eq!(all(&conn, Pruned::BundleBody, now_ms()), 1);
    let sent = outbox::sent_bundles(&conn, input).unwrap();
    assert_eq!(sent.len(), 1, "the deletion must still reach the platform");
}

#[test]
fn new_databases_vacuum_incrementally_and_the_file_shrinks() {
    let (dir, conn) = store();
    let mode: i64 = conn
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "INCREMENTAL");
    conn.execute_batch("BEGIN").unwrap();
    for n in 0..1000 {
        item(&conn, n, "Patient/a", "delivered", 40);
    }
    conn.execute_batch("COMMIT").unwrap();
    let size = |conn: &Connection| {
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        std::fs::metadata(crate::store::db_path(dir.path()))
            .unwrap()
            .len()
    };
    let before = size(&conn);
    conn.execute_batch("BEGIN").unwrap();
    assert_eq!(all(&conn, Pruned::BundleBody, now_ms()), 1000);
    assert_eq!(all(&conn, Pruned::RawInput, now_ms()), 1000);
    conn.execute_batch("COMMIT").unwrap();
    assert_eq!(
        size(&conn),
        before,
        "pruning alone frees pages, it does not shrink"
    );
    let free = |conn: &Connection| -> i64 {
        conn.pragma_query_value(None, "freelist_count", |r| r.get(0))
            .unwrap()
    };
    assert!(free(&conn) > 1000, "the bodies' overflow pages are free");
    reclaim(&conn, 1_000_000).unwrap();
    assert_eq!(free(&conn), 0);
    let after = size(&conn);
    assert!(after < before / 2, "{before} → {after}");
}

#[tokio::test]
async fn a_round_through_the_writer_prunes_in_batches_until_done() {
    let (dir, conn) = store();
    for n in 0..20 {
        item(&conn, n, "Patient/a", "delivered", 40);
    }
    let (writer, _h) = Writer::spawn(conn).unwrap();
    let cfg = RetentionConfig {
        batch_rows: 7,
        ..RetentionConfig::default()
    };
    let (round, done) = run_round(
        &writer,
        dir.path(),
        Cutoffs::at(now_ms(), 30, &cfg),
        &cfg,
        || false,
    )
    .await;
    done.unwrap();
    assert_eq!(round[0], (Pruned::RawInput, 20));
    assert_eq!(round[1], (Pruned::BundleBody, 20));
    let reader = open(dir.path()).unwrap();
    let left: i64 = reader
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE body IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_patient_seen_again_counts_as_seen_even_if_unchanged() {
    let (_dir, conn) = store();
    use crate::store::patients::{remember, Remembered};
    assert_eq!(
        remember(&conn, "Patient/a", "{}", 1).unwrap(),
        Remembered::Changed
    );
    conn.execute("UPDATE patient SET updated_at = 0", [])
        .unwrap();
    assert_eq!(
        remember(&conn, "Patient/a", "{}", 2).unwrap(),
        Remembered::Unchanged
    );
    assert_eq!(all(&conn, Pruned::Patient, now_ms() - 365 * DAY), 0);
}

#[test]
fn a_batch_reads_only_what_may_still_be_pruned() {
    let (_d, conn) = store();
    for (sql, index) in [(RAW_DUE, "inbox_unpruned"), (BODY_DUE, "outbox_unpruned")] {
        let plan = crate::store::figures::tests::plan(&conn, sql);
        assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}");
        assert!(
            !plan.contains("TEMP B-TREE"),
            "in the index's order: {plan}"
        );
    }
}

fn remembered(conn: &Connection, reference: &str, at: i64) {
    conn.execute(
        "INSERT INTO patient (reference, resource, inbox_id, updated_at) VALUES (?1, '{}', 1, ?2)",
        params![reference, at],
    )
    .unwrap();
}

fn references(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT reference FROM patient ORDER BY reference")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_patient_seen_or_referenced_after_the_read_is_kept() {
    let (_dir, conn) = store();
    let (old, cutoff) = (now_ms() - 400 * DAY, now_ms() - 365 * DAY);
    for p in [
        "Patient/seen",
        "Patient/held",
        "Patient/sent",
        "Patient/gone",
    ] {
        remembered(&conn, p, old);
    }
    let (due, mut check) = read_due::<Patients>(&conn, cutoff, 10).unwrap();
    assert_eq!(due.len(), 4);
    // After the read: one is seen again, one gets a held item, one an item already delivered.
    conn.execute(
        "UPDATE patient SET updated_at = ?1 WHERE reference = 'Patient/seen'",
        [now_ms()],
    )
    .unwrap();
    item(&conn, 1, "Patient/held", "held", 0);
    item(&conn, 2, "Patient/sent", "delivered", 0);
    let (first, rest) = due.split_at(2);
    let n =
        check.delete(&conn, first, cutoff).unwrap() + check.delete(&conn, rest, cutoff).unwrap();
    assert_eq!(n, 2);
    assert_eq!(references(&conn), ["Patient/held", "Patient/seen"]);
}

#[tokio::test]
async fn a_round_reads_attempts_and_patients_due_apart_and_deletes_them_in_batches() {
    let (dir, conn) = store();
    let old = now_ms() - 400 * DAY;
    let (_, sent) = item(&conn, 0, "Patient/00", "delivered", 500);
    for _ in 0..65 {
        conn.execute(
            "INSERT INTO attempt (outbox_id, at, outcome) VALUES (?1, ?2, 'transient')",
            params![sent, old - DAY],
        )
        .unwrap();
    }
    for n in 0..70 {
        remembered(&conn, &format!("Patient/{n:02}"), old);
    }
    item(&conn, 1, "Patient/07", "held", 400);
    item(&conn, 2, "Patient/08", "rejected", 400);
    item(&conn, 3, "Patient/09", "pending", 400);
    item(&conn, 4, "Patient/10", "dead", 400);
    remembered(&conn, "Patient/recent", now_ms());
    let (writer, _h) = Writer::spawn(conn).unwrap();
    let cfg = RetentionConfig {
        batch_rows: 3,
        ..RetentionConfig::default()
    };
    // 3 rows per batch, 60 per read: the 64 attempts and 67 Patients due take two reads each.
    let cutoffs = Cutoffs::at(now_ms(), 30, &cfg);
    let (round, done) = run_round(&writer, dir.path(), cutoffs, &cfg, || false).await;
    done.unwrap();
    assert_eq!(round[2], (Pruned::Attempt, 64));
    assert_eq!(round[3], (Pruned::Patient, 67));
    let left = references(&open(dir.path()).unwrap());
    assert_eq!(
        left,
        ["Patient/07", "Patient/08", "Patient/09", "Patient/recent"]
    );
}

#[test]
fn held_items_keep_their_patients_through_the_held_index() {
    let (_d, conn) = store();
    let plan = crate::store::figures::tests::plan(&conn, read_apart::PATIENTS_DUE);
    assert!(plan.contains("USING COVERING INDEX outbox_held"), "{plan}");
}

//! Loading, versioning and lookups on the synthetic masters in `config-examples/masters`, and
//! refusals of corrupt and truncated files.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::parse::Problem;
use super::*;
use crate::store::terminology::{self as store, masters::VersionInfo};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/masters")
}

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = store::open(dir.path()).unwrap();
    (dir, conn)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn active(conn: &Connection, kind: MasterKind) -> Option<VersionInfo> {
    status(conn)
        .unwrap()
        .into_iter()
        .find(|s| s.kind == kind)
        .and_then(|s| s.active)
}

#[test]
fn every_synthetic_master_loads_and_resolves() {
    let (_d, mut conn) = db();
    let cases: &[(MasterKind, &str, usize, &str)] = &[
        (MasterKind::MedisDisease, "nmain900.txt", 16, "900"),
        (MasterKind::MedisModifier, "medis-modifiers.csv", 8, ""),
        (
            MasterKind::MedisModifierExchange,
            "medis-modifier-exchange.csv",
            3,
            "",
        ),
        (MasterKind::ReceiptDisease, "receipt-disease.csv", 4, ""),
        (MasterKind::ReceiptModifier, "receipt-modifier.csv", 3, ""),
        (MasterKind::Jlac10, "jlac10.csv", 10, ""),
        (MasterKind::ClinsLab, "clins-lab", 7, "synthetic-1"),
        (MasterKind::Yj, "yj.csv", 6, ""),
        (
            MasterKind::Jfagy,
            "JFAGY_SYNTH_20250401_R01.csv",
            7,
            "20250401_R01",
        ),
        (MasterKind::Hot, "hot.csv", 3, ""),
    ];
    for &(kind, file, n, label) in cases {
        let r = load(&mut conn, kind, &examples().join(file), None)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(r.entries, n, "{kind}");
        if !label.is_empty() {
            assert_eq!(r.version, label, "{kind}");
        }
    }
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();

    let gastritis = set.lookup(MasterKind::MedisDisease, "90000001").unwrap();
    assert_eq!(&*gastritis.display, "胃炎");
    assert_eq!(gastritis.kana.as_deref(), Some("イエン"));
    assert_eq!(gastritis.extra(ExtraKey::Icd10), Some("K297"));
    assert_eq!(gastritis.extra(ExtraKey::ExchangeCode), Some("S001"));
    assert_eq!(gastritis.extra(ExtraKey::ReceiptCode), Some("9990001"));
    // A quoted field in the CP932 file.
    let knee = set.lookup(MasterKind::MedisDisease, "90000004").unwrap();
    assert_eq!(&*knee.display, "変形性膝関節症");
    assert_eq!(set.version(MasterKind::MedisDisease), Some("900"));
    assert!(set
        .entries(MasterKind::MedisDisease)
        .iter()
        .any(|e| &*e.display == "2型糖尿病"));

    let left = set.lookup(MasterKind::MedisModifier, "27000358").unwrap();
    assert_eq!(
        (&*left.display, left.extra(ExtraKey::Position)),
        ("左", Some("prefix"))
    );

    let k = set
        .lookup(MasterKind::ClinsLab, "3H015000002326101")
        .unwrap();
    assert_eq!(&*k.display, "K");
    assert_eq!(k.extra(ExtraKey::Group), Some("K"));
    assert_eq!(
        k.extra(ExtraKey::System),
        Some("http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS")
    );
    let hbs = set
        .lookup(MasterKind::ClinsLab, "5F016141002399901")
        .unwrap();
    assert!(hbs
        .extra(ExtraKey::System)
        .unwrap()
        .ends_with("InfectionLabo_CS"));
    assert_eq!(hbs.extra(ExtraKey::Group), Some("HBSAG-RESULT"));

    let wbc = set.lookup(MasterKind::Jlac10, "2A990000001930952").unwrap();
    assert_eq!(wbc.extra(ExtraKey::Unit), Some("10*3/uL"));
    let yj = set.lookup(MasterKind::Yj, "1141007F3023").unwrap();
    assert_eq!(&*yj.display, "カロナール錠５００");
    assert_eq!(yj.extra(ExtraKey::Ingredient), Some("アセトアミノフェン"));
    assert!(set.lookup(MasterKind::Jfagy, "D9F000000000").is_some());
    assert!(
        set.lookup(MasterKind::Jfagy, "00F").is_none(),
        "category rows are skipped"
    );
    assert!(
        set.lookup(MasterKind::Jfagy, "J9FZ99990001").is_none(),
        "ended rows are skipped"
    );
    let hot = set.lookup(MasterKind::Hot, "1238129020101").unwrap();
    assert_eq!(hot.extra(ExtraKey::Yj), Some("1141007F3023"));
    assert_eq!(
        set.lookup(MasterKind::ReceiptDisease, "0000999")
            .map(|e| &*e.code),
        Some("0000999")
    );
    assert!(set.lookup(MasterKind::Yj, "0000000000000").is_none());
    assert!(MasterSet::empty()
        .lookup(MasterKind::Yj, "1141007F3023")
        .is_none());
}

#[test]
fn headerless_medis_modifier_layout_loads() {
    let dir = tempfile::tempdir().unwrap();
    let text = "0,27000358,左,ヒダリ,0A01,1,00000001,,9901,\r\n0,29000005,の疑い,ノウタガイ,SM05,2,00000002,,8901,\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let p = write(dir.path(), "mdfy900.txt", &bytes);
    let (_d, mut conn) = db();
    let r = load(&mut conn, MasterKind::MedisModifier, &p, None).unwrap();
    assert_eq!(
        (r.entries, r.version.as_str(), r.encoding),
        (2, "900", "Shift_JIS")
    );
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    let e = set.lookup(MasterKind::MedisModifier, "29000005").unwrap();
    assert_eq!(e.extra(ExtraKey::ExchangeCode), Some("SM05"));
    assert_eq!(e.extra(ExtraKey::ReceiptCode), Some("8901"));
}

/// A second version replaces the first; the first is kept as `previous`; a third prunes it.
#[test]
fn versions_replace_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, mut conn) = db();
    let v1 = write(
        dir.path(),
        "a.csv",
        "receipt_code,name\n0000001,一\n".as_bytes(),
    );
    let v2 = write(
        dir.path(),
        "b.csv",
        "receipt_code,name\n0000002,二\n".as_bytes(),
    );
    let v3 = write(
        dir.path(),
        "c.csv",
        "receipt_code,name\n0000003,三\n".as_bytes(),
    );
    let kind = MasterKind::ReceiptDisease;
    load(&mut conn, kind, &v1, Some("v1")).unwrap();
    // Same content again: nothing changes.
    assert!(load(&mut conn, kind, &v1, None).unwrap().unchanged);
    let r = load(&mut conn, kind, &v2, Some("v2")).unwrap();
    assert_eq!(r.replaced.as_deref(), Some("v1"));
    let s = status(&conn).unwrap();
    assert_eq!(s[0].active.as_ref().unwrap().label, "v2");
    assert_eq!(s[0].previous.len(), 1);
    load(&mut conn, kind, &v3, Some("v3")).unwrap();
    let s = status(&conn).unwrap();
    assert_eq!(
        s[0].previous
            .iter()
            .map(|p| p.label.as_str())
            .collect::<Vec<_>>(),
        ["v2"]
    );
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM master_entry WHERE version_id NOT IN (SELECT id FROM master_version)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    assert!(set.lookup(kind, "0000003").is_some());
    assert!(set.lookup(kind, "0000002").is_none());
}

/// Refusals name the file and the line, and leave the previous version active and complete.
#[test]
fn bad_files_are_refused_and_the_previous_version_stays() {
    let (_d, mut conn) = db();
    let good = examples().join("nmain900.txt");
    load(&mut conn, MasterKind::MedisDisease, &good, None).unwrap();
    let before = active(&conn, MasterKind::MedisDisease).unwrap();
    let mut good_bytes = std::fs::read(&good).unwrap();

    let dir = tempfile::tempdir().unwrap();
    // Truncated: cut in the middle of the last record, no final newline.
    let cut = good_bytes.len() - 40;
    let truncated = write(dir.path(), "nmain901.txt", &good_bytes[..cut]);
    let e = load(&mut conn, MasterKind::MedisDisease, &truncated, None).unwrap_err();
    assert!(matches!(e, MasterError::Truncated { line: 16, .. }), "{e}");
    assert!(e.to_string().contains("nmain901.txt line 16"), "{e}");

    // Corrupt: a byte that is neither UTF-8 nor Shift_JIS on line 3.
    let third = good_bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(1)
        .unwrap()
        .0;
    good_bytes.insert(third + 5, 0xFF);
    let corrupt = write(dir.path(), "nmain902.txt", &good_bytes);
    let e = load(&mut conn, MasterKind::MedisDisease, &corrupt, None).unwrap_err();
    assert!(matches!(e, MasterError::Undecodable { line: 3, .. }), "{e}");

    // Malformed: a bad 病名管理番号 on line 2.
    let malformed = write(
        dir.path(),
        "nmain903.txt",
        "0,20000001,胃炎,イエン,1,S001,K297,,,,9990001\n0,2000000X,胃潰瘍,イカイヨウ,1,S002,K259,,,,9990002\n".as_bytes(),
    );
    let e = load(&mut conn, MasterKind::MedisDisease, &malformed, None).unwrap_err();
    assert!(matches!(e, MasterError::Malformed { line: 2, .. }), "{e}");
    assert!(e.to_string().contains("病名管理番号"), "{e}");

    // Too few columns in the middle.
    let short = write(dir.path(), "nmain904.txt", "0,20000001,胃炎\n".as_bytes());
    let e = load(&mut conn, MasterKind::MedisDisease, &short, None).unwrap_err();
    assert!(matches!(e, MasterError::Malformed { line: 1, .. }), "{e}");

    // Duplicates and empty files.
    let dup = write(
        dir.path(),
        "dup.csv",
        "receipt_code,name\n0000001,一\n0000002,二\n0000001,三\n".as_bytes(),
    );
    let e = load(&mut conn, MasterKind::ReceiptDisease, &dup, None).unwrap_err();
    assert!(
        matches!(
            e,
            MasterError::Duplicate {
                line: 4,
                first: 2,
                ..
            }
        ),
        "{e}"
    );
    let empty = write(dir.path(), "empty.csv", b"receipt_code,name\n");
    assert!(matches!(
        load(&mut conn, MasterKind::ReceiptDisease, &empty, None),
        Err(MasterError::Empty { .. })
    ));
    let header = write(dir.path(), "hdr.csv", b"code,label\n0000001,x\n");
    assert!(matches!(
        load(&mut conn, MasterKind::ReceiptDisease, &header, None),
        Err(MasterError::Malformed {
            line: 1,
            problem: Problem::Header { .. },
            ..
        })
    ));

    assert_eq!(active(&conn, MasterKind::MedisDisease), Some(before));
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    assert_eq!(set.entries(MasterKind::MedisDisease).len(), 16);
    assert_eq!(
        &*set
            .lookup(MasterKind::MedisDisease, "90000002")
            .unwrap()
            .display,
        "高血圧症"
    );
    assert!(set.lookup(MasterKind::MedisDisease, "20000001").is_none());
}

/// A failure inside the transaction (here a trigger aborting the 3rd insert) leaves no partial
/// entries and no new version.
#[test]
fn a_failing_store_keeps_nothing() {
    let (_d, mut conn) = db();
    let kind = MasterKind::Jlac10;
    load(
        &mut conn,
        kind,
        &examples().join("jlac10.csv"),
        Some("first"),
    )
    .unwrap();
    let before_rows: i64 = conn
        .query_row("SELECT count(*) FROM master_entry", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail_third BEFORE INSERT ON master_entry
         WHEN NEW.code = '3H015000002326101' AND NEW.version_id > 1
         BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .unwrap();
    let e = load(
        &mut conn,
        kind,
        &examples().join("jlac10.csv"),
        Some("second"),
    )
    .unwrap_err();
    assert!(matches!(e, MasterError::Sqlite(_)), "{e}");
    let after_rows: i64 = conn
        .query_row("SELECT count(*) FROM master_entry", [], |r| r.get(0))
        .unwrap();
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM master_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!((after_rows, versions), (before_rows, 1));
    assert_eq!(active(&conn, kind).unwrap().label, "first");
}

#[test]
fn the_database_file_is_owner_only() {
    let (d, _conn) = db();
    assert!(crate::owner_only::is_owner_only(&store::db_path(d.path())).unwrap());
}

#[test]
fn kinds_round_trip_their_names() {
    for k in MasterKind::ALL {
        assert_eq!(k.as_str().parse::<MasterKind>(), Ok(k));
    }
    assert!("nmain".parse::<MasterKind>().is_err());
}

/// Prints load time and approximate heap per kind for the synthetic set (figures for the
/// report; `shared_tests` has the real masters).
#[test]
fn memory_report_helper_prints_per_kind() {
    let (_d, mut conn) = db();
    for (kind, file) in [
        (MasterKind::MedisDisease, "nmain900.txt"),
        (MasterKind::ClinsLab, "clins-lab"),
    ] {
        load(&mut conn, kind, &examples().join(file), None).unwrap();
    }
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    for line in memory_report(&set) {
        println!("{line}");
    }
    assert!(set.heap_bytes(MasterKind::MedisDisease) > 16 * 8);
    assert_eq!(set.heap_bytes(MasterKind::Yj), 0);
}

/// One line per loaded kind: entries and approximate heap.
pub(super) fn memory_report(set: &MasterSet) -> Vec<String> {
    MasterKind::ALL
        .iter()
        .filter(|k| !set.entries(**k).is_empty())
        .map(|k| {
            format!(
                "{:<24} {:>7} entries  ~{:>8.1} KiB heap",
                k.as_str(),
                set.entries(*k).len(),
                set.heap_bytes(*k) as f64 / 1024.0
            )
        })
        .collect()
}

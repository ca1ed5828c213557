//! The real public masters beside the checkout (`shared/masters`, and the JP-CLINS package in
//! `shared/fhir`): each loads completely, with the counts the files have. Skipped (with a
//! message) when `../shared` is absent; `TSUNAGI_SHARED_DIR` points elsewhere.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::parse::parse_path;
use super::*;

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    dir.join("masters").is_dir().then_some(dir)
}

/// The real files, with the entry counts they hold (J-FAGY: 1,738 rows less 2 category rows
/// and 2 ended rows).
fn real_masters(shared: &Path) -> Vec<(MasterKind, PathBuf, usize)> {
    let m = shared.join("masters");
    vec![
        (
            MasterKind::ReceiptDisease,
            m.join("disease/receipt-disease-names.csv"),
            27437,
        ),
        (
            MasterKind::ReceiptModifier,
            m.join("disease/receipt-modifier-names.csv"),
            2349,
        ),
        (
            MasterKind::MedisModifierExchange,
            m.join("disease/medis-modifier-exchange-codes.csv"),
            2434,
        ),
        (
            MasterKind::Yj,
            m.join("drugs/mhlw-drug-price-list-20250716.csv"),
            12434,
        ),
        (
            MasterKind::Jfagy,
            m.join("jfagy/JFAGY_J9FN_20250401_R01.utf8.csv"),
            1734,
        ),
        (
            MasterKind::ClinsLab,
            shared.join("fhir/jp-eCSCLINS.r4-1.10.0"),
            593 + 378 + 6401 + 1251,
        ),
    ]
}

#[test]
fn real_masters_load_completely() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
    for (kind, path, count) in real_masters(&shared) {
        let t = Instant::now();
        let r = load(&mut conn, kind, &path, None).unwrap_or_else(|e| panic!("{kind}: {e}"));
        println!(
            "{kind:<24} {:>6} entries ({} skipped)  version {:<14} {:<9} {:>6.1} ms",
            r.entries,
            r.skipped,
            r.version,
            r.encoding,
            t.elapsed().as_secs_f64() * 1000.0
        );
        assert_eq!(r.entries, count, "{kind}");
    }
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    assert_eq!(
        &*set
            .lookup(MasterKind::ReceiptDisease, "0000999")
            .unwrap()
            .display,
        "＊＊　未コード化傷病名　＊＊"
    );
    assert_eq!(set.version(MasterKind::Yj), Some("20250716"));
    let estazolam = set.lookup(MasterKind::Yj, "1124001F1022").unwrap();
    assert_eq!(estazolam.extra(ExtraKey::Ingredient), Some("エスタゾラム"));
    assert_eq!(set.version(MasterKind::Jfagy), Some("20250401_R01"));
    assert!(set.lookup(MasterKind::Jfagy, "D9M000000000").is_some());
    assert!(
        set.lookup(MasterKind::Jfagy, "J9FA32111600").is_none(),
        "ended 2025-03-31"
    );
    // The IG's own examples resolve against the package.
    let alb = set
        .lookup(MasterKind::ClinsLab, "3A015000001827101")
        .unwrap();
    assert_eq!(&*alb.display, "ALB");
    let k = set
        .lookup(MasterKind::ClinsLab, "3H015000002326101")
        .unwrap();
    assert_eq!(&*k.display, "K");
    let jlac11 = set
        .lookup(MasterKind::ClinsLab, "C1002000025000155")
        .unwrap();
    assert!(jlac11.extra(ExtraKey::System).unwrap().contains("/JLAC11/"));
    assert_eq!(set.version(MasterKind::ClinsLab), Some("1.6.0"));
}

#[test]
fn both_jfagy_encodings_give_identical_entries() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared absent");
        return;
    };
    let j = shared.join("masters/jfagy");
    let utf8 = parse_path(
        MasterKind::Jfagy,
        &j.join("JFAGY_J9FN_20250401_R01.utf8.csv"),
    )
    .unwrap();
    let sjis = parse_path(
        MasterKind::Jfagy,
        &j.join("JFAGY_J9FN_20250401_R01.sjis.csv"),
    )
    .unwrap();
    assert_eq!((utf8.encoding, sjis.encoding), ("UTF-8", "Shift_JIS"));
    assert_eq!(utf8.label, sjis.label);
    assert_eq!(utf8.entries.len(), sjis.entries.len());
    for (a, b) in utf8.entries.iter().zip(&sjis.entries) {
        assert_eq!(a, b);
    }
    println!(
        "jfagy: {} entries identical in UTF-8 and Shift_JIS",
        utf8.entries.len()
    );
}

/// `cargo test -p tsunagi --release -- --ignored masters_benchmark --nocapture`
#[test]
#[ignore]
fn masters_benchmark() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
    for (kind, path, _) in real_masters(&shared) {
        let t = Instant::now();
        let parsed = parse_path(kind, &path).unwrap();
        let parse_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        load(&mut conn, kind, &path, None).unwrap();
        println!(
            "{kind:<24} {:>6} entries  parse {parse_ms:>7.1} ms  parse+store {:>7.1} ms",
            parsed.entries.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let t = Instant::now();
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
    println!(
        "master_set (all kinds): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for line in super::tests::memory_report(&set) {
        println!("{line}");
    }
    let t = Instant::now();
    let mut hits = 0;
    for e in set.entries(MasterKind::ReceiptDisease) {
        hits += usize::from(set.lookup(MasterKind::ReceiptDisease, &e.code).is_some());
    }
    println!(
        "{hits} lookups: {:.0} ns each",
        t.elapsed().as_nanos() as f64 / hits.max(1) as f64
    );
}

//! The map + build + validate benchmark (issue 4): bundles per second on one core, and the
//! memory with every public master loaded. Release mode, by hand:
//!
//! `cargo test -p tsunagi --release -- --ignored map_build_validate_benchmark --nocapture`
//!
//! Inputs are the ssmixtwins-300 storage's ADT-00, PPR-01 and OML-11 files, decoded and parsed
//! before the clock starts (parsing has its own benchmark); the masters are J-FAGY, the CLINS
//! designated lab items (from the package), the MHLW drug list (YJ) and the レセ電 disease names.
//! Without `../shared` the synthetic storage and masters are used, repeated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tsunagi_adapters::{Adapter, Hl7v2Adapter, RawInput, Record};

use super::Mapper;
use crate::build::{BuildContext, BuildSettings, BundleBuilder, InputOrigin, Terminology};
use crate::mapping::{MappingTable, Policies};
use crate::masters::{MasterKind, MasterSet};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(list) = std::fs::read_dir(dir) else {
        return;
    };
    let mut list: Vec<PathBuf> = list.filter_map(|e| e.ok().map(|e| e.path())).collect();
    list.sort();
    for p in list {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore]
fn map_build_validate_benchmark() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../shared"));
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::masters::store::open(dir.path()).unwrap();
    let (storage, masters): (PathBuf, Vec<(MasterKind, PathBuf)>) =
        if shared.join("datasets/ssmixtwins-300").is_dir() {
            let pkg = shared.join("fhir/jp-eCSCLINS.r4-1.10.0");
            (
                shared.join("datasets/ssmixtwins-300"),
                vec![
                    (
                        MasterKind::Jfagy,
                        shared.join("masters/jfagy/JFAGY_J9FN_20250401_R01.utf8.csv"),
                    ),
                    (MasterKind::ClinsLab, pkg),
                    (
                        MasterKind::Yj,
                        shared.join("masters/drugs/mhlw-drug-price-list-20250716.csv"),
                    ),
                    (
                        MasterKind::ReceiptDisease,
                        shared.join("masters/disease/receipt-disease-names.csv"),
                    ),
                ],
            )
        } else {
            println!("../shared absent: synthetic storage and masters");
            let ex = manifest.join("../config-examples");
            (
                ex.join("samples/ssmix2"),
                vec![
                    (MasterKind::MedisDisease, ex.join("masters/nmain900.txt")),
                    (
                        MasterKind::Jfagy,
                        ex.join("masters/JFAGY_SYNTH_20250401_R01.csv"),
                    ),
                    (MasterKind::ClinsLab, ex.join("masters/clins-lab")),
                ],
            )
        };
    let rss_before = peak_rss_kib();
    for (kind, path) in &masters {
        crate::masters::load(&mut conn, *kind, path, None).unwrap();
    }
    let set = MasterSet::from_db(&conn).unwrap();
    let rss_masters = peak_rss_kib();
    let mapper = Mapper::new(set, MappingTable::new(Vec::new()), Policies::default());

    let mut paths = Vec::new();
    files(&storage, &mut paths);
    let used = ["ADT-00", "PPR-01", "OML-11"];
    let adapter = Hl7v2Adapter::new();
    let mut inputs: Vec<(String, Vec<Record>)> = Vec::new();
    for p in &paths {
        let name = p.to_string_lossy();
        if !used.iter().any(|t| name.contains(t)) {
            continue;
        }
        let bytes = std::fs::read(p).unwrap();
        let parsed = adapter.parse(&RawInput {
            bytes: &bytes,
            origin: "bench",
        });
        inputs.push((crate::store::sha256_hex(&bytes), parsed.records));
    }
    let rounds = if inputs.len() < 100 { 2000 } else { 3 };
    let builder = BundleBuilder::new(
        BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap(),
    );
    let validator = crate::validate::BundleValidator::new();
    let received_at = chrono::Utc::now().with_timezone(&tsunagi_clins::time::jst());
    let origin = InputOrigin {
        source: "bench".into(),
        ..InputOrigin::default()
    };
    let mut directory: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let (mut bundles, mut held, mut bytes_out) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for _ in 0..rounds {
        for (key, records) in &inputs {
            let ctx = BuildContext {
                input_key: key,
                received_at,
            };
            let answers = mapper.for_input();
            let result = builder.build_mapped(
                &ctx,
                &origin,
                records,
                &directory,
                Some(&answers as &dyn Terminology),
            );
            for (r, p) in result.patients {
                directory.insert(r, p);
            }
            for b in &result.bundles {
                let checked = crate::pipeline::check_bundle(&validator, false, b);
                if checked.verdict.is_some() {
                    held += 1;
                }
                bytes_out += b.body.len();
            }
            bundles += result.bundles.len();
            std::hint::black_box(answers.into_outcomes());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "map+build+validate: {} inputs x {rounds} rounds -> {bundles} bundles ({held} held for findings, {:.1} MiB JSON) in {secs:.2} s: {:.0} bundles/s, {:.0} inputs/s on one core",
        inputs.len(),
        bytes_out as f64 / 1_048_576.0,
        bundles as f64 / secs,
        (inputs.len() * rounds) as f64 / secs
    );
    println!(
        "peak RSS: {:.1} MiB before masters, {:.1} MiB with masters loaded, {:.1} MiB at the end",
        rss_before as f64 / 1024.0,
        rss_masters as f64 / 1024.0,
        peak_rss_kib() as f64 / 1024.0
    );
    assert!(bundles > 0);
}

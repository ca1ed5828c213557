//! The map + build + validate benchmark (issues 4 and 11): bundles per second on one core,
//! with the hand-written rules only and with the default (hand-written + the built-in profile
//! rules), validation also timed alone; the memory with every public master loaded and with
//! the profile rules parsed. Release mode, by hand:
//!
//! `cargo test -p tsunagi --release -- --ignored map_build_validate_benchmark --nocapture`
//!
//! Each input goes through `tsunagi_clins::process`, the processor's own map → build →
//! validate; "validate alone" checks the same bundles again, timed apart.
//!
//! Inputs are the ssmixtwins-300 storage's ADT-00, PPR-01 and OML-11 files, decoded and parsed
//! before the clock starts (parsing has its own benchmark); the masters are J-FAGY, the CLINS
//! designated lab items (from the package), the MHLW drug list (YJ) and the レセ電 disease names.
//! Without `../shared` the synthetic storage and masters are used, repeated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tsunagi_adapters::{Adapter, Hl7v2Adapter, RawInput, Record};

use crate::build::{BuildContext, BuildSettings, BundleBuilder, InputOrigin};
use crate::map::{Mapper, MappingTable, MasterKind, Policies};
use tsunagi_clins::processing::{self, process, Input, Settings};

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

/// A memory figure of `/proc/self/status` in KiB (`VmHWM:` peak, `VmRSS:` now); 0 elsewhere.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

#[test]
#[ignore]
fn map_build_validate_benchmark() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../shared"));
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
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
    let set = crate::store::terminology::masters::master_set(&conn).unwrap();
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
        inputs.push((crate::digest::sha256_hex(&bytes), parsed.records));
    }
    let rounds = if inputs.len() < 100 { 2000 } else { 3 };
    let builder = BundleBuilder::new(
        BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap(),
    );
    let hand_written = crate::validate::BundleValidator::hand_written();
    let rss_rules_before = status_kib("VmRSS:");
    let by_default = crate::validate::BundleValidator::new();
    let rss_rules = status_kib("VmRSS:");
    let mut bundles = 0;
    for (label, validator) in [
        ("hand-written rules only", &hand_written),
        ("default: hand-written + profile rules", &by_default),
    ] {
        let run = Run {
            inputs: &inputs,
            rounds,
            builder: &builder,
            mapper: &mapper,
        }
        .measure(validator);
        bundles = run.bundles;
        println!(
            "{label}: {} inputs x {rounds} rounds -> {} bundles ({} held for findings, {:.1} MiB JSON) in {:.2} s: {:.0} bundles/s map+build+validate, {:.0} inputs/s; validate alone {:.2} s: {:.0} bundles/s, on one core",
            inputs.len(),
            run.bundles,
            run.held,
            run.bytes_out as f64 / 1_048_576.0,
            run.secs,
            run.bundles as f64 / run.secs,
            (inputs.len() * rounds) as f64 / run.secs,
            run.validate_secs,
            run.bundles as f64 / run.validate_secs,
        );
    }
    println!(
        "peak RSS: {:.1} MiB before masters, {:.1} MiB with masters loaded, {:.1} MiB at the end; RSS {:.1} MiB before the built-in profile rules are parsed, {:.1} MiB after",
        rss_before as f64 / 1024.0,
        rss_masters as f64 / 1024.0,
        peak_rss_kib() as f64 / 1024.0,
        rss_rules_before as f64 / 1024.0,
        rss_rules as f64 / 1024.0
    );
    assert!(bundles > 0);
}

/// One measured pass over the parsed inputs.
struct Run<'a> {
    inputs: &'a [(String, Vec<Record>)],
    rounds: usize,
    builder: &'a BundleBuilder,
    mapper: &'a Mapper,
}

/// What one pass produced and how long it took.
struct Measured {
    bundles: usize,
    held: usize,
    bytes_out: usize,
    secs: f64,
    validate_secs: f64,
}

impl Run<'_> {
    fn measure(&self, validator: &crate::validate::BundleValidator) -> Measured {
        let received_at = chrono::Utc::now().with_timezone(&tsunagi_clins::time::jst());
        let origin = InputOrigin {
            source: "bench".into(),
            ..InputOrigin::default()
        };
        let mut directory: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        let (mut bundles, mut held, mut bytes_out) = (0usize, 0usize, 0usize);
        let mut validating = std::time::Duration::ZERO;
        let mut processing_time = std::time::Duration::ZERO;
        let settings = Settings {
            builder: self.builder,
            validator,
            strict: false,
        };
        for _ in 0..self.rounds {
            for (key, records) in self.inputs {
                let input = Input {
                    records,
                    origin: &origin,
                    context: BuildContext {
                        input_key: key,
                        received_at,
                    },
                };
                let started = Instant::now();
                let decided = process(&input, Some(self.mapper), &directory, &settings, |_| ());
                processing_time += started.elapsed();
                for (r, p) in decided.patients {
                    directory.insert(r, p);
                }
                for c in decided.bundles {
                    if c.verdict.is_some() {
                        held += 1;
                    }
                    bytes_out += c.bundle.body.len();
                    bundles += 1;
                    let t = Instant::now();
                    std::hint::black_box(processing::check(validator, false, c.bundle, |_| ()));
                    validating += t.elapsed();
                }
                std::hint::black_box(decided.items);
            }
        }
        Measured {
            bundles,
            held,
            bytes_out,
            secs: processing_time.as_secs_f64(),
            validate_secs: validating.as_secs_f64(),
        }
    }
}

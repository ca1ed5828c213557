//! The third-party data set `ssmixtwins-300` (beside the checkout, in `shared/datasets`):
//! every file through the whole adapter, counts compared with the independently taken
//! `ssmixtwins-300.expected.json`. Skipped (with a message) when the data set is absent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::{Adapter, Gender, Hl7v2Adapter, RawInput, Record, Severity};

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    dir.join("datasets/ssmixtwins-300").is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[derive(Default, Debug)]
struct Counts {
    by_type: BTreeMap<String, BTreeMap<&'static str, usize>>,
    patients: HashSet<String>,
    sex: HashMap<&'static str, usize>,
    conditions_mdcdx2: usize,
    conditions_placeholder: usize,
    conditions_icd10: usize,
    conditions_suspected: usize,
    lab_jlac10: usize,
    drug_systems: BTreeMap<String, usize>,
    injection_systems: BTreeMap<String, usize>,
    warnings: BTreeMap<String, usize>,
}

#[test]
fn ssmixtwins_300_reads_without_fatal_problems_and_counts_match() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared absent");
        return;
    };
    let root = shared.join("datasets/ssmixtwins-300");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.join("datasets/ssmixtwins-300.expected.json")).unwrap(),
    )
    .unwrap();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let adapter = Hl7v2Adapter::new();
    let mut c = Counts::default();
    let mut dose_missing = 0;
    for path in &paths {
        let data_type = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(path).unwrap();
        let parsed = adapter.parse(&RawInput {
            bytes: &bytes,
            origin: "dataset",
        });
        let fatal: Vec<_> = parsed
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Fatal)
            .collect();
        assert!(fatal.is_empty(), "{}: {fatal:?}", path.display());
        for p in &parsed.problems {
            let kind = p.field.split(' ').next().unwrap_or("").to_string();
            *c.warnings
                .entry(format!("{data_type} {kind}: {}", p.reason_en))
                .or_default() += 1;
        }
        let t = c.by_type.entry(data_type.clone()).or_default();
        for r in &parsed.records {
            let kind = match r {
                Record::Patient(p) => {
                    if data_type == "ADT-00" {
                        c.patients.insert(p.local_id.expose().clone());
                        let sex = match p.gender {
                            Gender::Male => "M",
                            Gender::Female => "F",
                            _ => "other",
                        };
                        *c.sex.entry(sex).or_default() += 1;
                        assert!(p.name_kanji.is_some() && p.name_kana.is_some());
                        assert!(p.birth_date.is_some() && p.address.is_some());
                    }
                    "patient"
                }
                Record::Condition(x) => {
                    c.conditions_mdcdx2 +=
                        usize::from(x.disease_key.as_deref().is_some_and(|k| k != "99999999"));
                    c.conditions_placeholder +=
                        usize::from(x.disease_key.as_deref() == Some("99999999"));
                    c.conditions_icd10 += usize::from(x.icd10.is_some());
                    c.conditions_suspected += usize::from(x.suspected);
                    assert!(!x.original_text.expose().is_empty());
                    "condition"
                }
                Record::LabResult(x) => {
                    c.lab_jlac10 += usize::from(x.jlac10.is_some());
                    assert!(x.specimen.is_some() && x.collected_at.is_some() && x.value.is_some());
                    "lab"
                }
                Record::Allergy(_) => "allergy",
                Record::Prescription(x) => {
                    let systems = if x.injection {
                        &mut c.injection_systems
                    } else {
                        &mut c.drug_systems
                    };
                    *systems.entry(x.drug_codes[0].system.clone()).or_default() += 1;
                    assert!(x.authored.is_some() && x.usage.is_some() != x.injection);
                    dose_missing += usize::from(x.dose.is_none());
                    if x.injection {
                        "injection"
                    } else {
                        "prescription"
                    }
                }
                Record::Fhir(_) => "fhir",
            };
            *t.entry(kind).or_default() += 1;
        }
    }
    println!("records by data type: {:#?}", c.by_type);
    println!("warnings: {:#?}", c.warnings);
    println!("prescriptions without a dose (RXE-3 null): {dose_missing}");
    let n = |path: &str| expected.pointer(path).and_then(|v| v.as_u64()).unwrap() as usize;
    let got = |t: &str, k: &str| {
        c.by_type
            .get(t)
            .and_then(|m| m.get(k))
            .copied()
            .unwrap_or(0)
    };

    assert_eq!(paths.len(), n("/files/total"));
    assert_eq!(c.patients.len(), n("/patients/distinct_pid3_values"));
    assert_eq!(c.sex.get("M").copied(), Some(n("/patients/pid8_sex/M")));
    assert_eq!(c.sex.get("F").copied(), Some(n("/patients/pid8_sex/F")));
    // Diagnoses: one Condition per PRB.
    assert_eq!(
        got("PPR-01", "condition"),
        n("/diagnoses_PPR_01/prb_segments")
    );
    assert_eq!(c.conditions_mdcdx2, n("/diagnoses_PPR_01/prb3_mdcdx2"));
    assert_eq!(
        c.conditions_placeholder,
        n("/diagnoses_PPR_01/prb3_code_99999999_placeholder")
    );
    assert_eq!(
        c.conditions_icd10,
        n("/diagnoses_PPR_01/prb10_icd10_present")
    );
    assert_eq!(
        c.conditions_suspected,
        n("/diagnoses_PPR_01/prb13_equals_1_provisional")
    );
    // Lab results: one per OBX of OML-11; all JC10.
    assert_eq!(got("OML-11", "lab"), n("/lab_results_OML_11/obx_segments"));
    assert_eq!(c.lab_jlac10, n("/lab_results_OML_11/obx3_jlac10_JC10"));
    // Prescriptions: one per RXE of OMP-01, by drug code system.
    assert_eq!(
        got("OMP-01", "prescription"),
        n("/prescriptions_OMP_01/rxe_segments")
    );
    for (system, count) in expected["prescriptions_OMP_01"]["rxe2_coding_system"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            c.drug_systems.get(system).copied(),
            count.as_u64().map(|v| v as usize),
            "{system}"
        );
    }
    // Injections: one per RXC of OMP-02, by drug code system.
    assert_eq!(
        got("OMP-02", "injection"),
        n("/injections_OMP_02/rxc_segments")
    );
    assert_eq!(got("OMP-02", "prescription"), 0);
    for (system, count) in expected["injections_OMP_02"]["rxc2_coding_system"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            c.injection_systems.get(system).copied(),
            count.as_u64().map(|v| v as usize),
            "{system}"
        );
    }
    // Allergies: AL1 of ADT-00 only, none from the copies in OMP messages.
    assert_eq!(got("ADT-00", "allergy"), n("/allergies/al1_in_adt00"));
    assert_eq!(got("OMP-01", "allergy") + got("OMP-02", "allergy"), 0);
    // Patients only from ADT, one per file.
    assert_eq!(got("ADT-00", "patient"), n("/files/by_data_type/ADT-00"));
    assert_eq!(got("OML-11", "patient") + got("PPR-01", "patient"), 0);
}

//! The map stage over small in-memory masters and tables.

use tsunagi_adapters::{Coded, Condition, LabResult};

use super::category as cs;
use super::*;
use super::{Category, MasterEntry, MasterKind, Outcome as Answer, Row, UnmappedPolicy, Via};
use super::{SourceRef, Terminology};

fn entry(code: &str, display: &str) -> MasterEntry {
    MasterEntry {
        code: code.into(),
        display: display.into(),
        kana: None,
        extra: Box::new([]),
    }
}

fn mapper(policies: Policies, rows: Vec<Row>) -> Mapper {
    let masters = MasterSet::from_entries(vec![
        (
            MasterKind::MedisDisease,
            "t".to_string(),
            vec![entry("20054174", "胃炎")],
        ),
        (
            MasterKind::Jlac10,
            "t".to_string(),
            vec![entry("3A010000002327101", "総蛋白")],
        ),
    ]);
    Mapper::new(masters, MappingTable::new(rows), policies)
}

fn source() -> SourceRef<'static> {
    SourceRef {
        source: "ssmix2",
        sending_application: Some("HIS"),
        sending_facility: None,
        code_system: "",
    }
}

fn condition(key: &str, text: &str) -> Condition {
    Condition {
        disease_key: Some(key.into()),
        original_text: text.to_string().into(),
        ..Condition::default()
    }
}

fn lab(local: &str) -> LabResult {
    LabResult {
        patient_id: "P1".to_string().into(),
        report_id: None,
        local_code: Coded {
            system: "99LAB".into(),
            code: local.into(),
            display: Some("総蛋白".into()),
        },
        jlac10: None,
        value: None,
        unit: Some("g/dL".into()),
        reference_range: None,
        flag: None,
        specimen: None,
        collected_at: None,
        status: None,
    }
}

#[test]
fn a_known_disease_key_is_mapped_directly_with_the_master_display() {
    let m = mapper(Policies::default(), vec![]);
    let q = m.for_input();
    let a = q.disease(&source(), &condition("20054174", "いえん"));
    assert_eq!(
        a.outcome,
        Answer::Mapped {
            via: Via::Direct,
            verified: true
        }
    );
    assert_eq!(a.codings[0].code, "20054174");
    assert_eq!(a.codings[0].display, "胃炎");
    let items = q.into_outcomes();
    assert_eq!(items.len(), 1);
    let recorded = (
        items[0].outcome.state().as_str(),
        items[0].outcome.via().map(Via::as_str),
    );
    assert_eq!(recorded, ("mapped", Some("direct")));
    assert_eq!(items[0].source_system, "HIS");
}

#[test]
fn an_uncoded_disease_is_looked_up_by_name_and_held_when_the_policy_says_so() {
    let hold = Policies {
        disease: UnmappedPolicy::Hold,
        ..Policies::default()
    };
    let m = mapper(hold, vec![]);
    let q = m.for_input();
    let a = q.disease(&source(), &condition("99999999", "見本病"));
    assert!(matches!(a.outcome, Answer::Held(_)), "{:?}", a.outcome);
    let items = q.into_outcomes();
    assert_eq!(items[0].local_system, NAME_SYSTEM);
    assert_eq!(items[0].outcome.state().as_str(), "unmapped");
    let m = mapper(Policies::default(), vec![]);
    let a = m
        .for_input()
        .disease(&source(), &condition("99999999", "見本病"));
    assert_eq!(a.outcome, Answer::Unmapped { reviewed: false });
}

#[test]
fn a_local_lab_code_maps_through_the_table_or_is_refused_when_the_table_is_wrong() {
    let row = |code: &str| Row {
        category: Category::Lab,
        source_system: "*".into(),
        local_system: "99LAB".into(),
        local_code: "TP".into(),
        local_name: "総蛋白".into(),
        standard_system: cs::JLAC10.into(),
        standard_code: code.into(),
        standard_display: String::new(),
        note: String::new(),
    };
    let m = mapper(Policies::default(), vec![row("3A010000002327101")]);
    let q = m.for_input();
    let a = q.lab(&source(), &lab("TP"));
    assert_eq!(
        a.outcome,
        Answer::Mapped {
            via: Via::Table,
            verified: true
        }
    );
    assert_eq!(a.standard.unwrap().display, "総蛋白");
    assert_eq!(q.into_outcomes()[0].outcome.via(), Some(Via::Table));
    // The table names a well-formed JLAC10 code the master does not have.
    let m = mapper(Policies::default(), vec![row("3A010000002327199")]);
    let q = m.for_input();
    assert!(matches!(
        q.lab(&source(), &lab("TP")).outcome,
        Answer::Invalid(_)
    ));
    assert_eq!(q.into_outcomes()[0].outcome.state().as_str(), "invalid");
    // Not in the table at all: unmapped, sent with the marker by default.
    let m = mapper(Policies::default(), vec![]);
    assert_eq!(
        m.for_input().lab(&source(), &lab("XX")).outcome,
        Answer::Unmapped { reviewed: false }
    );
}

#[test]
fn a_national_code_whose_master_is_not_loaded_passes_unverified() {
    let m = Mapper::new(
        MasterSet::empty(),
        MappingTable::new(vec![]),
        Policies::default(),
    );
    let q = m.for_input();
    let a = q.disease(&source(), &condition("20060944", "高血圧症"));
    assert_eq!(
        a.outcome,
        Answer::Mapped {
            via: Via::Direct,
            verified: false
        }
    );
    assert_eq!(a.codings[0].display, "高血圧症");
}

//! Canonical records for the builder's tests.

use tsunagi_adapters::{
    Allergy, AllergyCategory, Coded, Condition, Gender, InsuranceId, LabResult, LabValue, Patient,
    PersonName,
};

pub(crate) fn patient(id: &str) -> Patient {
    Patient {
        local_id: id.to_string().into(),
        insurance: Some(InsuranceId {
            insurer_number: "00012345".to_string().into(),
            symbol: "あいう".to_string().into(),
            number: "１８７".to_string().into(),
            branch: "05".to_string().into(),
        }),
        name_kanji: Some(PersonName {
            family: "試験".to_string().into(),
            given: "花子".to_string().into(),
        }),
        name_kana: Some(PersonName {
            family: "シケン".to_string().into(),
            given: "ハナコ".to_string().into(),
        }),
        gender: Gender::Female,
        birth_date: Some("1960-01-02".to_string().into()),
        address: Some("東京都千代田区".to_string().into()),
    }
}

pub(crate) fn condition(patient: &str, key: &str, text: &str) -> Condition {
    Condition {
        patient_id: patient.to_string().into(),
        record_id: Some(format!("R{key}")),
        disease_key: Some(key.to_string()),
        original_text: text.to_string().into(),
        onset: Some("2024-04-01".into()),
        ..Condition::default()
    }
}

pub(crate) fn allergy(patient: &str, text: &str) -> Allergy {
    Allergy {
        patient_id: patient.to_string().into(),
        category: AllergyCategory::Food,
        allergen: Some(Coded {
            system: "99ALG".into(),
            code: "J9FC11310000".into(),
            display: Some(text.into()),
        }),
        original_text: text.to_string().into(),
        ..Allergy::default()
    }
}

pub(crate) fn lab(patient: &str, report: &str, code: &str, specimen: &str) -> LabResult {
    LabResult {
        patient_id: patient.to_string().into(),
        report_id: Some(report.into()),
        local_code: Coded {
            system: "99XYZ".into(),
            code: code.into(),
            display: Some("アルブミン".into()),
        },
        jlac10: Some("3A015000002327101".into()),
        value: Some(LabValue::Numeric("3.9".into())),
        unit: Some("g/dL".into()),
        reference_range: Some("3.8-5.2".into()),
        flag: Some("N".into()),
        specimen: Some(Coded {
            system: "JC10".into(),
            code: specimen.into(),
            display: Some("血清".into()),
        }),
        collected_at: Some("2025-05-01T09:00:00+09:00".into()),
        status: Some("F".into()),
    }
}

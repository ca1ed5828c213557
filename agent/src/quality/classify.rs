//! Which of the IG's information types a bundle carries, and when its clinical event happened.
//!
//! [`classify_bundle`] is pure: the pipeline calls it when it queues a bundle and stores the answer
//! in `outbox.info_type` / `outbox.event_at` (schema v4); the report calls it on the stored body
//! for rows written before v4. It reads codes, categories and dates only, never patient values.
//!
//! Rules (JP-CLINS IG §1.1, §1.7, §1.8; document types from the Composition.type LOINC codes):
//! - a `Composition` entry makes a document: `57133-1` 診療情報提供書, `18842-5` 退院時サマリー,
//!   `53576-5` 健診結果報告書, anything else unclassified;
//! - `AllergyIntolerance`: 薬剤アレルギー等 when any allergy has category `medication`, else
//!   その他アレルギー等 (a 5情報 bundle normally carries one kind; a mixed one counts as drug);
//! - `Observation`: 感染症 when any coding uses an `…InfectionLabo_CS` code system, else 検査;
//! - `Condition`: 傷病名.
//!
//! The event time is the latest `onsetDateTime`, `recordedDate`, `effectiveDateTime` or
//! `Composition.date` in the bundle. A date without a time counts from 00:00 JST of that day
//! (a year or year-month from its first day); a time without an offset is read as JST.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde_json::Value;

/// The information types of the IG ("２文書５情報" plus the checkup report), plus `Unclassified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InfoType {
    /// 傷病名 (Condition).
    Condition,
    /// 感染症 (Observation with an infection code).
    Infection,
    /// 薬剤アレルギー等 (AllergyIntolerance, category medication).
    DrugAllergy,
    /// その他アレルギー等 (AllergyIntolerance, other categories).
    OtherAllergy,
    /// 検査 (Observation).
    Lab,
    /// 診療情報提供書 (Composition type 57133-1).
    Referral,
    /// 退院時サマリー (18842-5).
    DischargeSummary,
    /// 健診結果報告書 (53576-5).
    Checkup,
    /// Not determinable (e.g. an item held before it was built, an unsupported type).
    Unclassified,
}

/// How soon the IG wants an information type delivered (JP-CLINS §1.3 "Timing").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingRule {
    /// By the end of the visit day: same JST calendar day as the event.
    SameDay,
    /// By the next visit, approximated as within 7 × 24 h of the event.
    Within7Days,
    /// No timing rule (documents, unclassified).
    None,
}

impl InfoType {
    /// Every type, in report order.
    pub const ALL: [InfoType; 9] = [
        InfoType::Condition,
        InfoType::Infection,
        InfoType::DrugAllergy,
        InfoType::OtherAllergy,
        InfoType::Lab,
        InfoType::Referral,
        InfoType::DischargeSummary,
        InfoType::Checkup,
        InfoType::Unclassified,
    ];

    /// The stable key stored in `outbox.info_type` and used in JSON and CSV.
    pub fn key(self) -> &'static str {
        match self {
            InfoType::Condition => "condition",
            InfoType::Infection => "infection",
            InfoType::DrugAllergy => "drug_allergy",
            InfoType::OtherAllergy => "other_allergy",
            InfoType::Lab => "lab",
            InfoType::Referral => "referral",
            InfoType::DischargeSummary => "discharge_summary",
            InfoType::Checkup => "checkup",
            InfoType::Unclassified => "unclassified",
        }
    }

    /// The type of a stored key; unknown keys are `Unclassified`.
    pub fn from_key(key: &str) -> InfoType {
        InfoType::ALL
            .into_iter()
            .find(|t| t.key() == key)
            .unwrap_or(InfoType::Unclassified)
    }

    /// The IG's Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            InfoType::Condition => "傷病名",
            InfoType::Infection => "感染症",
            InfoType::DrugAllergy => "薬剤アレルギー等",
            InfoType::OtherAllergy => "その他アレルギー等",
            InfoType::Lab => "検査",
            InfoType::Referral => "診療情報提供書",
            InfoType::DischargeSummary => "退院時サマリー",
            InfoType::Checkup => "健診結果報告書",
            InfoType::Unclassified => "分類不能",
        }
    }

    /// An English name.
    pub fn label_en(self) -> &'static str {
        match self {
            InfoType::Condition => "Diagnoses",
            InfoType::Infection => "Infection tests",
            InfoType::DrugAllergy => "Drug allergies",
            InfoType::OtherAllergy => "Other allergies",
            InfoType::Lab => "Lab results",
            InfoType::Referral => "Referral letters",
            InfoType::DischargeSummary => "Discharge summaries",
            InfoType::Checkup => "Checkup reports",
            InfoType::Unclassified => "Unclassified",
        }
    }

    /// The IG's timing rule for this type.
    pub fn timing(self) -> TimingRule {
        match self {
            InfoType::Condition | InfoType::DrugAllergy | InfoType::OtherAllergy => {
                TimingRule::SameDay
            }
            InfoType::Lab | InfoType::Infection => TimingRule::Within7Days,
            _ => TimingRule::None,
        }
    }

    /// The best guess from a resource type alone (held items without a body).
    pub fn from_resource_type(resource_type: &str) -> InfoType {
        match resource_type {
            "Condition" => InfoType::Condition,
            _ => InfoType::Unclassified,
        }
    }
}

/// What the report needs to know about a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleFacts {
    /// Its information type.
    pub info_type: InfoType,
    /// The latest clinical event time in it (unix ms), if any entry carries one.
    pub event_at: Option<i64>,
}

/// Classifies a bundle (see the module doc for the rules).
pub fn classify_bundle(body: &Value) -> BundleFacts {
    let resources: Vec<&Value> = body
        .get("entry")
        .and_then(Value::as_array)
        .map(|es| es.iter().filter_map(|e| e.get("resource")).collect())
        .unwrap_or_default();
    let info_type = if let Some(c) = resources.iter().find(|r| kind(r) == "Composition") {
        document_type(c)
    } else if resources.iter().any(|r| kind(r) == "Condition") {
        InfoType::Condition
    } else if resources.iter().any(|r| kind(r) == "AllergyIntolerance") {
        let drug = resources
            .iter()
            .filter(|r| kind(r) == "AllergyIntolerance")
            .any(|r| has_category(r, "medication"));
        if drug {
            InfoType::DrugAllergy
        } else {
            InfoType::OtherAllergy
        }
    } else if resources.iter().any(|r| kind(r) == "Observation") {
        let infection = resources
            .iter()
            .filter(|r| kind(r) == "Observation")
            .any(|r| uses_infection_code(r));
        if infection {
            InfoType::Infection
        } else {
            InfoType::Lab
        }
    } else {
        InfoType::Unclassified
    };
    let event_at = resources
        .iter()
        .flat_map(|r| {
            let fields: &[&str] = if kind(r) == "Composition" {
                &["date"]
            } else {
                &["onsetDateTime", "recordedDate", "effectiveDateTime"]
            };
            fields
                .iter()
                .filter_map(|f| r.get(*f).and_then(Value::as_str))
                .filter_map(parse_fhir_datetime)
                .collect::<Vec<_>>()
        })
        .max();
    BundleFacts {
        info_type,
        event_at,
    }
}

fn kind(resource: &Value) -> &str {
    resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn document_type(composition: &Value) -> InfoType {
    let codes = composition
        .pointer("/type/coding")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("code").and_then(Value::as_str))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for code in codes {
        match code {
            "57133-1" => return InfoType::Referral,
            "18842-5" => return InfoType::DischargeSummary,
            "53576-5" => return InfoType::Checkup,
            _ => {}
        }
    }
    InfoType::Unclassified
}

fn has_category(allergy: &Value, wanted: &str) -> bool {
    allergy
        .get("category")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c.as_str() == Some(wanted)))
}

fn uses_infection_code(observation: &Value) -> bool {
    observation
        .pointer("/code/coding")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("system")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.ends_with("InfectionLabo_CS"))
            })
        })
}

/// A FHIR date or dateTime as unix ms (see the module doc for partial values). `None` when it
/// does not parse.
pub fn parse_fhir_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let jst = tsunagi_clins::time::jst();
    let local = |n: NaiveDateTime| jst.from_local_datetime(&n).single();
    if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return local(n).map(|t| t.timestamp_millis());
    }
    let date = match s.len() {
        10 => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok(),
        4 => NaiveDate::parse_from_str(&format!("{s}-01-01"), "%Y-%m-%d").ok(),
        _ => None,
    }?;
    local(date.and_hms_opt(0, 0, 0)?).map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(resources: Vec<Value>) -> Value {
        let mut entries =
            vec![json!({"resource": {"resourceType": "Patient", "birthDate": "1970-01-23"}})];
        entries.extend(resources.into_iter().map(|r| json!({ "resource": r })));
        json!({"resourceType": "Bundle", "entry": entries})
    }

    #[test]
    fn types_follow_the_ig() {
        let allergy = |cat: &str| json!({"resourceType": "AllergyIntolerance", "category": [cat]});
        assert_eq!(
            classify_bundle(&bundle(vec![allergy("medication")])).info_type,
            InfoType::DrugAllergy
        );
        assert_eq!(
            classify_bundle(&bundle(vec![allergy("food")])).info_type,
            InfoType::OtherAllergy
        );
        assert_eq!(
            classify_bundle(&bundle(vec![json!({"resourceType": "AllergyIntolerance"})])).info_type,
            InfoType::OtherAllergy
        );
        let obs = |system: &str| json!({"resourceType": "Observation", "code": {"coding": [{"system": system, "code": "x"}]}});
        assert_eq!(
            classify_bundle(&bundle(vec![obs("http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS")])).info_type,
            InfoType::Infection
        );
        assert_eq!(
            classify_bundle(&bundle(vec![obs(
                "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS"
            )]))
            .info_type,
            InfoType::Lab
        );
        assert_eq!(
            classify_bundle(&bundle(vec![json!({"resourceType": "Condition"})])).info_type,
            InfoType::Condition
        );
        let doc = |code: &str| json!({"resourceType": "Composition", "type": {"coding": [{"code": code}]}, "date": "2026-04-20T09:00:00+09:00"});
        assert_eq!(
            classify_bundle(&bundle(vec![doc("57133-1")])).info_type,
            InfoType::Referral
        );
        assert_eq!(
            classify_bundle(&bundle(vec![doc("18842-5")])).info_type,
            InfoType::DischargeSummary
        );
        assert_eq!(
            classify_bundle(&bundle(vec![doc("53576-5")])).info_type,
            InfoType::Checkup
        );
        assert_eq!(
            classify_bundle(&bundle(vec![doc("11111-1")])).info_type,
            InfoType::Unclassified
        );
        assert_eq!(
            classify_bundle(&json!({"x": 1})),
            BundleFacts {
                info_type: InfoType::Unclassified,
                event_at: None
            }
        );
    }

    #[test]
    fn event_time_is_the_latest_clinical_time_and_ignores_the_birth_date() {
        let b = bundle(vec![
            json!({"resourceType": "Condition", "onsetDateTime": "2020-01-01", "recordedDate": "2026-04-01T10:00:00+09:00"}),
            json!({"resourceType": "Condition", "onsetDateTime": "2026-04-02"}),
        ]);
        let want = parse_fhir_datetime("2026-04-02T00:00:00+09:00");
        assert_eq!(classify_bundle(&b).event_at, want);
        assert_eq!(want, Some(1_775_055_600_000));
    }

    #[test]
    fn partial_and_offsetless_times_are_jst() {
        let day = parse_fhir_datetime("2026-04-01").unwrap();
        assert_eq!(Some(day), parse_fhir_datetime("2026-04"));
        assert_eq!(
            parse_fhir_datetime("2026"),
            parse_fhir_datetime("2026-01-01")
        );
        assert_eq!(
            parse_fhir_datetime("2026-04-01T09:00:00"),
            parse_fhir_datetime("2026-04-01T00:00:00Z")
        );
        assert_eq!(
            parse_fhir_datetime("2026-04-01T09:00:00.123+09:00"),
            Some(parse_fhir_datetime("2026-04-01T00:00:00Z").unwrap() + 123)
        );
        assert_eq!(parse_fhir_datetime("yesterday"), None);
        assert_eq!(parse_fhir_datetime("2026-13-01"), None);
    }

    #[test]
    fn keys_round_trip() {
        for t in InfoType::ALL {
            assert_eq!(InfoType::from_key(t.key()), t);
        }
        assert_eq!(InfoType::from_key("nonsense"), InfoType::Unclassified);
    }
}

//! One test per mapping, with small synthetic messages (fictional patient 試験 花子) sent as
//! ISO-2022-JP, as SS-MIX2 does.

use super::test_support::{run, PID};
use crate::{AllergyCategory, Gender, LabValue, Parsed, Record, Severity};

fn records<T>(parsed: &Parsed, pick: impl Fn(&Record) -> Option<&T>) -> Vec<&T> {
    parsed.records.iter().filter_map(pick).collect()
}

fn no_values_in_problems(parsed: &Parsed, secrets: &[&str]) {
    for p in &parsed.problems {
        let shown = p.to_string();
        for s in secrets {
            assert!(!shown.contains(s), "{s} leaked: {shown}");
        }
    }
}

#[test]
fn adt00_patient_with_names_address_and_insurance() {
    let parsed = run(
        "ADT^A08^ADT_A01",
        &[
            "EVN||20250401",
            PID,
            "IN1|1|C0^国民健康保険^JHSD0001|138057|||||||あいう~１８７~05|被保険者グループ雇用者名",
        ],
    );
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let p = records(&parsed, |r| match r {
        Record::Patient(p) => Some(p),
        _ => None,
    })[0];
    assert_eq!(p.local_id.expose(), "P0001");
    let kanji = p.name_kanji.as_ref().unwrap();
    assert_eq!(
        (
            kanji.family.expose().as_str(),
            kanji.given.expose().as_str()
        ),
        ("試験", "花子")
    );
    assert_eq!(p.name_kana.as_ref().unwrap().given.expose(), "ハナコ");
    assert_eq!(p.birth_date.as_ref().unwrap().expose(), "1980-01-02");
    assert_eq!(p.gender, Gender::Female);
    assert_eq!(
        p.address.as_ref().unwrap().expose(),
        "東京都千代田区99丁目1番"
    );
    let ins = p.insurance.as_ref().unwrap();
    assert_eq!(ins.member_id().expose(), "00138057:あいう:１８７:05");
}

#[test]
fn insurance_jahis_layout_and_public_expense_without_numbers() {
    let parsed = run(
        "ADT^A08",
        &[
            PID,
            "IN1|1|51^特定疾患^JHSD0001|54136015|||||||",
            "IN1|2|06^組合管掌健康保険^JHSD0001|06050116|||||||記号A|1234",
        ],
    );
    let p = records(&parsed, |r| match r {
        Record::Patient(p) => Some(p),
        _ => None,
    })[0];
    assert_eq!(
        p.insurance.as_ref().unwrap().member_id().expose(),
        "06050116:記号A:1234:"
    );
    let parsed = run("ADT^A08", &[PID, "IN1|1|06^x^JHSD0001|ABC|||||||K|N"]);
    assert_eq!(parsed.problems[0].field, "IN1-3 (line 3)");
}

#[test]
fn names_without_representation_code_are_told_apart_by_script() {
    let parsed = run(
        "ADT^A08",
        &["PID|1||P2||テスタ^タロウ~検証^太郎||19800102|M"],
    );
    let p = records(&parsed, |r| match r {
        Record::Patient(p) => Some(p),
        _ => None,
    })[0];
    assert_eq!(p.name_kana.as_ref().unwrap().family.expose(), "テスタ");
    assert_eq!(p.name_kanji.as_ref().unwrap().family.expose(), "検証");
    assert_eq!(p.gender, Gender::Male);
    assert_eq!(parsed.problems.len(), 2);
    no_values_in_problems(&parsed, &["テスタ", "検証", "P2"]);
}

#[test]
fn ppr_zd1_condition_with_zpr_modifiers_and_all_prb_fields() {
    let parsed = run(
        "PPR^ZD1^PPR_ZD1",
        &[
            PID,
            "PRB|AD|20110915|20054174^胃炎^MDCDX2|123456789012345|||20110831||20110915|K29.7^^I10^O^外来時^JHSD0004|||1|N^回復せず^HL70241|20110915|20110831|急性胃炎の疑い|1^主診断^JHSD0007",
            "ZPR|20051234^急性^MDCDX2|20054174^胃炎^MDCDX2|20059999^後^MDCDX2|ABCD|TSQF^胃炎^MDCDX2|WXYZ",
            "ORC|NW|1|||||||20110915||||||||013^第３内科^HL70069",
        ],
    );
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let c = records(&parsed, |r| match r {
        Record::Condition(c) => Some(c),
        _ => None,
    })[0];
    assert_eq!(c.patient_id.expose(), "P0001");
    assert_eq!(c.disease_key.as_deref(), Some("20054174"));
    assert_eq!(c.exchange_code.as_deref(), Some("TSQF"));
    assert_eq!(c.icd10.as_deref(), Some("K297"));
    assert_eq!(c.record_id.as_deref(), Some("123456789012345"));
    assert_eq!(c.recorded.as_deref(), Some("2011-08-31"));
    assert_eq!(c.onset.as_deref(), Some("2011-08-31"));
    assert_eq!(c.abatement.as_deref(), Some("2011-09-15"));
    assert_eq!(c.outcome.as_ref().unwrap().code, "N");
    assert!(c.principal && c.suspected && !c.entered_in_error);
    assert_eq!(c.original_text.expose(), "急性胃炎の疑い");
    assert_eq!(c.prefix_modifiers[0].key_number, "20051234");
    assert_eq!(c.prefix_modifiers[0].exchange_code.as_deref(), Some("ABCD"));
    assert_eq!(
        c.postfix_modifiers[0].exchange_code.as_deref(),
        Some("WXYZ")
    );
    assert_eq!(c.department.as_ref().unwrap().code, "013");
}

#[test]
fn placeholder_local_and_withdrawn_diagnoses() {
    let parsed = run(
        "PPR^ZD1",
        &[
            PID,
            "PRB|AD|20250502|99999999^骨粗鬆症^99XYZ|1|||20250501||||M819^^I10",
            "PRB|DE|20250502|99A01^院内病名^99XYZ|2",
            "PRB|AD|20250502|^経過観察^|3",
            "ZPR||||||",
        ],
    );
    let cs = records(&parsed, |r| match r {
        Record::Condition(c) => Some(c),
        _ => None,
    });
    assert_eq!(cs.len(), 3);
    assert_eq!(cs[0].disease_key.as_deref(), Some("99999999"));
    assert_eq!(cs[0].original_text.expose(), "骨粗鬆症");
    assert!(cs[1].entered_in_error);
    assert_eq!(cs[1].local_code.as_ref().unwrap().system, "99XYZ");
    assert!(cs[1].disease_key.is_none());
    assert_eq!(cs[2].original_text.expose(), "経過観察");
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert_eq!(parsed.problems[0].field, "PRB-3 (line 5)");
    no_values_in_problems(&parsed, &["経過観察"]);
}

#[test]
fn oul_r22_lab_results_with_specimen_and_value_types() {
    let parsed = run(
        "OUL^R22^OUL_R22",
        &[
            PID,
            "SPM|1|S1||023^血清^JC10|||||||||||||202504010930",
            "OBR|1|ORD1|F1|3^生化学的検査^JC10|||202504010900",
            "OBX|1|NM|3A010000002327101^総蛋白^JC10||6.5|g/dL^g/dL^99XYZ|6.5-8.0|N|||F",
            "OBX|2|ST|1A990000000191153^尿蛋白^JC10||±||||||F",
            "OBX|3|CWE|5H010000001999911^血液型-ABO式^JC10||B^B^JSHR002||||||F",
            "OBX|4|NM|L001^院内項目^99LOC^3B035000002327201^AST^JC10||abc|U/L||||F",
            "OBX|5|SN|L002^SN^99LOC||<^0.5",
        ],
    );
    let labs = records(&parsed, |r| match r {
        Record::LabResult(l) => Some(l),
        _ => None,
    });
    assert_eq!(labs.len(), 5);
    let tp = labs[0];
    assert_eq!(tp.jlac10.as_deref(), Some("3A010000002327101"));
    assert_eq!(tp.value, Some(LabValue::Numeric("6.5".into())));
    assert_eq!(tp.unit.as_deref(), Some("g/dL"));
    assert_eq!(tp.reference_range.as_deref(), Some("6.5-8.0"));
    assert_eq!(tp.flag.as_deref(), Some("N"));
    assert_eq!(tp.status.as_deref(), Some("F"));
    assert_eq!(tp.specimen.as_ref().unwrap().code, "023");
    assert_eq!(
        tp.collected_at.as_deref(),
        Some("2025-04-01T09:30:00+09:00")
    );
    assert_eq!(tp.report_id.as_deref(), Some("ORD1"));
    assert!(matches!(&labs[1].value, Some(LabValue::Text(t)) if t.expose() == "±"));
    assert!(
        matches!(&labs[2].value, Some(LabValue::Coded(c)) if c.code == "B" && c.system == "JSHR002")
    );
    assert_eq!(labs[3].local_code.system, "99LOC");
    assert_eq!(labs[3].jlac10.as_deref(), Some("3B035000002327201"));
    assert!(matches!(&labs[3].value, Some(LabValue::Text(_))));
    assert!(matches!(&labs[4].value, Some(LabValue::Text(t)) if t.expose() == "<^0.5"));
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].field, "OBX-5 (line 8)");
    no_values_in_problems(&parsed, &["abc"]);
}

#[test]
fn allergies_from_adt00_al1_and_iam_but_not_from_orders() {
    let al1 =
        "AL1|1|DA^薬物アレルギー^HL70127|1^ペニシリン^99XYZ|SV^重度^HL70128|発疹~呼吸困難|20240101";
    let parsed = run(
        "ADT^A08",
        &[
            PID,
            al1,
            "AL1|2|FA^食物アレルギー^HL70127|J9FA21180000^ピーナッツ^J-FAGY",
        ],
    );
    let all = records(&parsed, |r| match r {
        Record::Allergy(a) => Some(a),
        _ => None,
    });
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].category, AllergyCategory::Medication);
    assert_eq!(all[0].original_text.expose(), "ペニシリン");
    assert_eq!(all[0].severity.as_ref().unwrap().code, "SV");
    assert_eq!(all[0].reaction.as_ref().unwrap().expose(), "発疹、呼吸困難");
    assert_eq!(all[0].recorded.as_deref(), Some("2024-01-01"));
    assert_eq!(all[1].category, AllergyCategory::Food);
    assert_eq!(all[1].allergen.as_ref().unwrap().system, "J-FAGY");

    let parsed = run("RDE^O11", &[PID, al1]);
    assert!(records(&parsed, |r| match r {
        Record::Allergy(a) => Some(a),
        _ => None,
    })
    .is_empty());

    let parsed = run(
        "ADT^A60",
        &[PID, "IAM|1|EA^環境^HL70127|J9NM12000000^ダニ^J-FAGY|MI|くしゃみ|A|ALG1||||20200301||20250401", "IAM|2|DA|2^アスピリン^99XYZ|||D|ALG2"],
    );
    let all = records(&parsed, |r| match r {
        Record::Allergy(a) => Some(a),
        _ => None,
    });
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].category, AllergyCategory::Environment);
    assert_eq!(all[0].record_id.as_deref(), Some("ALG1"));
    assert_eq!(all[0].onset.as_deref(), Some("2020-03-01"));
    assert_eq!(parsed.problems[0].field, "IAM-6 (line 4)");
}

#[test]
fn rde_o11_prescription_and_injection() {
    let orc = "ORC|NW|ORD9|F9|G9|||||20250502113800";
    let parsed = run(
        "RDE^O11",
        &[
            PID,
            orc,
            "RXE||114287701^ボナロン錠5mg^HOT9|3||TAB^錠^MR9P",
            "TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||7^d|202505020101",
            "RXR|PO^口^HL70162",
            "RXE||999999^新薬^99XYZ|\"\"",
            "TQ1|1||9999000000000000&1日1回&99xyz|||30^d",
        ],
    );
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let ps = records(&parsed, |r| match r {
        Record::Prescription(p) => Some(p),
        _ => None,
    });
    assert_eq!(ps.len(), 2);
    let p = ps[0];
    assert_eq!(p.drug_codes[0].system, "HOT9");
    assert_eq!(p.drug_text.as_deref(), Some("ボナロン錠5mg"));
    let dose = p.dose.as_ref().unwrap();
    assert_eq!(
        (dose.value.as_str(), dose.unit.as_deref()),
        ("3", Some("錠"))
    );
    assert_eq!(p.usage.as_ref().unwrap().system, "JAMISDP01");
    assert_eq!(p.days, Some(7));
    assert_eq!(p.route.as_ref().unwrap().code, "PO");
    assert_eq!(p.order_id.as_deref(), Some("ORD9"));
    assert_eq!(p.authored.as_deref(), Some("2025-05-02T11:38:00+09:00"));
    assert!(!p.injection);
    assert_eq!((ps[1].days, ps[1].dose.is_none()), (Some(30), true));
    assert_eq!(ps[1].order_id.as_deref(), Some("ORD9"));

    let parsed = run(
        "RDE^O11",
        &[
            PID,
            orc,
            "RXE||00^一般^99I02|510||ML^mL^MR9P",
            "TQ1|1||||||202504100104|202504110104",
            "RXR|IV^静脈内^HL70162",
            "RXC|A|105076901^プリンペラン注射液10mg^HOT9|10|MG^mg^MR9P",
            "RXC|B|107750601^ソリタ-T3号輸液500mL^HOT9|500|ML^mL^MR9P",
        ],
    );
    let ps = records(&parsed, |r| match r {
        Record::Prescription(p) => Some(p),
        _ => None,
    });
    assert_eq!(ps.len(), 2);
    assert!(ps
        .iter()
        .all(|p| p.injection && p.route.as_ref().unwrap().code == "IV"));
    assert_eq!(ps[1].dose.as_ref().unwrap().unit.as_deref(), Some("mL"));
    assert_eq!(ps[0].drug_codes[0].code, "105076901");
}

#[test]
fn unmapped_types_missing_pid_and_bad_times_are_reported() {
    let parsed = run("OML^O33", &[PID]);
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.problems[0].field, "MSH-9 (line 1)");
    let parsed = run("PPR^ZD1", &["PID|1||", "PRB|AD|x|1^a^MDCDX2"]);
    assert!(parsed.records.is_empty());
    assert_eq!(parsed.problems[0].severity, Severity::Fatal);
    let parsed = run(
        "PPR^ZD1",
        &[PID, "PRB|AD|x|20054174^胃炎^MDCDX2|1|||2025130"],
    );
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.problems[0].field, "PRB-7 (line 3)");
}

#[test]
fn a_batch_is_read_message_by_message() {
    let second = "MSH|^~\\&|H|S|G|R|20250401||PPR^ZD1|2|P|2.5";
    let parsed = run(
        "PPR^ZD1",
        &[
            PID,
            "PRB|AD||1^a^99X|1",
            second,
            "PID|1||P0002",
            "PRB|AD||2^b^99X|2",
        ],
    );
    let cs = records(&parsed, |r| match r {
        Record::Condition(c) => Some(c),
        _ => None,
    });
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[1].patient_id.expose(), "P0002");
}

mod never_panics {
    use crate::{Adapter, Hl7v2Adapter, RawInput};
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = String> {
        let id = prop::sample::select(vec![
            "PID", "IN1", "AL1", "IAM", "PRB", "ZPR", "ORC", "SPM", "OBR", "OBX", "RXE", "RXC",
            "TQ1", "RXR", "MSH",
        ]);
        let field = "[0-9A-Z\\^~&\\\\.+\\-\"試験ア]{0,10}";
        (id, prop::collection::vec(field, 0..20))
            .prop_map(|(id, f)| format!("{id}|{}", f.join("|")))
    }

    proptest! {
        #[test]
        fn adapter_never_panics_on_clinical_looking_messages(
            kind in prop::sample::select(vec!["ADT^A08", "ADT^A60", "PPR^ZD1", "OUL^R22", "ORU^R01", "RDE^O11", "X"]),
            segs in prop::collection::vec(segment(), 0..12),
        ) {
            let text = format!("MSH|^~\\&|||||||{kind}|1|P|2.5\r{}", segs.join("\r"));
            let parsed = Hl7v2Adapter::new().parse(&RawInput { bytes: text.as_bytes(), origin: "p" });
            for p in &parsed.problems {
                prop_assert!(!p.to_string().contains("試験"));
            }
        }

        #[test]
        fn adapter_never_panics_on_bytes(b in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = Hl7v2Adapter::new().parse(&RawInput { bytes: &b, origin: "p" });
        }
    }
}

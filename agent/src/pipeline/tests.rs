//! The processor over a real store: determinism, held items, SS-MIX2 versions.
use super::*;
use crate::build::BuildSettings;
use crate::store::{self, inbox};

fn processor(dir: &std::path::Path) -> (Processor, Writer) {
    let (writer, _h) = Writer::spawn(store::open(dir).unwrap()).unwrap();
    let settings = BuildSettings::new("1318814790", None).unwrap();
    let p = Processor::new(
        writer.clone(),
        store::open(dir).unwrap(),
        BundleBuilder::new(settings),
        Arc::new(tokio::sync::Notify::new()),
    );
    (p, writer)
}

fn put(writer: &Writer, origin: &str, raw: &[u8]) -> i64 {
    let (origin, raw) = (origin.to_string(), raw.to_vec());
    match writer
        .call(move |c| {
            inbox::insert(
                c,
                &inbox::NewInput {
                    source: "t",
                    origin: &origin,
                    format: "fhir-json",
                    raw: &raw,
                    file_stamp: None,
                },
            )
        })
        .unwrap()
    {
        inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
    }
}

fn states(dir: &std::path::Path) -> Vec<(String, String)> {
    let c = store::open_existing(dir).unwrap();
    let mut s = c
        .prepare("SELECT resource_type, state FROM outbox ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const PATIENT: &str = r#"{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID","value":"00012345:a:1:01"}],"name":[{"text":"x","family":"x","given":["y"]}],"gender":"male","birthDate":"1970-01-01","address":[{"text":"z"}]}"#;
const CONDITION: &str = r##"{"resourceType":"Condition","id":"c1","contained":[{"resourceType":"Encounter","id":"enc","meta":{"profile":["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Encounter"]},"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}],"encounter":{"reference":"#enc"},"extension":[{"url":"http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department","valueCodeableConcept":{"coding":[{"system":"http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment","code":"01"}],"text":"内科"}}],"identifier":[{"system":"http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier","value":"c1"}],"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active","display":"Active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed","display":"Confirmed"}]},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],"code":{"coding":[{"system":"http://medis.or.jp/CodeSystem/master-disease-keyNumber","code":"20054174","display":"胃炎"}],"text":"胃炎"},"subject":{"reference":"Patient/p1"},"onsetDateTime":"2024-04-01"}"##;

#[test]
fn a_lone_resource_waits_for_its_patient_and_is_rebuilt_when_it_arrives() {
    condition_then_its_patient(|_| {});
}

/// A Condition arrives before its Patient (held), `between` runs, then the Patient arrives and
/// the Condition is rebuilt with it.
fn condition_then_its_patient(between: impl FnOnce(&mut Processor)) {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    put(&w, "condition.json", CONDITION.as_bytes());
    p.step().unwrap();
    assert_eq!(
        states(dir.path()),
        vec![("Condition".into(), "held".into())]
    );
    between(&mut p);
    put(&w, "patient.json", PATIENT.as_bytes());
    p.step().unwrap(); // the patient; the waiting input goes back to `received`
    p.step().unwrap(); // the condition again, now with its patient
    assert_eq!(
        states(dir.path()),
        vec![
            ("Condition".into(), "superseded".into()),
            ("Condition".into(), "pending".into())
        ]
    );
}

fn put_ssmix2(writer: &Writer, occurred: &str, flag: char) -> i64 {
    let name = format!("0000000001_-_ADT-00_000000000000001_{occurred}_-_{flag}");
    let origin = format!("000/000/0000000001/-/ADT-00/{name}");
    let msg = "MSH|^~\\&|EHR|H|R|R|20250401||ADT^A08|1|P|2.5||||||UNICODE UTF-8\rPID|||0000000001^^^^PI||a^b||19700101|M\r";
    let (origin, raw) = (origin, msg.as_bytes().to_vec());
    match writer
        .call(move |c| {
            inbox::insert(
                c,
                &inbox::NewInput {
                    source: "s",
                    origin: &origin,
                    format: "ssmix2",
                    raw: &raw,
                    file_stamp: None,
                },
            )
        })
        .unwrap()
    {
        inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
    }
}

fn live_items(dir: &std::path::Path, inbox_id: i64) -> i64 {
    let c = store::open_existing(dir).unwrap();
    c.query_row(
        "SELECT COUNT(*) FROM outbox WHERE inbox_id = ?1 AND state <> 'superseded'",
        [inbox_id],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn ssmix2_versions_of_one_order_keep_only_the_newest_and_a_withdrawal_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let v1 = put_ssmix2(&w, "20250401120000000", '1');
    p.step().unwrap();
    assert_eq!(
        live_items(dir.path(), v1),
        1,
        "held until conversion exists"
    );
    let v2 = put_ssmix2(&w, "20250402120000000", '1');
    let v0 = put_ssmix2(&w, "20250301120000000", '1');
    p.step().unwrap();
    assert_eq!(live_items(dir.path(), v1), 0, "v1 superseded by v2");
    assert_eq!(live_items(dir.path(), v2), 1);
    assert_eq!(
        live_items(dir.path(), v0),
        0,
        "an older version arriving late builds nothing"
    );
    let cancel = put_ssmix2(&w, "20250501120000000", '0');
    p.step().unwrap();
    assert_eq!(
        live_items(dir.path(), v2),
        0,
        "the withdrawal supersedes the last version"
    );
    assert_eq!(live_items(dir.path(), cancel), 0);
}

#[test]
fn an_ssmix2_source_uses_only_its_configured_data_types() {
    let dir = tempfile::tempdir().unwrap();
    let (p, w) = processor(dir.path());
    let mut p = p.with_ssmix2_types("s", vec!["OML-11".into()]);
    let id = put_ssmix2(&w, "20250401120000000", '1');
    p.step().unwrap();
    assert_eq!(
        live_items(dir.path(), id),
        0,
        "ADT-00 is not used by this source"
    );
    let c = store::open_existing(dir.path()).unwrap();
    let state: String = c
        .query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(state, "processed");
}

#[test]
fn a_corrupt_record_is_quarantined_and_the_next_one_still_flows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let bad = put(&w, "bad.json", b"{}");
    w.call(move |c| {
        c.execute("UPDATE inbox SET raw = X'7B207D' WHERE id = ?1", [bad])?;
        Ok(())
    })
    .unwrap();
    put(&w, "patient.json", PATIENT.as_bytes());
    assert_eq!(p.step().unwrap(), 2);
    let c = store::open_existing(dir.path()).unwrap();
    let (state, error): (String, String) = c
        .query_row("SELECT state, error FROM inbox WHERE id = ?1", [bad], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(state, "quarantined");
    assert!(
        error.contains("t:bad.json") && error.contains("checksum"),
        "{error}"
    );
    let processed: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM inbox WHERE state = 'processed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(processed, 1);
}

#[test]
fn processing_is_deterministic_so_replay_gives_the_same_idempotency_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let bundle = format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"urn:uuid:1","resource":{PATIENT}}},{{"fullUrl":"urn:uuid:2","resource":{CONDITION}}}]}}"#
    );
    let id = put(&w, "b.json", bundle.as_bytes());
    p.step().unwrap();
    w.call(move |c| inbox::replay(c, &[id])).unwrap();
    p.step().unwrap();
    let c = store::open_existing(dir.path()).unwrap();
    let keys: Vec<String> = c
        .prepare("SELECT idempotency_key FROM outbox ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

fn put_hl7(writer: &Writer, origin: &str, msg: &str) -> i64 {
    let (origin, raw) = (origin.to_string(), msg.replace('\n', "\r").into_bytes());
    match writer
        .call(move |c| {
            inbox::insert(
                c,
                &inbox::NewInput {
                    source: "m",
                    origin: &origin,
                    format: "hl7v2",
                    raw: &raw,
                    file_stamp: None,
                },
            )
        })
        .unwrap()
    {
        inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
    }
}

fn mapped_processor(dir: &std::path::Path) -> (Processor, Writer) {
    let (p, w) = processor(dir);
    let p = p
        .with_terminology(dir, crate::mapping::Policies::default())
        .unwrap();
    (p, w)
}

fn count(dir: &std::path::Path, sql: &str) -> i64 {
    let c = store::open_existing(dir).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Issue 9, F1: the message of the hostile test (a PID without an address, with insurance).
const NO_ADDRESS: &str =
    "MSH|^~\\&|H|F|T|C|20250401||ADT^A08^ADT_A01|NOADDR1|P|2.5||||||UNICODE UTF-8
PID|1||8800000099^^^^PI||A^B^^^^L^I||19600203|M
IN1|1|C0^X^JHSD0001|138057|Y||||||Z~12345~01
AL1|1|FA^F^HL70127|J9FC11310000^S^J-FAGY
";

#[test]
fn an_input_that_brings_its_own_incomplete_patient_is_held_once_and_never_replays_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = mapped_processor(dir.path());
    let id = put_hl7(&w, "NOADDR1", NO_ADDRESS);
    assert_eq!(p.step().unwrap(), 1);
    for _ in 0..5 {
        assert_eq!(p.step().unwrap(), 0, "nothing may wake the input again");
    }
    let rows = count(dir.path(), "SELECT COUNT(*) FROM outbox");
    assert!(rows > 0, "the input's items are held");
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE state <> 'held' OR hold_reason <> 'patient-incomplete'"
        ),
        0
    );
    let c = store::open_existing(dir.path()).unwrap();
    let state: String = c
        .query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(state, "processed");
}

#[test]
fn a_complete_patient_from_a_later_message_releases_the_held_items_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = mapped_processor(dir.path());
    let held = put_hl7(&w, "NOADDR1", NO_ADDRESS);
    p.step().unwrap();
    let with_address = NO_ADDRESS
        .replace("NOADDR1", "ADDR2")
        .replace("||19600203|M", "||19600203|M|||東京都千代田区^^^^1000001");
    put_hl7(&w, "ADDR2", &with_address);
    p.step().unwrap(); // the complete patient wakes the first input
    p.step().unwrap(); // which is built again, now with that patient
    assert_eq!(p.step().unwrap(), 0, "and the replay wakes nothing");
    assert_eq!(
        count(
            dir.path(),
            &format!("SELECT COUNT(*) FROM outbox WHERE inbox_id = {held} AND state = 'held'")
        ),
        0,
        "the first input's items are no longer held"
    );
    assert!(
        count(
            dir.path(),
            &format!("SELECT COUNT(*) FROM outbox WHERE inbox_id = {held} AND state = 'pending'")
        ) > 0
    );
}

#[test]
fn an_input_dropped_by_hand_while_it_is_processed_stays_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = mapped_processor(dir.path());
    let id = put_hl7(&w, "NOADDR1", NO_ADDRESS);
    w.call(move |c| inbox::drop_input(c, id, "test")).unwrap();
    p.step().unwrap_or_default();
    let c = store::open_existing(dir.path()).unwrap();
    let state: String = c
        .query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(state, "dropped");
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM outbox"), 0);
}

#[test]
fn a_failed_read_leaves_the_input_received_and_it_is_processed_once_the_fault_clears() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let id = put(&w, "condition.json", CONDITION.as_bytes());
    // The fault: the patient table cannot be read.
    w.call(|c| {
        c.execute_batch("ALTER TABLE patient RENAME TO patient_away")?;
        Ok(())
    })
    .unwrap();
    assert!(p.step().is_err(), "the read error reaches the processor");
    let state = |dir: &std::path::Path| -> String {
        let c = store::open_existing(dir).unwrap();
        c.query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(state(dir.path()), "received");
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM outbox"), 0);
    w.call(|c| {
        c.execute_batch("ALTER TABLE patient_away RENAME TO patient")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(p.step().unwrap(), 1);
    assert_eq!(state(dir.path()), "processed");
}

#[test]
fn a_failed_version_read_leaves_the_ssmix2_input_received_and_it_is_processed_once_the_fault_clears(
) {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let id = put_ssmix2(&w, "20250401120000000", '1');
    // The fault: the versions of the order cannot be read (the column is gone).
    w.call(|c| {
        c.execute_batch("ALTER TABLE inbox RENAME COLUMN order_key TO order_key_away")?;
        Ok(())
    })
    .unwrap();
    assert!(p.step().is_err(), "the read error reaches the processor");
    let state = |dir: &std::path::Path| -> String {
        let c = store::open_existing(dir).unwrap();
        c.query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        state(dir.path()),
        "received",
        "not marked processed on a guess"
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM outbox"), 0);
    w.call(|c| {
        c.execute_batch("ALTER TABLE inbox RENAME COLUMN order_key_away TO order_key")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(p.step().unwrap(), 1);
    assert_eq!(state(dir.path()), "processed");
    assert_eq!(live_items(dir.path(), id), 1);
}

/// Issue 9, F3: labelled UTF-8, encoded Shift_JIS (the patient's name and address, the allergen).
fn mislabelled() -> Vec<u8> {
    let text = "MSH|^~\\&|H|F|T|C|20250401||ADT^A08^ADT_A01|SJIS1|P|2.5||||||UNICODE UTF-8\r\
PID|1||8800000098^^^^PI||山田^太郎^^^^L^I||19600203|M|||東京都千代田区^^^^1000001\r\
IN1|1|C0^X^JHSD0001|138057|Y||||||Z~12345~01\r\
AL1|1|FA^卵^HL70127|J9FC11310000^卵^J-FAGY\r";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    bytes.into_owned()
}

fn put_raw(writer: &Writer, source: &str, origin: &str, raw: Vec<u8>) -> i64 {
    let (source, origin) = (source.to_string(), origin.to_string());
    match writer
        .call(move |c| {
            inbox::insert(
                c,
                &inbox::NewInput {
                    source: &source,
                    origin: &origin,
                    format: "hl7v2",
                    raw: &raw,
                    file_stamp: None,
                },
            )
        })
        .unwrap()
    {
        inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
    }
}

#[test]
fn text_that_does_not_decode_is_held_for_encoding_and_no_patient_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = mapped_processor(dir.path());
    put_raw(&w, "m", "SJIS1", mislabelled());
    p.step().unwrap();
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
        ),
        0,
        "nothing garbled is sent"
    );
    assert!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE state = 'held' AND hold_reason = 'encoding'"
        ) > 0
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM patient"), 0);
    let c = store::open_existing(dir.path()).unwrap();
    let reason: String = c
        .query_row(
            "SELECT last_error FROM outbox WHERE hold_reason = 'encoding' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        reason.contains("PID-5") && reason.contains("charset"),
        "{reason}"
    );
    assert!(
        !reason.contains('\u{fffd}') && !reason.contains("山田"),
        "{reason}"
    );
}

#[test]
fn a_configured_charset_decodes_the_stored_input_on_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = mapped_processor(dir.path());
    let id = put_raw(&w, "m", "SJIS1", mislabelled());
    p.step().unwrap();
    let mut p = p.with_charset("m", "cp932");
    w.call(move |c| inbox::replay(c, &[id])).unwrap();
    p.step().unwrap();
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE state = 'held' AND hold_reason = 'encoding'"
        ),
        0
    );
    assert!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
        ) > 0
    );
    let c = store::open_existing(dir.path()).unwrap();
    let body: Vec<u8> = c
        .query_row(
            "SELECT body FROM outbox WHERE state = 'pending' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("山田") && !body.contains('\u{fffd}'));
}

/// Issue 9: a lab system's result message (ORU^R01, PID without IN1).
const ORU_WITHOUT_IN1: &str =
    "MSH|^~\\&|LAB|F|T|C|20250401120000||ORU^R01^ORU_R01|ORU1|P|2.5||||||UNICODE UTF-8
PID|1||8800000077^^^^PI||A^B^^^^L^I||19600203|M
OBR|1|000000000000021|000000000000022|1^生化学検査^JC10|||202504011000
OBX|1|NM|3H015000002326101^カリウム^JC10||4.1|mmol/L^mmol/L^ISO+|3.5-5.0|N|||F
";

/// The same patient's ADT, complete: PID with an address, and IN1.
const ADT_WITH_IN1: &str =
    "MSH|^~\\&|H|F|T|C|20250401130000||ADT^A08^ADT_A01|ADT7|P|2.5||||||UNICODE UTF-8
PID|1||8800000077^^^^PI||A^B^^^^L^I||19600203|M|||東京都千代田区^^^^1000001
IN1|1|C0^X^JHSD0001|138057|Y||||||Z~12345~01
";

/// A processor whose lab bundles can be built (JP_Bundle_CLINS needs a department, R9014O).
fn lab_processor(dir: &std::path::Path) -> (Processor, Writer) {
    let (writer, _h) = Writer::spawn(store::open(dir).unwrap()).unwrap();
    let department = Some(("01".to_string(), "内科".to_string()));
    let settings = BuildSettings::new("1318814790", department).unwrap();
    let p = Processor::new(
        writer.clone(),
        store::open(dir).unwrap(),
        BundleBuilder::new(settings),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with_terminology(dir, crate::mapping::Policies::default())
    .unwrap();
    (p, writer)
}

#[test]
fn a_result_without_in1_waits_for_its_patient_and_is_queued_when_the_adt_with_in1_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = lab_processor(dir.path());
    let oru = put_hl7(&w, "ORU1", ORU_WITHOUT_IN1);
    assert_eq!(p.step().unwrap(), 1);
    let held = |reason: &str| {
        count(
            dir.path(),
            &format!("SELECT COUNT(*) FROM outbox WHERE inbox_id = {oru} AND state = 'held' AND hold_reason = '{reason}'"),
        )
    };
    assert!(
        held("patient-unknown") > 0,
        "the lab items wait for the patient"
    );
    let c = store::open_existing(dir.path()).unwrap();
    let text: String = c
        .query_row(
            "SELECT last_error FROM outbox WHERE inbox_id = ?1 AND state = 'held' LIMIT 1",
            [oru],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        text.contains("ADT") && text.contains("IN1") && text.contains("患者マスター"),
        "{text}"
    );

    put_hl7(&w, "ADT7", ADT_WITH_IN1);
    p.step().unwrap(); // the ADT brings a complete Patient, which wakes the result
    p.step().unwrap(); // the result is built again, now with that Patient
    assert_eq!(held("patient-unknown"), 0, "released");
    assert_eq!(
        count(
            dir.path(),
            &format!("SELECT COUNT(*) FROM outbox WHERE inbox_id = {oru} AND state = 'held'")
        ),
        0
    );
    assert_eq!(
        count(
            dir.path(),
            &format!("SELECT COUNT(*) FROM outbox WHERE inbox_id = {oru} AND state = 'pending' AND resource_type = 'Observation'")
        ),
        1,
        "the lab bundle is queued"
    );
}

#[test]
fn an_input_with_no_clinical_content_is_quarantined_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, w) = processor(dir.path());
    let null = put(
        &w,
        "null.json",
        br#"{"resourceType":"Bundle","type":"collection","entry":null}"#,
    );
    let empty = put(
        &w,
        "empty.json",
        br#"{"resourceType":"Bundle","type":"collection","entry":[]}"#,
    );
    put(&w, "patient.json", PATIENT.as_bytes());
    assert_eq!(p.step().unwrap(), 3);
    let c = store::open_existing(dir.path()).unwrap();
    for id in [null, empty] {
        let (state, error): (String, String) = c
            .query_row("SELECT state, error FROM inbox WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(state, "quarantined");
        assert!(
            error.contains("no clinical content") && error.contains("臨床データが含まれていません"),
            "{error}"
        );
    }
    let processed: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM inbox WHERE state = 'processed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(processed, 1, "the patient still flows");
}

/// Issue 11, part 2: a package loaded while the processor runs changes the verdict of the next
/// batch, without a restart.
#[test]
fn a_fhir_package_loaded_while_running_validates_the_next_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (p, w) = mapped_processor(dir.path());
    let mut p = p.with_rules_from_masters(true);
    put(&w, "patient.json", PATIENT.as_bytes());
    p.step().unwrap();
    put(&w, "condition.json", CONDITION.as_bytes());
    p.step().unwrap();
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM outbox WHERE state = 'pending'"
        ),
        1
    );
    // A package whose JP_Condition_eCS requires a note, which the condition lacks.
    let pkg = dir.path().join("pkg");
    crate::masters::fhir_package::tests::write_package(&pkg, "1.11.0", 0);
    let sd = serde_json::json!({"resourceType": "StructureDefinition",
        "url": "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS",
        "snapshot": {"element": [
            {"id": "Condition", "min": 0, "max": "*"},
            {"id": "Condition.note", "min": 1, "max": "*", "base": {"max": "*"}}]}});
    std::fs::write(pkg.join("sd-condition.json"), sd.to_string()).unwrap();
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
    crate::masters::fhir_package::load(&mut conn, &pkg).unwrap();
    let second = CONDITION.replace("\"c1\"", "\"c2\"");
    put(&w, "condition-2.json", second.as_bytes());
    p.step().unwrap();
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM outbox WHERE state = 'held' AND last_error LIKE '%resource.note%'"
        ),
        1
    );
}

/// The log lines `f` writes, as text (no colours, no timestamps).
fn logs_of(f: impl FnOnce()) -> String {
    let buf = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&buf);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_writer(move || LogSink(Arc::clone(&sink)))
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buf.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue 12, ExecReload: a requested reload (SIGHUP, ParamChange) re-reads masters, mapping
/// table and rules at once, even a change `data_version` does not show, and says in one line
/// what is in use and that the config needs a restart.
#[test]
fn a_requested_reload_rereads_the_terminology_at_once_and_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _w) = mapped_processor(dir.path());
    let reload = crate::reload_request::ReloadRequest::new();
    let mut p = p
        .with_rules_from_masters(true)
        .with_reload_requests(reload.clone());
    // Written through the processor's own connection, so its data_version does not move: only
    // a requested reload can see this row.
    let t = p.terminology.as_mut().unwrap();
    t.conn
        .execute(
            "INSERT INTO mapping_row VALUES ('disease', '*', 'L', 'X1', 'n',
             'http://medis.or.jp/CodeSystem/master-disease-keyNumber', '20054174', 'd', '', 0)",
            [],
        )
        .unwrap();
    assert!(!t.refresh().unwrap(), "data_version did not move");
    assert_eq!(t.mapper.mapping_rows(), 0);

    assert_eq!(logs_of(|| p.reload_if_requested()), "", "nothing asked");
    reload.request();
    let logs = logs_of(|| p.reload_if_requested());
    assert_eq!(p.terminology.as_ref().unwrap().mapper.mapping_rows(), 1);
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {logs}");
    for part in [
        "INFO",
        "reload: re-read the masters, the mapping table and the loaded FHIR package",
        "configuration changes need a restart",
        "設定の変更は再起動が必要です",
        "masters=none loaded",
        "mapping_rows=1",
        "validation=jp-eCSCLINS.r4#1.10.0 (built-in)",
    ] {
        assert!(lines[0].contains(part), "{part:?} in {logs}");
    }
    assert_eq!(
        logs_of(|| p.reload_if_requested()),
        "",
        "one request, one reload"
    );
}

/// Issue 11, part 2: an idle agent names a package loaded while it runs (status page, `/readyz`,
/// `/metrics`) at its next idle tick, not only once the next input arrives.
#[test]
fn an_idle_processor_publishes_a_newly_loaded_package() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _w) = mapped_processor(dir.path());
    let readiness = crate::ops::Readiness::new();
    let mut p = p
        .with_rules_from_masters(true)
        .with_readiness(readiness.clone());
    p.publish_rules();
    assert!(
        readiness.validation().contains("(built-in)"),
        "{}",
        readiness.validation()
    );
    let pkg = dir.path().join("pkg");
    crate::masters::fhir_package::tests::write_package(&pkg, "1.11.0", 0);
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
    crate::masters::fhir_package::load(&mut conn, &pkg).unwrap();
    assert_eq!(p.step().unwrap(), 0, "nothing to process");
    let named = readiness.validation();
    assert!(
        named.contains("1.11.0") && named.contains("masters load fhir-package"),
        "{named}"
    );
}

/// Issue 11, acceptance: a copy of the official package with one cardinality tightened
/// (JP_Condition_eCS `Condition.note` 0..* → 1..*), loaded while the processor runs, changes the
/// verdict of the next batch. Skipped when `../shared` is absent.
#[test]
fn a_tightened_copy_of_the_official_package_changes_the_verdict_without_a_restart() {
    let official = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fhir/jp-eCSCLINS.r4-1.10.0");
    if !official.join("package.json").is_file() {
        println!("skipped: ../shared/fhir/jp-eCSCLINS.r4-1.10.0 absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (p, w) = mapped_processor(dir.path());
    let mut p = p.with_rules_from_masters(true);
    put(&w, "patient.json", PATIENT.as_bytes());
    p.step().unwrap();
    put(&w, "condition.json", CONDITION.as_bytes());
    p.step().unwrap();
    let pending = "SELECT count(*) FROM outbox WHERE state = 'pending'";
    assert_eq!(count(dir.path(), pending), 1, "the official rules pass it");
    let pkg = dir.path().join("tightened");
    std::fs::create_dir_all(&pkg).unwrap();
    for entry in std::fs::read_dir(&official).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, pkg.join(path.file_name().unwrap())).unwrap();
        }
    }
    let tighten = |file: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let path = pkg.join(file);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
    };
    tighten("package.json", &|v| {
        v["version"] = "1.10.0-tightened".into()
    });
    tighten("StructureDefinition-JP-Condition-eCS.json", &|v| {
        let elements = v["snapshot"]["element"].as_array_mut().unwrap();
        let note = elements
            .iter_mut()
            .find(|e| e["id"] == "Condition.note")
            .expect("Condition.note in the snapshot");
        note["min"] = 1.into();
    });
    let mut conn = crate::store::terminology::open(dir.path()).unwrap();
    crate::masters::fhir_package::load(&mut conn, &pkg).unwrap();
    put(
        &w,
        "condition-2.json",
        CONDITION.replace("\"c1\"", "\"c2\"").as_bytes(),
    );
    p.step().unwrap();
    let held = "SELECT count(*) FROM outbox WHERE state = 'held' AND last_error LIKE '%note%'";
    assert_eq!(count(dir.path(), held), 1, "held under the tightened rule");
}

/// Issue 9, part 3: a quiet processor empties its caches and the writer's, and hands the code
/// pages back; the next inputs are processed as before, from pages read again.
#[test]
fn after_handing_memory_back_the_processor_goes_on_as_before() {
    condition_then_its_patient(|p| p.hand_back_memory());
}

//! A store with known inputs and outcomes for April 2026 (JST), for the report tests and for
//! rendering a sample report (screenshots). Rows are inserted with SQL, as the pipeline and the
//! sender would leave them; raw inputs, bundle bodies, error texts and a diagnosis name carry an
//! invented patient ([`PATIENT_SECRETS`]) that must never reach a report.
//!
//! What it holds (the expected figures are asserted in `quality::tests`):
//! - 10 condition bundles delivered on Apr 1–11; events at 09:00 on Apr k, delivered k hours
//!   later (the 10th: event 16:00, delivered 02:00 next day, late); rows 1–5 carry the v4 columns,
//!   6–10 are classified from their body.
//! - 4 lab bundles (one infection) with events Apr 12 10:00, delivered after 1, 2, 3 and 8 days.
//! - a drug allergy (date-only event Apr 15, delivered 10:00 that day) and a food allergy (event
//!   Apr 15 09:00, delivered the next day); a referral letter (event Apr 20 09:00, delivered 12:00).
//! - 2 condition bundles rejected on Apr 21 (R2152; R2152 and R9011); a condition held invalid and
//!   an observation held for an unknown patient on Apr 22; a held row since superseded (Apr 5);
//!   a quarantined input (Apr 23); an input and delivery just before the month (Mar 31 JST).
//! - uplink: down from Apr 25 00:00 (transient, then ambiguous) to 12:00 (duplicate answer).
//! - coded items: disease 7 mapped, 2 unmapped (C001), 1 invalid (C002); lab 3 mapped,
//!   1 unmapped (L123); allergen 2 mapped; a March lab item that must not count.

use rusqlite::{params, Connection};
use serde_json::{json, Value};

use super::Month;

/// Values of the invented patient that no report may contain.
pub const PATIENT_SECRETS: &[&str] = &[
    "山田太郎",
    "ヤマダ タロウ",
    "PID-98765",
    "1970-01-23",
    "00012345:あいう:１８７:05",
    "千代田区霞が関9-9-9",
];

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// The month the fixture fills.
pub fn month() -> Month {
    "2026-04"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid month"))
}

/// Unix ms of 2026-04-`day` `h`:`m` JST.
pub fn april(day: i64, h: i64, m: i64) -> i64 {
    // 2026-04-01T00:00+09:00.
    1_774_969_200_000 + (day - 1) * DAY + h * HOUR + m * MIN
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&tsunagi_clins::time::jst())
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

fn patient() -> Value {
    json!({"resourceType": "Patient",
           "identifier": [{"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID", "value": "00012345:あいう:１８７:05"}],
           "name": [{"text": "山田太郎"}, {"text": "ヤマダ タロウ"}],
           "birthDate": "1970-01-23", "address": [{"text": "東京都千代田区霞が関9-9-9"}]})
}

fn bundle_of(resources: Vec<Value>) -> Vec<u8> {
    let mut entries = vec![json!({"fullUrl": "urn:uuid:p", "resource": patient()})];
    entries.extend(resources.into_iter().map(|r| json!({ "resource": r })));
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
        .to_string()
        .into_bytes()
}

pub(super) fn input(conn: &Connection, received_at: i64, state: &str) -> i64 {
    let seq: i64 = conn
        .query_row("SELECT COUNT(*) FROM inbox", [], |r| r.get(0))
        .unwrap_or_else(|e| unreachable!("fixture count: {e}"));
    let raw = format!("MSH|^~\\&|HIS||||\rPID|||PID-98765||山田^太郎||19700123|M\rinput {seq}");
    conn.execute(
        "INSERT INTO inbox (source, origin, format, content_hash, size, raw, received_at, state, error)
         VALUES ('his', ?1, 'hl7v2', ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            format!("PID-98765/{seq}.hl7"),
            crate::digest::sha256_hex(raw.as_bytes()),
            raw.len() as i64,
            raw.as_bytes(),
            received_at,
            state,
            (state == "quarantined").then_some("PID-5 山田太郎: cannot decode")
        ],
    )
    .unwrap_or_else(|e| unreachable!("fixture insert: {e}"));
    conn.last_insert_rowid()
}

struct Out<'a> {
    inbox: i64,
    resource_type: &'a str,
    body: Option<Vec<u8>>,
    state: &'a str,
    hold_reason: Option<&'a str>,
    created_at: i64,
    delivered_at: Option<i64>,
    last_error: Option<&'a str>,
    v4: Option<(&'a str, i64)>,
}

fn outbox(conn: &Connection, o: Out<'_>) -> i64 {
    conn.execute(
        "INSERT INTO outbox (inbox_id, idempotency_key, resource_type, patient_ref, body, state,
                             hold_reason, last_error, created_at, updated_at, delivered_at,
                             info_type, event_at)
         VALUES (?1, ?2, ?3, 'Patient/PID-98765', ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)",
        params![
            o.inbox,
            format!("key-{}-{}", o.inbox, o.created_at),
            o.resource_type,
            o.body,
            o.state,
            o.hold_reason,
            o.last_error,
            o.created_at,
            o.delivered_at,
            o.v4.map(|v| v.0),
            o.v4.map(|v| v.1)
        ],
    )
    .unwrap_or_else(|e| unreachable!("fixture insert: {e}"));
    conn.last_insert_rowid()
}

fn attempt(conn: &Connection, outbox_id: i64, at: i64, outcome: &str, detail: Option<&str>) {
    conn.execute(
        "INSERT INTO attempt (outbox_id, at, outcome, detail) VALUES (?1, ?2, ?3, ?4)",
        params![outbox_id, at, outcome, detail],
    )
    .unwrap_or_else(|e| unreachable!("fixture insert: {e}"));
}

fn item(conn: &Connection, inbox: i64, category: &str, code: &str, name: &str, outcome: &str) {
    conn.execute(
        "INSERT INTO item_code (inbox_id, category, source_system, local_system, local_code,
                                local_name, unit, outcome, at)
         VALUES (?1, ?2, 'HIS', '99XYZ', ?3, ?4, NULL, ?5, 0)",
        params![inbox, category, code, name, outcome],
    )
    .unwrap_or_else(|e| unreachable!("fixture insert: {e}"));
}

/// A delivered bundle: input received at `received`, delivered (and attempt accepted) at `delivered`.
fn delivered(
    conn: &Connection,
    received: i64,
    delivered: i64,
    rt: &str,
    body: Vec<u8>,
    v4: Option<(&str, i64)>,
) -> (i64, i64) {
    let inbox = input(conn, received, "processed");
    let id = outbox(
        conn,
        Out {
            inbox,
            resource_type: rt,
            body: Some(body),
            state: "delivered",
            hold_reason: None,
            created_at: received,
            delivered_at: Some(delivered),
            last_error: None,
            v4,
        },
    );
    attempt(conn, id, delivered, "accepted", Some("receipt-1"));
    (inbox, id)
}

fn condition(event: i64) -> Vec<u8> {
    bundle_of(vec![
        json!({"resourceType": "Condition", "onsetDateTime": "2019-05-01",
                          "recordedDate": iso(event), "note": [{"text": "山田太郎 本人の訴え"}]}),
    ])
}

/// Fills a freshly migrated store with the data described in the module doc.
pub fn write_demo_store(conn: &Connection) {
    // Before the month: must not count, but gives the uplink's state at the start.
    let march = april(1, 0, 0) - MIN;
    let (march_in, _) = delivered(
        conn,
        march,
        april(1, 0, 0) - 1,
        "Condition",
        condition(march),
        None,
    );
    item(conn, march_in, "lab", "L999", "March item", "unmapped");

    for k in 1..=10 {
        let event = if k == 10 {
            april(10, 16, 0)
        } else {
            april(k, 9, 0)
        };
        let v4 = (k <= 5).then_some(("condition", event));
        let (inbox, _) = delivered(
            conn,
            event + HOUR,
            event + k * HOUR,
            "Condition",
            condition(event),
            v4,
        );
        match k {
            1..=7 => item(
                conn,
                inbox,
                "disease",
                &format!("D{k:03}"),
                "山田太郎の病名",
                "mapped",
            ),
            8 | 9 => item(
                conn,
                inbox,
                "disease",
                "C001",
                "山田太郎様 自由記載病名",
                "unmapped",
            ),
            _ => item(conn, inbox, "disease", "C002", "山田太郎 疑い", "invalid"),
        }
    }

    let lab_event = april(12, 10, 0);
    for (days, infection) in [(1, true), (2, false), (3, false), (8, false)] {
        let system = if infection {
            "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS"
        } else {
            "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS"
        };
        let body = bundle_of(vec![
            json!({"resourceType": "Observation", "effectiveDateTime": iso(lab_event),
                                         "code": {"coding": [{"system": system, "code": "L1"}]}}),
        ]);
        let (inbox, _) = delivered(
            conn,
            lab_event + 2 * HOUR,
            lab_event + days * DAY,
            "Observation",
            body,
            None,
        );
        if days == 8 {
            item(
                conn,
                inbox,
                "lab",
                "L123",
                "ＬＤＬコレステロール(直接法)",
                "unmapped",
            );
        } else {
            item(
                conn,
                inbox,
                "lab",
                &format!("L00{days}"),
                "白血球数",
                "mapped",
            );
        }
    }

    let drug = bundle_of(vec![
        json!({"resourceType": "AllergyIntolerance", "category": ["medication"], "recordedDate": "2026-04-15"}),
    ]);
    let (a1, _) = delivered(
        conn,
        april(15, 9, 0),
        april(15, 10, 0),
        "AllergyIntolerance",
        drug,
        None,
    );
    item(conn, a1, "allergen", "A1", "山田太郎 ペニシリン", "mapped");
    let food = bundle_of(vec![
        json!({"resourceType": "AllergyIntolerance", "category": ["food"], "recordedDate": iso(april(15, 9, 0))}),
    ]);
    let (a2, _) = delivered(
        conn,
        april(15, 9, 30),
        april(16, 9, 0),
        "AllergyIntolerance",
        food,
        None,
    );
    item(conn, a2, "allergen", "A2", "卵", "mapped");

    let referral = json!({"resourceType": "Bundle", "type": "document", "entry": [
        {"resource": {"resourceType": "Composition", "date": iso(april(20, 9, 0)),
                      "type": {"coding": [{"code": "57133-1"}]}, "title": "山田太郎 様 紹介状"}},
        {"resource": patient()},
        {"resource": {"resourceType": "Condition", "onsetDateTime": "2026-04-19"}}]});
    let (_, referral_id) = delivered(
        conn,
        april(20, 11, 0),
        april(20, 12, 0),
        "Composition",
        referral.to_string().into_bytes(),
        None,
    );

    let details = [
        "HTTP 422: HTTP 422 Unprocessable Entity: error invalid @Bundle.identifier.value: R2152: bad format (山田太郎)",
        "HTTP 400: HTTP 400 Bad Request: error invalid [R2152,R9011] @Bundle.entry[1]: see PID-98765 born 1970-01-23",
    ];
    for (i, detail) in details.iter().enumerate() {
        let at = april(21, 10 + i as i64, 0);
        let inbox = input(conn, april(21, 8, 0), "processed");
        let id = outbox(
            conn,
            Out {
                inbox,
                resource_type: "Condition",
                body: Some(condition(april(21, 8, 0))),
                state: "rejected",
                hold_reason: None,
                created_at: april(21, 9, 0),
                delivered_at: None,
                last_error: Some(detail),
                v4: None,
            },
        );
        attempt(conn, id, at, "rejected", Some(detail));
    }

    let inbox = input(conn, april(22, 8, 0), "processed");
    outbox(conn, Out {
        inbox, resource_type: "Condition", body: Some(condition(april(22, 8, 0))), state: "held",
        hold_reason: Some("invalid"), created_at: april(22, 9, 0), delivered_at: None,
        last_error: Some("R2152 Bundle.identifier.value: bad / 不正; TSG-FULLURL Bundle.entry[1].fullUrl: 山田太郎 duplicate / 重複"),
        v4: None,
    });
    let inbox = input(conn, april(22, 8, 0), "processed");
    outbox(
        conn,
        Out {
            inbox,
            resource_type: "Observation",
            body: None,
            state: "held",
            hold_reason: Some("patient-unknown"),
            created_at: april(22, 10, 0),
            delivered_at: None,
            last_error: Some("patient PID-98765 山田太郎 unknown"),
            v4: None,
        },
    );
    let inbox = input(conn, april(5, 8, 0), "processed");
    outbox(
        conn,
        Out {
            inbox,
            resource_type: "Observation",
            body: None,
            state: "superseded",
            hold_reason: Some("patient-unknown"),
            created_at: april(5, 9, 0),
            delivered_at: None,
            last_error: None,
            v4: None,
        },
    );
    input(conn, april(23, 8, 0), "quarantined");

    attempt(
        conn,
        referral_id,
        april(25, 0, 0),
        "transient",
        Some("Server: HTTP 503"),
    );
    attempt(
        conn,
        referral_id,
        april(25, 6, 0),
        "ambiguous",
        Some("timeout after sending"),
    );
    attempt(conn, referral_id, april(25, 12, 0), "duplicate", None);
}

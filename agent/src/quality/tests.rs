//! The report on a store with known inputs (`fixture`): every figure asserted exactly, in JSON
//! and CSV; the HTML self-contained; no patient value in any format.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::{json, Value};

use super::csv::{self, Encoding};
use super::fixture::{self, april, PATIENT_SECRETS};
use super::{html, metrics, report, Lang, Month};

const H: i64 = 3_600_000;

fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(dir.path()).unwrap();
    fixture::write_demo_store(&conn);
    (dir, conn)
}

fn now() -> i64 {
    april(61, 0, 0)
}

fn json_of(conn: &Connection, month: Month) -> Value {
    let r = metrics::compute(conn, month, now()).unwrap();
    serde_json::from_str(&report::to_json(&r).unwrap()).unwrap()
}

fn row<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row {key}={value} in {list}"))
}

#[test]
fn json_figures_equal_the_known_inputs() {
    let (_d, conn) = store();
    let j = json_of(&conn, fixture::month());
    assert_eq!(j["schema"], "tsunagi.quality/1");
    assert_eq!(j["month"], "2026-04");
    assert_eq!(
        j["totals"],
        json!({"received": 23, "quarantined": 1, "delivered": 17, "rejected": 2, "held": 2,
               "success_percent": 81.0, "coded_percent": 75.0, "on_time_percent": 81.3})
    );
    let daily = &j["daily"];
    assert_eq!(daily.as_array().unwrap().len(), 30);
    assert_eq!(
        row(daily, "date", "2026-04-01"),
        &json!({"date": "2026-04-01", "received": 1, "quarantined": 0, "delivered": 1, "rejected": 0, "held": 0})
    );
    assert_eq!(
        row(daily, "date", "2026-04-11")["delivered"],
        1,
        "02:00 JST belongs to the 11th"
    );
    assert_eq!(row(daily, "date", "2026-04-11")["received"], 0);
    assert_eq!(row(daily, "date", "2026-04-12")["received"], 4);
    assert_eq!(row(daily, "date", "2026-04-15")["delivered"], 2);
    assert_eq!(row(daily, "date", "2026-04-21")["rejected"], 2);
    assert_eq!(row(daily, "date", "2026-04-22")["held"], 2);
    assert_eq!(row(daily, "date", "2026-04-23")["quarantined"], 1);
    assert_eq!(
        row(daily, "date", "2026-04-05")["held"],
        0,
        "superseded rows do not count"
    );

    let cond = row(&j["by_type"], "info_type", "condition");
    assert_eq!(
        cond,
        &json!({"info_type": "condition", "label_ja": "傷病名", "label_en": "Diagnoses",
                "delivered": 10, "rejected": 2, "held": 1,
                "event_delay": {"count": 10, "p50_ms": 5 * H, "p95_ms": 10 * H},
                "timing_rule": "same_day", "assessed": 10, "on_time": 9, "on_time_percent": 90.0})
    );
    let lab = row(&j["by_type"], "info_type", "lab");
    assert_eq!(
        (
            lab["delivered"].as_u64(),
            lab["assessed"].as_u64(),
            lab["on_time"].as_u64()
        ),
        (Some(3), Some(3), Some(2))
    );
    assert_eq!(lab["on_time_percent"], 66.7);
    assert_eq!(
        lab["event_delay"],
        json!({"count": 3, "p50_ms": 72 * H, "p95_ms": 192 * H})
    );
    assert_eq!(
        row(&j["by_type"], "info_type", "infection")["on_time_percent"],
        100.0
    );
    assert_eq!(
        row(&j["by_type"], "info_type", "drug_allergy")["on_time"],
        1
    );
    assert_eq!(
        row(&j["by_type"], "info_type", "other_allergy")["on_time_percent"],
        0.0
    );
    let referral = row(&j["by_type"], "info_type", "referral");
    assert_eq!(
        (
            referral["delivered"].as_u64(),
            referral["assessed"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(referral["on_time_percent"], Value::Null);
    assert_eq!(row(&j["by_type"], "info_type", "unclassified")["held"], 1);
    assert_eq!(j["by_type"].as_array().unwrap().len(), 9);
    assert_eq!(
        row(&j["daily_by_type"], "info_type", "drug_allergy"),
        &json!({"date": "2026-04-15", "info_type": "drug_allergy", "delivered": 1, "rejected": 0, "held": 0})
    );

    assert_eq!(
        j["coded"],
        json!([
            {"category": "disease", "mapped": 7, "unmapped": 2, "invalid": 1, "total": 10, "coded_percent": 70.0},
            {"category": "lab", "mapped": 3, "unmapped": 1, "invalid": 0, "total": 4, "coded_percent": 75.0},
            {"category": "allergen", "mapped": 2, "unmapped": 0, "invalid": 0, "total": 2, "coded_percent": 100.0},
            {"category": "drug", "mapped": 0, "unmapped": 0, "invalid": 0, "total": 0, "coded_percent": null},
        ])
    );
    assert_eq!(
        j["unmapped_codes"],
        json!([
            {"rank": 1, "category": "disease", "source_system": "HIS", "local_system": "99XYZ", "local_code": "C001",
             "local_name": null, "outcome": "unmapped", "items": 2, "records": 2},
            {"rank": 2, "category": "disease", "source_system": "HIS", "local_system": "99XYZ", "local_code": "C002",
             "local_name": null, "outcome": "invalid", "items": 1, "records": 1},
            {"rank": 3, "category": "lab", "source_system": "HIS", "local_system": "99XYZ", "local_code": "L123",
             "local_name": "ＬＤＬコレステロール(直接法)", "outcome": "unmapped", "items": 1, "records": 1},
        ])
    );
    assert_eq!(
        j["reasons"],
        json!([
            {"rank": 1, "kind": "rejection", "key": "R2152", "bundles": 2},
            {"rank": 2, "kind": "hold", "key": "invalid", "bundles": 1},
            {"rank": 3, "kind": "hold", "key": "patient-unknown", "bundles": 1},
            {"rank": 4, "kind": "rejection", "key": "R9011", "bundles": 1},
            {"rank": 5, "kind": "validation", "key": "R2152", "bundles": 1},
            {"rank": 6, "kind": "validation", "key": "TSG-FULLURL", "bundles": 1},
        ])
    );
    assert_eq!(
        j["delay"],
        json!({
            "event_to_delivery": {"count": 17, "p50_ms": 8 * H, "p95_ms": 192 * H},
            "receipt_to_delivery": {"count": 17, "p50_ms": 6 * H, "p95_ms": 190 * H},
            "histogram": [
                {"bucket": "lt_1h", "count": 0}, {"bucket": "1h_6h", "count": 6},
                {"bucket": "6h_24h", "count": 6}, {"bucket": "1d_3d", "count": 3},
                {"bucket": "3d_7d", "count": 1}, {"bucket": "ge_7d", "count": 1},
            ]
        })
    );
    assert_eq!(
        j["availability"],
        json!({"attempts": 22, "known_ms": 720 * H, "up_ms": 708 * H, "down_ms": 12 * H,
               "availability_percent": 98.33, "outages": 1, "longest_outage_ms": 12 * H})
    );
}

/// Blocks of the CSV: section name → rows as header → value.
fn csv_blocks(text: &str) -> HashMap<String, Vec<HashMap<String, String>>> {
    assert!(
        !text.contains("\n\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    let mut out = HashMap::new();
    for block in text.split("\r\n\r\n") {
        let mut lines = block.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header[0], "section");
        let rows: Vec<HashMap<String, String>> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                header
                    .iter()
                    .map(|h| h.to_string())
                    .zip(l.split(',').map(str::to_owned))
                    .collect()
            })
            .collect();
        let name = rows
            .first()
            .map(|r| r["section"].clone())
            .unwrap_or_else(|| format!("empty{}", out.len()));
        assert!(rows.iter().all(|r| r["section"] == name));
        out.insert(name, rows);
    }
    out
}

#[test]
fn csv_figures_equal_the_known_inputs() {
    let (_d, conn) = store();
    let r = metrics::compute(&conn, fixture::month(), now()).unwrap();
    let bytes = csv::render(&r, Lang::Ja, Encoding::Utf8);
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let b = csv_blocks(&text);
    let summary = &b["summary"][0];
    let get = |k: &str| summary[k].as_str();
    assert_eq!(
        [
            get("month"),
            get("received"),
            get("quarantined"),
            get("delivered"),
            get("rejected"),
            get("held")
        ],
        ["2026-04", "23", "1", "17", "2", "2"]
    );
    assert_eq!(
        [
            get("success_percent"),
            get("coded_percent"),
            get("on_time_percent"),
            get("availability_percent")
        ],
        ["81.0", "75.0", "81.3", "98.33"]
    );
    assert_eq!(
        [get("event_delay_p50_ms"), get("event_delay_p95_ms")],
        ["28800000", "691200000"]
    );
    assert_eq!(b["daily"].len(), 30);
    let cond = b["by_type"]
        .iter()
        .find(|r| r["info_type"] == "condition")
        .unwrap();
    assert_eq!(
        [
            "label",
            "delivered",
            "rejected",
            "held",
            "on_time",
            "assessed",
            "on_time_percent",
            "event_delay_p50_ms"
        ]
        .map(|k| cond[k].as_str()),
        ["傷病名", "10", "2", "1", "9", "10", "90.0", "18000000"]
    );
    let disease = b["coded"]
        .iter()
        .find(|r| r["category"] == "disease")
        .unwrap();
    assert_eq!(
        ["mapped", "unmapped", "invalid", "total", "coded_percent"].map(|k| disease[k].as_str()),
        ["7", "2", "1", "10", "70.0"]
    );
    let drug = b["coded"].iter().find(|r| r["category"] == "drug").unwrap();
    assert_eq!(drug["coded_percent"], "");
    let top = &b["unmapped_codes"][0];
    assert_eq!(
        ["rank", "local_code", "local_name", "records"].map(|k| top[k].as_str()),
        ["1", "C001", "", "2"]
    );
    assert_eq!(
        b["unmapped_codes"][2]["local_name"],
        "ＬＤＬコレステロール(直接法)"
    );
    let first = &b["reasons"][0];
    assert_eq!(
        ["kind", "key", "bundles"].map(|k| first[k].as_str()),
        ["rejection", "R2152", "2"]
    );
    let hist: Vec<&str> = b["delay_histogram"]
        .iter()
        .map(|r| r["count"].as_str())
        .collect();
    assert_eq!(hist, ["0", "6", "6", "3", "1", "1"]);
    assert_eq!(b["availability"][0]["down_ms"], (12 * H).to_string());
    assert_eq!(b["delay"][1]["p95_ms"], (190 * H).to_string());

    let en = csv::render_text(&r, Lang::En);
    assert!(en.contains(",condition,Diagnoses,10,2,1,"), "{en}");
}

#[test]
fn cp932_csv_decodes_to_the_same_text() {
    let (_d, conn) = store();
    let r = metrics::compute(&conn, fixture::month(), now()).unwrap();
    let bytes = csv::render(&r, Lang::Ja, Encoding::Cp932);
    let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!errors);
    assert_eq!(decoded, csv::render_text(&r, Lang::Ja));
    assert!(decoded.contains("傷病名"));
}

#[test]
fn html_has_a_chart_per_figure_and_no_external_resource() {
    let (_d, conn) = store();
    for lang in [Lang::Ja, Lang::En] {
        let page = report::render_html(&conn, fixture::month(), lang).unwrap();
        assert_eq!(
            page.matches("<svg").count(),
            3,
            "daily trend, coded rate, delay histogram"
        );
        assert_eq!(page.matches("</svg>").count(), 3);
        for banned in [
            "http://", "https://", "src=", "href=", "<script", "@import", "url(", "<link",
        ] {
            assert!(!page.contains(banned), "{banned} in the page");
        }
        assert!(page.contains("@media print"));
        assert!(page.contains("tsunagi mapping suggest"));
        assert!(
            page.contains("ＬＤＬコレステロール(直接法)"),
            "lab master terms are shown"
        );
        assert!(page.contains("<code>C001</code>"), "diagnoses by code");
        assert!(page.contains("<code>R2152</code>"));
    }
    let ja = report::render_html(&conn, fixture::month(), Lang::Ja).unwrap();
    assert!(
        ja.contains(r#"<html lang="ja">"#) && ja.contains("提供成功率") && ja.contains("81.0%")
    );
    assert!(
        ja.contains("未確認"),
        "the incentive note says what is unverified"
    );
    let en = report::render_html(&conn, fixture::month(), Lang::En).unwrap();
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("Delivered share"));
}

#[test]
fn no_patient_value_reaches_any_format() {
    let (_d, conn) = store();
    let month = fixture::month();
    let r = metrics::compute(&conn, month, now()).unwrap();
    let cp932_bytes = csv::render(&r, Lang::Ja, Encoding::Cp932);
    let cp932 = encoding_rs::SHIFT_JIS.decode(&cp932_bytes).0.into_owned();
    let outputs = [
        html::render(&r, Lang::Ja),
        html::render(&r, Lang::En),
        csv::render_text(&r, Lang::Ja),
        csv::render_text(&r, Lang::En),
        cp932,
        report::to_json(&r).unwrap(),
    ];
    // The secrets are really in the store (raw, bodies, errors, a diagnosis name).
    let stored: String = conn
        .query_row(
            "SELECT (SELECT group_concat(CAST(raw AS TEXT) || COALESCE(error, '')) FROM inbox) || (SELECT group_concat(CAST(body AS TEXT)) FROM outbox)
                    || (SELECT group_concat(last_error) FROM outbox) || (SELECT group_concat(local_name) FROM item_code)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let free_text = ["自由記載病名", "ペニシリン", "紹介状", "本人の訴え", "疑い"];
    for s in PATIENT_SECRETS.iter().chain(&free_text) {
        assert!(stored.contains(s), "the fixture lacks {s}");
        for out in &outputs {
            assert!(!out.contains(s), "{s} leaked into a report");
        }
    }
}

#[test]
fn databases_before_v4_are_classified_from_the_stored_body() {
    let (_d, conn) = store();
    let month = fixture::month();
    let with_columns = metrics::compute(&conn, month, now()).unwrap();
    conn.execute_batch(
        "ALTER TABLE outbox DROP COLUMN info_type; ALTER TABLE outbox DROP COLUMN event_at;",
    )
    .unwrap();
    let without = metrics::compute(&conn, month, now()).unwrap();
    assert_eq!(with_columns, without);
}

#[test]
fn the_stored_information_type_wins_over_the_body() {
    let (_d, conn) = store();
    conn.execute(
        "UPDATE outbox SET info_type = 'checkup', event_at = NULL WHERE id = (SELECT MAX(id) FROM outbox WHERE info_type = 'condition')",
        [],
    )
    .unwrap();
    let j = json_of(&conn, fixture::month());
    assert_eq!(row(&j["by_type"], "info_type", "checkup")["delivered"], 1);
    assert_eq!(row(&j["by_type"], "info_type", "condition")["delivered"], 9);
    assert_eq!(j["delay"]["event_to_delivery"]["count"], 16);
}

#[test]
fn an_empty_month_renders_with_no_figures() {
    let (_d, conn) = store();
    let empty: Month = "2025-01".parse().unwrap();
    let j = json_of(&conn, empty);
    assert_eq!(j["totals"]["received"], 0);
    assert_eq!(j["totals"]["success_percent"], Value::Null);
    assert_eq!(j["daily"].as_array().unwrap().len(), 31);
    assert_eq!(j["availability"]["availability_percent"], Value::Null);
    let page = report::render_html(&conn, empty, Lang::Ja).unwrap();
    assert_eq!(page.matches("<svg").count(), 3);
    let csv = csv::render_text(&metrics::compute(&conn, empty, now()).unwrap(), Lang::En);
    assert!(
        csv.contains("\r\n\r\nsection,rank,kind,key,bundles\r\n\r\n"),
        "empty blocks keep their header"
    );
}

#[test]
fn missing_insurance_ids_get_their_own_figure_and_words() {
    use crate::store::outbox::insert_held;
    use tsunagi_clins::build::HoldReason::{PatientNoInsuranceId, PatientUnknown};
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(dir.path()).unwrap();
    let at = april(10, 9, 0);
    let held = [
        ("Patient", "Patient/PID-98765", PatientNoInsuranceId),
        ("Condition", "Patient/PID-98765", PatientNoInsuranceId),
        ("Patient", "Patient/PID-11111", PatientNoInsuranceId),
        ("Observation", "Patient/PID-22222", PatientUnknown),
    ];
    for (kind, patient, reason) in held {
        let inbox = fixture::input(&conn, at, "processed");
        let held = crate::store::outbox::NewHeld {
            inbox_id: inbox,
            resource_type: kind,
            patient_ref: Some(patient),
            reason,
            message: "held / 保留",
            facts: Default::default(),
        };
        insert_held(&conn, &held).unwrap();
    }
    conn.execute("UPDATE outbox SET created_at = ?1", [at])
        .unwrap();

    let j = json_of(&conn, fixture::month());
    assert_eq!(j["insurance_gap"], json!({"items": 3, "patients": 2}));
    assert_eq!(
        row(&j["reasons"], "key", "patient-no-insurance-id")["bundles"],
        3,
        "a known reason, not `other`"
    );
    let ja = report::render_html(&conn, fixture::month(), Lang::Ja).unwrap();
    assert!(ja.contains("被保険者番号なし: 2 人 (3 件保留)"), "{ja}");
    assert!(ja.contains("患者情報待ち <code>patient-unknown</code>"));
    let en = report::render_html(&conn, fixture::month(), Lang::En).unwrap();
    assert!(en.contains("No insurance member id: 2 patients (3 items held)"));
    let csv = csv::render_text(
        &metrics::compute(&conn, fixture::month(), now()).unwrap(),
        Lang::En,
    );
    assert!(
        csv.contains("section,items,patients\r\ninsurance_gap,3,2\r\n"),
        "{csv}"
    );
    for page in [&ja, &en, &csv] {
        assert!(!page.contains("PID-"), "patients are counted, never named");
    }
}

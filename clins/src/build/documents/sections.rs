//! Composition sections: the document-section code system's displays, the sections each
//! document kind requires (from the 1.10.0 Composition differentials), and the prescription
//! section that must reference every MedicationRequest.

use serde_json::{json, Value};

use super::{incomplete, DocumentKind};
use crate::build::Held;

/// `http://jpfhir.jp/fhir/clins/CodeSystem/document-section`.
pub(crate) const SECTION_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/document-section";

/// Display of a document-section code (CodeSystem-jp-codeSystem-clins-document-section).
pub(crate) fn display(code: &str) -> Option<&'static str> {
    Some(match code {
        "200" => "CDA参照セクション",
        "210" => "添付情報セクション",
        "220" => "備考・連絡情報セクション",
        "230" => "PDFセクション",
        "300" => "構造情報セクション",
        "312" => "入院理由セクション",
        "322" => "入院時詳細セクション",
        "324" => "退院時詳細セクション",
        "330" => "臨床経過セクション",
        "333" => "入院中経過セクション",
        "340" => "傷病名・主訴セクション",
        "342" => "入院時診断セクション",
        "344" => "退院時診断セクション",
        "352" => "主訴セクション",
        "360" => "現病歴セクション",
        "370" => "既往歴セクション",
        "410" => "事前指示セクション",
        "420" => "診療方針指示セクション",
        "422" => "計画サマリーセクション",
        "424" => "退院時方針指示セクション",
        "430" => "投薬指示セクション",
        "432" => "入院時服薬セクション",
        "444" => "退院時投薬指示セクション",
        "510" => "アレルギー・不耐性反応セクション",
        "520" => "感染症情報セクション",
        "530" => "予防接種歴セクション",
        "550" => "家族歴セクション",
        "610" => "身体所見セクション",
        "612" => "入院時身体所見セクション",
        "614" => "退院時身体所見セクション",
        "620" => "検査結果セクション",
        "623" => "入院中検査結果セクション",
        "640" => "社会歴・生活習慣セクション",
        "713" => "入院中治療セクション",
        "720" => "処置セクション",
        "730" => "手術セクション",
        "740" => "輸血歴セクション",
        "810" => "医療機器セクション",
        "830" => "臨床研究参加セクション",
        "910" => "紹介先情報セクション",
        "920" => "紹介元情報セクション",
        "950" => "紹介目的セクション",
        _ => return None,
    })
}

/// The section's document-section code, if it has one.
pub(crate) fn code_of(section: &Value) -> Option<&str> {
    section
        .pointer("/code/coding")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(SECTION_SYSTEM))?
        .get("code")?
        .as_str()
}

/// Fills missing displays and titles of every section (recursively).
pub(crate) fn complete(sections: &mut [Value]) {
    for s in sections.iter_mut() {
        if let Some(code) = code_of(s).map(str::to_string) {
            if let Some(d) = display(&code) {
                if let Some(list) = s.pointer_mut("/code/coding").and_then(Value::as_array_mut) {
                    for c in list.iter_mut().filter(|c| {
                        c.get("code").and_then(Value::as_str) == Some(&code)
                            && c.get("display").is_none()
                    }) {
                        c["display"] = d.into();
                    }
                }
                if s.get("title").is_none() {
                    s["title"] = d.trim_end_matches("セクション").into();
                }
            }
        }
        if let Some(children) = s.get_mut("section").and_then(Value::as_array_mut) {
            complete(children);
        }
    }
}

fn find<'a>(sections: &'a [Value], code: &str) -> Option<&'a Value> {
    sections.iter().find(|s| code_of(s) == Some(code))
}

fn children(section: &Value) -> &[Value] {
    section
        .get("section")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn has_text(section: &Value) -> bool {
    section
        .pointer("/text/div")
        .and_then(Value::as_str)
        .is_some_and(|d| strip_tags(d).trim().chars().any(|c| !c.is_whitespace()))
}

fn strip_tags(div: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in div.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Checks the sections `kind` requires; the error names the missing section codes.
pub(crate) fn check(kind: DocumentKind, sections: &[Value]) -> Result<(), Held> {
    let structured = find(sections, "300");
    let cda = find(sections, "200");
    let (top, inner): (&[&str], &[&str]) = match kind {
        DocumentKind::Referral => (&["920", "910"], &["950", "340", "360"]),
        DocumentKind::DischargeSummary => (
            &[],
            &[
                "322", "342", "352", "312", "360", "333", "324", "344", "444", "424",
            ],
        ),
        DocumentKind::CheckupGeneral => return Ok(()),
    };
    let mut missing: Vec<&str> = top
        .iter()
        .filter(|c| find(sections, c).is_none())
        .copied()
        .collect();
    match (structured, cda) {
        (Some(_), Some(_)) => {
            return Err(incomplete(
                "the Composition has both a CDA section (200) and a structured section (300); exactly one is allowed",
                "CDA参照セクション（200）と構造情報セクション（300）の両方があります。どちらか一方のみ可能です",
            ))
        }
        (None, None) => missing.push("300"),
        (Some(s), None) => missing.extend(
            inner
                .iter()
                .filter(|c| find(children(s), c).is_none())
                .copied(),
        ),
        (None, Some(_)) => {}
    }
    if !missing.is_empty() {
        let list = missing.join(", ");
        return Err(incomplete(
            format!("the Composition lacks required sections (document-section codes {list})"),
            format!("Compositionに必須のセクションがありません（セクションコード {list}）"),
        ));
    }
    if kind == DocumentKind::Referral {
        let purpose = structured.and_then(|s| find(children(s), "950"));
        if purpose.is_some_and(|p| !has_text(p)) {
            return Err(incomplete(
                "the referral purpose section (950) has no text; a referral needs its purpose written out",
                "紹介目的セクション（950）に本文がありません。紹介目的の記載が必要です",
            ));
        }
    }
    Ok(())
}

/// The prescription section code of a kind (`430` 投薬指示, `444` 退院時投薬指示).
fn medication_code(kind: DocumentKind) -> Option<&'static str> {
    match kind {
        DocumentKind::Referral => Some("430"),
        DocumentKind::DischargeSummary => Some("444"),
        DocumentKind::CheckupGeneral => None,
    }
}

/// Makes every MedicationRequest fullUrl in `urls` referenced from the prescription
/// section inside the structured section (creating it when absent).
pub(crate) fn reference_medications(kind: DocumentKind, sections: &mut [Value], urls: &[String]) {
    let Some(code) = medication_code(kind) else {
        return;
    };
    let Some(structured) = sections.iter_mut().find(|s| code_of(s) == Some("300")) else {
        return;
    };
    let referenced = |s: &Value, url: &str| {
        s.get("entry").and_then(Value::as_array).is_some_and(|e| {
            e.iter()
                .any(|r| r.get("reference").and_then(Value::as_str) == Some(url))
        })
    };
    let list = match structured.get_mut("section") {
        Some(Value::Array(list)) => list,
        _ => {
            structured["section"] = json!([]);
            match structured.get_mut("section") {
                Some(Value::Array(list)) => list,
                _ => return,
            }
        }
    };
    let at = match list.iter().position(|s| code_of(s) == Some(code)) {
        Some(at) => at,
        None => {
            let d = display(code).unwrap_or_default();
            list.push(json!({"title": d.trim_end_matches("セクション"),
                "code": {"coding": [{"system": SECTION_SYSTEM, "code": code, "display": d}]},
                "text": {"status": "additional",
                         "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">処方</div>"}}));
            list.len() - 1
        }
    };
    let section = &mut list[at];
    for url in urls {
        if !referenced(section, url) {
            let entry = json!({"reference": url, "type": "MedicationRequest"});
            match section.get_mut("entry") {
                Some(Value::Array(e)) => e.push(entry),
                _ => section["entry"] = json!([entry]),
            }
        }
    }
}

//! PPR^ZD1 (SS-MIX2 PPR-01): PRB (+ ZPR, + ORC) → [`Condition`].
//!
//! - PRB-1 action: `DE` → [`Condition::entered_in_error`].
//! - PRB-3 `code^name^system` (and the alternate triple 4-6): `MDCDX2` 8 digits → 病名管理番号,
//!   4 characters → 交換用コード; `99999999` under any system → the "uncoded" placeholder
//!   (kept as the 病名管理番号 `99999999`); other local codes (`99XYZ`…) → [`Condition::local_code`].
//! - PRB-4 → record id; PRB-7 → recorded; PRB-16 → onset; PRB-9 (else PRB-15 when PRB-14 is
//!   sent) → abatement; PRB-14 → outcome (HL70241) as received.
//! - PRB-10 `K297^^I10` → ICD-10 without the dot. PRB-13 `1`/`P` → 疑い. PRB-18 `1` → 主病名.
//! - PRB-17 (else PRB-3 name) → original text.
//! - ZPR after a PRB: ZPR-1/ZPR-3 prefix/postfix 修飾語管理番号 (repeating), ZPR-4/ZPR-6 their
//!   交換用コード (same order), ZPR-2/ZPR-5 the disease's 管理番号/交換用コード when PRB-3 lacks them.
//! - ORC-17 after a PRB (before the next PRB) → department.

use super::{coded_at, value, Ctx};
use crate::hl7v2::parse::Segment;
use crate::{Coded, Condition, DiseaseModifier, Record, Sensitive};

const UNCODED: &str = "99999999";

pub(super) fn conditions(segments: &[Segment<'_>], ctx: &mut Ctx<'_>, out: &mut Vec<Record>) {
    let mut current: Option<Condition> = None;
    for seg in segments {
        match seg.id() {
            "PRB" => {
                if let Some(c) = current.take() {
                    out.push(Record::Condition(c));
                }
                current = Some(from_prb(seg, ctx));
            }
            "ZPR" => match current.as_mut() {
                Some(c) => apply_zpr(seg, c, ctx),
                None => ctx.warn(
                    seg.locate(1),
                    "ZPR without a preceding PRB; not read",
                    "直前にPRBがないZPRのため、読み取りませんでした",
                ),
            },
            "ORC" => {
                if let Some(c) = current.as_mut() {
                    if c.department.is_none() {
                        c.department = coded_at(seg.field(17).repetition(1), 1);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(c) = current {
        out.push(Record::Condition(c));
    }
}

fn from_prb(prb: &Segment<'_>, ctx: &mut Ctx<'_>) -> Condition {
    let mut c = Condition {
        patient_id: ctx.patient_id.clone(),
        ..Condition::default()
    };
    match value(prb.field(1).component(1)).as_deref() {
        Some("DE") => c.entered_in_error = true,
        Some("AD" | "UP" | "UC" | "CO" | "LI" | "UN" | "RE") | None => {}
        Some(_) => ctx.warn(
            prb.locate(1),
            "unknown action code; read as an addition",
            "不明なアクションコードのため、追加として読みました",
        ),
    }
    let id = prb.field(3).repetition(1);
    let mut name = None;
    for first in [1, 4] {
        let Some(code) = coded_at(id, first) else {
            continue;
        };
        name = name.or(code.display.clone());
        disease_code(code, &mut c, prb, ctx);
    }
    if c.disease_key.is_none() && c.local_code.is_none() && c.exchange_code.is_none() {
        name = name.or_else(|| value(id.component(2)));
    }
    c.record_id = value(prb.field(4).component(1));
    c.recorded = ctx.time(prb, 7);
    c.onset = ctx.time(prb, 16);
    c.outcome = coded_at(prb.field(14).repetition(1), 1);
    c.abatement = ctx.time(prb, 9);
    if c.abatement.is_none() && c.outcome.is_some() {
        c.abatement = ctx.time(prb, 15);
    }
    let class = prb.field(10).repetition(1);
    if let Some(icd) = value(class.component(1)) {
        match value(class.component(3)).as_deref() {
            Some("I10") | None => c.icd10 = Some(icd.replace('.', "")),
            Some(_) => ctx.warn(
                prb.locate(10),
                "problem classification is not ICD-10 (I10); not read",
                "問題分類がICD-10（I10）ではないため、読み取りませんでした",
            ),
        }
    }
    match value(prb.field(13).component(1)).as_deref() {
        Some("1" | "P") => c.suspected = true,
        Some("0" | "C" | "F") | None => {}
        Some(_) => ctx.warn(
            prb.locate(13),
            "unknown confirmation status; confirmed assumed",
            "確定状況コードが不明なため、確定としました",
        ),
    }
    c.principal = value(prb.field(18).component(1)).as_deref() == Some("1");
    let text = value(prb.field(17).component(1)).or(name);
    if text.is_none() {
        ctx.warn(
            prb.locate(3),
            "no disease name (PRB-17 or PRB-3.2)",
            "病名の文字列（PRB-17またはPRB-3.2）がありません",
        );
    }
    c.original_text = Sensitive::new(text.unwrap_or_default());
    if c.disease_key.is_none()
        && c.local_code.is_none()
        && c.icd10.is_none()
        && c.exchange_code.is_none()
    {
        ctx.warn(
            prb.locate(3),
            "no disease code; only the name is kept",
            "病名コードがないため、病名の文字列のみ保持しました",
        );
    }
    c
}

fn disease_code(code: Coded, c: &mut Condition, prb: &Segment<'_>, ctx: &mut Ctx<'_>) {
    let is_digits = code.code.bytes().all(|b| b.is_ascii_digit());
    if code.code == UNCODED {
        c.disease_key.get_or_insert_with(|| UNCODED.to_string());
    } else if code.system == "MDCDX2" && code.code.len() == 8 && is_digits {
        c.disease_key.get_or_insert(code.code);
    } else if code.system == "MDCDX2" && code.code.chars().count() == 4 {
        c.exchange_code.get_or_insert(code.code);
    } else {
        if code.system == "MDCDX2" {
            ctx.warn(
                prb.locate(3),
                "MDCDX2 code is neither 8 digits nor 4 characters; kept as a local code",
                "MDCDX2のコードが8桁の数字でも4文字でもないため、ローカルコードとして保持しました",
            );
        }
        c.local_code.get_or_insert(code);
    }
}

fn modifiers(zpr: &Segment<'_>, codes: usize, exchange: usize) -> Vec<DiseaseModifier> {
    let ex: Vec<Option<String>> = zpr
        .field(exchange)
        .repetitions()
        .map(|r| value(r.component(1)))
        .collect();
    zpr.field(codes)
        .repetitions()
        .enumerate()
        .filter_map(|(i, r)| {
            let key = value(r.component(1))?;
            Some(DiseaseModifier {
                key_number: key,
                exchange_code: ex.get(i).cloned().flatten(),
                display: value(r.component(2)),
            })
        })
        .collect()
}

fn apply_zpr(zpr: &Segment<'_>, c: &mut Condition, ctx: &mut Ctx<'_>) {
    c.prefix_modifiers.extend(modifiers(zpr, 1, 4));
    c.postfix_modifiers.extend(modifiers(zpr, 3, 6));
    if let Some(key) = value(zpr.field(2).component(1)) {
        match &c.disease_key {
            None => c.disease_key = Some(key),
            Some(k) if *k == key || k == UNCODED => {}
            Some(_) => ctx.warn(
                zpr.locate(2),
                "disease key differs from PRB-3; PRB-3 kept",
                "病名管理番号がPRB-3と異なるため、PRB-3を採用しました",
            ),
        }
    }
    if c.exchange_code.is_none() {
        c.exchange_code = value(zpr.field(5).component(1));
    }
}

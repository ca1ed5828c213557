//! AL1 (ADT-00) and IAM (ADT^A60, SS-MIX2 ADT-61) → [`Allergy`].
//!
//! AL1-2 / IAM-2 allergen type (HL70127) → category: `DA` medication, `FA` food, `EA` `AA`
//! `LA` `PA` environment (environmental, animal, pollen, plant), `MA` `MC` and others unknown.
//! AL1-3 / IAM-3 allergen `code^text^system` (J-FAGY, 99XYZ, …) as received, its text is the
//! original text. AL1-4 / IAM-4 severity (HL70128), AL1-5 / IAM-5 reactions (joined with
//! `、`), AL1-6 identification date → recorded. IAM-7 → record id, IAM-11 → onset,
//! IAM-13 → recorded. IAM-6 `D` (delete) gives no record and a warning.

use super::{coded_at, value, Ctx};
use crate::hl7v2::parse::Segment;
use crate::{Allergy, AllergyCategory, Sensitive};

fn category(code: Option<&str>) -> AllergyCategory {
    match code {
        Some("DA") => AllergyCategory::Medication,
        Some("FA") => AllergyCategory::Food,
        Some("EA" | "AA" | "LA" | "PA") => AllergyCategory::Environment,
        _ => AllergyCategory::Unknown,
    }
}

/// AL1 and IAM share fields 2-5.
fn common(seg: &Segment<'_>, ctx: &mut Ctx<'_>) -> Allergy {
    let allergen = coded_at(seg.field(3).repetition(1), 1);
    let text =
        value(seg.field(3).component(2)).or_else(|| allergen.as_ref().map(|a| a.code.clone()));
    if allergen.is_none() && text.is_none() {
        ctx.warn(
            seg.locate(3),
            "no allergen code or text",
            "アレルゲンのコードも文字列もありません",
        );
    }
    let reactions: Vec<String> = seg
        .field(5)
        .repetitions()
        .filter_map(|r| value(r.component(2)).or_else(|| value(r.component(1))))
        .collect();
    Allergy {
        patient_id: ctx.patient_id.clone(),
        category: category(value(seg.field(2).component(1)).as_deref()),
        allergen,
        original_text: Sensitive::new(text.unwrap_or_default()),
        severity: coded_at(seg.field(4).repetition(1), 1),
        reaction: (!reactions.is_empty()).then(|| Sensitive::new(reactions.join("、"))),
        ..Allergy::default()
    }
}

pub(super) fn from_al1(al1: &Segment<'_>, ctx: &mut Ctx<'_>) -> Allergy {
    let mut a = common(al1, ctx);
    a.recorded = ctx.time(al1, 6);
    a
}

pub(super) fn from_iam(iam: &Segment<'_>, ctx: &mut Ctx<'_>) -> Option<Allergy> {
    if value(iam.field(6).component(1)).as_deref() == Some("D") {
        ctx.warn(
            iam.locate(6),
            "allergy deletion (IAM-6 D) is not represented; no record",
            "アレルギー削除（IAM-6 D）は表現できないため、記録にしませんでした",
        );
        return None;
    }
    let mut a = common(iam, ctx);
    a.record_id = value(iam.field(7).component(1));
    a.onset = ctx.time(iam, 11);
    a.recorded = ctx.time(iam, 13);
    Some(a)
}

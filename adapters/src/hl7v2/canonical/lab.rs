//! OUL^R22 (SS-MIX2 OML-11) and ORU^R01: SPM / OBR / OBX → [`LabResult`] per OBX.
//!
//! - SPM-4 specimen (JLAC10 材料 `023^血清^JC10`), SPM-17 collection time; they apply to the
//!   OBX after them until the next SPM. OBR-2 (else OBR-3) is the report id, OBR-7 the
//!   collection time when no SPM gives one; OBX-14 is the last fallback.
//! - OBX-3 `code^name^system` is the local code as received; `JC10` (primary or alternate
//!   triple) also gives the JLAC10 code (a warning when it is not 17 characters).
//! - OBX-2 + OBX-5: `NM` → numeric text (a warning and text when it is not a number), `SN`
//!   `=^12` / `^12` → numeric, other SN → text; `CWE`/`CE`/`CNE`/`CF` → coded (text when no
//!   code); `ST`/`TX`/`FT` and dates → text; unknown types → text with a warning.
//!   Repetitions of text values are joined by a line break.
//! - OBX-6 unit (code, else text), OBX-7 range, OBX-8 flag, OBX-11 status.

use super::{coded_at, value, Ctx};
use crate::hl7v2::parse::Segment;
use crate::{Coded, LabResult, LabValue, Record, Sensitive};

#[derive(Default)]
struct Context {
    specimen: Option<Coded>,
    spm_time: Option<String>,
    obr_time: Option<String>,
    report_id: Option<String>,
}

pub(super) fn results(segments: &[Segment<'_>], ctx: &mut Ctx<'_>, out: &mut Vec<Record>) {
    let mut group = Context::default();
    for seg in segments {
        match seg.id() {
            "SPM" => {
                group.specimen = coded_at(seg.field(4).repetition(1), 1);
                group.spm_time = ctx.time(seg, 17);
            }
            "OBR" => {
                group.report_id =
                    value(seg.field(2).component(1)).or_else(|| value(seg.field(3).component(1)));
                group.obr_time = ctx.time(seg, 7);
            }
            "OBX" => out.push(Record::LabResult(from_obx(seg, &group, ctx))),
            _ => {}
        }
    }
}

fn from_obx(obx: &Segment<'_>, group: &Context, ctx: &mut Ctx<'_>) -> LabResult {
    let id = obx.field(3).repetition(1);
    let primary = coded_at(id, 1);
    let alternate = coded_at(id, 4);
    let jlac10 = [&primary, &alternate]
        .into_iter()
        .flatten()
        .find(|c| c.system == "JC10")
        .map(|c| c.code.clone());
    if jlac10.as_ref().is_some_and(|c| c.len() != 17) {
        ctx.warn(
            obx.locate(3),
            "JC10 code is not 17 characters; kept as received",
            "JC10のコードが17桁ではありません。受信したまま保持しました",
        );
    }
    let local_code = primary.or(alternate).unwrap_or_else(|| {
        ctx.warn(obx.locate(3), "no test code", "検査項目コードがありません");
        Coded {
            system: String::new(),
            code: String::new(),
            display: value(id.component(2)),
        }
    });
    LabResult {
        patient_id: ctx.patient_id.clone(),
        report_id: group.report_id.clone(),
        local_code,
        jlac10,
        value: lab_value(obx, ctx),
        unit: value(obx.field(6).component(1)).or_else(|| value(obx.field(6).component(2))),
        reference_range: value(obx.field(7).component(1)),
        flag: value(obx.field(8).component(1)),
        specimen: group.specimen.clone(),
        collected_at: match group.spm_time.as_ref().or(group.obr_time.as_ref()) {
            Some(t) => Some(t.clone()),
            None => ctx.time(obx, 14),
        },
        status: value(obx.field(11).component(1)),
    }
}

fn lab_value(obx: &Segment<'_>, ctx: &mut Ctx<'_>) -> Option<LabValue> {
    let f = obx.field(5);
    if f.is_empty() {
        return None;
    }
    let kind = obx.field(2).component(1).raw().trim();
    let first = f.repetition(1);
    let text = || {
        let all: Vec<String> = f.repetitions().map(|r| r.text().into_owned()).collect();
        LabValue::Text(Sensitive::new(all.join("\n")))
    };
    let numeric = |s: Option<String>| s.filter(|s| LabValue::is_number(s)).map(LabValue::Numeric);
    match kind {
        "NM" => numeric(value(first.component(1))).or_else(|| {
            ctx.warn(
                obx.locate(5),
                "NM value is not a number; kept as text",
                "NM型の値が数値ではないため、文字列として保持しました",
            );
            Some(text())
        }),
        "SN" => {
            let plain =
                matches!(first.component(1).raw(), "" | "=") && first.component(3).is_empty();
            plain
                .then(|| numeric(value(first.component(2))))
                .flatten()
                .or_else(|| Some(text()))
        }
        "CWE" | "CE" | "CNE" | "CF" => coded_at(first, 1)
            .map(LabValue::Coded)
            .or_else(|| value(first.component(2)).map(|t| LabValue::Text(Sensitive::new(t)))),
        "ST" | "TX" | "FT" | "DT" | "TS" | "DTM" | "TM" => Some(text()),
        _ => {
            ctx.warn(
                obx.locate(2),
                "unknown or missing value type; value kept as text",
                "値の型が不明または未指定のため、文字列として保持しました",
            );
            Some(text())
        }
    }
}

//! RDE^O11 (SS-MIX2 OMP-01 処方, OMP-02 注射) → [`Prescription`].
//!
//! An order is an RXE with the TQ1, RXR and RXC segments after it, under the last ORC
//! (a new ORC or a second RXE starts the next order). Without RXC, the RXE is one
//! prescription: RXE-2 drug `code^name^system` (HOT9, HOT7, HOT, YJ, 99XYZ, … kept
//! as received; the alternate triple too), RXE-3 dose with RXE-5 unit (text, else code).
//! With RXC (injections), each RXC is one prescription: RXC-2 drug, RXC-3 amount, RXC-4 unit,
//! [`Prescription::injection`] set; the RXE-2 of such an order is the injection type.
//! For both: ORC-2 order id, ORC-9 (else ORC-15) authored, TQ1-3.1 usage `code&text&system`
//! (JAMISDP01 16-character 用法; a warning when not 16 alphanumerics), TQ1-6 days (`7^d`), RXR-1 route.
//! TQ1-7/8 are not read (ssmixtwins garbles their times).

use super::{coded_at, coded_sub, value, Ctx};
use crate::hl7v2::parse::Segment;
use crate::{Coded, Prescription, Quantity, Record};

#[derive(Default)]
struct Order<'s, 'a> {
    orc: Option<&'s Segment<'a>>,
    rxe: Option<&'s Segment<'a>>,
    rxc: Vec<&'s Segment<'a>>,
    tq1: Option<&'s Segment<'a>>,
    rxr: Option<&'s Segment<'a>>,
}

pub(super) fn prescriptions(segments: &[Segment<'_>], ctx: &mut Ctx<'_>, out: &mut Vec<Record>) {
    let mut order = Order::default();
    for seg in segments {
        match seg.id() {
            "ORC" => {
                flush(std::mem::take(&mut order), ctx, out);
                order.orc = Some(seg);
            }
            "RXE" => {
                if order.rxe.is_some() {
                    let orc = order.orc;
                    flush(std::mem::take(&mut order), ctx, out);
                    order.orc = orc;
                }
                order.rxe = Some(seg);
            }
            "RXC" => order.rxc.push(seg),
            "TQ1" if order.tq1.is_none() => order.tq1 = Some(seg),
            "RXR" if order.rxr.is_none() => order.rxr = Some(seg),
            _ => {}
        }
    }
    flush(order, ctx, out);
}

fn drug_codes(seg: &Segment<'_>, n: usize) -> Vec<Coded> {
    let r = seg.field(n).repetition(1);
    [1, 4]
        .iter()
        .filter_map(|&first| coded_at(r, first))
        .collect()
}

fn quantity(seg: &Segment<'_>, amount: usize, unit: usize, ctx: &mut Ctx<'_>) -> Option<Quantity> {
    let v = value(seg.field(amount).component(1))?;
    if !crate::LabValue::is_number(&v) {
        ctx.warn(
            seg.locate(amount),
            "amount is not a number; kept as received",
            "数量が数値ではありません。受信したまま保持しました",
        );
    }
    let u = seg.field(unit);
    Some(Quantity {
        value: v,
        unit: value(u.component(2)).or_else(|| value(u.component(1))),
    })
}

fn flush(order: Order<'_, '_>, ctx: &mut Ctx<'_>, out: &mut Vec<Record>) {
    if order.rxe.is_none() && order.rxc.is_empty() {
        return;
    }
    let mut base = Prescription {
        patient_id: ctx.patient_id.clone(),
        ..Prescription::default()
    };
    if let Some(orc) = order.orc {
        base.order_id = value(orc.field(2).component(1));
        base.authored = ctx.time(orc, 9);
        if base.authored.is_none() {
            base.authored = ctx.time(orc, 15);
        }
    }
    if let Some(tq1) = order.tq1 {
        base.usage = coded_sub(tq1.field(3).component(1));
        if let Some(u) = base.usage.as_ref().filter(|u| u.system == "JAMISDP01") {
            if u.code.len() != 16 || !u.code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                ctx.warn(
                    tq1.locate(3),
                    "JAMISDP01 usage code is not 16 characters",
                    "JAMISDP01の用法コードが16桁ではありません",
                );
            }
        }
        base.days = days(tq1, ctx);
    }
    base.route = order
        .rxr
        .and_then(|r| coded_at(r.field(1).repetition(1), 1));
    if order.rxc.is_empty() {
        if let Some(rxe) = order.rxe {
            let mut p = base.clone();
            p.drug_codes = drug_codes(rxe, 2);
            p.drug_text = value(rxe.field(2).component(2));
            if p.drug_codes.is_empty() && p.drug_text.is_none() {
                ctx.warn(
                    rxe.locate(2),
                    "no drug code or name",
                    "薬剤のコードも名称もありません",
                );
            }
            p.dose = quantity(rxe, 3, 5, ctx);
            out.push(Record::Prescription(p));
        }
    } else {
        for rxc in order.rxc {
            let mut p = base.clone();
            p.injection = true;
            p.drug_codes = drug_codes(rxc, 2);
            p.drug_text = value(rxc.field(2).component(2));
            if p.drug_codes.is_empty() && p.drug_text.is_none() {
                ctx.warn(
                    rxc.locate(2),
                    "no drug code or name",
                    "薬剤のコードも名称もありません",
                );
            }
            p.dose = quantity(rxc, 3, 4, ctx);
            out.push(Record::Prescription(p));
        }
    }
}

fn days(tq1: &Segment<'_>, ctx: &mut Ctx<'_>) -> Option<u32> {
    let f = tq1.field(6);
    let n = value(f.component(1))?;
    let unit = value(f.component(2)).unwrap_or_default();
    match (n.parse::<u32>(), unit.as_str()) {
        (Ok(n), "d" | "D" | "日" | "") => Some(n),
        (Ok(n), "wk" | "w" | "W") => n.checked_mul(7),
        _ => {
            ctx.warn(
                tq1.locate(6),
                "service duration is not a number of days; left out",
                "投与期間が日数として読めないため、使いませんでした",
            );
            None
        }
    }
}

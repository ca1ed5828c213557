//! PID (+ IN1) → [`Patient`].
//!
//! - PID-3: the first repetition's ID (CX-1) is the hospital's patient ID.
//! - PID-5: each repetition is one name. 漢字 or カナ is decided by XPN-8 (name representation
//!   `I` ideographic / `P` phonetic); some senders (ssmixtwins) shift it into XPN-7, which is
//!   accepted too. Without either code the script decides (all katakana → カナ) and a warning
//!   says so.
//! - PID-7 birth date (date part), PID-8 sex (`M`/`F`/`O`/`U`, also `A`/`N` → other/unknown).
//! - PID-11 address: the home (`H`) repetition, else the first; XAD-8 holds the whole address
//!   in JAHIS practice, else state + city + street are joined.
//! - Insurance (JP_Insurance_memberID `保険者番号:記号:番号:枝番`), **assumed layout**:
//!   IN1-3 保険者番号 (digits, zero-padded to 8); IN1-10 with two or more repetitions is read as
//!   `記号~番号~枝番` (what ssmixtwins writes); otherwise IN1-10 is 記号 and IN1-11 番号
//!   (the JAHIS 処方 exchange layout), 枝番 empty. The first IN1 with a 番号 wins; 公費 IN1s
//!   without 記号・番号 give none.

use super::{sub_value, value, Ctx};
use crate::hl7v2::parse::{Repetition, Segment};
use crate::{Gender, InsuranceId, Patient, PersonName, Sensitive};

pub(super) fn patient(pid: &Segment<'_>, in1: &[&Segment<'_>], ctx: &mut Ctx<'_>) -> Patient {
    let mut p = Patient {
        local_id: ctx.patient_id.clone(),
        ..Patient::default()
    };
    for rep in pid.field(5).repetitions() {
        let Some(name) = person_name(rep) else {
            continue;
        };
        match representation(rep) {
            Some(true) => set_once(&mut p.name_kanji, name),
            Some(false) => set_once(&mut p.name_kana, name),
            None => {
                ctx.warn(
                    pid.locate(5),
                    "name without representation code (XPN-8); kanji or kana decided from the script",
                    "氏名の表記区分（XPN-8）がないため、文字種から漢字・カナを判定しました",
                );
                if is_katakana(&name) {
                    set_once(&mut p.name_kana, name)
                } else {
                    set_once(&mut p.name_kanji, name)
                }
            }
        }
    }
    p.birth_date = ctx
        .time(pid, 7)
        .map(|t| Sensitive::new(t.chars().take(10).collect()));
    p.gender = match value(pid.field(8).component(1)).as_deref() {
        None => Gender::Unknown,
        Some("M") => Gender::Male,
        Some("F") => Gender::Female,
        Some("O" | "A") => Gender::Other,
        Some("U" | "N") => Gender::Unknown,
        Some(_) => {
            ctx.warn(
                pid.locate(8),
                "unknown sex code; unknown assumed",
                "性別コードが不明なため、不明としました",
            );
            Gender::Unknown
        }
    };
    p.address = address(pid).map(Sensitive::new);
    p.insurance = in1.iter().find_map(|seg| insurance(seg, ctx));
    p
}

fn set_once(slot: &mut Option<PersonName>, name: PersonName) {
    if slot.is_none() {
        *slot = Some(name);
    }
}

fn person_name(rep: Repetition<'_>) -> Option<PersonName> {
    let family = sub_value(rep.component(1), 1);
    let given = value(rep.component(2));
    if family.is_none() && given.is_none() {
        return None;
    }
    Some(PersonName {
        family: Sensitive::new(family.unwrap_or_default()),
        given: Sensitive::new(given.unwrap_or_default()),
    })
}

/// Some(true) = 漢字, Some(false) = カナ, None = not said.
fn representation(rep: Repetition<'_>) -> Option<bool> {
    [8, 7]
        .iter()
        .find_map(|&n| match rep.component(n).raw().trim() {
            "I" => Some(true),
            "P" => Some(false),
            "A" => Some(true),
            _ => None,
        })
}

fn is_katakana(name: &PersonName) -> bool {
    let all = format!("{}{}", name.family.expose(), name.given.expose());
    all.chars()
        .all(|c| matches!(c, '\u{30A0}'..='\u{30FF}' | '\u{FF66}'..='\u{FF9F}' | ' ' | '　'))
}

fn address(pid: &Segment<'_>) -> Option<String> {
    let f = pid.field(11);
    let rep = f
        .repetitions()
        .find(|r| r.component(7).raw() == "H")
        .unwrap_or_else(|| f.repetition(1));
    if let Some(whole) = value(rep.component(8)) {
        return Some(whole);
    }
    let parts: Vec<String> = [4, 3, 1, 2]
        .iter()
        .filter_map(|&n| value(rep.component(n)))
        .collect();
    (!parts.is_empty()).then(|| parts.join(""))
}

fn insurance(in1: &Segment<'_>, ctx: &mut Ctx<'_>) -> Option<InsuranceId> {
    let ids = in1.field(10);
    let reps: Vec<Option<String>> = ids.repetitions().map(|r| value(r.component(1))).collect();
    let (symbol, number, branch) = if reps.len() >= 2 {
        (
            reps[0].clone(),
            reps[1].clone(),
            reps.get(2).cloned().flatten(),
        )
    } else {
        (
            reps.first().cloned().flatten(),
            value(in1.field(11).component(1)),
            None,
        )
    };
    let number = number?;
    // ssmixtwins always fills IN1-11 with a placeholder; a 番号 needs 記号 or IN1-10 repetitions.
    if reps.len() < 2 && symbol.is_none() {
        return None;
    }
    let insurer = value(in1.field(3).component(1)).unwrap_or_default();
    let insurer =
        if !insurer.is_empty() && insurer.len() <= 8 && insurer.bytes().all(|b| b.is_ascii_digit())
        {
            format!("{insurer:0>8}")
        } else {
            ctx.warn(
                in1.locate(3),
                "insurer number is not 1-8 digits; kept as received",
                "保険者番号が1〜8桁の数字ではありません。受信したまま保持しました",
            );
            insurer
        };
    Some(InsuranceId {
        insurer_number: Sensitive::new(insurer),
        symbol: Sensitive::new(symbol.unwrap_or_default()),
        number: Sensitive::new(number),
        branch: Sensitive::new(branch.unwrap_or_default()),
    })
}

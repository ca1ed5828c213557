//! The builder's questions ([`Terminology`]) answered from the masters and the mapping table,
//! one category at a time, each outcome recorded as an [`ItemOutcome`].
//!
//! Which local code a record is looked up by:
//! - 傷病名: the 病名管理番号 it carries (`MDCDX2`), else its local code (`99xxx`), else — an
//!   EHR's uncoded placeholder `99999999` with only the name — the name itself
//!   ([`NAME_SYSTEM`]);
//! - 検査: its JLAC10 code when it has one (a CLINS designated item first, then general
//!   JLAC10), else its local item code;
//! - アレルギー: its J-FAGY code, else its local code, else its name;
//! - 処方: its YJ/HOT code, else its first local code.

use tsunagi_adapters::{Allergy, AllergyCategory, Condition, LabResult, Prescription};

use super::category::{self as cs, check_format};
use super::format::{is_uncoded_disease, UNCODED_DISEASE};
use super::outcome::{ItemOutcome, Outcome, Reason, Via};
use super::resolve::{resolve, LocalCode, Resolution};
use super::terminology::{Coding, Coding3, LabCoding, SourceRef, Terminology};
use super::{
    jfagy_system, AllergenKind, Category, ExtraKey, InputMapper, MasterCatalog, MasterKind,
    SetCatalog, UnmappedPolicy, NAME_SYSTEM,
};

/// ICD-10 (2013), written beside the 病名管理番号.
const ICD10: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
/// MEDIS 病名交換用コード.
const DISEASE_EXCODE: &str = "http://medis.or.jp/CodeSystem/master-disease-exCode";

/// What is known about one item besides its code.
struct Item<'a> {
    category: Category,
    local: LocalCode,
    name: Option<&'a str>,
    unit: Option<&'a str>,
    specimen: Option<&'a str>,
}

impl InputMapper<'_> {
    /// Resolves one item, applies its category's policy and records the outcome; returns the
    /// outcome and, for a mapped item, its standard coding.
    fn ask(&self, source: &SourceRef<'_>, item: Item<'_>) -> (Outcome, Option<Coding>) {
        let m = self.mapper;
        let catalog = SetCatalog(&m.masters);
        let source_system = source.sending_application.unwrap_or(source.source);
        let (category, local) = (item.category, &item.local);
        let national = category.accepts_system(&local.system)
            && check_format(&local.system, &local.code).is_ok();
        let resolution = if national && !catalog.covers(category, &local.system) {
            // A national code whose master is not loaded: pass it on, unverified.
            Resolution {
                outcome: Outcome::Mapped {
                    via: Via::Direct,
                    verified: false,
                },
                coding: Some(Coding::new(
                    &local.system,
                    &local.code,
                    item.name.unwrap_or(&local.code),
                )),
            }
        } else {
            resolve(&m.table, category, source_system, local, &catalog)
        };
        let outcome = self.with_policy(category, resolution.outcome);
        let standard = resolution.coding.filter(|_| outcome.is_mapped());
        self.record(ItemOutcome {
            category,
            source_system: source_system.to_string(),
            local_system: local.system.clone(),
            local_code: local.code.clone(),
            local_name: item.name.map(str::to_string),
            unit: item.unit.map(str::to_string),
            specimen: item.specimen.map(str::to_string),
            outcome: outcome.clone(),
            standard_system: standard.as_ref().map(|c| c.system.clone()),
            standard_code: standard.as_ref().map(|c| c.code.clone()),
        });
        (outcome, standard)
    }

    /// An unmapped code is held when its category's policy says so.
    fn with_policy(&self, category: Category, outcome: Outcome) -> Outcome {
        match outcome {
            Outcome::Unmapped { .. }
                if self.mapper.policies.for_category(category) == UnmappedPolicy::Hold =>
            {
                Outcome::Held(Reason {
                    en: format!(
                        "the local {} code maps to no national code and the policy holds such items; map it (tsunagi mapping suggest / import) and run tsunagi replay --unmapped",
                        category.as_str()
                    ),
                    ja: "ローカルコードに対応する標準コードがなく、設定により保留しました。対応表を登録し（tsunagi mapping suggest / import）、tsunagi replay --unmapped を実行してください".into(),
                })
            }
            other => other,
        }
    }

    fn display(&self, kind: MasterKind, code: &str) -> Option<String> {
        self.mapper
            .masters
            .lookup(kind, code)
            .map(|e| e.display.to_string())
    }
}

fn local(system: &str, code: &str) -> LocalCode {
    LocalCode {
        system: system.to_string(),
        code: code.to_string(),
        allergen_kind: AllergenKind::default(),
    }
}

impl Terminology for InputMapper<'_> {
    fn disease(&self, source: &SourceRef<'_>, c: &Condition) -> Coding3 {
        let text = c.original_text.expose().trim();
        let key = c.disease_key.as_deref().filter(|k| !is_uncoded_disease(k));
        let local = match (key, &c.local_code) {
            (Some(k), _) => local(cs::DISEASE_KEY_NUMBER, k),
            (None, Some(l)) => local(&l.system, &l.code),
            (None, None) => local(NAME_SYSTEM, text),
        };
        let (outcome, standard) = self.ask(
            source,
            Item {
                category: Category::Disease,
                local,
                name: Some(text),
                unit: None,
                specimen: None,
            },
        );
        let icd10 = |entry_icd: Option<&str>| -> Option<Coding> {
            let code = c.icd10.as_deref().or(entry_icd)?;
            Some(Coding::new(ICD10, code, text))
        };
        let Some(Coding {
            system,
            code,
            display,
        }) = &standard
        else {
            return Coding3 {
                codings: icd10(None).into_iter().collect(),
                outcome,
            };
        };
        let mut codings = Vec::new();
        if system == cs::DISEASE_KEY_NUMBER {
            let entry = self.mapper.masters.lookup(MasterKind::MedisDisease, code);
            codings.push(Coding::new(system, code, display));
            let exchange = c
                .exchange_code
                .as_deref()
                .or(entry.and_then(|e| e.extra(ExtraKey::ExchangeCode)));
            if let Some(ex) = exchange {
                codings.push(Coding::new(DISEASE_EXCODE, ex, display));
            }
            codings.extend(icd10(entry.and_then(|e| e.extra(ExtraKey::Icd10))));
        } else {
            // A レセ電 傷病名 code: the 病名管理番号 slice still needs a coding.
            codings.push(Coding::new(
                cs::DISEASE_KEY_NUMBER,
                UNCODED_DISEASE,
                "未コード化傷病名",
            ));
            codings.push(Coding::new(system, code, display));
            codings.extend(icd10(None));
        }
        Coding3 { codings, outcome }
    }

    fn modifier(&self, key_number: &str) -> Option<String> {
        self.display(MasterKind::MedisModifier, key_number)
    }

    fn lab(&self, source: &SourceRef<'_>, l: &LabResult) -> LabCoding {
        let name = l.local_code.display.as_deref();
        let specimen = l.specimen.as_ref().map(|s| s.code.as_str());
        let designated = l.jlac10.as_deref().and_then(|code| {
            let e = self.mapper.masters.lookup(MasterKind::ClinsLab, code)?;
            Some(e.extra(ExtraKey::System)?.to_string())
        });
        let local = match (&l.jlac10, designated) {
            (Some(code), Some(system)) => local(&system, code),
            (Some(code), None) => local(cs::JLAC10, code),
            (None, _) => local(&l.local_code.system, &l.local_code.code),
        };
        let (outcome, standard) = self.ask(
            source,
            Item {
                category: Category::Lab,
                local,
                name,
                unit: l.unit.as_deref(),
                specimen,
            },
        );
        LabCoding {
            standard,
            local_display: None,
            outcome,
        }
    }

    fn allergen(&self, source: &SourceRef<'_>, a: &Allergy) -> Coding3 {
        let text = a.original_text.expose().trim();
        let kind = match a.category {
            AllergyCategory::Medication => AllergenKind::Medication,
            AllergyCategory::Food => AllergenKind::Food,
            AllergyCategory::Environment | AllergyCategory::Unknown => AllergenKind::Other,
        };
        let mut code = match &a.allergen {
            Some(c) if !c.code.starts_with('D') && jfagy_system(&c.code).is_some() => {
                local(jfagy_system(&c.code).unwrap_or_default(), &c.code)
            }
            Some(c) => local(&c.system, &c.code),
            None => local(NAME_SYSTEM, text),
        };
        code.allergen_kind = kind;
        let name = a
            .allergen
            .as_ref()
            .and_then(|c| c.display.as_deref())
            .or(Some(text));
        let (outcome, standard) = self.ask(
            source,
            Item {
                category: Category::Allergen,
                local: code,
                name,
                unit: None,
                specimen: None,
            },
        );
        Coding3 {
            codings: standard.into_iter().collect(),
            outcome,
        }
    }

    fn drug(&self, source: &SourceRef<'_>, p: &Prescription) -> Coding3 {
        let national = |system: &str, code: &str| -> Option<&'static str> {
            Some(match (system.to_ascii_uppercase().as_str(), code.len()) {
                ("YJ", _) => cs::YJ,
                ("HOT13" | "HOT", 13) => cs::HOT13,
                ("HOT9" | "HOT", 9) => cs::HOT9,
                ("HOT7" | "HOT", 7) => cs::HOT7,
                _ => return None,
            })
        };
        let chosen = p
            .drug_codes
            .iter()
            .find_map(|c| Some(local(national(&c.system, &c.code)?, &c.code)))
            .or_else(|| p.drug_codes.first().map(|c| local(&c.system, &c.code)));
        let Some(code) = chosen else {
            return Coding3 {
                codings: Vec::new(),
                outcome: self.with_policy(Category::Drug, Outcome::Unmapped { reviewed: false }),
            };
        };
        let (outcome, standard) = self.ask(
            source,
            Item {
                category: Category::Drug,
                local: code,
                name: p.drug_text.as_deref(),
                unit: None,
                specimen: None,
            },
        );
        match &standard {
            Some(Coding {
                system,
                code,
                display,
            }) => {
                let mut codings = Vec::new();
                // A HOT13 the HOT master knows gives its YJ code too (R3010 wants one).
                if system == cs::HOT13 {
                    let entry = self.mapper.masters.lookup(MasterKind::Hot, code);
                    if let Some(yj) = entry.and_then(|e| e.extra(ExtraKey::Yj)) {
                        codings.push(Coding::new(cs::YJ, yj, display));
                    }
                }
                codings.push(Coding::new(system, code, display));
                Coding3 { codings, outcome }
            }
            None => Coding3 {
                codings: Vec::new(),
                outcome,
            },
        }
    }
}

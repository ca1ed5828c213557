//! Code format checks: pure functions that say whether a string can be a code of a code system
//! (shape only; whether the code exists is the masters' job).
//!
//! Rules (reference §2 of `jp-clins-and-ssmix2.md`, where marked unverified there the rule is
//! kept loose):
//! - 病名管理番号, 修飾語管理番号: 8 digits; `99999999` is the "not coded" marker for diseases.
//! - 交換用コード: 4 characters `0-9A-Z`.
//! - ICD-10 (2013): no dot, a letter then 2–4 of `0-9A-Z`.
//! - JLAC10: 17 = 分析物 5 (digit 大分類, letter 中分類, 3 digits), 識別 4, 材料 3, 測定法 3,
//!   結果識別 2, all digits after the analyte's letter. 測定法 998/999 (方法問わず/その他) are
//!   ordinary digits and pass.
//! - JLAC11: 17 = 測定物 5 (a letter then 4 of `0-9A-Z`), 識別 4 (`0-9A-Z`), 材料 3, 測定法 3
//!   (digits), 結果単位 2 (first `0-9A-Z` without I and O, second a digit). Written without
//!   the hyphens of printed tables.
//! - YJ: 12 of `0-9A-Z`. 一般名処方コード: 9 of `0-9A-Z` then `ZZZ`.
//! - HOT13 / HOT9 / HOT7: 13 / 9 / 7 digits. レセ電: 傷病名 7, 修飾語 4, 医薬品 9 digits.
//! - J-FAGY: `J9F`/`J9N` + 9 of `0-9A-Z`; `YCM` + YJ (12); `GCM` + 9 + `ZZZ`; the dummies
//!   `D9F`/`D9M`/`D9N` + `000000000`.

use super::MasterKind;

/// The shapes of codes this module knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeFormat {
    /// MEDIS 病名管理番号.
    MedisDiseaseKey,
    /// MEDIS 修飾語管理番号.
    MedisModifierKey,
    /// MEDIS 病名/修飾語 交換用コード.
    MedisExchange,
    /// ICD-10 (2013), no dot.
    Icd10,
    /// JLAC10, 17 characters.
    Jlac10,
    /// JLAC11, 17 characters.
    Jlac11,
    /// JLAC10 or JLAC11 (the CLINS designated items use both).
    Jlac,
    /// YJ (個別医薬品コード).
    Yj,
    /// 一般名処方コード.
    GeneralName,
    /// HOT13.
    Hot13,
    /// HOT9.
    Hot9,
    /// HOT7.
    Hot7,
    /// レセ電 傷病名コード.
    ReceiptDisease,
    /// レセ電 修飾語コード.
    ReceiptModifier,
    /// レセ電 医薬品コード.
    ReceiptDrug,
    /// J-FAGY.
    Jfagy,
}

/// Why a string is not a code of the format. Messages never quote the string (callers may pass
/// any field of an input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Nothing there.
    #[error("{0}: empty / {ja}: 空です", ja = .0.name_ja())]
    Empty(CodeFormat),
    /// Wrong number of characters.
    #[error("{format}: {expected} characters expected, {found} found / {ja}: {expected}文字のはずが{found}文字です", ja = format.name_ja())]
    Length {
        /// Which format.
        format: CodeFormat,
        /// What it needs (e.g. `8`, `3-5`).
        expected: &'static str,
        /// How many characters it has.
        found: usize,
    },
    /// A character not allowed at its position.
    #[error("{format}: character {position} ({segment}) must be {allowed} / {ja}: {position}文字目({segment})は{allowed}でなければなりません", ja = format.name_ja())]
    Character {
        /// Which format.
        format: CodeFormat,
        /// 1-based position.
        position: usize,
        /// The part of the code (e.g. `分析物`).
        segment: &'static str,
        /// What is allowed there.
        allowed: &'static str,
    },
    /// A J-FAGY dummy whose core is not all zeros.
    #[error("J-FAGY: a dummy code (D9F/D9M/D9N) must end in 000000000 / J-FAGY: ダミーコードは000000000で終わります")]
    JfagyDummy,
    /// A J-FAGY code with a metacode this module does not know.
    #[error("J-FAGY: unknown prefix; J9F, J9N, YCM, GCM, D9F, D9M or D9N expected / J-FAGY: 先頭3文字が不明です")]
    JfagyPrefix,
}

impl std::fmt::Display for CodeFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl CodeFormat {
    /// English name for messages.
    pub fn name(self) -> &'static str {
        match self {
            CodeFormat::MedisDiseaseKey => "MEDIS disease key number",
            CodeFormat::MedisModifierKey => "MEDIS modifier key number",
            CodeFormat::MedisExchange => "MEDIS exchange code",
            CodeFormat::Icd10 => "ICD-10",
            CodeFormat::Jlac10 => "JLAC10",
            CodeFormat::Jlac11 => "JLAC11",
            CodeFormat::Jlac => "JLAC10/JLAC11",
            CodeFormat::Yj => "YJ code",
            CodeFormat::GeneralName => "general-name prescription code",
            CodeFormat::Hot13 => "HOT13",
            CodeFormat::Hot9 => "HOT9",
            CodeFormat::Hot7 => "HOT7",
            CodeFormat::ReceiptDisease => "receipt disease code",
            CodeFormat::ReceiptModifier => "receipt modifier code",
            CodeFormat::ReceiptDrug => "receipt drug code",
            CodeFormat::Jfagy => "J-FAGY",
        }
    }

    /// Japanese name for messages.
    pub fn name_ja(self) -> &'static str {
        match self {
            CodeFormat::MedisDiseaseKey => "病名管理番号",
            CodeFormat::MedisModifierKey => "修飾語管理番号",
            CodeFormat::MedisExchange => "交換用コード",
            CodeFormat::Icd10 => "ICD-10",
            CodeFormat::Jlac10 => "JLAC10",
            CodeFormat::Jlac11 => "JLAC11",
            CodeFormat::Jlac => "JLAC10/JLAC11",
            CodeFormat::Yj => "YJコード",
            CodeFormat::GeneralName => "一般名処方コード",
            CodeFormat::Hot13 => "HOT13",
            CodeFormat::Hot9 => "HOT9",
            CodeFormat::Hot7 => "HOT7",
            CodeFormat::ReceiptDisease => "レセ電傷病名コード",
            CodeFormat::ReceiptModifier => "レセ電修飾語コード",
            CodeFormat::ReceiptDrug => "レセ電医薬品コード",
            CodeFormat::Jfagy => "J-FAGY",
        }
    }

    /// The format of a FHIR code system URL, for the systems JP-CLINS names; `None` for others.
    pub fn for_system(url: &str) -> Option<CodeFormat> {
        Some(match url {
            "http://medis.or.jp/CodeSystem/master-disease-keyNumber" => CodeFormat::MedisDiseaseKey,
            "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber" => {
                CodeFormat::MedisModifierKey
            }
            "http://medis.or.jp/CodeSystem/master-disease-exCode"
            | "http://medis.or.jp/CodeSystem/master-disease-modExCode" => CodeFormat::MedisExchange,
            "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full" => CodeFormat::Icd10,
            "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease" => {
                CodeFormat::ReceiptDisease
            }
            "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterZ-disease-modifier" => {
                CodeFormat::ReceiptModifier
            }
            "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
            | "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS"
            | "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS" => {
                CodeFormat::Jlac10
            }
            "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_CoreLabo_CS"
            | "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_InfectionLabo_CS" => {
                CodeFormat::Jlac11
            }
            "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code" => CodeFormat::Yj,
            "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode" => {
                CodeFormat::GeneralName
            }
            "http://medis.or.jp/CodeSystem/master-HOT13" => CodeFormat::Hot13,
            "http://medis.or.jp/CodeSystem/master-HOT9" => CodeFormat::Hot9,
            "http://medis.or.jp/CodeSystem/master-HOT7" => CodeFormat::Hot7,
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS"
            | "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS"
            | "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS"
            | "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS" => {
                CodeFormat::Jfagy
            }
            _ => return None,
        })
    }
}

impl From<MasterKind> for CodeFormat {
    fn from(kind: MasterKind) -> CodeFormat {
        match kind {
            MasterKind::MedisDisease => CodeFormat::MedisDiseaseKey,
            MasterKind::MedisModifier => CodeFormat::MedisModifierKey,
            MasterKind::MedisModifierExchange => CodeFormat::MedisExchange,
            MasterKind::ReceiptDisease => CodeFormat::ReceiptDisease,
            MasterKind::ReceiptModifier => CodeFormat::ReceiptModifier,
            MasterKind::Jlac10 => CodeFormat::Jlac10,
            MasterKind::ClinsLab => CodeFormat::Jlac,
            MasterKind::Yj => CodeFormat::Yj,
            MasterKind::Jfagy => CodeFormat::Jfagy,
            MasterKind::Hot => CodeFormat::Hot13,
        }
    }
}

/// The 病名管理番号 of a disease name that cannot be coded.
pub const UNCODED_DISEASE: &str = "99999999";

/// Whether `code` is the uncoded-disease marker.
pub fn is_uncoded_disease(code: &str) -> bool {
    code == UNCODED_DISEASE
}

/// Checks that `code` has the shape of `format` (anything convertible: a [`CodeFormat`] or a
/// [`MasterKind`]).
pub fn check(format: impl Into<CodeFormat>, code: &str) -> Result<(), FormatError> {
    let f = format.into();
    if code.is_empty() {
        return Err(FormatError::Empty(f));
    }
    match f {
        CodeFormat::MedisDiseaseKey | CodeFormat::MedisModifierKey => {
            fixed(f, code, &[(8, DIGIT, "番号")])
        }
        CodeFormat::MedisExchange => fixed(f, code, &[(4, ALNUM, "コード")]),
        CodeFormat::Icd10 => icd10(code),
        CodeFormat::Jlac10 => jlac10(code),
        CodeFormat::Jlac11 => jlac11(code),
        CodeFormat::Jlac => match code.as_bytes()[0] {
            b'0'..=b'9' => jlac10(code),
            _ => jlac11(code),
        },
        CodeFormat::Yj => fixed(f, code, &[(12, ALNUM, "コード")]),
        CodeFormat::GeneralName => fixed(f, code, &[(9, ALNUM, "コード"), (3, Z, "末尾")]),
        CodeFormat::Hot13 => fixed(f, code, &[(13, DIGIT, "番号")]),
        CodeFormat::Hot9 => fixed(f, code, &[(9, DIGIT, "番号")]),
        CodeFormat::Hot7 => fixed(f, code, &[(7, DIGIT, "番号")]),
        CodeFormat::ReceiptDisease => fixed(f, code, &[(7, DIGIT, "コード")]),
        CodeFormat::ReceiptModifier => fixed(f, code, &[(4, DIGIT, "コード")]),
        CodeFormat::ReceiptDrug => fixed(f, code, &[(9, DIGIT, "コード")]),
        CodeFormat::Jfagy => jfagy(code),
    }
}

/// A character class: its test and how messages describe it.
type Class = (fn(u8) -> bool, &'static str);

const DIGIT: Class = (|b| b.is_ascii_digit(), "0-9");
const UPPER: Class = (|b| b.is_ascii_uppercase(), "A-Z");
const ALNUM: Class = (
    |b| b.is_ascii_digit() || b.is_ascii_uppercase(),
    "0-9 or A-Z",
);
const Z: Class = (|b| b == b'Z', "Z");
const UNIT_HEAD: Class = (
    |b| (b.is_ascii_digit() || b.is_ascii_uppercase()) && b != b'I' && b != b'O',
    "0-9 or A-Z except I, O",
);

/// Checks a code made of fixed-length segments, each one character class.
fn fixed(
    f: CodeFormat,
    code: &str,
    segments: &[(usize, Class, &'static str)],
) -> Result<(), FormatError> {
    let total: usize = segments.iter().map(|s| s.0).sum();
    let n = code.chars().count();
    if n != total {
        return Err(FormatError::Length {
            format: f,
            expected: len_name(total),
            found: n,
        });
    }
    let mut chars = code.chars().enumerate();
    for &(len, (test, allowed), segment) in segments {
        for (i, c) in chars.by_ref().take(len) {
            if !(c.is_ascii() && test(c as u8)) {
                return Err(FormatError::Character {
                    format: f,
                    position: i + 1,
                    segment,
                    allowed,
                });
            }
        }
    }
    Ok(())
}

fn len_name(n: usize) -> &'static str {
    match n {
        4 => "4",
        7 => "7",
        8 => "8",
        9 => "9",
        12 => "12",
        13 => "13",
        15 => "15",
        17 => "17",
        _ => "other",
    }
}

fn icd10(code: &str) -> Result<(), FormatError> {
    let f = CodeFormat::Icd10;
    let n = code.chars().count();
    if !(3..=5).contains(&n) {
        return Err(FormatError::Length {
            format: f,
            expected: "3-5",
            found: n,
        });
    }
    let segments: &[(usize, Class, &'static str)] = &[(1, UPPER, "章"), (n - 1, ALNUM, "分類")];
    fixed(f, code, segments).map_err(|e| match e {
        // The Length arm cannot happen here (n was checked); keep the character error.
        FormatError::Character { position, .. } if code.chars().nth(position - 1) == Some('.') => {
            FormatError::Character {
                format: f,
                position,
                segment: "分類",
                allowed: "0-9 or A-Z (write ICD-10 without the dot)",
            }
        }
        other => other,
    })
}

fn jlac10(code: &str) -> Result<(), FormatError> {
    fixed(
        CodeFormat::Jlac10,
        code,
        &[
            (1, DIGIT, "分析物(大分類)"),
            (1, UPPER, "分析物(中分類)"),
            (3, DIGIT, "分析物"),
            (4, DIGIT, "識別"),
            (3, DIGIT, "材料"),
            (3, DIGIT, "測定法"),
            (2, DIGIT, "結果識別"),
        ],
    )
}

fn jlac11(code: &str) -> Result<(), FormatError> {
    fixed(
        CodeFormat::Jlac11,
        code,
        &[
            (1, UPPER, "測定物"),
            (4, ALNUM, "測定物"),
            (4, ALNUM, "識別"),
            (3, DIGIT, "材料"),
            (3, DIGIT, "測定法"),
            (1, UNIT_HEAD, "結果単位"),
            (1, DIGIT, "結果単位"),
        ],
    )
}

fn jfagy(code: &str) -> Result<(), FormatError> {
    let f = CodeFormat::Jfagy;
    let prefix = code.get(..3).ok_or(FormatError::Length {
        format: f,
        expected: "12",
        found: code.chars().count(),
    })?;
    match prefix {
        "J9F" | "J9N" => fixed(
            f,
            code,
            &[(3, ALNUM, "メタコード"), (9, ALNUM, "コアコード")],
        ),
        "YCM" => fixed(
            f,
            code,
            &[(3, ALNUM, "メタコード"), (12, ALNUM, "YJコード")],
        ),
        "GCM" => fixed(
            f,
            code,
            &[
                (3, ALNUM, "メタコード"),
                (9, ALNUM, "YJコード"),
                (3, Z, "末尾"),
            ],
        ),
        "D9F" | "D9M" | "D9N" => {
            fixed(
                f,
                code,
                &[(3, ALNUM, "メタコード"), (9, DIGIT, "コアコード")],
            )?;
            if &code[3..] == "000000000" {
                Ok(())
            } else {
                Err(FormatError::JfagyDummy)
            }
        }
        _ => Err(FormatError::JfagyPrefix),
    }
}

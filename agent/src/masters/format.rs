//! Code format checks: pure functions that say whether a string can be a code of a code system
//! (shape only; whether the code exists is the masters' job).
//!
//! Rules (reference §2 of `jp-clins-and-ssmix2.md`, where marked unverified there the rule is
//! kept loose):
//! - 病名管理番号, 修飾語管理番号: 8 digits; `99999999` is the "not coded" marker for diseases.
//! - 交換用コード: 4 characters `0-9A-Z`.
//! - ICD-10 (2013): no dot, a letter then 2–4 of `0-9A-Z`.
//! - JLAC10: 17 = 分析物 5 (digit 大分類, letter 中分類, 3 digits) + 識別 4 + 材料 3 + 測定法 3
//!   + 結果識別 2, all digits after the analyte's letter. 測定法 998/999 (方法問わず/その他) are
//!   ordinary digits and pass.
//! - JLAC11: 17 = 測定物 5 (a letter then 4 of `0-9A-Z`) + 識別 4 (`0-9A-Z`) + 材料 3 + 測定法 3
//!   (digits) + 結果単位 2 (first `0-9A-Z` without I and O, second a digit). Written without
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples_from_the_reference_pass() {
        let ok = [
            (CodeFormat::MedisDiseaseKey, "20064049"),
            (CodeFormat::MedisDiseaseKey, UNCODED_DISEASE),
            (CodeFormat::MedisModifierKey, "27000358"),
            (CodeFormat::MedisExchange, "L3RF"),
            (CodeFormat::MedisExchange, "08MV"),
            (CodeFormat::Icd10, "K297"),
            (CodeFormat::Icd10, "C169"),
            (CodeFormat::Icd10, "I10"),
            (CodeFormat::Jlac10, "3H015000002326101"),
            (CodeFormat::Jlac10, "3A010000002399901"),
            (CodeFormat::Jlac10, "3A010000002399801"),
            (CodeFormat::Jlac11, "C1002000025000155"),
            (CodeFormat::Jlac11, "C20080000250009F7"),
            (CodeFormat::Jlac, "V1055000125000102"),
            (CodeFormat::Jlac, "5E074000002306211"),
            (CodeFormat::Yj, "1124001F1022"),
            (CodeFormat::GeneralName, "1124030F2ZZZ"),
            (CodeFormat::Hot13, "1234567890123"),
            (CodeFormat::Hot9, "123456701"),
            (CodeFormat::Hot7, "1234567"),
            (CodeFormat::ReceiptDisease, "8848176"),
            (CodeFormat::ReceiptModifier, "8282"),
            (CodeFormat::Jfagy, "J9FC11310000"),
            (CodeFormat::Jfagy, "GCM2260701F1ZZZ"),
            (CodeFormat::Jfagy, "YCM1124001F1022"),
            (CodeFormat::Jfagy, "D9F000000000"),
            (CodeFormat::Jfagy, "D9M000000000"),
            (CodeFormat::Jfagy, "D9N000000000"),
        ];
        for (f, c) in ok {
            assert_eq!(check(f, c), Ok(()), "{f} {c}");
        }
        assert!(is_uncoded_disease("99999999"));
        assert_eq!(check(MasterKind::Yj, "1124001F1022"), Ok(()));
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        assert_eq!(
            check(CodeFormat::MedisDiseaseKey, "2006404"),
            Err(FormatError::Length {
                format: CodeFormat::MedisDiseaseKey,
                expected: "8",
                found: 7
            })
        );
        assert!(matches!(
            check(CodeFormat::Icd10, "K29.7"),
            Err(FormatError::Character { position: 4, .. })
        ));
        assert!(check(CodeFormat::Icd10, "K29.7")
            .unwrap_err()
            .to_string()
            .contains("without the dot"));
        // 中分類 must be a letter.
        assert!(matches!(
            check(CodeFormat::Jlac10, "33015000002326101"),
            Err(FormatError::Character {
                position: 2,
                segment: "分析物(中分類)",
                ..
            })
        ));
        assert!(check(CodeFormat::Jlac11, "C2008-0000-250-009-F7").is_err());
        assert!(matches!(
            check(CodeFormat::Jlac11, "C10020000250001I5"),
            Err(FormatError::Character { position: 16, .. })
        ));
        assert!(check(CodeFormat::GeneralName, "1124030F2ZZA").is_err());
        assert_eq!(
            check(CodeFormat::Jfagy, "D9F999999999"),
            Err(FormatError::JfagyDummy)
        );
        assert_eq!(
            check(CodeFormat::Jfagy, "X9F000000000"),
            Err(FormatError::JfagyPrefix)
        );
        assert!(check(CodeFormat::Jfagy, "GCM2260701F1ZZ1").is_err());
        assert!(check(CodeFormat::Jfagy, "00F").is_err());
        assert_eq!(
            check(CodeFormat::Yj, ""),
            Err(FormatError::Empty(CodeFormat::Yj))
        );
        // Full-width digits are not digits.
        assert!(check(CodeFormat::Hot7, "１２３４５６７").is_err());
        let msg = check(CodeFormat::Hot9, "12").unwrap_err().to_string();
        assert!(msg.contains("HOT9") && msg.contains("文字"), "{msg}");
    }

    #[test]
    fn systems_map_to_formats() {
        assert_eq!(
            CodeFormat::for_system("http://medis.or.jp/CodeSystem/master-disease-keyNumber"),
            Some(CodeFormat::MedisDiseaseKey)
        );
        assert_eq!(
            CodeFormat::for_system(
                "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_CoreLabo_CS"
            ),
            Some(CodeFormat::Jlac11)
        );
        assert_eq!(CodeFormat::for_system("http://example.org/x"), None);
    }

    fn digits(n: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[0-9]{{{n}}}")).unwrap()
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,24}") {
            for f in [
                CodeFormat::MedisDiseaseKey, CodeFormat::MedisExchange, CodeFormat::Icd10,
                CodeFormat::Jlac10, CodeFormat::Jlac11, CodeFormat::Jlac, CodeFormat::Yj,
                CodeFormat::GeneralName, CodeFormat::Hot13, CodeFormat::Jfagy,
            ] {
                let _ = check(f, &s);
            }
        }

        #[test]
        fn generated_valid_codes_pass(
            key in digits(8),
            ex in "[0-9A-Z]{4}",
            icd in "[A-Z][0-9]{2}[0-9A-Z]{0,2}",
            j10 in "[0-9][A-Z][0-9]{15}",
            j11 in "[A-Z][0-9A-Z]{8}[0-9]{6}[0-9A-HJ-NP-Z][0-9]",
            yj in "[0-9A-Z]{12}",
            core in "[0-9A-Z]{9}",
            hot in digits(13),
        ) {
            prop_assert_eq!(check(CodeFormat::MedisDiseaseKey, &key), Ok(()));
            prop_assert_eq!(check(CodeFormat::MedisExchange, &ex), Ok(()));
            prop_assert_eq!(check(CodeFormat::Icd10, &icd), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jlac10, &j10), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jlac11, &j11), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jlac, &j10), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jlac, &j11), Ok(()));
            prop_assert_eq!(check(CodeFormat::Yj, &yj), Ok(()));
            prop_assert_eq!(check(CodeFormat::GeneralName, &format!("{}ZZZ", &yj[..9])), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jfagy, &format!("J9F{core}")), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jfagy, &format!("YCM{yj}")), Ok(()));
            prop_assert_eq!(check(CodeFormat::Jfagy, &format!("GCM{}ZZZ", &yj[..9])), Ok(()));
            prop_assert_eq!(check(CodeFormat::Hot13, &hot), Ok(()));
            prop_assert_eq!(check(CodeFormat::Hot9, &hot[..9]), Ok(()));
            prop_assert_eq!(check(CodeFormat::Hot7, &hot[..7]), Ok(()));
        }
    }
}

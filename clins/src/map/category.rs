//! The four kinds of code a hospital maps, the standard code systems each may map to, the marker
//! sent when a code has no standard equivalent, and the per-category policy for such codes.
//!
//! The format checks here are deliberately small (length and character class): they catch a
//! mistyped or Excel-mangled code (leading zeros lost) before it reaches the master lookup. The
//! authoritative checks live with the national masters.

use std::fmt;
use std::str::FromStr;

/// MEDIS 標準病名マスター 病名管理番号 (8 digits).
pub const DISEASE_KEY_NUMBER: &str = "http://medis.or.jp/CodeSystem/master-disease-keyNumber";
/// レセプト電算処理システム 傷病名コード (7 digits); sent as an extra coding beside 病名管理番号.
pub const DISEASE_RECEIPT: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease";
/// General JLAC10, 17 characters.
pub const JLAC10: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";
/// 指定検査43項目 (JLAC10).
pub const JLAC10_CORE: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS";
/// 指定感染症5項目 (JLAC10).
pub const JLAC10_INFECTION: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS";
/// 指定検査43項目 (JLAC11).
pub const JLAC11_CORE: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_CoreLabo_CS";
/// 指定感染症5項目 (JLAC11).
pub const JLAC11_INFECTION: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_InfectionLabo_CS";
/// J-FAGY food allergens (`J9F` + 9).
pub const JFAGY_FOOD: &str = "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS";
/// J-FAGY non-food, non-medication allergens (`J9N` + 9).
pub const JFAGY_NON_FOOD: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS";
/// J-FAGY medication allergens by individual YJ code (`YCM` + 12).
pub const JFAGY_DRUG_YJ: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS";
/// J-FAGY medication allergens by YJ-derived code (`GCM` + 9 + `ZZZ`).
pub const JFAGY_DRUG_GENERIC: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS";
/// J-FAGY medication allergens without the YCM/GCM path: the JFAGY index names this one
/// CodeSystem as holding the medication dummy `D9M000000000` (the CLINS package itself only uses
/// the YCM/GCM paths; which URI CLINS expects for `D9M` is unverified).
pub const JFAGY_DRUG: &str = "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyMedicationAllergen_CS";
/// 個別医薬品コード (YJ), 12 characters.
pub const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
/// 規格別薬剤成分コード (JP-CLINS 1.10).
pub const KIKAKUBETSU: &str = "http://capstandard.jp/CodeSystem/KikakubetsuYakuzaiSeibun";
/// 一般処方名コード, 12 characters.
pub const GENERAL_ORDER: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode";
/// HOT 基準番号, 13 digits.
pub const HOT13: &str = "http://medis.or.jp/CodeSystem/master-HOT13";
/// HOT9, 9 digits.
pub const HOT9: &str = "http://medis.or.jp/CodeSystem/master-HOT9";
/// HOT7 処方用番号, 7 digits.
pub const HOT7: &str = "http://medis.or.jp/CodeSystem/master-HOT7";

/// What kind of code a mapping row or a received code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// 病名 → MEDIS 病名管理番号.
    Disease,
    /// 検体検査 → JLAC10 (general, or the CLINS 指定検査/感染症 systems).
    Lab,
    /// アレルギー → J-FAGY.
    Allergen,
    /// 薬剤 → YJ, HOT, 一般処方名.
    Drug,
}

/// Which kind of allergy a code belongs to; it picks the J-FAGY dummy code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllergenKind {
    /// 食品 → `D9F000000000`.
    Food,
    /// 医薬品 → `D9M000000000`.
    Medication,
    /// 非食品・非医薬品, and any allergy whose kind is not known → `D9N000000000`.
    #[default]
    Other,
}

/// The coding sent when a code has no standard equivalent (未標準化/未コード化).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Code system URI.
    pub system: &'static str,
    /// The dummy code.
    pub code: &'static str,
    /// Display text.
    pub display: &'static str,
}

/// What the pipeline does with a record whose code maps to nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnmappedPolicy {
    /// Send it with the category's uncoded marker (the original name stays in `code.text`).
    #[default]
    SendUncoded,
    /// Hold the record until a mapping exists (then `replay`).
    Hold,
}

/// One [`UnmappedPolicy`] per category; the integrator reads it from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policies {
    /// 病名.
    pub disease: UnmappedPolicy,
    /// 検体検査.
    pub lab: UnmappedPolicy,
    /// アレルギー.
    pub allergen: UnmappedPolicy,
    /// 薬剤.
    pub drug: UnmappedPolicy,
}

impl Policies {
    /// The policy of one category.
    pub fn for_category(&self, category: Category) -> UnmappedPolicy {
        match category {
            Category::Disease => self.disease,
            Category::Lab => self.lab,
            Category::Allergen => self.allergen,
            Category::Drug => self.drug,
        }
    }
}

const DISEASE_MARKER: Marker = Marker {
    system: DISEASE_KEY_NUMBER,
    code: "99999999",
    display: "未コード化傷病名",
};
const LAB_MARKER: Marker = Marker {
    system: "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS",
    code: "99999999999999999",
    display: "未標準化コード項目(JLAC)",
};
const FOOD_MARKER: Marker = Marker {
    system: JFAGY_FOOD,
    code: "D9F000000000",
    display: "食品ダミーコード",
};
const MEDICATION_MARKER: Marker = Marker {
    system: JFAGY_DRUG,
    code: "D9M000000000",
    display: "医薬品ダミーコード",
};
const OTHER_ALLERGEN_MARKER: Marker = Marker {
    system: JFAGY_NON_FOOD,
    code: "D9N000000000",
    display: "非食品・非医薬品ダミーコード",
};
const DRUG_MARKER: Marker = Marker {
    system: "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS",
    code: "NOCODED",
    display: "標準コードなし",
};

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 4] = [
        Category::Disease,
        Category::Lab,
        Category::Allergen,
        Category::Drug,
    ];

    /// The name used in CSV files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Disease => "disease",
            Category::Lab => "lab",
            Category::Allergen => "allergen",
            Category::Drug => "drug",
        }
    }

    /// The standard code systems a local code of this category may be mapped to.
    pub fn standard_systems(self) -> &'static [&'static str] {
        match self {
            Category::Disease => &[DISEASE_KEY_NUMBER, DISEASE_RECEIPT],
            Category::Lab => &[
                JLAC10,
                JLAC10_CORE,
                JLAC10_INFECTION,
                JLAC11_CORE,
                JLAC11_INFECTION,
            ],
            Category::Allergen => &[
                JFAGY_FOOD,
                JFAGY_NON_FOOD,
                JFAGY_DRUG_YJ,
                JFAGY_DRUG_GENERIC,
                JFAGY_DRUG,
            ],
            Category::Drug => &[YJ, KIKAKUBETSU, GENERAL_ORDER, HOT13, HOT9, HOT7],
        }
    }

    /// Whether `system` is one of [`Category::standard_systems`].
    pub fn accepts_system(self, system: &str) -> bool {
        self.standard_systems().contains(&system)
    }

    /// The uncoded marker; `kind` matters only for allergens.
    pub fn marker(self, kind: AllergenKind) -> Marker {
        match self {
            Category::Disease => DISEASE_MARKER,
            Category::Lab => LAB_MARKER,
            Category::Allergen => match kind {
                AllergenKind::Food => FOOD_MARKER,
                AllergenKind::Medication => MEDICATION_MARKER,
                AllergenKind::Other => OTHER_ALLERGEN_MARKER,
            },
            Category::Drug => DRUG_MARKER,
        }
    }

    /// The marker whose code is `code` (a mapping row may say "no standard code" explicitly).
    pub fn marker_with_code(self, code: &str) -> Option<Marker> {
        let kinds = [
            AllergenKind::Food,
            AllergenKind::Medication,
            AllergenKind::Other,
        ];
        kinds
            .into_iter()
            .map(|k| self.marker(k))
            .find(|m| m.code == code)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is none of `disease`, `lab`, `allergen`, `drug`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {0:?}: use disease, lab, allergen or drug / 区分は disease・lab・allergen・drug のいずれかです")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    /// Accepts the English names (any case) and the Japanese ones (病名, 検査, アレルギー, 薬剤).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disease" | "病名" | "傷病名" => Ok(Category::Disease),
            "lab" | "検査" | "検体検査" => Ok(Category::Lab),
            "allergen" | "allergy" | "アレルギー" => Ok(Category::Allergen),
            "drug" | "medication" | "薬剤" | "医薬品" => Ok(Category::Drug),
            _ => Err(UnknownCategory(s.to_string())),
        }
    }
}

/// Why a code does not have the shape its system requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatProblem {
    /// English.
    pub en: String,
    /// Japanese.
    pub ja: String,
}

/// Checks the shape of `code` for a standard `system` (not its presence in the master).
pub fn check_format(system: &str, code: &str) -> Result<(), FormatProblem> {
    // The masters' format rules first (the authoritative shape of each code), then what a
    // mapping target must be on top of that (the J-FAGY prefix that fits the CodeSystem, ...).
    if let Some(format) = super::format::CodeFormat::for_system(system) {
        if let Err(e) = super::format::check(format, code) {
            let text = e.to_string();
            let (en, ja) = text.split_once(" / ").unwrap_or((&text, &text));
            return Err(FormatProblem {
                en: en.to_string(),
                ja: ja.to_string(),
            });
        }
    }
    let digits = |n: usize| code.len() == n && code.bytes().all(|b| b.is_ascii_digit());
    let upper_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    };
    let (ok, en, ja): (bool, &str, &str) = match system {
        DISEASE_KEY_NUMBER => (digits(8), "8 digits", "数字8桁"),
        DISEASE_RECEIPT => (digits(7), "7 digits", "数字7桁"),
        JLAC10 | JLAC10_CORE | JLAC10_INFECTION => {
            let b = code.as_bytes();
            let ok = b.len() == 17
                && b[0].is_ascii_digit()
                && b[1].is_ascii_uppercase()
                && b[2..].iter().all(u8::is_ascii_digit);
            (
                ok,
                "17 characters: digit, letter, 15 digits (JLAC10)",
                "JLAC10 17桁(数字・英大文字・数字15桁)",
            )
        }
        JLAC11_CORE | JLAC11_INFECTION => {
            let ok =
                code.len() == 17 && code.as_bytes()[0].is_ascii_uppercase() && upper_alnum(code);
            (
                ok,
                "17 characters starting with a letter (JLAC11)",
                "JLAC11 17桁(英大文字で始まる英数字)",
            )
        }
        JFAGY_FOOD => (jfagy(code, "J9F", 9), "J9F + 9 characters", "J9F+9桁"),
        JFAGY_NON_FOOD => (jfagy(code, "J9N", 9), "J9N + 9 characters", "J9N+9桁"),
        JFAGY_DRUG_YJ => (jfagy(code, "YCM", 12), "YCM + 12 characters", "YCM+12桁"),
        JFAGY_DRUG_GENERIC => (
            jfagy(code, "GCM", 12) && code.ends_with("ZZZ"),
            "GCM + 9 characters + ZZZ",
            "GCM+9桁+ZZZ",
        ),
        JFAGY_DRUG => (
            jfagy(code, "YCM", 12) || (jfagy(code, "GCM", 12) && code.ends_with("ZZZ")),
            "YCM + 12 or GCM + 9 + ZZZ characters",
            "YCM+12桁 または GCM+9桁+ZZZ",
        ),
        YJ | GENERAL_ORDER => (
            code.len() == 12 && upper_alnum(code),
            "12 letters or digits",
            "英数字12桁",
        ),
        KIKAKUBETSU => (
            !code.is_empty() && code.len() <= 20 && upper_alnum(code),
            "letters and digits",
            "英数字",
        ),
        HOT13 => (digits(13), "13 digits", "数字13桁"),
        HOT9 => (digits(9), "9 digits", "数字9桁"),
        HOT7 => (digits(7), "7 digits", "数字7桁"),
        _ => (
            false,
            "not a standard code system of tsunagi",
            "対応する標準コード体系ではありません",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(FormatProblem {
            en: format!("code {code:?} must be {en}"),
            ja: format!("コード「{code}」は{ja}である必要があります"),
        })
    }
}

fn jfagy(code: &str, prefix: &str, core: usize) -> bool {
    code.len() == prefix.len() + core
        && code.starts_with(prefix)
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(check_format(DISEASE_KEY_NUMBER, "20054174").is_ok());
        assert!(check_format(DISEASE_KEY_NUMBER, "2005417").is_err());
        assert!(check_format(JLAC10, "3H015000002326101").is_ok());
        assert!(check_format(JLAC10, "3h015000002326101").is_err());
        assert!(check_format(JLAC11_CORE, "C1002000025000155").is_ok());
        assert!(check_format(JFAGY_FOOD, "J9FC11310000").is_ok());
        assert!(check_format(JFAGY_FOOD, "J9NC11310000").is_err());
        assert!(check_format(JFAGY_DRUG_GENERIC, "GCM2260701F1ZZZ").is_ok());
        assert!(check_format(JFAGY_DRUG_GENERIC, "GCM2260701F1018").is_err());
        assert!(check_format(YJ, "1124030F2ZZZ").is_ok());
        assert!(check_format(HOT9, "10793740").is_err());
        assert!(check_format("urn:local", "1").is_err());
    }

    #[test]
    fn category_names_round_trip_and_accept_japanese() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
        }
        assert_eq!("病名".parse::<Category>(), Ok(Category::Disease));
        assert_eq!(" LAB ".parse::<Category>(), Ok(Category::Lab));
        assert!("procedure".parse::<Category>().is_err());
    }

    #[test]
    fn allergen_marker_follows_kind_and_is_found_by_code() {
        assert_eq!(
            Category::Allergen.marker(AllergenKind::Food).code,
            "D9F000000000"
        );
        assert_eq!(
            Category::Allergen.marker(AllergenKind::Medication).code,
            "D9M000000000"
        );
        assert_eq!(
            Category::Allergen.marker(AllergenKind::Other).code,
            "D9N000000000"
        );
        assert!(Category::Allergen
            .marker_with_code("D9M000000000")
            .is_some());
        assert!(Category::Disease.marker_with_code("D9M000000000").is_none());
        assert_eq!(
            Category::Lab.marker(AllergenKind::Other).display,
            "未標準化コード項目(JLAC)"
        );
    }
}

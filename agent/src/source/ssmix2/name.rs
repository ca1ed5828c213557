//! SS-MIX2 file names: `患者ID_診療日_データ種別_オーダNO_発生日時_診療科コード_コンディションフラグ`.
//!
//! Example: `0123456789_20080126_OML-11_081251234567800_200802031630123_01_1`. The parse is pure
//! and strict; a name that does not follow the rule is a [`NameError`] naming the field, never
//! its value (the name carries the patient ID).
//!
//! Field rules (reference §3, checked against the ssmixtwins-300 storage):
//! - 患者ID: ASCII letters and digits, 1 to 64 characters (hospital IDs are usually digits).
//! - 診療日: `YYYYMMDD` (a real calendar date) or `-` (ADT-00, PPR-01).
//! - データ種別: three upper-case letters, optionally `-` and two digits (`OML-11`, `OMD`).
//! - オーダNO: exactly 15 ASCII letters or digits (`999999999999999` for ADT-00 in practice).
//! - 発生日時: `yyyyMMddHHmmss` plus 0 to 3 fraction-of-second digits, a real date and time. The
//!   rule says 17 digits (`yyyyMMddHHmmssfff`, as ssmixtwins writes), but the reference's own
//!   example has 15 (`200802031630123`), so 14 to 17 digits are accepted; the fraction is read as
//!   tenths / hundredths / thousandths.
//! - 診療科コード: ASCII letters or digits (1 to 16), or `-` when not applicable.
//! - コンディションフラグ: one digit (see [`ConditionFlag`]).
//!
//! Supersession: two files with the same [`FileName::order_key`] (patient, data type, order
//! number) are versions of one order; the one with the later 発生日時 is current. Ties (same
//! 発生日時) are broken by the whole name in byte order so the choice is deterministic.

use std::cmp::Ordering;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};

/// The parsed fields of one SS-MIX2 file name. Strings are exactly as in the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName {
    /// 患者ID. Patient data: never log it.
    pub patient_id: String,
    /// 診療日; `None` when the name has `-` (ADT-00, PPR-01).
    pub date: Option<NaiveDate>,
    /// データ種別, e.g. `OML-11`.
    pub data_type: String,
    /// オーダNO, 15 characters.
    pub order_no: String,
    /// 発生日時 as written (14 to 17 digits).
    pub occurred_raw: String,
    /// 発生日時 parsed (millisecond precision).
    pub occurred: NaiveDateTime,
    /// 診療科コード; `None` when the name has `-`.
    pub department: Option<String>,
    /// コンディションフラグ.
    pub condition: ConditionFlag,
}

/// コンディションフラグ. Only `1` (valid) is confirmed by the reference; the rest is an assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionFlag {
    /// `1`: a valid, current record.
    Valid,
    /// `0`: ASSUMED to mean the order was cancelled / logically deleted (unverified in the
    /// reference). The file is still stored; when it is the newest version of its order, the
    /// pipeline should treat the order as withdrawn rather than send it.
    Cancelled,
    /// Any other digit (e.g. `2`): meaning unknown. Stored; the pipeline should hold it for a
    /// person rather than guess.
    Other(u8),
}

impl ConditionFlag {
    /// The digit as written.
    pub fn digit(self) -> u8 {
        match self {
            ConditionFlag::Valid => 1,
            ConditionFlag::Cancelled => 0,
            ConditionFlag::Other(d) => d,
        }
    }
}

/// Which field of a file name is wrong. Carries no value from the name (it holds a patient ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("ファイル名の項目数が 7 ではありません ({found} 個) / file name has {found} `_`-separated fields, not 7")]
    FieldCount { found: usize },
    #[error("ファイル名の{}が不正です / invalid {} in file name", .0.ja(), .0.en())]
    Field(NameField),
}

/// The fields of a file name, for [`NameError::Field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    PatientId,
    Date,
    DataType,
    OrderNo,
    Occurred,
    Department,
    Condition,
}

impl NameField {
    fn ja(self) -> &'static str {
        match self {
            NameField::PatientId => "患者ID",
            NameField::Date => "診療日",
            NameField::DataType => "データ種別",
            NameField::OrderNo => "オーダNO",
            NameField::Occurred => "発生日時",
            NameField::Department => "診療科コード",
            NameField::Condition => "コンディションフラグ",
        }
    }
    fn en(self) -> &'static str {
        match self {
            NameField::PatientId => "patient ID",
            NameField::Date => "date (YYYYMMDD or -)",
            NameField::DataType => "data type",
            NameField::OrderNo => "order number (15 characters)",
            NameField::Occurred => "occurrence time (yyyyMMddHHmmss[fff])",
            NameField::Department => "department code",
            NameField::Condition => "condition flag",
        }
    }
}

/// What identifies one order across its versions: (patient, data type, order number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderKey<'a> {
    pub patient_id: &'a str,
    pub data_type: &'a str,
    pub order_no: &'a str,
}

fn alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> u32 {
    s.bytes()
        .fold(0u32, |n, b| n * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// A data type is `AAA` or `AAA-99`.
pub fn is_data_type(s: &str) -> bool {
    let b = s.as_bytes();
    let head = b.len() >= 3 && b[..3].iter().all(u8::is_ascii_uppercase);
    head && (b.len() == 3 || (b.len() == 6 && b[3] == b'-' && digits(&s[4..], 2)))
}

impl FileName {
    /// Parses a file name (no directory part, no extension).
    pub fn parse(name: &str) -> Result<FileName, NameError> {
        let parts: Vec<&str> = name.split('_').collect();
        let [pid, date, dt, order, time, dept, cond] = parts[..] else {
            return Err(NameError::FieldCount { found: parts.len() });
        };
        let bad = |f| Err(NameError::Field(f));
        if !alnum(pid, 1, 64) {
            return bad(NameField::PatientId);
        }
        let date = match date {
            "-" => None,
            d if digits(d, 8) => {
                match NaiveDate::from_ymd_opt(num(&d[..4]) as i32, num(&d[4..6]), num(&d[6..])) {
                    Some(d) => Some(d),
                    None => return bad(NameField::Date),
                }
            }
            _ => return bad(NameField::Date),
        };
        if !is_data_type(dt) {
            return bad(NameField::DataType);
        }
        if !alnum(order, 15, 15) {
            return bad(NameField::OrderNo);
        }
        if !(14..=17).contains(&time.len()) || !time.bytes().all(|b| b.is_ascii_digit()) {
            return bad(NameField::Occurred);
        }
        let millis = num(&time[14..]) * [1000, 100, 10, 1][time.len() - 14];
        let occurred =
            NaiveDate::from_ymd_opt(num(&time[..4]) as i32, num(&time[4..6]), num(&time[6..8]))
                .and_then(|d| {
                    d.and_hms_milli_opt(
                        num(&time[8..10]),
                        num(&time[10..12]),
                        num(&time[12..14]),
                        millis,
                    )
                });
        let Some(occurred) = occurred else {
            return bad(NameField::Occurred);
        };
        let department = match dept {
            "-" => None,
            d if alnum(d, 1, 16) => Some(d.to_string()),
            _ => return bad(NameField::Department),
        };
        let condition = match cond.as_bytes() {
            [b'1'] => ConditionFlag::Valid,
            [b'0'] => ConditionFlag::Cancelled,
            [d] if d.is_ascii_digit() => ConditionFlag::Other(d - b'0'),
            _ => return bad(NameField::Condition),
        };
        Ok(FileName {
            patient_id: pid.to_string(),
            date,
            data_type: dt.to_string(),
            order_no: order.to_string(),
            occurred_raw: time.to_string(),
            occurred,
            department,
            condition,
        })
    }

    /// The order this file is a version of.
    pub fn order_key(&self) -> OrderKey<'_> {
        OrderKey {
            patient_id: &self.patient_id,
            data_type: &self.data_type,
            order_no: &self.order_no,
        }
    }

    /// The 診療日 folder name this file belongs in: `YYYYMMDD` or `-`.
    pub fn date_dir(&self) -> String {
        self.date
            .map_or_else(|| "-".to_string(), |d| d.format("%Y%m%d").to_string())
    }

    /// Version order among files of the same order: later 発生日時 first wins, then the name.
    pub fn version_cmp(&self, other: &FileName) -> Ordering {
        self.occurred
            .cmp(&other.occurred)
            .then_with(|| self.to_string().cmp(&other.to_string()))
    }

    /// Whether `self` is a newer version of the same order than `other`.
    pub fn supersedes(&self, other: &FileName) -> bool {
        self.order_key() == other.order_key() && self.version_cmp(other) == Ordering::Greater
    }
}

/// Writes the file name back exactly as parsed.
impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_{}_{}_{}_{}_{}_{}",
            self.patient_id,
            self.date_dir(),
            self.data_type,
            self.order_no,
            self.occurred_raw,
            self.department.as_deref().unwrap_or("-"),
            self.condition.digit()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_reference_examples() {
        let n = FileName::parse("0123456789_20080126_OML-11_081251234567800_200802031630123_01_1")
            .unwrap();
        assert_eq!(n.patient_id, "0123456789");
        assert_eq!(n.date, NaiveDate::from_ymd_opt(2008, 1, 26));
        assert_eq!(n.data_type, "OML-11");
        assert_eq!(n.order_no, "081251234567800");
        assert_eq!(
            n.occurred,
            NaiveDate::from_ymd_opt(2008, 2, 3)
                .unwrap()
                .and_hms_milli_opt(16, 30, 12, 300)
                .unwrap()
        );
        assert_eq!(n.department.as_deref(), Some("01"));
        assert_eq!(n.condition, ConditionFlag::Valid);
        let adt =
            FileName::parse("6099410892_-_ADT-00_999999999999999_20260312113042213_-_1").unwrap();
        assert_eq!((adt.date, adt.department), (None, None));
        let omd = FileName::parse("12_-_OMD_000000000000001_20260312113042213_-_0").unwrap();
        assert_eq!(omd.condition, ConditionFlag::Cancelled);
        assert_eq!(
            FileName::parse("12_-_OMD_000000000000001_20260312113042213_-_2")
                .unwrap()
                .condition,
            ConditionFlag::Other(2)
        );
    }

    #[test]
    fn bad_names_name_the_field_not_the_value() {
        let cases = [
            ("a_b", NameError::FieldCount { found: 2 }),
            (
                "0123_20080126_OML-11_081251234567800_200802031630123_01_1_x",
                NameError::FieldCount { found: 8 },
            ),
            (
                "01 3_20080126_OML-11_081251234567800_200802031630123_01_1",
                NameError::Field(NameField::PatientId),
            ),
            (
                "0123_20080230_OML-11_081251234567800_200802031630123_01_1",
                NameError::Field(NameField::Date),
            ),
            (
                "0123_2008012_OML-11_081251234567800_200802031630123_01_1",
                NameError::Field(NameField::Date),
            ),
            (
                "0123_20080126_oml-11_081251234567800_200802031630123_01_1",
                NameError::Field(NameField::DataType),
            ),
            (
                "0123_20080126_OML-1_081251234567800_200802031630123_01_1",
                NameError::Field(NameField::DataType),
            ),
            (
                "0123_20080126_OML-11_08125123456780_200802031630123_01_1",
                NameError::Field(NameField::OrderNo),
            ),
            (
                "0123_20080126_OML-11_081251234567800_2008020316301_01_1",
                NameError::Field(NameField::Occurred),
            ),
            (
                "0123_20080126_OML-11_081251234567800_200802031660123_01_1",
                NameError::Field(NameField::Occurred),
            ),
            (
                "0123_20080126_OML-11_081251234567800_200802031630123__1",
                NameError::Field(NameField::Department),
            ),
            (
                "0123_20080126_OML-11_081251234567800_200802031630123_01_x",
                NameError::Field(NameField::Condition),
            ),
            (
                "0123_20080126_OML-11_081251234567800_200802031630123_01_11",
                NameError::Field(NameField::Condition),
            ),
            (
                "0123_20080126_OML-11_081251234567800_200802031630123_01_1.hl7",
                NameError::Field(NameField::Condition),
            ),
        ];
        for (name, want) in cases {
            let got = FileName::parse(name).unwrap_err();
            assert_eq!(got, want, "{name}");
            assert!(!got.to_string().contains("0123"), "{got}");
        }
    }

    #[test]
    fn supersession_is_by_order_and_time() {
        let p = |s: &str| FileName::parse(s).unwrap();
        let old = p("0123_20080126_OML-11_081251234567800_200802031630123_01_1");
        let new = p("0123_20080126_OML-11_081251234567800_200802041630123_01_0");
        let other = p("0123_20080126_OML-11_081251234567801_200802051630123_01_1");
        assert!(new.supersedes(&old));
        assert!(!old.supersedes(&new));
        assert!(!other.supersedes(&old), "another order number");
        assert!(!old.supersedes(&old));
        // Fraction digits of any length compare as times: .3 (15 digits) is later than .250.
        let a = p("0123_20080126_OML-11_081251234567800_200802031630123_01_1");
        let b = p("0123_20080126_OML-11_081251234567800_20080203163012250_01_1");
        let c = p("0123_20080126_OML-11_081251234567800_20080203163012_01_1");
        assert!(a.supersedes(&b) && b.supersedes(&c));
    }

    fn good_name() -> impl Strategy<Value = String> {
        (
            "[0-9A-Za-z]{1,20}",
            prop_oneof![
                Just("-".to_string()),
                (1990u32..2100, 1u32..13, 1u32..29)
                    .prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}"))
            ],
            prop_oneof![Just("OMD".to_string()), "[A-Z]{3}-[0-9]{2}"],
            "[0-9A-Z]{15}",
            (
                1990u32..2100,
                1u32..13,
                1u32..29,
                0u32..24,
                0u32..60,
                0u32..60,
                0u32..1000,
            )
                .prop_map(|(y, mo, d, h, mi, s, ms)| {
                    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{ms:03}")
                }),
            prop_oneof![Just("-".to_string()), "[0-9A-Z]{1,4}"],
            "[0-9]",
        )
            .prop_map(|(a, b, c, d, e, f, g)| format!("{a}_{b}_{c}_{d}_{e}_{f}_{g}"))
    }

    proptest! {
        #[test]
        fn good_names_round_trip(name in good_name()) {
            let n = FileName::parse(&name).unwrap();
            prop_assert_eq!(n.to_string(), name);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            if let Ok(n) = FileName::parse(&s) {
                prop_assert_eq!(n.to_string(), s);
            }
        }

        #[test]
        fn mutated_names_still_never_panic(name in good_name(), at in 0usize..80, b in any::<u8>()) {
            let mut bytes = name.into_bytes();
            let i = at % bytes.len();
            bytes[i] = b;
            if let Ok(s) = String::from_utf8(bytes) {
                if let Ok(n) = FileName::parse(&s) {
                    prop_assert_eq!(n.to_string(), s);
                }
            }
        }

        #[test]
        fn later_time_supersedes(a in good_name(), b in good_name()) {
            let (x, y) = (FileName::parse(&a).unwrap(), FileName::parse(&b).unwrap());
            let y = FileName { patient_id: x.patient_id.clone(), data_type: x.data_type.clone(), order_no: x.order_no.clone(), ..y };
            prop_assert!(!(x.supersedes(&y) && y.supersedes(&x)));
            if x.to_string() != y.to_string() {
                prop_assert!(x.supersedes(&y) || y.supersedes(&x));
            }
            if x.occurred > y.occurred {
                prop_assert!(x.supersedes(&y));
            }
        }
    }
}

//! Reading one cell as the canonical field wants it: dates in a declared format, yes/no, choices.
//!
//! Errors say what the cell should have looked like, never what it held (cells are patient data).

/// A declared date format: `%Y` 4-digit year, `%m` `%d` `%H` `%M` `%S` 1–2 digits, anything else
/// literal. Without `%H` the value is a FHIR `date`; with it, a `dateTime` in JST (+09:00), as
/// EHR exports write local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(char),
}

/// Why a format or a cell was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// English.
    pub en: String,
    /// Japanese.
    pub ja: String,
}

fn refused(en: impl Into<String>, ja: impl Into<String>) -> Refused {
    Refused {
        en: en.into(),
        ja: ja.into(),
    }
}

impl DateFormat {
    /// Reads a format; it must hold `%Y`, `%m` and `%d`.
    pub fn parse(format: &str) -> Result<Self, Refused> {
        let mut parts = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                parts.push(Part::Literal(c));
                continue;
            }
            parts.push(match chars.next() {
                Some('Y') => Part::Year,
                Some('m') => Part::Month,
                Some('d') => Part::Day,
                Some('H') => Part::Hour,
                Some('M') => Part::Minute,
                Some('S') => Part::Second,
                Some('%') => Part::Literal('%'),
                _ => {
                    return Err(refused(
                        format!("date format {format:?}: only %Y %m %d %H %M %S are known"),
                        format!("日付形式 {format:?}: 使えるのは %Y %m %d %H %M %S です"),
                    ))
                }
            });
        }
        let has = |p| parts.contains(&p);
        if !(has(Part::Year) && has(Part::Month) && has(Part::Day)) {
            return Err(refused(
                format!("date format {format:?} needs %Y, %m and %d"),
                format!("日付形式 {format:?} には %Y %m %d が必要です"),
            ));
        }
        Ok(DateFormat { parts })
    }

    /// The cell as FHIR `date` or `dateTime` text.
    pub fn read(&self, cell: &str) -> Result<String, Refused> {
        let bad = || {
            refused(
                "not a date in the declared format",
                "指定した形式の日付ではありません",
            )
        };
        let mut v = [0u32; 6];
        let mut seen_time = false;
        let mut rest = cell;
        for (i, part) in self.parts.iter().enumerate() {
            let slot = match part {
                Part::Literal(c) => {
                    rest = rest.strip_prefix(*c).ok_or_else(bad)?;
                    continue;
                }
                Part::Year => 0,
                Part::Month => 1,
                Part::Day => 2,
                Part::Hour => 3,
                Part::Minute => 4,
                Part::Second => 5,
            };
            seen_time |= slot >= 3;
            // A number runs to the next literal; compact formats (`%Y%m%d`) take fixed widths.
            let followed_by_number =
                !matches!(self.parts.get(i + 1), None | Some(Part::Literal(_)));
            let max = if slot == 0 { 4 } else { 2 };
            let digits = rest
                .bytes()
                .take(max)
                .take_while(u8::is_ascii_digit)
                .count();
            let exact = slot == 0 || followed_by_number;
            if digits == 0 || (exact && digits != max) {
                return Err(bad());
            }
            v[slot] = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
        }
        if !rest.is_empty() || !valid(v) {
            return Err(bad());
        }
        let date = format!("{:04}-{:02}-{:02}", v[0], v[1], v[2]);
        Ok(if seen_time {
            format!("{date}T{:02}:{:02}:{:02}+09:00", v[3], v[4], v[5])
        } else {
            date
        })
    }
}

fn valid([y, m, d, h, min, s]: [u32; 6]) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=9999).contains(&y) && (1..=days).contains(&d) && h < 24 && min < 60 && s < 60
}

/// A yes/no cell, by the field's lists (defaults: yes `1`, no empty or `0`).
pub fn flag(cell: &str, yes: Option<&[String]>, no: Option<&[String]>) -> Result<bool, Refused> {
    let is_yes = yes.map_or(cell == "1", |l| l.iter().any(|v| v == cell));
    let is_no = no.map_or(cell.is_empty() || cell == "0", |l| {
        l.iter().any(|v| v == cell)
    });
    match (is_yes, is_no) {
        (true, _) => Ok(true),
        (false, true) => Ok(false),
        (false, false) => Err(refused(
            "neither a configured yes nor a no value",
            "設定された「あり」「なし」のどちらの値でもありません",
        )),
    }
}

/// The canonical values a choice field takes.
pub fn choices(field: &str) -> &'static [&'static str] {
    match field {
        "gender" => &["male", "female", "other", "unknown"],
        "category" => &["medication", "food", "environment", "unknown"],
        _ => &[],
    }
}

/// The map a choice field uses when the spec gives none: the codes Japanese EHRs export most.
fn builtin_choice(field: &str, cell: &str) -> Option<&'static str> {
    let pairs: &[(&str, &str)] = match field {
        "gender" => &[
            ("M", "male"),
            ("F", "female"),
            ("1", "male"),
            ("2", "female"),
            ("男", "male"),
            ("女", "female"),
            ("O", "other"),
            ("U", "unknown"),
            ("", "unknown"),
        ],
        "category" => &[
            ("薬剤", "medication"),
            ("食物", "food"),
            ("その他", "environment"),
            ("", "unknown"),
        ],
        _ => &[],
    };
    pairs.iter().find(|(c, _)| *c == cell).map(|(_, v)| *v)
}

/// A choice cell through the spec's `map`, else the built-in one.
pub fn choice(
    field: &str,
    cell: &str,
    map: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<String, Refused> {
    let found = match map {
        Some(m) => m.get(cell).cloned(),
        None => builtin_choice(field, cell).map(str::to_string),
    };
    found.ok_or_else(|| {
        refused(
            "a value the field's map does not list",
            "map に定義されていない値です",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_separated_and_compact_formats() {
        let f = DateFormat::parse("%Y/%m/%d").unwrap();
        assert_eq!(f.read("2024/4/1").unwrap(), "2024-04-01");
        assert_eq!(f.read("2024/04/01").unwrap(), "2024-04-01");
        let c = DateFormat::parse("%Y%m%d%H%M").unwrap();
        assert_eq!(c.read("202404011015").unwrap(), "2024-04-01T10:15:00+09:00");
        assert!(c.read("2024041").is_err());
        let t = DateFormat::parse("%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            t.read("2024-12-31 23:59:59").unwrap(),
            "2024-12-31T23:59:59+09:00"
        );
    }

    #[test]
    fn impossible_dates_and_trailing_text_are_refused() {
        let f = DateFormat::parse("%Y/%m/%d").unwrap();
        for bad in [
            "2023/2/29",
            "2024/13/1",
            "2024/4/31",
            "2024/4/1x",
            "R6/4/1",
            "",
            "2024/4",
        ] {
            assert!(f.read(bad).is_err(), "{bad}");
        }
        assert_eq!(f.read("2024/2/29").unwrap(), "2024-02-29");
    }

    #[test]
    fn formats_without_a_full_date_or_with_unknown_directives_are_refused() {
        assert!(DateFormat::parse("%Y/%m").is_err());
        assert!(DateFormat::parse("%Y/%m/%d %I").is_err());
        assert!(DateFormat::parse("%Y年%m月%d日").is_ok());
    }

    #[test]
    fn flags_and_choices_refuse_what_they_do_not_know() {
        assert_eq!(flag("1", None, None), Ok(true));
        assert_eq!(flag("", None, None), Ok(false));
        assert!(flag("Y", None, None).is_err());
        let yes = vec!["主".to_string()];
        assert_eq!(flag("主", Some(&yes), None), Ok(true));
        assert_eq!(choice("gender", "2", None).unwrap(), "female");
        assert!(choice("gender", "X", None).is_err());
        let m = [("K".to_string(), "food".to_string())]
            .into_iter()
            .collect();
        assert_eq!(choice("category", "K", Some(&m)).unwrap(), "food");
        assert!(choice("category", "薬剤", Some(&m)).is_err());
    }
}

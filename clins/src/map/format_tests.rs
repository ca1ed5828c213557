//! Tests of the code format checks.
use super::format::*;
use super::MasterKind;
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

//! Why an item is held instead of sent: a closed set, each with its stable key (stored in
//! `outbox.hold_reason`, shown in JSON and CSV), its name and what releases it, in Japanese and
//! English. The status page and the monthly report show the words; hospital IT acts on them.

use std::fmt;

/// Why an item was not sent. Keys are stable: they are stored and appear in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldReason {
    /// The resource names a patient the agent has not received yet.
    PatientUnknown,
    /// The patient has no insurance member id (被保険者番号), which the platform requires.
    PatientNoInsuranceId,
    /// The patient lacks a name, gender, birth date or address.
    PatientIncomplete,
    /// A diagnosis lacks an element the profile requires.
    ConditionIncomplete,
    /// An allergy lacks an element the profile requires.
    AllergyIncomplete,
    /// A lab result lacks an element the profile requires.
    ObservationIncomplete,
    /// A prescription in a document lacks an element the profile requires.
    MedicationIncomplete,
    /// A document lacks an element the profile requires.
    DocumentIncomplete,
    /// No 診療科 on the record and no `[agent] department` configured.
    DepartmentUnknown,
    /// A code the mapping table maps to something that is not in the national master.
    MappingInvalid,
    /// An unmapped local code, held by the `[terminology.unmapped]` policy.
    UnmappedHeld,
    /// An input or resource kind the agent does not send.
    Unsupported,
    /// Text that does not decode in the declared character set.
    Encoding,
    /// A built bundle that failed validation.
    Invalid,
}

impl HoldReason {
    /// Every reason, in the order reports list them when counts tie.
    pub const ALL: [HoldReason; 14] = [
        HoldReason::PatientUnknown,
        HoldReason::PatientNoInsuranceId,
        HoldReason::PatientIncomplete,
        HoldReason::ConditionIncomplete,
        HoldReason::AllergyIncomplete,
        HoldReason::ObservationIncomplete,
        HoldReason::MedicationIncomplete,
        HoldReason::DocumentIncomplete,
        HoldReason::DepartmentUnknown,
        HoldReason::MappingInvalid,
        HoldReason::UnmappedHeld,
        HoldReason::Unsupported,
        HoldReason::Encoding,
        HoldReason::Invalid,
    ];

    /// The stable key stored in `outbox.hold_reason`.
    pub fn key(self) -> &'static str {
        match self {
            HoldReason::PatientUnknown => "patient-unknown",
            HoldReason::PatientNoInsuranceId => "patient-no-insurance-id",
            HoldReason::PatientIncomplete => "patient-incomplete",
            HoldReason::ConditionIncomplete => "condition-incomplete",
            HoldReason::AllergyIncomplete => "allergy-incomplete",
            HoldReason::ObservationIncomplete => "observation-incomplete",
            HoldReason::MedicationIncomplete => "medication-incomplete",
            HoldReason::DocumentIncomplete => "document-incomplete",
            HoldReason::DepartmentUnknown => "department-unknown",
            HoldReason::MappingInvalid => "mapping-invalid",
            HoldReason::UnmappedHeld => "unmapped-held",
            HoldReason::Unsupported => "unsupported",
            HoldReason::Encoding => "encoding",
            HoldReason::Invalid => "invalid",
        }
    }

    /// The reason of a stored key; `None` for a key this version does not know.
    pub fn from_key(key: &str) -> Option<HoldReason> {
        HoldReason::ALL.into_iter().find(|r| r.key() == key)
    }

    /// Items held for this reason are released by themselves when what they wait for arrives
    /// (the pipeline replays them); the others need a fix and `tsunagi replay`.
    pub fn releases_itself(self) -> bool {
        matches!(
            self,
            HoldReason::PatientUnknown
                | HoldReason::PatientNoInsuranceId
                | HoldReason::PatientIncomplete
        )
    }

    /// A short name, in Japanese.
    pub fn name_ja(self) -> &'static str {
        match self {
            HoldReason::PatientUnknown => "患者情報待ち",
            HoldReason::PatientNoInsuranceId => "被保険者番号なし",
            HoldReason::PatientIncomplete => "患者情報の不足",
            HoldReason::ConditionIncomplete => "傷病名の必須項目不足",
            HoldReason::AllergyIncomplete => "アレルギーの必須項目不足",
            HoldReason::ObservationIncomplete => "検査結果の必須項目不足",
            HoldReason::MedicationIncomplete => "処方の必須項目不足",
            HoldReason::DocumentIncomplete => "文書の必須項目不足",
            HoldReason::DepartmentUnknown => "診療科不明",
            HoldReason::MappingInvalid => "対応表のコードがマスターにない",
            HoldReason::UnmappedHeld => "未対応付けのコード",
            HoldReason::Unsupported => "未対応の入力",
            HoldReason::Encoding => "文字コード不一致",
            HoldReason::Invalid => "検証エラー",
        }
    }

    /// A short name, in English.
    pub fn name_en(self) -> &'static str {
        match self {
            HoldReason::PatientUnknown => "Waiting for the patient",
            HoldReason::PatientNoInsuranceId => "No insurance member id",
            HoldReason::PatientIncomplete => "Incomplete patient",
            HoldReason::ConditionIncomplete => "Incomplete diagnosis",
            HoldReason::AllergyIncomplete => "Incomplete allergy",
            HoldReason::ObservationIncomplete => "Incomplete lab result",
            HoldReason::MedicationIncomplete => "Incomplete prescription",
            HoldReason::DocumentIncomplete => "Incomplete document",
            HoldReason::DepartmentUnknown => "Department unknown",
            HoldReason::MappingInvalid => "Mapped code not in the master",
            HoldReason::UnmappedHeld => "Unmapped local code",
            HoldReason::Unsupported => "Not supported",
            HoldReason::Encoding => "Character set mismatch",
            HoldReason::Invalid => "Failed validation",
        }
    }

    /// What releases the held items, in Japanese.
    pub fn remedy_ja(self) -> &'static str {
        match self {
            HoldReason::PatientUnknown => "同じ患者のADTメッセージ(PID+IN1)または患者マスターの出力を受信すると自動的に送信します",
            HoldReason::PatientNoInsuranceId => "電子カルテ(レセコン連携)で被保険者番号・枝番を登録し、そのADTを受信すると自動的に送信します",
            HoldReason::PatientIncomplete => "氏名・性別・生年月日・住所の揃った患者情報を受信すると自動的に送信します",
            HoldReason::ConditionIncomplete
            | HoldReason::AllergyIncomplete
            | HoldReason::ObservationIncomplete
            | HoldReason::MedicationIncomplete
            | HoldReason::DocumentIncomplete => "tsunagi queue show で不足項目を確認し、電子カルテ側で補って再出力してください",
            HoldReason::DepartmentUnknown => "記録に診療科を含めるか、設定 [agent] department に既定の診療科を設定し、tsunagi replay を実行してください",
            HoldReason::MappingInvalid => "対応表の行を tsunagi mapping check で確認・修正し、tsunagi replay を実行してください",
            HoldReason::UnmappedHeld => "tsunagi mapping suggest で対応表に追加し、tsunagi replay を実行してください",
            HoldReason::Unsupported => "送信対象外です。必要ならベンダーにご相談ください",
            HoldReason::Encoding => "このソースの文字コード設定(charset)を確認し、tsunagi replay を実行してください",
            HoldReason::Invalid => "tsunagi queue show で検証結果を確認してください",
        }
    }

    /// What releases the held items, in English.
    pub fn remedy_en(self) -> &'static str {
        match self {
            HoldReason::PatientUnknown => "sent automatically once an ADT message with the patient's PID and IN1 (insurance), or a patient master export, arrives",
            HoldReason::PatientNoInsuranceId => "sent automatically once the insurance member id (and branch number) is registered in the EHR (from the receipt computer) and its ADT arrives",
            HoldReason::PatientIncomplete => "sent automatically once a Patient with name, gender, birth date and address arrives",
            HoldReason::ConditionIncomplete
            | HoldReason::AllergyIncomplete
            | HoldReason::ObservationIncomplete
            | HoldReason::MedicationIncomplete
            | HoldReason::DocumentIncomplete => "see the missing element with tsunagi queue show, complete it in the EHR and export again",
            HoldReason::DepartmentUnknown => "send the department on the record, or set a default in [agent] department, then tsunagi replay",
            HoldReason::MappingInvalid => "check and fix the mapping row with tsunagi mapping check, then tsunagi replay",
            HoldReason::UnmappedHeld => "add the code to the mapping table (tsunagi mapping suggest), then tsunagi replay",
            HoldReason::Unsupported => "not sent by design; ask your vendor if it should be",
            HoldReason::Encoding => "check this source's charset setting, then tsunagi replay",
            HoldReason::Invalid => "see the findings with tsunagi queue show",
        }
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_round_trip() {
        let mut keys: Vec<&str> = HoldReason::ALL.iter().map(|r| r.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), HoldReason::ALL.len());
        for r in HoldReason::ALL {
            assert_eq!(HoldReason::from_key(r.key()), Some(r));
            assert_eq!(r.to_string(), r.key());
        }
        assert_eq!(HoldReason::from_key("山田"), None);
    }

    #[test]
    fn every_reason_has_words_in_both_languages() {
        for r in HoldReason::ALL {
            for text in [r.name_ja(), r.remedy_ja()] {
                assert!(!text.is_ascii(), "{r}: {text}");
            }
            for text in [r.name_en(), r.remedy_en()] {
                assert!(text.is_ascii() && !text.is_empty(), "{r}: {text}");
            }
        }
    }
}

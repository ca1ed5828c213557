//! MEDIS 標準病名マスター layouts: 病名基本テーブル (`nmainNNN.txt`) and 修飾語テーブル, both
//! comma-separated without a header. Column positions are unverified (see the `kinds` doc).

use super::{code, entry, field, opt, required};
use crate::masters::format::CodeFormat;
use crate::masters::parse::Problem;
use crate::masters::text::Record;
use crate::masters::{ExtraKey, MasterEntry};

/// Columns of MEDIS 病名基本テーブル (`nmainNNN.txt`), by position. Unverified (module doc).
#[allow(dead_code)] // the documented layout; the positions below index into it
pub const MEDIS_DISEASE_COLUMNS: [&str; 20] = [
    "変更区分",
    "病名管理番号",
    "病名表記",
    "病名表記カナ",
    "採択区分",
    "病名交換用コード",
    "ICD10-2013",
    "ICD10-2013複数分類",
    "予備1",
    "予備2",
    "レセ電算コード",
    "傷病名省略名称",
    "使用分野",
    "変更履歴番号",
    "変更日付",
    "移行先病名管理番号",
    "単独使用禁止区分",
    "保険請求外区分",
    "予備3",
    "予備4",
];

/// Positions in [`MEDIS_DISEASE_COLUMNS`] that tsunagi reads.
pub mod medis_disease {
    /// 病名管理番号 (8 digits).
    pub const KEY: usize = 1;
    /// 病名表記.
    pub const NAME: usize = 2;
    /// 病名表記カナ.
    pub const KANA: usize = 3;
    /// 病名交換用コード (4).
    pub const EXCHANGE: usize = 5;
    /// ICD10-2013.
    pub const ICD10: usize = 6;
    /// レセ電算コード.
    pub const RECEIPT: usize = 10;
    /// 移行先病名管理番号.
    pub const SUCCESSOR: usize = 15;
    /// A row needs at least the columns up to the レセ電算コード.
    pub const MIN_COLUMNS: usize = RECEIPT + 1;
}

/// Columns of MEDIS 修飾語テーブル, by position. Unverified (module doc).
#[allow(dead_code)] // the documented layout; the positions below index into it
pub const MEDIS_MODIFIER_COLUMNS: [&str; 10] = [
    "変更区分",
    "修飾語管理番号",
    "修飾語表記",
    "修飾語表記カナ",
    "修飾語交換用コード",
    "接続位置区分",
    "修飾語区分",
    "排他グループコード",
    "レセ電算修飾語コード",
    "修飾語説明用ラベル",
];

/// Positions in [`MEDIS_MODIFIER_COLUMNS`] that tsunagi reads.
pub mod medis_modifier {
    /// 修飾語管理番号 (8 digits).
    pub const KEY: usize = 1;
    /// 修飾語表記.
    pub const NAME: usize = 2;
    /// 修飾語表記カナ.
    pub const KANA: usize = 3;
    /// 修飾語交換用コード (4).
    pub const EXCHANGE: usize = 4;
    /// 接続位置区分 (stored raw: its values are not published here).
    pub const POSITION: usize = 5;
    /// レセ電算修飾語コード.
    pub const RECEIPT: usize = 8;
    /// A row needs at least the columns up to the 接続位置区分.
    pub const MIN_COLUMNS: usize = POSITION + 1;
}

pub(super) fn medis_disease_row(r: &Record) -> Result<Option<MasterEntry>, Problem> {
    use medis_disease::*;
    Ok(entry(
        code(field(r, KEY), "病名管理番号", CodeFormat::MedisDiseaseKey)?,
        required(field(r, NAME), "病名表記")?,
        opt(field(r, KANA)),
        vec![
            (ExtraKey::ExchangeCode, opt(field(r, EXCHANGE))),
            (ExtraKey::Icd10, opt(field(r, ICD10))),
            (ExtraKey::ReceiptCode, opt(field(r, RECEIPT))),
            (ExtraKey::Successor, opt(field(r, SUCCESSOR))),
        ],
    ))
}

pub(super) fn medis_modifier_row(r: &Record) -> Result<Option<MasterEntry>, Problem> {
    use medis_modifier::*;
    Ok(entry(
        code(
            field(r, KEY),
            "修飾語管理番号",
            CodeFormat::MedisModifierKey,
        )?,
        required(field(r, NAME), "修飾語表記")?,
        opt(field(r, KANA)),
        vec![
            (ExtraKey::ExchangeCode, opt(field(r, EXCHANGE))),
            (ExtraKey::Position, opt(field(r, POSITION))),
            (ExtraKey::ReceiptCode, opt(field(r, RECEIPT))),
        ],
    ))
}

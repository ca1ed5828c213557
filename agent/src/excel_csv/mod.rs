//! CSV as hospital IT staff meet it in Excel, for every CSV the agent reads or writes: the
//! national masters, the mapping tables (`mapping import/export/suggest`) and the monthly report.
//!
//! - [`text`]: bytes ↔ text. Reading takes UTF-8 (BOM optional) or else CP932 (Shift_JIS as
//!   Windows writes it), decoded one way everywhere: where the WHATWG Shift_JIS table and CP932
//!   differ, CP932's character wins (0x8160 is ～ U+FF5E, as Windows and the masters' UTF-8
//!   editions have it, not 〜 U+301C), and writing maps either back to the same byte. Writing is
//!   UTF-8 with a BOM (Excel then reads it as UTF-8) or CP932.
//! - [`records`]: quoted fields with doubled quotes and embedded line breaks; CRLF or LF; each
//!   record with the line it starts on.
//! - [`cells`]: writing. A text cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) or
//!   with the guard's own `'` gets a leading `'` (OWASP's CSV-injection advice), so a spreadsheet
//!   never runs a local name such as `=HYPERLINK(…)`; [`cells::unguard`] takes it off again when
//!   the agent reads its own file back (`mapping import` of an export round-trips).

pub mod cells;
pub mod records;
pub mod text;

pub use cells::{format, unguard};
pub use records::read;
pub use text::{decode, encode, encode_lossy};

/// The byte encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8; written with a BOM.
    #[default]
    Utf8,
    /// CP932 (Windows-31J, Shift_JIS as Excel on Japanese Windows writes it).
    Cp932,
}

/// Why a file could not be read or written as CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Neither valid UTF-8 nor valid CP932.
    #[error("line {line}: the file is neither UTF-8 nor CP932 (Shift_JIS) text / {line} 行目: ファイルが UTF-8 でも CP932(Shift_JIS) でもありません")]
    UnknownEncoding {
        /// The 1-based line of the first byte that decodes in neither.
        line: usize,
    },
    /// A quoted field was still open at the end of the file.
    #[error("line {line}: a quoted field is not closed / {line} 行目: 「\"」で始まる項目が閉じられていません")]
    UnclosedQuote {
        /// Where the field started.
        line: usize,
    },
    /// Something other than a comma or line end right after a closing quote.
    #[error("line {line}: unexpected character after a closing quote / {line} 行目: 閉じ「\"」の後に不正な文字があります")]
    TextAfterQuote {
        /// The line of the offending character.
        line: usize,
    },
    /// A character that CP932 cannot hold.
    #[error("{what}: {ch:?} cannot be written in CP932; use --encoding utf8 / {what}: 文字「{ch}」は CP932 で保存できません。--encoding utf8 を使ってください")]
    NotCp932 {
        /// Which row/column.
        what: String,
        /// The character.
        ch: char,
    },
}

//! Hospital mapping tables: from the local codes an EHR sends (病名, 検査, アレルギー, 薬剤) to the
//! national standard codes JP-CLINS requires, plus suggestions that help hospital staff build
//! those tables.
//!
//! - [`category`]: the four categories, their standard systems, uncoded markers and policies.
//! - [`row`]: the mapping CSV file hospital IT edit in Excel (UTF-8/CP932), read and written
//!   with [`crate::excel_csv`] (formula guard included).
//! - `store::terminology::mapping`: the table in SQLite (`mapping_*` tables), imports as one
//!   transaction.
//! - [`table`] and [`resolve`]: lookups and the decision the pipeline makes for each code.
//! - [`check`]: a mapping table against the masters.
//! - [`normalize`] and [`suggest`]: Japanese name normalisation and n-gram suggestions.
//!
//! The map stage (`terminology::Mapper`) resolves each code through [`resolve`]; the CLI imports,
//! exports, checks and suggests. The national masters are reached only through the
//! [`MasterCatalog`] trait.

pub mod catalog;
pub mod category;
pub mod check;
pub mod normalize;
pub mod resolve;
pub mod row;
pub mod suggest;
pub mod suggest_csv;
pub mod table;

#[cfg(test)]
mod accuracy_tests;
#[cfg(test)]
mod variants;

pub use crate::excel_csv::TextEncoding;
pub use crate::store::terminology::mapping::ImportMode;
pub use catalog::{Candidate, MasterCatalog};
pub use category::{AllergenKind, Category, Policies, UnmappedPolicy};
pub use resolve::{resolve, LocalCode, Outcome, Via};
pub use row::{read_file, write_file, Row};
pub use suggest::{suggest, UnmappedCode};
pub use table::MappingTable;

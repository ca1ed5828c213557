//! Hospital mapping tables as files and suggestions: the mapping CSV hospital IT edit in Excel,
//! checks of a table against the masters, and the n-gram suggestions that help build one.
//!
//! - [`row`]: the mapping CSV file (UTF-8/CP932), read and written with [`crate::excel_csv`]
//!   (formula guard included).
//! - [`check`]: a mapping table against the masters.
//! - [`normalize`] and [`suggest`]: Japanese name normalisation and n-gram suggestions.
//!
//! The rows, the categories and their policies, the in-memory table and the decision for each
//! code are the map stage's, pure, in `tsunagi_clins::map` (re-exported here); the table's SQL
//! is `store::terminology::mapping`. The national masters are reached only through the
//! [`MasterCatalog`] trait.

pub mod check;
pub mod normalize;
pub mod row;
pub mod suggest;
pub mod suggest_csv;

#[cfg(test)]
mod accuracy_tests;
#[cfg(test)]
mod variants;

pub use crate::excel_csv::TextEncoding;
pub use crate::store::terminology::mapping::ImportMode;
pub use row::{read_file, write_file, Row};
pub use suggest::{suggest, UnmappedCode};
pub use tsunagi_clins::map::{Candidate, Category, MasterCatalog, Policies, UnmappedPolicy};

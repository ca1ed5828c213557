//! `tsunagi mapping …`: the hospital's code mapping table (import/export as Excel-friendly CSV),
//! its check against the national masters, and suggestions for codes that have no mapping yet.
//!
//! The table lives in `DATA_DIR/terminology.db` (`mapping_*` tables), beside the masters.

use crate::console::outln;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;

use crate::mapping::check::{self, Severity};
use crate::mapping::suggest::{Suggestion, UnmappedSource};
use crate::mapping::{self as m, Category, MasterCatalog, TextEncoding};
use crate::store::terminology::mapping as store;

/// `mapping` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum MappingAction {
    /// Load a mapping CSV (UTF-8 or CP932). Replaces the rows of every category in the file,
    /// or adds to them with --merge. A file with any bad line is refused whole.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Add and overwrite rows instead of replacing the file's categories.
        #[arg(long)]
        merge: bool,
    },
    /// Write the mapping table as CSV (UTF-8 with BOM, or CP932), CRLF line ends.
    Export {
        /// Only this category (disease, lab, allergen, drug).
        #[arg(long)]
        category: Option<Category>,
        /// Output encoding.
        #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
        encoding: EncodingArg,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check every row (the stored table, or FILE) against the masters; one line per problem.
    Check {
        /// A mapping CSV to check instead of the stored table.
        file: Option<PathBuf>,
    },
    /// Propose standard codes for unmapped local codes, most records affected first.
    Suggest {
        /// Only this category.
        #[arg(long)]
        category: Option<Category>,
        /// Candidates per code.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// `table` to read, `csv` to edit and import back (top candidate pre-filled).
        #[arg(long, value_enum, default_value_t = SuggestFormat::Table)]
        format: SuggestFormat,
        /// CSV encoding.
        #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
        encoding: EncodingArg,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// `--encoding`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum EncodingArg {
    /// UTF-8 with BOM.
    Utf8,
    /// CP932 (Shift_JIS, Windows).
    Cp932,
}

impl From<EncodingArg> for TextEncoding {
    fn from(e: EncodingArg) -> Self {
        match e {
            EncodingArg::Utf8 => TextEncoding::Utf8,
            EncodingArg::Cp932 => TextEncoding::Cp932,
        }
    }
}

/// `suggest --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum SuggestFormat {
    /// Aligned text.
    Table,
    /// A mapping CSV with extra `score`, `records`, `unit`, `specimen`, `alternatives` columns.
    Csv,
}

/// The national masters loaded in `terminology.db`; `None` when none is loaded. A read that
/// fails is an error, not "no masters".
fn master_catalog(
    conn: &Connection,
) -> Result<Option<Box<dyn MasterCatalog>>, crate::masters::MasterError> {
    let set = crate::store::terminology::masters::master_set(conn)?;
    let loaded = crate::masters::MasterKind::ALL
        .iter()
        .any(|k| !set.entries(*k).is_empty());
    Ok(loaded.then(|| Box::new(OwnedCatalog(set)) as Box<dyn MasterCatalog>))
}

/// A [`crate::masters::MasterSet`] owned by the catalog.
struct OwnedCatalog(crate::masters::MasterSet);

impl MasterCatalog for OwnedCatalog {
    fn name(&self, category: Category, system: &str, code: &str) -> Option<String> {
        crate::map::SetCatalog(&self.0).name(category, system, code)
    }
    fn candidates(&self, category: Category) -> Vec<crate::mapping::Candidate> {
        crate::map::SetCatalog(&self.0).candidates(category)
    }
    fn covers(&self, category: Category, system: &str) -> bool {
        crate::map::SetCatalog(&self.0).covers(category, system)
    }
}

/// The unmapped codes the agent recorded in its store (`None` when there is no store yet). A
/// store that exists but cannot be read is an error, not "nothing recorded".
fn unmapped_source(
    data_dir: &Path,
) -> Result<Option<Box<dyn UnmappedSource>>, crate::store::StoreError> {
    if !crate::store::db_path(data_dir).exists() {
        return Ok(None);
    }
    let conn = crate::store::open_existing(data_dir)?;
    let rows = crate::store::items::unmapped(&conn)?;
    Ok(Some(Box::new(StoreUnmapped(rows))))
}

/// Unmapped codes read from the store.
struct StoreUnmapped(Vec<crate::store::items::UnmappedCount>);

impl UnmappedSource for StoreUnmapped {
    fn unmapped(&self) -> Vec<crate::mapping::UnmappedCode> {
        self.0
            .iter()
            .map(|u| crate::mapping::UnmappedCode {
                category: Some(u.category),
                source_system: u.source_system.clone(),
                local_system: u.local_system.clone(),
                local_code: u.local_code.clone(),
                local_name: u.local_name.clone().unwrap_or_default(),
                unit: u.unit.clone(),
                specimen: u.specimen.clone(),
                records: u.records,
            })
            .collect()
    }
}

/// Runs a `mapping` subcommand; `Ok(false)` means problems were found (exit 1).
pub fn run(data_dir: &Path, action: MappingAction) -> anyhow::Result<bool> {
    match action {
        MappingAction::Import { file, merge } => import(data_dir, &file, merge),
        MappingAction::Export {
            category,
            encoding,
            output,
        } => {
            let conn = open_db(data_dir)?;
            let rows = store::load(&conn, category)?;
            let bytes = m::write_file(&rows, encoding.into())?;
            emit(output.as_deref(), &bytes)?;
            eprintln!(
                "{} row(s) exported / {} 行を書き出しました",
                rows.len(),
                rows.len()
            );
            Ok(true)
        }
        MappingAction::Check { file } => run_check(data_dir, file.as_deref()),
        MappingAction::Suggest {
            category,
            top,
            format,
            encoding,
            output,
        } => {
            let conn = open_db(data_dir)?;
            let Some(catalog) = master_catalog(&conn)? else {
                anyhow::bail!("no masters are loaded, so there is nothing to suggest from / マスターが読み込まれていないため候補を出せません");
            };
            let Some(source) = unmapped_source(data_dir)? else {
                anyhow::bail!("this build does not record unmapped codes yet / 未対応付けコードの集計はまだ利用できません");
            };
            let mut unmapped = source.unmapped();
            unmapped.retain(|u| category.is_none() || u.category == category);
            let suggestions = m::suggest(&unmapped, catalog.as_ref(), top);
            let bytes = match format {
                SuggestFormat::Table => table_text(&suggestions).into_bytes(),
                SuggestFormat::Csv => m::suggest_csv::write(&suggestions, encoding.into())?,
            };
            emit(output.as_deref(), &bytes)?;
            Ok(true)
        }
    }
}

fn import(data_dir: &Path, file: &Path, merge: bool) -> anyhow::Result<bool> {
    let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed = match m::read_file(&bytes) {
        Ok(p) => p,
        Err(e) => {
            outln!("{}: {e}", file.display())?;
            return Ok(false);
        }
    };
    let mut conn = open_db(data_dir)?;
    let mode = if merge {
        m::ImportMode::Merge
    } else {
        m::ImportMode::Replace
    };
    let s = store::import(&mut conn, &parsed, mode)?;
    let cats: Vec<&str> = s.categories.iter().map(|c| c.as_str()).collect();
    outln!(
        "{}: {} row(s) imported ({}), {} old row(s) replaced, {} row(s) without a standard code skipped\n\
         {} 行を取り込みました(区分 {})。置き換えた旧行 {}、標準コード未記入で飛ばした行 {}",
        file.display(),
        s.written,
        if cats.is_empty() { "-".to_string() } else { cats.join(",") },
        s.removed,
        s.skipped_unmapped,
        s.written,
        if cats.is_empty() { "-".to_string() } else { cats.join(",") },
        s.removed,
        s.skipped_unmapped,
    )?;
    Ok(true)
}

fn run_check(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<bool> {
    let conn = open_db(data_dir)?;
    let catalog = master_catalog(&conn)?;
    let rows: Vec<(Option<usize>, m::Row)> = match file {
        Some(f) => {
            let bytes = fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            match m::read_file(&bytes) {
                Ok(p) => p.rows.into_iter().map(|(l, r)| (Some(l), r)).collect(),
                Err(e) => {
                    outln!("{}: {e}", f.display())?;
                    return Ok(false);
                }
            }
        }
        None => store::load(&conn, None)?
            .into_iter()
            .map(|r| (None, r))
            .collect(),
    };
    let report = check::check(rows.iter().map(|(l, r)| (*l, r)), catalog.as_deref());
    for f in &report.findings {
        outln!("{f}")?;
    }
    if catalog.is_none() {
        outln!(
            "note: no masters are loaded: only code formats were checked, not presence in the \
             master or names / 注意: マスター未読込のため、コードの書式のみ確認しました(マスター収載・名称は未確認)"
        )?;
    } else if !report.not_loaded.is_empty() {
        for s in &report.not_loaded {
            outln!(
                "note: the master of {s} is not loaded: its codes were checked for format only / \
                 注意: {s} のマスター未読込のため書式のみ確認しました"
            )?;
        }
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = report.findings.len() - errors;
    outln!(
        "{} row(s) checked: {errors} error(s), {warnings} warning(s) / {} 行を確認: エラー {errors} 件、警告 {warnings} 件",
        report.rows, report.rows
    )?;
    Ok(!report.has_errors())
}

/// Opens (creating if needed, owner-only) the terminology database and its mapping tables.
fn open_db(data_dir: &Path) -> anyhow::Result<Connection> {
    let conn = crate::store::terminology::open(data_dir)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    store::ensure_schema(&conn)?;
    Ok(conn)
}

fn emit(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(p) => fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn table_text(suggestions: &[Suggestion]) -> String {
    let mut s = String::new();
    for sg in suggestions {
        let u = &sg.unmapped;
        s.push_str(&format!(
            "{} {}/{}/{} {:?} ({} records / 件)\n",
            u.category.map(Category::as_str).unwrap_or("-"),
            u.source_system,
            u.local_system,
            u.local_code,
            u.local_name,
            u.records
        ));
        if sg.candidates.is_empty() {
            s.push_str("    (no candidate / 候補なし)\n");
        }
        for c in &sg.candidates {
            s.push_str(&format!("    {:.3}  {}  {}\n", c.score, c.code, c.name));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::category::DISEASE_KEY_NUMBER;

    #[test]
    fn import_export_and_check_through_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let csv = dir.path().join("m.csv");
        let text = format!(
            "{}\r\ndisease,HIS,99X,D1,胃炎,{DISEASE_KEY_NUMBER},20054174,胃炎,\r\n",
            m::row::COLUMNS.join(",")
        );
        fs::write(&csv, text).unwrap();
        assert!(import(&data, &csv, false).unwrap());
        let db = data.join(crate::store::terminology::DB_FILE);
        assert!(crate::owner_only::is_owner_only(&db).unwrap());
        let out = dir.path().join("out.csv");
        run(
            &data,
            MappingAction::Export {
                category: None,
                encoding: EncodingArg::Cp932,
                output: Some(out.clone()),
            },
        )
        .unwrap();
        let back = m::read_file(&fs::read(&out).unwrap()).unwrap();
        assert_eq!(back.encoding, TextEncoding::Cp932);
        assert_eq!(back.rows[0].1.standard_code, "20054174");
        assert!(run_check(&data, None).unwrap());
        // A bad file is refused and the stored table stays.
        fs::write(
            &csv,
            format!(
                "{}\r\ndisease,HIS,99X,D1,,{DISEASE_KEY_NUMBER},1,,\r\n",
                m::row::COLUMNS.join(",")
            ),
        )
        .unwrap();
        assert!(!import(&data, &csv, false).unwrap());
        assert!(!run_check(&data, Some(&csv)).unwrap());
        let conn = open_db(&data).unwrap();
        assert_eq!(store::load(&conn, None).unwrap().len(), 1);
    }
}

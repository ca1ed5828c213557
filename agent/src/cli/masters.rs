//! `tsunagi masters load|status`: load a national code master file as a new version, and show what is
//! loaded. The masters live in `DATA_DIR/terminology.db` (see `masters::store`).

use std::path::PathBuf;

use clap::Subcommand;

use super::Target;
use crate::masters::{self, MasterKind};

/// What to do with the masters.
#[derive(Subcommand, Debug)]
pub enum MastersAction {
    /// Load FILE as the new version of KIND (the whole file is checked first; on any problem
    /// the current version stays active).
    Load {
        /// medis-disease, medis-modifier, medis-modifier-exchange, receipt-disease,
        /// receipt-modifier, jlac10, clins-lab, yj, jfagy or hot.
        #[arg(value_parser = parse_kind)]
        kind: MasterKind,
        /// The master file (for clins-lab: a CodeSystem JSON file or a directory of them).
        file: PathBuf,
        /// Version label (default: from the file name, e.g. nmain528 → 528, or the content).
        #[arg(long)]
        version: Option<String>,
    },
    /// Active version, entry count and load time of each kind.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_kind(s: &str) -> Result<MasterKind, String> {
    s.parse()
}

/// Runs the action; `Ok(false)` when a file was refused (exit 1).
pub fn run(target: &Target, action: MastersAction) -> anyhow::Result<bool> {
    match action {
        MastersAction::Load {
            kind,
            file,
            version,
        } => {
            let data_dir = &target.data_dir()?;
            let mut conn = masters::store::open(data_dir)?;
            match masters::load(&mut conn, kind, &file, version.as_deref()) {
                Ok(r) if r.unchanged => {
                    println!(
                        "{kind}: {} is already the active version {} ({} entries); nothing changed / 変更なし",
                        r.source_name, r.version, r.entries
                    );
                    Ok(true)
                }
                Ok(r) => {
                    println!(
                        "{kind} ({}): loaded {} as version {}: {} entries{}, {}{} / 取り込みました",
                        kind.name_ja(),
                        r.source_name,
                        r.version,
                        r.entries,
                        if r.skipped > 0 {
                            format!(" ({} rows skipped)", r.skipped)
                        } else {
                            String::new()
                        },
                        r.encoding,
                        r.replaced
                            .map(|p| format!(", replaces {p}"))
                            .unwrap_or_default(),
                    );
                    Ok(true)
                }
                Err(e) => {
                    eprintln!(
                        "refused / 取り込みを中止しました: {}: {e}\n  the active version is unchanged / 現在の版はそのまま使われます",
                        file.display()
                    );
                    Ok(false)
                }
            }
        }
        MastersAction::Status { json } => {
            let data_dir = &target.data_dir()?;
            let path = masters::store::db_path(data_dir);
            let status = if path.exists() {
                masters::status(&masters::store::open(data_dir)?)?
            } else {
                Vec::new()
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
                return Ok(true);
            }
            println!("tsunagi masters  ({})", path.display());
            for kind in MasterKind::ALL {
                let s = status.iter().find(|s| s.kind == kind);
                match s.and_then(|s| s.active.as_ref()) {
                    Some(v) => println!(
                        "  {:<24} {:<14} {:>8} entries  {}  {}",
                        kind.as_str(),
                        v.label,
                        v.entries,
                        super::status::fmt_ms(v.loaded_at_ms),
                        v.source_name
                    ),
                    None => println!("  {:<24} (not loaded / 未登録)", kind.as_str()),
                }
                for p in s.map(|s| s.previous.as_slice()).unwrap_or_default() {
                    println!(
                        "  {:<24} previous {:<5} {:>8} entries  {}  {}",
                        "",
                        p.label,
                        p.entries,
                        super::status::fmt_ms(p.loaded_at_ms),
                        p.source_name
                    );
                }
            }
            Ok(true)
        }
    }
}

//! `tsunagi masters load|status`: load a national code master file (or an official FHIR
//! package, `fhir-package`) as a new version, and show what is loaded. The masters live in
//! `DATA_DIR/terminology.db` (see `store::terminology::masters`).

use crate::console::outln;
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
        /// receipt-modifier, jlac10, clins-lab, yj, jfagy, hot, or fhir-package (an official
        /// JP-CLINS package directory: its profiles become the validation rules).
        #[arg(value_parser = parse_kind)]
        kind: Loadable,
        /// The master file (for clins-lab: a CodeSystem JSON file or a directory of them; for
        /// fhir-package: the package directory or its package.tgz).
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

/// What `masters load` can load.
#[derive(Debug, Clone, Copy)]
pub enum Loadable {
    /// A national code master.
    Master(MasterKind),
    /// An official FHIR package (the validation rules).
    FhirPackage,
}

fn parse_kind(s: &str) -> Result<Loadable, String> {
    if s == crate::store::terminology::masters::FHIR_PACKAGE_KIND {
        return Ok(Loadable::FhirPackage);
    }
    s.parse().map(Loadable::Master).map_err(|e: String| {
        format!(
            "{e} (or {})",
            crate::store::terminology::masters::FHIR_PACKAGE_KIND
        )
    })
}

/// `masters load fhir-package DIR`.
fn load_package(target: &Target, dir: &std::path::Path) -> anyhow::Result<bool> {
    let mut conn = crate::store::terminology::open(&target.data_dir()?)?;
    match masters::fhir_package::load(&mut conn, dir) {
        Ok(r) if r.stored.unchanged => {
            outln!(
                "fhir-package: {} is already the active version; nothing changed / 変更なし",
                r.package
            )?;
            Ok(true)
        }
        Ok(r) => {
            outln!(
                "fhir-package: loaded {} ({} profiles, {} rule elements){}: validation uses it from the next batch / 取り込みました（次のバッチから検証に使われます）",
                r.package,
                r.profiles,
                r.elements,
                r.stored.replaced.map(|p| format!(", replaces {p}")).unwrap_or_default()
            )?;
            Ok(true)
        }
        Err(e) => {
            eprintln!(
                "refused / 取り込みを中止しました: {}: {e}\n  the active version is unchanged / 現在の版はそのまま使われます",
                dir.display()
            );
            Ok(false)
        }
    }
}

/// The `fhir-package` line of `masters status`: the loaded package, else the built-in rules.
fn package_status(data_dir: &std::path::Path, exists: bool) -> anyhow::Result<()> {
    let active = match exists {
        true => crate::store::terminology::masters::active_fhir_package(
            &crate::store::terminology::open(data_dir)?,
        )?,
        false => None,
    };
    match active {
        Some((v, _)) => outln!(
            "  {:<24} {:<14} {:>8} elements {}  {}  (validation rules / 検証規則)",
            crate::store::terminology::masters::FHIR_PACKAGE_KIND,
            v.label,
            v.entries,
            super::status::fmt_ms(v.loaded_at_ms),
            v.source_name
        )?,
        None => outln!(
            "  {:<24} (not loaded: built-in {} validates / 未登録: 組込みの版で検証)",
            crate::store::terminology::masters::FHIR_PACKAGE_KIND,
            tsunagi_clins::validate::Package::builtin().id
        )?,
    }
    Ok(())
}

/// Runs the action; `Ok(false)` when a file was refused (exit 1).
pub fn run(target: &Target, action: MastersAction) -> anyhow::Result<bool> {
    match action {
        MastersAction::Load {
            kind: Loadable::FhirPackage,
            file,
            ..
        } => load_package(target, &file),
        MastersAction::Load {
            kind: Loadable::Master(kind),
            file,
            version,
        } => {
            let data_dir = &target.data_dir()?;
            let mut conn = crate::store::terminology::open(data_dir)?;
            match masters::load(&mut conn, kind, &file, version.as_deref()) {
                Ok(r) if r.unchanged => {
                    outln!(
                        "{kind}: {} is already the active version {} ({} entries); nothing changed / 変更なし",
                        r.source_name, r.version, r.entries
                    )?;
                    Ok(true)
                }
                Ok(r) => {
                    outln!(
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
                    )?;
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
            let path = crate::store::terminology::db_path(data_dir);
            let status = if path.exists() {
                masters::status(&crate::store::terminology::open(data_dir)?)?
            } else {
                Vec::new()
            };
            if json {
                outln!("{}", serde_json::to_string_pretty(&status)?)?;
                return Ok(true);
            }
            outln!("tsunagi masters  ({})", path.display())?;
            for kind in MasterKind::ALL {
                let s = status.iter().find(|s| s.kind == kind);
                match s.and_then(|s| s.active.as_ref()) {
                    Some(v) => outln!(
                        "  {:<24} {:<14} {:>8} entries  {}  {}",
                        kind.as_str(),
                        v.label,
                        v.entries,
                        super::status::fmt_ms(v.loaded_at_ms),
                        v.source_name
                    )?,
                    None => outln!("  {:<24} (not loaded / 未登録)", kind.as_str())?,
                }
                for p in s.map(|s| s.previous.as_slice()).unwrap_or_default() {
                    outln!(
                        "  {:<24} previous {:<5} {:>8} entries  {}  {}",
                        "",
                        p.label,
                        p.entries,
                        super::status::fmt_ms(p.loaded_at_ms),
                        p.source_name
                    )?;
                }
            }
            package_status(data_dir, path.exists())?;
            Ok(true)
        }
    }
}

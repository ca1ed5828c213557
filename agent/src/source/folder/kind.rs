//! `[[source.folder]]` as a source kind: a watched folder and the format of its files.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{FolderConfig, FolderMode, FolderSource};
use crate::source::kinds::{
    absolute, Described, Root, SourceKind, SourceProblem, StartError, Started, Starting, Wiring,
};

/// Watched folders (`[[source.folder]]`).
pub struct Folders;

/// One `[[source.folder]]`: the folder settings plus the input format.
#[derive(Debug, Clone)]
pub struct FolderSourceConfig {
    /// Adapter name for the files of this folder (e.g. `fhir-json`).
    pub format: String,
    /// The folder source's own settings.
    pub folder: FolderConfig,
}

impl<'de> Deserialize<'de> for FolderSourceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `format` belongs to the pipeline, everything else to the folder source, which denies
        // unknown keys itself.
        let mut table = toml::Table::deserialize(d)?;
        let format = match table.remove("format") {
            None => "fhir-json".to_owned(),
            Some(toml::Value::String(s)) => s,
            Some(_) => return Err(serde::de::Error::custom("`format` must be a string")),
        };
        let folder = FolderConfig::deserialize(toml::Value::Table(table))
            .map_err(serde::de::Error::custom)?;
        Ok(FolderSourceConfig { format, folder })
    }
}

impl SourceKind for Folders {
    const NAME: &'static str = "folder";
    type Config = FolderSourceConfig;

    fn describe(c: &FolderSourceConfig) -> Described<'_> {
        Described {
            name: &c.folder.name,
            format: Some(&c.format),
            roots: vec![Root {
                path: &c.folder.path,
                watch: c.folder.watch,
            }],
            shared: shared(&c.folder),
            stores_files_as: Some(c.format.clone()),
            ..Described::default()
        }
    }

    fn resolved_problems(c: &FolderSourceConfig) -> Vec<SourceProblem> {
        let Err(e) = FolderSource::new(c.folder.clone()) else {
            return Vec::new();
        };
        vec![SourceProblem {
            en: format!("source {}: {e}", c.folder.name),
            ja: format!("ソース {} のフォルダを確認してください", c.folder.name),
        }]
    }

    fn resolve_paths(c: &mut FolderSourceConfig, base: &Path) {
        absolute(&mut c.folder.path, base);
    }

    fn start<'a>(
        c: &'a FolderSourceConfig,
        w: &'a Wiring<'a>,
        started: &'a mut Started,
    ) -> Starting<'a> {
        Box::pin(async move {
            let name = c.folder.name.clone();
            let source =
                FolderSource::new(c.folder.clone()).map_err(|e| StartError::unusable(&name, e))?;
            w.counters.watch_source_skips(&name, source.skip_counts());
            let intake = w.intake(c.format.clone())?;
            let sd = w.shutdown.clone();
            started.thread("folder-source", move || {
                if let Err(e) = source.run(intake, sd) {
                    tracing::error!(source = %name, error = %e, "folder source stopped");
                }
            })
        })
    }
}

/// The root and, in move mode, the folders files are moved to (relative ones are under the
/// root; absolute ones may be anywhere).
fn shared(f: &FolderConfig) -> Vec<PathBuf> {
    let mut out = vec![f.path.clone()];
    if let FolderMode::Move {
        processed,
        rejected,
    } = &f.mode
    {
        out.extend(processed.iter().chain(rejected).map(|p| f.path.join(p)));
    }
    out
}

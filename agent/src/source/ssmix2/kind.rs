//! `[[source.ssmix2]]` as a source kind: a storage read in place, its character set and the
//! data types sent on.

use std::path::Path;

use super::{Ssmix2Config, Ssmix2Source};
use crate::source::kinds::{
    absolute, Described, Root, SourceKind, SourceProblem, StartError, Started, Starting, Wiring,
};

/// SS-MIX2 standard storages (`[[source.ssmix2]]`), read-only.
pub struct Storages;

impl SourceKind for Storages {
    const NAME: &'static str = "ssmix2";
    type Config = Ssmix2Config;

    fn describe(c: &Ssmix2Config) -> Described<'_> {
        Described {
            name: &c.name,
            charset: c.charset.as_deref(),
            data_types: Some(&c.data_types),
            roots: vec![Root {
                path: &c.path,
                watch: c.watch,
            }],
            shared: vec![c.path.clone()],
            stores_files_as: Some(stored_format(c)),
            ..Described::default()
        }
    }

    fn resolved_problems(c: &Ssmix2Config) -> Vec<SourceProblem> {
        let Err(e) = Ssmix2Source::new(c.clone()) else {
            return Vec::new();
        };
        vec![SourceProblem {
            en: format!("source {}: {e}", c.name),
            ja: format!("ソース {} の SS-MIX2 ストレージを確認してください", c.name),
        }]
    }

    fn resolve_paths(c: &mut Ssmix2Config, base: &Path) {
        absolute(&mut c.path, base);
    }

    fn start<'a>(c: &'a Ssmix2Config, w: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a> {
        Box::pin(async move {
            let name = c.name.clone();
            let source =
                Ssmix2Source::new(c.clone()).map_err(|e| StartError::unusable(&name, e))?;
            w.counters.watch_source_skips(&name, source.skip_counts());
            let intake = w.intake(stored_format(c))?;
            let sd = w.shutdown.clone();
            started.thread("ssmix2-source", move || match source.run(intake, sd) {
                Ok(stats) => {
                    tracing::info!(source = %name, stored = stats.stored, "SS-MIX2 source stopped")
                }
                Err(e) => tracing::error!(source = %name, error = %e, "SS-MIX2 source stopped"),
            })
        })
    }
}

/// The format a storage's files are stored under: `ssmix2`, or `ssmix2:CHARSET` when the config
/// forces a character set.
fn stored_format(c: &Ssmix2Config) -> String {
    match &c.charset {
        Some(charset) => format!("ssmix2:{charset}"),
        None => "ssmix2".to_string(),
    }
}

//! `[[source.exec]]` as a source kind: a supervised plugin on its own thread.

use std::path::Path;
use std::sync::Arc;

use super::{supervise, ExecConfig, Feed, PluginStats};
use crate::source::kinds::{Described, SourceKind, SourceProblem, Started, Starting, Wiring};
use crate::store;

/// Exec plugins in the source role (`[[source.exec]]`).
pub struct Plugins;

impl SourceKind for Plugins {
    const NAME: &'static str = "exec";
    type Config = ExecConfig;

    fn describe(c: &ExecConfig) -> Described<'_> {
        Described {
            name: &c.name,
            ..Described::default()
        }
    }

    fn problems(c: &ExecConfig) -> Vec<SourceProblem> {
        let each = c.problems().into_iter();
        each.map(|e| SourceProblem::of(&e, e.ja())).collect()
    }

    fn resolve_paths(c: &mut ExecConfig, base: &Path) {
        c.resolve_paths(base);
    }

    fn start<'a>(c: &'a ExecConfig, w: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a> {
        Box::pin(async move {
            let stats = Arc::new(PluginStats::default());
            w.counters.watch_plugin(&c.name, stats.clone());
            let feed = Feed {
                cfg: c.clone(),
                source: c.name.as_str().into(),
                writer: w.writer.clone(),
                reader: std::sync::Mutex::new(store::open(w.data_dir)?),
                reserve: w.reserve.clone(),
                wake: w.wake_processor.clone(),
                stats,
                shutdown: w.shutdown.clone(),
            };
            // The supervisor logs each run's end itself.
            started.thread("exec-source", move || supervise(feed))
        })
    }
}

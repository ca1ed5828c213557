//! Source kinds, registered by name: what every `[[source.NAME]]` provides.
//!
//! A kind is a type implementing [`SourceKind`]: its name in the config, its typed config (one
//! `[[source.NAME]]` table, read by serde with that table's own errors and line numbers), its
//! checks, what the rest of the agent may know about each of its sources ([`Described`]: name,
//! format, folders, listening address, certificate) and how a source starts ([`start`]).
//! [`Builtin`] lists the kinds, one line each, in the order their sources start. Everything
//! else goes through [`Sources`], the parsed `[source]` table, and never names a kind: the
//! config's checks, `check-config`, `tsunagi doctor`, the Windows service's home, the ops and
//! fleet reports and the daemon's start. A new kind is one module under `source/` plus one line
//! in [`Builtin`].
//!
//! An unknown `[[source.X]]` is not a serde error: it is kept by name ([`Sources::unknown`]) so
//! that the config's checks can say, in both languages, which kinds exist.

mod start;
mod tables;

#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use start::{Listening, StartError, Started, Starting, Watch, Wiring};
pub use tables::Sources;

use super::folder::WatchMode;

/// One source kind: its `[[source.NAME]]` tables and how their sources run.
pub trait SourceKind: 'static {
    /// The name in the config: `[[source.NAME]]`.
    const NAME: &'static str;
    /// One `[[source.NAME]]` table; unknown keys are errors of its own deserializer.
    type Config: DeserializeOwned + Clone + Debug + Send + Sync + 'static;

    /// What the rest of the agent may know about one source.
    fn describe(cfg: &Self::Config) -> Described<'_>;

    /// The checks serde cannot make and that need no I/O (a bad limit, an exposed listener).
    fn problems(_cfg: &Self::Config) -> Vec<SourceProblem> {
        Vec::new()
    }

    /// The checks that open what the source will use (its folder, its certificates):
    /// `tsunagi check-config`'s resolved layer. Run on a config whose paths are resolved.
    fn resolved_problems(_cfg: &Self::Config) -> Vec<SourceProblem> {
        Vec::new()
    }

    /// Makes relative paths relative to `base`, the config file's folder.
    fn resolve_paths(cfg: &mut Self::Config, base: &Path);

    /// Starts one source: builds it, gives it an intake and registers its counters through
    /// `wiring`, and leaves its thread or task (and the address it listens on) in `started`.
    fn start<'a>(
        cfg: &'a Self::Config,
        wiring: &'a Wiring<'a>,
        started: &'a mut Started,
    ) -> Starting<'a>;
}

/// What the rest of the agent may know about one configured source, whatever its kind.
#[derive(Debug, Default)]
pub struct Described<'a> {
    /// Its name (`name =`), unique across every kind.
    pub name: &'a str,
    /// The input format the config names for it (checked against the known formats).
    pub format: Option<&'a str>,
    /// A character set forced on the decoding of its inputs.
    pub charset: Option<&'a str>,
    /// The SS-MIX2 data types it sends on (the processor stores the others as not used).
    pub data_types: Option<&'a [String]>,
    /// The folders it reads (`tsunagi doctor` lists each).
    pub roots: Vec<Root<'a>>,
    /// For a source that reads files from its roots: the format a file is stored under
    /// (`inbox.format`), with its origin the file's path under the root. `tsunagi inspect
    /// --bundles` stores a file found under such a root the same way.
    pub stores_files_as: Option<String>,
    /// The folders it shares with other programs (the Windows service never tightens them).
    pub shared: Vec<PathBuf>,
    /// The address it listens on.
    pub listen: Option<SocketAddr>,
    /// Its server certificate and key.
    pub tls: Option<Tls<'a>>,
}

/// A folder a source reads, and how it notices new files.
#[derive(Debug, Clone, Copy)]
pub struct Root<'a> {
    pub path: &'a Path,
    pub watch: WatchMode,
}

/// A listener's certificate and key files.
#[derive(Debug, Clone, Copy)]
pub struct Tls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// One problem of one source's config, in English and Japanese (the config adds its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    pub en: String,
    pub ja: String,
}

impl SourceProblem {
    /// A config error whose `Display` is English and whose `ja()` is the same in Japanese.
    pub fn of<E: std::fmt::Display>(e: &E, ja: String) -> Self {
        SourceProblem {
            en: e.to_string(),
            ja,
        }
    }
}

/// A list of source kinds.
pub trait Registry {
    /// Calls `each.kind::<K>()` once per kind, in the order their sources start.
    fn visit(each: &mut impl Visit);
}

/// What a [`Registry`] is walked with.
pub trait Visit {
    fn kind<K: SourceKind>(&mut self);
}

/// The kinds the agent ships: the one place a kind is registered.
pub struct Builtin;

impl Registry for Builtin {
    fn visit(each: &mut impl Visit) {
        each.kind::<super::folder::Folders>();
        each.kind::<super::ssmix2::Storages>();
        each.kind::<super::mllp::Listeners>();
        each.kind::<super::fhir_http::Endpoints>();
        each.kind::<super::exec::Plugins>();
    }
}

/// The names of a registry's kinds, in start order.
pub fn names<R: Registry>() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl Visit for Names {
        fn kind<K: SourceKind>(&mut self) {
            self.0.push(K::NAME);
        }
    }
    let mut n = Names(Vec::new());
    R::visit(&mut n);
    n.0
}

/// `path` made absolute against `base` when it is relative.
pub fn absolute(path: &mut PathBuf, base: &Path) {
    if path.is_relative() {
        *path = base.join(&*path);
    }
}

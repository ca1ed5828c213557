//! One way to set up the processor from its settings, used by the daemon and by `tsunagi inspect
//! --bundles`, so that what inspect shows is what the daemon sends (issue 10). The settings are
//! read from a config by `daemon::processor_settings` (this module never sees the config).
//!
//! Everything that changes a bundle comes from here: the institution number and department
//! (build), the rules (built-in or an official package) and `strict` (validate), the unmapped
//! policies and the data directory's masters and mapping table (map), the SS-MIX2 data types and
//! the character sets configured per source (decode).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::build::{BuildSettings, BundleBuilder};
use crate::mapping::Policies;
use crate::store::Writer;
use crate::validate::{BundleValidator, Package};

use super::Processor;

/// The IG's example 保険医療機関番号, used when no config names one (`inspect` without `--config`).
pub const EXAMPLE_INSTITUTION: &str = "1318814790";

/// Why the processor could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Institution number or department unusable.
    #[error("settings: {0}")]
    Settings(String),
    /// `[validation] fhir_package` could not be loaded.
    #[error("validation package: {0}")]
    Package(String),
    /// The masters or mapping table of the data directory could not be opened.
    #[error("terminology: {0}")]
    Terminology(String),
    /// A `[[format]]` table spec could not be read or has mistakes (each listed).
    #[error("[[format]]: {0}")]
    Formats(String),
}

/// What the processor needs from a config.
#[derive(Clone)]
pub struct ProcessorSettings {
    pub build: BuildSettings,
    pub fhir_package: Option<PathBuf>,
    pub strict: bool,
    pub policies: Policies,
    /// `(SS-MIX2 source name, data types)`.
    pub ssmix2_types: Vec<(String, Vec<String>)>,
    /// `(source name, charset)` for MLLP and SS-MIX2 sources that configure one.
    pub charsets: Vec<(String, String)>,
    /// The adapters by format name: built-in plus the `[[format]]` tables.
    pub adapters: super::Adapters,
}

impl ProcessorSettings {
    /// No config: the example institution, built-in rules, default policies.
    pub fn standalone() -> Result<Self, SetupError> {
        Ok(ProcessorSettings {
            build: BuildSettings::new(EXAMPLE_INSTITUTION, None)
                .map_err(|e| SetupError::Settings(e.to_string()))?,
            fhir_package: None,
            strict: false,
            policies: Policies::default(),
            ssmix2_types: Vec::new(),
            charsets: Vec::new(),
            adapters: super::Adapters::builtin(),
        })
    }

    /// The validator these settings name for `data_dir`: the config's `fhir_package`, else
    /// the package loaded with `masters load fhir-package`, else the built-in profile rules.
    pub fn validator(&self, data_dir: &Path) -> Result<BundleValidator, SetupError> {
        match &self.fhir_package {
            None => loaded_rules(data_dir),
            Some(dir) => {
                let package = Package::load(dir).map_err(|e| SetupError::Package(e.to_string()))?;
                Ok(BundleValidator::with_package(Arc::new(package)))
            }
        }
    }
}

/// The rules of the package loaded into `data_dir`'s `terminology.db`, else the built-in ones.
fn loaded_rules(data_dir: &Path) -> Result<BundleValidator, SetupError> {
    let conn = crate::store::terminology::open(data_dir)
        .map_err(|e| SetupError::Terminology(e.to_string()))?;
    match crate::masters::fhir_package::active(&conn) {
        Ok(Some((_, package))) => Ok(BundleValidator::with_package(package)),
        Ok(None) => Ok(BundleValidator::new()),
        Err(e) => Err(SetupError::Package(e.to_string())),
    }
}

impl Processor {
    /// A processor for `settings`, mapping with the terminology of `data_dir`, reading with
    /// `reader` and writing through `writer`.
    pub fn configured(
        settings: &ProcessorSettings,
        data_dir: &Path,
        writer: Writer,
        reader: rusqlite::Connection,
        wake_sender: Arc<tokio::sync::Notify>,
    ) -> Result<Self, SetupError> {
        let mut p = Processor::new(
            writer,
            reader,
            BundleBuilder::new(settings.build.clone()),
            wake_sender,
        )
        .with_adapters(settings.adapters.clone())
        .with_validator(settings.validator(data_dir)?, settings.strict)
        .with_rules_from_masters(settings.fhir_package.is_none());
        for (name, types) in &settings.ssmix2_types {
            p = p.with_ssmix2_types(name, types.clone());
        }
        for (name, charset) in &settings.charsets {
            p = p.with_charset(name, charset);
        }
        p.with_terminology(data_dir, settings.policies)
            .map_err(|e| SetupError::Terminology(e.to_string()))
    }
}

//! What the stages below the config take from it: each reads its own section or a small
//! struct built here, never the whole [`Config`], so that `config` sits above them.

use crate::build::BuildSettings;
use crate::config::{Config, TerminologyConfig, UnmappedAction};
use crate::mapping::{Policies, UnmappedPolicy};
use crate::pipeline::{declared, Adapters, ProcessorSettings, SetupError};

/// The processor's settings a config gives (the daemon's, and `tsunagi inspect --bundles`'s).
pub fn processor_settings(cfg: &Config) -> Result<ProcessorSettings, SetupError> {
    let build = BuildSettings::new(
        cfg.agent.institution_number.clone(),
        cfg.agent.department.clone().map(|[c, t]| (c, t)),
    )
    .map_err(|e| SetupError::Settings(e.to_string()))?;
    let tables = declared::load(&cfg.format).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        SetupError::Formats(list.join("; "))
    })?;
    let sources: Vec<_> = cfg.source.described().map(|(_, d)| d).collect();
    Ok(ProcessorSettings {
        build,
        fhir_package: cfg.validation.fhir_package.clone(),
        strict: cfg.validation.strict,
        policies: policies(&cfg.terminology),
        ssmix2_types: sources
            .iter()
            .filter_map(|d| Some((d.name.to_string(), d.data_types?.to_vec())))
            .collect(),
        charsets: sources
            .iter()
            .filter_map(|d| Some((d.name.to_string(), d.charset?.to_string())))
            .collect(),
        adapters: Adapters::with_declared(tables),
    })
}

/// The per-category policy for unmapped local codes, from `[terminology.unmapped]`.
fn policies(cfg: &TerminologyConfig) -> Policies {
    let p = |a: UnmappedAction| match a {
        UnmappedAction::SendUncoded => UnmappedPolicy::SendUncoded,
        UnmappedAction::Hold => UnmappedPolicy::Hold,
    };
    let u = &cfg.unmapped;
    Policies {
        disease: p(u.disease),
        lab: p(u.lab),
        allergen: p(u.allergen),
        drug: p(u.drug),
    }
}

/// What the fleet report and the OTLP resource say about this agent.
pub fn reporting(cfg: &Config, route: &'static str) -> crate::fleet::Reporting {
    crate::fleet::Reporting {
        data_dir: cfg.agent.data_dir.clone(),
        institution: cfg.agent.institution_number.clone(),
        route,
        sources: cfg.source.names(),
    }
}

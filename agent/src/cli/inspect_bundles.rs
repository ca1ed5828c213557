//! `tsunagi inspect --bundles PATH…`: what the agent would send for these inputs, without
//! storing or sending anything.
//!
//! Each input goes through the same map → build → validate stages as in the daemon, with the
//! masters and mapping table of the agent named by `--config`/`--data` (none: nothing is
//! verified against a master, every local code is unmapped). Inputs are taken in path order
//! (an SS-MIX2 storage's ADT-00 before its PPR-01, as the daemon reads it), and Patients of
//! earlier inputs complete later ones. For each input it prints every coded item's mapping
//! outcome, then every bundle with its findings. Disease names and patient values are masked
//! unless `--reveal`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tsunagi_adapters::{Adapter, FhirJsonAdapter, Hl7v2Adapter, RawInput, Record};

use super::inspect::{collect_files, display_name, looks_like_json, split_messages, Format};
use crate::build::{BuildContext, BuildSettings, BundleBuilder, InputOrigin, Terminology};
use crate::mapping::Policies;
use crate::terminology::{Mapper, NAME_SYSTEM};
use crate::validate::BundleValidator;

/// The 保険医療機関番号 used when no config names one (the IG's example number).
const EXAMPLE_INSTITUTION: &str = "1318814790";

/// Where the mapping comes from.
pub struct Setup {
    /// The agent's data directory (masters and mapping table), if any.
    pub data_dir: Option<PathBuf>,
    /// Build settings (institution number, default department).
    pub settings: BuildSettings,
    /// Unmapped-code policies.
    pub policies: Policies,
}

impl Setup {
    /// No agent: the example institution number, no masters, no table.
    pub fn standalone() -> anyhow::Result<Setup> {
        Ok(Setup {
            data_dir: None,
            settings: BuildSettings::new(EXAMPLE_INSTITUTION, None)?,
            policies: Policies::default(),
        })
    }
}

/// Runs the command; `Ok(false)` when some bundle would be held for its findings.
pub fn run(paths: &[PathBuf], format: Format, reveal: bool, setup: Setup) -> anyhow::Result<bool> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    let mapper = match &setup.data_dir {
        Some(d) => Mapper::open(d, setup.policies)?,
        None => Mapper::new(
            crate::masters::MasterSet::empty(),
            crate::mapping::MappingTable::new(Vec::new()),
            setup.policies,
        ),
    };
    let builder = BundleBuilder::new(setup.settings);
    let validator = match crate::validate::Package::from_env() {
        Some(p) => BundleValidator::with_package(std::sync::Arc::new(p?)),
        None => BundleValidator::new(),
    };
    let mut directory: BTreeMap<String, Value> = BTreeMap::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut bundles, mut held_bundles, mut held_items) = (0usize, 0usize, 0usize);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let received_at = chrono::Utc::now().with_timezone(&tsunagi_clins::time::jst());
    for file in &files {
        let bytes = std::fs::read(file)?;
        let name = display_name(file, reveal);
        for msg in split_messages(&bytes) {
            let adapter: &dyn Adapter = if looks_like_json(msg) {
                &FhirJsonAdapter
            } else {
                &Hl7v2Adapter::new()
            };
            let parsed = adapter.parse(&RawInput {
                bytes: msg,
                origin: &name,
            });
            let key = crate::store::sha256_hex(msg);
            let ctx = BuildContext {
                input_key: &key,
                received_at,
            };
            let origin = InputOrigin {
                source: "inspect".into(),
                sending_application: crate::pipeline::sending_application(msg),
                ..InputOrigin::default()
            };
            let answers = mapper.for_input();
            let records: Vec<Record> = parsed.records;
            let result = builder.build_mapped(
                &ctx,
                &origin,
                &records,
                &directory,
                Some(&answers as &dyn Terminology),
            );
            for (reference, patient) in &result.patients {
                directory.insert(reference.clone(), patient.clone());
            }
            for item in answers.into_outcomes() {
                *outcomes
                    .entry(format!("{} {}", item.category, item.outcome))
                    .or_default() += 1;
                let hide =
                    !reveal && (item.category == "disease" || item.local_system == NAME_SYSTEM);
                let local = if hide {
                    "***".to_string()
                } else {
                    item.local_code.clone()
                };
                let v = json!({"input": name, "item": item.category, "outcome": item.outcome,
                    "via": item.via, "local_system": item.local_system, "local_code": local,
                    "standard_system": item.standard_system, "standard_code": item.standard_code});
                match format {
                    Format::Jsonl => writeln!(out, "{v}")?,
                    Format::Table => writeln!(
                        out,
                        "item    {:<9} {:<9} {:<12} {}:{} → {}",
                        item.category,
                        item.outcome,
                        item.via.unwrap_or("-"),
                        item.local_system,
                        local,
                        item.standard_code.as_deref().unwrap_or("-")
                    )?,
                }
            }
            for h in &result.held {
                held_items += 1;
                let v = json!({"input": name, "held": h.resource_type, "code": h.code, "reason_en": h.reason_en, "reason_ja": h.reason_ja});
                match format {
                    Format::Jsonl => writeln!(out, "{v}")?,
                    Format::Table => writeln!(
                        out,
                        "held    {:<19} {:<24} {} / {}",
                        h.resource_type, h.code, h.reason_en, h.reason_ja
                    )?,
                }
            }
            for b in &result.bundles {
                bundles += 1;
                let checked = crate::pipeline::check_bundle(&validator, false, b);
                if checked.verdict.is_some() {
                    held_bundles += 1;
                }
                let entries = serde_json::from_slice::<Value>(&b.body)
                    .ok()
                    .and_then(|v| v["entry"].as_array().map(Vec::len))
                    .unwrap_or(0);
                let findings: Vec<String> =
                    checked.findings.iter().map(|f| f.to_string()).collect();
                match format {
                    Format::Jsonl => {
                        let mut v = json!({"input": name, "bundle": b.identifier, "type": b.resource_type,
                            "kind": format!("{:?}", b.kind), "entries": entries,
                            "send": checked.verdict.is_none(), "findings": findings});
                        if reveal {
                            v["body"] = serde_json::from_slice(&b.body).unwrap_or_default();
                        }
                        writeln!(out, "{v}")?;
                    }
                    Format::Table => {
                        let verdict = if checked.verdict.is_none() {
                            "send"
                        } else {
                            "HOLD"
                        };
                        writeln!(
                            out,
                            "bundle  {:<19} {:<5} {:>3} entries  {}",
                            b.resource_type, verdict, entries, b.identifier
                        )?;
                        for f in &findings {
                            writeln!(out, "          {f}")?;
                        }
                    }
                }
            }
        }
    }
    let summary = json!({"files": files.len(), "bundles": bundles, "bundles_held": held_bundles,
        "items_held": held_items, "items": outcomes});
    match format {
        Format::Jsonl => writeln!(out, "{}", json!({ "summary": summary }))?,
        Format::Table => {
            writeln!(out)?;
            writeln!(
                out,
                "{} file(s): {bundles} bundle(s) would be sent or held ({held_bundles} held for findings), {held_items} item(s) held / 送信予定 {bundles} 件（検証で保留 {held_bundles} 件）、保留項目 {held_items} 件",
                files.len()
            )?;
            for (k, n) in &outcomes {
                writeln!(out, "  {k:<20} {n}")?;
            }
        }
    }
    out.flush()?;
    Ok(held_bundles == 0)
}

/// The setup of the agent named by a config file or data directory.
pub fn setup_for(config: Option<&Path>, data: Option<&Path>) -> anyhow::Result<Setup> {
    let mut setup = Setup::standalone()?;
    if let Some(c) = config {
        let (cfg, _) = crate::config::load(c).map_err(super::problems_error)?;
        setup.settings = BuildSettings::new(
            cfg.agent.institution_number.clone(),
            cfg.agent.department.clone().map(|[c, t]| (c, t)),
        )?;
        setup.policies = crate::daemon::policies(&cfg.terminology);
        setup.data_dir = Some(cfg.agent.data_dir);
    }
    if let Some(d) = data {
        setup.data_dir = Some(super::data_dir_of(d)?);
    }
    Ok(setup)
}

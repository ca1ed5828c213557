//! `tsunagi inspect --bundles PATH…`: what the agent would send for these inputs, without
//! touching its store or sending anything.
//!
//! The inputs go through the daemon's own processor ([`Processor::configured`], the same setup
//! the daemon uses), over a throwaway store in a temporary directory: the same formats, SS-MIX2
//! version rules, charsets, `strict`, de-duplication of held items and Patient directory. So the
//! bundles shown are the bundles the daemon would queue, apart from the processing time
//! (`meta.lastUpdated`, `Bundle.timestamp`). A file under a source named in the config is stored
//! as that source stores it (its name and format; for an SS-MIX2 storage, its path in the
//! storage); any other file as `inspect` with the format its bytes show. Inputs are taken in path
//! order (an SS-MIX2 storage's ADT-00 before its PPR-01, as the daemon reads it), and Patients of
//! earlier inputs complete later ones. Masters and mapping come from the agent named by
//! `--config`/`--data` (none: nothing is verified against a master, every local code is
//! unmapped). Disease names and patient values are masked unless `--reveal`.
//!
//! `--format jsonl` prints one object per line: each coded item's outcome, each held item, and
//! one object per bundle with its identifier, state, findings, idempotency key and `items` (the
//! outcomes of the coded items of the input that made it); with `--reveal` also the bundle itself
//! (`body`, which holds patient data). A closing `summary` line counts them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::inspect::{collect_files, display_name, looks_like_json, split_messages, Format};
use crate::config::Config;
use crate::map::{Category, Via, NAME_SYSTEM};
use crate::pipeline::{findings_of, Processor, ProcessorSettings};
use crate::store::state::OutboxState;
use crate::store::{self, inbox, items, outbox, Writer};
use crate::validate::BundleValidator;

/// The agent whose settings, masters and mapping table are used.
pub struct Setup {
    /// The agent's data directory (masters and mapping table), if any.
    pub data_dir: Option<PathBuf>,
    /// The processor's settings (build, validation, policies, charsets).
    pub settings: ProcessorSettings,
    /// The agent's config, when one is named: its sources say how a file is stored.
    pub config: Option<Config>,
}

/// One input as a source would store it.
struct Candidate {
    source: String,
    origin: String,
    format: String,
    bytes: Vec<u8>,
    shown: String,
}

/// Runs the command; `Ok(false)` when some bundle would be held for its findings.
pub fn run(paths: &[PathBuf], format: Format, reveal: bool, setup: Setup) -> anyhow::Result<bool> {
    let mut files = Vec::new();
    let mut candidates = Vec::new();
    for p in paths {
        let mut under = Vec::new();
        collect_files(p, &mut under)?;
        candidates.extend(self::candidates(p, &under, setup.config.as_ref(), reveal)?);
        files.extend(under);
    }
    let scratch = tempfile::tempdir()?;
    let store_dir = scratch.path().join("store");
    let (writer, writer_thread) = Writer::spawn(store::open(&store_dir)?)?;
    let mut ids = Vec::with_capacity(candidates.len());
    for c in &candidates {
        ids.push(commit(&writer, c)?);
    }
    let data_dir = setup
        .data_dir
        .clone()
        .unwrap_or_else(|| scratch.path().join("terminology"));
    let mut processor = Processor::configured(
        &setup.settings,
        &data_dir,
        writer.clone(),
        store::open(&store_dir)?,
        Arc::new(tokio::sync::Notify::new()),
    )?;
    while processor.step()? > 0 {}
    drop(processor);
    drop(writer);
    let _ = writer_thread.join();
    let reader = store::open(&store_dir)?;
    let mut report = Report::new(format, reveal, setup.settings.validator(&data_dir)?);
    for (c, id) in candidates.iter().zip(ids) {
        report.input(&reader, c, id)?;
    }
    report.finish(files.len())
}

/// Stores one candidate; returns its input id.
fn commit(writer: &Writer, c: &Candidate) -> anyhow::Result<i64> {
    let (source, origin, format, raw) = (
        c.source.clone(),
        c.origin.clone(),
        c.format.clone(),
        c.bytes.clone(),
    );
    let stored = writer.call(move |conn| {
        inbox::insert(
            conn,
            &inbox::NewInput {
                source: &source,
                origin: &origin,
                format: &format,
                raw: &raw,
                file_stamp: None,
            },
        )
    })?;
    Ok(match stored {
        inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
    })
}

/// The inputs the files make, as the configured sources would store them.
fn candidates(
    arg: &Path,
    files: &[PathBuf],
    config: Option<&Config>,
    reveal: bool,
) -> anyhow::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("{}: {e} / 読み込めません", file.display()))?;
        let shown = display_name(file, reveal);
        if let Some((source, origin, format)) = config.and_then(|c| configured_source(c, file)) {
            out.push(Candidate {
                source,
                origin,
                format,
                bytes,
                shown,
            });
            continue;
        }
        if let Some(rel) = ssmix2_path(arg, file) {
            out.push(Candidate {
                source: "inspect-ssmix2".into(),
                origin: rel,
                format: "ssmix2".into(),
                bytes,
                shown,
            });
            continue;
        }
        let messages = split_messages(&bytes);
        let several = messages.len() > 1;
        for (n, msg) in messages.into_iter().enumerate() {
            let format = if looks_like_json(msg) {
                "fhir-json"
            } else {
                "hl7v2"
            };
            let suffix = if several {
                format!("#{}", n + 1)
            } else {
                String::new()
            };
            out.push(Candidate {
                source: "inspect".into(),
                origin: format!("{shown}{suffix}"),
                format: format.into(),
                bytes: msg.to_vec(),
                shown: format!("{shown}{suffix}"),
            });
        }
    }
    Ok(out)
}

/// The file's path in an SS-MIX2 storage, when `arg` is a storage (or a folder of one) and the
/// path below it follows the standard layout.
fn ssmix2_path(arg: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(arg).ok()?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    crate::source::ssmix2::parse_rel(&rel).ok().map(|_| rel)
}

/// `(source, origin, format)` when `file` lies under a configured folder or SS-MIX2 source.
fn configured_source(cfg: &Config, file: &Path) -> Option<(String, String, String)> {
    let file = file.canonicalize().ok()?;
    let under = |root: &Path| -> Option<String> {
        let root = root.canonicalize().ok()?;
        let rel = file.strip_prefix(root).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    };
    cfg.source.described().find_map(|(_, d)| {
        let format = d.stores_files_as?;
        let rel = d.roots.iter().find_map(|r| under(r.path))?;
        Some((d.name.to_string(), rel, format))
    })
}

/// What the command prints, and its counts.
struct Report {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    validator: BundleValidator,
    format: Format,
    reveal: bool,
    bundles: usize,
    held_bundles: usize,
    held_items: usize,
    outcomes: std::collections::BTreeMap<String, usize>,
}

impl Report {
    fn new(format: Format, reveal: bool, validator: BundleValidator) -> Self {
        Report {
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            validator,
            format,
            reveal,
            bundles: 0,
            held_bundles: 0,
            held_items: 0,
            outcomes: Default::default(),
        }
    }

    /// Prints what became of one stored input.
    fn input(&mut self, conn: &rusqlite::Connection, c: &Candidate, id: i64) -> anyhow::Result<()> {
        let name = &c.shown;
        if let Some(reason) = inbox::quarantine_reason(conn, id)? {
            let v = json!({"input": name, "quarantined": reason});
            match self.format {
                Format::Jsonl => writeln!(self.out, "{v}")?,
                Format::Table => writeln!(self.out, "quarantined  {name}: {reason}")?,
            }
        }
        let mut outcomes = Vec::new();
        for item in items::for_input(conn, id)? {
            outcomes.push(self.item(name, &item)?);
        }
        for row in outbox::for_input(conn, id)? {
            match &row.body {
                None => self.held(name, &row)?,
                Some(body) => self.bundle(name, &row, body, &outcomes)?,
            }
        }
        Ok(())
    }

    /// Prints one coded item's outcome; returns it as the bundles' `items` show it.
    fn item(&mut self, name: &str, item: &items::StoredItem) -> anyhow::Result<Value> {
        *self
            .outcomes
            .entry(format!("{} {}", item.category, item.outcome))
            .or_default() += 1;
        let hide = !self.reveal
            && (item.category == Category::Disease || item.local_system == NAME_SYSTEM);
        let local = if hide { "***" } else { &item.local_code };
        let outcome = json!({"item": item.category.as_str(), "outcome": item.outcome.as_str(),
            "via": item.via.map(Via::as_str), "local_system": item.local_system,
            "local_code": local, "standard_system": item.standard_system,
            "standard_code": item.standard_code});
        match self.format {
            Format::Jsonl => {
                let mut line = outcome.clone();
                line["input"] = name.into();
                writeln!(self.out, "{line}")?
            }
            Format::Table => writeln!(
                self.out,
                "item    {:<9} {:<9} {:<12} {}:{} → {}",
                item.category.as_str(),
                item.outcome.as_str(),
                item.via.map_or("-", Via::as_str),
                item.local_system,
                local,
                item.standard_code.as_deref().unwrap_or("-")
            )?,
        }
        Ok(outcome)
    }

    fn held(&mut self, name: &str, row: &outbox::InputRow) -> anyhow::Result<()> {
        self.held_items += 1;
        let reason = row.hold_reason.as_deref().unwrap_or("-");
        let message = row.last_error.as_deref().unwrap_or("");
        match self.format {
            Format::Jsonl => writeln!(
                self.out,
                "{}",
                json!({"input": name, "held": row.resource_type, "code": reason, "reason": message})
            )?,
            Format::Table => writeln!(
                self.out,
                "held    {:<19} {:<24} {message}",
                row.resource_type, reason
            )?,
        }
        Ok(())
    }

    /// Prints one bundle with its findings and the outcomes of its input's coded items.
    fn bundle(
        &mut self,
        name: &str,
        row: &outbox::InputRow,
        body: &[u8],
        items: &[Value],
    ) -> anyhow::Result<()> {
        self.bundles += 1;
        let held = row.state == OutboxState::Held;
        if held {
            self.held_bundles += 1;
        }
        let json: Value = serde_json::from_slice(body)?;
        let entries = json["entry"].as_array().map_or(0, Vec::len);
        // Warnings are not stored with the row; the same rules give them again.
        let findings = findings_of(&self.validator, &json);
        let identifier = row.identifier.as_deref().unwrap_or("-");
        match self.format {
            Format::Jsonl => {
                let mut v = json!({"input": name, "bundle": identifier, "type": row.resource_type,
                    "state": row.state, "entries": entries, "send": !held, "findings": findings,
                    "idempotency_key": row.idempotency_key, "items": items});
                if self.reveal {
                    v["body"] = json;
                }
                writeln!(self.out, "{v}")?;
            }
            Format::Table => {
                let verdict = if held { "HOLD" } else { "send" };
                writeln!(
                    self.out,
                    "bundle  {:<19} {:<5} {:>3} entries  {identifier}",
                    row.resource_type, verdict, entries
                )?;
                for f in &findings {
                    writeln!(self.out, "          {f}")?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, files: usize) -> anyhow::Result<bool> {
        let (bundles, held_bundles, held_items) =
            (self.bundles, self.held_bundles, self.held_items);
        let summary = json!({"files": files, "bundles": bundles, "bundles_held": held_bundles,
            "items_held": held_items, "items": self.outcomes});
        match self.format {
            Format::Jsonl => writeln!(self.out, "{}", json!({ "summary": summary }))?,
            Format::Table => {
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "{files} file(s): {bundles} bundle(s) would be sent or held ({held_bundles} held for findings), {held_items} item(s) held / 送信予定 {bundles} 件（検証で保留 {held_bundles} 件）、保留項目 {held_items} 件"
                )?;
                for (k, n) in &self.outcomes {
                    writeln!(self.out, "  {k:<20} {n}")?;
                }
            }
        }
        self.out.flush()?;
        Ok(held_bundles == 0)
    }
}

/// The setup of the agent named by a config file or data directory.
pub fn setup_for(config: Option<&Path>, data: Option<&Path>) -> anyhow::Result<Setup> {
    let mut setup = Setup {
        data_dir: None,
        settings: ProcessorSettings::standalone()?,
        config: None,
    };
    if let Some(c) = config {
        let (cfg, _) = crate::config::load(c).map_err(super::problems_error)?;
        setup.settings = crate::daemon::processor_settings(&cfg)?;
        setup.data_dir = Some(cfg.agent.data_dir.clone());
        setup.config = Some(cfg);
    }
    if setup.settings.fhir_package.is_none() {
        setup.settings.fhir_package =
            std::env::var_os(tsunagi_clins::validate::package::PACKAGE_ENV).map(PathBuf::from);
    }
    if let Some(d) = data {
        setup.data_dir = Some(super::data_dir_of(d)?);
    }
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file under a configured source is stored as that source stores it: its name, its path
    /// under the root, and its format, with a storage's forced charset (`ssmix2:CHARSET`).
    #[test]
    fn a_file_under_a_configured_storage_is_stored_with_its_charset() {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        let file = storage.join("123/456/1234567890/20250401/ADT-00/x_ADT-00_1.hl7");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"MSH|").unwrap();
        let text = format!(
            "[agent]\ndata_dir = \"data\"\ninstitution_number = \"1318814790\"\n\n\
             [[source.ssmix2]]\nname = \"ehr\"\npath = {:?}\ncharset = \"cp932\"\n\n\
             [uplink]\nroute = \"shared-folder\"\n[uplink.shared_folder]\ndir = \"out\"\n",
            storage.display().to_string()
        );
        let cfg = crate::config::parse(&text).unwrap();
        let (source, origin, format) = configured_source(&cfg, &file).expect("under the storage");
        assert_eq!(source, "ehr");
        assert_eq!(origin, "123/456/1234567890/20250401/ADT-00/x_ADT-00_1.hl7");
        assert_eq!(format, "ssmix2:cp932");
        assert!(
            configured_source(&cfg, dir.path()).is_none(),
            "the root's parent is no file of it"
        );
    }
}

//! The processor: decode → parse → map → build → validate, from committed raw inputs to outbox rows.
//!
//! [`Processor`] runs on its own thread. It reads the oldest `received` inputs, and for each one:
//! checks its checksum (a corrupt record is quarantined, nothing else is affected), hands the raw
//! bytes to the adapter named by the input's format (parsing never fails: it returns records and
//! problems), applies the SS-MIX2 version rules, hands the records to `tsunagi_clins::process`
//! (map → build → validate, with the terminology and the Patients known so far), and writes the
//! result in one group-commit job: outbox rows (pending, or held with the reason) and the
//! input's new state. Everything here is a deterministic function of the raw input, the agent's
//! settings, the terminology, the known Patients and the processing time, which is what makes
//! `tsunagi replay` safe. This stage never touches the network, and never logs patient data:
//! messages name the input by source and origin, and problems by field.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tsunagi_adapters::{RawInput, Severity};

use crate::build::{BuildContext, BundleBuilder, InputOrigin, PatientDirectory};
use crate::digest::sha256_hex;
use crate::doorbell::Doorbell;
use crate::map::Mapper;
use crate::quality::classify_bundle;
use crate::reload_request::ReloadRequest;
use crate::shutdown::Shutdown;
use crate::source::ssmix2::{self, ConditionFlag, FileClass};
use crate::store::items::ItemOutcome;
use crate::store::{inbox, outbox, StoreError, Writer};
use crate::validate::BundleValidator;
use tsunagi_clins::build::HoldReason;
use tsunagi_clins::processing;
use tsunagi_clins::time::jst;

mod apply;
mod checks;
pub mod converter;
pub mod declared;
mod quiet;
mod reload;
mod sending;
mod setup;
mod versions;

pub use crate::formats::Adapters;
use apply::apply;
pub use checks::{check_bundle, findings_of};
use reload::LiveTerminology;
pub use sending::sending_application;
pub use setup::{ProcessorSettings, SetupError, EXAMPLE_INSTITUTION};
use versions::{BatchVersions, Ssmix2Version, WITHDRAWABLE};

/// Inputs processed per group-commit job; bounds how long one job holds the writer, which the
/// intake's acknowledgements wait behind.
const BATCH: usize = 64;

/// Decisions written per store job. A batch's decisions are written in jobs this small so that
/// an MLLP acknowledgement queued behind one waits for a few inputs' rows, not a whole batch's
/// (issue 9, part 3). Each input's rows still commit together: an input is never half written.
const APPLY_CHUNK: usize = 8;

/// After a batch that did not fill, how long the processor lets inputs gather before the next
/// one: under a stream it then commits full batches instead of one small batch per wake-up
/// (each commit rewrites the same index pages, issue 9 part 3); a lone input is still processed
/// at once, since the wait comes after a batch, not before.
const LINGER: Duration = Duration::from_millis(20);

/// What processing one input decided; applied to the store in one job.
enum Decision {
    Quarantine(String),
    /// An SS-MIX2 file of a data type the agent does not send (stored, counted, not parsed).
    NotUsed,
    /// An SS-MIX2 file that is not the current version of its order (a newer one exists, or it
    /// withdraws the order): processed into nothing; older versions' items are superseded.
    Version(Ssmix2Version),
    Processed {
        version: Option<Ssmix2Version>,
        bundles: Vec<(
            crate::build::BuiltBundle,
            Option<String>,
            crate::quality::BundleFacts,
        )>,
        held: Vec<crate::build::Held>,
        patients: Vec<FreshPatient>,
        /// Each coded item's mapping outcome.
        items: Vec<ItemOutcome>,
    },
}

/// A Patient an input brought, kept as its JSON text: a parsed value takes several times the
/// memory, and a patient master export of many thousands of patients is one input.
pub(crate) struct FreshPatient {
    /// `Patient/ID`.
    reference: String,
    /// The resource as JSON.
    text: Arc<str>,
    /// Whether it can head a bundle (insurance id and the required elements), so it completes
    /// the items waiting for it.
    complete: bool,
}

impl FreshPatient {
    fn of(reference: String, resource: serde_json::Value) -> Self {
        FreshPatient {
            complete: crate::build::canonical::sendable(&resource, "Patient").is_ok(),
            text: Arc::from(resource.to_string()),
            reference,
        }
    }
}

/// Owns the processing stage. See the module docs.
pub struct Processor {
    writer: Writer,
    reader: Connection,
    adapters: Adapters,
    builder: BundleBuilder,
    validator: BundleValidator,
    /// Hold bundles with warnings too (`[validation] strict`).
    strict: bool,
    /// Take the validation rules from `masters load fhir-package` when `terminology.db`
    /// changes (no `[validation] fhir_package` in the config).
    rules_from_masters: bool,
    /// Where to say which rules validate.
    readiness: Option<Arc<crate::ops::Readiness>>,
    /// Process-wide counters for /metrics (decode replacements).
    counters: Option<Arc<crate::ops::Counters>>,
    /// The map stage; `None` holds canonical (HL7 v2) records as not convertible.
    terminology: Option<LiveTerminology>,
    /// Asks for masters, mapping table and loaded FHIR package to be re-read at once (SIGHUP).
    reload: ReloadRequest,
    wake_sender: Arc<tokio::sync::Notify>,
    /// Data types each SS-MIX2 source uses (by source name); other sources' files use the
    /// default six.
    ssmix2_types: HashMap<String, Vec<String>>,
    default_ssmix2_types: Vec<String>,
    /// Character sets configured per source (`charset`), applied to inputs stored before the
    /// setting too, so a replay after the fix decodes with it.
    charsets: HashMap<String, String>,
}

impl Processor {
    /// A processor reading with `reader` and writing through `writer`.
    pub fn new(
        writer: Writer,
        reader: Connection,
        builder: BundleBuilder,
        wake_sender: Arc<tokio::sync::Notify>,
    ) -> Self {
        Processor {
            writer,
            reader,
            adapters: Adapters::builtin(),
            builder,
            validator: BundleValidator::new(),
            strict: false,
            rules_from_masters: false,
            readiness: None,
            counters: None,
            terminology: None,
            reload: ReloadRequest::new(),
            wake_sender,
            ssmix2_types: HashMap::new(),
            default_ssmix2_types: ssmix2::default_data_types(),
            charsets: HashMap::new(),
        }
    }

    /// Counts what /metrics reports (characters replaced while decoding).
    pub fn with_counters(mut self, counters: Arc<crate::ops::Counters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// Says on the ops surface (`/readyz`, the status page) which profile rules validate, now
    /// and after each reload.
    pub fn with_readiness(mut self, readiness: Arc<crate::ops::Readiness>) -> Self {
        self.readiness = Some(readiness);
        self.publish_rules();
        self
    }

    /// `name#version (origin)` of the profile rules in use, to the readiness facts.
    fn publish_rules(&self) {
        if let Some(r) = &self.readiness {
            r.set_validation(self.rules_label());
        }
    }

    /// `name#version (origin)` of the profile rules in use.
    fn rules_label(&self) -> String {
        match self.validator.package() {
            None => "hand-written rules only".to_string(),
            Some(p) if Arc::ptr_eq(p, &crate::validate::Package::builtin()) => {
                format!("{} (built-in)", p.id)
            }
            Some(p) if self.rules_from_masters => format!("{} (masters load fhir-package)", p.id),
            Some(p) => format!("{} ([validation] fhir_package)", p.id),
        }
    }

    /// Re-reads masters, mapping table and the loaded FHIR package whenever `reload` is
    /// requested (the daemon requests it on SIGHUP or the service's ParamChange).
    pub fn with_reload_requests(mut self, reload: ReloadRequest) -> Self {
        self.reload = reload;
        self
    }

    /// Follows `masters load fhir-package`: when `terminology.db` changes, the loaded package's
    /// rules (else the built-in ones) replace the validator's (not when the config names a
    /// package).
    pub fn with_rules_from_masters(mut self, follow: bool) -> Self {
        self.rules_from_masters = follow;
        self
    }

    /// Validates with these rules; `strict` holds bundles with warnings too.
    pub fn with_validator(mut self, validator: BundleValidator, strict: bool) -> Self {
        self.validator = validator;
        self.strict = strict;
        self
    }

    /// Maps canonical records with the masters and mapping table of `data_dir`, reloading them
    /// whenever `tsunagi masters load` or `mapping import` commits a change.
    pub fn with_terminology(
        mut self,
        data_dir: &std::path::Path,
        policies: crate::mapping::Policies,
    ) -> Result<Self, crate::store::terminology::TerminologyError> {
        let mapper = crate::store::terminology::load(data_dir, policies)?;
        let conn = crate::store::terminology::open(data_dir)?;
        let version = crate::store::terminology::data_version(&conn)
            .map_err(crate::store::StoreError::from)?;
        self.terminology = Some(LiveTerminology {
            mapper,
            conn,
            version,
            data_dir: data_dir.to_path_buf(),
            policies,
        });
        Ok(self)
    }

    /// Parses with these adapters (the built-in ones and the config's `[[format]]` tables).
    pub fn with_adapters(mut self, adapters: Adapters) -> Self {
        self.adapters = adapters;
        self
    }

    /// The data types a configured SS-MIX2 source uses (`data_types` in its config).
    pub fn with_ssmix2_types(mut self, source: &str, types: Vec<String>) -> Self {
        self.ssmix2_types.insert(source.to_string(), types);
        self
    }

    /// Decodes the HL7 v2 inputs of `source` with `charset`, whatever MSH-18 (or the format
    /// stored with an earlier input) says.
    pub fn with_charset(mut self, source: &str, charset: &str) -> Self {
        self.charsets
            .insert(source.to_string(), charset.to_string());
        self
    }

    /// The format an input is parsed with: as stored, with the source's configured charset.
    fn effective_format(&self, input: &inbox::Pending) -> String {
        let name = input.format.split(':').next().unwrap_or_default();
        match self.charsets.get(&input.source) {
            Some(c) if name == "hl7v2" || name == "ssmix2" => format!("{name}:{c}"),
            _ => input.format.clone(),
        }
    }

    /// Processes until shutdown; intake rings `bell` when new inputs are committed, and so do a
    /// reload request and shutdown (see [`ring_on_reload_and_stop`]). Once per quiet spell it
    /// hands memory back (`quiet.rs`, `hand_back`).
    pub fn run(mut self, bell: Arc<Doorbell>, shutdown: Shutdown) {
        let mut quiet = crate::hand_back::QuietSpell::default();
        while !shutdown.is_triggered() {
            // Between batches, never inside one: a batch is mapped with one set of tables.
            self.reload_if_requested();
            let stepped = self.step();
            if !matches!(stepped, Ok(0)) {
                quiet.busy();
            }
            match stepped {
                Ok(0) => {
                    if quiet.idle_at(std::time::Instant::now()) {
                        self.hand_back_memory();
                    }
                    bell.wait(Duration::from_millis(500));
                }
                Ok(n) if n < BATCH => {
                    if shutdown.wait_timeout(LINGER) {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "processor: store error; retrying in 1 s");
                    if shutdown.wait_timeout(Duration::from_secs(1)) {
                        break;
                    }
                }
            }
        }
    }

    /// Processes one batch; returns how many inputs it handled.
    pub fn step(&mut self) -> Result<usize, StoreError> {
        // Before the batch, and on an idle tick too, so that the status page, `/readyz` and
        // `/metrics` name a newly loaded package without waiting for the next input. A
        // terminology database that cannot be read fails the batch: nothing of it is mapped
        // with tables that may be stale, and it is read again.
        self.refresh_terminology()?;
        let batch = inbox::next_received(&self.reader, BATCH)?;
        if batch.is_empty() {
            return Ok(0);
        }
        let mut fresh: HashMap<String, Arc<str>> = HashMap::new();
        let mut complete: HashSet<String> = HashSet::new();
        let mut versions: BatchVersions = HashMap::new();
        let mut decisions = Vec::with_capacity(batch.len());
        for input in &batch {
            // A failed read fails the batch: nothing of it is applied, and it is read again.
            let d = self.decide(input, &fresh, &mut versions)?;
            if let Decision::Processed { patients, .. } = &d {
                for p in patients {
                    fresh.insert(p.reference.clone(), Arc::clone(&p.text));
                    if p.complete {
                        complete.insert(p.reference.clone());
                    } else {
                        complete.remove(&p.reference);
                    }
                }
            }
            decisions.push((input.id, d));
        }
        let n = decisions.len();
        // Only a Patient that can head a bundle (insurance id and the required elements) can
        // complete the items waiting for it; `apply` wakes them only if it really changed the
        // stored Patient, and never wakes an input of this batch (issue 9, F1).
        drop(fresh);
        // Derived: a lost commit leaves these inputs `received`, processed again the same way.
        // In small jobs: an acknowledgement waits for at most one of them (`store::writer`).
        let complete = Arc::new(complete);
        let mut rest = decisions.into_iter();
        loop {
            let chunk: Vec<_> = rest.by_ref().take(APPLY_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let complete = Arc::clone(&complete);
            if self
                .writer
                .call_derived(move |c| apply(c, chunk, &complete))?
            {
                self.wake_sender.notify_one();
            }
        }
        Ok(n)
    }

    /// Reloads masters, mapping table and the loaded FHIR package's rules when the CLI
    /// changed `terminology.db`.
    fn refresh_terminology(&mut self) -> Result<(), StoreError> {
        let Some(t) = &mut self.terminology else {
            return Ok(());
        };
        if t.refresh()? && self.rules_from_masters {
            if let Some(v) = reload::rules_from_masters(&t.conn) {
                self.validator = v;
                self.publish_rules();
            }
        }
        Ok(())
    }

    fn decide(
        &self,
        input: &inbox::Pending,
        fresh: &HashMap<String, Arc<str>>,
        versions: &mut BatchVersions,
    ) -> Result<Decision, StoreError> {
        let name = format!("{}:{}", input.source, input.origin);
        let Some(raw) = input.raw.as_deref() else {
            return Ok(Decision::Quarantine(format!(
                "{name}: the raw input was pruned after its retention period and cannot be processed again / 保存期間を過ぎた入力のため再処理できません"
            )));
        };
        if sha256_hex(raw) != input.content_hash {
            return Ok(Decision::Quarantine(format!(
                "{name}: corrupt record (checksum mismatch); the stored bytes changed after they were committed / 保存データのチェックサム不一致"
            )));
        }
        let mut version = None;
        if input.format.split(':').next() == Some("ssmix2") {
            let types = self
                .ssmix2_types
                .get(&input.source)
                .unwrap_or(&self.default_ssmix2_types);
            match ssmix2::classify(&input.origin, types) {
                FileClass::NotUsed(_) | FileClass::OffLayout(_) => return Ok(Decision::NotUsed),
                FileClass::Used(name) => {
                    if let ConditionFlag::Other(flag) = name.condition {
                        return Ok(Decision::Quarantine(format!(
                            "{}: SS-MIX2 condition flag {flag} is not understood (1 = valid, 0 = withdrawn are); check the EHR's export / コンディションフラグ {flag} は未対応です",
                            input.source
                        )));
                    }
                    let v = Ssmix2Version::of(&self.reader, input, &name, versions)?;
                    if !v.superseded
                        && name.condition == ConditionFlag::Cancelled
                        && WITHDRAWABLE.contains(&name.data_type.as_str())
                    {
                        return self.withdraw(input, fresh, v);
                    }
                    if v.superseded || name.condition == ConditionFlag::Cancelled {
                        return Ok(Decision::Version(v));
                    }
                    version = Some(v);
                }
            }
        }
        let format = self.effective_format(input);
        let Some(adapter) = self.adapters.resolve(&format) else {
            return Ok(Decision::Quarantine(format!(
                "{name}: no adapter for format {:?} (known: {}) / 未対応の形式です",
                format,
                self.adapters.names().join(", ")
            )));
        };
        let parsed = adapter.parse(&RawInput {
            bytes: raw,
            origin: &name,
        });
        if let (Some(c), n @ 1..) = (&self.counters, parsed.decode_replacements) {
            c.add_decode_replacements(n as u64);
        }
        let fatal: Vec<String> = parsed
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Fatal)
            .map(|p| p.to_string())
            .collect();
        if !fatal.is_empty() {
            return Ok(Decision::Quarantine(format!(
                "{name}: {}",
                fatal.join("; ")
            )));
        }
        if parsed.records.is_empty() {
            return Ok(Decision::Quarantine(no_clinical_content(
                &name,
                &parsed.problems,
            )));
        }
        let received_at = chrono::DateTime::from_timestamp_millis(input.received_at)
            .unwrap_or_default()
            .with_timezone(&jst());
        let origin = InputOrigin {
            source: input.source.clone(),
            sending_application: sending_application(raw),
            ..InputOrigin::default()
        };
        let one = processing::Input {
            records: &parsed.records,
            origin: &origin,
            context: BuildContext {
                input_key: &input.content_hash,
                received_at,
            },
        };
        let settings = processing::Settings {
            builder: &self.builder,
            validator: &self.validator,
            strict: self.strict,
        };
        let dir = Directory::new(&self.reader, fresh);
        let mapper = self.terminology.as_ref().map(|t| &t.mapper);
        let decided = tsunagi_clins::process(&one, mapper, &dir, &settings, classify_bundle);
        // A Patient that could not be read fails the batch: nothing is decided on a guess.
        dir.into_result()?;
        if parsed.decode_replacements > 0 && !format.contains(':') {
            // Text that did not decode (MSH-18 names one character set, the bytes are another)
            // would reach the platform as U+FFFD in names, addresses and clinical text.
            return Ok(garbled(version, decided, &parsed.problems));
        }
        let bundles = decided
            .bundles
            .into_iter()
            .map(|c| (c.bundle, c.verdict, c.facts))
            .collect();
        let patients = decided
            .patients
            .into_iter()
            .map(|(r, p)| FreshPatient::of(r, p))
            .collect();
        Ok(Decision::Processed {
            version,
            bundles,
            held: decided.held,
            patients,
            items: decided.items,
        })
    }
}

/// The quarantine reason of an input that parsed but holds nothing to process (a Bundle whose
/// `entry` is empty or null, an HL7 v2 message of a type that maps to no record): a person
/// should look at it rather than have it vanish as "processed" (issue 9, F12). The parser's
/// warnings name fields, never values.
fn no_clinical_content(name: &str, problems: &[tsunagi_adapters::Problem]) -> String {
    let mut reason = format!(
        "{name}: no clinical content: the input was read but holds no resource or record / 臨床データが含まれていません"
    );
    for p in problems {
        reason.push_str("; ");
        reason.push_str(&p.to_string());
    }
    reason
}

/// An input whose text did not decode: nothing is sent and no Patient is remembered; every
/// bundle it would have produced is held (`encoding`) naming the fields, until a `charset` is
/// configured for its source and the input is replayed.
fn garbled(
    version: Option<Ssmix2Version>,
    decided: tsunagi_clins::Decision<crate::quality::BundleFacts>,
    problems: &[tsunagi_adapters::Problem],
) -> Decision {
    let fields: Vec<String> = problems
        .iter()
        .filter(|p| p.reason_en.contains("could not be decoded"))
        .map(|p| p.field.clone())
        .collect();
    let fields = if fields.is_empty() {
        String::from("-")
    } else {
        fields.join(", ")
    };
    let mut held = decided.held;
    held.retain(|h| h.code != HoldReason::Encoding);
    for b in decided.bundles.into_iter().map(|c| c.bundle) {
        held.push(crate::build::Held {
            reason_en: format!(
                "characters that do not decode in the declared character set (MSH-18) at {fields}; set `charset` for this source and replay"
            ),
            reason_ja: format!(
                "宣言された文字コード（MSH-18）で解読できない文字があります（{fields}）。このソースの charset を設定して再処理してください"
            ),
            resource_type: b.resource_type.clone(),
            code: HoldReason::Encoding,
            patient_ref: Some(b.patient_ref.clone()),
        });
    }
    processing::dedup_held(&mut held);
    Decision::Processed {
        version,
        bundles: Vec::new(),
        held,
        patients: Vec::new(),
        items: decided.items,
    }
}

/// Resolves patients from this batch first, then from earlier inputs in the store. A failed
/// read is kept (the lookup answers "unknown") and fails the whole batch afterwards, so that no
/// input is marked processed on a guess.
struct Directory<'a> {
    conn: &'a Connection,
    fresh: &'a HashMap<String, Arc<str>>,
    /// Patients already read from the store for this input: each of its records asks for its
    /// patient, and reading and parsing the stored JSON once per record was most of the build
    /// stage's cost (issue 9, part 3).
    read: std::cell::RefCell<HashMap<String, Option<serde_json::Value>>>,
    failed: std::cell::RefCell<Option<StoreError>>,
}

impl<'a> Directory<'a> {
    fn new(conn: &'a Connection, fresh: &'a HashMap<String, Arc<str>>) -> Self {
        Directory {
            conn,
            fresh,
            read: std::cell::RefCell::new(HashMap::new()),
            failed: std::cell::RefCell::new(None),
        }
    }

    fn into_result(self) -> Result<(), StoreError> {
        self.failed.into_inner().map_or(Ok(()), Err)
    }
}

impl PatientDirectory for Directory<'_> {
    fn patient(&self, reference: &str) -> Option<serde_json::Value> {
        if let Some(p) = self.read.borrow().get(reference) {
            return p.clone();
        }
        // This batch's patients first (their text, parsed once per input), then the store's.
        let text = match self.fresh.get(reference) {
            Some(t) => Ok(Some(t.to_string())),
            None => crate::store::patients::find(self.conn, reference),
        };
        match text {
            Ok(text) => {
                let p: Option<serde_json::Value> = text.and_then(|t| serde_json::from_str(&t).ok());
                self.read
                    .borrow_mut()
                    .insert(reference.to_string(), p.clone());
                p
            }
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// Rings the processor's doorbell when a reload is requested and when the agent stops, so that
/// an idle processor reacts at once (it also looks every 500 ms). Runs until shutdown.
pub async fn ring_on_reload_and_stop(
    bell: Arc<Doorbell>,
    reload: ReloadRequest,
    shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            _ = reload.requested() => bell.ring(),
            _ = shutdown.triggered() => {
                bell.ring();
                break;
            }
        }
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;

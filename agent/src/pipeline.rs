//! The processor: decode → parse → map → build → validate, from committed raw inputs to outbox rows.
//!
//! [`Processor`] runs on its own thread. It reads the oldest `received` inputs, and for each one:
//! checks its checksum (a corrupt record is quarantined, nothing else is affected), hands the raw
//! bytes to the adapter named by the input's format (parsing never fails: it returns records and
//! problems), builds JP-CLINS bundles, validates them, and writes the result in one group-commit
//! job: outbox rows (pending, or held with the reason) and the input's new state. Everything here
//! is a deterministic function of the raw input and the agent's settings, which is what makes
//! `tsunagi replay` safe. This stage never touches the network, and never logs patient data:
//! messages name the input by source and origin, and problems by field.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use tsunagi_adapters::{
    Adapter, Charset, FhirJsonAdapter, Hl7v2Adapter, RawInput, Record, Severity,
};

use crate::build::{
    BuildContext, BuildResult, BundleBuilder, BundleKind, InputOrigin, PatientDirectory,
    Terminology,
};
use crate::shutdown::Shutdown;
use crate::source::ssmix2::{self, ConditionFlag, FileClass};
use crate::store::items::ItemOutcome;
use crate::store::{inbox, outbox, sha256_hex, StoreError, Writer};
use crate::terminology::Mapper;
use crate::validate::{BundleValidator, Severity as FindingSeverity};

/// Inputs processed per group-commit job.
const BATCH: usize = 64;

/// The adapters the agent knows, by format name.
///
/// An input's format is `name` or `name:charset` (a per-source override of MSH-18, e.g.
/// `hl7v2:cp932`). `ssmix2` is HL7 v2 read from an SS-MIX2 storage: its origin (the path in the
/// storage) says the data type, and files of data types the agent does not use are processed into
/// nothing, on purpose, rather than parsed.
pub struct Adapters;

/// Format names the pipeline understands.
const FORMATS: &[&str] = &["fhir-json", "hl7v2", "ssmix2"];

impl Adapters {
    /// Every adapter built into this agent.
    pub fn builtin() -> Self {
        Adapters
    }

    /// Whether a format (with its optional charset) is known.
    pub fn knows(&self, format: &str) -> bool {
        self.resolve(format).is_some()
    }

    /// The known format names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        FORMATS.to_vec()
    }

    /// The adapter for a format, or None if the name or its charset is unknown.
    fn resolve(&self, format: &str) -> Option<Box<dyn Adapter>> {
        let (name, charset) = match format.split_once(':') {
            Some((n, c)) => (n, Some(Charset::from_label(c)?)),
            None => (format, None),
        };
        match (name, charset) {
            ("fhir-json", None) => Some(Box::new(FhirJsonAdapter)),
            ("hl7v2" | "ssmix2", None) => Some(Box::new(Hl7v2Adapter::new())),
            ("hl7v2" | "ssmix2", Some(c)) => Some(Box::new(Hl7v2Adapter::with_charset(c))),
            _ => None,
        }
    }
}

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
        patients: Vec<(String, serde_json::Value)>,
        /// Each coded item's mapping outcome.
        items: Vec<ItemOutcome>,
    },
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
    /// Process-wide counters for /metrics (decode replacements).
    counters: Option<Arc<crate::ops::Counters>>,
    /// The map stage; `None` holds canonical (HL7 v2) records as not convertible.
    terminology: Option<Terminology_>,
    wake_sender: Arc<tokio::sync::Notify>,
    /// Data types each SS-MIX2 source uses (by source name); other sources' files use the
    /// default six.
    ssmix2_types: HashMap<String, Vec<String>>,
    default_ssmix2_types: Vec<String>,
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
            counters: None,
            terminology: None,
            wake_sender,
            ssmix2_types: HashMap::new(),
            default_ssmix2_types: ssmix2::default_data_types(),
        }
    }

    /// Counts what /metrics reports (characters replaced while decoding).
    pub fn with_counters(mut self, counters: Arc<crate::ops::Counters>) -> Self {
        self.counters = Some(counters);
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
    ) -> Result<Self, crate::terminology::TerminologyError> {
        let mapper = Mapper::open(data_dir, policies)?;
        let conn = crate::masters::store::open(data_dir)?;
        let version = data_version(&conn);
        self.terminology = Some(Terminology_ {
            mapper,
            conn,
            version,
            data_dir: data_dir.to_path_buf(),
            policies,
        });
        Ok(self)
    }

    /// The data types a configured SS-MIX2 source uses (`data_types` in its config).
    pub fn with_ssmix2_types(mut self, source: &str, types: Vec<String>) -> Self {
        self.ssmix2_types.insert(source.to_string(), types);
        self
    }

    /// Processes until shutdown; `wake` is notified by intake when new inputs are committed.
    pub fn run(mut self, wake: Arc<tokio::sync::Notify>, shutdown: Shutdown) {
        // The Notify is async; a small bridge thread turns its wake-ups into a std channel.
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let bridge_shutdown = shutdown.clone();
        let bridge = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(rt) = rt else { return };
            rt.block_on(async {
                loop {
                    tokio::select! {
                        _ = wake.notified() => { let _ = tx.try_send(()); }
                        _ = bridge_shutdown.triggered() => { let _ = tx.try_send(()); break; }
                    }
                }
            });
        });
        while !shutdown.is_triggered() {
            match self.step() {
                Ok(0) => {
                    let _ = rx.recv_timeout(Duration::from_millis(500));
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
        let _ = bridge.join();
    }

    /// Processes one batch; returns how many inputs it handled.
    pub fn step(&mut self) -> Result<usize, StoreError> {
        let batch = inbox::next_received(&self.reader, BATCH)?;
        if batch.is_empty() {
            return Ok(0);
        }
        if let Some(t) = &mut self.terminology {
            t.refresh();
        }
        let mut fresh: HashMap<String, serde_json::Value> = HashMap::new();
        let mut versions: BatchVersions = HashMap::new();
        let mut decisions = Vec::with_capacity(batch.len());
        for input in &batch {
            let d = self.decide(input, &fresh, &mut versions);
            if let Decision::Processed { patients, .. } = &d {
                for (r, p) in patients {
                    fresh.insert(r.clone(), p.clone());
                }
            }
            decisions.push((input.id, d));
        }
        let n = decisions.len();
        // Only a Patient the platform can take (it carries the 被保険者識別子) wakes the items
        // waiting for it: one without it cannot complete them, and waking them would re-run the
        // very input that brought it, forever.
        let new_patients: Vec<String> = fresh
            .iter()
            .filter(|(_, p)| has_member_id(p))
            .map(|(r, _)| r.clone())
            .collect();
        let delivered_any = self
            .writer
            .call(move |c| apply(c, decisions, &new_patients))?;
        if delivered_any {
            self.wake_sender.notify_one();
        }
        Ok(n)
    }

    fn decide(
        &self,
        input: &inbox::Pending,
        fresh: &HashMap<String, serde_json::Value>,
        versions: &mut BatchVersions,
    ) -> Decision {
        let name = format!("{}:{}", input.source, input.origin);
        let Some(raw) = input.raw.as_deref() else {
            return Decision::Quarantine(format!(
                "{name}: the raw input was pruned after its retention period and cannot be processed again / 保存期間を過ぎた入力のため再処理できません"
            ));
        };
        if sha256_hex(raw) != input.content_hash {
            return Decision::Quarantine(format!(
                "{name}: corrupt record (checksum mismatch); the stored bytes changed after they were committed / 保存データのチェックサム不一致"
            ));
        }
        let mut version = None;
        if input.format.split(':').next() == Some("ssmix2") {
            let types = self
                .ssmix2_types
                .get(&input.source)
                .unwrap_or(&self.default_ssmix2_types);
            match ssmix2::classify(&input.origin, types) {
                FileClass::NotUsed(_) | FileClass::OffLayout(_) => return Decision::NotUsed,
                FileClass::Used(name) => {
                    if let ConditionFlag::Other(flag) = name.condition {
                        return Decision::Quarantine(format!(
                            "{}: SS-MIX2 condition flag {flag} is not understood (1 = valid, 0 = withdrawn are); check the EHR's export / コンディションフラグ {flag} は未対応です",
                            input.source
                        ));
                    }
                    let v = Ssmix2Version::of(&self.reader, input, &name, versions);
                    if !v.superseded
                        && name.condition == ConditionFlag::Cancelled
                        && WITHDRAWABLE.contains(&name.data_type.as_str())
                    {
                        return self.withdraw(input, fresh, v);
                    }
                    if v.superseded || name.condition == ConditionFlag::Cancelled {
                        return Decision::Version(v);
                    }
                    version = Some(v);
                }
            }
        }
        let Some(adapter) = self.adapters.resolve(&input.format) else {
            return Decision::Quarantine(format!(
                "{name}: no adapter for format {:?} (known: {}) / 未対応の形式です",
                input.format,
                self.adapters.names().join(", ")
            ));
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
            return Decision::Quarantine(format!("{name}: {}", fatal.join("; ")));
        }
        let received_at = chrono::DateTime::from_timestamp_millis(input.received_at)
            .unwrap_or_default()
            .with_timezone(&jst());
        let ctx = BuildContext {
            input_key: &input.content_hash,
            received_at,
        };
        let dir = Directory {
            conn: &self.reader,
            fresh,
        };
        let records: Vec<Record> = parsed.records;
        let origin = InputOrigin {
            source: input.source.clone(),
            sending_application: sending_application(raw),
            ..InputOrigin::default()
        };
        let mapper = self.terminology.as_ref().map(|t| t.mapper.for_input());
        let term = mapper.as_ref().map(|m| m as &dyn Terminology);
        let BuildResult {
            bundles,
            patients,
            mut held,
        } = self
            .builder
            .build_mapped(&ctx, &origin, &records, &dir, term);
        let items = mapper.map(|m| m.into_outcomes()).unwrap_or_default();
        // One held item per input, type and reason: an SS-MIX2 lab file with 40 results is one
        // item to look at, not 40.
        held.sort_by(|a, b| {
            (&a.resource_type, a.code, &a.patient_ref).cmp(&(
                &b.resource_type,
                b.code,
                &b.patient_ref,
            ))
        });
        held.dedup_by(|a, b| {
            a.resource_type == b.resource_type && a.code == b.code && a.patient_ref == b.patient_ref
        });
        let bundles = bundles
            .into_iter()
            .map(|b| {
                let checked = check_bundle(&self.validator, self.strict, &b);
                (b, checked.verdict, checked.facts)
            })
            .collect();
        Decision::Processed {
            version,
            bundles,
            held,
            patients,
            items,
        }
    }
}

/// The map stage and what keeps it current.
struct Terminology_ {
    mapper: Mapper,
    /// A connection to `terminology.db` whose `data_version` moves when another connection
    /// (the CLI) commits.
    conn: Connection,
    version: i64,
    data_dir: std::path::PathBuf,
    policies: crate::mapping::Policies,
}

impl Terminology_ {
    /// Reloads masters and mapping table when the CLI changed them; keeps the old ones (and
    /// says so) when the new ones cannot be read.
    fn refresh(&mut self) {
        let now = data_version(&self.conn);
        if now == self.version {
            return;
        }
        match Mapper::open(&self.data_dir, self.policies) {
            Ok(m) => {
                self.mapper = m;
                self.version = now;
                for kind in crate::masters::MasterKind::ALL {
                    if let Some(v) = self.mapper.master_version(kind) {
                        tracing::info!(master = %kind, version = v, "master in use");
                    }
                }
                tracing::info!("masters or mapping table changed; reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "reloading the terminology failed; the previous one stays in use")
            }
        }
    }
}

fn data_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "data_version", |r| r.get(0))
        .unwrap_or(0)
}

/// MSH-3 (sending application) of an HL7 v2 message: the mapping table's source system.
pub fn sending_application(raw: &[u8]) -> Option<String> {
    let line = raw.split(|b| *b == b'\r' || *b == b'\n').next()?;
    if !line.starts_with(b"MSH") || line.len() < 4 {
        return None;
    }
    let sep = line[3];
    let field = line.split(|b| *b == sep).nth(2)?;
    let comp = field.split(|b| *b == b'^').next()?;
    let text = std::str::from_utf8(comp).ok()?.trim();
    (!text.is_empty() && text.is_ascii()).then(|| text.to_string())
}

/// SS-MIX2 data types whose withdrawal (condition flag 0) deletes what their earlier versions
/// sent: the report unit of a 病名 file (all the patient's diagnoses), of a lab result (one
/// report) and of an allergy message. Other data types' withdrawals only stop what was not
/// sent yet.
const WITHDRAWABLE: &[&str] = &["PPR-01", "OML-11", "ADT-61"];

impl Processor {
    /// An SS-MIX2 file that withdraws its order: the bundles its earlier versions sent are
    /// deleted upstream by Patient-only bundles under the same identifiers.
    fn withdraw(
        &self,
        input: &inbox::Pending,
        fresh: &HashMap<String, serde_json::Value>,
        version: Ssmix2Version,
    ) -> Decision {
        let mut sent: Vec<(String, String, String)> = Vec::new();
        for old in &version.older {
            let rows = self
                .reader
                .prepare_cached(
                    "SELECT DISTINCT bundle_identifier, resource_type, patient_ref FROM outbox
                     WHERE inbox_id = ?1 AND body IS NOT NULL AND bundle_identifier IS NOT NULL
                       AND state IN ('delivered', 'awaiting', 'in_flight', 'pending')",
                )
                .and_then(|mut st| {
                    st.query_map([old], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect::<Result<Vec<(String, String, String)>, _>>()
                })
                .unwrap_or_default();
            sent.extend(rows);
        }
        sent.sort();
        sent.dedup();
        let received_at = chrono::DateTime::from_timestamp_millis(input.received_at)
            .unwrap_or_default()
            .with_timezone(&jst());
        let ctx = BuildContext {
            input_key: &input.content_hash,
            received_at,
        };
        let dir = Directory {
            conn: &self.reader,
            fresh,
        };
        let (mut bundles, mut held) = (Vec::new(), Vec::new());
        for (identifier, resource_type, patient_ref) in &sent {
            let Some(patient) = dir.patient(patient_ref) else {
                continue;
            };
            let withdrawal = crate::build::Withdrawal {
                identifier,
                resource_type,
                patient_ref,
                patient: &patient,
            };
            match self.builder.deletion(&ctx, &withdrawal) {
                Ok(b) => {
                    let checked = check_bundle(&self.validator, self.strict, &b);
                    bundles.push((b, checked.verdict, checked.facts));
                }
                Err(h) => held.push(h),
            }
        }
        Decision::Processed {
            version: Some(version),
            bundles,
            held,
            patients: Vec::new(),
            items: Vec::new(),
        }
    }
}

/// SS-MIX2 inputs of the batch being processed, by order key (not yet committed, so the
/// reader cannot see them): (inbox id, origin).
type BatchVersions = HashMap<String, Vec<(i64, String)>>;

/// Where an SS-MIX2 file stands among the versions of its order (the storage's update rules:
/// the newest 発生日時 wins; a withdrawing condition flag ends the order).
struct Ssmix2Version {
    order_key: String,
    /// A newer version of the same order is already stored.
    superseded: bool,
    /// Older versions already stored, whose items this one replaces.
    older: Vec<i64>,
}

impl Ssmix2Version {
    fn of(
        conn: &Connection,
        input: &inbox::Pending,
        name: &ssmix2::FileName,
        batch: &mut BatchVersions,
    ) -> Self {
        let k = name.order_key();
        let order_key = format!("{}|{}|{}", k.patient_id, k.data_type, k.order_no);
        let mut siblings: Vec<(i64, String)> = conn
            .prepare_cached(
                "SELECT id, origin FROM inbox WHERE source = ?1 AND order_key = ?2 AND id <> ?3",
            )
            .and_then(|mut st| {
                st.query_map(rusqlite::params![input.source, order_key, input.id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .unwrap_or_default();
        let in_batch = batch.entry(order_key.clone()).or_default();
        siblings.extend(in_batch.iter().cloned());
        in_batch.push((input.id, input.origin.clone()));
        let mut v = Ssmix2Version {
            order_key,
            superseded: false,
            older: Vec::new(),
        };
        for (id, origin) in siblings {
            let Ok(other) = ssmix2::parse_rel(&origin) else {
                continue;
            };
            if other.supersedes(name) {
                v.superseded = true;
            } else if name.supersedes(&other) {
                v.older.push(id);
            }
        }
        v
    }

    /// Records the order key and supersedes what older versions produced.
    fn apply(&self, c: &Connection, id: i64) -> Result<(), StoreError> {
        c.execute(
            "UPDATE inbox SET order_key = ?2 WHERE id = ?1",
            rusqlite::params![id, self.order_key],
        )?;
        if !self.superseded {
            for old in &self.older {
                c.execute(
                    "UPDATE outbox SET state = 'superseded', updated_at = ?2
                     WHERE inbox_id = ?1 AND state IN ('pending', 'held')",
                    rusqlite::params![old, crate::store::now_ms()],
                )?;
            }
        }
        Ok(())
    }
}

/// A built bundle after validation: its findings, the verdict (why it is held, if it is) and
/// the facts the quality report counts by.
pub struct Checked {
    /// Every finding, warnings included.
    pub findings: Vec<crate::validate::Finding>,
    /// `Some(reasons)` when the bundle must be held rather than sent.
    pub verdict: Option<String>,
    /// Information type and clinical event time.
    pub facts: crate::quality::BundleFacts,
}

/// Validates a built bundle by its kind (documents against their profile, deletion bundles
/// without R02143, which they cannot meet by design); `strict` holds on warnings too.
pub fn check_bundle(
    validator: &BundleValidator,
    strict: bool,
    b: &crate::build::BuiltBundle,
) -> Checked {
    let body = serde_json::from_slice::<serde_json::Value>(&b.body).unwrap_or_default();
    let findings = match b.kind {
        BundleKind::Clins => validator.validate(&body),
        BundleKind::Document(_) => validator.validate_document(&body),
        BundleKind::Deletion => validator
            .validate(&body)
            .into_iter()
            .filter(|f| f.rule != "R02143")
            .collect(),
    };
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| {
            f.severity == FindingSeverity::Error
                || (strict && f.severity == FindingSeverity::Warning)
        })
        .map(|f| format!("{} {}: {} / {}", f.rule, f.path, f.message_en, f.message_ja))
        .collect();
    Checked {
        verdict: (!errors.is_empty()).then(|| errors.join("; ")),
        facts: crate::quality::classify_bundle(&body),
        findings,
    }
}

/// Records what the quality report counts an outbox row by.
fn set_facts(
    c: &Connection,
    row: i64,
    info_type: &str,
    event_at: Option<i64>,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE outbox SET info_type = ?2, event_at = ?3 WHERE id = ?1",
        rusqlite::params![row, info_type, event_at],
    )?;
    Ok(())
}

/// Whether a Patient resource carries a JP_Insurance_memberID identifier.
fn has_member_id(patient: &serde_json::Value) -> bool {
    patient["identifier"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["system"] == crate::build::clins::INSURANCE_MEMBER_ID_SYSTEM)
    })
}

/// Japan Standard Time, the timezone of bundle timestamps.
pub fn jst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// Resolves patients from this batch first, then from earlier inputs in the store.
struct Directory<'a> {
    conn: &'a Connection,
    fresh: &'a HashMap<String, serde_json::Value>,
}

impl PatientDirectory for Directory<'_> {
    fn patient(&self, reference: &str) -> Option<serde_json::Value> {
        if let Some(p) = self.fresh.get(reference) {
            return Some(p.clone());
        }
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT resource FROM patient WHERE reference = ?1",
                [reference],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        text.and_then(|t| serde_json::from_str(&t).ok())
    }
}

/// Writes the decisions of one batch; returns whether anything became sendable.
fn apply(
    c: &Connection,
    decisions: Vec<(i64, Decision)>,
    new_patients: &[String],
) -> Result<bool, StoreError> {
    let mut sendable = false;
    for (id, d) in decisions {
        match d {
            Decision::NotUsed => inbox::mark_processed(c, id)?,
            Decision::Version(v) => {
                v.apply(c, id)?;
                inbox::mark_processed(c, id)?;
            }
            Decision::Quarantine(reason) => {
                tracing::warn!(
                    inbox = id,
                    "input quarantined: see `tsunagi queue show I-{id}`"
                );
                inbox::quarantine(c, id, &reason)?;
            }
            Decision::Processed {
                version,
                bundles,
                held,
                patients,
                items,
            } => {
                crate::store::items::record(c, id, &items)?;
                if let Some(v) = &version {
                    v.apply(c, id)?;
                }
                for (reference, resource) in &patients {
                    c.execute(
                        "INSERT INTO patient (reference, resource, inbox_id, updated_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (reference) DO UPDATE SET resource = ?2, inbox_id = ?3, updated_at = ?4",
                        rusqlite::params![reference, resource.to_string(), id, crate::store::now_ms()],
                    )?;
                }
                for (b, verdict, facts) in &bundles {
                    let nb = outbox::NewBundle {
                        inbox_id: id,
                        identifier: &b.identifier,
                        resource_type: &b.resource_type,
                        patient_ref: &b.patient_ref,
                        body: &b.body,
                    };
                    let row = match verdict {
                        None => {
                            sendable = true;
                            outbox::insert_pending(c, &nb)?
                        }
                        Some(findings) => {
                            tracing::warn!(inbox = id, "bundle failed validation and is held");
                            outbox::insert_invalid(c, &nb, findings)?
                        }
                    };
                    set_facts(c, row, facts.info_type.key(), facts.event_at)?;
                }
                for h in &held {
                    let row = outbox::insert_held(
                        c,
                        id,
                        &h.resource_type,
                        h.patient_ref.as_deref(),
                        h.code(),
                        &format!("{} / {}", h.reason_en, h.reason_ja),
                    )?;
                    let info = crate::quality::InfoType::from_resource_type(&h.resource_type);
                    set_facts(c, row, info.key(), None)?;
                }
                inbox::mark_processed(c, id)?;
            }
        }
    }
    if !new_patients.is_empty() {
        let waiting = outbox::inputs_waiting_for(c, new_patients)?;
        if !waiting.is_empty() {
            inbox::replay(c, &waiting)?;
        }
    }
    Ok(sendable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::BuildSettings;
    use crate::store::{self, inbox};

    fn processor(dir: &std::path::Path) -> (Processor, Writer) {
        let (writer, _h) = Writer::spawn(store::open(dir).unwrap()).unwrap();
        let settings = BuildSettings::new("1318814790", None).unwrap();
        let p = Processor::new(
            writer.clone(),
            store::open(dir).unwrap(),
            BundleBuilder::new(settings),
            Arc::new(tokio::sync::Notify::new()),
        );
        (p, writer)
    }

    fn put(writer: &Writer, origin: &str, raw: &[u8]) -> i64 {
        let (origin, raw) = (origin.to_string(), raw.to_vec());
        match writer
            .call(move |c| {
                inbox::insert(
                    c,
                    &inbox::NewInput {
                        source: "t",
                        origin: &origin,
                        format: "fhir-json",
                        raw: &raw,
                        file_stamp: None,
                    },
                )
            })
            .unwrap()
        {
            inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
        }
    }

    fn states(dir: &std::path::Path) -> Vec<(String, String)> {
        let c = store::open_existing(dir).unwrap();
        let mut s = c
            .prepare("SELECT resource_type, state FROM outbox ORDER BY id")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    const PATIENT: &str = r#"{"resourceType":"Patient","id":"p1","identifier":[{"system":"http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID","value":"00012345:a:1:01"}],"name":[{"text":"x","family":"x","given":["y"]}],"gender":"male","birthDate":"1970-01-01","address":[{"text":"z"}]}"#;
    const CONDITION: &str = r##"{"resourceType":"Condition","id":"c1","contained":[{"resourceType":"Encounter","id":"enc","meta":{"profile":["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Encounter"]},"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}],"encounter":{"reference":"#enc"},"extension":[{"url":"http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department","valueCodeableConcept":{"coding":[{"system":"http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment","code":"01"}],"text":"内科"}}],"identifier":[{"system":"http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier","value":"c1"}],"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active","display":"Active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed","display":"Confirmed"}]},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],"code":{"coding":[{"system":"http://medis.or.jp/CodeSystem/master-disease-keyNumber","code":"20054174","display":"胃炎"}],"text":"胃炎"},"subject":{"reference":"Patient/p1"},"onsetDateTime":"2024-04-01"}"##;

    #[test]
    fn a_lone_resource_waits_for_its_patient_and_is_rebuilt_when_it_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, w) = processor(dir.path());
        put(&w, "condition.json", CONDITION.as_bytes());
        p.step().unwrap();
        assert_eq!(
            states(dir.path()),
            vec![("Condition".into(), "held".into())]
        );
        put(&w, "patient.json", PATIENT.as_bytes());
        p.step().unwrap(); // the patient; the waiting input goes back to `received`
        p.step().unwrap(); // the condition again, now with its patient
        assert_eq!(
            states(dir.path()),
            vec![
                ("Condition".into(), "superseded".into()),
                ("Condition".into(), "pending".into())
            ]
        );
    }

    fn put_ssmix2(writer: &Writer, occurred: &str, flag: char) -> i64 {
        let name = format!("0000000001_-_ADT-00_000000000000001_{occurred}_-_{flag}");
        let origin = format!("000/000/0000000001/-/ADT-00/{name}");
        let msg = "MSH|^~\\&|EHR|H|R|R|20250401||ADT^A08|1|P|2.5||||||UNICODE UTF-8\rPID|||0000000001^^^^PI||a^b||19700101|M\r";
        let (origin, raw) = (origin, msg.as_bytes().to_vec());
        match writer
            .call(move |c| {
                inbox::insert(
                    c,
                    &inbox::NewInput {
                        source: "s",
                        origin: &origin,
                        format: "ssmix2",
                        raw: &raw,
                        file_stamp: None,
                    },
                )
            })
            .unwrap()
        {
            inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
        }
    }

    fn live_items(dir: &std::path::Path, inbox_id: i64) -> i64 {
        let c = store::open_existing(dir).unwrap();
        c.query_row(
            "SELECT COUNT(*) FROM outbox WHERE inbox_id = ?1 AND state <> 'superseded'",
            [inbox_id],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn ssmix2_versions_of_one_order_keep_only_the_newest_and_a_withdrawal_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, w) = processor(dir.path());
        let v1 = put_ssmix2(&w, "20250401120000000", '1');
        p.step().unwrap();
        assert_eq!(
            live_items(dir.path(), v1),
            1,
            "held until conversion exists"
        );
        let v2 = put_ssmix2(&w, "20250402120000000", '1');
        let v0 = put_ssmix2(&w, "20250301120000000", '1');
        p.step().unwrap();
        assert_eq!(live_items(dir.path(), v1), 0, "v1 superseded by v2");
        assert_eq!(live_items(dir.path(), v2), 1);
        assert_eq!(
            live_items(dir.path(), v0),
            0,
            "an older version arriving late builds nothing"
        );
        let cancel = put_ssmix2(&w, "20250501120000000", '0');
        p.step().unwrap();
        assert_eq!(
            live_items(dir.path(), v2),
            0,
            "the withdrawal supersedes the last version"
        );
        assert_eq!(live_items(dir.path(), cancel), 0);
    }

    #[test]
    fn an_ssmix2_source_uses_only_its_configured_data_types() {
        let dir = tempfile::tempdir().unwrap();
        let (p, w) = processor(dir.path());
        let mut p = p.with_ssmix2_types("s", vec!["OML-11".into()]);
        let id = put_ssmix2(&w, "20250401120000000", '1');
        p.step().unwrap();
        assert_eq!(
            live_items(dir.path(), id),
            0,
            "ADT-00 is not used by this source"
        );
        let c = store::open_existing(dir.path()).unwrap();
        let state: String = c
            .query_row("SELECT state FROM inbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(state, "processed");
    }

    #[test]
    fn a_corrupt_record_is_quarantined_and_the_next_one_still_flows() {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, w) = processor(dir.path());
        let bad = put(&w, "bad.json", b"{}");
        w.call(move |c| {
            c.execute("UPDATE inbox SET raw = X'7B207D' WHERE id = ?1", [bad])?;
            Ok(())
        })
        .unwrap();
        put(&w, "patient.json", PATIENT.as_bytes());
        assert_eq!(p.step().unwrap(), 2);
        let c = store::open_existing(dir.path()).unwrap();
        let (state, error): (String, String) = c
            .query_row("SELECT state, error FROM inbox WHERE id = ?1", [bad], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(state, "quarantined");
        assert!(
            error.contains("t:bad.json") && error.contains("checksum"),
            "{error}"
        );
        let processed: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM inbox WHERE state = 'processed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(processed, 1);
    }

    #[test]
    fn processing_is_deterministic_so_replay_gives_the_same_idempotency_key() {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, w) = processor(dir.path());
        let bundle = format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"urn:uuid:1","resource":{PATIENT}}},{{"fullUrl":"urn:uuid:2","resource":{CONDITION}}}]}}"#
        );
        let id = put(&w, "b.json", bundle.as_bytes());
        p.step().unwrap();
        w.call(move |c| inbox::replay(c, &[id])).unwrap();
        p.step().unwrap();
        let c = store::open_existing(dir.path()).unwrap();
        let keys: Vec<String> = c
            .prepare("SELECT idempotency_key FROM outbox ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1]);
    }
}

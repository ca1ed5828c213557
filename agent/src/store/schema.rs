//! The database schema, as an ordered list of migrations.
//!
//! Migration `n` moves the schema from version `n` to `n + 1`; the version lives in SQLite's
//! `user_version` pragma and every migration runs in its own transaction, so a crash mid-upgrade
//! leaves the previous version intact. Migrations are append-only: an existing entry is never
//! edited once released, only followed by a new one.
//!
//! The update gate rolls a failed version back to the previous build, which must still open the
//! database. So each open records the oldest schema a build must know to run on this database
//! ([`readable_from`], in `agent_state`), and a build that finds a newer schema opens it when
//! that is at or below its own. A migration listed in [`ADDITIVE`] keeps it where it was; any
//! other locks older builds out. An index change that older builds can live with needs no
//! migration at all: it is one of [`INDEXES`], applied after the migrations at every open,
//! idempotent, without a version bump.

/// The migrations, oldest first.
pub const MIGRATIONS: &[&str] = &[
    // v1: the durable core (issue 2).
    r#"
    -- Raw inputs, committed before anything else happens and before the source is acknowledged.
    CREATE TABLE inbox (
        id              INTEGER PRIMARY KEY,
        source          TEXT    NOT NULL,   -- the source's configured name
        origin          TEXT    NOT NULL,   -- file path relative to the source root, or MSH-10
        format          TEXT    NOT NULL,   -- adapter name, e.g. fhir-json
        content_hash    TEXT    NOT NULL,   -- SHA-256 hex of raw: the record checksum
        size            INTEGER NOT NULL,
        raw             BLOB,               -- NULL once pruned after the retention period
        received_at     INTEGER NOT NULL,   -- unix ms
        state           TEXT    NOT NULL,   -- received | processed | quarantined
        error           TEXT,               -- why it is quarantined (never patient data)
        processed_at    INTEGER,
        pruned_at       INTEGER
    );
    CREATE UNIQUE INDEX inbox_dedup ON inbox (source, origin, content_hash);
    CREATE INDEX inbox_state ON inbox (state, id);

    -- What each folder source has taken in: the read-only mode's memory, the move mode's dedup.
    CREATE TABLE seen_file (
        source       TEXT    NOT NULL,
        rel_path     TEXT    NOT NULL,
        size         INTEGER NOT NULL,
        mtime_ns     INTEGER NOT NULL,
        content_hash TEXT    NOT NULL,
        inbox_id     INTEGER NOT NULL,
        PRIMARY KEY (source, rel_path)
    ) WITHOUT ROWID;

    -- Bundles to deliver, and items held back from delivery, with their delivery state.
    CREATE TABLE outbox (
        id                INTEGER PRIMARY KEY,
        inbox_id          INTEGER NOT NULL REFERENCES inbox (id),
        idempotency_key   TEXT    NOT NULL,  -- SHA-256 hex of body (or of the held item)
        bundle_identifier TEXT,              -- Bundle.identifier.value; deliveries under one identifier keep their order
        resource_type     TEXT    NOT NULL,
        patient_ref       TEXT,
        body              BLOB,              -- the bundle JSON; NULL for items held before building
        state             TEXT    NOT NULL,  -- pending | in_flight | awaiting | delivered | rejected | held | dead | superseded
        hold_reason       TEXT,              -- machine reason for held items: patient-unknown | unsupported | invalid
        attempts          INTEGER NOT NULL DEFAULT 0,
        next_attempt_at   INTEGER NOT NULL DEFAULT 0,   -- unix ms
        last_error        TEXT,
        receipt           TEXT,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        delivered_at      INTEGER
    );
    CREATE INDEX outbox_ready ON outbox (state, next_attempt_at);
    CREATE INDEX outbox_identifier ON outbox (bundle_identifier, id);
    CREATE INDEX outbox_inbox ON outbox (inbox_id);
    CREATE INDEX outbox_key ON outbox (idempotency_key);

    -- Every delivery attempt, for status, backoff audits and the quality reports.
    CREATE TABLE attempt (
        id          INTEGER PRIMARY KEY,
        outbox_id   INTEGER NOT NULL REFERENCES outbox (id),
        at          INTEGER NOT NULL,   -- unix ms when the outcome was recorded
        outcome     TEXT    NOT NULL,   -- accepted | duplicate | rejected | transient | ambiguous | awaiting
        detail      TEXT,
        next_delay_ms INTEGER
    );
    CREATE INDEX attempt_outbox ON attempt (outbox_id);

    -- Patients seen in earlier inputs, so a lone resource can be bundled with its Patient.
    CREATE TABLE patient (
        reference  TEXT PRIMARY KEY,    -- "Patient/<id>"
        resource   TEXT NOT NULL,       -- Patient JSON
        inbox_id   INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- Who did what to the queue by hand (drop, retry, reveal, replay).
    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY,
        at     INTEGER NOT NULL,
        actor  TEXT    NOT NULL,
        action TEXT    NOT NULL,
        target TEXT    NOT NULL,
        reason TEXT
    );

    -- Small facts the daemon publishes for `status`: intake paused, last error, ...
    CREATE TABLE agent_state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // v2: SS-MIX2 update rules (issue 3). Inputs that are versions of one order share an
    // order key ("<patient>|<data type>|<order no>"); the newest version supersedes the others.
    r#"
    ALTER TABLE inbox ADD COLUMN order_key TEXT;
    CREATE INDEX inbox_order ON inbox (source, order_key) WHERE order_key IS NOT NULL;
    "#,
    // v3: mapping outcomes (issue 4). One row per coded item of a processed input: which local
    // code it carried, and whether it was mapped to a national master code, sent with the IG's
    // uncoded marker (unmapped), or refused (invalid). Rebuilt when the input is replayed. Feeds
    // `mapping suggest` (how many records a fix improves), `replay --unmapped` and the quality
    // figures.
    r#"
    CREATE TABLE item_code (
        id              INTEGER PRIMARY KEY,
        inbox_id        INTEGER NOT NULL REFERENCES inbox (id),
        category        TEXT    NOT NULL,   -- disease | lab | allergen | drug
        source_system   TEXT    NOT NULL,   -- the sending system (MSH-3) or the source name
        local_system    TEXT    NOT NULL,   -- code system as received (99XYZ, JC10, ...)
        local_code      TEXT    NOT NULL,
        local_name      TEXT,               -- the local code's name (a master term, not patient data)
        unit            TEXT,
        specimen        TEXT,
        outcome         TEXT    NOT NULL,   -- mapped | unmapped | invalid
        via             TEXT,               -- direct | table (mapped only)
        standard_system TEXT,
        standard_code   TEXT,
        at              INTEGER NOT NULL    -- unix ms
    );
    CREATE INDEX item_code_inbox ON item_code (inbox_id);
    CREATE INDEX item_code_outcome ON item_code (outcome, category);
    "#,
    // v4: quality figures (issue 5). The information type of a bundle (a `quality::InfoType`
    // key: condition, infection, drug_allergy, other_allergy, lab, referral, discharge_summary,
    // checkup, unclassified) and its clinical event time (unix ms), from
    // `quality::classify_bundle` when the row is queued. NULL for rows written before v4 (the
    // report classifies their stored body instead). Indexes for the month queries.
    r#"
    ALTER TABLE outbox ADD COLUMN info_type TEXT;
    ALTER TABLE outbox ADD COLUMN event_at INTEGER;
    CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
    CREATE INDEX attempt_at ON attempt (at);
    CREATE INDEX inbox_received ON inbox (received_at);
    "#,
    // v5: exec plugins (issue 14). The opaque checkpoint a source plugin emitted last, stored in
    // the same transaction as the records it covers and handed back when the plugin starts again.
    r#"
    CREATE TABLE plugin_checkpoint (
        source     TEXT PRIMARY KEY,   -- the source's configured name
        state      TEXT    NOT NULL,   -- the plugin's checkpoint, JSON, opaque to the agent
        updated_at INTEGER NOT NULL    -- unix ms
    ) WITHOUT ROWID;
    "#,
    // v6: no change to the tables. It marks the builds that rebuild `inbox_dedup` when a
    // database lacks it (see [`INDEXES`]), so that a later release may drop that index and
    // still roll back to one of them, while refusing older builds (issue 9, part 3: the index
    // costs a leaf page per MLLP message; BENCHMARKS.md, stop 34). Additive.
    r#"
    -- builds from this version rebuild inbox_dedup at open when it is missing
    "#,
];

/// The versions (1-based: migration `n - 1` makes version `n`) whose migration an older build
/// can run on: it adds a table, an index, or a column that older statements need not name
/// (nullable or with a default), and changes no meaning of what is there. Versions 1 to 5 were
/// made before builds read [`readable_from`], so none of them could benefit; 6 changes nothing.
pub const ADDITIVE: &[i64] = &[6];

/// The `agent_state` key that holds [`readable_from`] for builds that find a newer schema.
pub const READABLE_FROM_KEY: &str = "schema_readable_from";

/// The oldest schema version a build must know to run on a database at version `version`: the
/// newest version up to it whose migration is not [`ADDITIVE`] (0 for an empty database).
pub fn readable_from(version: i64) -> i64 {
    (1..=version)
        .rev()
        .find(|v| !ADDITIVE.contains(v))
        .unwrap_or(0)
}

/// One index change older builds can live with: applied when `present` is false for the index
/// `name` (checked in `sqlite_schema` first, so an open that finds it done writes nothing).
pub struct IndexChange {
    /// The index whose presence says the change is done.
    pub name: &'static str,
    /// Whether the change is done when `name` exists (a new index) or when it is gone (a drop).
    pub present: bool,
    /// The change, idempotent.
    pub sql: &'static str,
}

/// Index changes, in order; each may follow any migration.
pub const INDEXES: &[IndexChange] = &[
    // The duplicate check of every intake (`inbox::insert`'s `ON CONFLICT`, which SQLite cannot
    // prepare without it), made by the first migration: rebuilt if a database lacks it, as one
    // will after a rollback from a release that replaced it (see migration v6). The rebuild
    // fails, and the agent does not start, if the inputs hold the same key twice.
    IndexChange {
        name: "inbox_dedup",
        present: true,
        sql: "CREATE UNIQUE INDEX IF NOT EXISTS inbox_dedup
              ON inbox (source, origin, content_hash)",
    },
    // Ingest cost (issue 9, part 3). Every outbox row's idempotency key is a SHA-256, so the full
    // index put each new row on a random leaf page: half the pages a processing commit wrote
    // (measured from the WAL's frames). The only lookup by key is for items awaiting an
    // asynchronous receipt, so only those are indexed. The literal is `OutboxState::Awaiting`
    // (`store::state`); `outbox::awaiting_by_key` writes the same literal so the planner uses it.
    // A build from before this change finds no `outbox_key` and scans for that rare lookup.
    IndexChange {
        name: "outbox_awaiting_key",
        present: true,
        sql: "CREATE INDEX IF NOT EXISTS outbox_awaiting_key ON outbox (idempotency_key)
              WHERE state = 'awaiting'",
    },
    IndexChange {
        name: "outbox_key",
        present: false,
        sql: "DROP INDEX IF EXISTS outbox_key",
    },
    // Held items, read from this index alone: the items waiting for a patient that has just
    // arrived (`outbox::inputs_waiting_for`, in the processor's commit, which acknowledgements
    // wait behind), and what `/metrics` and the status page count (by reason, and since a
    // time). Held items are never pruned (`retention`), and an agent that never receives its
    // patients' ADT messages holds everything it takes: with 1,000,000 held items each of these
    // read every held row of the outbox (0.34 s per arriving patient, 0.58 s and 0.35 s per
    // scrape). `state` is a column too, so that the index covers the queries; the literal is
    // `OutboxState::Held` (`figures::HELD_BY_REASON`, `outbox::WAITING_FOR_PATIENT`).
    IndexChange {
        name: "outbox_held",
        present: true,
        sql: "CREATE INDEX IF NOT EXISTS outbox_held
              ON outbox (state, hold_reason, patient_ref, inbox_id, created_at)
              WHERE state = 'held'",
    },
    // What retention may still prune (`retention::prune`): processed inputs that keep their
    // raw bytes, and delivered or superseded items that keep their body, by age. Without them a
    // batch of 500 read every row pruned before it (the pruned rows stay, as the audit trail):
    // 0.27 s and 0.31 s per batch with 990,000 pruned rows, in a writer job, growing with the
    // agent's history. Entries are added when a row becomes prunable (the processor's and the
    // sender's commits, in time order) and leave when it is pruned. The literals are
    // `InputState::Processed` and `OutboxState::{Delivered, Superseded}`.
    IndexChange {
        name: "inbox_unpruned",
        present: true,
        sql: "CREATE INDEX IF NOT EXISTS inbox_unpruned ON inbox (received_at)
              WHERE raw IS NOT NULL AND state = 'processed'",
    },
    IndexChange {
        name: "outbox_unpruned",
        present: true,
        sql: "CREATE INDEX IF NOT EXISTS outbox_unpruned
              ON outbox (COALESCE(delivered_at, updated_at))
              WHERE body IS NOT NULL AND state IN ('delivered', 'superseded')",
    },
];

//! Master versions in SQLite: loading a file as a new version, atomically, and reporting what
//! is active.
//!
//! Tables (created `IF NOT EXISTS`, so they can live in any database; tsunagi uses
//! `DATA_DIR/terminology.db`, see [`super::open`]):
//! - `master_version(id, kind, label, loaded_at, source_name, sha256, entry_count, active)`:
//!   one row per loaded file; `loaded_at` in unix ms.
//! - `master_entry(version_id, code, display, kana, extra)`: the entries of a version; `extra`
//!   is a JSON object of the [`ExtraKey`](crate::masters::ExtraKey) names, or NULL.
//!
//! # Invariants
//! - At most one version per kind has `active = 1` (partial unique index
//!   `master_version_active`).
//! - A version's entries are written in the same transaction that makes it active; a failure
//!   anywhere rolls all of it back and the previous version stays active.
//! - Per kind only the active version and the one it replaced are kept (rollback material);
//!   older ones are deleted in the load's transaction.
//! - Loading the file the active version came from (same SHA-256) changes nothing.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::map::{ExtraKey, MasterEntry, MasterKind, MasterSet};

/// A parsed file, ready to store.
#[derive(Debug)]
pub struct ParsedFile {
    /// The entries, in file order.
    pub entries: Vec<MasterEntry>,
    /// Rows deliberately left out (J-FAGY category rows and ended codes).
    pub skipped: usize,
    /// File (or directory) name, without the path.
    pub source_name: String,
    /// SHA-256 of the bytes read (for a directory: of each used file's name and bytes, in
    /// name order).
    pub sha256: String,
    /// The version label derived from the file name or content (the masters module derives it).
    pub label: String,
    /// `UTF-8`, `Shift_JIS` or `JSON`.
    pub encoding: &'static str,
}
use crate::store::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS master_version (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    loaded_at   INTEGER NOT NULL,
    source_name TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    entry_count INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS master_version_active ON master_version(kind) WHERE active = 1;
CREATE TABLE IF NOT EXISTS master_entry (
    version_id INTEGER NOT NULL REFERENCES master_version(id) ON DELETE CASCADE,
    code       TEXT    NOT NULL,
    display    TEXT    NOT NULL,
    kana       TEXT,
    extra      TEXT,
    PRIMARY KEY (version_id, code)
) WITHOUT ROWID;
";

/// Creates the master tables if missing.
pub fn ensure_schema(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// The active version of every kind, in memory (what the map stage looks codes up in).
pub fn master_set(conn: &Connection) -> Result<MasterSet, StoreError> {
    let mut kinds = Vec::new();
    for (kind, id, version) in active_versions(conn)? {
        kinds.push((kind, version, entries(conn, id)?));
    }
    Ok(MasterSet::from_entries(kinds))
}

/// The entries of one stored version, in file order.
fn entries(conn: &Connection, version_id: i64) -> Result<Vec<MasterEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT code, display, kana, extra FROM master_entry WHERE version_id = ?1",
    )?;
    let rows = stmt.query_map([version_id], |r| {
        Ok(MasterEntry {
            code: r.get::<_, String>(0)?.into(),
            display: r.get::<_, String>(1)?.into(),
            kana: r.get::<_, Option<String>>(2)?.map(Into::into),
            extra: extra_from_json(r.get::<_, Option<String>>(3)?.as_deref()),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// An entry's extras as a JSON object (how `master_entry.extra` stores them); `None` when
/// there are none.
fn extra_json(entry: &MasterEntry) -> Option<String> {
    if entry.extra.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = entry
        .extra
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), serde_json::Value::from(&**v)))
        .collect();
    Some(serde_json::Value::Object(map).to_string())
}

/// Reads the extras back; unknown names (from a newer tsunagi) are ignored.
fn extra_from_json(json: Option<&str>) -> Box<[(ExtraKey, Box<str>)]> {
    let Some(Ok(serde_json::Value::Object(map))) = json.map(serde_json::from_str) else {
        return Box::new([]);
    };
    map.iter()
        .filter_map(|(k, v)| Some((ExtraKey::from_name(k)?, v.as_str()?.into())))
        .collect()
}

/// What a load did.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The kind loaded.
    pub kind: MasterKind,
    /// The version label now active.
    pub version: String,
    /// Entries in it.
    pub entries: usize,
    /// Rows deliberately left out (J-FAGY category rows, ended codes).
    pub skipped: usize,
    /// SHA-256 of the source.
    pub sha256: String,
    /// File (or directory) name.
    pub source_name: String,
    /// `UTF-8`, `Shift_JIS` or `JSON`.
    pub encoding: &'static str,
    /// The version it replaced, if any.
    pub replaced: Option<String>,
    /// True when the same content was already active (nothing was written).
    pub unchanged: bool,
}

/// One stored version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version label.
    pub label: String,
    /// Entries.
    pub entries: i64,
    /// When loaded, unix ms.
    pub loaded_at_ms: i64,
    /// File (or directory) name it came from.
    pub source_name: String,
    /// SHA-256 of the source.
    pub sha256: String,
}

/// The state of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct MasterStatus {
    /// The kind.
    pub kind: MasterKind,
    /// The active version, if one was loaded.
    pub active: Option<VersionInfo>,
    /// Inactive versions kept (the one the active version replaced).
    pub previous: Vec<VersionInfo>,
}

/// In one transaction stores a parsed master file as a new version of `kind` and makes it
/// active. `version` overrides the label derived from the file. On any error nothing changes.
pub fn store_version(
    conn: &mut Connection,
    kind: MasterKind,
    parsed: &ParsedFile,
    version: Option<&str>,
) -> Result<LoadReport, StoreError> {
    ensure_schema(conn)?;
    let label = version.map_or(parsed.label.clone(), str::to_string);
    let mut report = LoadReport {
        kind,
        version: label.clone(),
        entries: parsed.entries.len(),
        skipped: parsed.skipped,
        sha256: parsed.sha256.clone(),
        source_name: parsed.source_name.clone(),
        encoding: parsed.encoding,
        replaced: None,
        unchanged: false,
    };

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let active: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT id, label, sha256 FROM master_version WHERE kind = ?1 AND active = 1",
            [kind.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((_, old_label, sha)) = &active {
        if *sha == parsed.sha256 && (version.is_none() || version == Some(old_label.as_str())) {
            report.version = old_label.clone();
            report.unchanged = true;
            return Ok(report);
        }
    }
    tx.execute(
        "INSERT INTO master_version (kind, label, loaded_at, source_name, sha256, entry_count, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![
            kind.as_str(),
            label,
            crate::clock::now_ms(),
            parsed.source_name,
            parsed.sha256,
            parsed.entries.len() as i64
        ],
    )?;
    let id = tx.last_insert_rowid();
    {
        let mut insert = tx.prepare(
            "INSERT INTO master_entry (version_id, code, display, kana, extra) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in &parsed.entries {
            insert.execute(params![
                id,
                &*e.code,
                &*e.display,
                e.kana.as_deref(),
                extra_json(e)
            ])?;
        }
    }
    if let Some((old_id, old_label, _)) = &active {
        tx.execute(
            "UPDATE master_version SET active = 0 WHERE id = ?1",
            [old_id],
        )?;
        report.replaced = Some(old_label.clone());
    }
    tx.execute("UPDATE master_version SET active = 1 WHERE id = ?1", [id])?;
    // Keep the new version and the one it replaced; older ones go.
    let keep_old = active.as_ref().map_or(-1, |a| a.0);
    let stale = "SELECT id FROM master_version WHERE kind = ?1 AND id NOT IN (?2, ?3)";
    tx.execute(
        &format!("DELETE FROM master_entry WHERE version_id IN ({stale})"),
        params![kind.as_str(), id, keep_old],
    )?;
    tx.execute(
        "DELETE FROM master_version WHERE kind = ?1 AND id NOT IN (?2, ?3)",
        params![kind.as_str(), id, keep_old],
    )?;
    tx.commit()?;
    Ok(report)
}

/// The state of every kind that has a stored version, in [`MasterKind::ALL`] order.
pub fn status(conn: &Connection) -> Result<Vec<MasterStatus>, StoreError> {
    ensure_schema(conn)?;
    let mut stmt = conn.prepare(
        "SELECT kind, active, label, entry_count, loaded_at, source_name, sha256
         FROM master_version ORDER BY kind, active DESC, id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            VersionInfo {
                label: r.get(2)?,
                entries: r.get(3)?,
                loaded_at_ms: r.get(4)?,
                source_name: r.get(5)?,
                sha256: r.get(6)?,
            },
        ))
    })?;
    let mut out: Vec<MasterStatus> = Vec::new();
    for row in rows {
        let (kind, active, info) = row?;
        // A kind a newer tsunagi wrote: not ours to report.
        let Ok(kind) = kind.parse::<MasterKind>() else {
            continue;
        };
        let at = match out.iter().position(|s| s.kind == kind) {
            Some(i) => i,
            None => {
                out.push(MasterStatus {
                    kind,
                    active: None,
                    previous: Vec::new(),
                });
                out.len() - 1
            }
        };
        if active {
            out[at].active = Some(info);
        } else {
            out[at].previous.push(info);
        }
    }
    out.sort_by_key(|s| s.kind);
    Ok(out)
}

/// The active version id and label of each kind (for [`master_set`]).
fn active_versions(conn: &Connection) -> Result<Vec<(MasterKind, i64, String)>, StoreError> {
    ensure_schema(conn)?;
    let mut stmt = conn.prepare("SELECT kind, id, label FROM master_version WHERE active = 1")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, id, label) = row?;
        if let Ok(kind) = kind.parse::<MasterKind>() {
            out.push((kind, id, label));
        }
    }
    Ok(out)
}

/// The `master_version.kind` under which official FHIR packages (their profile rule tables)
/// are stored; not a [`MasterKind`], so [`status`] and [`master_set`] leave
/// it alone.
pub const FHIR_PACKAGE_KIND: &str = "fhir-package";

/// What storing a package's rule tables did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageStored {
    /// The label of the version it replaced.
    pub replaced: Option<String>,
    /// The same tables were already active: nothing changed.
    pub unchanged: bool,
}

/// Stores the rule tables `tables` of package `label` as the active FHIR package, in one
/// transaction (one `master_entry` row holds the tables); keeps the version it replaced and
/// deletes older ones, like [`store_version`].
pub fn store_fhir_package(
    conn: &mut Connection,
    label: &str,
    source_name: &str,
    elements: usize,
    tables: &str,
) -> Result<PackageStored, StoreError> {
    ensure_schema(conn)?;
    let sha256 = crate::digest::sha256_hex(tables.as_bytes());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let active: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT id, label, sha256 FROM master_version WHERE kind = ?1 AND active = 1",
            [FHIR_PACKAGE_KIND],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if active.as_ref().is_some_and(|(_, _, sha)| *sha == sha256) {
        return Ok(PackageStored {
            replaced: None,
            unchanged: true,
        });
    }
    tx.execute(
        "INSERT INTO master_version (kind, label, loaded_at, source_name, sha256, entry_count, active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![
            FHIR_PACKAGE_KIND,
            label,
            crate::clock::now_ms(),
            source_name,
            sha256,
            elements as i64
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO master_entry (version_id, code, display) VALUES (?1, 'tables', ?2)",
        params![id, tables],
    )?;
    if let Some((old_id, _, _)) = &active {
        tx.execute(
            "UPDATE master_version SET active = 0 WHERE id = ?1",
            [old_id],
        )?;
    }
    tx.execute("UPDATE master_version SET active = 1 WHERE id = ?1", [id])?;
    let keep_old = active.as_ref().map_or(-1, |a| a.0);
    let stale = "SELECT id FROM master_version WHERE kind = ?1 AND id NOT IN (?2, ?3)";
    tx.execute(
        &format!("DELETE FROM master_entry WHERE version_id IN ({stale})"),
        params![FHIR_PACKAGE_KIND, id, keep_old],
    )?;
    tx.execute(
        "DELETE FROM master_version WHERE kind = ?1 AND id NOT IN (?2, ?3)",
        params![FHIR_PACKAGE_KIND, id, keep_old],
    )?;
    tx.commit()?;
    Ok(PackageStored {
        replaced: active.map(|(_, label, _)| label),
        unchanged: false,
    })
}

/// The active FHIR package: its version facts and rule tables.
pub fn active_fhir_package(conn: &Connection) -> Result<Option<(VersionInfo, String)>, StoreError> {
    ensure_schema(conn)?;
    conn.query_row(
        "SELECT v.label, v.entry_count, v.loaded_at, v.source_name, v.sha256, e.display
         FROM master_version v JOIN master_entry e ON e.version_id = v.id
         WHERE v.kind = ?1 AND v.active = 1 AND e.code = 'tables'",
        [FHIR_PACKAGE_KIND],
        |r| {
            Ok((
                VersionInfo {
                    label: r.get(0)?,
                    entries: r.get(1)?,
                    loaded_at_ms: r.get(2)?,
                    source_name: r.get(3)?,
                    sha256: r.get(4)?,
                },
                r.get(5)?,
            ))
        },
    )
    .optional()
    .map_err(StoreError::from)
}

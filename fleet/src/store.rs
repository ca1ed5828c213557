//! The fleet's SQLite store: one row per agent, its latest state as JSON. All of the fleet
//! server's SQL is here.
//!
//! The state is what agents re-send anyway (a lost last write is repaired by the next message or
//! by asking for full state), so the database runs in WAL mode with `synchronous = NORMAL`.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::agent::AgentState;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("fleet database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored state could not be read back.
    #[error("fleet database: stored state of agent {uid} unreadable: {reason}")]
    Corrupt {
        /// The agent.
        uid: String,
        /// Why.
        reason: String,
    },
}

/// Opens (and creates) the database.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS agents (
            uid TEXT PRIMARY KEY,
            last_seen_ms INTEGER NOT NULL,
            state TEXT NOT NULL
        );",
    )?;
    Ok(conn)
}

/// Every agent's state.
pub fn load_all(conn: &Connection) -> Result<Vec<AgentState>, StoreError> {
    let mut stmt = conn.prepare("SELECT uid, state FROM agents")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (uid, json) = row?;
        let state = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            uid,
            reason: e.to_string(),
        })?;
        out.push(state);
    }
    Ok(out)
}

/// Writes one agent's state.
pub fn save(conn: &Connection, a: &AgentState) -> Result<(), StoreError> {
    let json = serde_json::to_string(a).map_err(|e| StoreError::Corrupt {
        uid: a.uid.clone(),
        reason: e.to_string(),
    })?;
    conn.prepare_cached(
        "INSERT INTO agents (uid, last_seen_ms, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(uid) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, state = excluded.state",
    )?
    .execute(params![a.uid, a.last_seen_ms, json])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_states_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("fleet.db")).unwrap();
        let mut a = AgentState::new("u1".into(), 5);
        save(&conn, &a).unwrap();
        a.seq = 3;
        save(&conn, &a).unwrap();
        drop(conn);
        let conn = open(&dir.path().join("fleet.db")).unwrap();
        assert_eq!(load_all(&conn).unwrap(), vec![a]);
    }
}

//! The `plugin_checkpoint` table: each exec source plugin's last checkpoint.
//!
//! A source plugin emits opaque checkpoint state after the records it covers. The agent writes it
//! with [`save_checkpoint`] in the same writer job (so the same transaction) as those records, and
//! hands it back at the plugin's next start ([`checkpoint`]): the checkpoint is durable exactly when
//! the records before it are.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::clock::now_ms;

/// Stores `state` (JSON text) as the checkpoint of `source`, replacing the previous one.
pub fn save_checkpoint(conn: &Connection, source: &str, state: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO plugin_checkpoint (source, state, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (source) DO UPDATE SET state = ?2, updated_at = ?3",
        params![source, state, now_ms()],
    )?;
    Ok(())
}

/// The last checkpoint stored for `source`, if any.
pub fn checkpoint(conn: &Connection, source: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT state FROM plugin_checkpoint WHERE source = ?1",
            [source],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_checkpoint_of_each_source_is_handed_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        assert_eq!(checkpoint(&conn, "vendor").unwrap(), None);
        save_checkpoint(&conn, "vendor", r#"{"offset":1}"#).unwrap();
        save_checkpoint(&conn, "vendor", r#"{"offset":2}"#).unwrap();
        save_checkpoint(&conn, "other", "7").unwrap();
        assert_eq!(
            checkpoint(&conn, "vendor").unwrap().as_deref(),
            Some(r#"{"offset":2}"#)
        );
        assert_eq!(checkpoint(&conn, "other").unwrap().as_deref(), Some("7"));
    }
}

//! The fleet: every agent's latest state in memory (the page and the gauges read it), written
//! through to SQLite on every message, and the OpAMP exchange that updates it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;
use tsunagi_opamp::proto::{AgentToServer, ServerErrorResponse, ServerToAgent};
use tsunagi_opamp::{server_caps, uid_text, Message, ERROR_BAD_REQUEST, REPORT_FULL_STATE};

use crate::agent::AgentState;
use crate::store::{self, StoreError};

/// What the server accepts from agents.
const CAPABILITIES: u64 = server_caps::ACCEPTS_STATUS
    | server_caps::ACCEPTS_EFFECTIVE_CONFIG
    | server_caps::ACCEPTS_PACKAGES_STATUS;

/// The fleet's state.
pub struct Fleet {
    agents: Mutex<HashMap<String, AgentState>>,
    db: Mutex<Connection>,
}

/// The answer to one OpAMP request.
pub enum Exchange {
    /// A `ServerToAgent` for a message taken.
    Answer(Vec<u8>),
    /// A `ServerToAgent` with an error response (the body could not be read).
    BadRequest(Vec<u8>),
}

impl Fleet {
    /// Opens the database and loads every agent.
    pub fn open(db_path: &Path) -> Result<Fleet, StoreError> {
        let conn = store::open(db_path)?;
        let agents = store::load_all(&conn)?
            .into_iter()
            .map(|a| (a.uid.clone(), a))
            .collect();
        Ok(Fleet {
            agents: Mutex::new(agents),
            db: Mutex::new(conn),
        })
    }

    /// Handles one `AgentToServer` body at `now_ms`.
    pub fn exchange(&self, body: &[u8], now_ms: i64) -> Result<Exchange, StoreError> {
        let msg = match AgentToServer::decode(body) {
            Ok(m) if !m.instance_uid.is_empty() => m,
            Ok(_) => return Ok(bad_request("instance_uid is empty")),
            Err(e) => return Ok(bad_request(&format!("not an AgentToServer message: {e}"))),
        };
        let uid = uid_text(&msg.instance_uid);
        let (state, merged) = {
            let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
            let known = agents.contains_key(&uid);
            let a = agents
                .entry(uid.clone())
                .or_insert_with(|| AgentState::new(uid.clone(), now_ms));
            let merged = a.merge(&msg, known, now_ms);
            (a.clone(), merged)
        };
        {
            let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
            store::save(&db, &state)?;
        }
        let answer = ServerToAgent {
            instance_uid: msg.instance_uid,
            flags: if merged.want_full_state {
                REPORT_FULL_STATE
            } else {
                0
            },
            capabilities: CAPABILITIES,
            ..Default::default()
        };
        Ok(Exchange::Answer(answer.encode_to_vec()))
    }

    /// A copy of every agent's state.
    pub fn agents(&self) -> Vec<AgentState> {
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents.values().cloned().collect()
    }

    /// One agent's state.
    pub fn agent(&self, uid: &str) -> Option<AgentState> {
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents.get(uid).cloned()
    }
}

fn bad_request(reason: &str) -> Exchange {
    let m = ServerToAgent {
        error_response: Some(ServerErrorResponse {
            r#type: ERROR_BAD_REQUEST,
            error_message: reason.into(),
            retry_info: None,
        }),
        capabilities: CAPABILITIES,
        ..Default::default()
    };
    Exchange::BadRequest(m.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(x: Exchange) -> ServerToAgent {
        match x {
            Exchange::Answer(b) => ServerToAgent::decode(b.as_slice()).unwrap(),
            Exchange::BadRequest(_) => panic!("bad request"),
        }
    }

    #[test]
    fn unknown_agent_is_asked_for_full_state_and_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.db");
        let fleet = Fleet::open(&path).unwrap();
        let hb = AgentToServer {
            instance_uid: vec![7; 16],
            sequence_num: 3,
            ..Default::default()
        };
        let a = answer(fleet.exchange(&hb.encode_to_vec(), 10).unwrap());
        assert_eq!(a.flags & REPORT_FULL_STATE, REPORT_FULL_STATE);
        assert_eq!(a.instance_uid, vec![7; 16]);
        drop(fleet);
        let fleet = Fleet::open(&path).unwrap();
        assert_eq!(fleet.agents().len(), 1);
        let next = AgentToServer {
            sequence_num: 4,
            ..hb
        };
        let a = answer(fleet.exchange(&next.encode_to_vec(), 20).unwrap());
        assert_eq!(a.flags, 0);
    }

    #[test]
    fn garbage_is_a_bad_request() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = Fleet::open(&dir.path().join("f.db")).unwrap();
        assert!(matches!(
            fleet.exchange(b"\xff\xff\xff", 1).unwrap(),
            Exchange::BadRequest(_)
        ));
        assert!(matches!(
            fleet.exchange(&[], 1).unwrap(),
            Exchange::BadRequest(_)
        ));
    }
}

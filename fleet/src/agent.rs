//! What the fleet knows of one agent: the latest state its OpAMP messages reported, merged
//! message by message (a field an agent left out because it did not change keeps its value).
//!
//! Only what agents report is kept: identity and host facts, health by component, the figures
//! tsunagi reports as health attributes (counts, ages, a rate), the effective config (which the
//! agent sends with its secrets removed) and package versions. Never patient data: tsunagi's
//! agent sends none, and the page shows only these fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tsunagi_opamp::proto::{AgentToServer, ComponentHealth, KeyValue};
use tsunagi_opamp::{attr_number, attr_text};

/// Longest effective config kept (bytes); longer ones are cut.
const MAX_CONFIG: usize = 64 * 1024;

/// The latest state of one agent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AgentState {
    /// `instance_uid`, as a UUID.
    pub uid: String,
    /// The last `sequence_num` seen.
    pub seq: u64,
    /// First message, unix ms.
    pub first_seen_ms: i64,
    /// Last message, unix ms.
    pub last_seen_ms: i64,
    /// `AgentCapabilities` bits.
    pub capabilities: u64,
    /// Identifying attributes (`service.name`, `service.version`, `service.instance.id`).
    pub identifying: BTreeMap<String, String>,
    /// Non-identifying attributes (host facts, 医療機関番号, uplink route).
    pub non_identifying: BTreeMap<String, String>,
    /// Health, when reported.
    pub health: Option<Health>,
    /// The effective config files (name → text), when reported.
    pub effective_config: BTreeMap<String, String>,
    /// Package name → installed version.
    pub packages: BTreeMap<String, String>,
    /// The agent said goodbye (`agent_disconnect`) and has not spoken since.
    pub disconnected: bool,
}

/// Health of the agent and its components.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// Healthy overall.
    pub healthy: bool,
    /// The status word.
    pub status: String,
    /// The last error (no patient data: agents send none).
    pub last_error: String,
    /// Components by name.
    pub components: BTreeMap<String, Component>,
    /// Numeric attributes of the health (tsunagi's figures: `tsunagi.backlog`, ...).
    pub figures: BTreeMap<String, f64>,
    /// Text attributes of the health (tsunagi's update state: `tsunagi.update.available`, ...).
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
}

/// Health of one component.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Component {
    /// Healthy.
    pub healthy: bool,
    /// Status word.
    pub status: String,
    /// Last error.
    pub last_error: String,
}

/// What the server learnt from one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// The server lacks part of the agent's state: ask for all of it (`ReportFullState`).
    pub want_full_state: bool,
}

impl AgentState {
    /// A new agent first heard from at `now_ms`.
    pub fn new(uid: String, now_ms: i64) -> AgentState {
        AgentState {
            uid,
            first_seen_ms: now_ms,
            ..Default::default()
        }
    }

    /// Merges one message. `known`: the server had a state for this agent before. Full state is
    /// wanted when the agent is new or a `sequence_num` was skipped (a message was lost) and
    /// this message does not carry the description (which a full report always does).
    pub fn merge(&mut self, m: &AgentToServer, known: bool, now_ms: i64) -> Merged {
        let gap = known && m.sequence_num != self.seq.wrapping_add(1);
        let want_full_state = (!known || gap) && m.agent_description.is_none();
        self.seq = m.sequence_num;
        self.last_seen_ms = now_ms;
        self.capabilities = m.capabilities;
        self.disconnected = m.agent_disconnect.is_some();
        if let Some(d) = &m.agent_description {
            self.identifying = texts(&d.identifying_attributes);
            self.non_identifying = texts(&d.non_identifying_attributes);
        }
        if let Some(h) = &m.health {
            self.health = Some(health(h));
        }
        if let Some(c) = m
            .effective_config
            .as_ref()
            .and_then(|c| c.config_map.as_ref())
        {
            self.effective_config = c
                .config_map
                .iter()
                .map(|(k, f)| (k.clone(), config_text(&f.body)))
                .collect();
        }
        if let Some(p) = &m.package_statuses {
            self.packages = p
                .packages
                .iter()
                .map(|(k, s)| (k.clone(), s.agent_has_version.clone()))
                .collect();
        }
        Merged { want_full_state }
    }

    /// `service.name`.
    pub fn name(&self) -> &str {
        self.identifying
            .get("service.name")
            .map(String::as_str)
            .unwrap_or("")
    }

    /// `service.version`.
    pub fn version(&self) -> &str {
        self.identifying
            .get("service.version")
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The 医療機関番号 tsunagi reports.
    pub fn institution(&self) -> &str {
        self.non_identifying
            .get(tsunagi_opamp::keys::INSTITUTION)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// One of the reported figures.
    pub fn figure(&self, key: &str) -> Option<f64> {
        self.health.as_ref()?.figures.get(key).copied()
    }

    /// One of the reported text notes (the update state).
    pub fn note(&self, key: &str) -> Option<&str> {
        self.health.as_ref()?.notes.get(key).map(String::as_str)
    }

    /// Healthy as reported (`None`: no health reported).
    pub fn healthy(&self) -> Option<bool> {
        self.health.as_ref().map(|h| h.healthy)
    }

    /// Not heard from for longer than `stale_after_ms`.
    pub fn stale(&self, now_ms: i64, stale_after_ms: i64) -> bool {
        now_ms - self.last_seen_ms > stale_after_ms
    }
}

fn texts(attrs: &[KeyValue]) -> BTreeMap<String, String> {
    attrs
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), attr_text(attrs, &kv.key)?)))
        .collect()
}

fn health(h: &ComponentHealth) -> Health {
    Health {
        healthy: h.healthy,
        status: h.status.clone(),
        last_error: h.last_error.clone(),
        components: h
            .component_health_map
            .iter()
            .map(|(k, c)| {
                let c = Component {
                    healthy: c.healthy,
                    status: c.status.clone(),
                    last_error: c.last_error.clone(),
                };
                (k.clone(), c)
            })
            .collect(),
        figures: h
            .attributes
            .iter()
            .filter_map(|kv| Some((kv.key.clone(), attr_number(&h.attributes, &kv.key)?)))
            .collect(),
        notes: texts(&h.attributes),
    }
}

fn config_text(body: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&body[..body.len().min(MAX_CONFIG)]).into_owned();
    if body.len() > MAX_CONFIG {
        s.push_str("\n# (cut)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsunagi_opamp::kv_str;
    use tsunagi_opamp::proto::AgentDescription;

    fn msg(seq: u64, described: bool) -> AgentToServer {
        AgentToServer {
            instance_uid: vec![1; 16],
            sequence_num: seq,
            agent_description: described.then(|| AgentDescription {
                identifying_attributes: vec![kv_str("service.name", "tsunagi")],
                non_identifying_attributes: vec![kv_str(
                    "tsunagi.institution_number",
                    "1318814790",
                )],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_or_gap_without_description_wants_full_state() {
        let mut a = AgentState::new("x".into(), 0);
        assert!(a.merge(&msg(5, false), false, 1).want_full_state);
        assert!(!a.merge(&msg(6, true), true, 2).want_full_state);
        assert!(!a.merge(&msg(7, false), true, 3).want_full_state);
        assert!(
            a.merge(&msg(9, false), true, 4).want_full_state,
            "8 was lost"
        );
        assert_eq!(a.institution(), "1318814790", "kept while omitted");
        assert_eq!(a.name(), "tsunagi");
    }

    #[test]
    fn stale_after_the_window() {
        let mut a = AgentState::new("x".into(), 0);
        a.merge(&msg(0, true), false, 1_000);
        assert!(!a.stale(91_000, 90_000));
        assert!(a.stale(91_001, 90_000));
    }
}

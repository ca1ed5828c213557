//! The OpAMP exchange: one `POST` of an `AgentToServer` per interval (±10 % jitter), fields
//! that did not change since the server last took them left out (a heartbeat when nothing did),
//! everything re-sent when the server sets `ReportFullState`, `agent_disconnect` on a clean
//! stop.
//!
//! The server being down never touches the agent's work: a failed report is logged once per
//! outage and retried next interval; what it carried is sent again (it was never marked as
//! taken), and the skipped `sequence_num` tells the server a message was lost.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tsunagi_opamp::proto::{
    AgentConfigFile, AgentConfigMap, AgentDescription, AgentDisconnect, AgentToServer,
    ComponentHealth, EffectiveConfig, PackageStatuses, ServerToAgent,
};
use tsunagi_opamp::{agent_caps, Message, REPORT_FULL_STATE};

/// What the agent can do (no remote config: hospitals' security posture).
pub const CAPABILITIES: u64 = agent_caps::REPORTS_STATUS
    | agent_caps::REPORTS_HEALTH
    | agent_caps::REPORTS_EFFECTIVE_CONFIG
    | agent_caps::REPORTS_PACKAGE_STATUSES
    | agent_caps::REPORTS_HEARTBEAT;

/// The name the effective config is reported under: the config file's usual name
/// (`config::FILE_NAME`; a test keeps the two equal).
pub const CONFIG_NAME: &str = "tsunagi.toml";

/// Why a report did not get through.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Connection, TLS or timeout.
    #[error("fleet server unreachable: {0} / フリートサーバに接続できません")]
    Transport(String),
    /// A status other than 2xx.
    #[error("fleet server answered HTTP {0} / フリートサーバがエラーを返しました")]
    Status(u16),
    /// Not a `ServerToAgent`.
    #[error("fleet server answer is not an OpAMP ServerToAgent: {0} / 応答を読めません")]
    Decode(String),
}

/// One state of the agent, as reported.
#[derive(Clone, PartialEq)]
pub struct State {
    /// `agent_description`.
    pub description: AgentDescription,
    /// `health` (times zeroed: compared without them).
    pub health: ComponentHealth,
    /// The effective config (TOML, secrets removed).
    pub config: Option<String>,
    /// `package_statuses`: the agent's own version and update state.
    pub packages: Option<PackageStatuses>,
}

/// The exchange's memory.
pub struct Exchange {
    client: reqwest::Client,
    url: reqwest::Url,
    token: Option<String>,
    uid: Vec<u8>,
    seq: u64,
    /// What the server has taken (`None`: nothing yet, or it asked for everything).
    taken: Option<State>,
    /// When the health last changed, unix ns.
    health_since_ns: u64,
    started_ns: u64,
}

impl Exchange {
    /// A new exchange; the first message carries the full state.
    pub fn new(
        client: reqwest::Client,
        url: reqwest::Url,
        token: Option<String>,
        uid: [u8; 16],
    ) -> Exchange {
        let now = now_ns();
        Exchange {
            client,
            url,
            token,
            uid: uid.to_vec(),
            seq: 0,
            taken: None,
            health_since_ns: now,
            started_ns: now,
        }
    }

    /// The message for `state`: only what differs from what the server took.
    pub fn message(&mut self, state: &State) -> AgentToServer {
        let prev = self.taken.as_ref();
        let mut m = self.bare();
        if prev.map(|p| &p.description) != Some(&state.description) {
            m.agent_description = Some(state.description.clone());
        }
        if prev.map(|p| &p.health) != Some(&state.health) {
            if prev.is_some_and(|p| p.health.healthy != state.health.healthy) {
                self.health_since_ns = now_ns();
            }
            let mut h = state.health.clone();
            h.start_time_unix_nano = self.started_ns;
            h.status_time_unix_nano = self.health_since_ns;
            m.health = Some(h);
        }
        if prev.map(|p| &p.config) != Some(&state.config) {
            m.effective_config = state.config.as_ref().map(|text| effective(text));
        }
        if prev.map(|p| &p.packages) != Some(&state.packages) {
            m.package_statuses = state.packages.clone();
        }
        m
    }

    fn bare(&self) -> AgentToServer {
        AgentToServer {
            instance_uid: self.uid.clone(),
            sequence_num: self.seq,
            capabilities: CAPABILITIES,
            ..Default::default()
        }
    }

    /// Sends `state` (what changed). Returns whether the server asked for the full state; then
    /// the next call sends everything.
    pub async fn report(&mut self, state: &State) -> Result<bool, ReportError> {
        let m = self.message(state);
        let answer = self.post(&m).await?;
        let full = answer.flags & REPORT_FULL_STATE != 0;
        self.taken = if full { None } else { Some(state.clone()) };
        Ok(full)
    }

    /// Says goodbye (`agent_disconnect`) on a clean stop.
    pub async fn disconnect(&mut self) -> Result<(), ReportError> {
        let mut m = self.bare();
        m.agent_disconnect = Some(AgentDisconnect {});
        self.post(&m).await.map(|_| ())
    }

    async fn post(&mut self, m: &AgentToServer) -> Result<ServerToAgent, ReportError> {
        // Counted whether or not it arrives: a lost message shows as a gap.
        self.seq += 1;
        let mut req = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, tsunagi_opamp::CONTENT_TYPE)
            .body(m.encode_to_vec());
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = req
            .send()
            .await
            .map_err(|e| ReportError::Transport(e.to_string()))?;
        if !res.status().is_success() {
            return Err(ReportError::Status(res.status().as_u16()));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| ReportError::Transport(e.to_string()))?;
        let answer =
            ServerToAgent::decode(body.as_ref()).map_err(|e| ReportError::Decode(e.to_string()))?;
        if let Some(e) = &answer.error_response {
            tracing::warn!(
                kind = e.r#type,
                "the fleet server reported an error / フリートサーバがエラーを返しました"
            );
        }
        Ok(answer)
    }
}

fn effective(text: &str) -> EffectiveConfig {
    let file = AgentConfigFile {
        body: text.as_bytes().to_vec(),
        content_type: "application/toml".into(),
    };
    EffectiveConfig {
        config_map: Some(AgentConfigMap {
            config_map: [(CONFIG_NAME.to_string(), file)].into(),
        }),
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The interval with ±10 % jitter.
pub fn jittered(interval: Duration) -> Duration {
    let f: f64 = rand::random_range(0.9..1.1);
    interval.mul_f64(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_reported_under_its_file_name() {
        assert_eq!(CONFIG_NAME, crate::config::FILE_NAME);
    }

    fn state(healthy: bool) -> State {
        State {
            description: AgentDescription::default(),
            health: ComponentHealth {
                healthy,
                ..Default::default()
            },
            config: Some("[agent]\n".into()),
            packages: Some(PackageStatuses::default()),
        }
    }

    #[test]
    fn unchanged_fields_are_left_out() {
        let url = reqwest::Url::parse("http://127.0.0.1:1/v1/opamp").unwrap();
        let mut x = Exchange::new(reqwest::Client::new(), url, None, [1; 16]);
        let first = x.message(&state(true));
        assert!(first.agent_description.is_some() && first.health.is_some());
        assert!(first.effective_config.is_some() && first.package_statuses.is_some());
        assert_eq!(first.capabilities & agent_caps::ACCEPTS_REMOTE_CONFIG, 0);
        assert_ne!(first.capabilities & agent_caps::REPORTS_PACKAGE_STATUSES, 0);
        x.taken = Some(state(true));
        let beat = x.message(&state(true));
        assert!(beat.agent_description.is_none() && beat.health.is_none());
        assert!(beat.effective_config.is_none() && beat.package_statuses.is_none());
        let changed = x.message(&state(false));
        assert!(changed.health.is_some() && changed.agent_description.is_none());
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(30));
            assert!(d >= Duration::from_secs(27) && d <= Duration::from_secs(33));
        }
    }
}

//! `/metrics`: the fleet's gauges in Prometheus text (agents by standing, stale agents, the total
//! backlog). Labels are fixed words; no agent's name or number is a label.

use std::fmt::Write as _;

use tsunagi_opamp::keys;

use crate::agent::AgentState;
use crate::page::Standing;

const STANDINGS: [Standing; 5] = [
    Standing::Healthy,
    Standing::Unhealthy,
    Standing::Stale,
    Standing::Stopped,
    Standing::Unknown,
];

/// The exposition.
pub fn render(agents: &[AgentState], now_ms: i64, stale_after_ms: i64) -> String {
    let mut o = String::new();
    o.push_str("# HELP tsunagi_fleet_agents Agents known to the fleet server, by standing.\n# TYPE tsunagi_fleet_agents gauge\n");
    for s in STANDINGS {
        let n = agents
            .iter()
            .filter(|a| Standing::of(a, now_ms, stale_after_ms) == s)
            .count();
        let _ = writeln!(o, "tsunagi_fleet_agents{{standing=\"{}\"}} {n}", s.word());
    }
    let stale = agents
        .iter()
        .filter(|a| a.stale(now_ms, stale_after_ms))
        .count();
    let backlog: f64 = agents
        .iter()
        .filter_map(|a| a.figure(keys::BACKLOG))
        .fold(0.0, |s, v| s + v);
    let rejected: f64 = agents
        .iter()
        .filter_map(|a| a.figure(keys::REJECTED_TODAY))
        .fold(0.0, |s, v| s + v);
    let _ = write!(
        o,
        "# HELP tsunagi_fleet_stale_agents Agents not heard from for 3 intervals.\n# TYPE tsunagi_fleet_stale_agents gauge\ntsunagi_fleet_stale_agents {stale}\n\
         # HELP tsunagi_fleet_backlog_total Bundles not yet delivered, summed over agents.\n# TYPE tsunagi_fleet_backlog_total gauge\ntsunagi_fleet_backlog_total {backlog}\n\
         # HELP tsunagi_fleet_rejected_today Rejections today (JST), summed over agents.\n# TYPE tsunagi_fleet_rejected_today gauge\ntsunagi_fleet_rejected_today {rejected}\n"
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_standing() {
        let mut a = AgentState::new("a".into(), 0);
        a.last_seen_ms = 0;
        let text = render(&[a], 100_000, 90_000);
        assert!(text.contains("tsunagi_fleet_agents{standing=\"stale\"} 1"));
        assert!(text.contains("tsunagi_fleet_stale_agents 1"));
        assert!(text.contains("tsunagi_fleet_backlog_total 0"));
    }
}

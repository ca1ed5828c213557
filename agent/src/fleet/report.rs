//! What the agent reports to the fleet, built from what `/readyz` and the status page compute
//! (the readiness checks, the store's status and today's figures) and the config.
//!
//! Counts, ages, times, state words and fixed error texts only: nothing read here names a
//! patient, a file or an input (no bundle body, raw input or quarantine reason is read).

use std::path::Path;
use std::time::Duration;

use tsunagi_opamp::proto::{AgentDescription, ComponentHealth, KeyValue};
use tsunagi_opamp::{keys, kv_double, kv_int, kv_str};

use crate::ops::Readiness;
use crate::quality::Month;
use crate::store::{self, figures, query, OutboxState};

/// The agent's identity and host facts, fixed for its run.
pub struct Identity {
    /// `instance_uid` as text.
    pub uid: String,
    /// 保険医療機関番号.
    pub institution: String,
    /// Uplink route name.
    pub route: &'static str,
    /// Configured source names.
    pub sources: Vec<String>,
}

/// `agent_description`: identifying `service.*`, non-identifying host facts (from `sysinfo`),
/// the 医療機関番号 and the uplink route.
pub fn description(id: &Identity) -> AgentDescription {
    let mut non = vec![
        kv_str("os.type", std::env::consts::OS),
        kv_str("host.arch", host_arch()),
        kv_str(keys::INSTITUTION, id.institution.clone()),
        kv_str(keys::ROUTE, id.route),
    ];
    if let Some(h) = sysinfo::System::host_name() {
        non.push(kv_str("host.name", h));
    }
    if let Some(d) = sysinfo::System::long_os_version() {
        non.push(kv_str("os.description", d));
    }
    AgentDescription {
        identifying_attributes: vec![
            kv_str("service.name", "tsunagi"),
            kv_str("service.version", env!("CARGO_PKG_VERSION")),
            kv_str("service.instance.id", id.uid.clone()),
        ],
        non_identifying_attributes: non,
    }
}

/// OpenTelemetry's `host.arch` words.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        other => other,
    }
}

/// What one round reads (blocking: opens a database connection).
pub struct Facts {
    checks: crate::ops::Checks,
    status: Option<query::Status>,
    today: Option<figures::Today>,
    /// (mapped, total) coded items of inputs received this JST month.
    coded: Option<(i64, i64)>,
    /// What `tsunagi update` last recorded (none when never run or unreadable).
    update: Option<crate::update::UpdateState>,
    /// Each exec source plugin's state, by source name.
    plugins: Vec<(String, crate::source::exec::PluginState)>,
}

/// Reads the facts at `now_ms`, with the exec source plugins' states. A store that cannot be
/// read leaves the figures out; the checks then say why.
pub fn gather(
    data_dir: &Path,
    readiness: &Readiness,
    plugins: Vec<(String, crate::source::exec::PluginState)>,
    now_ms: i64,
) -> Facts {
    let checks = crate::ops::run_checks(data_dir, readiness);
    let update = crate::update::UpdateState::read(data_dir).ok().flatten();
    let conn = store::open_existing(data_dir).and_then(|c| {
        c.busy_timeout(Duration::from_secs(2))?;
        Ok(c)
    });
    let Ok(conn) = conn else {
        return Facts {
            checks,
            status: None,
            today: None,
            coded: None,
            update,
            plugins,
        };
    };
    let coded =
        store::report::coded_counts(&conn, Month::containing(now_ms).start_ms(), now_ms + 1)
            .ok()
            .map(|rows| {
                let total: i64 = rows.iter().map(|r| r.2).sum();
                let mapped: i64 = rows
                    .iter()
                    .filter(|r| r.1 == crate::map::ItemState::Mapped)
                    .map(|r| r.2)
                    .sum();
                (mapped, total)
            });
    Facts {
        checks,
        status: query::status(&conn).ok(),
        today: figures::since(&conn, crate::ops::jst_day_start(now_ms)).ok(),
        coded,
        update,
        plugins,
    }
}

fn component(healthy: bool, status: &str, error: &str) -> ComponentHealth {
    ComponentHealth {
        healthy,
        status: status.into(),
        last_error: if healthy { String::new() } else { error.into() },
        ..Default::default()
    }
}

/// `health`: one component per source, the store, the processor, the uplink, the masters and
/// the disk reserve; the figures as attributes. Times are left to the caller (they change only
/// when the health does).
pub fn health(id: &Identity, f: &Facts) -> ComponentHealth {
    let check = |name: &str| f.checks.checks.iter().find(|c| c.name == name);
    let ok_state = |name: &str| {
        check(name)
            .map(|c| (c.ok, c.state.clone()))
            .unwrap_or((false, "unknown".into()))
    };
    let paused = f.status.as_ref().is_some_and(|s| s.intake_paused);
    let mut map = std::collections::HashMap::new();
    let (ok, st) = ok_state("store");
    map.insert(
        "store".into(),
        component(
            ok,
            &st,
            "the database does not take writes / データベースに書き込めません",
        ),
    );
    let (ok, st) = ok_state("masters");
    map.insert(
        "masters".into(),
        component(
            ok,
            &st,
            "no national code master loaded (tsunagi masters load) / 標準マスタが未読込です",
        ),
    );
    let (ok, st) = ok_state("uplink");
    map.insert(
        "uplink".into(),
        component(
            ok,
            &st,
            "the platform is unreachable / 送信先に接続できません",
        ),
    );
    let processor = f.status.is_some();
    map.insert(
        "processor".into(),
        component(
            processor,
            if processor { "running" } else { "unknown" },
            "the store cannot be read / 処理状況を読めません",
        ),
    );
    map.insert(
        "disk".into(),
        component(!paused, if paused { "reserve-crossed" } else { "ok" }, "free space is below the disk reserve; intake paused / 空き容量が下限を下回り受付を停止中"),
    );
    for s in &id.sources {
        map.insert(format!("source/{s}"), source_health(s, paused, &f.plugins));
    }
    let mut errors: Vec<&str> = map
        .values()
        .filter(|c| !c.healthy)
        .map(|c| c.last_error.as_str())
        .collect();
    errors.sort_unstable();
    errors.dedup();
    let healthy = errors.is_empty();
    ComponentHealth {
        healthy,
        status: if healthy { "ready" } else { "not-ready" }.into(),
        last_error: errors.join("; "),
        component_health_map: map,
        attributes: figures_attrs(f),
        ..Default::default()
    }
}

/// A source's health: paused by the disk reserve, or (an exec plugin) restarting after a failed
/// run or refused at its handshake.
fn source_health(
    name: &str,
    paused: bool,
    plugins: &[(String, crate::source::exec::PluginState)],
) -> ComponentHealth {
    use crate::source::exec::PluginState;
    if paused {
        return component(
            false,
            "paused",
            "intake paused by the disk reserve / 空き容量不足で受付停止中",
        );
    }
    match plugins.iter().find(|(n, _)| n == name).map(|(_, s)| *s) {
        Some(PluginState::Backoff) => component(
            false,
            "backoff",
            "the plugin's last run failed; it is started again after a delay / プラグインが異常終了し、再起動を待っています",
        ),
        Some(PluginState::Refused) => component(
            false,
            "refused",
            "the plugin's handshake was refused (protocol version, role or format) / プラグインのハンドシェイクを拒否しました",
        ),
        Some(state) => component(true, state.name(), ""),
        None => component(true, "taking", ""),
    }
}

/// The figures an operator ranks hospitals by.
fn figures_attrs(f: &Facts) -> Vec<KeyValue> {
    let mut a = Vec::new();
    if let Some(s) = &f.status {
        let n = |st: OutboxState| {
            s.outbox
                .iter()
                .filter(|(k, _)| k == st.as_str())
                .map(|(_, n)| *n)
                .sum::<i64>()
        };
        let backlog = n(OutboxState::Pending) + n(OutboxState::InFlight) + n(OutboxState::Awaiting);
        a.push(kv_int(keys::BACKLOG, backlog));
        a.push(kv_int(
            keys::OLDEST_PENDING_S,
            s.oldest_pending_age_secs.unwrap_or(0),
        ));
        if let Some(ms) = s.last_delivery_ms {
            a.push(kv_int(keys::LAST_DELIVERY_MS, ms));
        }
    }
    if let Some(t) = &f.today {
        a.push(kv_int(keys::DELIVERED_TODAY, t.delivered));
        a.push(kv_int(keys::REJECTED_TODAY, t.rejected));
        a.push(kv_int(keys::HELD_TODAY, t.held));
    }
    if let Some((mapped, total)) = f.coded {
        if total > 0 {
            a.push(kv_double(
                keys::CODED_RATE_MONTH,
                mapped as f64 * 100.0 / total as f64,
            ));
        }
    }
    a.extend(update_attrs(f.update.as_ref()));
    a
}

/// `package_statuses` (ReportsPackageStatuses): the agent itself as the one package, at the
/// version it runs, with what `tsunagi update` last saw: a newer version offered by the update
/// manifest (install pending), or that version rolled back (install failed, with its reason).
pub fn packages(f: &Facts) -> tsunagi_opamp::proto::PackageStatuses {
    use tsunagi_opamp::proto::{PackageStatus, PackageStatuses};
    let mut status = PackageStatus {
        name: "tsunagi".into(),
        agent_has_version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    if let Some(st) = &f.update {
        if let Some(v) = &st.available {
            status.server_offered_version = v.clone();
            status.status = tsunagi_opamp::package_status::INSTALL_PENDING;
        }
        let offered = st.available.as_deref();
        if let Some(failed) = st
            .failed
            .iter()
            .rev()
            .find(|x| Some(x.version.as_str()) == offered)
        {
            status.status = tsunagi_opamp::package_status::INSTALL_FAILED;
            status.error_message = failed.reason.clone();
        }
    }
    PackageStatuses {
        packages: [("tsunagi".to_string(), status)].into_iter().collect(),
        ..Default::default()
    }
}

/// The update state an operator acts on: a version waiting, versions rolled back.
fn update_attrs(state: Option<&crate::update::UpdateState>) -> Vec<KeyValue> {
    let Some(state) = state else {
        return Vec::new();
    };
    let mut a = Vec::new();
    if let Some(v) = &state.available {
        a.push(kv_str(keys::UPDATE_AVAILABLE, v.clone()));
    }
    if !state.failed.is_empty() {
        let versions: Vec<&str> = state.failed.iter().map(|f| f.version.as_str()).collect();
        a.push(kv_str(keys::UPDATE_FAILED, versions.join(",")));
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            uid: "u".into(),
            institution: "1318814790".into(),
            route: "web-api",
            sources: vec!["ehr".into()],
        }
    }

    #[test]
    fn description_names_the_agent_and_institution() {
        let d = description(&id());
        let text = |k| tsunagi_opamp::attr_text(&d.identifying_attributes, k);
        assert_eq!(text("service.name").as_deref(), Some("tsunagi"));
        assert_eq!(text("service.instance.id").as_deref(), Some("u"));
        let non = |k| tsunagi_opamp::attr_text(&d.non_identifying_attributes, k);
        assert_eq!(non(keys::INSTITUTION).as_deref(), Some("1318814790"));
        assert_eq!(non(keys::ROUTE).as_deref(), Some("web-api"));
        assert!(non("os.type").is_some() && non("host.arch").is_some());
    }

    #[test]
    fn the_agent_reports_itself_as_a_package_with_its_update_state() {
        use tsunagi_opamp::package_status::{INSTALLED, INSTALL_FAILED, INSTALL_PENDING};
        let dir = tempfile::tempdir().unwrap();
        let mut f = gather(dir.path(), &Readiness::default(), Vec::new(), 0);
        let p = &packages(&f).packages["tsunagi"];
        assert_eq!(p.agent_has_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(p.status, INSTALLED);
        let mut st = crate::update::UpdateState {
            available: Some("9.9.9".into()),
            ..Default::default()
        };
        f.update = Some(st.clone());
        let p = &packages(&f).packages["tsunagi"];
        assert_eq!(
            (p.status, p.server_offered_version.as_str()),
            (INSTALL_PENDING, "9.9.9")
        );
        st.record_failure("9.9.9", "no /readyz within 60 s");
        f.update = Some(st);
        let p = &packages(&f).packages["tsunagi"];
        assert_eq!(p.status, INSTALL_FAILED);
        assert!(p.error_message.contains("/readyz"));
    }

    #[test]
    fn an_exec_source_in_backoff_or_refused_is_an_unhealthy_component() {
        use crate::source::exec::PluginState;
        let plugins = vec![
            ("vendor".to_string(), PluginState::Backoff),
            ("other".to_string(), PluginState::Refused),
            ("fine".to_string(), PluginState::Running),
        ];
        let b = source_health("vendor", false, &plugins);
        assert!(!b.healthy && b.status == "backoff" && !b.last_error.is_empty());
        assert_eq!(source_health("other", false, &plugins).status, "refused");
        let fine = source_health("fine", false, &plugins);
        assert!(fine.healthy && fine.status == "running" && fine.last_error.is_empty());
        assert!(source_health("folder", false, &plugins).healthy);
        assert_eq!(source_health("vendor", true, &plugins).status, "paused");
    }

    #[test]
    fn an_unreadable_store_is_unhealthy_with_components() {
        let dir = tempfile::tempdir().unwrap();
        let f = gather(dir.path(), &Readiness::default(), Vec::new(), 0);
        let h = health(&id(), &f);
        assert!(!h.healthy);
        assert!(!h.last_error.is_empty());
        for c in [
            "store",
            "masters",
            "uplink",
            "processor",
            "disk",
            "source/ehr",
        ] {
            assert!(h.component_health_map.contains_key(c), "{c}");
        }
    }

    #[test]
    fn a_waiting_update_and_rolled_back_versions_are_reported() {
        assert!(update_attrs(None).is_empty());
        let state = crate::update::UpdateState {
            available: Some("0.2.0".into()),
            failed: vec![crate::update::state::FailedVersion {
                version: "0.1.9".into(),
                at: "2026-12-05T00:00:00Z".into(),
                reason: "not ready".into(),
            }],
            ..Default::default()
        };
        let keys: Vec<String> = update_attrs(Some(&state))
            .into_iter()
            .map(|kv| kv.key)
            .collect();
        assert_eq!(keys, [keys::UPDATE_AVAILABLE, keys::UPDATE_FAILED]);
    }
}

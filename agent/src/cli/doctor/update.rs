//! `update`: how this agent is updated and what the last check and apply left
//! (`DATA/update/state.json`, written by `tsunagi update`).

use crate::update::mode::Mode;
use crate::update::UpdateState;

use super::{fix, Check, Setting};

/// The update check: the mode, an update waiting, versions rolled back.
pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let mode = match Mode::detect() {
        Mode::SelfManaged => "self-managed".to_string(),
        Mode::PackageManaged { marker } => format!("package-managed ({})", marker.display()),
    };
    let source = if cfg.update.manifest_url.is_some() {
        "manifest configured"
    } else {
        "no [update] manifest_url"
    };
    vec![judge(
        &mode,
        source,
        UpdateState::read(&cfg.agent.data_dir).map_err(|e| e.to_string()),
    )]
}

fn judge(mode: &str, source: &str, state: Result<Option<UpdateState>, String>) -> Check {
    let state = match state {
        Err(e) => {
            return Check::warn(
                "update",
                format!("{mode}; the update state cannot be read: {e}"),
                fix(
                    "DATA/update/state.json を確認するか削除し、tsunagi update check を実行してください",
                    "check or remove DATA/update/state.json, then run tsunagi update check",
                ),
            )
        }
        Ok(None) => return Check::ok("update", format!("{mode}; {source}; never checked")),
        Ok(Some(state)) => state,
    };
    if !state.failed.is_empty() {
        let versions: Vec<&str> = state.failed.iter().map(|f| f.version.as_str()).collect();
        return Check::warn(
            "update",
            format!("{mode}; rolled back after failing its health check: {}", versions.join(", ")),
            fix(
                "DATA/update/daemon.log を確認し、提供元に連絡してください（自動では再試行しません）",
                "read DATA/update/daemon.log and tell the vendor; it is not retried automatically",
            ),
        );
    }
    if let Some(version) = &state.available {
        return Check::warn(
            "update",
            format!("{mode}; update available: {version}"),
            fix(
                "パッケージ管理の場合は新しい .deb/.msi を導入し、それ以外は tsunagi update apply を実行してください",
                "install the new .deb/.msi when package-managed, else run tsunagi update apply",
            ),
        );
    }
    let checked = state.checked_at.as_deref().unwrap_or("never");
    Check::ok(
        "update",
        format!("{mode}; {source}; up to date (checked {checked})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::doctor::Status;
    use crate::update::state::FailedVersion;

    #[test]
    fn a_waiting_update_and_a_rolled_back_version_are_warnings() {
        assert_eq!(judge("m", "s", Ok(None)).status, Status::Ok);
        let waiting = UpdateState {
            available: Some("0.2.0".into()),
            ..UpdateState::default()
        };
        let c = judge("m", "s", Ok(Some(waiting)));
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("0.2.0"), "{}", c.detail);
        let failed = UpdateState {
            failed: vec![FailedVersion {
                version: "0.3.0".into(),
                at: "2026-12-05T00:00:00Z".into(),
                reason: "not ready".into(),
            }],
            ..UpdateState::default()
        };
        let c = judge("m", "s", Ok(Some(failed)));
        assert!(
            c.detail.contains("0.3.0") && c.status == Status::Warn,
            "{}",
            c.detail
        );
        assert_eq!(judge("m", "s", Err("bad".into())).status, Status::Warn);
    }
}

//! Signed self-update with a health gate (`tsunagi update check|apply`, `[update]`).
//!
//! - config.rs: `[update]` (manifest URL, channel, trusted keys, ready timeout, watch window).
//! - manifest.rs: the JSON manifest and the choice of release (older refused unless asked).
//! - verify.rs: size, sha256 and the zipsign signature; no trusted key means no update.
//! - apply.rs: stage in `DATA/update/staging`, verify, keep `DATA/update/tsunagi.prev`, swap.
//! - gate.rs: restart, `/readyz` within the timeout, watch, else roll back and record the failure.
//! - restart.rs: the daemon's record and its restart (re-exec on Unix, respawn on Windows).
//! - mode.rs: package-managed installs (.deb/.msi marker) only report updates.
//! - state.rs: `DATA/update/state.json`, read by `/metrics`, the status page and `tsunagi doctor`.

pub mod apply;
pub mod check;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod fetch;
pub mod gate;
pub mod manifest;
pub mod mode;
pub mod probe;
pub mod restart;
pub mod state;
pub mod verify;

pub use config::UpdateConfig;
pub use state::UpdateState;

/// `/metrics` lines: the version available (a version string is a safe label) and the versions
/// rolled back.
pub fn metrics(data_dir: &std::path::Path) -> String {
    let Ok(Some(st)) = UpdateState::read(data_dir) else {
        return String::new();
    };
    let mut out = String::from(
        "# HELP tsunagi_update_available A newer version the update manifest offers (1), by version.\n\
         # TYPE tsunagi_update_available gauge\n",
    );
    if let Some(v) = &st.available {
        out.push_str(&format!(
            "tsunagi_update_available{{version=\"{}\"}} 1\n",
            label(v)
        ));
    }
    out.push_str(
        "# HELP tsunagi_update_failed A version rolled back after failing its health check (1).\n\
         # TYPE tsunagi_update_failed gauge\n",
    );
    for f in &st.failed {
        out.push_str(&format!(
            "tsunagi_update_failed{{version=\"{}\"}} 1\n",
            label(&f.version)
        ));
    }
    out
}

/// A version as a label value: semver characters only.
fn label(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-+".contains(*c))
        .collect()
}

/// The status page's row: (English, Japanese), when there is anything to say.
pub fn status_row(data_dir: &std::path::Path) -> Option<(String, String)> {
    let st = UpdateState::read(data_dir).ok()??;
    let failed: Vec<&str> = st.failed.iter().map(|f| f.version.as_str()).collect();
    let failed_en = if failed.is_empty() {
        String::new()
    } else {
        format!("; rolled back: {}", failed.join(", "))
    };
    let failed_ja = if failed.is_empty() {
        String::new()
    } else {
        format!("、取り消し済み: {}", failed.join(", "))
    };
    Some(match &st.available {
        Some(v) if st.mode == "package-managed" => (
            format!("{v} available (comes as a package){failed_en}"),
            format!("{v} が利用可能 (パッケージで更新){failed_ja}"),
        ),
        Some(v) => (
            format!("{v} available: tsunagi update apply{failed_en}"),
            format!("{v} が利用可能: tsunagi update apply{failed_ja}"),
        ),
        None => (
            format!("up to date{failed_en}"),
            format!("最新です{failed_ja}"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_name_the_available_and_failed_versions() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(metrics(dir.path()), "");
        let mut st = UpdateState {
            available: Some("0.2.0".into()),
            ..Default::default()
        };
        st.record_failure("0.1.9\"x", "not ready");
        st.write(dir.path()).unwrap();
        let m = metrics(dir.path());
        assert!(
            m.contains("tsunagi_update_available{version=\"0.2.0\"} 1"),
            "{m}"
        );
        assert!(
            m.contains("tsunagi_update_failed{version=\"0.1.9x\"} 1"),
            "{m}"
        );
        let (en, ja) = status_row(dir.path()).unwrap();
        assert!(en.contains("0.2.0") && en.contains("0.1.9"));
        assert!(ja.contains("利用可能"));
    }
}

//! What `tsunagi update` knows between runs, in `DATA/update/state.json` (owner-only): the last
//! check, the version installed and the one before it, and the versions that failed their health
//! check (never retried automatically). `tsunagi doctor`, `/metrics` and the status page read it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Result, UpdateError};

/// The update state. Versions only: nothing here is patient data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateState {
    /// "self-managed" or "package-managed" at the last run.
    #[serde(default)]
    pub mode: String,
    /// When the manifest was last read (RFC 3339).
    #[serde(default)]
    pub checked_at: Option<String>,
    /// The newest version the manifest offered at the last check, when newer than the running one.
    #[serde(default)]
    pub available: Option<String>,
    /// The version the last apply installed.
    #[serde(default)]
    pub installed: Option<String>,
    /// The version it replaced (its binary is kept as `DATA/update/tsunagi.prev`).
    #[serde(default)]
    pub previous: Option<String>,
    /// Versions rolled back after failing their health check.
    #[serde(default)]
    pub failed: Vec<FailedVersion>,
    /// The last apply's outcome in words (English / Japanese).
    #[serde(default)]
    pub last_result: Option<String>,
}

/// A version that was installed and rolled back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedVersion {
    pub version: String,
    pub at: String,
    pub reason: String,
}

/// The folder `tsunagi update` keeps its files in.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("update")
}

fn path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("state.json")
}

/// Now, for the state's timestamps.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl UpdateState {
    /// The state of the agent whose data directory is `data_dir`; `None` when no update command
    /// has run there yet.
    pub fn read(data_dir: &Path) -> Result<Option<UpdateState>> {
        let p = path(data_dir);
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(UpdateError::io(format!("reading {}", p.display()), e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            UpdateError::io(
                format!("reading {}", p.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }

    /// The state, or an empty one.
    pub fn read_or_default(data_dir: &Path) -> Result<UpdateState> {
        Ok(Self::read(data_dir)?.unwrap_or_default())
    }

    /// Writes the state whole (a temporary file renamed over the old one).
    pub fn write(&self, data_dir: &Path) -> Result<()> {
        let d = dir(data_dir);
        crate::owner_only::create_dir(&d)
            .map_err(|e| UpdateError::io(format!("creating {}", d.display()), e))?;
        let p = path(data_dir);
        let tmp = d.join(".state.json.tmp");
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = crate::owner_only::options()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &p)
        };
        write().map_err(|e| UpdateError::io(format!("writing {}", p.display()), e))
    }

    /// Whether `version` failed before.
    pub fn failed_before(&self, version: &str) -> bool {
        self.failed.iter().any(|f| f.version == version)
    }

    /// Records a rolled-back version.
    pub fn record_failure(&mut self, version: &str, reason: &str) {
        if !self.failed_before(version) {
            self.failed.push(FailedVersion {
                version: version.into(),
                at: now(),
                reason: reason.into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(UpdateState::read(dir.path()).unwrap(), None);
        let mut s = UpdateState {
            available: Some("0.1.1".into()),
            ..Default::default()
        };
        s.record_failure("0.1.1", "not ready");
        s.record_failure("0.1.1", "again");
        s.write(dir.path()).unwrap();
        let back = UpdateState::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(back.failed.len(), 1);
        assert!(back.failed_before("0.1.1"));
        assert!(crate::owner_only::is_owner_only(&path(dir.path())).unwrap());
    }
}

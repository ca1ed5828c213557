//! The agent's OpAMP `instance_uid`: a UUIDv7 made once and kept in the data directory
//! (`fleet_instance_uid`), so that the fleet knows the agent across restarts and upgrades.

use std::path::Path;

use uuid::Uuid;

/// The file in the data directory.
pub const FILE: &str = "fleet_instance_uid";

/// Reads the kept UID, or makes and keeps a new one (written to a temporary file, synced, then
/// renamed into place).
pub fn instance_uid(data_dir: &Path) -> std::io::Result<Uuid> {
    let path = data_dir.join(FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(uid) = Uuid::parse_str(text.trim()) {
            return Ok(uid);
        }
        tracing::warn!(
            path = %path.display(),
            "the fleet instance uid is unreadable; a new one is made / フリート用の識別子が読めないため作り直します"
        );
    }
    let uid = Uuid::now_v7();
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(uid.to_string().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = instance_uid(dir.path()).unwrap();
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(instance_uid(dir.path()).unwrap(), a);
        std::fs::write(dir.path().join(FILE), "garbage").unwrap();
        assert_ne!(instance_uid(dir.path()).unwrap(), a);
    }
}

//! `update`: the self-update state. A placeholder until the update module lands: it only reads
//! whether the config file has an `[update]` table (as raw TOML, since the config schema does not
//! know it yet). The integrator replaces the body of [`update_state_check`].

use std::path::Path;

use super::Check;

/// The update state of the agent configured by `file`.
pub fn update_state_check(file: &Path) -> Check {
    let table = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("update").cloned());
    match table {
        Some(toml::Value::Table(t)) => {
            let keys: Vec<&str> = t.keys().map(String::as_str).collect();
            Check::ok(
                "update",
                format!("[update] present ({}); no state recorded", keys.join(", ")),
            )
        }
        _ => Check::ok("update", "not configured / no state"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_whether_an_update_table_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "[agent]\nx = 1\n").unwrap();
        assert_eq!(
            update_state_check(&file).detail,
            "not configured / no state"
        );
        std::fs::write(&file, "[update]\nchannel = \"stable\"\n").unwrap();
        assert!(update_state_check(&file).detail.contains("channel"));
    }
}

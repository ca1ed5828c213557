//! `data-dir`: the data directory exists (or can be made), takes a new file, belongs to the
//! account that runs the agent, and it and what is in it are readable by that account only.

use std::path::Path;

use super::{fix, Check, Setting};
use crate::owner_only;

const NAME: &str = "data-dir";

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let dir = &cfg.agent.data_dir;
    if !dir.exists() {
        return vec![missing(dir)];
    }
    let writable = writable(dir);
    if writable.status != super::Status::Ok {
        return vec![writable];
    }
    vec![writable, owner(dir), modes(dir)]
}

/// Not there yet: fine when the agent can create it at its first start.
fn missing(dir: &Path) -> Check {
    let parent_ok = dir
        .ancestors()
        .skip(1)
        .find(|p| p.exists())
        .is_some_and(|p| !p.metadata().is_ok_and(|m| m.permissions().readonly()));
    let detail = format!("{} does not exist yet", dir.display());
    let (ja, en) = (
        format!("初回起動時に作成されます。先に作る場合: {} を作成し、エージェントのアカウントだけが読めるようにしてください", dir.display()),
        format!("the agent creates it at its first start; to make it now, create {} readable by the agent's account only", dir.display()),
    );
    if parent_ok {
        Check::warn(NAME, detail, fix(ja, en))
    } else {
        Check::fail(
            NAME,
            format!("{detail} and its parent is read-only"),
            fix(ja, en),
        )
    }
}

/// Writes and removes an empty probe file, owner-only as the agent's files are.
fn writable(dir: &Path) -> Check {
    let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
    let made = owner_only::options()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|f| f.sync_all());
    let removed = std::fs::remove_file(&probe);
    match made.and(removed) {
        Ok(()) => Check::ok(NAME, format!("{} is writable", dir.display())),
        Err(e) => Check::fail(
            NAME,
            format!("cannot write in {}: {e}", dir.display()),
            fix(
                format!("{} をエージェントのアカウントが書き込めるようにしてください(所有者・権限・ディスクの読み取り専用を確認)", dir.display()),
                format!("make {} writable by the agent's account (check its owner, permissions, and whether the disk is read-only)", dir.display()),
            ),
        ),
    }
}

fn owner(dir: &Path) -> Check {
    let name = "data-dir-owner";
    match owner_only::owner(dir) {
        Ok(o) if o.ours != Some(false) => Check::ok(name, format!("owner {}", o.name)),
        Ok(o) => Check::warn(
            name,
            format!("{} is owned by {}, not by the account running doctor", dir.display(), o.name),
            fix(
                "エージェントのサービスアカウントで doctor を実行するか (sudo -u tsunagi tsunagi doctor)、所有者をそのアカウントにしてください (chown -R tsunagi: DIR)",
                "run doctor as the agent's service account (sudo -u tsunagi tsunagi doctor), or give the directory to that account (chown -R tsunagi: DIR)",
            ),
        ),
        Err(e) => Check::fail(
            name,
            format!("cannot read the owner of {}: {e}", dir.display()),
            fix("データディレクトリのアクセス権を確認してください", "check the data directory's permissions"),
        ),
    }
}

/// The directory and each entry directly in it (databases, logs, staging) are owner-only.
fn modes(dir: &Path) -> Check {
    let name = "data-dir-modes";
    let entries = std::fs::read_dir(dir).map(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path()))
            .collect::<Vec<_>>()
    });
    let entries = match entries {
        Ok(e) => e,
        Err(e) => {
            return Check::fail(
                name,
                format!("cannot list {}: {e}", dir.display()),
                fix(
                    "データディレクトリのアクセス権を確認してください",
                    "check the data directory's permissions",
                ),
            )
        }
    };
    let open: Vec<String> = std::iter::once(dir.to_path_buf())
        .chain(entries)
        .filter(|p| !matches!(owner_only::is_owner_only(p), Ok(true)))
        .map(|p| p.display().to_string())
        .collect();
    if open.is_empty() {
        return Check::ok(name, "readable by the owner only");
    }
    Check::warn(
        name,
        format!("readable by others: {}", open.join(", ")),
        fix(
            "患者データを含みます。所有者だけが読めるようにしてください (Linux: chmod 700 DIR, chmod 600 DIR/*。エージェントは起動時にも制限します)",
            "these hold patient data: make them readable by the owner only (Linux: chmod 700 DIR, chmod 600 DIR/*; the agent also tightens them when it starts)",
        ),
    )
}

//! `source:NAME`: each folder a source reads (a folder's, an SS-MIX2 storage) can be listed (within a time limit, so that a
//! dead network share cannot hang doctor), and one on a network share is polled (file-system
//! events do not arrive over SMB/NFS).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use sysinfo::Disks;

use super::{fix, Check, Setting};
use crate::source::folder::WatchMode;

/// How long listing a source folder may take before it counts as unreachable.
const REACH_LIMIT: Duration = Duration::from_secs(10);

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let disks = Disks::new_with_refreshed_list();
    let roots = cfg
        .source
        .described()
        .flat_map(|(_, s)| s.roots.into_iter().map(move |r| (s.name, r)));
    roots
        .map(|(name, root)| source(&disks, name, root.path, root.watch))
        .collect()
}

fn source(disks: &Disks, name: &str, path: &Path, watch: WatchMode) -> Check {
    let check = format!("source:{name}");
    let network = super::disk::is_network(disks, path);
    let place = if network { "network share " } else { "" };
    if let Err(reason) = listable(path.to_path_buf()) {
        return Check::fail(
            check,
            format!("cannot read {place}{}: {reason}", path.display()),
            fix(
                format!("{} が存在し、エージェントのアカウントで読めることを確認してください (ネットワーク共有ならサーバー・接続・資格情報も)", path.display()),
                format!("make sure {} exists and the agent's account can read it (on a network share: the server, the connection and the credentials)", path.display()),
            ),
        );
    }
    if network && watch == WatchMode::Events {
        return Check::warn(
            check,
            format!("{} is on a network share, watched by file-system events", path.display()),
            fix(
                "ネットワーク共有ではファイル変更通知が届かないことがあります。このソースに watch = \"poll\" を設定してください",
                "events often do not arrive over a network share: set watch = \"poll\" on this source",
            ),
        );
    }
    let how = match watch {
        WatchMode::Events => "events",
        WatchMode::Poll => "polling",
    };
    Check::ok(check, format!("{place}{} readable ({how})", path.display()))
}

/// Lists the folder on a thread and waits at most [`REACH_LIMIT`].
pub(super) fn listable(path: PathBuf) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let listed = std::fs::read_dir(&path).and_then(|mut rd| rd.next().transpose().map(|_| ()));
        // The receiver may have given up: nothing left to tell.
        let _ = tx.send(listed.map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(REACH_LIMIT) {
        Ok(listed) => listed,
        Err(_) => Err(format!("no answer within {} s", REACH_LIMIT.as_secs())),
    }
}

//! The sandbox's fleet view (`tsunagi demo --serve`, issue 13): the `tsunagi-fleet` binary built
//! beside this one, started on loopback with its own tokens, and the sandbox agent reporting to
//! it, so a vendor sees the central view with one command. Without the binary (a build of the
//! agent alone) the banner says how to build it and the sandbox runs without.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Seconds between the sandbox agent's reports (short, so the page moves while one watches).
const INTERVAL_SECS: u64 = 5;

/// A running `tsunagi-fleet`; stopped when dropped.
pub struct SandboxFleet {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The file holding the page's token.
    pub page_token_file: PathBuf,
    agent_token: String,
}

impl Drop for SandboxFleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tsunagi-fleet` beside the running binary, if it was built.
pub fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.with_file_name(format!("tsunagi-fleet{}", std::env::consts::EXE_SUFFIX));
    bin.exists().then_some(bin)
}

fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    hex::encode(bytes)
}

/// Starts the fleet view for the sandbox in `dir` (its database and tokens under `dir/fleet`).
pub fn start(dir: &Path, bin: &Path) -> anyhow::Result<SandboxFleet> {
    let home = dir.join("fleet");
    crate::owner_only::create_dir(&home).with_context(|| format!("creating {}", home.display()))?;
    let (agent_token, page_token) = (new_token(), new_token());
    // Owner-only from the first byte: a token is a secret.
    let write = |name: &str, token: &str| -> anyhow::Result<PathBuf> {
        use std::io::Write;
        let p = home.join(name);
        crate::owner_only::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .and_then(|mut f| f.write_all(token.as_bytes()))
            .with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    };
    let agent_file = write("agent.token", &agent_token)?;
    let page_token_file = write("page.token", &page_token)?;
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(home.join("fleet.db"))
        .arg("--agent-token-file")
        .arg(&agent_file)
        .arg("--page-token-file")
        .arg(&page_token_file)
        .args(["--interval-secs", &INTERVAL_SECS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let Some(url) = line.trim().strip_prefix("tsunagi-fleet listening on ") else {
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("tsunagi-fleet did not start / フリート画面を起動できませんでした");
    };
    Ok(SandboxFleet {
        url: url.to_string(),
        child,
        page_token_file,
        agent_token,
    })
}

impl SandboxFleet {
    /// The `[fleet]` table pointing the sandbox agent at it.
    pub fn config_toml(&self) -> String {
        format!(
            "\n[fleet]\nopamp_url = \"{}/v1/opamp\"\ninterval_secs = {INTERVAL_SECS}\ntoken = \"{}\"\n",
            self.url, self.agent_token
        )
    }
}

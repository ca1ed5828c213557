//! `tsunagi plugin`: the exec plugin conformance kit.

use std::time::Duration;

use clap::Subcommand;

use crate::source::exec::kit::{self, KitOptions};

/// What to do with a plugin.
#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// Run a source plugin as the agent would and check it: handshake, records, checkpoint,
    /// determinism, kill-and-resume, a malformed line, stopping. Prints a pass/fail table; exits
    /// 1 if a check fails.
    Test {
        /// Seconds without a new record after which the plugin has sent everything it has.
        #[arg(long, default_value_t = 3)]
        quiet_secs: u64,
        /// Seconds to wait for the hello.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
        /// The plugin's argv, after `--`, e.g. `-- python3 plugins/export.py export/`.
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

/// Runs the action; `Ok(false)` when a check failed.
pub fn run(action: PluginAction) -> anyhow::Result<bool> {
    match action {
        PluginAction::Test {
            quiet_secs,
            timeout_secs,
            argv,
        } => {
            let opts = KitOptions {
                argv,
                dir: std::env::current_dir()?,
                quiet: Duration::from_secs(quiet_secs.max(1)),
                timeout: Duration::from_secs(timeout_secs.max(1)),
            };
            let checks = kit::run(&opts);
            print!("{}", kit::table(&checks));
            let failed = checks.iter().filter(|c| !c.passed).count();
            if failed == 0 {
                println!("conformance: PASS / 適合性テスト: 合格");
            } else {
                println!(
                    "conformance: FAIL ({failed} checks) / 適合性テスト: 不合格 ({failed} 項目)"
                );
            }
            Ok(failed == 0)
        }
    }
}

//! `tsunagi plugin`: the conformance kits, for exec plugins (`test`) and for declarative table
//! adapters (`test-table`).

use std::path::PathBuf;
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
    /// Check a declarative table adapter (a `[[format]]` spec): the spec, each sample input
    /// (files named `bad-*` must be refused with a line named), determinism, golden records and
    /// the bundles they build. Prints a pass/fail table; exits 1 if a check fails.
    TestTable {
        /// The spec (TOML), e.g. `formats/byomei-csv.toml`.
        spec: PathBuf,
        /// A folder of sample exports (synthetic: never a real patient's data).
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// A folder of golden files, `<input file name>.json`, compared with the records read.
        #[arg(long, requires = "inputs")]
        expect: Option<PathBuf>,
        /// Write the golden files into `--expect` instead of comparing.
        #[arg(long, requires = "expect")]
        bless: bool,
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
            Ok(report(&kit::run(&opts)))
        }
        PluginAction::TestTable {
            spec,
            inputs,
            expect,
            bless,
        } => {
            let opts = super::table_kit::TableKitOptions {
                spec,
                inputs,
                expect,
                bless,
            };
            Ok(report(&super::table_kit::run(&opts)))
        }
    }
}

/// Prints the pass/fail table and the verdict; whether every check passed.
fn report(checks: &[kit::Check]) -> bool {
    print!("{}", kit::table(checks));
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed == 0 {
        println!("conformance: PASS / 適合性テスト: 合格");
    } else {
        println!("conformance: FAIL ({failed} checks) / 適合性テスト: 不合格 ({failed} 項目)");
    }
    failed == 0
}

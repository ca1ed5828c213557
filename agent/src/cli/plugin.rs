//! `tsunagi plugin`: the conformance kits, for exec source plugins (`test`), declarative table
//! adapters (`test-table`) and converter plugins (`test-converter`).

use crate::console::outln;
use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

use super::adapter_kit::KitInputs;
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
        #[command(flatten)]
        samples: KitInputs,
    },
    /// Check a converter plugin (a `[[format]]` with `converter`): the handshake, then each
    /// sample input as for `test-table` (`bad-*` files must be refused), determinism, golden
    /// records and the bundles they build. Prints a pass/fail table; exits 1 if a check fails.
    TestConverter {
        #[command(flatten)]
        samples: KitInputs,
        /// Seconds the converter may stay silent while converting one input.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
        /// The converter's argv, after `--`, e.g. `-- python3 plugins/xml_converter.py`.
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
            Ok(report(&kit::run(&opts))?)
        }
        PluginAction::TestTable { spec, samples } => {
            Ok(report(&super::adapter_kit::run_table(&spec, &samples))?)
        }
        PluginAction::TestConverter {
            samples,
            timeout_secs,
            argv,
        } => {
            let format = crate::pipeline::declared::FormatConfig {
                name: "conformance".into(),
                converter: Some(argv),
                working_dir: Some(std::env::current_dir()?),
                timeout_secs: Some(timeout_secs.max(1)),
                ..crate::pipeline::declared::FormatConfig::default()
            };
            let Some(cfg) = format.converter_config() else {
                anyhow::bail!("no converter argv");
            };
            Ok(report(&super::adapter_kit::run_converter(cfg, &samples))?)
        }
    }
}

/// Prints the pass/fail table and the verdict; whether every check passed.
fn report(checks: &[kit::Check]) -> std::io::Result<bool> {
    std::io::Write::write_all(&mut std::io::stdout().lock(), kit::table(checks).as_bytes())?;
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed == 0 {
        outln!("conformance: PASS / 適合性テスト: 合格")?;
    } else {
        outln!("conformance: FAIL ({failed} checks) / 適合性テスト: 不合格 ({failed} 項目)")?;
    }
    Ok(failed == 0)
}

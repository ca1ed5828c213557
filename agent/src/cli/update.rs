//! `tsunagi update check|apply --config FILE`.

use crate::console::outln;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::update::apply::{Applied, ApplyOptions};
use crate::update::manifest::{running_version, Offer};
use crate::update::mode::Mode;

/// `tsunagi update …`.
#[derive(Subcommand, Debug)]
pub enum UpdateAction {
    /// Read the update manifest and say whether a newer version is available.
    Check {
        /// The agent's config file ([update] and [agent] data_dir).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Download, verify and install the newest version, restart the agent on it, and roll back
    /// when it does not become ready.
    Apply {
        /// The agent's config file ([update] and [agent] data_dir).
        #[arg(long, short)]
        config: PathBuf,
        /// Install an older version than the running one.
        #[arg(long)]
        allow_downgrade: bool,
        /// Try again a version that was rolled back before.
        #[arg(long)]
        retry_failed: bool,
        /// Download and verify only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs an update command.
pub fn run(action: UpdateAction) -> anyhow::Result<bool> {
    match action {
        UpdateAction::Check { config } => {
            let (cfg, data_dir) = load(&config)?;
            let c = crate::update::check::check(&cfg.update, &data_dir)?;
            print_check(&c)?;
            Ok(true)
        }
        UpdateAction::Apply {
            config,
            allow_downgrade,
            retry_failed,
            dry_run,
        } => {
            let (cfg, data_dir) = load(&config)?;
            let opts = ApplyOptions {
                allow_downgrade,
                retry_failed,
                dry_run,
                probe: crate::update::probe::Probe::new(
                    cfg.ops.token.clone(),
                    cfg.ops.tls_cert.as_deref(),
                )?,
            };
            let applied = crate::update::apply::apply(&cfg.update, &data_dir, opts)?;
            print_applied(&applied)?;
            Ok(true)
        }
    }
}

fn load(config: &Path) -> anyhow::Result<(crate::config::Config, PathBuf)> {
    let (cfg, _) = crate::config::load(config).map_err(super::problems_error)?;
    let data_dir = cfg.agent.data_dir.clone();
    Ok((cfg, data_dir))
}

fn print_check(c: &crate::update::check::Checked) -> std::io::Result<()> {
    let running = running_version();
    outln!("running   {running}  ({})", c.mode.name())?;
    if let Mode::PackageManaged { marker } = &c.mode {
        outln!(
            "          package-managed: {} / パッケージ管理",
            marker.display()
        )?;
    }
    let r = c.offer.release();
    match &c.offer {
        Offer::UpToDate(_) => outln!("manifest  {}: up to date / 最新です", r.version)?,
        Offer::Older(_) => outln!(
            "manifest  {}: older than the running version (apply refuses without --allow-downgrade) / 稼働中より古い版です",
            r.version
        )?,
        Offer::Newer(_) if matches!(c.mode, Mode::PackageManaged { .. }) => outln!(
            "manifest  {}: update available; it comes as a package (apt / msi) / 更新があります。パッケージで更新してください",
            r.version
        )?,
        Offer::Newer(_) => outln!(
            "manifest  {}: update available: tsunagi update apply / 更新があります",
            r.version
        )?,
    }
    if c.failed_before {
        outln!(
            "          {} was rolled back before and is not retried automatically / 以前取り消した版です",
            r.version
        )?;
    }
    Ok(())
}

fn print_applied(a: &Applied) -> std::io::Result<()> {
    match a {
        Applied::UpToDate(v) => outln!("{v} is running: up to date / 最新です")?,
        Applied::Verified(v) => outln!(
            "{v}: downloaded and verified (signature, sha256, size); nothing changed (--dry-run) / 検証しました (変更なし)"
        )?,
        Applied::Installed { version, restarted: true } => outln!(
            "{version} installed; the agent restarted on it and stayed ready / 導入し、正常稼働を確認しました"
        )?,
        Applied::Installed { version, restarted: false } => outln!(
            "{version} installed; the agent was not running: start it / 導入しました。エージェントを起動してください"
        )?,
    }
    Ok(())
}

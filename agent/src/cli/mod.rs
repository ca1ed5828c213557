//! The command line: one subcommand per user task, each in its own file.
//!
//! Commands that read the database (`status`, `queue`) are safe while the daemon runs: they open
//! their own connection (WAL readers never block the writer); their few writes (`queue retry`,
//! `drop`, `replay`) are short transactions with a busy timeout, recorded in the audit table.
//!
//! Commands print with [`crate::console::outln!`] or another fallible write, never `println!`
//! (why: `console`).

mod adapter_kit;
mod check_config;
mod doctor;
mod inspect;
mod inspect_bundles;
mod mapping;
mod masters;
mod plugin;
mod queue;
mod report;
mod status;
mod update;
mod validate;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::reload_request::{HangupSignal, ReloadRequest};
use crate::shutdown::{Shutdown, StopSignals};

/// tsunagi: the CLINS edge agent / 電子カルテ情報共有サービス連携エージェント
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
pub struct Args {
    /// More log output (-v debug, -vv trace). TSUNAGI_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log line format (overrides [log] format).
    #[arg(long, value_enum, global = true)]
    pub log_format: Option<crate::logging::LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// Where a command finds the database.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The agent's config file (its [agent].data_dir is used).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The data directory, instead of --config.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl Target {
    /// The data directory: `--data` (see [`data_dir_of`]), the config's, or `TSUNAGI_DATA`.
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data {
            return data_dir_of(d);
        }
        if let Some(c) = &self.config {
            let (cfg, _) = crate::config::load(c).map_err(problems_error)?;
            return Ok(cfg.agent.data_dir);
        }
        if let Ok(d) = std::env::var("TSUNAGI_DATA") {
            return data_dir_of(Path::new(&d));
        }
        anyhow::bail!("say where the database is: --config FILE or --data DIR (or TSUNAGI_DATA) / --config か --data を指定してください")
    }

    /// The data directory of a command that reads the agent's database, which must be there.
    fn database_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = self.data_dir()?;
        let db = crate::store::db_path(&dir);
        if self.config.is_none() && !db.exists() {
            anyhow::bail!(
                "no database at {db} (--data takes the agent's data directory, [agent] data_dir); \
                 with a config file use --config {config} / {db} にデータベースがありません。\
                 設定ファイルがあれば --config {config} を指定してください",
                db = db.display(),
                config = dir.join(crate::config::FILE_NAME).display(),
            );
        }
        Ok(dir)
    }
}

/// What `--data DIR` means: DIR itself when it holds a database (or nothing the agent knows), else
/// the data directory of the config DIR holds (a `tsunagi demo` sandbox keeps its config in DIR
/// and its database in `DIR/agent/`).
pub(crate) fn data_dir_of(dir: &Path) -> anyhow::Result<PathBuf> {
    let config = dir.join(crate::config::FILE_NAME);
    let holds_data =
        crate::store::db_path(dir).exists() || crate::store::terminology::db_path(dir).exists();
    if holds_data || !config.is_file() {
        return Ok(dir.to_path_buf());
    }
    let (cfg, _) = crate::config::load(&config).map_err(problems_error)?;
    Ok(cfg.agent.data_dir)
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything on loopback with the bundled simulator and sample inputs; no config needed.
    #[cfg(feature = "demo")]
    Demo {
        /// Keep the agent's database and the simulator's data here instead of a temporary folder.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Keep running until SIGTERM/SIGINT, as a sandbox (drop files into DIR/inbox).
        #[arg(long)]
        serve: bool,
    },
    /// Run the daemon until SIGTERM/SIGINT, then drain and exit.
    Run {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Start on a new, empty store although the data directory held another one that is
        /// now missing or replaced (its acknowledged inputs are not in the new one).
        #[arg(long)]
        accept_new_store: bool,
        /// Run as the Windows service (started by the Service Control Manager; see
        /// installer/README.md). Refused elsewhere.
        #[arg(long)]
        service: bool,
    },
    /// Check a config file and list every problem with its line.
    CheckConfig {
        /// The config file.
        file: PathBuf,
    },
    /// Everything to check first when something is wrong: config, data directory, disk,
    /// sources, ports, certificates, the platform and the clock, masters, IG version, updates;
    /// each ok/warn/fail with a fix in Japanese and English. Exit 1 when any check fails.
    Doctor {
        /// The config file (else TSUNAGI_CONFIG, else /etc/tsunagi/tsunagi.toml or
        /// %ProgramData%\tsunagi\tsunagi.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = doctor::Format::Text)]
        format: doctor::Format,
    },
    /// Counts by state, oldest pending, last delivery and last error.
    Status {
        #[command(flatten)]
        target: Target,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Inspect and act on held, rejected, pending or quarantined items.
    Queue {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        action: queue::QueueAction,
    },
    /// Decode, parse and canonicalize HL7 v2 files, MLLP captures or an SS-MIX2 storage, and
    /// print what the agent would make of them; nothing is stored or sent.
    Inspect {
        /// Files or directories (an SS-MIX2 storage root works).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = inspect::Format::Table)]
        format: inspect::Format,
        /// Print patient values (IDs, names, birth dates, addresses, free text) unmasked.
        #[arg(long)]
        reveal: bool,
        /// Show each item's mapping outcome and the bundles that would be sent, with their
        /// validation findings (nothing is stored or sent).
        #[arg(long)]
        bundles: bool,
        /// With --bundles: the agent whose masters, mapping table and institution to use.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// With --bundles: the agent's data directory (masters and mapping table).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Load national code masters (病名, JLAC, YJ, J-FAGY, HOT) and show the loaded versions.
    Masters {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        action: masters::MastersAction,
    },
    /// Validate JP-CLINS bundles or resources (FHIR JSON files) as the agent does before sending.
    Validate {
        /// FHIR JSON files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// An official FHIR package directory (else TSUNAGI_FHIR_PACKAGE) whose profile rules
        /// replace the built-in ones (jp-eCSCLINS.r4 1.10.0).
        #[arg(long)]
        package: Option<PathBuf>,
        /// Validate with the rules this agent validates with: its `[validation] fhir_package`,
        /// else the package loaded with `masters load fhir-package`, else the built-in ones.
        #[command(flatten)]
        agent: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = validate::Format::Text)]
        format: validate::Format,
    },
    /// Hospital code mapping tables: CSV import/export, check against the masters, suggestions.
    Mapping {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        action: mapping::MappingAction,
    },
    /// The monthly quality report: delivery, coded rates, delays, timeliness, what to fix.
    Report {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        options: report::ReportArgs,
    },
    /// Run the pipeline again on stored raw inputs (after a fix).
    Replay {
        #[command(flatten)]
        target: Target,
        /// Input ids (I-7) or outbox ids (O-12, meaning the input it came from).
        ids: Vec<String>,
        /// Every quarantined input.
        #[arg(long)]
        quarantined: bool,
        /// Every input with held items.
        #[arg(long)]
        held: bool,
        /// Every input with an unmapped or invalid local code (after `mapping import`).
        #[arg(long)]
        unmapped: bool,
    },
    /// Signed self-update: check the manifest, or apply with a health check and rollback.
    Update {
        #[command(subcommand)]
        action: update::UpdateAction,
    },
    /// Exec plugins: the conformance kit a vendor runs before shipping (`plugin test -- ARGV`).
    Plugin {
        #[command(subcommand)]
        action: plugin::PluginAction,
    },
}

/// Runs a command; `Ok(false)` means it ran and the answer is "not good" (exit 1).
pub fn dispatch(args: Args) -> anyhow::Result<bool> {
    match args.command {
        #[cfg(feature = "demo")]
        Command::Demo { data, serve } => crate::demo::run(data, serve),
        Command::Run {
            config,
            accept_new_store,
            service: true,
        } => crate::service::run(config, accept_new_store),
        Command::Run {
            config,
            accept_new_store,
            ..
        } => run(config, accept_new_store),
        Command::CheckConfig { file } => Ok(check_config::run(&file)?),
        Command::Doctor { config, format } => doctor::run(config.as_deref(), format),
        Command::Status { target, json } => status::run(&target.database_dir()?, json),
        Command::Queue { target, action } => queue::run(&target.database_dir()?, action),
        Command::Inspect {
            paths,
            format,
            reveal,
            bundles: false,
            ..
        } => inspect::run(&paths, format, reveal),
        Command::Inspect {
            paths,
            format,
            reveal,
            config,
            data,
            ..
        } => {
            let setup = inspect_bundles::setup_for(config.as_deref(), data.as_deref())?;
            inspect_bundles::run(&paths, format, reveal, setup)
        }
        Command::Masters { target, action } => masters::run(&target, action),
        Command::Validate {
            files,
            strict,
            package,
            agent,
            format,
        } => {
            let rules = validate::Rules::chosen(package.as_deref(), &agent)?;
            validate::run(&files, strict, &rules, format)
        }
        Command::Mapping { target, action } => mapping::run(&target.data_dir()?, action),
        Command::Report { target, options } => report::run(&target.database_dir()?, &options),
        Command::Replay {
            target,
            ids,
            quarantined,
            held,
            unmapped,
        } => queue::replay(&target.database_dir()?, &ids, quarantined, held, unmapped),
        Command::Update { action } => update::run(action),
        Command::Plugin { action } => plugin::run(action),
    }
}

pub(crate) fn problems_error(p: Vec<crate::config::Problem>) -> anyhow::Error {
    let lines: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    anyhow::anyhow!(
        "configuration problems / 設定の問題:\n  {}",
        lines.join("\n  ")
    )
}

fn run(config: PathBuf, accept_new_store: bool) -> anyhow::Result<bool> {
    let (mut cfg, _) = crate::config::load(&config).map_err(problems_error)?;
    cfg.store.accept_new_store = accept_new_store;
    let base = crate::config::base_dir(&config);
    let rt = crate::daemon::runtime().context("cannot start the runtime")?;
    rt.block_on(async move {
        let mut signals = StopSignals::install().context("cannot catch stop signals")?;
        let mut hangup = HangupSignal::install().context("cannot catch SIGHUP")?;
        let shutdown = Shutdown::new();
        let reload = ReloadRequest::new();
        let running = crate::daemon::start(&cfg, &base, shutdown.clone(), reload.clone()).await?;
        crate::daemon::announce(&running);
        let data_dir = cfg.agent.data_dir.clone();
        if let Err(e) = crate::update::restart::record_daemon(&data_dir, running.ops_url()) {
            tracing::warn!(error = %e, "update: the daemon record was not written");
        }
        let restart_request = crate::update::restart::wait_for_request(data_dir.clone());
        tokio::pin!(restart_request);
        let restart = loop {
            tokio::select! {
                _ = signals.recv() => break false,
                _ = &mut restart_request => break true,
                // `systemctl reload` (ExecReload=kill -HUP): the processor re-reads and says so.
                _ = hangup.recv() => reload.request(),
            }
        };
        tracing::info!("stopping: draining work in progress / 停止処理中");
        shutdown.trigger();
        running.wait().await;
        tracing::info!("stopped");
        if restart {
            tracing::info!("restarting on the updated binary / 更新後のバイナリで再起動します");
            crate::update::restart::reexec(&data_dir)?;
        }
        Ok(true)
    })
}

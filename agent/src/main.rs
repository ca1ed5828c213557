//! tsunagi (つなぎ): the hospital edge agent that feeds Japan's 電子カルテ情報共有サービス (CLINS).
//!
//! It takes clinical data in from watched folders (FHIR JSON, HL7 v2), SS-MIX2 storages and HL7 v2
//! over MLLP,
//! commits every raw input to SQLite before acknowledging it, builds JP-CLINS bundles, validates
//! them, and delivers them to the national platform at least once, with an idempotency key so the
//! platform keeps each once. See ARCHITECTURE.md for the data flow and the code map.
//!
//! This file only parses the command line, sets up logging, and maps results to exit codes:
//! 0 success, 1 the command ran and found problems (bad config, demo outcome not as expected),
//! 2 it could not run.

// Output goes through `console::outln!`, which returns a closed pipe's error instead of panicking
// (tests print what they skip).
#![cfg_attr(not(test), warn(clippy::print_stdout))]

mod allocator;
mod cli;
mod clock;
mod config;
mod console;
mod daemon;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod demo_fleet;
mod digest;
mod doorbell;
mod excel_csv;
mod fleet;
mod formats;
mod hand_back;
mod logging;
mod mapping;
mod masters;
mod ops;
mod outbound;
mod owner_only;
mod pipeline;
mod quality;
mod redact;
mod reload_request;
mod sender;
mod service;
mod shutdown;
mod source;
mod store;
mod telemetry;
mod update;
mod uplink;

// The pure stages live in their own crate (no database, network or runtime); the agent's modules
// keep calling them `crate::build` and `crate::validate`.
use tsunagi_clins::{build, map, validate};

use std::process::ExitCode;

use clap::Parser;

/// No transparent huge pages for this process: mimalloc asks for them on its arenas (the
/// kernel's `madvise` THP mode), and each touched 2 MiB region then stays resident whole: the
/// idle agent held 22 MiB of huge pages for about 5 MiB of heap (issue 9, part 3). The flag
/// applies to every later page fault; what the runtime allocated before `main` is a page or two.
#[cfg(target_os = "linux")]
fn small_pages_only() {
    // prctl is variadic: pass the kernel's `unsigned long`s, whose unused ones must be zero.
    let (on, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused) };
    if rc != 0 {
        // Old kernels lack the flag; the agent works the same, only with a larger RSS.
        eprintln!("note: transparent huge pages stay enabled (prctl failed)");
    }
}

#[cfg(not(target_os = "linux"))]
fn small_pages_only() {}

fn main() -> ExitCode {
    small_pages_only();
    let args = cli::Args::parse();
    // `run` reads its [log] table here, before anything logs; a broken config file is reported
    // by `run` itself a moment later.
    let log_cfg = match &args.command {
        // The Windows service has no console: its log files default to %ProgramData%\tsunagi\logs.
        cli::Command::Run {
            config,
            service: true,
            ..
        } if cfg!(windows) => Some(service::log_config(
            config::load(config).ok().map(|(c, _)| c.log),
        )),
        cli::Command::Run { config, .. } => config::load(config).ok().map(|(c, _)| c.log),
        _ => None,
    };
    if let Err(e) = logging::init(args.verbose, args.log_format, log_cfg.as_ref()) {
        eprintln!("warning: {e}; logging to stderr / ログはstderrに出力します");
    }
    match cli::dispatch(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // A closed pipe (`tsunagi inspect … | head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! `tsunagi report --month YYYY-MM --format html|csv|json [--lang ja|en] [--encoding utf8|cp932]
//! [-o FILE]`: the monthly quality report, computed from the database (read-only; safe while the
//! daemon runs). Without `-o` it is written to standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::quality::{self, csv::Encoding, Lang, Month};
use crate::store;

/// Output format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One printable page with charts.
    Html,
    /// Tables for spreadsheets.
    Csv,
    /// For programs.
    Json,
}

/// Report language.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangArg {
    /// 日本語.
    Ja,
    /// English.
    En,
}

/// CSV encoding.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingArg {
    /// UTF-8 with BOM.
    Utf8,
    /// Windows-31J (Shift_JIS).
    Cp932,
}

/// The options of `report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The month, YYYY-MM (JST).
    #[arg(long, value_parser = parse_month)]
    pub month: Month,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Language of the HTML (and CSV labels).
    #[arg(long, value_enum, default_value_t = LangArg::Ja)]
    pub lang: LangArg,
    /// CSV encoding.
    #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
    pub encoding: EncodingArg,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse::<Month>().map_err(|e| e.to_string())
}

/// Writes the report; `Ok(true)` when written.
pub fn run(data_dir: &Path, args: &ReportArgs) -> anyhow::Result<bool> {
    if args.encoding == EncodingArg::Cp932 && args.format != Format::Csv {
        anyhow::bail!(
            "--encoding cp932 applies to --format csv only / --encoding cp932 は CSV 専用です"
        );
    }
    let conn = store::open_existing(data_dir)?;
    let lang = match args.lang {
        LangArg::Ja => Lang::Ja,
        LangArg::En => Lang::En,
    };
    let bytes = match args.format {
        Format::Html => quality::report::render_html(&conn, args.month, lang)?.into_bytes(),
        Format::Json => quality::report::render_json(&conn, args.month)?.into_bytes(),
        Format::Csv => {
            let encoding = match args.encoding {
                EncodingArg::Utf8 => Encoding::Utf8,
                EncodingArg::Cp932 => Encoding::Cp932,
            };
            quality::report::render_csv(&conn, args.month, lang, encoding)?
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {} / 書き込めません", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(true)
}

//! The agent's configuration: a TOML file, read in two layers.
//!
//! The raw layer ([`Config`]) is what the user wrote, deserialized with every table denying
//! unknown keys (a typo is an error, never silently ignored), with pure checks only. The resolved
//! layer is built by the daemon (`daemon::Resolved`): folders opened, certificates loaded, the
//! uplink constructed. `tsunagi check-config` runs both and lists every problem with its line and
//! a hint, in Japanese and English. Relative paths are relative to the config file's directory.
//!
//! This module sits above the stages: it holds their config types (`[source]` is read kind by
//! kind through the registry of `source::kinds`), and the stages take their own section or a
//! small struct the daemon builds (`daemon::settings`), never a [`Config`]; only the daemon, the
//! CLI, the demo and the Windows service use this module.
//!
//! ```toml
//! [agent]
//! data_dir = "/var/lib/tsunagi"
//! institution_number = "1318814790"   # 10-digit 保険医療機関番号
//!
//! [[source.folder]]
//! name = "fhir-drop"
//! format = "fhir-json"
//! path = "/srv/ehr-export/fhir"
//! mode = "move"
//!
//! [uplink]
//! route = "web-api"
//! [uplink.web_api]
//! url = "https://clins.example.jp/clins/v1/bundles"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pipeline::declared::FormatConfig;
use crate::source::kinds::{self, Sources};
use crate::uplink::UplinkConfig;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[agent]`: identity, storage and housekeeping.
    pub agent: AgentConfig,
    /// `[source]`: where inputs come from, each `[[source.KIND]]` read by its registered kind
    /// (`source::kinds`).
    #[serde(default)]
    pub source: Sources,
    /// `[uplink]`: how bundles reach the platform.
    pub uplink: UplinkConfig,
    /// `[terminology]`: what to do with items whose local codes map to no national code.
    #[serde(default)]
    pub terminology: TerminologyConfig,
    /// `[validation]`: how strictly bundles are checked before sending.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// `[ops]`: the local operations surface (health, metrics, status page).
    #[serde(default)]
    pub ops: crate::ops::OpsConfig,
    /// `[log]`: log format, directory, rotation and retention.
    #[serde(default)]
    pub log: crate::logging::LogConfig,
    /// `[store]`: how long patient data is kept in the database.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[update]`: where signed updates come from (`tsunagi update`).
    #[serde(default)]
    pub update: crate::update::UpdateConfig,
    /// `[fleet]`: report the agent's state to an OpAMP server (`crate::fleet`).
    #[serde(default)]
    pub fleet: Option<crate::fleet::FleetConfig>,
    /// `[telemetry]`: push the metrics to an OpenTelemetry Collector over OTLP/HTTP.
    #[serde(default)]
    pub telemetry: Option<crate::telemetry::TelemetryConfig>,
    /// `[[format]]`: declarative table adapters (CSV, TSV, fixed width) by name.
    #[serde(default)]
    pub format: Vec<FormatConfig>,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `[store.retention]`: days to keep bundle bodies, attempts and remembered Patients (raw
    /// inputs: `[agent] retention_days`).
    #[serde(default)]
    pub retention: crate::store::retention::RetentionConfig,
    /// Start even though the data directory's store was removed or replaced. Only from the
    /// command line (`tsunagi run --accept-new-store`), never from the file: a setting left on
    /// would hide the next loss.
    #[serde(skip)]
    pub accept_new_store: bool,
}

/// What happens to an item whose local code maps to no national master code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnmappedAction {
    /// Send it with the IG's uncoded marker (`99999999`, `99999999999999999`, `D9x000000000`,
    /// `NOCODED`).
    #[default]
    SendUncoded,
    /// Hold it (visible in `queue list`) until the mapping is fixed and it is replayed.
    Hold,
}

/// `[terminology]`: the per-category policy for unmapped local codes.
///
/// ```toml
/// [terminology.unmapped]
/// disease = "send-uncoded"   # or "hold"
/// lab = "send-uncoded"
/// allergen = "send-uncoded"
/// drug = "send-uncoded"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminologyConfig {
    /// Per category.
    #[serde(default)]
    pub unmapped: UnmappedPolicyConfig,
}

/// `[terminology.unmapped]`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmappedPolicyConfig {
    /// 傷病名.
    #[serde(default)]
    pub disease: UnmappedAction,
    /// 検査.
    #[serde(default)]
    pub lab: UnmappedAction,
    /// アレルギー.
    #[serde(default)]
    pub allergen: UnmappedAction,
    /// 処方 (inside documents).
    #[serde(default)]
    pub drug: UnmappedAction,
}

/// `[validation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// An official JP-CLINS package directory (jp-eCSCLINS.r4, unpacked). When set, its
    /// StructureDefinitions' rules replace the built-in profile rule tables (1.10.0); the
    /// hand-written rules always run. Unset: the built-in tables.
    #[serde(default)]
    pub fhir_package: Option<PathBuf>,
    /// Hold bundles that raise warnings too, not only errors.
    #[serde(default)]
    pub strict: bool,
}

/// `[agent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Where the database lives (created 0700).
    pub data_dir: PathBuf,
    /// The hospital's 10-digit 保険医療機関番号.
    pub institution_number: String,
    /// Free space to keep on the data directory's disk; below it, intake pauses.
    #[serde(default = "default_reserve")]
    pub disk_reserve_mb: u64,
    /// Days to keep delivered raw inputs before their bytes are pruned (the other kinds of
    /// patient data: `[store.retention]`).
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Default 診療科 for Condition/Observation when the input has none: `[code, text]`.
    #[serde(default)]
    pub department: Option<[String; 2]>,
}

fn default_reserve() -> u64 {
    512
}
fn default_retention() -> u32 {
    30
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and how to fix it (English).
    pub en: String,
    /// The same in Japanese.
    pub ja: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}\n        {}", self.en, self.ja),
            None => write!(f, "{}\n        {}", self.en, self.ja),
        }
    }
}

/// The config file's usual name (in `/etc/tsunagi/`, and in a `tsunagi demo` sandbox).
pub const FILE_NAME: &str = "tsunagi.toml";

/// Reads and parses a config file; relative paths are resolved against its directory.
pub fn load(path: &Path) -> Result<(Config, String), Vec<Problem>> {
    let text = read_text(path)?;
    let mut cfg = parse(&text)?;
    resolve_paths(&mut cfg, &base_dir(path));
    Ok((cfg, text))
}

/// Every problem of a config file (`tsunagi check-config`), with the config when it could be read
/// at all (lines with syntax problems left out; relative paths resolved), so that the checks of
/// the resolved layer still run on a file with other problems.
pub fn read_all(path: &Path) -> (Option<Config>, Vec<Problem>) {
    let text = match read_text(path) {
        Ok(t) => t,
        Err(p) => return (None, p),
    };
    let (mut cfg, problems) = parse_all(&text);
    if let Some(cfg) = &mut cfg {
        resolve_paths(cfg, &base_dir(path));
    }
    (cfg, problems)
}

fn read_text(path: &Path) -> Result<String, Vec<Problem>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![Problem {
            line: None,
            en: format!("cannot read {}: {e}", path.display()),
            ja: format!("設定ファイル {} を読めません", path.display()),
        }]
    })
}

/// The directory a config file's relative paths are relative to, made absolute once (so that
/// `--config tsunagi.toml` and paths joined later never depend on how the file was named). When
/// the working directory cannot be read, the path stays relative and a later open names it.
pub fn base_dir(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Parses config text (syntax, types, unknown keys) and runs the pure checks.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    match parse_all(text) {
        (Some(cfg), problems) if problems.is_empty() => Ok(cfg),
        (_, problems) => Err(problems),
    }
}

/// Parses config text and lists every problem: syntax, types and unknown keys, then the pure
/// checks of what could be read. Never returns `(None, [])`.
///
/// serde stops at the first error; to list every one, the line of each error is blanked out (in
/// a copy, so line numbers stay) and the text parsed again, up to `MAX_PROBLEMS` times. The pure
/// checks run on the config read without those lines.
pub fn parse_all(text: &str) -> (Option<Config>, Vec<Problem>) {
    const MAX_PROBLEMS: usize = 50;
    let mut work = text.to_string();
    let mut problems = Vec::new();
    loop {
        match toml::from_str::<Config>(&work) {
            Ok(mut cfg) => {
                if let Some(f) = &mut cfg.fleet {
                    f.config_text = text.to_string();
                }
                problems.extend(check(&cfg, text));
                return (Some(cfg), problems);
            }
            Err(e) => {
                let line = e.span().map(|s| line_of(&work, s.start));
                problems.push(Problem {
                    line,
                    en: format!(
                        "{} (keys are listed in config-examples/tsunagi.toml)",
                        e.message().trim()
                    ),
                    ja: "設定の書式・キー名・型に誤りがあります (config-examples/tsunagi.toml を参照)"
                        .into(),
                });
                let blanked = line.and_then(|l| blank_line(&work, l));
                match blanked {
                    // A missing key or a broken table cannot be blanked away: stop here.
                    Some(next) if problems.len() < MAX_PROBLEMS && is_key_line(&work, line) => {
                        work = next
                    }
                    _ => return (None, problems),
                }
            }
        }
    }
}

/// Whether the 1-based line holds `key = value` (the kind of line that can be blanked out).
fn is_key_line(text: &str, line: Option<usize>) -> bool {
    line.and_then(|l| text.lines().nth(l - 1))
        .map(|l| {
            let t = l.trim_start();
            !t.starts_with('[') && t.contains('=')
        })
        .unwrap_or(false)
}

/// `text` with the 1-based line replaced by an empty comment.
fn blank_line(text: &str, line: usize) -> Option<String> {
    let mut out: Vec<&str> = text.split('\n').collect();
    let slot = out.get_mut(line.checked_sub(1)?)?;
    *slot = "#";
    Some(out.join("\n"))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `key =` first appears after `from` (for problems found after parsing).
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(key) && t[key.len()..].trim_start().starts_with('=')
        })
        .map(|i| i + 1)
}

/// The line of the `index`-th (0-based) `header` line, e.g. the second `[[source.mllp]]`.
fn line_of_table(text: &str, header: &str, index: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(index)
        .map(|(i, _)| i + 1)
}

/// Whether a 保険医療機関番号 has the form the platform accepts (R9012).
pub fn institution_number_ok(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 10
        && b.iter().all(u8::is_ascii_digit)
        && (b'0'..=b'4').contains(&b[0])
        && (b'1'..=b'3').contains(&b[2])
}

fn check(cfg: &Config, text: &str) -> Vec<Problem> {
    let mut p = Vec::new();
    if !institution_number_ok(&cfg.agent.institution_number) {
        p.push(Problem {
            line: line_of_key(text, "institution_number"),
            en: "institution_number must be the 10-digit 保険医療機関番号 (pattern [0-4][0-9][1-3][0-9]{7})".into(),
            ja: "institution_number は10桁の保険医療機関番号で指定してください".into(),
        });
    }
    p.extend(format_problems(cfg, text));
    p.extend(source_problems(cfg, text));
    for e in cfg.ops.problems() {
        p.push(Problem {
            line: line_of_key(text, "listen"),
            en: e.to_string(),
            ja: e.ja(),
        });
    }
    let reporting = [
        cfg.fleet
            .as_ref()
            .and_then(|f| f.url().err().map(|e| (e, "[fleet]"))),
        cfg.telemetry
            .as_ref()
            .and_then(|t| t.problems().map(|e| (e, "[telemetry]"))),
    ];
    for (e, table) in reporting.into_iter().flatten() {
        p.push(Problem {
            line: line_of_table(text, table, 0),
            en: e.to_string(),
            ja: e.ja(),
        });
    }
    for e in cfg.update.problems() {
        let (en, ja) = e.en_ja();
        p.push(Problem {
            line: line_of_table(text, "[update]", 0),
            en,
            ja,
        });
    }
    p.extend(no_source(&cfg.source));
    p
}

/// `[[source.KIND]]`: kinds that exist, names unique, formats known, each kind's own checks.
fn source_problems(cfg: &Config, text: &str) -> Vec<Problem> {
    let mut p = unknown_kinds(&cfg.source, text);
    let mut names = std::collections::HashSet::new();
    let adapters = crate::pipeline::Adapters::builtin();
    let declared = |f: &str| cfg.format.iter().any(|d| d.name == f);
    for (_, source) in cfg.source.described() {
        if !names.insert(source.name) {
            let name = source.name;
            p.push(Problem {
                line: line_of_key(text, "name"),
                en: format!("two sources are named {name:?}; names must be unique"),
                ja: format!("ソース名 {name:?} が重複しています"),
            });
        }
        let Some(format) = source.format else {
            continue;
        };
        if !adapters.knows(format) && !declared(format) {
            let mut known = adapters.names();
            known.extend(cfg.format.iter().map(|d| d.name.clone()));
            p.push(Problem {
                line: line_of_key(text, "format"),
                en: format!(
                    "unknown format {format:?}; known: {} (a CSV/TSV/fixed-width export needs a [[format]] with its table spec)",
                    known.join(", ")
                ),
                ja: format!("未対応の format {format:?} です"),
            });
        }
    }
    for (kind, index, e) in cfg.source.problems() {
        p.push(Problem {
            line: line_of_table(text, &format!("[[source.{kind}]]"), index),
            en: e.en,
            ja: e.ja,
        });
    }
    p
}

/// The problem of a config without any source.
fn no_source(sources: &Sources) -> Option<Problem> {
    if !sources.is_empty() || !sources.unknown().is_empty() {
        return None;
    }
    let tables: Vec<String> = kinds::names::<kinds::Builtin>()
        .iter()
        .map(|k| format!("[[source.{k}]]"))
        .collect();
    Some(Problem {
        line: None,
        en: format!(
            "no source is configured ({}): the agent would take in nothing",
            tables.join(", ")
        ),
        ja: "ソースが設定されていないため、何も受け付けません".into(),
    })
}

/// Each `[[source.X]]` whose X is no source kind, naming the kinds there are.
fn unknown_kinds(sources: &Sources, text: &str) -> Vec<Problem> {
    let known = kinds::names::<kinds::Builtin>().join(", ");
    let each = sources.unknown().iter();
    each.map(|kind| Problem {
        line: line_of_table(text, &format!("[[source.{kind}]]"), 0)
            .or_else(|| line_of_table(text, &format!("[source.{kind}]"), 0)),
        en: format!("unknown source kind [[source.{kind}]]; the kinds are: {known}"),
        ja: format!("[[source.{kind}]] というソースの種類はありません。使える種類: {known}"),
    })
    .collect()
}

/// `[[format]]` names: well-formed, unique, not a built-in format's.
fn format_problems(cfg: &Config, text: &str) -> Vec<Problem> {
    let builtin = crate::pipeline::Adapters::builtin().names();
    let mut seen = std::collections::HashSet::new();
    let mut p = Vec::new();
    for (i, f) in cfg.format.iter().enumerate() {
        let line = line_of_table(text, "[[format]]", i);
        let well_formed = !f.name.is_empty()
            && f.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let (en, ja) = if !well_formed {
            (
                format!(
                    "format name {:?}: use lower case letters, digits and '-'",
                    f.name
                ),
                format!(
                    "format 名 {:?} には英小文字・数字・「-」だけを使ってください",
                    f.name
                ),
            )
        } else if builtin.contains(&f.name) {
            (
                format!(
                    "format name {:?} is a built-in format's; choose another",
                    f.name
                ),
                format!(
                    "format 名 {:?} は組み込みの形式名です。別の名前にしてください",
                    f.name
                ),
            )
        } else if !seen.insert(&f.name) {
            (
                format!("two [[format]] are named {:?}", f.name),
                format!("[[format]] の名前 {:?} が重複しています", f.name),
            )
        } else if f.table.is_some() == f.converter.is_some() {
            (
                format!("[[format]] {:?}: give exactly one of `table` (a spec file) or `converter` (a plugin's argv)", f.name),
                format!("[[format]] {:?}: `table`(定義ファイル)か `converter`(プラグインの argv)のどちらか一方を指定してください", f.name),
            )
        } else if f
            .converter
            .as_ref()
            .is_some_and(|c| c.first().is_none_or(|p| p.trim().is_empty()))
        {
            (
                format!(
                    "[[format]] {:?}: `converter` needs the program to run",
                    f.name
                ),
                format!(
                    "[[format]] {:?}: `converter` に実行するプログラムを指定してください",
                    f.name
                ),
            )
        } else if f.table.is_some()
            && (f.working_dir.is_some()
                || f.timeout_secs.is_some()
                || f.memory_mb.is_some()
                || f.cpu_secs.is_some())
        {
            (
                format!("[[format]] {:?}: working_dir, timeout_secs, memory_mb and cpu_secs belong to a converter", f.name),
                format!("[[format]] {:?}: working_dir・timeout_secs・memory_mb・cpu_secs は converter 用の項目です", f.name),
            )
        } else if f.timeout_secs == Some(0) {
            (
                format!("[[format]] {:?}: timeout_secs must be at least 1", f.name),
                format!(
                    "[[format]] {:?}: timeout_secs は1以上にしてください",
                    f.name
                ),
            )
        } else {
            continue;
        };
        p.push(Problem { line, en, ja });
    }
    p
}

fn resolve_paths(cfg: &mut Config, base: &Path) {
    let abs = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    if let Some(t) = &mut cfg.telemetry {
        t.resolve_paths(base);
    }
    for f in &mut cfg.format {
        if let Some(t) = &mut f.table {
            abs(t);
        }
        if f.converter.is_some() {
            f.working_dir = Some(match f.working_dir.take() {
                Some(p) if p.is_relative() => base.join(p),
                Some(p) => p,
                None => base.to_path_buf(),
            });
        }
    }
    abs(&mut cfg.agent.data_dir);
    if let Some(p) = &mut cfg.validation.fhir_package {
        abs(p);
    }
    cfg.ops.resolve_paths(base);
    if let Some(p) = &mut cfg.log.dir {
        abs(p);
    }
    cfg.source.resolve_paths(base);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::folder::Folders;
    use crate::source::mllp::Listeners;

    const GOOD: &str = r#"
[agent]
data_dir = "data"
institution_number = "1318814790"

[[source.folder]]
name = "drop"
format = "fhir-json"
path = "inbox"
mode = "move"

[uplink]
route = "web-api"
[uplink.web_api]
url = "https://127.0.0.1:8443/clins/v1/bundles"
"#;

    #[test]
    fn a_good_config_parses() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.source.of::<Folders>()[0].format, "fhir-json");
        assert_eq!(c.agent.disk_reserve_mb, 512);
    }

    #[test]
    fn a_folder_may_take_a_declared_format_whose_name_is_well_formed_and_unique() {
        let declared = GOOD.replace("format = \"fhir-json\"", "format = \"byomei-csv\"")
            + "\n[[format]]\nname = \"byomei-csv\"\ntable = \"formats/byomei.toml\"\n";
        let c = parse(&declared).unwrap();
        assert_eq!(c.format[0].name, "byomei-csv");
        let undeclared = GOOD.replace("format = \"fhir-json\"", "format = \"byomei-csv\"");
        let e = parse(&undeclared).unwrap_err();
        assert!(e[0].en.contains("[[format]]"), "{e:?}");
        for (name, says) in [
            ("Byomei", "lower case"),
            ("hl7v2", "built-in"),
            ("a:b", "lower case"),
        ] {
            let bad = format!("{GOOD}\n[[format]]\nname = \"{name}\"\ntable = \"x.toml\"\n");
            let e = parse(&bad).unwrap_err();
            assert!(
                e[0].en.contains(says) && e[0].line.is_some(),
                "{name}: {e:?}"
            );
        }
        let twice = format!("{GOOD}\n[[format]]\nname = \"x\"\ntable = \"a.toml\"\n\n[[format]]\nname = \"x\"\ntable = \"b.toml\"\n");
        assert!(parse(&twice).unwrap_err()[0].en.contains("two [[format]]"));
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let bad = GOOD.replace(
            "data_dir = \"data\"",
            "data_dir = \"data\"\ndata_dri = \"x\"",
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e[0].line, Some(4), "{e:?}");
        assert!(e[0].en.contains("data_dri"), "{e:?}");
    }

    #[test]
    fn every_unknown_key_is_listed_with_its_line() {
        let bad = GOOD
            .replace(
                "data_dir = \"data\"",
                "data_dir = \"data\"\ndata_dri = \"x\"",
            )
            .replace("route = \"web-api\"", "route = \"web-api\"\nroutee = 1");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].en.contains("data_dri") && e[0].line == Some(4),
            "{e:?}"
        );
        assert!(e[1].en.contains("routee"), "{e:?}");
    }

    #[test]
    fn unknown_keys_inside_a_folder_source_are_errors() {
        let bad = GOOD.replace("path = \"inbox\"", "path = \"inbox\"\nwatchh = \"poll\"");
        let e = parse(&bad).unwrap_err();
        assert!(e[0].en.contains("watchh"), "{e:?}");
    }

    #[test]
    fn semantic_problems_are_all_listed() {
        let bad = GOOD
            .replace("1318814790", "12345")
            .replace("format = \"fhir-json\"", "format = \"csv-x\"");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].line, Some(4));
    }

    #[test]
    fn a_syntax_problem_does_not_hide_a_pure_one() {
        let bad = GOOD
            .replace(
                "data_dir = \"data\"",
                "data_dir = \"data\"\ndata_dri = \"x\"",
            )
            .replace("1318814790", "12345");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].en.contains("data_dri"), "{e:?}");
        assert!(
            e[1].en.contains("institution_number") && e[1].line == Some(5),
            "{e:?}"
        );
    }

    #[test]
    fn relative_paths_are_made_absolute_against_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, GOOD).unwrap();
        let (cfg, _) = load(&file).unwrap();
        assert_eq!(cfg.agent.data_dir, dir.path().join("data"));
        assert!(base_dir(Path::new(FILE_NAME)).is_absolute());
    }

    #[test]
    fn the_annotated_example_parses() {
        let c = parse(include_str!("../../config-examples/tsunagi.toml")).unwrap();
        assert_eq!(c.source.of::<Folders>().len(), 1);
    }

    #[test]
    fn ops_outside_loopback_without_tls_is_refused_at_load() {
        let bad =
            format!("{GOOD}\n[ops]\nlisten = \"0.0.0.0:9464\"\ntoken = \"0123456789abcdef0\"\n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].en.contains("TLS") && e[0].line.is_some(), "{e:?}");
        let c = parse(GOOD).unwrap();
        assert_eq!(c.ops.listen, "127.0.0.1:9464");
    }

    #[test]
    fn every_mllp_exposure_problem_is_listed_at_its_table() {
        let bad = format!(
            "{GOOD}\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"0.0.0.0:2575\"\nframe_timeout_secs = 0\n\n[[source.mllp]]\nname = \"lab\"\nlisten = \"10.0.0.5:2576\"\ninsecure_plaintext = true\n"
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        let first = bad.lines().position(|l| l == "[[source.mllp]]").unwrap() + 1;
        assert!(
            e[0].en.contains("frame_timeout_secs") && e[0].line == Some(first),
            "{e:?}"
        );
        assert!(
            e[1].en.contains("\"ehr\"") && e[1].en.contains("[source.mllp.tls]"),
            "{e:?}"
        );
        assert!(e[1].ja.contains("ループバック以外"), "{e:?}");
        assert!(
            e[2].en.contains("\"lab\"") && e[2].en.contains("allow"),
            "{e:?}"
        );
        assert!(e[2].line > e[1].line, "{e:?}");
        let fenced = format!(
            "{GOOD}\n[[source.mllp]]\nname = \"lab\"\nlisten = \"10.0.0.5:2576\"\ninsecure_plaintext = true\nallow = [\"10.0.0.0/8\"]\n"
        );
        assert!(parse(&fenced).is_ok());
    }

    #[test]
    fn mllp_tls_paths_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{GOOD}\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"0.0.0.0:2575\"\n[source.mllp.tls]\ncert = \"pki/mllp.pem\"\nkey = \"pki/mllp-key.pem\"\n"
        );
        let path = dir.path().join("tsunagi.toml");
        std::fs::write(&path, text).unwrap();
        let (c, _) = load(&path).unwrap();
        let tls = c.source.of::<Listeners>()[0].tls.as_ref().unwrap();
        assert_eq!(tls.cert, dir.path().join("pki/mllp.pem"));
        assert_eq!(tls.key, dir.path().join("pki/mllp-key.pem"));
    }

    #[test]
    fn an_unknown_source_kind_is_named_with_the_kinds_there_are() {
        let bad = format!("{GOOD}\n[[source.ftp]]\nname = \"x\"\nhost = \"ehr\"\n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        let at = bad.lines().position(|l| l == "[[source.ftp]]").unwrap() + 1;
        assert_eq!(e[0].line, Some(at), "{e:?}");
        assert!(
            e[0].en.contains("[[source.ftp]]")
                && e[0].en.contains("folder, ssmix2, mllp, fhir, exec"),
            "{e:?}"
        );
        assert!(
            e[0].ja.contains("ソースの種類") && e[0].ja.contains("folder, ssmix2"),
            "{e:?}"
        );
        let only = "[agent]\ndata_dir = \"d\"\ninstitution_number = \"1318814790\"\n[source.ftp]\nname = \"x\"\n[uplink]\nroute = \"web-api\"\n[uplink.web_api]\nurl = \"https://127.0.0.1/b\"\n";
        let e = parse(only).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].en.contains("ftp") && e[0].line == Some(4), "{e:?}");
    }

    #[test]
    fn every_source_kind_is_read_with_its_own_errors_and_lines() {
        let bad = format!(
            "{GOOD}\n[[source.mllp]]\nname = \"ehr\"\nlistn = \"127.0.0.1:2575\"\n\n[[source.exec]]\nname = \"v\"\ncommand = []\n"
        );
        let e = parse(&bad).unwrap_err();
        let typo = bad.lines().position(|l| l.starts_with("listn")).unwrap() + 1;
        assert!(
            e[0].en.contains("listn") && e[0].line == Some(typo),
            "{e:?}"
        );
        let ok = format!(
            "{GOOD}\n[[source.mllp]]\nname = \"ehr\"\n\n[[source.exec]]\nname = \"v\"\ncommand = []\n"
        );
        let e = parse(&ok).unwrap_err();
        let exec = ok.lines().position(|l| l == "[[source.exec]]").unwrap() + 1;
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].en.contains("command") && e[0].line == Some(exec),
            "{e:?}"
        );
        let c = parse(&ok.replace("command = []", "command = [\"p\"]")).unwrap();
        assert_eq!(c.source.names(), ["drop", "ehr", "v"]);
    }

    #[test]
    fn institution_numbers() {
        assert!(institution_number_ok("1318814790"));
        assert!(!institution_number_ok("5318814790"));
        assert!(!institution_number_ok("131881479"));
        assert!(!institution_number_ok("1348814790"));
    }
}

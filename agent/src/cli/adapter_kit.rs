//! The conformance kits for what reads a declared `[[format]]` (issue 14): a declarative table
//! adapter (`tsunagi plugin test-table SPEC.toml`) and a converter plugin (`tsunagi plugin
//! test-converter -- ARGV`), each with `[--inputs DIR] [--expect DIR] [--bless]`. What a vendor
//! or hospital runs before naming it in a `[[format]]`.
//!
//! Checks, each a line of the pass/fail table:
//! - `spec` (table): the spec reads and has no mistakes (all listed); `handshake` (converter):
//!   the plugin starts and says hello with role `converter` and formats the agent knows;
//! - per input file, `reads`: records and no fatal problem; a file named `bad-*` must instead be
//!   refused with problems naming where (`malformed reported`);
//! - `same input twice`: the same input gives the same records;
//! - `golden`: the records equal `--expect DIR/<file>.json` (`--bless` writes them, owner-only:
//!   use synthetic inputs, never a real export);
//! - `bundles validate`: the records of all inputs, in name order (a patient file first), build
//!   into JP-CLINS bundles that pass the built-in profile rules. Codes are taken as given (the
//!   masters are not consulted: that is `tsunagi inspect --bundles --config`'s job). Records
//!   whose patient is not among the inputs are built with a synthetic stand-in patient, so a
//!   病名 spec is tested without a patient export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tsunagi_adapters::{Adapter, Parsed, RawInput};

use crate::build::{BuildContext, BuildSettings, BundleBuilder, InputOrigin, PassThrough};
use crate::source::exec::kit::Check;

/// The sample inputs and golden files.
#[derive(Debug, clap::Args)]
pub struct KitInputs {
    /// A folder of sample inputs (synthetic: never a real patient's data).
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// A folder of golden files, `<input file name>.json`, compared with the records read.
    #[arg(long, requires = "inputs")]
    pub expect: Option<PathBuf>,
    /// Write the golden files into `--expect` instead of comparing.
    #[arg(long, requires = "expect")]
    pub bless: bool,
}

fn check(name: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name,
        passed,
        detail: detail.into(),
    }
}

/// Checks a declarative table adapter's spec, then its inputs.
pub fn run_table(spec: &Path, k: &KitInputs) -> Vec<Check> {
    let adapter = match crate::pipeline::declared::load_spec(spec) {
        Ok(a) => a,
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| format!("{e} / {}", e.ja())).collect();
            return vec![check("spec", false, list.join("; "))];
        }
    };
    let s = adapter.spec();
    let mut checks = vec![check(
        "spec",
        true,
        format!(
            "{:?} rows, {:?}, {} fields",
            s.record,
            s.layout,
            s.fields.len()
        ),
    )];
    run_inputs(&adapter, k, &mut checks);
    checks
}

/// Checks a converter plugin's handshake, then its inputs.
pub fn run_converter(cfg: crate::source::exec::ExecConfig, k: &KitInputs) -> Vec<Check> {
    let adapter = crate::pipeline::converter::ConverterAdapter::new(cfg);
    let mut checks = vec![match adapter.handshake() {
        Ok(said) => check("handshake", true, said),
        Err(e) => return vec![check("handshake", false, e)],
    }];
    run_inputs(&adapter, k, &mut checks);
    checks
}

/// The per-file checks and the bundle check, when there are inputs.
fn run_inputs(adapter: &dyn Adapter, opts: &KitInputs, checks: &mut Vec<Check>) {
    let Some(dir) = &opts.inputs else {
        return;
    };
    let files = match inputs(dir) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => return checks.push(check("inputs", false, "no files in --inputs")),
        Err(e) => return checks.push(check("inputs", false, format!("{}: {e}", dir.display()))),
    };
    let mut good = Vec::new();
    for file in &files {
        let Some((name, parsed)) = file_checks(adapter, file, opts, checks) else {
            continue;
        };
        if !name.starts_with("bad-") {
            good.push((name, parsed));
        }
    }
    checks.push(bundles(&good));
}

/// The input files of `dir`, sorted by name (hidden files left out).
fn inputs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| !file_name(p).starts_with('.'))
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parse(adapter: &dyn Adapter, bytes: &[u8], name: &str) -> Parsed {
    adapter.parse(&RawInput {
        bytes,
        origin: name,
    })
}

/// The reads / same-twice / golden checks of one file; its parse when it could be read.
fn file_checks(
    adapter: &dyn Adapter,
    file: &Path,
    opts: &KitInputs,
    checks: &mut Vec<Check>,
) -> Option<(String, Parsed)> {
    let name = file_name(file);
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            checks.push(check("reads", false, format!("{name}: {e}")));
            return None;
        }
    };
    let parsed = parse(adapter, &bytes, &name);
    checks.push(if name.starts_with("bad-") {
        malformed(&name, &parsed)
    } else {
        reads(&name, &parsed)
    });
    let records = rendered(&parsed);
    let again = rendered(&parse(adapter, &bytes, &name));
    checks.push(check(
        "same input twice",
        records == again,
        format!(
            "{name}: {}",
            if records == again {
                "same records"
            } else {
                "records differ"
            }
        ),
    ));
    if let Some(expect) = &opts.expect {
        checks.push(golden(expect, &name, &records, &parsed, opts.bless));
    }
    Some((name, parsed))
}

fn reads(name: &str, parsed: &Parsed) -> Check {
    let fatal: Vec<String> = parsed
        .problems
        .iter()
        .filter(|p| p.severity == tsunagi_adapters::Severity::Fatal)
        .take(3)
        .map(|p| p.to_string())
        .collect();
    let ok = fatal.is_empty() && !parsed.records.is_empty();
    let detail = match (ok, fatal.is_empty()) {
        (true, _) => format!("{name}: {} records", parsed.records.len()),
        (false, true) => format!("{name}: no records"),
        (false, false) => format!("{name}: {}", fatal.join("; ")),
    };
    check("reads", ok, detail)
}

/// A `bad-*` file must be refused, each problem naming where.
fn malformed(name: &str, parsed: &Parsed) -> Check {
    let located = parsed.problems.iter().all(|p| {
        ["line ", "header", "rows"]
            .iter()
            .any(|s| p.field.starts_with(s))
    });
    let ok = parsed.has_fatal() && located;
    let first = parsed
        .problems
        .first()
        .map(|p| p.to_string())
        .unwrap_or_default();
    check(
        "malformed reported",
        ok,
        match ok {
            true => format!("{name}: refused: {first}"),
            false if !parsed.has_fatal() => format!("{name}: a bad-* file was accepted"),
            false => format!("{name}: a problem names no field or line: {first}"),
        },
    )
}

fn rendered(parsed: &Parsed) -> Value {
    let records: Vec<Value> = parsed
        .records
        .iter()
        .map(|r| super::inspect::render(r, true).1)
        .collect();
    let problems: Vec<String> = parsed.problems.iter().map(|p| p.to_string()).collect();
    json!({ "records": records, "problems": problems })
}

fn golden(expect: &Path, name: &str, records: &Value, parsed: &Parsed, bless: bool) -> Check {
    let path = expect.join(format!("{name}.json"));
    let text = match serde_json::to_string_pretty(records) {
        Ok(t) => t + "\n",
        Err(e) => return check("golden", false, format!("{name}: {e}")),
    };
    if bless {
        let written = write_owner_only(&path, text.as_bytes());
        return check(
            "golden",
            written.is_ok(),
            match written {
                Ok(()) => format!("{name}: written ({} records)", parsed.records.len()),
                Err(e) => format!("{}: {e}", path.display()),
            },
        );
    }
    let want: Value = match std::fs::read(&path).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return check(
                "golden",
                false,
                format!("{}: not JSON: {e}", path.display()),
            )
        }
        Err(_) => {
            return check(
                "golden",
                false,
                format!("{name}: no {} (run with --bless)", path.display()),
            )
        }
    };
    let ok = &want == records;
    check(
        "golden",
        ok,
        match ok {
            true => format!("{name}: matches"),
            false => format!(
                "{name}: differs from {} ({})",
                path.display(),
                first_difference(&want, records)
            ),
        },
    )
}

/// Where two golden documents first differ, by path (never the values).
fn first_difference(want: &Value, got: &Value) -> String {
    fn walk(a: &Value, b: &Value, at: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
                walk(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    format!("{at}.{k}"),
                )
            }),
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (a, b))| walk(a, b, format!("{at}[{i}]"))),
            (Value::Array(x), Value::Array(y)) => {
                Some(format!("{at}: {} vs {} entries", x.len(), y.len()))
            }
            _ => (a != b).then_some(at),
        }
    }
    walk(want, got, "$".into()).unwrap_or_default()
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = crate::owner_only::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Builds the good inputs' records into bundles, in order, and validates them.
fn bundles(good: &[(String, Parsed)]) -> Check {
    let settings = match BuildSettings::new(
        crate::pipeline::EXAMPLE_INSTITUTION,
        Some(("01".to_string(), "内科".to_string())),
    ) {
        Ok(s) => s,
        Err(e) => return check("bundles validate", false, e.to_string()),
    };
    let builder = BundleBuilder::new(settings);
    let validator = crate::validate::BundleValidator::new();
    let mut patients: BTreeMap<String, Value> = BTreeMap::new();
    let stand_in = match stand_in_patient(&builder) {
        Some(p) => p,
        None => {
            return check(
                "bundles validate",
                false,
                "the stand-in patient could not be built",
            )
        }
    };
    let mut built = 0usize;
    let mut failures = Vec::new();
    let received_at = chrono::Utc::now().with_timezone(&tsunagi_clins::time::jst());
    for (name, parsed) in good {
        let key = crate::digest::sha256_hex(name.as_bytes());
        let ctx = BuildContext {
            input_key: &key,
            received_at,
        };
        let origin = InputOrigin {
            source: "conformance".into(),
            ..InputOrigin::default()
        };
        let dir = WithStandIn {
            known: &patients,
            stand_in: &stand_in,
        };
        let result = builder.build_mapped(&ctx, &origin, &parsed.records, &dir, Some(&PassThrough));
        patients.extend(result.patients);
        for held in &result.held {
            failures.push(format!(
                "{name}: held: {} / {}",
                held.reason_en, held.reason_ja
            ));
        }
        for b in &result.bundles {
            built += 1;
            if let Some(errors) =
                crate::pipeline::check_bundle(&validator, false, b.clone()).verdict
            {
                failures.push(format!("{name}: {errors}"));
            }
        }
    }
    let detail = match failures.first() {
        Some(f) => format!(
            "{} of {built} bundles or items failed; first: {f}",
            failures.len()
        ),
        None => format!(
            "{built} bundles valid ({} patients from the inputs, a stand-in for the others)",
            patients.len()
        ),
    };
    check(
        "bundles validate",
        failures.is_empty() && built + patients.len() > 0,
        detail,
    )
}

/// Patients of earlier inputs, else a synthetic stand-in with every element JP-CLINS requires.
struct WithStandIn<'a> {
    known: &'a BTreeMap<String, Value>,
    stand_in: &'a Value,
}

impl crate::build::PatientDirectory for WithStandIn<'_> {
    fn patient(&self, reference: &str) -> Option<Value> {
        Some(self.known.get(reference).unwrap_or(self.stand_in).clone())
    }
}

/// The stand-in: 見本 太郎, built by the builder from a canonical patient record.
fn stand_in_patient(builder: &BundleBuilder) -> Option<Value> {
    use tsunagi_adapters::{Gender, InsuranceId, Patient, PersonName, Record, Sensitive};
    let s = |v: &str| Sensitive::new(v.to_string());
    let name = |f: &str, g: &str| {
        Some(PersonName {
            family: s(f),
            given: s(g),
        })
    };
    let record = Record::Patient(Patient {
        local_id: s("KIT-STAND-IN"),
        insurance: Some(InsuranceId {
            insurer_number: s("06139999"),
            symbol: s("見本"),
            number: s("1"),
            branch: s("01"),
        }),
        name_kanji: name("見本", "太郎"),
        name_kana: name("ミホン", "タロウ"),
        gender: Gender::Male,
        birth_date: Some(s("1960-01-01")),
        address: Some(s("東京都千代田区見本町1")),
    });
    let ctx = BuildContext {
        input_key: "stand-in",
        received_at: chrono::Utc::now().with_timezone(&tsunagi_clins::time::jst()),
    };
    let none: BTreeMap<String, Value> = BTreeMap::new();
    let result = builder.build_mapped(
        &ctx,
        &InputOrigin::default(),
        &[record],
        &none,
        Some(&PassThrough),
    );
    result.patients.into_iter().next().map(|(_, p)| p)
}

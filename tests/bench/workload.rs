//! What `tsunagi-bench` feeds the agent (`--kind`): FHIR files in a watched folder, a CP932
//! patient master and 病名 CSV exports read by the shipped declarative specs, or an exec source
//! plugin writing canonical records. Each yields one 傷病名 bundle per patient, so the three are
//! compared on the same delivery.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tsunagi_sim::fixtures::condition_input;

/// The input kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// FHIR JSON files (a Patient and a Condition each) in a watched folder.
    Files,
    /// A fixed-width CP932 patient master, then 病名 CSV files (`--rows` rows each), through
    /// `config-examples/formats/`'s specs.
    Csv,
    /// A Python exec source plugin writing canonical-json records (a Patient and a Condition
    /// each), checkpoint every 100.
    Exec,
}

/// One prepared run.
pub struct Workload {
    /// The `[[format]]`/source tables of the config.
    pub sources: String,
    /// Files to rename in before the clock starts (the patient master), (staging, target).
    pub before: Vec<(PathBuf, PathBuf)>,
    /// Files to rename in when the clock starts.
    pub feed: Vec<(PathBuf, PathBuf)>,
    /// Inputs stored once everything is in (not counting `before`).
    pub inputs: usize,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes the inputs of `kind` for `n` patients under `dir`.
pub fn prepare(kind: Kind, dir: &Path, n: usize, rows: usize) -> anyhow::Result<Workload> {
    for d in ["staging", "inbox", "kanja", "byomei"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    match kind {
        Kind::Files => files(dir, n),
        Kind::Csv => csv(dir, n, rows.max(1)),
        Kind::Exec => exec(dir, n),
    }
}

fn folder(name: &str, format: &str, path: &str) -> String {
    format!("[[source.folder]]\nname = \"{name}\"\nformat = \"{format}\"\npath = \"{path}\"\nmode = \"move\"\nstable_ms = 500\n")
}

fn files(dir: &Path, n: usize) -> anyhow::Result<Workload> {
    let mut feed = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("in-{i:06}.json");
        let staged = dir.join("staging").join(&name);
        std::fs::write(&staged, condition_input(i))?;
        feed.push((staged, dir.join("inbox").join(name)));
    }
    Ok(Workload {
        sources: folder("bench", "fhir-json", "inbox"),
        before: Vec::new(),
        feed,
        inputs: n,
    })
}

fn cp932(text: &str, width: usize) -> anyhow::Result<Vec<u8>> {
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(text);
    anyhow::ensure!(
        !bad && bytes.len() <= width,
        "{text:?} does not fit {width} CP932 bytes"
    );
    let mut out = bytes.into_owned();
    out.resize(width, b' ');
    Ok(out)
}

fn csv(dir: &Path, n: usize, rows: usize) -> anyhow::Result<Workload> {
    let formats = repo().join("config-examples/formats");
    let mut master = Vec::with_capacity(n * 232);
    for i in 0..n {
        let id = format!("9{i:09}");
        for (text, width) in [
            (id.as_str(), 10),
            ("見本", 20),
            ("太郎", 20),
            ("ミホン", 20),
            ("タロウ", 20),
            ("1", 1),
            ("19600315", 8),
            ("06139999", 8),
            ("合成", 20),
            (&format!("{i}"), 20),
            ("01", 2),
            ("東京都千代田区見本町１－２－３", 80),
        ] {
            master.extend(cp932(text, width)?);
        }
        master.extend(b"\r\n");
    }
    let staged = dir.join("staging").join("kanja.dat");
    std::fs::write(&staged, master)?;
    let before = vec![(staged, dir.join("kanja").join("kanja.dat"))];
    let mut feed = Vec::new();
    for (f, chunk) in (0..n).collect::<Vec<_>>().chunks(rows).enumerate() {
        let mut text = "病名一覧 出力日 2025/04/01\r\n患者ID,病名ID,病名,病名管理番号,ICD10,開始日,転帰日,主病名,疑い\r\n".to_string();
        for i in chunk {
            text.push_str(&format!(
                "9{i:09},D{i},胃炎,90000001,K29.7,2025/03/01,,1,0\r\n"
            ));
        }
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let name = format!("byomei-{f:05}.csv");
        let staged = dir.join("staging").join(&name);
        std::fs::write(&staged, bytes)?;
        feed.push((staged, dir.join("byomei").join(name)));
    }
    let inputs = feed.len();
    let sources = format!(
        "[[format]]\nname = \"kanja-fixed\"\ntable = \"{}\"\n[[format]]\nname = \"byomei-csv\"\ntable = \"{}\"\n{}{}",
        formats.join("kanja-fixed.toml").display(),
        formats.join("byomei-csv.toml").display(),
        folder("kanja", "kanja-fixed", "kanja"),
        folder("byomei", "byomei-csv", "byomei"),
    );
    Ok(Workload {
        sources,
        before,
        feed,
        inputs,
    })
}

const PLUGIN: &str = r#"import json, sys
n = int(sys.argv[1])
def send(x):
    sys.stdout.write(json.dumps(x, ensure_ascii=False) + "\n")
send({"type": "hello", "protocol": 1, "name": "bench", "version": "1", "role": "source", "produces": ["canonical-json"]})
start = json.loads(sys.stdin.readline())
done = (start.get("checkpoint") or {}).get("done", 0)
for i in range(done, n):
    pid = "9%09d" % i
    send({"type": "record", "id": "r%d" % i, "format": "canonical-json", "data": [
        {"type": "Patient", "local_id": pid, "gender": "male", "birth_date": "1960-03-15",
         "insurance": {"insurer_number": "06139999", "symbol": "合成", "number": str(i), "branch": "01"},
         "name_kanji": {"family": "見本", "given": "太郎"}, "name_kana": {"family": "ミホン", "given": "タロウ"},
         "address": "東京都千代田区見本町１－２－３"},
        {"type": "Condition", "patient_id": pid, "record_id": "D%d" % i, "original_text": "胃炎",
         "disease_key": "90000001", "icd10": "K297", "onset": "2025-03-01", "principal": True}]})
    if (i + 1) % 100 == 0:
        send({"type": "checkpoint", "state": {"done": i + 1}})
        sys.stdout.flush()
sys.stdout.flush()
for line in sys.stdin:
    pass
"#;

fn exec(dir: &Path, n: usize) -> anyhow::Result<Workload> {
    let script = dir.join("bench_source.py");
    std::fs::write(&script, PLUGIN).context("writing the plugin")?;
    let sources = format!(
        "[[source.exec]]\nname = \"plugin\"\ncommand = [\"python3\", \"{}\", \"{n}\"]\n",
        script.display()
    );
    Ok(Workload {
        sources,
        before: Vec::new(),
        feed: Vec::new(),
        inputs: n,
    })
}

//! A kind registered in a test registry is read and started through the same code as the
//! built-in ones: `Sources::deserialize_with` and `Sources::start`.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::*;
use crate::source::{IncomingFile, Intake};
use crate::store::disk::DiskReserve;
use crate::store::{self, Writer};

/// A kind that stores one greeting when it starts.
struct Greeter;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GreeterConfig {
    name: String,
    #[serde(default)]
    words: String,
}

impl SourceKind for Greeter {
    const NAME: &'static str = "greeter";
    type Config = GreeterConfig;

    fn describe(c: &GreeterConfig) -> Described<'_> {
        Described {
            name: &c.name,
            format: Some("fhir-json"),
            ..Described::default()
        }
    }

    fn problems(c: &GreeterConfig) -> Vec<SourceProblem> {
        let quiet = c.words.is_empty();
        let said = || SourceProblem {
            en: format!("greeter {}: words must not be empty", c.name),
            ja: format!("greeter {}: words を指定してください", c.name),
        };
        quiet.then(said).into_iter().collect()
    }

    fn resolve_paths(_: &mut GreeterConfig, _: &Path) {}

    fn start<'a>(
        c: &'a GreeterConfig,
        w: &'a Wiring<'a>,
        started: &'a mut Started,
    ) -> Starting<'a> {
        Box::pin(async move {
            let intake = w.intake("fhir-json".into())?;
            let (name, words) = (c.name.clone(), c.words.clone().into_bytes());
            started.listening.push(Listening {
                kind: Self::NAME,
                source: name.clone(),
                at: "here".into(),
            });
            started.thread("greeter", move || {
                let file = IncomingFile {
                    source: &name,
                    rel_path: "hello",
                    abs_path: Path::new("hello"),
                    size: words.len() as u64,
                    mtime_ns: 0,
                    bytes: &words,
                };
                intake.commit(&file).expect("the greeting is stored");
            })
        })
    }
}

struct Registered;

impl Registry for Registered {
    fn visit(each: &mut impl Visit) {
        each.kind::<Greeter>();
    }
}

#[derive(Deserialize)]
struct Doc {
    #[serde(deserialize_with = "Sources::deserialize_with::<Registered, _>")]
    source: Sources,
}

fn read(text: &str) -> Result<Sources, toml::de::Error> {
    toml::from_str::<Doc>(text).map(|d| d.source)
}

#[test]
fn a_kind_registered_by_name_is_read_described_checked_and_started() {
    let sources = read(
        "[[source.greeter]]\nname = \"hi\"\nwords = \"{}\"\n\n[[source.greeter]]\nname = \"quiet\"\n",
    )
    .unwrap();
    assert_eq!(names::<Registered>(), ["greeter"]);
    assert_eq!(sources.names(), ["hi", "quiet"]);
    assert_eq!(sources.of::<Greeter>()[0].words, "{}");
    let described: Vec<_> = sources.described().map(|(k, d)| (k, d.format)).collect();
    assert_eq!(described, [("greeter", Some("fhir-json")); 2]);
    let problems = sources.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].0, problems[0].1), ("greeter", 1));
    assert!(problems[0].2.ja.contains("words"));

    let dir = tempfile::tempdir().unwrap();
    let (writer, _writer_thread) = Writer::spawn(store::open(dir.path()).unwrap()).unwrap();
    let shutdown = crate::shutdown::Shutdown::new();
    let counters = crate::ops::Counters::new();
    let wiring = Wiring {
        data_dir: dir.path(),
        writer: &writer,
        reserve: &DiskReserve::new(dir.path().to_path_buf(), 0, 1_000),
        wake_processor: &Arc::new(crate::doorbell::Doorbell::new()),
        counters: counters.as_ref(),
        shutdown: &shutdown,
    };
    let mut started = Started::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(sources.start(&wiring, &mut started)).unwrap();
    assert_eq!(started.listening.len(), 2);
    assert_eq!(started.listening[1].source, "quiet");
    for t in started.threads {
        t.join().unwrap();
    }
    let reader = store::open(dir.path()).unwrap();
    let stored = store::query::inputs_by_origin(&reader, Some("hi"), "hello").unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].format, "fhir-json");
}

#[test]
fn a_kind_the_registry_lacks_is_kept_by_name_and_its_tables_are_not_read() {
    let sources = read("[[source.folder]]\nname = \"drop\"\nnot_a_key = 1\n").unwrap();
    assert_eq!(sources.unknown(), ["folder"]);
    assert!(sources.is_empty());
}

#[test]
fn a_kind_reports_unknown_keys_itself_with_their_line() {
    let e = read("[[source.greeter]]\nname = \"hi\"\n\nwordz = \"x\"\n").unwrap_err();
    assert!(e.message().contains("wordz"), "{e}");
    let line = e
        .span()
        .map(|s| "[[source.greeter]]\nname = \"hi\"\n\n".len() <= s.start);
    assert_eq!(line, Some(true), "{e}");
}

#[test]
fn the_builtin_kinds_in_start_order() {
    assert_eq!(
        names::<Builtin>(),
        ["folder", "ssmix2", "mllp", "fhir", "exec"]
    );
}

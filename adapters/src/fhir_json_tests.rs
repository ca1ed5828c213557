use super::*;
use proptest::prelude::*;
use serde_json::json;

fn parse(bytes: &[u8]) -> Parsed {
    FhirJsonAdapter::new().parse(&RawInput {
        bytes,
        origin: "inbox/test.json",
    })
}

fn only_fatal(p: &Parsed) -> &Problem {
    assert!(p.records.is_empty(), "{:?}", p.records);
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert_eq!(p.problems[0].severity, Severity::Fatal);
    &p.problems[0]
}

#[test]
fn a_single_resource_becomes_one_record() {
    let p =
        parse(br#"{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}"#);
    assert!(p.problems.is_empty());
    let [Record::Fhir(r)] = p.records.as_slice() else {
        panic!("{:?}", p.records)
    };
    assert_eq!(r.resource_type, "Condition");
    assert_eq!(r.id.as_deref(), Some("c1"));
    assert_eq!(r.patient_ref.as_deref(), Some("Patient/p1"));
    assert_eq!(r.full_url, None);
}

#[test]
fn a_utf8_bom_is_accepted() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(br#"{"resourceType":"Patient","id":"p"}"#);
    let p = parse(&bytes);
    assert!(p.problems.is_empty());
    assert_eq!(p.records.len(), 1);
}

#[test]
fn bundle_entries_are_flattened_with_their_full_urls() {
    let bundle = json!({"resourceType":"Bundle","type":"collection","entry":[
        {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p"}},
        {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:1"}}},
        {"resource":{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation"}}]}}
    ]});
    let p = parse(bundle.to_string().as_bytes());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let types: Vec<_> = p
        .records
        .iter()
        .map(|r| match r {
            Record::Fhir(f) => (f.resource_type.as_str(), f.full_url.as_deref()),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        types,
        [
            ("Patient", Some("urn:uuid:1")),
            ("Condition", Some("urn:uuid:2")),
            ("Observation", None)
        ]
    );
}

#[test]
fn a_ready_made_clins_bundle_travels_whole() {
    let bundle = json!({"resourceType":"Bundle","type":"collection",
        "meta":{"profile":["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS|1.10.0"]},
        "entry":[{"resource":{"resourceType":"Patient"}},{"fullUrl":"urn:uuid:x"}]});
    let p = parse(bundle.to_string().as_bytes());
    let [Record::Fhir(r)] = p.records.as_slice() else {
        panic!("{:?}", p.records)
    };
    assert_eq!(r.resource_type, "Bundle");
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].field, "$.entry[1]");
}

#[test]
fn not_utf8_names_the_offset_only() {
    let p = parse(b"{\"resourceType\":\"Patient\",\"name\":\"\xff\xfe\"}");
    let problem = only_fatal(&p);
    assert_eq!(problem.field, "$");
    assert!(problem.reason_en.contains("offset 34"), "{problem}");
    let with_bom = parse(b"\xEF\xBB\xBF{\xff}");
    assert!(only_fatal(&with_bom).reason_en.contains("offset 4"));
}

#[test]
fn not_json_names_line_and_column_but_not_the_text() {
    let p = parse("{\"resourceType\": \"Patient\",\n \"name\": テスト太郎 }".as_bytes());
    let problem = only_fatal(&p);
    assert_eq!(problem.field, "$");
    assert!(problem.reason_en.contains("line 2"), "{problem}");
    assert!(!problem.to_string().contains("テスト"), "{problem}");
    let empty = parse(b"");
    assert!(only_fatal(&empty).reason_en.contains("end of input"));
}

#[test]
fn missing_resource_type_is_named() {
    let p = parse(br#"{"id":"x"}"#);
    assert_eq!(only_fatal(&p).field, "$.resourceType");
    let p = parse(br#"[1,2]"#);
    assert_eq!(only_fatal(&p).field, "$");
}

#[test]
fn an_entry_without_resource_is_named_and_the_rest_still_read() {
    let bundle = json!({"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Patient"}},
        {"resource":{"resourceType":"Condition"}},
        {"fullUrl":"urn:uuid:3"},
        {"resource":{"id":"no-type"}}
    ]});
    let p = parse(bundle.to_string().as_bytes());
    assert_eq!(p.records.len(), 2);
    let fields: Vec<_> = p.problems.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["$.entry[2]", "$.entry[3].resource.resourceType"]);
    assert!(p.has_fatal());
    let p = parse(br#"{"resourceType":"Bundle","entry":{}}"#);
    assert_eq!(only_fatal(&p).field, "$.entry");
}

#[test]
fn an_empty_bundle_is_only_a_warning() {
    let p = parse(br#"{"resourceType":"Bundle","type":"collection"}"#);
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].severity, Severity::Warning);
    assert!(!p.has_fatal());
}

#[test]
fn every_ig_example_parses_without_problems() {
    // The reference material lives beside the checkout; TSUNAGI_SHARED_DIR overrides that.
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("examples/jp-clins");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        println!(
            "SKIPPED: IG examples not found at {} (../shared absent)",
            dir.display()
        );
        return;
    };
    let mut count = 0;
    for file in listing {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let p = parse(&bytes);
        assert!(!p.has_fatal(), "{}: {:?}", path.display(), p.problems);
        assert!(!p.records.is_empty(), "{}", path.display());
        count += 1;
    }
    assert!(count > 0);
}

proptest! {
    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let p = parse(&bytes);
        prop_assert!(!p.records.is_empty() || !p.problems.is_empty());
    }

    #[test]
    fn parse_never_panics_on_json(value in arb_json()) {
        let text = value.to_string();
        let _ = parse(text.as_bytes());
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("Bundle".to_string()),
            Just("Patient".to_string()),
            ".{0,8}".prop_map(|s: String| s)
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("resourceType".to_string()),
                        Just("entry".to_string()),
                        Just("resource".to_string()),
                        Just("fullUrl".to_string()),
                        Just("meta".to_string()),
                        "[a-z]{1,4}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

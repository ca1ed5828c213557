//! Fuzz target: arbitrary bytes through the declarative table adapter, as CSV with a header,
//! TSV by column number and fixed width, in each declared encoding. Must never panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tsunagi_adapters::table::{
    ColumnKey, FieldSpec, Layout, RecordKind, TableAdapter, TableSpec, TextEncoding,
};
use tsunagi_adapters::{Adapter, RawInput};

fn column(key: ColumnKey) -> FieldSpec {
    FieldSpec {
        column: Some(key),
        ..FieldSpec::default()
    }
}

fn specs() -> Vec<TableAdapter> {
    let mut out = Vec::new();
    for encoding in [TextEncoding::Utf8, TextEncoding::Cp932, TextEncoding::EucJp] {
        let mut byomei = BTreeMap::new();
        byomei.insert("patient_id".into(), column(ColumnKey::Name("ID".into())));
        byomei.insert("original_text".into(), column(ColumnKey::Name("病名".into())));
        byomei.insert(
            "onset".into(),
            FieldSpec {
                date: Some("%Y/%m/%d".into()),
                ..column(ColumnKey::Name("開始日".into()))
            },
        );
        byomei.insert("principal".into(), column(ColumnKey::Index(4)));
        let mut lab = BTreeMap::new();
        lab.insert("patient_id".into(), column(ColumnKey::Index(1)));
        lab.insert(
            "local_code".into(),
            FieldSpec {
                system: Some("LOCAL".into()),
                ..column(ColumnKey::Index(2))
            },
        );
        lab.insert("value".into(), column(ColumnKey::Index(3)));
        let mut kanja = BTreeMap::new();
        for (name, start, width) in [("patient_id", 1, 6), ("family_name", 7, 5), ("address", 12, 40)] {
            kanja.insert(
                name.to_string(),
                FieldSpec {
                    start: Some(start),
                    width: Some(width),
                    ..FieldSpec::default()
                },
            );
        }
        for (record, layout, header, fields) in [
            (RecordKind::Condition, Layout::Csv, true, byomei),
            (RecordKind::LabResult, Layout::Tsv, false, lab),
            (RecordKind::Patient, Layout::Fixed, false, kanja),
        ] {
            let spec = TableSpec {
                record,
                layout,
                encoding,
                header,
                skip_rows: 1,
                fields,
            };
            out.extend(TableAdapter::new(spec).ok());
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let input = RawInput { bytes: data, origin: "fuzz" };
    for adapter in specs() {
        let _ = adapter.parse(&input);
    }
});

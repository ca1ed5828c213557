//! Input formats by name: the adapters the processor decodes and parses inputs with, and the
//! names sources, plugins and the config may give an input (`inbox.format`).
//!
//! A leaf below the sources and the processor: an exec plugin's hello is checked against the same
//! names the processor resolves.

use std::sync::Arc;

use tsunagi_adapters::{Adapter, Charset, FhirJsonAdapter, Hl7v2Adapter};

/// A declared format (`[[format]]`: a table spec or a converter plugin), by name.
pub type Declared = (String, Arc<dyn Adapter>);

/// Builds the adapter for a format, given the charset the input's format names (if any); `None`
/// when the format does not take that charset.
pub type MakeAdapter = fn(Option<Charset>) -> Option<Box<dyn Adapter>>;

/// One input format: its name (stored with every input, so it is stable) and its constructor.
#[derive(Clone, Copy)]
pub struct Format {
    /// The name in configs and in the `inbox.format` column, e.g. `fhir-json`.
    pub name: &'static str,
    /// Builds its adapter.
    pub make: MakeAdapter,
}

/// The formats built into this agent. A new format (a vendor's CSV, an exec plugin) is one
/// module with its adapter plus one line here.
pub const BUILTIN: &[Format] = &[
    Format {
        name: "fhir-json",
        make: |charset| {
            charset
                .is_none()
                .then(|| Box::new(FhirJsonAdapter) as Box<dyn Adapter>)
        },
    },
    Format {
        name: "hl7v2",
        make: hl7v2,
    },
    // Canonical records as JSON: what exec plugins and converters can write most simply.
    Format {
        name: "canonical-json",
        make: |charset| {
            charset
                .is_none()
                .then(|| Box::new(tsunagi_adapters::CanonicalJsonAdapter) as Box<dyn Adapter>)
        },
    },
    // HL7 v2 read from an SS-MIX2 storage: its origin (the path in the storage) says the data
    // type; files of data types the agent does not use are processed into nothing, on purpose.
    Format {
        name: "ssmix2",
        make: hl7v2,
    },
];

fn hl7v2(charset: Option<Charset>) -> Option<Box<dyn Adapter>> {
    Some(match charset {
        None => Box::new(Hl7v2Adapter::new()),
        Some(c) => Box::new(Hl7v2Adapter::with_charset(c)),
    })
}

/// The adapters the agent knows, by format name: a registry of [`Format`]s.
///
/// An input's format is `name` or `name:charset` (a per-source override of MSH-18, e.g.
/// `hl7v2:cp932`).
#[derive(Clone)]
pub struct Adapters {
    formats: Vec<Format>,
    /// `[[format]]`: declared table adapters and converters, by name (they take no charset: a
    /// spec declares its encoding, a converter reads bytes).
    declared: Vec<Declared>,
}

impl Adapters {
    /// Every adapter built into this agent.
    pub fn builtin() -> Self {
        Adapters {
            formats: BUILTIN.to_vec(),
            declared: Vec::new(),
        }
    }

    /// The built-in adapters and a config's declared formats.
    pub fn with_declared(declared: Vec<Declared>) -> Self {
        Adapters {
            declared,
            ..Adapters::builtin()
        }
    }

    /// Adds (or replaces) a format.
    #[cfg(test)]
    pub fn register(&mut self, format: Format) {
        self.formats.retain(|f| f.name != format.name);
        self.formats.push(format);
    }

    /// Whether a format (with its optional charset) is known.
    pub fn knows(&self, format: &str) -> bool {
        self.resolve(format).is_some()
    }

    /// The known format names, sorted.
    pub fn names(&self) -> Vec<String> {
        let builtin = self.formats.iter().map(|f| f.name.to_string());
        let mut names: Vec<String> = builtin
            .chain(self.declared.iter().map(|(n, _)| n.clone()))
            .collect();
        names.sort_unstable();
        names
    }

    /// The adapter for a format, or None if the name or its charset is unknown.
    pub fn resolve(&self, format: &str) -> Option<Box<dyn Adapter>> {
        if let Some((_, declared)) = self.declared.iter().find(|(n, _)| n == format) {
            return Some(Box::new(Arc::clone(declared)));
        }
        let (name, charset) = match format.split_once(':') {
            Some((n, c)) => (n, Some(Charset::from_label(c)?)),
            None => (format, None),
        };
        let f = self.formats.iter().find(|f| f.name == name)?;
        (f.make)(charset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_resolve_by_name_and_charset() {
        let a = Adapters::builtin();
        assert_eq!(
            a.names(),
            vec!["canonical-json", "fhir-json", "hl7v2", "ssmix2"]
        );
        assert!(a.knows("hl7v2:cp932") && a.knows("ssmix2") && a.knows("fhir-json"));
        assert!(!a.knows("fhir-json:cp932"), "JSON takes no charset");
        assert!(!a.knows("hl7v2:klingon") && !a.knows("csv"));
    }

    #[test]
    fn a_registered_format_is_known_by_its_name() {
        let mut a = Adapters::builtin();
        a.register(Format {
            name: "vendor-csv",
            make: |_| Some(Box::new(FhirJsonAdapter) as Box<dyn Adapter>),
        });
        assert!(a.knows("vendor-csv"));
        assert!(a.names().contains(&"vendor-csv".to_string()));
    }
}

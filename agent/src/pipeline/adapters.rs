//! The adapters the pipeline knows by format name, and what it reads off an HL7 v2 header.

use super::*;

/// The adapters the agent knows, by format name.
///
/// An input's format is `name` or `name:charset` (a per-source override of MSH-18, e.g.
/// `hl7v2:cp932`). `ssmix2` is HL7 v2 read from an SS-MIX2 storage: its origin (the path in the
/// storage) says the data type, and files of data types the agent does not use are processed into
/// nothing, on purpose, rather than parsed.
pub struct Adapters;

/// Format names the pipeline understands.
pub(super) const FORMATS: &[&str] = &["fhir-json", "hl7v2", "ssmix2"];

impl Adapters {
    /// Every adapter built into this agent.
    pub fn builtin() -> Self {
        Adapters
    }

    /// Whether a format (with its optional charset) is known.
    pub fn knows(&self, format: &str) -> bool {
        self.resolve(format).is_some()
    }

    /// The known format names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        FORMATS.to_vec()
    }

    /// The adapter for a format, or None if the name or its charset is unknown.
    pub(super) fn resolve(&self, format: &str) -> Option<Box<dyn Adapter>> {
        let (name, charset) = match format.split_once(':') {
            Some((n, c)) => (n, Some(Charset::from_label(c)?)),
            None => (format, None),
        };
        match (name, charset) {
            ("fhir-json", None) => Some(Box::new(FhirJsonAdapter)),
            ("hl7v2" | "ssmix2", None) => Some(Box::new(Hl7v2Adapter::new())),
            ("hl7v2" | "ssmix2", Some(c)) => Some(Box::new(Hl7v2Adapter::with_charset(c))),
            _ => None,
        }
    }
}

/// MSH-3 (sending application) of an HL7 v2 message: the mapping table's source system.
pub fn sending_application(raw: &[u8]) -> Option<String> {
    let line = raw.split(|b| *b == b'\r' || *b == b'\n').next()?;
    if !line.starts_with(b"MSH") || line.len() < 4 {
        return None;
    }
    let sep = line[3];
    let field = line.split(|b| *b == sep).nth(2)?;
    let comp = field.split(|b| *b == b'^').next()?;
    let text = std::str::from_utf8(comp).ok()?.trim();
    (!text.is_empty() && text.is_ascii()).then(|| text.to_string())
}

//! What the processor reads off an HL7 v2 header before mapping.

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

//! Generates the profile rule tables the agent carries from an official JP-CLINS FHIR package.
//!
//! ```text
//! cargo run -p tsunagi-clins --example gen-profile-rules -- ../shared/fhir/jp-eCSCLINS.r4-1.10.0 [OUT]
//! ```
//!
//! Reads the package directory (StructureDefinitions with snapshots, CodeSystems, ValueSets),
//! keeps only the facts the checker uses (`tsunagi_clins::validate::package::RuleSet`) and
//! writes them, one element or ValueSet per line, to OUT (default
//! `clins/src/validate/package/builtin/jp-clins-VERSION.json`). For a new IG version, point
//! `BUILTIN_TABLES` in `clins/src/validate/package/mod.rs` at the new file (ARCHITECTURE.md,
//! "Profile rule tables").

use std::path::{Path, PathBuf};

use tsunagi_clins::validate::package::RuleSet;

/// Any error of this command (the library's own errors say the file and the reason).
type Fail = Box<dyn std::error::Error>;

fn main() -> Result<(), Fail> {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        return Err("usage: gen-profile-rules PACKAGE_DIR [OUT]".into());
    };
    let rules = RuleSet::from_dir(&dir)?;
    let version = rules
        .package
        .split_once('#')
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
        .ok_or("package.json names no version / package.jsonにversionがありません")?;
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "src/validate/package/builtin/jp-clins-{version}.json"
        ))
    });
    let text = rules.to_json_lines()?;
    std::fs::write(&out, &text)?;
    let elements: usize = rules.profiles.iter().map(|p| p.elements.len()).sum();
    let codes: usize = rules
        .value_sets
        .iter()
        .flat_map(|v| v.codes.values())
        .map(Vec::len)
        .sum();
    println!(
        "{}: {} profiles, {elements} elements, {} value sets ({codes} codes), {} bytes -> {}",
        rules.package,
        rules.profiles.len(),
        rules.value_sets.len(),
        text.len(),
        out.display()
    );
    Ok(())
}

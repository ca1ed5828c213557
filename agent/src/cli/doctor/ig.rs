//! `ig`: the JP-CLINS IG version validation runs with, and where it comes from, named as
//! `/readyz` and `tsunagi_validation_rules_info` name it: `[validation] fhir_package`, else the
//! package loaded with `masters load fhir-package`, else the built-in rules.

use std::path::Path;

use super::{fix, Check, Setting};
use crate::validate::Package;

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let rules = match &cfg.validation.fhir_package {
        Some(dir) => Package::load(dir)
            .map(|p| format!("{} ([validation] fhir_package)", p.id))
            .map_err(|e| format!("[validation] fhir_package {}: {e}", dir.display())),
        None => loaded(&cfg.agent.data_dir),
    };
    vec![match rules {
        Ok(rules) => Check::ok("ig", rules),
        Err(reason) => Check::fail(
            "ig",
            reason,
            fix(
                "公式パッケージ (jp-eCSCLINS.r4) を展開したフォルダを指定し直すか、`tsunagi masters load fhir-package` で読み込み直してください",
                "point at the unpacked official package (jp-eCSCLINS.r4) again, or load it again with `tsunagi masters load fhir-package`",
            ),
        ),
    }]
}

/// The package loaded into the data directory's masters, else the built-in rules (nothing is
/// created when there is no masters database).
fn loaded(data_dir: &Path) -> Result<String, String> {
    let builtin = || format!("{} (built-in)", Package::builtin().id);
    if !crate::store::terminology::db_path(data_dir).exists() {
        return Ok(builtin());
    }
    let conn = crate::store::terminology::open(data_dir).map_err(|e| e.to_string())?;
    match crate::masters::fhir_package::active(&conn) {
        Ok(Some((_, p))) => Ok(format!("{} (masters load fhir-package)", p.id)),
        Ok(None) => Ok(builtin()),
        Err(e) => Err(e.to_string()),
    }
}

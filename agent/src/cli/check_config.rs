//! `tsunagi check-config FILE`: every problem of a config file, each with its line when known,
//! in English and Japanese; exit 1 when there is any.
//!
//! Problems are collected, never returned at the first: the raw layer's (syntax, unknown keys,
//! pure checks: `config::read_all`), then, whenever the file could be read at all, those of the
//! resolved layer (certificate files, each source as its kind checks it, `[[format]]` specs).
//! Each resolved check is one function from the config to its `Vec<Problem>`; a new kind of
//! check is one more entry in [`resolved`] (a new source kind needs none: it brings its own).

use crate::console::outln;
use std::path::Path;

use crate::config::{Config, Problem};

/// Prints every problem of `file` (or that it is fine); `true` when there is none.
pub fn run(file: &Path) -> std::io::Result<bool> {
    let problems = problems(file);
    if problems.is_empty() {
        outln!("{}: OK", file.display())?;
        return Ok(true);
    }
    outln!(
        "{}: {} problem(s) / {} 件の問題",
        file.display(),
        problems.len(),
        problems.len()
    )?;
    for p in problems {
        outln!("  {p}")?;
    }
    Ok(false)
}

/// Every problem found in `file`, raw layer first.
pub fn problems(file: &Path) -> Vec<Problem> {
    let (cfg, mut problems) = crate::config::read_all(file);
    if let Some(cfg) = cfg {
        problems.extend(resolved(&cfg, &crate::config::base_dir(file)));
    }
    problems
}

/// The checks of the resolved layer, each independent of the others.
fn resolved(cfg: &Config, base: &Path) -> Vec<Problem> {
    let checks: [fn(&Config, &Path) -> Vec<Problem>; 3] = [uplink, sources, formats];
    checks.iter().flat_map(|check| check(cfg, base)).collect()
}

fn problem(en: String, ja: String) -> Problem {
    Problem { line: None, en, ja }
}

/// Every mistake of every `[[format]]` table spec (file missing, not TOML, wrong fields).
fn formats(cfg: &Config, _base: &Path) -> Vec<Problem> {
    match crate::pipeline::declared::load(&cfg.format) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| problem(format!("[[format]] {e}"), format!("[[format]] {}", e.ja())))
            .collect(),
    }
}

/// Each configured certificate or key file that is missing; when all are there, whether the
/// uplink can be built from them (PEM contents, URL).
fn uplink(cfg: &Config, base: &Path) -> Vec<Problem> {
    let missing: Vec<Problem> = cfg
        .uplink
        .web_api
        .iter()
        .flat_map(|w| {
            [
                ("ca_cert", &w.ca_cert),
                ("client_cert", &w.client_cert),
                ("client_key", &w.client_key),
            ]
        })
        .filter_map(|(field, path)| {
            let path = crate::uplink::resolve(base, path.as_deref()?);
            (!path.exists()).then(|| {
                problem(
                    format!("uplink.web_api.{field}: {} does not exist", path.display()),
                    format!(
                        "uplink.web_api.{field} のファイル {} がありません",
                        path.display()
                    ),
                )
            })
        })
        .collect();
    if !missing.is_empty() {
        return missing;
    }
    match crate::uplink::Uplink::from_config(&cfg.uplink, base) {
        Ok(_) => Vec::new(),
        Err(e) => vec![problem(
            format!("uplink: {e}"),
            "アップリンク設定(証明書・URL)を確認してください".into(),
        )],
    }
}

/// Each source whose folder, storage, certificates or token file cannot be opened, as its
/// kind checks them.
fn sources(cfg: &Config, _base: &Path) -> Vec<Problem> {
    let each = cfg.source.resolved_problems().into_iter();
    each.map(|p| problem(p.en, p.ja)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[agent]
data_dir = "data"
institution_number = "1318814790"

[[source.folder]]
name = "drop"
path = "inbox"
mode = "move"

[uplink]
route = "web-api"
[uplink.web_api]
url = "https://127.0.0.1:8443/clins/v1/bundles"
ca_cert = "pki/ca.pem"
"#;

    fn problems_of(text: &str) -> Vec<Problem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        let file = dir.path().join("tsunagi.toml");
        std::fs::write(&file, text).unwrap();
        problems(&file)
    }

    #[test]
    fn a_pure_problem_does_not_hide_a_missing_certificate() {
        let p = problems_of(&CONFIG.replace("1318814790", "12345"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].en.contains("institution_number"), "{p:?}");
        assert!(p[1].en.contains("ca_cert"), "{p:?}");
    }

    #[test]
    fn an_unknown_key_does_not_hide_a_missing_folder_or_the_other_missing_files() {
        let text = CONFIG
            .replace("data_dir = \"data\"", "data_dir = \"data\"\ndata_dri = 1")
            .replace("path = \"inbox\"", "path = \"no-such-folder\"")
            .replace(
                "ca_cert = \"pki/ca.pem\"",
                "ca_cert = \"pki/ca.pem\"\nclient_cert = \"pki/c.pem\"\nclient_key = \"pki/k.pem\"",
            );
        let p = problems_of(&text);
        let all: Vec<&str> = p.iter().map(|p| p.en.as_str()).collect();
        assert_eq!(p.len(), 5, "{all:?}");
        assert!(
            p[0].en.contains("data_dri") && p[0].line == Some(4),
            "{all:?}"
        );
        for field in ["ca_cert", "client_cert", "client_key"] {
            assert!(all.iter().any(|e| e.contains(field)), "{field}: {all:?}");
        }
        assert!(all.iter().any(|e| e.starts_with("source drop")), "{all:?}");
    }

    #[test]
    fn every_mistake_of_a_format_spec_is_listed_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        std::fs::write(
            dir.path().join("byomei.toml"),
            "record = \"condition\"\nlayout = \"csv\"\n[fields]\npatient_id = { column = \"ID\" }\n",
        )
        .unwrap();
        let file = dir.path().join("tsunagi.toml");
        let text = CONFIG
            .replace("https://", "http://")
            .replace("ca_cert = \"pki/ca.pem\"\n", "")
            + "\n[[format]]\nname = \"byomei\"\ntable = \"byomei.toml\"\n\n[[format]]\nname = \"gone\"\ntable = \"gone.toml\"\n";
        std::fs::write(&file, text).unwrap();
        let p = problems(&file);
        let all: Vec<&str> = p.iter().map(|p| p.en.as_str()).collect();
        // original_text missing; a named column without a header; the second file missing.
        assert_eq!(p.len(), 3, "{all:?}");
        assert!(all.iter().all(|e| e.starts_with("[[format]]")), "{all:?}");
        assert!(
            all[0].contains("byomei.toml") && all[2].contains("gone.toml"),
            "{all:?}"
        );
        assert!(p.iter().all(|p| !p.ja.is_empty()));
    }

    #[test]
    fn a_good_file_has_no_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        let file = dir.path().join("tsunagi.toml");
        let text = CONFIG
            .replace("https://", "http://")
            .replace("ca_cert = \"pki/ca.pem\"\n", "");
        std::fs::write(&file, text).unwrap();
        assert!(problems(&file).is_empty(), "{:?}", problems(&file));
    }

    #[test]
    fn a_fhir_endpoint_outside_loopback_and_its_missing_files_are_all_listed() {
        let text = format!(
            "{CONFIG}\n[[source.fhir]]\nname = \"ehr-fhir\"\nlisten = \"0.0.0.0:8088\"\n\n[[source.fhir]]\nname = \"local\"\ntoken_file = \"fhir.token\"\n"
        );
        let p = problems_of(&text);
        let all: Vec<&str> = p.iter().map(|p| p.en.as_str()).collect();
        assert!(
            all.iter()
                .any(|e| e.contains("\"ehr-fhir\"") && e.contains("[source.fhir.tls]")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|e| e.contains("\"ehr-fhir\"") && e.contains("token_file")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|e| e.starts_with("source local") && e.contains("fhir.token")),
            "{all:?}"
        );
    }
}

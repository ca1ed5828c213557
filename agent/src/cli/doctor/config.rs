//! `config`: the file reads, parses and passes every check of `tsunagi check-config`.

use std::path::Path;

use super::{fix, Check};
use crate::config::Config;

/// The config check, and the config when it could be read at all (the other groups run on it
/// even when it has problems, so that one mistake does not hide the rest).
pub fn check(file: &Path) -> (Check, Option<Config>) {
    let (config, _) = crate::config::read_all(file);
    let problems = crate::cli::check_config::problems(file);
    let check = if problems.is_empty() {
        Check::ok("config", format!("{} is valid", file.display()))
    } else {
        let lines: Vec<String> = problems.iter().map(|p| one_line(&p.en, p.line)).collect();
        Check::fail(
            "config",
            format!("{} problem(s): {}", problems.len(), lines.join("; ")),
            fix(
                format!(
                    "tsunagi check-config {} で行番号つきの一覧を確認し、設定を直してください",
                    file.display()
                ),
                format!(
                    "run `tsunagi check-config {}` for every problem with its line, and fix the file",
                    file.display()
                ),
            ),
        )
    };
    (check, config)
}

fn one_line(en: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("line {l}: {en}"),
        None => en.to_string(),
    }
}

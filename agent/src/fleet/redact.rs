//! The effective config the agent reports: its config file with every secret replaced by
//! `"(removed)"` — tokens, passwords, passphrases, secrets, API keys, and user:password in URLs.
//! Paths to key and certificate files stay (they are not secrets and help an operator).

use toml::{Table, Value};

const REMOVED: &str = "(removed)";

/// Words that make a key a secret.
const SECRET_WORDS: [&str; 7] = [
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "api_key",
];

/// The config text without secrets, as TOML. Text that does not parse is not sent at all.
pub fn effective_config(text: &str) -> Option<String> {
    let mut table: Table = toml::from_str(text).ok()?;
    scrub_table(&mut table);
    toml::to_string(&table).ok()
}

fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let path_like = ["_file", "_path", "_dir", "_cert"]
        .iter()
        .any(|s| k.ends_with(s));
    !path_like && SECRET_WORDS.iter().any(|w| k.contains(w))
}

fn scrub_table(t: &mut Table) {
    for (k, v) in t.iter_mut() {
        if secret_key(k) {
            *v = Value::String(REMOVED.into());
        } else {
            scrub_value(v);
        }
    }
}

fn scrub_value(v: &mut Value) {
    match v {
        Value::Table(t) => scrub_table(t),
        Value::Array(a) => a.iter_mut().for_each(scrub_value),
        Value::String(s) => {
            if let Some(clean) = without_userinfo(s) {
                *s = clean;
            }
        }
        _ => {}
    }
}

/// `scheme://user:pass@host…` → `scheme://(removed)@host…`.
fn without_userinfo(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{scheme}://{REMOVED}{}", &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_removed_paths_kept() {
        let text = r#"
[agent]
institution_number = "1318814790"
[ops]
token = "s3cret-token-value-1234"
tls_key = "/etc/tsunagi/ops.key"
[uplink.web_api]
url = "https://user:pw@platform.example.jp/bundles"
client_key = "/etc/tsunagi/client.key"
[[source.fhir]]
name = "ehr"
token = "another-secret-value-5678"
password_file = "/etc/tsunagi/pw"
"#;
        let out = effective_config(text).unwrap();
        assert!(!out.contains("s3cret") && !out.contains("another-secret"));
        assert!(!out.contains("user:pw"));
        assert!(out.contains("https://(removed)@platform.example.jp/bundles"));
        assert!(out.contains("/etc/tsunagi/ops.key") && out.contains("/etc/tsunagi/client.key"));
        assert!(out.contains("/etc/tsunagi/pw") && out.contains("1318814790"));
        assert_eq!(effective_config("not = [toml"), None);
    }
}

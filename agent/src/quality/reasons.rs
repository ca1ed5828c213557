//! Rule keys out of rejection and validation texts, without the text around them.
//!
//! Rejection details (`attempt.detail`, `outbox.last_error`) carry the platform's
//! OperationOutcome as one line, and validation findings start with their rule key; either may
//! quote values the report must not show. So only tokens shaped like rule keys are kept:
//! `R` + 3–5 digits (the IG's invariants), `TSG-…` (tsunagi's own), `SIM-…` (the simulator), and
//! the codes the uplink puts in `[…]` right after an issue's severity and code (from
//! `issue.details.coding`; brackets elsewhere in free text are ignored). A text with none of them is
//! summarised as `HTTP <status>` when it starts so, else `unclassified`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use tsunagi_clins::build::HoldReason;

fn key_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(R[0-9]{3,5}|(?:TSG|SIM)-[A-Z0-9][A-Z0-9-]{0,39})\b")
            .unwrap_or_else(|_| unreachable!("the rule key pattern is a valid regex"))
    })
}

fn bracket_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:^|\| |: )[a-z]+(?: [a-z-]+)? \[([A-Za-z0-9._,-]{1,200})\]")
            .unwrap_or_else(|_| unreachable!("the bracket pattern is a valid regex"))
    })
}

fn http_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^HTTP ([0-9]{3})\b")
            .unwrap_or_else(|_| unreachable!("the status pattern is a valid regex"))
    })
}

/// The rule keys in a rejection or validation text (at least one entry).
pub fn rule_keys(text: &str) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = key_pattern()
        .captures_iter(text)
        .map(|c| c[1].to_owned())
        .collect();
    for c in bracket_pattern().captures_iter(text) {
        for code in c[1].split(',') {
            let ok = (1..=40).contains(&code.len())
                && code.starts_with(|ch: char| ch.is_ascii_alphanumeric());
            if ok {
                keys.insert(code.to_owned());
            }
        }
    }
    if keys.is_empty() {
        keys.insert(match http_pattern().captures(text) {
            Some(c) => format!("HTTP {}", &c[1]),
            None if text.starts_with("local corruption") => "local-corruption".to_owned(),
            None => "unclassified".to_owned(),
        });
    }
    keys
}

/// A stored hold reason's key ([`HoldReason`]), or `other` when this version does not know it
/// (the stored text is never shown).
pub fn hold_key(reason: &str) -> &'static str {
    HoldReason::from_key(reason).map_or("other", HoldReason::key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        rule_keys(text).into_iter().collect()
    }

    #[test]
    fn keys_are_found_in_every_shape_the_agent_stores() {
        // Simulator answer through the uplink (details.text "<KEY>: message").
        assert_eq!(
            keys("HTTP 422: HTTP 422 Unprocessable Entity: error invalid @Bundle.identifier.value: R2152: bad format | error invalid @Bundle.entry[0]: SIM-SIZE: too big"),
            ["R2152", "SIM-SIZE"]
        );
        // details.coding codes in brackets.
        assert_eq!(
            keys("HTTP 400: error invalid [R2152,E0042] @Bundle: 山田太郎 (PID-98765)"),
            ["E0042", "R2152"]
        );
        // Validation findings joined with "; ".
        assert_eq!(
            keys("R1013 Bundle.entry[0].resource.identifier: bad / 不正; TSG-FULLURL Bundle.entry[1].fullUrl: dup / 重複"),
            ["R1013", "TSG-FULLURL"]
        );
        assert_eq!(keys("HTTP 404: HTTP 404 Not Found"), ["HTTP 404"]);
        assert_eq!(
            keys("local corruption: the stored bundle ..."),
            ["local-corruption"]
        );
        assert_eq!(keys("患者 山田太郎 1970-01-23"), ["unclassified"]);
    }

    #[test]
    fn values_around_keys_are_never_kept() {
        let all = keys("error [R2152] value 'PID-98765' for 山田太郎 born 1970-01-23 R99999999");
        assert_eq!(all, ["R2152"]);
        assert_eq!(
            keys("HTTP 422: error invalid: text (see [PID-98765])"),
            ["HTTP 422"]
        );
    }

    #[test]
    fn hold_reasons_are_a_closed_set() {
        assert_eq!(hold_key("patient-unknown"), "patient-unknown");
        assert_eq!(
            hold_key("patient-no-insurance-id"),
            "patient-no-insurance-id"
        );
        assert_eq!(hold_key("department-unknown"), "department-unknown");
        assert_eq!(hold_key("山田"), "other");
    }
}

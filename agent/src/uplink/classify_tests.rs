//! Unit and property tests of the pure classification: status codes, OperationOutcome text,
//! `Retry-After`, and finding TLS errors in a chain.

use super::*;
use proptest::prelude::*;

fn answer(status: u16, body: &[u8]) -> Answer<'_> {
    Answer {
        status,
        duplicate: None,
        receipt: None,
        retry_after: None,
        body,
    }
}

const OO: &str = r#"{"resourceType":"OperationOutcome","issue":[
    {"severity":"error","code":"invalid",
     "details":{"coding":[{"code":"JP-CLINS-PAT-01"}],"text":"Patient.identifier is required"},
     "diagnostics":"missing 被保険者番号","expression":["Bundle.entry[0].resource"]},
    {"severity":"warning","code":"value","diagnostics":"line1\nline2"}]}"#;

#[test]
fn success_statuses_are_accepted_with_receipt_and_duplicate_flag() {
    let mut a = answer(201, b"");
    a.receipt = Some("R-123");
    assert_eq!(
        classify_answer(&a),
        Outcome::Accepted {
            receipt: Some("R-123".into()),
            duplicate: false
        }
    );
    a.status = 200;
    a.duplicate = Some("true");
    assert_eq!(
        classify_answer(&a),
        Outcome::Accepted {
            receipt: Some("R-123".into()),
            duplicate: true
        }
    );
    a.receipt = Some("bad receipt\n");
    assert!(matches!(
        classify_answer(&a),
        Outcome::Accepted { receipt: None, .. }
    ));
}

#[test]
fn client_errors_are_permanent_except_408_and_429() {
    for s in [400, 401, 403, 404, 409, 413, 415, 422] {
        assert!(
            matches!(classify_answer(&answer(s, b"")), Outcome::Rejected { status: Some(x), .. } if x == s),
            "{s}"
        );
    }
    assert!(matches!(
        classify_answer(&answer(408, b"")),
        Outcome::Transient {
            kind: TransientKind::Server,
            ..
        }
    ));
    let mut a = answer(429, b"");
    a.retry_after = Some(Duration::from_secs(3));
    assert_eq!(
        classify_answer(&a),
        Outcome::Transient {
            kind: TransientKind::RateLimited,
            reason: "HTTP 429 Too Many Requests".into(),
            retry_after: Some(Duration::from_secs(3)),
        }
    );
}

#[test]
fn server_errors_and_oddities_are_transient() {
    for s in [500, 502, 503, 504, 599, 100, 301, 302, 304] {
        assert!(
            matches!(
                classify_answer(&answer(s, b"")),
                Outcome::Transient {
                    kind: TransientKind::Server,
                    ..
                }
            ),
            "{s}"
        );
    }
}

#[test]
fn rejection_reason_carries_rule_keys_messages_and_expressions() {
    let Outcome::Rejected { status, reason } = classify_answer(&answer(422, OO.as_bytes())) else {
        panic!("not rejected");
    };
    assert_eq!(status, Some(422));
    assert_eq!(
        reason,
        "HTTP 422 Unprocessable Entity: error invalid [JP-CLINS-PAT-01] \
         @Bundle.entry[0].resource: Patient.identifier is required (missing 被保険者番号) | \
         warning value: line1 line2"
    );
}

#[test]
fn a_body_that_is_not_an_operation_outcome_is_described_by_size_only() {
    let body = br#"{"resourceType":"Bundle","entry":[{"name":"Yamada Taro"}]}"#;
    let Outcome::Rejected { reason, .. } = classify_answer(&answer(400, body)) else {
        panic!("not rejected");
    };
    assert!(!reason.contains("Yamada"), "{reason}");
    assert!(
        reason.contains(&format!("{} bytes", body.len())),
        "{reason}"
    );
    assert_eq!(operation_outcome_text(b"<html>"), None);
    assert_eq!(
        operation_outcome_text(br#"{"resourceType":"OperationOutcome","issue":[]}"#),
        None
    );
}

#[test]
fn long_outcomes_are_bounded_and_say_how_many_issues() {
    let issue = r#"{"severity":"error","code":"invalid","diagnostics":"ああああああああああ"}"#;
    let body = format!(
        r#"{{"resourceType":"OperationOutcome","issue":[{}]}}"#,
        vec![issue; 500].join(",")
    );
    let text = operation_outcome_text(body.as_bytes()).unwrap();
    assert!(text.len() <= MAX_REASON_BYTES, "{}", text.len());
    assert!(text.ends_with("(500 issues in total)"), "{text}");
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37Z
    assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("99999999999999999999999", now),
        Some(RETRY_AFTER_CAP)
    );
    for date in [
        "Sun, 06 Nov 1994 08:50:07 GMT",
        "Sunday, 06-Nov-94 08:50:07 GMT",
        "Sun Nov  6 08:50:07 1994",
    ] {
        assert_eq!(
            parse_retry_after(date, now),
            Some(Duration::from_secs(30)),
            "{date}"
        );
    }
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-3", now), None);
    assert_eq!(parse_retry_after("", now), None);
}

#[test]
fn tls_reasons_point_at_the_fix() {
    let e = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    assert!(describe_tls(&e).starts_with("server certificate not trusted: UnknownIssuer"));
    let e = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
    assert!(describe_tls(&e).contains("client certificate"));
}

#[test]
fn rustls_errors_are_found_inside_io_errors() {
    let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls.clone());
    assert_eq!(find_rustls_error(&io), Some(&tls));
    let plain = std::io::Error::other("nope");
    assert_eq!(find_rustls_error(&plain), None);
}

proptest! {
    #[test]
    fn outcome_parsing_never_panics_and_is_bounded(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Some(t) = operation_outcome_text(&body) {
            prop_assert!(t.len() <= MAX_REASON_BYTES);
        }
        let _ = classify_answer(&answer(422, &body));
    }

    #[test]
    fn outcome_text_is_one_line(diag in "\\PC*", text in ".*") {
        let body = serde_json::json!({"resourceType":"OperationOutcome","issue":[
            {"severity":"error","code":"invalid","diagnostics":diag,"details":{"text":text}}]});
        let t = operation_outcome_text(body.to_string().as_bytes()).unwrap();
        prop_assert!(!t.chars().any(char::is_control));
        prop_assert!(t.len() <= MAX_REASON_BYTES);
    }

    #[test]
    fn retry_after_never_panics(v in ".*", secs in any::<u64>()) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 10_000_000_000);
        let _ = parse_retry_after(&v, now);
    }
}

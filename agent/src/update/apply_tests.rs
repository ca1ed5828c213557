//! Each refusal of `apply` before anything is downloaded or swapped.

use super::*;

fn config(url: &str) -> UpdateConfig {
    UpdateConfig {
        manifest_url: Some(url.into()),
        trusted_keys: Some(vec![hex::encode(verify::public_key(&[3; 32]))]),
        ..Default::default()
    }
}

fn refusal(mode: Mode, upd: &UpdateConfig, data_dir: &Path) -> UpdateError {
    apply_in(mode, upd, data_dir, ApplyOptions::default()).expect_err("refused")
}

#[test]
fn a_package_managed_install_refuses_apply() {
    let dir = tempfile::tempdir().unwrap();
    let mode = Mode::PackageManaged {
        marker: "/usr/share/tsunagi/package-managed".into(),
    };
    let e = refusal(mode, &config("https://mirror.invalid/m.json"), dir.path());
    assert!(matches!(e, UpdateError::PackageManaged { .. }), "{e}");
    assert!(e.to_string().contains("パッケージ"));
}

#[test]
fn no_trusted_key_refuses_before_any_download() {
    let dir = tempfile::tempdir().unwrap();
    let upd = UpdateConfig {
        trusted_keys: Some(vec![]),
        ..config("https://mirror.invalid/m.json")
    };
    let e = refusal(Mode::SelfManaged, &upd, dir.path());
    assert!(matches!(e, UpdateError::NoTrustedKey), "{e}");
}

#[test]
fn plain_http_outside_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = refusal(
        Mode::SelfManaged,
        &config("http://192.0.2.10/m.json"),
        dir.path(),
    );
    assert!(matches!(e, UpdateError::InsecureUrl { .. }), "{e}");
}

#[cfg(feature = "demo")]
mod served {
    use super::*;

    /// A manifest offering `version` for this target, served on loopback; its archive is missing
    /// (these refusals come before the download).
    fn serve_manifest(dir: &Path, version: &str) -> (tokio::runtime::Runtime, String) {
        let m = serde_json::json!({"releases": [{"version": version, "channel": "stable",
            "target": manifest::this_target(), "url": "tsunagi-x.tar.gz",
            "sha256": "0".repeat(64), "size": 1}]});
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let addr = rt
            .block_on(crate::update::demo::serve(dir.to_path_buf()))
            .unwrap();
        (rt, format!("http://{addr}/manifest.json"))
    }

    #[test]
    fn an_older_version_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let (_rt, url) = serve_manifest(dir.path(), "0.0.1");
        let e = refusal(Mode::SelfManaged, &config(&url), dir.path());
        assert!(matches!(e, UpdateError::Downgrade { .. }), "{e}");
        assert!(e.to_string().contains("--allow-downgrade"));
        // Allowed, it goes on to the download (whose archive is missing here).
        let opts = ApplyOptions {
            allow_downgrade: true,
            ..Default::default()
        };
        let e = apply_in(Mode::SelfManaged, &config(&url), dir.path(), opts).unwrap_err();
        assert!(matches!(e, UpdateError::Fetch { .. }), "{e}");
    }

    #[test]
    fn a_version_that_failed_before_is_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let (_rt, url) = serve_manifest(dir.path(), "99.0.0");
        let mut st = UpdateState::default();
        st.record_failure("99.0.0", "not ready");
        st.write(dir.path()).unwrap();
        let e = refusal(Mode::SelfManaged, &config(&url), dir.path());
        assert!(matches!(e, UpdateError::FailedBefore { .. }), "{e}");
        let checked = UpdateState::read(dir.path()).unwrap().unwrap();
        assert_eq!(checked.available.as_deref(), Some("99.0.0"));
    }
}

/// A delivery in flight refuses the update, and the queue is left as it is.
#[test]
fn a_delivery_in_flight_refuses_and_the_queue_is_untouched() {
    use crate::store::{inbox, outbox};
    let dir = tempfile::tempdir().unwrap();
    wait_no_delivery_in_flight(dir.path(), Duration::ZERO).unwrap();
    let conn = crate::store::open(dir.path()).unwrap();
    let input = inbox::NewInput {
        source: "s",
        origin: "o",
        format: "fhir-json",
        raw: b"{}",
        file_stamp: None,
    };
    let inbox::Stored::New(inbox_id) = inbox::insert(&conn, &input).unwrap() else {
        panic!("stored")
    };
    let bundle = outbox::NewBundle {
        inbox_id,
        identifier: "X",
        resource_type: "Condition",
        patient_ref: "Patient/1",
        body: b"{}",
        facts: Default::default(),
    };
    outbox::insert_pending(&conn, &bundle).unwrap();
    wait_no_delivery_in_flight(dir.path(), Duration::ZERO).unwrap();
    let now = crate::clock::now_ms();
    assert_eq!(
        outbox::claim_ready(&conn, now, 3_600_000, 10)
            .unwrap()
            .len(),
        1
    );
    let e = wait_no_delivery_in_flight(dir.path(), Duration::ZERO).unwrap_err();
    assert!(
        matches!(e, UpdateError::DeliveryInFlight { count: 1 }),
        "{e}"
    );
    assert_eq!(in_flight(dir.path()).unwrap(), 1, "the queue is untouched");
}

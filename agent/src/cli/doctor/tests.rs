use super::*;

fn check(name: &str, status: Status) -> Check {
    Check {
        name: name.into(),
        status,
        detail: format!("{name} detail"),
        fix_ja: "直してください".into(),
        fix_en: "fix it".into(),
    }
}

#[test]
fn text_has_one_line_per_check_and_both_fixes_below_a_problem() {
    let checks = [check("config", Status::Ok), check("disk", Status::Fail)];
    let out = text(Path::new("t.toml"), &checks);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("ok    config  config detail"), "{out}");
    assert!(lines[2].starts_with("fail  disk    disk detail"), "{out}");
    assert!(
        lines[3].contains("対処: 直してください") && lines[4].contains("fix:  fix it"),
        "{out}"
    );
    assert!(
        out.ends_with("1 ok, 0 warn, 1 fail / 正常 1・注意 0・異常 1\n"),
        "{out}"
    );
}

#[test]
fn json_names_its_schema_and_is_ok_with_warnings() {
    let checks = [check("config", Status::Ok), check("masters", Status::Warn)];
    let v = serde_json::to_value(json(Path::new("t.toml"), &checks)).unwrap();
    assert_eq!(v["schema"], SCHEMA);
    assert_eq!(v["ok"], true);
    assert_eq!(v["counts"]["warn"], 1);
    assert_eq!(v["checks"][1]["status"], "warn");
    assert_eq!(v["checks"][1]["fix_en"], "fix it");
}

#[test]
fn an_unreadable_config_is_one_failed_check_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.toml");
    let checks = all_checks(&file);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].status, Status::Fail);
    assert!(checks[0].detail.contains("missing.toml"), "{checks:?}");
}

#[test]
fn a_missing_client_key_fails_and_is_named_and_a_fresh_data_dir_is_fine() {
    let pki = crate::uplink::test_pki::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inbox")).unwrap();
    let key = dir.path().join("gone-key.pem");
    let text = format!(
        "[agent]\ndata_dir = \"data\"\ninstitution_number = \"1318814790\"\ndisk_reserve_mb = 0\n\
         [[source.folder]]\nname = \"drop\"\npath = \"inbox\"\nmode = \"move\"\n\
         [ops]\nlisten = \"127.0.0.1:0\"\n\
         [uplink]\nroute = \"web-api\"\n[uplink.web_api]\nurl = \"https://127.0.0.1:9/x\"\n\
         ca_cert = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
        pki.ca_path.display(),
        pki.client_cert_path.display(),
        key.display()
    );
    let file = dir.path().join("tsunagi.toml");
    std::fs::write(&file, text).unwrap();
    let checks = all_checks(&file);
    let by = |n: &str| {
        checks
            .iter()
            .find(|c| c.name == n)
            .unwrap_or_else(|| panic!("{n}: {checks:?}"))
    };
    assert_eq!(by("config").status, Status::Fail);
    let client = by("cert:client");
    assert_eq!(client.status, Status::Fail, "{client:?}");
    assert!(client.detail.contains("gone-key.pem"), "{client:?}");
    assert_eq!(by("cert:ca").status, Status::Ok, "{checks:?}");
    assert_eq!(
        by("data-dir").status,
        Status::Warn,
        "not made yet: {checks:?}"
    );
    assert_eq!(by("source:drop").status, Status::Ok, "{checks:?}");
    let update = by("update");
    assert!(
        update.status == Status::Ok && update.detail.contains("never checked"),
        "{update:?}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "doctor created the data directory"
    );
}

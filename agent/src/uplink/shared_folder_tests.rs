//! The shared-folder route on a real temporary directory: atomic request files, result parsing,
//! acknowledgement, and unreadable results left in place.

use super::*;

fn key(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn folder() -> (tempfile::TempDir, SharedFolderClient) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("req")).unwrap();
    fs::create_dir(dir.path().join("res")).unwrap();
    let client = SharedFolderClient::new(dir.path());
    (dir, client)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn submit_writes_exactly_the_request_file_owner_only() {
    let (dir, client) = folder();
    let k = key('a');
    let body = br#"{"resourceType":"Bundle"}"#;
    let out = client
        .submit(Submission {
            idempotency_key: &k,
            body,
        })
        .await;
    assert_eq!(out, Outcome::Awaiting);
    assert_eq!(names(&dir.path().join("req")), vec![format!("{k}.json")]);
    let path = client.request_path(&k);
    assert_eq!(fs::read(&path).unwrap(), body);
    assert!(crate::owner_only::is_owner_only(&path).unwrap());

    // Resending the same key replaces the request in place.
    let out = client
        .submit(Submission {
            idempotency_key: &k,
            body: b"{}",
        })
        .await;
    assert_eq!(out, Outcome::Awaiting);
    assert_eq!(names(&dir.path().join("req")), vec![format!("{k}.json")]);
    assert_eq!(fs::read(&path).unwrap(), b"{}");
}

#[tokio::test]
async fn a_missing_share_is_transient_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let client = SharedFolderClient::new(dir.path());
    let k = key('b');
    let out = client
        .submit(Submission {
            idempotency_key: &k,
            body: b"{}",
        })
        .await;
    let Outcome::Transient { kind, reason, .. } = out else {
        panic!("{out:?}");
    };
    assert_eq!(kind, TransientKind::Io);
    assert!(
        reason.contains("req") && reason.contains("mounted"),
        "{reason}"
    );
    assert!(names(dir.path()).is_empty());
}

#[tokio::test]
async fn invalid_keys_never_become_file_names() {
    let (dir, client) = folder();
    let out = client
        .submit(Submission {
            idempotency_key: "../../etc/passwd",
            body: b"{}",
        })
        .await;
    assert!(matches!(out, Outcome::Rejected { status: None, .. }));
    assert!(names(&dir.path().join("req")).is_empty());
    assert!(client.acknowledge("../x").await.is_err());
}

#[tokio::test]
async fn collect_reads_results_and_acknowledge_removes_them() {
    let (dir, client) = folder();
    let (ka, kd, kr) = (key('1'), key('2'), key('3'));
    let res = dir.path().join("res");
    fs::write(
        res.join(format!("{ka}.result.json")),
        format!(
            r#"{{"idempotencyKey":"{ka}","status":"accepted","receipt":"R-1","outcome":null}}"#
        ),
    )
    .unwrap();
    fs::write(
        res.join(format!("{kd}.result.json")),
        format!(r#"{{"idempotencyKey":"{kd}","status":"duplicate","receipt":"R-0"}}"#),
    )
    .unwrap();
    fs::write(
        res.join(format!("{kr}.result.json")),
        format!(
            r#"{{"idempotencyKey":"{kr}","status":"rejected","receipt":null,"outcome":
            {{"resourceType":"OperationOutcome","issue":[{{"severity":"error","code":"required",
            "details":{{"coding":[{{"code":"JP-CLINS-001"}}],"text":"missing"}}}}]}}}}"#
        ),
    )
    .unwrap();
    // Temporary files of the terminal are not results.
    fs::write(res.join(format!("{ka}.result.json.tmp")), "partial").unwrap();

    let c = client.collect().await;
    assert!(c.unreadable.is_empty(), "{:?}", c.unreadable);
    assert_eq!(
        c.results,
        vec![
            (
                ka.clone(),
                Outcome::Accepted {
                    receipt: Some("R-1".into()),
                    duplicate: false
                }
            ),
            (
                kd.clone(),
                Outcome::Accepted {
                    receipt: Some("R-0".into()),
                    duplicate: true
                }
            ),
            (
                kr.clone(),
                Outcome::Rejected {
                    status: None,
                    reason: "error required [JP-CLINS-001]: missing".into()
                }
            ),
        ]
    );
    // Collecting does not consume; acknowledging does, and is idempotent.
    assert_eq!(client.collect().await.results.len(), 3);
    client.acknowledge(&ka).await.unwrap();
    client.acknowledge(&ka).await.unwrap();
    assert!(!client.result_path(&ka).exists());
    let keys: Vec<String> = client
        .collect()
        .await
        .results
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(keys, vec![kd, kr]);
}

#[tokio::test]
async fn garbage_results_are_reported_by_name_left_in_place_and_skipped() {
    let (dir, client) = folder();
    let res = dir.path().join("res");
    let (good, bad, other, wrong_status) = (key('c'), key('d'), key('e'), key('f'));
    fs::write(
        res.join(format!("{good}.result.json")),
        format!(r#"{{"idempotencyKey":"{good}","status":"accepted"}}"#),
    )
    .unwrap();
    let bad_path = res.join(format!("{bad}.result.json"));
    fs::write(&bad_path, "{\"idempotencyKey\": \"Yamada Taro").unwrap();
    // Names another key than its file.
    fs::write(
        res.join(format!("{other}.result.json")),
        format!(r#"{{"idempotencyKey":"{good}","status":"accepted"}}"#),
    )
    .unwrap();
    fs::write(
        res.join(format!("{wrong_status}.result.json")),
        format!(r#"{{"idempotencyKey":"{wrong_status}","status":"Yamada"}}"#),
    )
    .unwrap();
    fs::write(res.join("notakey.result.json"), "{}").unwrap();

    let c = client.collect().await;
    assert_eq!(c.results.len(), 1);
    assert_eq!(c.results[0].0, good);
    assert_eq!(c.unreadable.len(), 4, "{:?}", c.unreadable);
    let bad_entry = c.unreadable.iter().find(|u| u.path == bad_path).unwrap();
    assert!(bad_entry.reason.contains("line 1"), "{}", bad_entry.reason);
    for u in &c.unreadable {
        assert!(
            !u.reason.contains("Yamada"),
            "reason quotes content: {}",
            u.reason
        );
        assert!(u.path.exists(), "left in place");
    }
    // The logged variant returns only the usable results.
    assert_eq!(client.collect_logged().await.len(), 1);
    assert_eq!(client.reported.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_missing_result_folder_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let client = SharedFolderClient::new(dir.path());
    let c = client.collect().await;
    assert!(c.results.is_empty());
    assert_eq!(c.unreadable.len(), 1);
    assert_eq!(c.unreadable[0].path, dir.path().join("res"));
}

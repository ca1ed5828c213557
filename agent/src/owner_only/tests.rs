//! Owner-only on the platform the tests run on (the Windows descriptors are tested as text in
//! `sddl.rs`).

use super::*;
use std::io::Write;

#[test]
fn a_created_directory_and_file_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a").join("b");
    create_dir(&sub).unwrap();
    assert!(is_owner_only(&sub).unwrap());
    let file = sub.join("f");
    let mut f = options().create_new(true).write(true).open(&file).unwrap();
    f.write_all(b"x").unwrap();
    assert!(is_owner_only(&file).unwrap());
}

#[cfg(unix)]
#[test]
fn loosened_ones_are_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("d");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!is_owner_only(&sub).unwrap());
    create_dir(&sub).unwrap();
    assert!(is_owner_only(&sub).unwrap());
    let file = sub.join("f");
    std::fs::write(&file, b"x").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(!is_owner_only(&file).unwrap());
    restrict_file(&file).unwrap();
    assert!(is_owner_only(&file).unwrap());
}

#[test]
fn a_replaced_file_has_another_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    std::fs::write(&path, b"1").unwrap();
    let first = FileId::of(&path).unwrap();
    assert_eq!(FileId::of(&path).unwrap(), first);
    // Keep the old file alive elsewhere so its index cannot be reused at once.
    std::fs::rename(&path, dir.path().join("old")).unwrap();
    std::fs::write(&path, b"1").unwrap();
    assert_ne!(FileId::of(&path).unwrap(), first);
}

#[test]
fn the_account_is_named() {
    assert!(!account().is_empty());
}

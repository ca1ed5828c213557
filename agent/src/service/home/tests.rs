use super::*;

#[test]
fn the_home_is_under_program_data() {
    let pd = OsStr::new(r"D:\ProgramData");
    assert_eq!(dir(Some(pd)), PathBuf::from(pd).join("tsunagi"));
    assert_eq!(
        dir(None),
        PathBuf::from(DEFAULT_PROGRAM_DATA).join("tsunagi")
    );
    assert_eq!(dir(Some(OsStr::new(""))), dir(None));
}

#[test]
fn logs_go_to_the_home_unless_the_config_names_a_folder() {
    let home = Path::new(r"C:\ProgramData\tsunagi");
    assert_eq!(with_log_dir(None, home).dir, Some(home.join("logs")));
    let named = LogConfig {
        dir: Some(PathBuf::from(r"E:\logs")),
        keep_files: 3,
        ..LogConfig::default()
    };
    let kept = with_log_dir(Some(named), home);
    assert_eq!(kept.dir, Some(PathBuf::from(r"E:\logs")));
    assert_eq!(kept.keep_files, 3);
    let unnamed = LogConfig {
        keep_files: 5,
        ..LogConfig::default()
    };
    let filled = with_log_dir(Some(unnamed), home);
    assert_eq!(
        (filled.dir, filled.keep_files),
        (Some(home.join("logs")), 5)
    );
}

#[test]
fn the_home_compares_as_windows_paths_do() {
    let home = Path::new(r"C:\ProgramData\tsunagi");
    assert!(is_home(Path::new(r"c:\programdata\TSUNAGI\"), home));
    assert!(is_home(Path::new("C:/ProgramData/tsunagi"), home));
    assert!(!is_home(Path::new(r"C:\ProgramData"), home));
    assert!(!is_home(Path::new(r"C:\Users\it\Desktop"), home));
}

const SHARED: &str = r#"
[agent]
data_dir = "/pd/tsunagi/data"
institution_number = "1318814790"

[[source.folder]]
name = "drop"
path = "/pd/tsunagi/inbox"
mode = "move"
processed_dir = "done"
watch = "poll"

[[source.folder]]
name = "export"
path = "/srv/export"
mode = "read-only"

[[source.ssmix2]]
name = "ssmix2"
path = "/pd/tsunagi/ssmix2"

[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "/mnt/oqs"
"#;

#[test]
fn shared_folders_are_the_inputs_and_the_uplink_folder() {
    let cfg = crate::config::parse(SHARED).unwrap();
    let inbox = PathBuf::from("/pd/tsunagi/inbox");
    assert_eq!(
        shared_folders(&cfg),
        vec![
            inbox.clone(),
            inbox.join("done"),
            PathBuf::from("/srv/export"),
            PathBuf::from("/pd/tsunagi/ssmix2"),
            PathBuf::from("/mnt/oqs"),
        ]
    );
}

#[cfg(unix)]
mod on_disk {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn loose(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn file(path: &Path) -> PathBuf {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
        loose(path, 0o644);
        path.to_path_buf()
    }

    #[test]
    fn the_home_is_tightened_except_shared_folders_and_links() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("tsunagi");
        let config = file(&home.join("tsunagi.toml"));
        let key = file(&home.join("pki").join("client-key.pem"));
        let db = file(&home.join("data").join("agent.db"));
        let dropped = file(&home.join("inbox").join("a.json"));
        let outside = file(&t.path().join("elsewhere.pem"));
        std::os::unix::fs::symlink(&outside, home.join("link.pem")).unwrap();
        for d in ["", "pki", "data", "inbox"] {
            loose(&home.join(d), 0o755);
        }
        let shared = [home.join("inbox")];

        let done = restrict(&config, &home, &shared).unwrap();

        assert_eq!(
            done,
            Restricted {
                dirs: 3,
                files: 3,
                left: 2
            }
        );
        for p in [&home, &config, &key, &home.join("pki"), &db] {
            assert!(owner_only::is_owner_only(p).unwrap(), "{}", p.display());
        }
        for p in [&home.join("inbox"), &dropped, &outside] {
            assert!(!owner_only::is_owner_only(p).unwrap(), "{}", p.display());
        }
    }

    #[test]
    fn a_config_elsewhere_only_has_its_own_file_tightened() {
        let t = tempfile::tempdir().unwrap();
        let config = file(&t.path().join("desk").join("tsunagi.toml"));
        let beside = file(&t.path().join("desk").join("notes.txt"));
        let home = t.path().join("tsunagi");

        let done = restrict(&config, &home, &[]).unwrap();

        assert_eq!(done.files, 1);
        assert!(owner_only::is_owner_only(&config).unwrap());
        assert!(!owner_only::is_owner_only(&beside).unwrap());
        assert!(!home.exists());
    }
}

/// The config the .msi installs parses; what it still lacks is what the hospital must fill in
/// (the institution and an input), and its folders are the home's.
#[test]
fn the_windows_example_config_asks_only_for_the_institution_and_an_input() {
    let text = include_str!("../../../../config-examples/windows.toml");
    let (cfg, problems) = crate::config::parse_all(text);
    let cfg = cfg.expect("the example parses");
    assert!(!problems.is_empty());
    for p in &problems {
        assert!(
            p.en.contains("institution_number") || p.en.contains("no source"),
            "{p}"
        );
    }
    assert_eq!(cfg.agent.data_dir, PathBuf::from("data"));
    assert_eq!(cfg.log.dir, Some(PathBuf::from("logs")));
}

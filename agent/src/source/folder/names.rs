//! Pure rules about names: which files are taken, how a path becomes the relative key the store
//! sees, how a taken name is made unique, and how a path appears in logs.
//!
//! Relative paths are `/`-separated UTF-8 strings made only of normal components, so the same file
//! has the same key on every platform and after every restart.
//!
//! Log policy: SS-MIX2 file names carry patient IDs, so a relative path is never logged, at any
//! level. A file is named by [`path_tag`], a short stable hash of source + relative path, which
//! lets an operator correlate lines without the path itself appearing (`tsunagi queue list`
//! shows the path to whoever may read the database). The tag is a correlation token, not anonymisation: a short numeric ID
//! could be recovered by brute force, so logs are still treated as internal.

use std::path::{Component, Path};

/// File-name suffixes that mark a file still being written.
const PARTIAL_SUFFIXES: [&str; 4] = [".tmp", ".part", ".partial", "~"];

/// Whether a file or directory name is ignored: hidden (`.x`) or a writer's temporary name.
pub fn is_ignored_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('.') {
        return true;
    }
    let lower = name.to_lowercase();
    PARTIAL_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// Whether a file name passes the ignore rules and the (lower-case, dot-less) extension filter.
pub fn is_wanted_file(name: &str, extensions: &[String]) -> bool {
    if is_ignored_name(name) {
        return false;
    }
    if extensions.is_empty() {
        return true;
    }
    let lower = name.to_lowercase();
    extensions.iter().any(|ext| {
        lower.len() > ext.len() + 1
            && lower.ends_with(ext.as_str())
            && lower.as_bytes()[lower.len() - ext.len() - 1] == b'.'
    })
}

/// Why a path has no relative key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathIssue {
    /// Not under the root.
    Outside,
    /// The root itself.
    Root,
    /// A component is not valid UTF-8.
    NotUtf8,
    /// A component is `..`, `.` or a prefix.
    Abnormal,
}

/// The `/`-separated relative key of `path` under `root`.
pub fn rel_path(root: &Path, path: &Path) -> Result<String, PathIssue> {
    let rest = path.strip_prefix(root).map_err(|_| PathIssue::Outside)?;
    let mut out = String::new();
    for comp in rest.components() {
        match comp {
            Component::Normal(part) => {
                let part = part.to_str().ok_or(PathIssue::NotUtf8)?;
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
            Component::CurDir => {}
            _ => return Err(PathIssue::Abnormal),
        }
    }
    if out.is_empty() {
        Err(PathIssue::Root)
    } else {
        Ok(out)
    }
}

/// Whether `rel` is `dir` or lies under it (both relative keys).
pub fn is_under(rel: &str, dir: &str) -> bool {
    rel == dir
        || (rel.len() > dir.len() && rel.starts_with(dir) && rel.as_bytes()[dir.len()] == b'/')
}

/// Whether a relative key is taken by a source with these settings: every directory component and
/// the file name pass the ignore rules, and a non-recursive source only takes top-level files.
pub fn is_wanted_rel(rel: &str, extensions: &[String], recursive: bool) -> bool {
    let mut parts = rel.split('/').peekable();
    let mut depth = 0;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return (recursive || depth == 0) && is_wanted_file(part, extensions);
        }
        if is_ignored_name(part) {
            return false;
        }
        depth += 1;
    }
    false
}

/// `name` with a numeric suffix before its extension: `a.json` → `a.1.json`, `a` → `a.1`.
pub fn suffixed_name(name: &str, n: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}.{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}.{n}"),
    }
}

pub use crate::digest::path_tag;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    #[test]
    fn ignore_rules() {
        for n in [
            ".hidden",
            "a.tmp",
            "a.TMP",
            "a.part",
            "a.partial",
            "a.json~",
            "",
            ".",
        ] {
            assert!(is_ignored_name(n), "{n}");
        }
        for n in ["a.json", "tmp", "part.json", "a.tmp.json", "x~y"] {
            assert!(!is_ignored_name(n), "{n}");
        }
    }

    #[test]
    fn extension_filter() {
        let ext = vec!["json".to_string(), "tar.gz".to_string()];
        assert!(is_wanted_file("a.json", &ext));
        assert!(is_wanted_file("A.JSON", &ext));
        assert!(is_wanted_file("b.tar.gz", &ext));
        assert!(!is_wanted_file("a.xml", &ext));
        assert!(!is_wanted_file("json", &ext));
        assert!(!is_wanted_file("ajson", &ext));
        assert!(!is_wanted_file("a.json.tmp", &ext));
        assert!(is_wanted_file("a.xml", &[]));
    }

    #[test]
    fn relative_keys() {
        let root = Path::new("/r/in");
        assert_eq!(
            rel_path(root, Path::new("/r/in/a/b.json")).unwrap(),
            "a/b.json"
        );
        assert_eq!(rel_path(root, Path::new("/r/in")), Err(PathIssue::Root));
        assert_eq!(
            rel_path(root, Path::new("/r/out/x")),
            Err(PathIssue::Outside)
        );
        assert_eq!(
            rel_path(root, Path::new("/r/in/../x")),
            Err(PathIssue::Abnormal)
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let p = root.join(std::ffi::OsStr::from_bytes(b"\xff.json"));
            assert_eq!(rel_path(root, &p), Err(PathIssue::NotUtf8));
        }
    }

    #[test]
    fn wanted_rel_checks_directories_and_depth() {
        assert!(is_wanted_rel("a/b/c.json", &[], true));
        assert!(!is_wanted_rel("a/b/c.json", &[], false));
        assert!(is_wanted_rel("c.json", &[], false));
        assert!(!is_wanted_rel(".git/c.json", &[], true));
        assert!(!is_wanted_rel("a/c.json.part", &[], true));
    }

    #[test]
    fn under() {
        assert!(is_under("processed", "processed"));
        assert!(is_under("processed/a.json", "processed"));
        assert!(!is_under("processed2/a.json", "processed"));
        assert!(!is_under("proc", "processed"));
    }

    #[test]
    fn suffixes() {
        assert_eq!(suffixed_name("a.json", 1), "a.1.json");
        assert_eq!(suffixed_name("a", 2), "a.2");
        assert_eq!(suffixed_name("a.b.json", 3), "a.b.3.json");
    }

    #[test]
    fn tag_is_stable_short_and_hides_the_path() {
        let t = path_tag("drop", "12345678/x.json");
        assert_eq!(t, path_tag("drop", "12345678/x.json"));
        assert_ne!(t, path_tag("other", "12345678/x.json"));
        assert_eq!(t.len(), 12);
        assert!(!t.contains("12345678"));
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_\\-\\.~ 日本]{1,12}".prop_filter("not . or ..", |s| s != "." && s != "..")
    }

    proptest! {
        #[test]
        fn rel_path_round_trips(parts in prop::collection::vec(segment(), 1..6)) {
            let root = PathBuf::from("/srv/inbox");
            let mut p = root.clone();
            for s in &parts { p.push(s); }
            let rel = rel_path(&root, &p).unwrap();
            prop_assert_eq!(&rel, &parts.join("/"));
            prop_assert_eq!(root.join(&rel), p);
        }

        #[test]
        fn wanted_rel_agrees_with_name_rules(parts in prop::collection::vec(segment(), 1..5)) {
            let rel = parts.join("/");
            let (file, dirs) = parts.split_last().unwrap();
            let expect = is_wanted_file(file, &[]) && dirs.iter().all(|d| !is_ignored_name(d));
            prop_assert_eq!(is_wanted_rel(&rel, &[], true), expect);
            if is_wanted_rel(&rel, &[], true) {
                prop_assert!(!rel.split('/').any(|p| p.starts_with('.')));
            }
        }

        #[test]
        fn suffixed_names_stay_wanted_and_distinct(name in segment(), n in 1u32..1000) {
            let s = suffixed_name(&name, n);
            prop_assert_ne!(&s, &name);
            prop_assert!(!s.contains('/'));
            if is_wanted_file(&name, &[]) {
                prop_assert!(is_wanted_file(&s, &[]), "{} -> {}", name, s);
            }
        }
    }
}

//! A packed FHIR package (`package.tgz`, the npm tarball the FHIR registries serve) unpacked
//! into a private temporary directory, so `load` reads it like an unpacked one.
//!
//! # Invariants
//! - Only regular files and directories are unpacked, each inside the temporary directory
//!   (`tar::Entry::unpack_in` refuses `..` and absolute paths); links and devices are skipped.
//! - The unpacked size is capped ([`MAX_UNPACKED`]) and so is the number of entries, so a
//!   crafted archive cannot fill the disk; a truncated or corrupt archive is an error and the
//!   active package stays active (nothing has been stored yet).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};
use tempfile::TempDir;

/// The most bytes a package may unpack to (the 1.10.0 package is 12 MiB unpacked).
pub(crate) const MAX_UNPACKED: u64 = 512 * 1024 * 1024;
/// The most entries a package may hold (1.10.0 has about 300).
const MAX_ENTRIES: usize = 20_000;

/// Whether `path` names a packed package.
pub(crate) fn is_packed(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tgz") || name.ends_with(".tar.gz")
}

/// Unpacks `path` into a new temporary directory (removed when the value is dropped).
pub(crate) fn unpack(path: &Path) -> Result<TempDir, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e} / 開けません"))?;
    let dir = tempfile::Builder::new()
        .prefix("tsunagi-fhir-package-")
        .tempdir()
        .map_err(|e| {
            format!("cannot create a temporary directory: {e} / 一時ディレクトリを作れません")
        })?;
    unpack_into(GzDecoder::new(file), dir.path())?;
    Ok(dir)
}

fn unpack_into(reader: impl Read, dir: &Path) -> Result<(), String> {
    let broken = |e: std::io::Error| {
        format!("not a readable .tgz (truncated or corrupt?): {e} / .tgz として読めません（途中で切れているか壊れています）")
    };
    let mut archive = Archive::new(reader);
    let mut total = 0u64;
    for (n, entry) in archive.entries().map_err(broken)?.enumerate() {
        let mut entry = entry.map_err(broken)?;
        if n >= MAX_ENTRIES {
            return Err(format!(
                "more than {MAX_ENTRIES} entries / エントリが{MAX_ENTRIES}を超えています"
            ));
        }
        if !matches!(
            entry.header().entry_type(),
            EntryType::Regular | EntryType::Directory
        ) {
            continue;
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED {
            return Err(format!(
                "unpacks to more than {} MiB / 展開後のサイズが{} MiBを超えています",
                MAX_UNPACKED >> 20,
                MAX_UNPACKED >> 20
            ));
        }
        entry.unpack_in(dir).map_err(broken)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, body) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(EntryType::Regular);
            header.set_cksum();
            builder.append_data(&mut header, name, *body).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn files_are_unpacked_under_the_directory_and_a_cut_archive_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_with(&[("package/package.json", b"{}")]);
        unpack_into(&tar[..], dir.path()).unwrap();
        assert!(dir.path().join("package/package.json").is_file());
        let cut = tempfile::tempdir().unwrap();
        let e = unpack_into(&tar[..700], cut.path()).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn a_path_leaving_the_directory_is_not_written_outside() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("in");
        std::fs::create_dir(&dir).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_entry_type(EntryType::Regular);
        // Header::set_path refuses "..", so write the raw name as a hostile archive would.
        header.as_old_mut().name[..12].copy_from_slice(b"../escape.js");
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"{}"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let _ = unpack_into(&tar[..], &dir);
        assert!(!outer.path().join("escape.js").exists());
    }
}

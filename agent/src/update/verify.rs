//! Checking a downloaded archive before anything is swapped: size and sha256 against the
//! manifest, then the zipsign ed25519 signature against the trusted keys (through `self_update`'s
//! `signatures` support). No key means no update: `self_update` would skip the check silently,
//! so the list is refused here first.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::config::Key;
use super::error::{Result, UpdateError};
use super::manifest::Release;

/// The binary's name inside an archive (and on disk).
pub fn binary_name() -> &'static str {
    if cfg!(windows) {
        "tsunagi.exe"
    } else {
        "tsunagi"
    }
}

/// Checks the archive at `path` (whose file name the signature is bound to).
pub fn verify_archive(path: &Path, release: &Release, keys: &[Key]) -> Result<()> {
    if keys.is_empty() {
        return Err(UpdateError::NoTrustedKey);
    }
    let (size, digest) = size_and_digest(path)?;
    if size != release.size {
        return Err(UpdateError::SizeMismatch {
            expected: release.size,
            actual: size,
        });
    }
    if !digest.eq_ignore_ascii_case(&release.sha256) {
        return Err(UpdateError::DigestMismatch);
    }
    verify_signature(path, keys)
}

/// The zipsign signature alone.
pub fn verify_signature(path: &Path, keys: &[Key]) -> Result<()> {
    if keys.is_empty() {
        return Err(UpdateError::NoTrustedKey);
    }
    self_update::verify_signature(path, keys).map_err(|e| UpdateError::BadSignature {
        reason: e.to_string(),
    })
}

/// Size and hex sha256 of a file.
pub fn size_and_digest(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| UpdateError::io(format!("opening {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| UpdateError::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Extracts the binary of a verified archive into `dir`; returns its path.
pub fn extract_binary(archive: &Path, dir: &Path) -> Result<PathBuf> {
    let name = binary_name();
    self_update::Extract::from_source(archive)
        .archive(self_update::ArchiveKind::Tar(Some(
            self_update::Compression::Gz,
        )))
        .extract_file(dir, name)
        .map_err(|_| UpdateError::NoBinary { name: name.into() })?;
    let path = dir.join(name);
    if !path.is_file() {
        return Err(UpdateError::NoBinary { name: name.into() });
    }
    Ok(path)
}

/// Writes `out` as a .tar.gz holding `binary` under [`binary_name`], signed with `key` (the
/// sandbox and the tests; releases are signed by packaging/sign-release.sh with the zipsign CLI).
/// The signature is bound to `out`'s file name, as the zipsign CLI does with `-c NAME`.
#[cfg(any(feature = "demo", test))]
pub fn write_signed_archive(binary: &Path, out: &Path, key: Option<&[u8; 32]>) -> Result<()> {
    let io = |what: &str| {
        let what = format!("{what} {}", out.display());
        move |e| UpdateError::io(what, e)
    };
    let mut gz = Vec::new();
    {
        let enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        let mut tar = tar::Builder::new(enc);
        tar.append_path_with_name(binary, binary_name())
            .map_err(io("archiving into"))?;
        tar.into_inner()
            .and_then(|e| e.finish())
            .map_err(io("compressing"))?;
    }
    let mut file = std::fs::File::create(out).map_err(io("creating"))?;
    match key {
        None => std::io::Write::write_all(&mut file, &gz).map_err(io("writing"))?,
        Some(secret) => {
            let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let signing = zipsign_api::SigningKey::from_bytes(secret);
            zipsign_api::sign::copy_and_sign_tar(
                &mut std::io::Cursor::new(gz),
                &mut file,
                &[signing],
                Some(name.as_bytes()),
            )
            .map_err(|e| UpdateError::io("signing", std::io::Error::other(e.to_string())))?;
        }
    }
    file.sync_all().map_err(io("syncing"))
}

/// The public key of a secret key.
#[cfg(any(feature = "demo", test))]
pub fn public_key(secret: &[u8; 32]) -> Key {
    zipsign_api::SigningKey::from_bytes(secret)
        .verifying_key()
        .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        dir: tempfile::TempDir,
        archive: PathBuf,
        release: Release,
        key: Key,
    }

    const SECRET: [u8; 32] = [7; 32];

    fn fixture(sign: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("payload");
        std::fs::write(&bin, b"#!/bin/sh\necho new\n").unwrap();
        let archive = dir.path().join("tsunagi-9.9.9-t.tar.gz");
        write_signed_archive(&bin, &archive, sign.then_some(&SECRET)).unwrap();
        let (size, sha256) = size_and_digest(&archive).unwrap();
        let release = Release {
            version: "9.9.9".into(),
            channel: "stable".into(),
            target: "t".into(),
            url: "tsunagi-9.9.9-t.tar.gz".into(),
            sha256,
            size,
        };
        Fixture {
            dir,
            archive,
            release,
            key: public_key(&SECRET),
        }
    }

    #[test]
    fn a_signed_archive_verifies_and_its_binary_is_extracted() {
        let f = fixture(true);
        verify_archive(&f.archive, &f.release, &[f.key]).unwrap();
        let out = f.dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let bin = extract_binary(&f.archive, &out).unwrap();
        assert_eq!(std::fs::read(bin).unwrap(), b"#!/bin/sh\necho new\n");
    }

    #[test]
    fn no_key_is_a_refusal_not_a_skip() {
        let f = fixture(true);
        let e = verify_archive(&f.archive, &f.release, &[]).unwrap_err();
        assert!(matches!(e, UpdateError::NoTrustedKey), "{e}");
    }

    #[test]
    fn an_unsigned_archive_is_refused() {
        let f = fixture(false);
        let e = verify_archive(&f.archive, &f.release, &[f.key]).unwrap_err();
        assert!(matches!(e, UpdateError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn an_archive_signed_by_another_key_is_refused() {
        let f = fixture(true);
        let other = public_key(&[8; 32]);
        let e = verify_archive(&f.archive, &f.release, &[other]).unwrap_err();
        assert!(matches!(e, UpdateError::BadSignature { .. }), "{e}");
        assert!(e.to_string().contains("署名"));
    }

    #[test]
    fn a_tampered_archive_is_refused_even_when_the_manifest_matches_it() {
        let f = fixture(true);
        let mut bytes = std::fs::read(&f.archive).unwrap();
        let last = bytes.len() - 20;
        bytes[last] ^= 0xff;
        std::fs::write(&f.archive, &bytes).unwrap();
        // The manifest's digest no longer matches …
        let e = verify_archive(&f.archive, &f.release, &[f.key]).unwrap_err();
        assert!(matches!(e, UpdateError::DigestMismatch), "{e}");
        // … and a manifest rewritten to match it still fails the signature.
        let (size, sha256) = size_and_digest(&f.archive).unwrap();
        let forged = Release {
            size,
            sha256,
            ..f.release.clone()
        };
        let e = verify_archive(&f.archive, &forged, &[f.key]).unwrap_err();
        assert!(matches!(e, UpdateError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn a_renamed_archive_does_not_verify() {
        let f = fixture(true);
        let renamed = f.dir.path().join("tsunagi-9.9.8-t.tar.gz");
        std::fs::copy(&f.archive, &renamed).unwrap();
        assert!(verify_signature(&renamed, &[f.key]).is_err());
    }
}

#[cfg(test)]
mod release_key_tests {
    use super::*;

    /// An archive made by packaging/sign-release.sh (the zipsign CLI, the offline release key,
    /// a one-byte payload) verifies against the compiled-in release key, and against nothing else.
    #[test]
    #[cfg_attr(windows, ignore = "the archive holds the Linux binary name")]
    fn the_signing_script_output_verifies_with_the_release_key() {
        let name = "tsunagi-0.1.1-x86_64-unknown-linux-gnu.tar.gz";
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join(name);
        std::fs::write(
            &archive,
            include_bytes!("testdata/tsunagi-0.1.1-x86_64-unknown-linux-gnu.tar.gz"),
        )
        .unwrap();
        let keys = crate::update::UpdateConfig::default().keys().unwrap();
        verify_signature(&archive, &keys).unwrap();
        assert!(verify_signature(&archive, &[public_key(&[1; 32])]).is_err());
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let bin = extract_binary(&archive, &out).unwrap();
        assert_eq!(std::fs::read(bin).unwrap(), b"x");
    }
}

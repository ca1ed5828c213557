//! The sandbox's update source (`tsunagi demo --serve`): a sandbox key pair, the running binary
//! packed and signed as the next patch version in `DIR/updates/`, a manifest for it, and a
//! loopback HTTP server for that folder. The sandbox config trusts the sandbox key only, so
//! `tsunagi update apply --config DIR/tsunagi.toml --dry-run` verifies, and refuses once the
//! archive is corrupted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::manifest::{self, Manifest, Release};
use super::verify;

/// The sandbox's update folder, served.
pub struct SandboxUpdates {
    pub dir: PathBuf,
    pub manifest_url: String,
    pub archive: PathBuf,
    pub version: String,
    pub public_key_hex: String,
}

impl SandboxUpdates {
    /// The sandbox config's `[update]` table.
    pub fn config_toml(&self) -> String {
        format!(
            "\n[update]\nmanifest_url = \"{}\"\nchannel = \"sandbox\"\ntrusted_keys = [\"{}\"]  # the sandbox's own key (DIR/updates/sandbox.key)\nready_timeout_secs = 30\nwatch_secs = 10\n",
            self.manifest_url, self.public_key_hex
        )
    }
}

const KEY_FILE: &str = "sandbox.key";

/// Serves `DIR/updates/` on loopback until the runtime ends and fills it in the background (a
/// debug binary takes a while to pack): the manifest appears, renamed into place, once the signed
/// archive is written.
pub async fn start(dir: &Path) -> anyhow::Result<SandboxUpdates> {
    let updates = dir.join("updates");
    crate::owner_only::create_dir(&updates)
        .with_context(|| format!("creating {}", updates.display()))?;
    let _ = std::fs::remove_file(updates.join("manifest.json"));
    let secret = sandbox_key(&updates)?;
    let version = next_patch(manifest::running_version())?;
    let name = format!("tsunagi-{version}-{}.tar.gz", manifest::this_target());
    let archive = updates.join(&name);
    let exe = std::env::current_exe().context("finding the running binary")?;
    let addr = serve(updates.clone()).await?;
    let (folder, release_version) = (updates.clone(), version.clone());
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_release(&exe, &folder, &name, &release_version, &secret) {
            tracing::warn!(error = %e, "demo: the sandbox update was not written");
        }
    });
    Ok(SandboxUpdates {
        manifest_url: format!("http://{addr}/manifest.json"),
        dir: updates,
        archive,
        version,
        public_key_hex: hex::encode(verify::public_key(&secret)),
    })
}

/// The signed archive of `exe`, then the manifest offering it.
fn write_release(
    exe: &Path,
    updates: &Path,
    name: &str,
    version: &str,
    secret: &[u8; 32],
) -> anyhow::Result<()> {
    let archive = updates.join(name);
    verify::write_signed_archive(exe, &archive, Some(secret))?;
    let (size, sha256) = verify::size_and_digest(&archive)?;
    let m = Manifest {
        releases: vec![Release {
            version: version.into(),
            channel: "sandbox".into(),
            target: manifest::this_target().into(),
            url: name.into(),
            sha256,
            size,
        }],
    };
    let tmp = updates.join(".manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&m).unwrap_or_default())?;
    std::fs::rename(&tmp, updates.join("manifest.json"))?;
    Ok(())
}

/// The sandbox's signing key: kept in `DIR/updates/sandbox.key` (owner-only), made once.
fn sandbox_key(updates: &Path) -> anyhow::Result<[u8; 32]> {
    let path = updates.join(KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(k) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(k);
        }
    }
    let key: [u8; 32] = rand::random();
    use std::io::Write;
    crate::owner_only::options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&key))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

fn next_patch(v: &str) -> anyhow::Result<String> {
    let mut v = semver::Version::parse(v)?;
    v.patch += 1;
    v.pre = semver::Prerelease::EMPTY;
    Ok(v.to_string())
}

/// Serves the files of `dir` (read on every request, so a corrupted archive is served corrupted)
/// on 127.0.0.1; the key file is never served.
pub async fn serve(dir: PathBuf) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/{name}", axum::routing::get(file))
        .with_state(dir);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "demo: the update server stopped");
        }
    });
    Ok(addr)
}

async fn file(State(dir): State<PathBuf>, UrlPath(name): UrlPath<String>) -> Response {
    let safe = !name.starts_with('.')
        && name != KEY_FILE
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !safe {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(dir.join(&name)).await {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_patch_version() {
        assert_eq!(next_patch("0.1.0").unwrap(), "0.1.1");
        assert_eq!(next_patch("1.2.9-rc.1").unwrap(), "1.2.10");
    }
}

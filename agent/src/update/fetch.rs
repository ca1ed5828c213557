//! Reading the manifest and the archive (through `self_update`'s download).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::config::check_url;
use super::error::{Result, UpdateError};

/// Largest manifest read.
const MANIFEST_LIMIT: u64 = 1024 * 1024;

fn download(url: &str, limit: u64, dest: impl Write) -> Result<()> {
    self_update::Download::from_url(url)
        .timeout(Duration::from_secs(300))
        .max_download_size(limit)
        .download_to(dest)
        .map_err(|e| UpdateError::Fetch {
            url: url.into(),
            reason: e.to_string(),
        })
}

/// The manifest's bytes.
pub fn manifest(url: &str) -> Result<Vec<u8>> {
    check_url("manifest_url", url)?;
    let mut out = Vec::new();
    download(url, MANIFEST_LIMIT, &mut out)?;
    Ok(out)
}

/// Downloads the archive into `dest` (never more than `size` bytes and a little).
pub fn archive(url: &str, size: u64, dest: &Path) -> Result<()> {
    check_url("archive url", url)?;
    let file = crate::owner_only::options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(dest)
        .map_err(|e| UpdateError::io(format!("creating {}", dest.display()), e))?;
    let mut writer = std::io::BufWriter::new(file);
    download(url, size.saturating_add(1), &mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| UpdateError::io(format!("writing {}", dest.display()), e.into_error()))?;
    file.sync_all()
        .map_err(|e| UpdateError::io(format!("writing {}", dest.display()), e))
}

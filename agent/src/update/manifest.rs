//! The update manifest: a small JSON file listing releases, and the choice among them.
//!
//! ```json
//! {"releases": [{"version": "0.1.1", "channel": "stable", "target": "x86_64-unknown-linux-gnu",
//!   "url": "tsunagi-0.1.1-x86_64-unknown-linux-gnu.tar.gz", "sha256": "…", "size": 12345}]}
//! ```
//! `url` may be relative to the manifest's own URL. `packaging/sign-release.sh` writes it.

use serde::{Deserialize, Serialize};

use super::error::{Result, UpdateError};

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub releases: Vec<Release>,
}

/// One signed archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub version: String,
    pub channel: String,
    /// The Rust target triple the binary is built for.
    pub target: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// What the manifest offers compared with the running version.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    /// The newest release is the running version.
    UpToDate(Release),
    /// A newer release.
    Newer(Release),
    /// Only older releases (installed only with `--allow-downgrade`).
    Older(Release),
}

impl Offer {
    pub fn release(&self) -> &Release {
        match self {
            Offer::UpToDate(r) | Offer::Newer(r) | Offer::Older(r) => r,
        }
    }
}

/// The running binary's version.
pub fn running_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The target triple this binary was built for.
pub fn this_target() -> &'static str {
    self_update::get_target()
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| UpdateError::Manifest {
            reason: e.to_string(),
        })?;
        for r in &m.releases {
            semver::Version::parse(&r.version).map_err(|e| UpdateError::Manifest {
                reason: format!("version {:?}: {e}", r.version),
            })?;
            let digest_ok = r.sha256.len() == 64 && r.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !digest_ok {
                return Err(UpdateError::Manifest {
                    reason: format!("release {}: sha256 is not 64 hex digits", r.version),
                });
            }
        }
        Ok(m)
    }

    /// The newest release for `channel` and `target`, compared with `running`.
    pub fn choose(&self, channel: &str, target: &str, running: &str) -> Result<Offer> {
        let version = |r: &Release| semver::Version::parse(&r.version).ok();
        let best = self
            .releases
            .iter()
            .filter(|r| r.channel == channel && r.target == target)
            .max_by_key(|r| version(r))
            .ok_or_else(|| UpdateError::NoRelease {
                channel: channel.into(),
                target: target.into(),
            })?;
        let running = semver::Version::parse(running).map_err(|e| UpdateError::Manifest {
            reason: format!("running version {running:?}: {e}"),
        })?;
        let offered = version(best);
        Ok(match offered.cmp(&Some(running)) {
            std::cmp::Ordering::Greater => Offer::Newer(best.clone()),
            std::cmp::Ordering::Equal => Offer::UpToDate(best.clone()),
            std::cmp::Ordering::Less => Offer::Older(best.clone()),
        })
    }
}

/// The release's archive URL: absolute, or relative to the manifest's directory.
pub fn archive_url(manifest_url: &str, release: &Release) -> String {
    if release.url.contains("://") {
        return release.url.clone();
    }
    let base = manifest_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(manifest_url);
    format!("{base}/{}", release.url.trim_start_matches('/'))
}

/// The archive's file name (the signature is bound to it): the last segment of its URL.
pub fn archive_name(release: &Release) -> String {
    let name = release.url.rsplit('/').next().unwrap_or("");
    let safe = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !name.starts_with('.')
        && name.ends_with(".tar.gz");
    if safe {
        name.to_string()
    } else {
        format!("tsunagi-{}.tar.gz", release.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, channel: &str) -> Release {
        Release {
            version: version.into(),
            channel: channel.into(),
            target: "t".into(),
            url: format!("tsunagi-{version}.tar.gz"),
            sha256: "0".repeat(64),
            size: 1,
        }
    }

    #[test]
    fn the_newest_release_of_the_channel_is_chosen() {
        let m = Manifest {
            releases: vec![
                release("0.1.1", "stable"),
                release("0.1.10", "stable"),
                release("0.2.0", "beta"),
            ],
        };
        let offer = m.choose("stable", "t", "0.1.2").unwrap();
        assert_eq!(offer, Offer::Newer(release("0.1.10", "stable")));
        assert!(matches!(
            m.choose("stable", "t", "0.1.10"),
            Ok(Offer::UpToDate(_))
        ));
        assert!(matches!(
            m.choose("nightly", "t", "0.1.0"),
            Err(UpdateError::NoRelease { .. })
        ));
    }

    #[test]
    fn an_older_release_is_an_older_offer() {
        let m = Manifest {
            releases: vec![release("0.0.9", "stable")],
        };
        assert!(matches!(
            m.choose("stable", "t", "0.1.0"),
            Ok(Offer::Older(_))
        ));
    }

    #[test]
    fn urls_are_relative_to_the_manifest() {
        let r = release("0.1.1", "stable");
        assert_eq!(
            archive_url("http://127.0.0.1:9/updates/manifest.json", &r),
            "http://127.0.0.1:9/updates/tsunagi-0.1.1.tar.gz"
        );
        assert_eq!(archive_name(&r), "tsunagi-0.1.1.tar.gz");
        let odd = Release {
            url: "https://x/../../etc".into(),
            ..r
        };
        assert_eq!(archive_name(&odd), "tsunagi-0.1.1.tar.gz");
    }

    #[test]
    fn a_manifest_with_a_bad_digest_or_version_is_refused() {
        assert!(Manifest::parse(b"{\"releases\": 3}").is_err());
        let bad = serde_json::json!({"releases": [{"version": "x", "channel": "stable",
            "target": "t", "url": "a.tar.gz", "sha256": "0", "size": 1}]});
        assert!(Manifest::parse(bad.to_string().as_bytes()).is_err());
    }
}

//! `tsunagi update check`: what the manifest offers, recorded in the state file.

use std::path::Path;

use super::config::UpdateConfig;
use super::error::Result;
use super::manifest::{self, Manifest, Offer};
use super::mode::Mode;
use super::state::{self, UpdateState};

/// What a check found.
#[derive(Debug, Clone)]
pub struct Checked {
    pub mode: Mode,
    pub manifest_url: String,
    pub offer: Offer,
    /// The offered version was rolled back before.
    pub failed_before: bool,
}

/// Reads the manifest and records what it offers.
pub fn check(upd: &UpdateConfig, data_dir: &Path) -> Result<Checked> {
    let mode = Mode::detect();
    let url = upd.manifest_url()?.to_string();
    let manifest = Manifest::parse(&super::fetch::manifest(&url)?)?;
    let offer = manifest.choose(
        &upd.channel,
        manifest::this_target(),
        manifest::running_version(),
    )?;
    let mut st = UpdateState::read_or_default(data_dir)?;
    st.mode = mode.name().into();
    st.checked_at = Some(state::now());
    st.available = match &offer {
        Offer::Newer(r) => Some(r.version.clone()),
        _ => None,
    };
    st.write(data_dir)?;
    Ok(Checked {
        failed_before: st.failed_before(&offer.release().version),
        mode,
        manifest_url: url,
        offer,
    })
}

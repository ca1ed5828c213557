//! Keeping the map and validate stages current: masters, mapping table and a loaded FHIR
//! package reloaded when the CLI changes them.

use super::*;

/// The map stage and what keeps it current.
pub(super) struct LiveTerminology {
    pub(super) mapper: Mapper,
    /// A connection to `terminology.db` whose `data_version` moves when another connection
    /// (the CLI) commits.
    pub(super) conn: Connection,
    pub(super) version: i64,
    pub(super) data_dir: std::path::PathBuf,
    pub(super) policies: crate::mapping::Policies,
}

impl LiveTerminology {
    /// Reloads masters and mapping table when the CLI changed them; keeps the old ones (and
    /// says so) when the new ones cannot be read. `Ok(true)` when `terminology.db` changed
    /// (the caller reloads a loaded FHIR package too). Fails when it cannot tell whether they
    /// changed (the caller fails its batch and tries again).
    pub(super) fn refresh(&mut self) -> Result<bool, StoreError> {
        let now = crate::masters::store::data_version(&self.conn)?;
        if now == self.version {
            return Ok(false);
        }
        match Mapper::open(&self.data_dir, self.policies) {
            Ok(m) => {
                self.mapper = m;
                self.version = now;
                for kind in crate::masters::MasterKind::ALL {
                    if let Some(v) = self.mapper.master_version(kind) {
                        tracing::info!(master = %kind, version = v, "master in use");
                    }
                }
                tracing::info!("masters or mapping table changed; reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "reloading the terminology failed; the previous one stays in use")
            }
        }
        Ok(true)
    }
}

/// The validation rules after `terminology.db` changed: the loaded FHIR package's, else the
/// built-in ones; `None` (the caller keeps its rules, and it is logged) when the stored
/// package cannot be read.
pub(super) fn rules_from_masters(conn: &Connection) -> Option<BundleValidator> {
    match crate::masters::fhir_package::active(conn) {
        Ok(Some((info, package))) => {
            tracing::info!(package = %package.id, version = %info.label, "FHIR package in use for validation");
            Some(BundleValidator::with_package(package))
        }
        Ok(None) => Some(BundleValidator::new()),
        Err(e) => {
            tracing::error!(error = %e, "reading the loaded FHIR package failed; the previous rules stay in use");
            None
        }
    }
}

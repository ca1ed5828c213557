//! Keeping the map and validate stages current: masters, mapping table and a loaded FHIR
//! package reloaded when the CLI changes them, and at once when a reload is requested
//! (SIGHUP, the Windows service's ParamChange: [`crate::reload_request`]).

use super::*;
use crate::masters::fhir_package;
use crate::store::terminology::TerminologyError;

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
        let now = crate::store::terminology::data_version(&self.conn)?;
        if now == self.version {
            return Ok(false);
        }
        match self.reopen_at(now) {
            Ok(()) => {
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

    /// Reads masters and mapping table again whether or not they changed (a requested reload).
    pub(super) fn reopen(&mut self) -> Result<(), TerminologyError> {
        // The version is read before the tables: a commit in between is seen again by the next
        // `refresh`, never missed.
        let now = crate::store::terminology::data_version(&self.conn)
            .map_err(crate::store::StoreError::from)?;
        self.reopen_at(now)
    }

    fn reopen_at(&mut self, version: i64) -> Result<(), TerminologyError> {
        self.mapper = crate::store::terminology::load(&self.data_dir, self.policies)?;
        self.version = version;
        Ok(())
    }

    /// The masters in use as `kind version, …`, for the reload's log line.
    fn masters_in_use(&self) -> String {
        let loaded: Vec<String> = crate::masters::MasterKind::ALL
            .into_iter()
            .filter_map(|kind| Some(format!("{kind} {}", self.mapper.master_version(kind)?)))
            .collect();
        if loaded.is_empty() {
            "none loaded".to_string()
        } else {
            loaded.join(", ")
        }
    }
}

/// The validation rules after `terminology.db` changed: the loaded FHIR package's, else the
/// built-in ones; `None` (the caller keeps its rules, and it is logged) when the stored
/// package cannot be read.
pub(super) fn rules_from_masters(conn: &Connection) -> Option<BundleValidator> {
    match fhir_package::active(conn) {
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

/// The same without the log line (a requested reload logs one line for everything).
fn read_rules(conn: &Connection) -> Result<BundleValidator, crate::masters::MasterError> {
    Ok(match fhir_package::active(conn)? {
        Some((_, package)) => BundleValidator::with_package(package),
        None => BundleValidator::new(),
    })
}

impl Processor {
    /// Re-reads masters, mapping table and the loaded FHIR package when a reload was
    /// requested, and logs one line saying what is in use now.
    pub(super) fn reload_if_requested(&mut self) {
        if self.reload.take() {
            self.reload_now();
        }
    }

    fn reload_now(&mut self) {
        let Some(t) = &mut self.terminology else {
            tracing::info!("reload: this processor maps nothing, so there is nothing to re-read; configuration changes need a restart / 再読み込みの対象がありません。設定の変更は再起動が必要です");
            return;
        };
        if let Err(e) = t.reopen() {
            tracing::error!(error = %e, "reload: the masters and mapping table could not be read again; the previous ones stay in use / マスター・対応表を読み直せません。以前のものを使い続けます");
            return;
        }
        let masters = t.masters_in_use();
        let mapping_rows = t.mapper.mapping_rows();
        // A package named by the config is part of the config: re-read at restart only.
        let rules = match self.rules_from_masters {
            true => read_rules(&t.conn).map(|v| self.validator = v),
            false => Ok(()),
        };
        self.publish_rules();
        let validation = self.rules_label();
        match rules {
            Ok(()) => tracing::info!(
                masters = %masters,
                mapping_rows,
                validation = %validation,
                "reload: re-read the masters, the mapping table and the loaded FHIR package; configuration changes need a restart / 再読み込み: マスター・対応表・読み込み済み FHIR パッケージを読み直しました。設定の変更は再起動が必要です"
            ),
            Err(e) => tracing::error!(
                masters = %masters,
                mapping_rows,
                validation = %validation,
                error = %e,
                "reload: re-read the masters and the mapping table; the loaded FHIR package could not be read, the previous rules stay in use; configuration changes need a restart / マスター・対応表を読み直しました。FHIR パッケージは読めないため以前の検証ルールを使います。設定の変更は再起動が必要です"
            ),
        }
    }
}

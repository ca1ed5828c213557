//! `[[source.mllp]]` as a source kind: a listener, its exposure checks and its certificate.

use std::path::Path;

use super::{MllpConfig, MllpListener, HL7V2_FORMAT};
use crate::source::kinds::{
    Described, Listening, SourceKind, SourceProblem, StartError, Started, Starting, Tls, Wiring,
};

/// HL7 v2 over MLLP listeners (`[[source.mllp]]`).
pub struct Listeners;

impl SourceKind for Listeners {
    const NAME: &'static str = "mllp";
    type Config = MllpConfig;

    fn describe(c: &MllpConfig) -> Described<'_> {
        Described {
            name: &c.name,
            charset: c.charset.as_deref(),
            listen: Some(c.listen),
            tls: c.tls.as_ref().map(|t| Tls {
                cert: &t.cert,
                key: &t.key,
            }),
            ..Described::default()
        }
    }

    fn problems(c: &MllpConfig) -> Vec<SourceProblem> {
        let each = c.problems().into_iter();
        each.map(|e| SourceProblem::of(&e, e.ja())).collect()
    }

    /// The TLS certificate and key can be loaded (paths are resolved by then).
    fn resolved_problems(c: &MllpConfig) -> Vec<SourceProblem> {
        let Err(e) = c.tls_acceptor() else {
            return Vec::new();
        };
        vec![SourceProblem {
            en: format!("source {}: {e}", c.name),
            ja: format!(
                "ソース {} の MLLP の TLS 証明書・鍵を確認してください",
                c.name
            ),
        }]
    }

    fn resolve_paths(c: &mut MllpConfig, base: &Path) {
        c.resolve_paths(base);
    }

    fn start<'a>(c: &'a MllpConfig, w: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a> {
        Box::pin(async move {
            let listener = MllpListener::bind(c.clone())
                .await
                .map_err(|e| StartError::unusable(&c.name, e))?;
            // The listener logs its address itself.
            started.listening.push(Listening {
                kind: Self::NAME,
                source: c.name.clone(),
                at: listener.local_addr().to_string(),
            });
            w.counters.watch_mllp(&c.name, listener.stats());
            let intake = w.intake(HL7V2_FORMAT.to_string())?;
            let (sd, name) = (w.shutdown.clone(), c.name.clone());
            started.tasks.push(tokio::spawn(async move {
                match listener.run(intake, sd).await {
                    Ok(counts) => tracing::info!(source = %name, ?counts, "MLLP listener stopped"),
                    Err(e) => tracing::error!(source = %name, error = %e, "MLLP listener stopped"),
                }
            }));
            Ok(())
        })
    }
}

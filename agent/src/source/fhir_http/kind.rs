//! `[[source.fhir]]` as a source kind: an endpoint, its exposure checks and its certificate.

use std::path::Path;

use super::{FhirConfig, FhirListener, FHIR_FORMAT};
use crate::source::kinds::{
    Described, Listening, SourceKind, SourceProblem, StartError, Started, Starting, Tls, Wiring,
};

/// FHIR REST endpoints (`[[source.fhir]]`).
pub struct Endpoints;

impl SourceKind for Endpoints {
    const NAME: &'static str = "fhir";
    type Config = FhirConfig;

    fn describe(c: &FhirConfig) -> Described<'_> {
        Described {
            name: &c.name,
            listen: Some(c.listen),
            tls: c.tls.as_ref().map(|t| Tls {
                cert: &t.cert,
                key: &t.key,
            }),
            ..Described::default()
        }
    }

    fn problems(c: &FhirConfig) -> Vec<SourceProblem> {
        let each = c.problems().into_iter();
        each.map(|e| SourceProblem::of(&e, e.ja())).collect()
    }

    /// The TLS files and the token file can be loaded.
    fn resolved_problems(c: &FhirConfig) -> Vec<SourceProblem> {
        let Err(e) = c.secrets() else {
            return Vec::new();
        };
        vec![SourceProblem {
            en: format!("source {}: {e}", c.name),
            ja: format!(
                "ソース {} の FHIR 受付の TLS 証明書・鍵・トークンファイルを確認してください",
                c.name
            ),
        }]
    }

    fn resolve_paths(c: &mut FhirConfig, base: &Path) {
        c.resolve_paths(base);
    }

    fn start<'a>(c: &'a FhirConfig, w: &'a Wiring<'a>, started: &'a mut Started) -> Starting<'a> {
        Box::pin(async move {
            let endpoint = FhirListener::bind(c.clone())
                .await
                .map_err(|e| StartError::unusable(&c.name, e))?;
            started.listening.push(Listening {
                kind: Self::NAME,
                source: c.name.clone(),
                at: endpoint.base_url(),
            });
            let intake = w.intake(FHIR_FORMAT.to_string())?;
            let sd = w.shutdown.clone();
            // The endpoint logs its address and, when it stops, its counts itself.
            started.tasks.push(tokio::spawn(async move {
                endpoint.run(intake, sd).await;
            }));
            Ok(())
        })
    }
}

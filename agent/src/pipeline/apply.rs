//! Writing one batch's decisions to the store, in one group-commit job.

use super::*;
use crate::store::patients::Remembered;

/// Writes the decisions of one batch; returns whether anything became sendable.
pub(super) fn apply(
    c: &Connection,
    decisions: Vec<(i64, Decision)>,
    complete: &HashSet<String>,
) -> Result<bool, StoreError> {
    let mut sendable = false;
    // Patients this batch changed into ones that can head a bundle, with the input that did.
    let mut changed: Vec<(String, i64)> = Vec::new();
    for (id, d) in decisions {
        // Dropped (or otherwise settled) by hand while it was being processed: that stands.
        if !inbox::is_received(c, id)? {
            continue;
        }
        // An input that is not (or no longer) processed into items has no mapping outcomes.
        if !matches!(d, Decision::Processed { .. }) {
            crate::store::items::record(c, id, &[])?;
        }
        match d {
            Decision::NotUsed => inbox::mark_processed(c, id)?,
            Decision::Version(v) => {
                v.apply(c, id)?;
                inbox::mark_processed(c, id)?;
            }
            Decision::Quarantine(reason) => {
                tracing::warn!(
                    inbox = id,
                    "input quarantined: see `tsunagi queue show I-{id}`"
                );
                inbox::quarantine(c, id, &reason)?;
            }
            Decision::Processed {
                version,
                bundles,
                held,
                patients,
                items,
            } => {
                crate::store::items::record(c, id, &items)?;
                if let Some(v) = &version {
                    v.apply(c, id)?;
                }
                for p in &patients {
                    let r = crate::store::patients::remember(c, &p.reference, &p.text, id)?;
                    if r == Remembered::Changed && complete.contains(&p.reference) {
                        changed.push((p.reference.clone(), id));
                    }
                }
                for (b, verdict, facts) in &bundles {
                    let nb = outbox::NewBundle {
                        inbox_id: id,
                        identifier: &b.identifier,
                        resource_type: &b.resource_type,
                        patient_ref: &b.patient_ref,
                        body: &b.body,
                        facts: outbox::Facts {
                            info_type: Some(facts.info_type.key()),
                            event_at: facts.event_at,
                        },
                    };
                    match verdict {
                        None => {
                            sendable = true;
                            outbox::insert_pending(c, &nb)?;
                        }
                        Some(findings) => {
                            tracing::warn!(inbox = id, "bundle failed validation and is held");
                            outbox::insert_invalid(c, &nb, findings)?;
                        }
                    }
                }
                for h in &held {
                    let info = crate::quality::InfoType::from_resource_type(&h.resource_type);
                    outbox::insert_held(
                        c,
                        &outbox::NewHeld {
                            inbox_id: id,
                            resource_type: &h.resource_type,
                            patient_ref: h.patient_ref.as_deref(),
                            reason: h.code(),
                            message: &format!("{} / {}", h.reason_en, h.reason_ja),
                            facts: outbox::Facts {
                                info_type: Some(info.key()),
                                event_at: None,
                            },
                        },
                    )?;
                }
                inbox::mark_processed(c, id)?;
            }
        }
    }
    // Replays are triggered by what changed (a stored Patient that can now head a bundle),
    // never by the input itself.
    for (reference, brought_by) in &changed {
        let waiting: Vec<i64> = outbox::inputs_waiting_for(c, std::slice::from_ref(reference))?
            .into_iter()
            .filter(|id| id != brought_by)
            .collect();
        if !waiting.is_empty() {
            inbox::replay(c, &waiting)?;
        }
    }
    Ok(sendable)
}

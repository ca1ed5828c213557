//! Writing one batch's decisions to the store, in one group-commit job.

use super::*;

/// Writes the decisions of one batch; returns whether anything became sendable.
pub(super) fn apply(
    c: &Connection,
    decisions: Vec<(i64, Decision)>,
    new_patients: &[String],
) -> Result<bool, StoreError> {
    let mut sendable = false;
    for (id, d) in decisions {
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
                for (reference, resource) in &patients {
                    c.execute(
                        "INSERT INTO patient (reference, resource, inbox_id, updated_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (reference) DO UPDATE SET resource = ?2, inbox_id = ?3, updated_at = ?4",
                        rusqlite::params![reference, resource.to_string(), id, crate::store::now_ms()],
                    )?;
                }
                for (b, verdict, facts) in &bundles {
                    let nb = outbox::NewBundle {
                        inbox_id: id,
                        identifier: &b.identifier,
                        resource_type: &b.resource_type,
                        patient_ref: &b.patient_ref,
                        body: &b.body,
                    };
                    let row = match verdict {
                        None => {
                            sendable = true;
                            outbox::insert_pending(c, &nb)?
                        }
                        Some(findings) => {
                            tracing::warn!(inbox = id, "bundle failed validation and is held");
                            outbox::insert_invalid(c, &nb, findings)?
                        }
                    };
                    set_facts(c, row, facts.info_type.key(), facts.event_at)?;
                }
                for h in &held {
                    let row = outbox::insert_held(
                        c,
                        id,
                        &h.resource_type,
                        h.patient_ref.as_deref(),
                        h.code(),
                        &format!("{} / {}", h.reason_en, h.reason_ja),
                    )?;
                    let info = crate::quality::InfoType::from_resource_type(&h.resource_type);
                    set_facts(c, row, info.key(), None)?;
                }
                inbox::mark_processed(c, id)?;
            }
        }
    }
    if !new_patients.is_empty() {
        let waiting = outbox::inputs_waiting_for(c, new_patients)?;
        if !waiting.is_empty() {
            inbox::replay(c, &waiting)?;
        }
    }
    Ok(sendable)
}

//! SS-MIX2 update rules: where a file stands among the versions of its order, and what a
//! withdrawal deletes upstream.

use super::*;

/// SS-MIX2 inputs of the batch being processed, by order key (not yet committed, so the
/// reader cannot see them): (inbox id, origin).
pub(super) type BatchVersions = HashMap<String, Vec<(i64, String)>>;

/// Where an SS-MIX2 file stands among the versions of its order (the storage's update rules:
/// the newest 発生日時 wins; a withdrawing condition flag ends the order).
pub(super) struct Ssmix2Version {
    pub(super) order_key: String,
    /// A newer version of the same order is already stored.
    pub(super) superseded: bool,
    /// Older versions already stored, whose items this one replaces.
    pub(super) older: Vec<i64>,
}

impl Ssmix2Version {
    pub(super) fn of(
        conn: &Connection,
        input: &inbox::Pending,
        name: &ssmix2::FileName,
        batch: &mut BatchVersions,
    ) -> Result<Self, StoreError> {
        let k = name.order_key();
        let order_key = format!("{}|{}|{}", k.patient_id, k.data_type, k.order_no);
        let mut siblings = inbox::order_siblings(conn, &input.source, &order_key, input.id)?;
        let in_batch = batch.entry(order_key.clone()).or_default();
        siblings.extend(in_batch.iter().cloned());
        in_batch.push((input.id, input.origin.clone()));
        let mut v = Ssmix2Version {
            order_key,
            superseded: false,
            older: Vec::new(),
        };
        for (id, origin) in siblings {
            let Ok(other) = ssmix2::parse_rel(&origin) else {
                continue;
            };
            if other.supersedes(name) {
                v.superseded = true;
            } else if name.supersedes(&other) {
                v.older.push(id);
            }
        }
        Ok(v)
    }

    /// Records the order key and supersedes what older versions produced.
    pub(super) fn apply(&self, c: &Connection, id: i64) -> Result<(), StoreError> {
        inbox::set_order_key(c, id, &self.order_key)?;
        if !self.superseded {
            for old in &self.older {
                // What a superseded version carried is no longer a gap to map.
                crate::store::items::record(c, *old, &[])?;
                outbox::supersede_unsent(c, *old)?;
            }
        }
        Ok(())
    }
}

/// SS-MIX2 data types whose withdrawal (condition flag 0) deletes what their earlier versions
/// sent: the report unit of a 病名 file (all the patient's diagnoses), of a lab result (one
/// report) and of an allergy message. Other data types' withdrawals only stop what was not
/// sent yet.
pub(super) const WITHDRAWABLE: &[&str] = &["PPR-01", "OML-11", "ADT-61"];

impl Processor {
    /// An SS-MIX2 file that withdraws its order: the bundles its earlier versions sent are
    /// deleted upstream by Patient-only bundles under the same identifiers.
    pub(super) fn withdraw(
        &self,
        input: &inbox::Pending,
        fresh: &HashMap<String, std::sync::Arc<str>>,
        version: Ssmix2Version,
    ) -> Result<Decision, StoreError> {
        let mut sent: Vec<(String, String, String)> = Vec::new();
        for old in &version.older {
            let rows = outbox::sent_bundles(&self.reader, *old)?;
            sent.extend(rows);
        }
        sent.sort();
        sent.dedup();
        let received_at = chrono::DateTime::from_timestamp_millis(input.received_at)
            .unwrap_or_default()
            .with_timezone(&jst());
        let ctx = BuildContext {
            input_key: &input.content_hash,
            received_at,
        };
        let dir = Directory::new(&self.reader, fresh);
        let (mut bundles, mut held) = (Vec::new(), Vec::new());
        for (identifier, resource_type, patient_ref) in &sent {
            let Some(patient) = dir.patient(patient_ref) else {
                continue;
            };
            let withdrawal = crate::build::Withdrawal {
                identifier,
                resource_type,
                patient_ref,
                patient: &patient,
            };
            match self.builder.deletion(&ctx, &withdrawal) {
                Ok(b) => {
                    let checked = check_bundle(&self.validator, self.strict, b);
                    bundles.push((checked.bundle, checked.verdict, checked.facts));
                }
                Err(h) => held.push(h),
            }
        }
        dir.into_result()?;
        Ok(Decision::Processed {
            version: Some(version),
            bundles,
            held,
            patients: Vec::new(),
            items: Vec::new(),
        })
    }
}

//! Withdrawing a report unit upstream: [`BundleBuilder::deletion`] builds the Patient-only
//! JP_Bundle_CLINS that, sent under the identifier of the unit's earlier bundles, deletes
//! everything the platform holds under it (the IG's rule for a bundle with only a Patient).
//! Canonical builds emit such bundles by themselves when every item of a unit is withdrawn;
//! this entry point serves the store, which knows what was sent.

use crate::build::HoldReason;
use serde_json::Value;

use super::{assemble, canonical, clins, patients, BuildContext, BuiltBundle, BundleBuilder, Held};

/// A unit to withdraw upstream: everything [`BundleBuilder::deletion`] needs.
#[derive(Clone, Copy)]
pub struct Withdrawal<'a> {
    /// The identifier the unit was sent under (`BuiltBundle::identifier`).
    pub identifier: &'a str,
    /// `Condition`, `AllergyIntolerance` or `Observation`.
    pub resource_type: &'a str,
    /// The patient's key (`BuiltBundle::patient_ref`).
    pub patient_ref: &'a str,
    /// The patient's JP_Patient_eCS resource.
    pub patient: &'a Value,
}

impl BundleBuilder {
    /// The Patient-only bundle that deletes a unit upstream (all its items were withdrawn),
    /// under the identifier the unit was sent with. Held when the identifier, type or
    /// patient would be rejected.
    pub fn deletion(
        &self,
        ctx: &BuildContext<'_>,
        withdrawal: &Withdrawal<'_>,
    ) -> Result<BuiltBundle, Held> {
        let kind = withdrawal.resource_type;
        let held = |code: HoldReason, en: &str, ja: &str| Held {
            reason_en: en.into(),
            reason_ja: ja.into(),
            resource_type: kind.into(),
            code,
            patient_ref: Some(withdrawal.patient_ref.to_string()),
        };
        if !clins::FIVE_INFO_TYPES.contains(&kind) {
            return Err(held(
                HoldReason::Unsupported,
                "only Condition, AllergyIntolerance and Observation units can be deleted",
                "削除できるのは傷病名・アレルギー・検査の単位のみです",
            ));
        }
        let prefix = format!("{}^", self.settings.institution_number);
        if !withdrawal.identifier.starts_with(&prefix)
            || withdrawal.identifier.split('^').count() != 3
        {
            return Err(held(
                HoldReason::Unsupported,
                "the identifier is not one this institution sends",
                "この医療機関が送信した識別子ではありません",
            ));
        }
        canonical::sendable(withdrawal.patient, kind).map_err(|mut h| {
            h.patient_ref = Some(withdrawal.patient_ref.to_string());
            h
        })?;
        let patient = patients::ResolvedPatient {
            key: withdrawal.patient_ref.to_string(),
            json: withdrawal.patient.clone(),
            aliases: Vec::new(),
            member_id: None,
        };
        let unit = assemble::Unit {
            resource_type: kind,
            patient: &patient,
            report_key: "",
            resources: Vec::new(),
        };
        Ok(assemble::assemble_as(
            &self.settings,
            ctx,
            &unit,
            withdrawal.identifier.to_string(),
        ))
    }
}

//! What became of one coded item: the one [`Outcome`] type of the map stage.
//!
//! [`super::resolve`] decides it for a received code, the [`super::InputMapper`] adds the
//! category's policy (an unmapped code is [`Outcome::Held`] when the policy says so) and
//! answers the builder with it ([`super::Terminology`]), and the same value is recorded per
//! item ([`ItemOutcome`]) for the store, which writes it as text ([`ItemState::as_str`],
//! [`Via::as_str`]) and reads it back with `FromStr`.
//!
//! | outcome | the builder | recorded as |
//! |---|---|---|
//! | `Mapped` | writes the answered codings | `mapped`, via `direct`/`table` |
//! | `Unmapped` | writes the category's uncoded marker beside them | `unmapped` |
//! | `Held` | does not send the item (`unmapped-held`) | `unmapped` |
//! | `Invalid` | does not send the item (`mapping-invalid`) | `invalid` |

use std::fmt;
use std::str::FromStr;

use super::category::Category;

/// A reason in both languages (no patient values: reasons are shown to users and stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// English.
    pub en: String,
    /// Japanese.
    pub ja: String,
}

/// How a standard code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The source already sent a standard code.
    Direct,
    /// The hospital's mapping table.
    Table,
}

/// Why a mapping-table row cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMapping {
    /// The row's standard system is not one of the category's.
    #[error("mapping to {system:?} is not allowed for {category} / 区分 {category} ではコード体系「{system}」に対応付けできません")]
    SystemNotAllowed {
        /// Category.
        category: Category,
        /// The row's system.
        system: String,
    },
    /// The row's standard code has the wrong shape.
    #[error(
        "mapped code {code:?} of {system} is malformed: {en} / 対応付け先コードの書式誤り: {ja}"
    )]
    Malformed {
        /// System.
        system: String,
        /// Code.
        code: String,
        /// English detail.
        en: String,
        /// Japanese detail.
        ja: String,
    },
    /// The row's standard code is not in the master.
    #[error("mapped code {code:?} is not in the master of {system} / 対応付け先コード「{code}」はマスターにありません")]
    NotInMaster {
        /// System.
        system: String,
        /// Code.
        code: String,
    },
}

/// Why an item is refused (held, never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The hospital's mapping table maps the code to something unusable.
    Mapping(InvalidMapping),
    /// The received code itself is wrong (e.g. not a 病名管理番号 although labelled so).
    Code(Reason),
}

impl Invalid {
    /// The reason shown with the held item.
    pub fn reason(&self) -> Reason {
        match self {
            Invalid::Code(r) => r.clone(),
            Invalid::Mapping(e) => {
                let text = e.to_string();
                let (en, ja) = text.split_once(" / ").unwrap_or((&text, &text));
                Reason {
                    en: format!("{en}; fix the mapping table (tsunagi mapping check)"),
                    ja: format!("{ja}（tsunagi mapping check で対応表を確認してください）"),
                }
            }
        }
    }
}

/// What became of one coded item. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A standard code.
    Mapped {
        /// How it was found.
        via: Via,
        /// `true` when a loaded master confirmed the code; `false` when that master is absent.
        verified: bool,
    },
    /// No standard code: sent with the category's uncoded marker.
    Unmapped {
        /// `true` when a mapping row says explicitly that no standard code exists (reviewed).
        reviewed: bool,
    },
    /// No standard code, and the category's policy holds such items until one is mapped.
    Held(Reason),
    /// The received code or the mapping table is wrong: held, never sent.
    Invalid(Invalid),
}

impl Outcome {
    /// Whether the item has a standard code.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Outcome::Mapped { .. })
    }

    /// Whether the item is sent with the uncoded marker.
    pub fn is_unmapped(&self) -> bool {
        matches!(self, Outcome::Unmapped { .. })
    }

    /// The state recorded for the item.
    pub fn state(&self) -> ItemState {
        match self {
            Outcome::Mapped { .. } => ItemState::Mapped,
            Outcome::Unmapped { .. } | Outcome::Held(_) => ItemState::Unmapped,
            Outcome::Invalid(_) => ItemState::Invalid,
        }
    }

    /// How a mapped item's standard code was found.
    pub fn via(&self) -> Option<Via> {
        match self {
            Outcome::Mapped { via, .. } => Some(*via),
            _ => None,
        }
    }
}

/// The state an item is recorded in (`item_code.outcome`): what `tsunagi mapping suggest`,
/// `replay --unmapped` and the quality report select by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemState {
    /// A standard code was sent.
    Mapped,
    /// No standard code (sent with the marker, or held by policy).
    Unmapped,
    /// The mapping table names a code the master refuses.
    Invalid,
}

/// Text that is not a recorded state or way (a newer tsunagi wrote it, or the row is damaged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mapping outcome {0:?} / 不明な対応付け結果です")]
pub struct UnknownOutcome(pub String);

impl ItemState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Mapped => "mapped",
            ItemState::Unmapped => "unmapped",
            ItemState::Invalid => "invalid",
        }
    }
}

impl FromStr for ItemState {
    type Err = UnknownOutcome;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ItemState::Mapped, ItemState::Unmapped, ItemState::Invalid]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownOutcome(s.to_string()))
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Via {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Table => "table",
        }
    }
}

impl FromStr for Via {
    type Err = UnknownOutcome;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Via::Direct, Via::Table]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownOutcome(s.to_string()))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What became of one coded item (a diagnosis, a lab result, an allergen, a drug) of an input:
/// the code it arrived with and its [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOutcome {
    /// The item's category.
    pub category: Category,
    /// The sending system (MSH-3) or the source name.
    pub source_system: String,
    /// The code system as received (`99XYZ`, `JC10`, …).
    pub local_system: String,
    /// The code as received (empty when the item carried none).
    pub local_code: String,
    /// The local code's name, when known.
    pub local_name: Option<String>,
    /// Unit (labs).
    pub unit: Option<String>,
    /// Specimen (labs).
    pub specimen: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// The standard code system, for mapped items.
    pub standard_system: Option<String>,
    /// The standard code, for mapped items.
    pub standard_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_ways_round_trip_through_their_text() {
        for s in [ItemState::Mapped, ItemState::Unmapped, ItemState::Invalid] {
            assert_eq!(s.as_str().parse::<ItemState>(), Ok(s));
        }
        for v in [Via::Direct, Via::Table] {
            assert_eq!(v.as_str().parse::<Via>(), Ok(v));
        }
        assert!("held".parse::<ItemState>().is_err());
        let held = Outcome::Held(Reason {
            en: "e".into(),
            ja: "j".into(),
        });
        assert_eq!(held.state(), ItemState::Unmapped);
        assert_eq!(held.via(), None);
    }
}

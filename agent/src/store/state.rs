//! The states of an input (`inbox.state`) and of an outbox item (`outbox.state`), and the moves
//! between them: the one place that says which move is allowed.
//!
//! ```text
//! outbox:
//!   (built) ──▶ pending ──claim──▶ in_flight ──accepted──▶ delivered
//!   (built) ──▶ held        ▲         │ ├──rejected (4xx)──▶ rejected
//!                           │         │ └──written (shared folder)──▶ awaiting ──result──▶ delivered / rejected / pending
//!                           └─────────┘ transient / ambiguous (backoff), interrupted (start, shutdown)
//!   rejected, dead, held (invalid) ──queue retry──▶ pending
//!   pending, held, rejected, dead ──replay / a newer SS-MIX2 version──▶ superseded
//!   pending, rejected, held, awaiting ──queue drop --reason──▶ dead
//!   delivered and superseded are final.
//!
//! inbox:
//!   (stored) ──▶ received ──processed──▶ processed
//!                         └─not decodable─▶ quarantined
//!   processed, quarantined ──replay / queue retry──▶ received
//!   received, processed, quarantined ──queue drop I-n --reason──▶ dropped (final: never replayed)
//! ```
//!
//! Every SQL statement of the store that changes a state names its move as a [`Move`] (or an
//! [`InputMove`]); those constants are checked against the tables below when the crate is
//! compiled, so a move the table does not allow cannot be written.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// The delivery state of an outbox item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent (possibly backing off until `next_attempt_at`).
    Pending,
    /// Claimed by the sender; the answer is not known yet.
    InFlight,
    /// Written to the shared folder; the platform's result file has not come back yet.
    Awaiting,
    /// The platform has it.
    Delivered,
    /// The platform refused it for good (its reason in `last_error`).
    Rejected,
    /// Not sent: patient unknown, unsupported, invalid, … (`hold_reason`).
    Held,
    /// Replaced by a newer processing of its input; never sent.
    Superseded,
    /// Given up by hand (`queue drop`), with the reason in the audit table.
    Dead,
}

impl OutboxState {
    /// Every state, in the order `status` and `/metrics` list them.
    pub const ALL: [OutboxState; 8] = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Awaiting,
        OutboxState::Delivered,
        OutboxState::Rejected,
        OutboxState::Held,
        OutboxState::Dead,
        OutboxState::Superseded,
    ];

    /// Not finished: the item is still on its way to the platform.
    pub const UNSETTLED: [OutboxState; 3] = [
        OutboxState::Pending,
        OutboxState::InFlight,
        OutboxState::Awaiting,
    ];

    /// The name stored in `outbox.state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::InFlight => "in_flight",
            OutboxState::Awaiting => "awaiting",
            OutboxState::Delivered => "delivered",
            OutboxState::Rejected => "rejected",
            OutboxState::Held => "held",
            OutboxState::Superseded => "superseded",
            OutboxState::Dead => "dead",
        }
    }

    /// The transition table: whether an item in `self` may move to `next`.
    pub const fn can_move_to(self, next: OutboxState) -> bool {
        use OutboxState::*;
        match self {
            // claim; give up by hand; a replay or a newer SS-MIX2 version replaces it
            Pending => matches!(next, InFlight | Dead | Superseded),
            // the attempt's outcome; back to pending when interrupted or backing off
            InFlight => matches!(next, Delivered | Rejected | Awaiting | Pending),
            // the result file's outcome; give up by hand
            Awaiting => matches!(next, Delivered | Rejected | Pending | Dead),
            // queue retry; give up by hand; replay
            Rejected => matches!(next, Pending | Dead | Superseded),
            // queue retry (invalid items); give up by hand; replay rebuilds it
            Held => matches!(next, Pending | Dead | Superseded),
            // queue retry; replay
            Dead => matches!(next, Pending | Superseded),
            Delivered | Superseded => false,
        }
    }
}

/// The processing state of a stored input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputState {
    /// Committed, not processed yet (or put back by a replay).
    Received,
    /// Processed: its outbox rows exist.
    Processed,
    /// Could not be decoded or parsed; `error` says why.
    Quarantined,
    /// Given up by hand (`queue drop I-n`); never processed again.
    Dropped,
}

impl InputState {
    /// Every state.
    pub const ALL: [InputState; 4] = [
        InputState::Received,
        InputState::Processed,
        InputState::Quarantined,
        InputState::Dropped,
    ];

    /// The name stored in `inbox.state`.
    pub const fn as_str(self) -> &'static str {
        match self {
            InputState::Received => "received",
            InputState::Processed => "processed",
            InputState::Quarantined => "quarantined",
            InputState::Dropped => "dropped",
        }
    }

    /// The transition table: whether an input in `self` may move to `next`.
    pub const fn can_move_to(self, next: InputState) -> bool {
        use InputState::*;
        match self {
            Received => matches!(next, Processed | Quarantined | Dropped),
            Processed | Quarantined => matches!(next, Received | Dropped),
            Dropped => false,
        }
    }
}

/// One kind of move of outbox items: from any of `from` to `to`. Constants of this type are
/// checked against [`OutboxState::can_move_to`] at compile time.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    /// The states an item may be in for this move to apply.
    pub from: &'static [OutboxState],
    /// Where it goes.
    pub to: OutboxState,
}

impl Move {
    /// A move; fails to compile (in a `const`) if the table does not allow it.
    pub const fn new(from: &'static [OutboxState], to: OutboxState) -> Move {
        let mut i = 0;
        while i < from.len() {
            assert!(from[i].can_move_to(to), "outbox move not allowed");
            i += 1;
        }
        Move { from, to }
    }

    /// `'a', 'b'`: the source states as an SQL list (state names are fixed words, never input).
    pub fn sources_sql(&self) -> String {
        sql_list(self.from.iter().map(|s| s.as_str()))
    }
}

/// One kind of move of inputs: from any of `from` to `to`, checked like [`Move`].
#[derive(Debug, Clone, Copy)]
pub struct InputMove {
    /// The states an input may be in for this move to apply.
    pub from: &'static [InputState],
    /// Where it goes.
    pub to: InputState,
}

impl InputMove {
    /// A move; fails to compile (in a `const`) if the table does not allow it.
    pub const fn new(from: &'static [InputState], to: InputState) -> InputMove {
        let mut i = 0;
        while i < from.len() {
            assert!(from[i].can_move_to(to), "input move not allowed");
            i += 1;
        }
        InputMove { from, to }
    }

    /// The source states as an SQL list.
    pub fn sources_sql(&self) -> String {
        sql_list(self.from.iter().map(|s| s.as_str()))
    }
}

/// `'a', 'b'` from fixed state names.
pub fn sql_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A state name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {given:?}; valid states: {valid} / 状態 {given:?} は不明です。指定できる状態: {valid}")]
pub struct UnknownState {
    /// What was given.
    pub given: String,
    /// The valid names, comma-separated.
    pub valid: String,
}

fn unknown<'a>(given: &str, valid: impl IntoIterator<Item = &'a str>) -> UnknownState {
    UnknownState {
        given: given.to_string(),
        valid: valid.into_iter().collect::<Vec<_>>().join(", "),
    }
}

impl FromStr for OutboxState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutboxState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| unknown(s, OutboxState::ALL.iter().map(|s| s.as_str())))
    }
}

impl FromStr for InputState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| unknown(s, InputState::ALL.iter().map(|s| s.as_str())))
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for InputState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for OutboxState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for InputState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

fn from_sql<T: FromStr<Err = UnknownState>>(value: ValueRef<'_>) -> FromSqlResult<T> {
    value
        .as_str()?
        .parse()
        .map_err(|e: UnknownState| FromSqlError::Other(Box::new(e)))
}

impl FromSql for OutboxState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        from_sql(value)
    }
}

impl FromSql for InputState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        from_sql(value)
    }
}

#[cfg(test)]
mod tests {
    use super::InputState as I;
    use super::OutboxState as O;

    #[test]
    fn the_outbox_table_allows_exactly_the_documented_moves() {
        let allowed = [
            (O::Pending, O::InFlight),
            (O::Pending, O::Dead),
            (O::Pending, O::Superseded),
            (O::InFlight, O::Delivered),
            (O::InFlight, O::Rejected),
            (O::InFlight, O::Awaiting),
            (O::InFlight, O::Pending),
            (O::Awaiting, O::Delivered),
            (O::Awaiting, O::Rejected),
            (O::Awaiting, O::Pending),
            (O::Awaiting, O::Dead),
            (O::Rejected, O::Pending),
            (O::Rejected, O::Dead),
            (O::Rejected, O::Superseded),
            (O::Held, O::Pending),
            (O::Held, O::Dead),
            (O::Held, O::Superseded),
            (O::Dead, O::Pending),
            (O::Dead, O::Superseded),
        ];
        for from in O::ALL {
            for to in O::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn delivered_and_superseded_items_and_dropped_inputs_are_final() {
        for s in O::ALL {
            assert!(!O::Delivered.can_move_to(s), "delivered → {s}");
            assert!(!O::Superseded.can_move_to(s), "superseded → {s}");
            assert!(
                !O::InFlight.can_move_to(O::Dead),
                "a send in progress is never dropped"
            );
        }
        for s in I::ALL {
            assert!(!I::Dropped.can_move_to(s), "dropped → {s}");
        }
    }

    #[test]
    fn the_input_table_allows_exactly_the_documented_moves() {
        let allowed = [
            (I::Received, I::Processed),
            (I::Received, I::Quarantined),
            (I::Received, I::Dropped),
            (I::Processed, I::Received),
            (I::Processed, I::Dropped),
            (I::Quarantined, I::Received),
            (I::Quarantined, I::Dropped),
        ];
        for from in I::ALL {
            for to in I::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_an_unknown_one_lists_the_valid_ones() {
        for s in O::ALL {
            assert_eq!(s.as_str().parse::<O>().unwrap(), s);
        }
        for s in I::ALL {
            assert_eq!(s.as_str().parse::<I>().unwrap(), s);
        }
        let err = "sent".parse::<O>().unwrap_err().to_string();
        assert!(
            err.contains("in_flight") && err.contains("superseded"),
            "{err}"
        );
        assert!(err.contains("不明"), "{err}");
    }

    #[test]
    fn states_are_stored_and_read_by_name() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let (o, i): (String, String) = conn
            .query_row(
                "SELECT ?1, ?2",
                rusqlite::params![O::InFlight, I::Quarantined],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((o.as_str(), i.as_str()), ("in_flight", "quarantined"));
        let back: O = conn.query_row("SELECT 'held'", [], |r| r.get(0)).unwrap();
        assert_eq!(back, O::Held);
        let bad = conn.query_row("SELECT 'sent'", [], |r| r.get::<_, O>(0));
        assert!(
            bad.is_err(),
            "an unknown stored state is an error, not a guess"
        );
    }
}

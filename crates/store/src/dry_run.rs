//! What a dry run's earlier batches would have written, carried to the batches after them.
//!
//! A dry run reads a sheet in batches, each counted in a read-only snapshot that writes nothing,
//! so the database never holds what an earlier batch made. The identity rule of a later batch
//! must still see it (a person the sheet names twice is new once, then a duplicate): the people
//! each batch created or gave an identifier, and the memberships it made, are kept here in
//! memory and read by the next batch as if they were rows of the database. Bounded: past
//! [`CARRY_LIMIT`] entries it stops learning, and says from which line its counts may differ.

use chrono::{DateTime, Utc};
use sangathan_core::identity::Known;

use crate::FastMap;

/// People and memberships a dry run carries at most (about 360 bytes each, measured: a dry run of
/// 1,000,000 new members, 1,999,972 entries, peaked 0.7 GB above one that carried nothing). A
/// dry run of a sheet of up to about a million rows is exact.
pub const CARRY_LIMIT: usize = 2_000_000;

/// A membership as an enrolment's outcome needs it (the database's, or one a dry run's earlier
/// batch made).
#[derive(Clone)]
pub(crate) struct Held {
    pub(crate) number: String,
    pub(crate) status: String,
    pub(crate) at: DateTime<Utc>,
    pub(crate) unit: String,
}

/// A dry run's memory of its earlier batches (see the module's documentation).
pub struct DryRun {
    /// People an earlier batch created or gave an identifier, as that batch left them.
    pub(crate) people: FastMap<i64, Known>,
    pub(crate) by_epic: FastMap<String, i64>,
    pub(crate) by_mobile: FastMap<String, Vec<i64>>,
    /// Memberships earlier batches made: person → (wing, membership).
    pub(crate) held: FastMap<i64, Vec<(i64, Held)>>,
    /// The id for the next new person: below zero, below every one an earlier batch gave (no
    /// row is written, and ids from the database could meet those enrolments take meanwhile).
    pub(crate) next_id: i64,
    /// Entries at most (see [`CARRY_LIMIT`]).
    limit: usize,
    memberships: usize,
    /// The carry reached its bound: it learns nothing more.
    stopped: bool,
    /// The line after the first batch it did not learn.
    inexact_from: Option<u64>,
}

impl Default for DryRun {
    fn default() -> Self {
        Self::with_limit(CARRY_LIMIT)
    }
}

impl DryRun {
    pub fn new() -> Self {
        Self::default()
    }

    /// A carry of at most `limit` people and memberships.
    pub fn with_limit(limit: usize) -> Self {
        DryRun {
            people: FastMap::default(),
            by_epic: FastMap::default(),
            by_mobile: FastMap::default(),
            held: FastMap::default(),
            next_id: -1,
            limit,
            memberships: 0,
            stopped: false,
            inexact_from: None,
        }
    }

    /// Its bound, in people and memberships.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The line from which the counts may differ from a real import's: the line after the first
    /// batch the carry did not learn (its bound reached), if any.
    pub fn inexact_from(&self) -> Option<u64> {
        self.inexact_from
    }

    /// A batch was counted (`next_line`: the line after its last row); if the carry could not
    /// learn it, the counts from `next_line` on may differ.
    pub(crate) fn counted(&mut self, next_line: u64) {
        if self.stopped && self.inexact_from.is_none() {
            self.inexact_from = Some(next_line);
        }
    }

    /// Learn a batch's people (as it left them) and new memberships (person, wing, membership);
    /// `false` when the bound stops it (nothing of the batch is learnt).
    pub(crate) fn learn(&mut self, people: Vec<Known>, held: Vec<(i64, i64, Held)>) -> bool {
        let more = people.iter().filter(|k| !self.people.contains_key(&k.person_id)).count() + held.len();
        if self.stopped || self.people.len() + self.memberships + more > self.limit {
            self.stopped = true;
            return false;
        }
        for k in people {
            self.next_id = self.next_id.min(k.person_id - 1);
            if let Some(x) = &k.epic {
                self.by_epic.insert(x.as_str().to_string(), k.person_id);
            }
            if let Some(m) = &k.mobile {
                let on = self.by_mobile.entry(m.e164().to_string()).or_default();
                if !on.contains(&k.person_id) {
                    on.push(k.person_id);
                }
            }
            self.people.insert(k.person_id, k);
        }
        self.memberships += held.len();
        for (person, wing, h) in held {
            self.held.entry(person).or_default().push((wing, h));
        }
        true
    }
}

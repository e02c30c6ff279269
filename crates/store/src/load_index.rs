//! A first load's identity index, held by the loading process (docs/first-load.md).
//!
//! While a state's first load runs, the people table's identity indexes that the load leaves out
//! (`Store::defer_indexes`: mobile with name key everywhere, EPIC too on PostgreSQL) cannot
//! answer "who holds this mobile or EPIC". This index does, for the process that owns the load:
//! for every person in the database, their mobile and EPIC, as 64-bit keys pointing at person
//! ids. It is a superset: a key leads to every person who may hold it (households share a
//! mobile; two EPICs may share a hash), and the rows themselves, read by primary key, decide. It
//! learns a batch's people only after the batch commits, and is rebuilt from the rows when a
//! load resumes. Other writers of people are refused while the load is pending, so nothing it
//! does not know can appear.

use crate::FastMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Keys to the people who may hold them: the last id added per key, then a chain through the
/// rest (by key and id, so that one person may sit in several chains: an identifier added to them,
/// or an old one still listed).
#[derive(Default)]
struct Chains {
    first: FastMap<u64, i64>,
    next: FastMap<(u64, i64), i64>,
}

impl Chains {
    fn ids(&self, key: u64) -> impl Iterator<Item = i64> + '_ {
        std::iter::successors(self.first.get(&key).copied(), move |id| self.next.get(&(key, *id)).copied())
    }

    fn add(&mut self, key: u64, id: i64) {
        if self.ids(key).any(|i| i == id) {
            return;
        }
        if let Some(prev) = self.first.insert(key, id) {
            self.next.insert((key, id), prev);
        }
    }
}

/// The loading process's index, with the token that names it as the load's owner.
pub(crate) struct LoadIndex {
    pub(crate) owner: String,
    mobile: Chains,
    epic: Chains,
}

/// A mobile as stored (`+91` and ten digits): its digits are its key.
fn mobile_key(m: &str) -> u64 {
    m.bytes().filter(u8::is_ascii_digit).fold(0u64, |k, b| k.wrapping_mul(10).wrapping_add((b - b'0') as u64))
}

/// An EPIC as stored: a fixed-key hash (collisions only widen the candidates).
fn epic_key(e: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(e)
}

impl LoadIndex {
    pub(crate) fn new(owner: String) -> Self {
        LoadIndex { owner, mobile: Chains::default(), epic: Chains::default() }
    }

    /// Ids of everyone who may hold one of these EPICs or mobiles (as stored), each once.
    pub(crate) fn candidates<'a>(&self, epics: impl Iterator<Item = &'a str>, mobiles: impl Iterator<Item = &'a str>) -> Vec<i64> {
        let mut ids: Vec<i64> = epics
            .flat_map(|e| self.epic.ids(epic_key(e)))
            .chain(mobiles.flat_map(|m| self.mobile.ids(mobile_key(m))))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// A person's identifiers, as stored, now in the database (created, or added to them).
    pub(crate) fn learn(&mut self, id: i64, mobile: Option<&str>, epic: Option<&str>) {
        if let Some(m) = mobile {
            self.mobile.add(mobile_key(m), id);
        }
        if let Some(e) = epic {
            self.epic.add(epic_key(e), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn households_share_a_mobile_and_each_id_comes_once() {
        let mut ix = LoadIndex::new("t".into());
        ix.learn(1, Some("+919876543210"), Some("ABC1234567"));
        ix.learn(2, Some("+919876543210"), None);
        ix.learn(3, Some("+919876543211"), Some("XYZ7654321"));
        ix.learn(2, Some("+919876543210"), None);
        assert_eq!(ix.candidates(std::iter::empty(), ["+919876543210"].into_iter()), vec![1, 2]);
        assert_eq!(ix.candidates(["XYZ7654321"].into_iter(), ["+919876543210"].into_iter()), vec![1, 2, 3]);
        assert_eq!(ix.candidates(["ABC1234567"].into_iter(), std::iter::empty()), vec![1]);
        assert!(ix.candidates(["ABC0000000"].into_iter(), ["+910000000000"].into_iter()).is_empty());
        // An identifier added later joins the person's chain.
        ix.learn(2, None, Some("PQR1111111"));
        assert_eq!(ix.candidates(["PQR1111111"].into_iter(), std::iter::empty()), vec![2]);
        // A person in two chains of one kind (a mobile that changed) keeps both chains whole.
        ix.learn(3, Some("+919876543210"), None);
        assert_eq!(ix.candidates(std::iter::empty(), ["+919876543210"].into_iter()), vec![1, 2, 3]);
        ix.learn(4, Some("+919876543211"), None);
        assert_eq!(ix.candidates(std::iter::empty(), ["+919876543211"].into_iter()), vec![3, 4]);
    }
}

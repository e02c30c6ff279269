//! The answers of `Store::authenticate` kept for a moment, so that a busy client's every request
//! does not read the token table (on SQLite each read is a hand-off to a reader thread and back).
//!
//! Only valid tokens are kept, by their hash. An entry lasts [`AuthCache::TTL`] and no longer
//! than the store's revocation epoch it was read under: this process's revocations (a user
//! disabled, a person erased) bump the epoch after their commit, so they apply to the next
//! request at once; a revocation by another process (the CLI beside a running server) applies
//! within the TTL.

use crate::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct AuthCache {
    /// Token hash → (the token's user, or none for the operator; when read; epoch read under).
    entries: Mutex<HashMap<String, (Option<i64>, Instant, u64)>>,
    epoch: AtomicU64,
}

impl AuthCache {
    /// How long another process's revocation may take to apply here.
    pub(crate) const TTL: Duration = Duration::from_secs(2);
    /// Entries kept at most (all dropped when full: a cache, not a registry).
    const MAX: usize = 10_000;

    /// The epoch to pass to [`Self::put`]: read before the token table is.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, hash: &str) -> Option<Actor> {
        let entries = self.entries.lock().expect("auth cache");
        let (person, at, epoch) = entries.get(hash)?;
        (*epoch == self.epoch() && at.elapsed() < Self::TTL).then(|| actor_of(*person))
    }

    pub(crate) fn put(&self, hash: String, person: Option<i64>, epoch: u64) {
        let mut entries = self.entries.lock().expect("auth cache");
        if entries.len() >= Self::MAX {
            entries.clear();
        }
        entries.insert(hash, (person, Instant::now(), epoch));
    }

    /// A credential was revoked (after its commit): nothing read before counts any more.
    pub(crate) fn revoked(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.lock().expect("auth cache").clear();
    }
}

pub(crate) fn actor_of(person: Option<i64>) -> Actor {
    match person {
        Some(p) => Actor::user(p),
        None => Actor::operator(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_read_before_a_revocation_is_not_served_after_it() {
        let c = AuthCache::default();
        let before = c.epoch();
        c.revoked();
        c.put("h".into(), Some(7), before);
        assert!(c.get("h").is_none(), "read under the old epoch");
        c.put("h".into(), Some(7), c.epoch());
        assert_eq!(c.get("h").map(|a| a.id), Some("person:7".to_string()));
        c.revoked();
        assert!(c.get("h").is_none());
        c.put("op".into(), None, c.epoch());
        assert_eq!(c.get("op").map(|a| a.state_admin), Some(true));
    }
}

//! A bounded in-memory map whose entries expire: the per-replica counters of
//! [`crate::throttle`] and the breach-lookup cache of [`crate::policy`].
//!
//! Keys are hashed on the way in with a secret per-map SipHash key, so the
//! map holds no identifier, address or password digest in clear and every
//! entry has the same small size; a collision needs the secret key.
//!
//! Invariant: the map never holds more than its capacity. When a new key
//! finds it full, expired entries go first, then the entries closest to
//! expiry, down to three quarters of the capacity, so sweeping stays
//! amortised constant time per insert.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

/// A map from text keys to values that expire at a given instant.
#[derive(Debug)]
pub struct ExpiringMap<V> {
    entries: HashMap<u64, Entry<V>>,
    capacity: usize,
    keys: RandomState,
}

#[derive(Debug)]
struct Entry<V> {
    expires_at: Instant,
    value: V,
}

impl<V> ExpiringMap<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            keys: RandomState::new(),
        }
    }

    fn slot(&self, key: &str) -> u64 {
        self.keys.hash_one(key)
    }

    /// The value of a live entry and when it expires; `None` when absent or expired.
    pub fn get(&self, key: &str, now: Instant) -> Option<(&V, Instant)> {
        self.entries
            .get(&self.slot(key))
            .filter(|e| e.expires_at > now)
            .map(|e| (&e.value, e.expires_at))
    }

    /// Sets a key, making room first when the map is full.
    pub fn insert(&mut self, key: &str, value: V, expires_at: Instant, now: Instant) {
        let slot = self.slot(key);
        if !self.entries.contains_key(&slot) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.insert(slot, Entry { expires_at, value });
    }

    /// Forgets a key.
    pub fn remove(&mut self, key: &str) {
        let slot = self.slot(key);
        self.entries.remove(&slot);
    }

    /// Entries held, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, e| e.expires_at > now);
        if self.entries.len() < self.capacity {
            return;
        }
        let target = self.capacity * 3 / 4;
        let excess = self.entries.len().saturating_sub(target).max(1);
        let mut expiries: Vec<Instant> = self.entries.values().map(|e| e.expires_at).collect();
        let index = (excess - 1).min(expiries.len().saturating_sub(1));
        let (_, threshold, _) = expiries.select_nth_unstable(index);
        let threshold = *threshold;
        self.entries.retain(|_, e| e.expires_at > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_expire() {
        let now = Instant::now();
        let mut map = ExpiringMap::new(10);
        map.insert("a", 1, now + Duration::from_secs(5), now);
        assert_eq!(map.get("a", now).map(|(v, _)| *v), Some(1));
        assert!(map.get("a", now + Duration::from_secs(5)).is_none());
        assert!(map.get("b", now).is_none());
        map.remove("a");
        assert!(map.is_empty());
    }

    #[test]
    fn never_exceeds_its_capacity_and_drops_the_soonest_to_expire() {
        let now = Instant::now();
        let mut map = ExpiringMap::new(8);
        for n in 0..100u64 {
            map.insert(
                &format!("key{n}"),
                n,
                now + Duration::from_secs(1000 + n),
                now,
            );
            assert!(map.len() <= 8);
        }
        // The latest keys, which expire last, survive.
        assert!(map.get("key99", now).is_some());
        assert!(map.get("key0", now).is_none());
        // Expired entries are swept before live ones are dropped.
        let mut map = ExpiringMap::new(4);
        for n in 0..3u64 {
            map.insert(&format!("old{n}"), n, now + Duration::from_secs(1), now);
        }
        map.insert("live", 9, now + Duration::from_secs(100), now);
        let later = now + Duration::from_secs(2);
        map.insert("new", 10, later + Duration::from_secs(100), later);
        assert_eq!(map.len(), 2);
        assert!(map.get("live", later).is_some());
        // Updating a present key never evicts.
        let mut map = ExpiringMap::new(1);
        map.insert("x", 1, now + Duration::from_secs(9), now);
        map.insert("x", 2, now + Duration::from_secs(9), now);
        assert_eq!(map.get("x", now).map(|(v, _)| *v), Some(2));
    }
}

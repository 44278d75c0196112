//! A small per-isolate cache whose entries expire after a fixed time: what the worker uses
//! so that a key seen recently costs no D1 read.
//!
//! Invariants: an entry is returned only while `now - stored_at < ttl` (a clock that goes
//! backwards counts as expired); the cache never holds more than `capacity` entries: a full
//! cache first drops what has expired, then the oldest half.

use std::collections::HashMap;

#[derive(Debug)]
pub struct TtlCache<V> {
    ttl_ms: u64,
    capacity: usize,
    entries: HashMap<String, (u64, V)>,
}

impl<V> TtlCache<V> {
    pub fn new(ttl_ms: u64, capacity: usize) -> Self {
        TtlCache { ttl_ms, capacity: capacity.max(1), entries: HashMap::new() }
    }

    fn fresh(&self, stored_at: u64, now_ms: u64) -> bool {
        now_ms >= stored_at && now_ms - stored_at < self.ttl_ms
    }

    /// The value stored under `key`, if it has not expired at `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<&V> {
        self.entries.get(key).filter(|(at, _)| self.fresh(*at, now_ms)).map(|(_, v)| v)
    }

    pub fn insert(&mut self, key: String, value: V, now_ms: u64) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl_ms;
            self.entries.retain(|_, (at, _)| now_ms >= *at && now_ms - *at < ttl);
            if self.entries.len() >= self.capacity {
                let mut ages: Vec<u64> = self.entries.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cutoff = ages[(ages.len() - 1) / 2];
                self.entries.retain(|_, (at, _)| *at > cutoff);
            }
        }
        self.entries.insert(key, (now_ms, value));
    }

    /// Drops every entry whose value matches `stale` (e.g. every secret of a revoked key).
    pub fn forget_where(&mut self, stale: impl Fn(&V) -> bool) {
        self.entries.retain(|_, (_, v)| !stale(v));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl_and_a_clock_going_back_expires_them() {
        let mut c = TtlCache::new(1_000, 10);
        c.insert("a".into(), 1, 5_000);
        assert_eq!(c.get("a", 5_000), Some(&1));
        assert_eq!(c.get("a", 5_999), Some(&1));
        assert_eq!(c.get("a", 6_000), None);
        assert_eq!(c.get("a", 4_999), None);
        assert_eq!(c.get("b", 5_000), None);
    }

    #[test]
    fn reinserting_refreshes_an_entry() {
        let mut c = TtlCache::new(1_000, 10);
        c.insert("a".into(), 1, 0);
        c.insert("a".into(), 2, 900);
        assert_eq!(c.get("a", 1_500), Some(&2));
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_the_oldest_half() {
        let mut c = TtlCache::new(1_000, 4);
        for (i, at) in [0u64, 100, 1_200, 1_300].into_iter().enumerate() {
            c.insert(format!("k{i}"), i, at);
        }
        // At 1_500, k0 and k1 have expired: they go, the fresh ones stay.
        c.insert("k4".into(), 4, 1_500);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("k2", 1_500), Some(&2));
        c.insert("k5".into(), 5, 1_600);
        // Full again with nothing expired: the oldest half (k2, k3) goes.
        c.insert("k6".into(), 6, 1_700);
        assert!(c.len() <= 4);
        assert_eq!(c.get("k2", 1_700), None);
        assert_eq!(c.get("k3", 1_700), None);
        assert_eq!(c.get("k5", 1_700), Some(&5));
        assert_eq!(c.get("k6", 1_700), Some(&6));
    }

    #[test]
    fn never_grows_past_its_capacity() {
        let mut c = TtlCache::new(u64::MAX, 8);
        for i in 0..1_000u64 {
            c.insert(format!("k{i}"), i, i);
            assert!(c.len() <= 8, "len {} at {i}", c.len());
        }
        assert_eq!(c.get("k999", 999), Some(&999));
    }

    #[test]
    fn forget_where_drops_matching_values_only() {
        let mut c = TtlCache::new(1_000, 10);
        c.insert("secret-a".into(), "key_1", 0);
        c.insert("secret-b".into(), "key_1", 0);
        c.insert("secret-c".into(), "key_2", 0);
        c.forget_where(|v| *v == "key_1");
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("secret-c", 1), Some(&"key_2"));
    }
}

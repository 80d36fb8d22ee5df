//! Per-isolate caches (issue 6): a Worker isolate serves many requests, so what rarely
//! changes (applications, CORS answers) is kept in its memory for a short time instead of
//! being read from D1 on every request.
//!
//! Freshness: a write through this isolate drops the entry at once; other isolates see the
//! change when their entry expires (`APP_TTL_SECS`). Single-use state (codes, refresh
//! tokens) is never cached.

use std::collections::HashMap;

/// How long an isolate trusts its copy of an application or a CORS answer.
pub const APP_TTL_SECS: i64 = 30;

/// Beyond this many entries the cache starts over, so unknown keys sent on purpose
/// (random origins, say) cannot grow an isolate's memory.
pub const MAX_ENTRIES: usize = 1024;

#[derive(Debug)]
pub struct TtlCache<V> {
    entries: HashMap<String, (V, i64)>,
    ttl: i64,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: i64) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
        }
    }

    pub fn get(&self, key: &str, now: i64) -> Option<V> {
        match self.entries.get(key) {
            Some((v, expires)) if *expires > now => Some(v.clone()),
            _ => None,
        }
    }

    pub fn put(&mut self, key: &str, value: V, now: i64) {
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(key) {
            self.entries.retain(|_, (_, expires)| *expires > now);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries
            .insert(key.to_string(), (value, now + self.ttl));
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
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
    fn entries_expire_after_the_ttl() {
        let mut c = TtlCache::new(30);
        c.put("a", 1, 100);
        assert_eq!(c.get("a", 100), Some(1));
        assert_eq!(c.get("a", 129), Some(1));
        assert_eq!(c.get("a", 130), None);
        assert_eq!(c.get("b", 100), None);
    }

    #[test]
    fn writes_invalidate() {
        let mut c = TtlCache::new(30);
        c.put("a", 1, 0);
        c.put("b", 2, 0);
        c.remove("a");
        assert_eq!(c.get("a", 1), None);
        assert_eq!(c.get("b", 1), Some(2));
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = TtlCache::new(30);
        for i in 0..(MAX_ENTRIES * 3) {
            c.put(&format!("k{i}"), i, 0);
            assert!(c.len() <= MAX_ENTRIES);
        }
        // Expired entries are dropped first, live ones kept while there is room.
        let mut c = TtlCache::new(10);
        for i in 0..MAX_ENTRIES {
            c.put(&format!("old{i}"), i, 0);
        }
        c.put("new", 1, 20);
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("new", 21), Some(1));
    }
}

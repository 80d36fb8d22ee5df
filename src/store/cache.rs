//! Per-isolate caches (issue 6): a Worker isolate serves many requests, so what rarely
//! changes (applications, CORS answers) is kept in its memory for a short time instead of
//! being read from D1 on every request.
//!
//! Freshness: a write through this isolate drops the entry at once; other isolates see the
//! change when their entry expires (`APP_TTL_SECS`). Single-use state (codes, refresh
//! tokens) is never cached.

use std::collections::HashMap;

use crate::model::Application;

/// How long an isolate trusts its copy of an application or a CORS answer.
pub const APP_TTL_SECS: i64 = 30;

/// At most this many entries per cache, so unknown keys sent on purpose (random origins,
/// say) cannot grow an isolate's memory.
pub const MAX_ENTRIES: usize = 1024;

/// At most about this many bytes per cache: entries are not all small (an application
/// registered by anyone, with dynamic registration on, may carry 64 KiB of URIs), and an
/// isolate has 128 MB for everything.
pub const MAX_BYTES: usize = 1 << 20;

/// Keys and entries larger than this are never kept (a 100 KB `Origin` header is answered,
/// not remembered).
pub const MAX_KEY_BYTES: usize = 512;
const MAX_ENTRY_BYTES: usize = MAX_BYTES / 16;

/// What a cache entry costs beyond its key and value's contents (the map's slot, the
/// allocations' headers): an estimate, on the high side.
const ENTRY_OVERHEAD: usize = 64;

/// Roughly how many bytes a value occupies, for `MAX_BYTES`.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for bool {
    fn weight(&self) -> usize {
        1
    }
}

impl Weigh for Application {
    fn weight(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 24).sum::<usize>();
        let opt = |o: &Option<String>| o.as_ref().map_or(0, String::len);
        std::mem::size_of::<Application>()
            + self.client_id.len()
            + self.name.len()
            + self.description.len()
            + opt(&self.client_secret_hash)
            + opt(&self.previous_secret_hash)
            + opt(&self.home_url)
            + opt(&self.backchannel_logout_uri)
            + opt(&self.logo_uri)
            + opt(&self.policy_uri)
            + opt(&self.tos_uri)
            + opt(&self.jwks)
            + opt(&self.jwks_uri)
            + opt(&self.registration_token_hash)
            + strings(&self.redirect_uris)
            + strings(&self.post_logout_redirect_uris)
            + strings(&self.allowed_origins)
            + strings(&self.allowed_audiences)
            + strings(&self.allowed_scopes)
            + strings(&self.access_rules.roles)
            + strings(&self.access_rules.countries)
            + strings(&self.access_rules.email_domains)
            + self.grant_types.len() * 8
    }
}

/// A map whose entries expire after `ttl` seconds, bounded in entries and bytes. When full,
/// expired entries go first; if that is not enough, everything goes (the cache refills
/// from storage within a few requests, and an attacker's flood cannot keep anything pinned).
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: HashMap<String, (V, i64, usize)>,
    ttl: i64,
    bytes: usize,
}

impl<V: Clone + Weigh> TtlCache<V> {
    pub fn new(ttl: i64) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
            bytes: 0,
        }
    }

    pub fn get(&self, key: &str, now: i64) -> Option<V> {
        match self.entries.get(key) {
            Some((v, expires, _)) if *expires > now => Some(v.clone()),
            _ => None,
        }
    }

    pub fn put(&mut self, key: &str, value: V, now: i64) {
        self.remove(key);
        let weight = key.len() + value.weight() + ENTRY_OVERHEAD;
        if key.len() > MAX_KEY_BYTES || weight > MAX_ENTRY_BYTES {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES || self.bytes + weight > MAX_BYTES {
            self.entries.retain(|_, (_, expires, _)| *expires > now);
            self.bytes = self.entries.values().map(|(_, _, w)| w).sum();
            if self.entries.len() >= MAX_ENTRIES || self.bytes + weight > MAX_BYTES {
                self.clear();
            }
        }
        self.bytes += weight;
        self.entries
            .insert(key.to_string(), (value, now + self.ttl, weight));
    }

    pub fn remove(&mut self, key: &str) {
        if let Some((_, _, w)) = self.entries.remove(key) {
            self.bytes -= w;
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The estimated bytes held (what `MAX_BYTES` bounds).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for i32 {
        fn weight(&self) -> usize {
            4
        }
    }

    impl Weigh for usize {
        fn weight(&self) -> usize {
            8
        }
    }

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

    #[test]
    fn bytes_are_bounded_and_long_keys_never_kept() {
        let mut c = TtlCache::new(30);
        let long = "o".repeat(MAX_KEY_BYTES + 1);
        c.put(&long, true, 0);
        assert!(c.is_empty());
        // Few entries, but large ones: the byte budget, not the count, bounds them.
        let mut app = Application::new("app1".into(), "App".into(), crate::model::AppType::Spa, 0);
        app.redirect_uris = vec!["https://rp.example.com/".repeat(100); 20];
        assert!(app.weight() > 40_000);
        let mut apps = TtlCache::new(30);
        for i in 0..200 {
            apps.put(&format!("app{i}"), app.clone(), 0);
            assert!(apps.bytes() <= MAX_BYTES, "{i}: {}", apps.bytes());
        }
        assert!(apps.len() < 200);
        // Replacing an entry does not count it twice.
        let mut c = TtlCache::new(30);
        c.put("a", true, 0);
        let one = c.bytes();
        c.put("a", false, 1);
        assert_eq!((c.len(), c.bytes()), (1, one));
        c.remove("a");
        assert_eq!(c.bytes(), 0);
    }
}

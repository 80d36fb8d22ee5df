//! The clock and the random source, injected so protocol logic is deterministic under test.

use crate::error::Failure;

/// Seconds since the Unix epoch.
pub trait Clock {
    fn now(&self) -> i64;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

/// A cryptographically secure random source.
pub trait Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Failure>;

    fn bytes<const N: usize>(&self) -> Result<[u8; N], Failure> {
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }
}

/// HTTP requests this provider makes on its own (back-channel logout tokens, clients'
/// `jwks_uri`).
#[allow(async_fn_in_trait)]
pub trait Outbound {
    /// POSTs `body` as `application/x-www-form-urlencoded` without following redirects,
    /// within a time limit: the answer's status, or why there is none.
    async fn post_form(&self, url: &str, body: &str) -> Result<u16, String>;
    /// GETs `url` without following redirects, within a time limit: the status and the body
    /// as text, or why there is none (also when the body is over `max_bytes`).
    async fn get(&self, url: &str, max_bytes: usize) -> Result<(u16, String), String>;
}

/// Wall-clock time: `Date.now()` in workerd, the system clock natively.
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(target_arch = "wasm32")]
    fn now(&self) -> i64 {
        (js_sys::Date::now() / 1000.0) as i64
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// `crypto.getRandomValues` in workerd (getrandom's `js` backend), the OS natively.
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Failure> {
        getrandom::getrandom(buf).map_err(|e| Failure::server(format!("random source failed: {e}")))
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use std::cell::Cell;

    /// Answers GETs from a map of URL to body (200), and counts them; POSTs are refused.
    #[derive(Default)]
    pub struct FakeOutbound {
        pub pages: std::cell::RefCell<std::collections::HashMap<String, String>>,
        pub gets: Cell<u32>,
    }

    impl Outbound for FakeOutbound {
        async fn post_form(&self, _url: &str, _body: &str) -> Result<u16, String> {
            Err("no network in tests".into())
        }
        async fn get(&self, url: &str, _max: usize) -> Result<(u16, String), String> {
            self.gets.set(self.gets.get() + 1);
            match self.pages.borrow().get(url) {
                Some(body) => Ok((200, body.clone())),
                None => Ok((404, String::new())),
            }
        }
    }

    /// A clock that only moves when told to.
    pub struct FixedClock(pub Cell<i64>);

    impl FixedClock {
        pub fn at(t: i64) -> Self {
            Self(Cell::new(t))
        }
        pub fn advance(&self, secs: i64) {
            self.0.set(self.0.get() + secs);
        }
    }

    impl Clock for FixedClock {
        fn now(&self) -> i64 {
            self.0.get()
        }
    }

    /// A deterministic byte stream: SHA-256 of a counter, so values never repeat within a
    /// test (a plain byte counter would cycle every 256 bytes).
    pub struct CountingRandom(pub Cell<u64>);

    impl Default for CountingRandom {
        fn default() -> Self {
            Self::new()
        }
    }

    impl CountingRandom {
        pub fn new() -> Self {
            Self(Cell::new(1))
        }
    }

    impl Random for CountingRandom {
        fn fill(&self, buf: &mut [u8]) -> Result<(), Failure> {
            for chunk in buf.chunks_mut(32) {
                let block = crate::crypto::sha256(&self.0.get().to_le_bytes());
                self.0.set(self.0.get() + 1);
                chunk.copy_from_slice(&block[..chunk.len()]);
            }
            Ok(())
        }
    }
}

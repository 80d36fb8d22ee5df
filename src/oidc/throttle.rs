//! Login throttling against password guessing (OWASP ASVS V2.2.1):
//! failures are counted per account and per client IP (a Durable Object per counter on
//! Workers, `store::ThrottleStore`); past a threshold a lock starts
//! at one minute and doubles with each further failure, up to an hour.
//!
//! The account key is the hash of the normalized email whether or not such an account
//! exists, and a locked attempt gets the same answer either way, so the throttle tells an
//! attacker nothing about which accounts exist.

use crate::crypto::{hex, sha256};
use crate::error::Failure;
use crate::store::ThrottleStore;

/// Failures count within this window; a quiet window starts the count again.
pub const WINDOW_SECS: i64 = 15 * 60;
pub const ACCOUNT_THRESHOLD: i64 = 5;
/// Higher: many users may share an address (offices, carrier NAT).
pub const IP_THRESHOLD: i64 = 20;
pub const FIRST_LOCK_SECS: i64 = 60;
pub const MAX_LOCK_SECS: i64 = 3600;

/// The counters one login attempt touches.
pub struct Keys {
    pub account: String,
    pub ip: Option<String>,
}

impl Keys {
    pub fn new(email: &str, ip: Option<&str>) -> Self {
        Self {
            account: format!(
                "acct:{}",
                hex(&sha256(email.trim().to_lowercase().as_bytes()))
            ),
            ip: ip
                .filter(|i| !i.is_empty())
                .map(|i| format!("ip:{}", i.trim())),
        }
    }

    fn all(&self) -> Vec<String> {
        std::iter::once(self.account.clone())
            .chain(self.ip.clone())
            .collect()
    }
}

/// Seconds until the attempt may be made, when any of its counters is locked, and whether
/// the longest lock is the address's (rather than the account's).
pub async fn locked_for(
    store: &impl ThrottleStore,
    keys: &Keys,
    now: i64,
) -> Result<Option<(i64, bool)>, Failure> {
    let longest = store
        .throttle_states(&keys.all())
        .await?
        .iter()
        .map(|(key, s)| (s.locked_until - now, *key != keys.account))
        .max_by_key(|(secs, _)| *secs)
        .filter(|(secs, _)| *secs > 0);
    Ok(longest)
}

/// The lock after `failures` failures against `threshold`: none below it, then 1, 2, 4 …
/// minutes, at most an hour.
pub fn lock_secs(failures: i64, threshold: i64) -> Option<i64> {
    if failures < threshold {
        return None;
    }
    let doublings = (failures - threshold).min(12) as u32;
    Some((FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS))
}

pub async fn record_failure(
    store: &impl ThrottleStore,
    keys: &Keys,
    now: i64,
) -> Result<(), Failure> {
    let mut counters = vec![(keys.account.as_str(), ACCOUNT_THRESHOLD)];
    if let Some(ip) = &keys.ip {
        counters.push((ip.as_str(), IP_THRESHOLD));
    }
    for (key, threshold) in counters {
        let failures = store.record_failure(key, now, WINDOW_SECS).await?;
        if let Some(secs) = lock_secs(failures, threshold) {
            store.lock_until(key, now + secs).await?;
        }
    }
    Ok(())
}

/// A successful login clears the account's counter, not the address's: otherwise an
/// attacker could reset the IP counter by logging into an account of their own.
pub async fn record_success(store: &impl ThrottleStore, keys: &Keys) -> Result<(), Failure> {
    store.clear_throttle(&keys.account).await?;
    Ok(())
}

/// Requests that send mail (sign-up, password reset): more than this many from one
/// address, or to one recipient, within `WINDOW_SECS` lock further ones, so the provider
/// cannot be made to flood an inbox or to serve as a mail cannon.
pub const MAIL_IP_THRESHOLD: i64 = 10;
pub const MAIL_RECIPIENT_THRESHOLD: i64 = 3;

/// Counts a request that would send mail to `email` from `ip`: seconds to wait when it is
/// over a limit (then it counts nothing), `None` when it may go. Counted whether or not the
/// address has an account, so the answer tells nothing about that.
pub async fn mail_request(
    store: &impl ThrottleStore,
    ip: Option<&str>,
    email: &str,
    now: i64,
) -> Result<Option<i64>, Failure> {
    let recipient = format!(
        "mail-to:{}",
        hex(&sha256(email.trim().to_lowercase().as_bytes()))
    );
    let mut counters = vec![(recipient, MAIL_RECIPIENT_THRESHOLD)];
    if let Some(ip) = ip.map(str::trim).filter(|i| !i.is_empty()) {
        counters.push((format!("mail-ip:{ip}"), MAIL_IP_THRESHOLD));
    }
    let keys: Vec<String> = counters.iter().map(|(k, _)| k.clone()).collect();
    let locked = store
        .throttle_states(&keys)
        .await?
        .iter()
        .map(|(_, s)| s.locked_until - now)
        .max()
        .filter(|secs| *secs > 0);
    if locked.is_some() {
        return Ok(locked);
    }
    for (key, threshold) in &counters {
        let count = store.record_failure(key, now, WINDOW_SECS).await?;
        // The request that reaches the limit still goes; the lock is for the next ones.
        if count >= *threshold {
            store.lock_until(key, now + WINDOW_SECS).await?;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    #[test]
    fn mail_requests_are_limited_per_recipient_and_per_address() {
        let store = MemoryStore::default();
        let ask = |ip: &str, to: &str, now: i64| {
            block_on(mail_request(&store, Some(ip), to, now)).unwrap()
        };
        for _ in 0..MAIL_RECIPIENT_THRESHOLD {
            assert_eq!(ask("1.1.1.1", "a@example.com", 10), None);
        }
        assert_eq!(ask("2.2.2.2", " A@Example.com ", 10), Some(WINDOW_SECS));
        assert_eq!(
            ask("2.2.2.2", "b@example.com", 10),
            None,
            "another recipient"
        );
        assert_eq!(
            ask("3.3.3.3", "a@example.com", 10 + WINDOW_SECS),
            None,
            "later"
        );
        for i in 0..MAIL_IP_THRESHOLD {
            assert_eq!(ask("9.9.9.9", &format!("u{i}@example.com"), 20), None);
        }
        assert_eq!(ask("9.9.9.9", "other@example.com", 20), Some(WINDOW_SECS));
    }

    #[test]
    fn locks_grow_from_the_threshold_and_cap_at_an_hour() {
        assert_eq!(lock_secs(4, 5), None);
        assert_eq!(lock_secs(5, 5), Some(60));
        assert_eq!(lock_secs(6, 5), Some(120));
        assert_eq!(lock_secs(8, 5), Some(480));
        assert_eq!(lock_secs(50, 5), Some(3600));
        assert_eq!(lock_secs(i64::MAX, 5), Some(3600));
    }

    #[test]
    fn an_account_locks_after_five_failures_whether_or_not_it_exists() {
        let store = MemoryStore::default();
        let keys = Keys::new(" Nobody@Example.com ", Some("203.0.113.9"));
        for i in 0..4 {
            block_on(record_failure(&store, &keys, 100 + i)).unwrap();
            assert_eq!(block_on(locked_for(&store, &keys, 100 + i)).unwrap(), None);
        }
        block_on(record_failure(&store, &keys, 104)).unwrap();
        assert_eq!(
            block_on(locked_for(&store, &keys, 104)).unwrap(),
            Some((60, false))
        );
        // The same account spelled differently is the same counter.
        let same = Keys::new("nobody@example.com", None);
        assert!(block_on(locked_for(&store, &same, 110)).unwrap().is_some());
        // Another account from the same address is not locked yet.
        let other = Keys::new("other@example.com", Some("203.0.113.9"));
        assert_eq!(block_on(locked_for(&store, &other, 110)).unwrap(), None);
        assert_eq!(
            block_on(locked_for(&store, &same, 164)).unwrap(),
            None,
            "the lock ends"
        );
    }

    #[test]
    fn an_address_locks_after_twenty_failures_across_accounts() {
        let store = MemoryStore::default();
        for i in 0..IP_THRESHOLD {
            let keys = Keys::new(&format!("user{i}@example.com"), Some("198.51.100.7"));
            block_on(record_failure(&store, &keys, 100)).unwrap();
        }
        let fresh = Keys::new("fresh@example.com", Some("198.51.100.7"));
        assert_eq!(
            block_on(locked_for(&store, &fresh, 101)).unwrap(),
            Some((59, true))
        );
        let elsewhere = Keys::new("fresh@example.com", Some("192.0.2.1"));
        assert_eq!(block_on(locked_for(&store, &elsewhere, 101)).unwrap(), None);
    }

    #[test]
    fn success_clears_the_account_not_the_address_and_quiet_windows_reset() {
        let store = MemoryStore::default();
        let keys = Keys::new("ada@example.com", Some("192.0.2.5"));
        for _ in 0..3 {
            block_on(record_failure(&store, &keys, 100)).unwrap();
        }
        block_on(record_success(&store, &keys)).unwrap();
        assert!(!store.throttle.borrow().contains_key(&keys.account));
        assert_eq!(
            store.throttle.borrow()[keys.ip.as_ref().unwrap()].failures,
            3
        );
        block_on(record_failure(&store, &keys, 100 + WINDOW_SECS)).unwrap();
        assert_eq!(
            store.throttle.borrow()[keys.ip.as_ref().unwrap()].failures,
            1,
            "new window"
        );
    }
}

//! Password storage: PBKDF2-HMAC-SHA256 with a per-user salt (NIST SP 800-132), computed by
//! the runtime's WebCrypto. Stored as `pbkdf2-sha256$<iterations>$<salt>$<hash>` so the
//! work factor can be raised later without invalidating existing hashes.

use super::{b64url, b64url_decode, ct_eq};
use crate::error::Failure;
use crate::runtime::Random;

/// Workers' WebCrypto refuses PBKDF2 above 100,000 iterations, so this is the most the
/// runtime allows, and the default. It costs about 30 ms of CPU per login in local workerd,
/// over the Free plan's 10 ms: such deployments lower it with the `PASSWORD_ITERATIONS` var.
pub const MAX_ITERATIONS: u32 = 100_000;
/// Below this PBKDF2 is too cheap to be called a password hash.
pub const MIN_ITERATIONS: u32 = 10_000;

/// The configured work factor for new hashes, clamped to what the runtime accepts.
/// Existing hashes keep the count they were made with (it is stored in the hash).
pub fn iterations_from(setting: Option<&str>) -> u32 {
    setting
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map(|n| n.clamp(MIN_ITERATIONS, MAX_ITERATIONS))
        .unwrap_or(MAX_ITERATIONS)
}
const PREFIX: &str = "pbkdf2-sha256";

/// Derives a 256-bit key from a password (WebCrypto `deriveBits` in workerd).
#[allow(async_fn_in_trait)]
pub trait Pbkdf2 {
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], Failure>;
}

pub async fn hash_password(
    kdf: &impl Pbkdf2,
    rng: &impl Random,
    password: &str,
    iterations: u32,
) -> Result<String, Failure> {
    let salt = rng.bytes::<16>()?;
    let hash = kdf.derive(password.as_bytes(), &salt, iterations).await?;
    Ok(format!(
        "{PREFIX}${iterations}${}${}",
        b64url(&salt),
        b64url(&hash)
    ))
}

/// Verifies `password` against a stored hash. With `stored = None` (no such user) it still
/// runs one derivation, so the response time does not tell whether an account exists.
pub async fn verify_password(
    kdf: &impl Pbkdf2,
    password: &str,
    stored: Option<&str>,
) -> Result<bool, Failure> {
    let Some(parsed) = stored.and_then(parse) else {
        kdf.derive(password.as_bytes(), b"timing-equalizer", MAX_ITERATIONS)
            .await?;
        return Ok(false);
    };
    let (iterations, salt, expected) = parsed;
    let actual = kdf.derive(password.as_bytes(), &salt, iterations).await?;
    Ok(ct_eq(&actual, &expected))
}

fn parse(stored: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split('$');
    if parts.next()? != PREFIX {
        return None;
    }
    let iterations: u32 = parts.next()?.parse().ok()?;
    let salt = b64url_decode(parts.next()?)?;
    let hash = b64url_decode(parts.next()?)?;
    if parts.next().is_some() || iterations == 0 || hash.len() != 32 {
        return None;
    }
    Some((iterations, salt, hash))
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use std::cell::Cell;

    /// Stands in for PBKDF2 natively: deterministic, and counts calls so tests can check
    /// that unknown users cost a derivation too.
    #[derive(Default)]
    pub struct FakeKdf {
        pub calls: Cell<u32>,
    }

    impl Pbkdf2 for FakeKdf {
        async fn derive(&self, pw: &[u8], salt: &[u8], it: u32) -> Result<[u8; 32], Failure> {
            self.calls.set(self.calls.get() + 1);
            let mut input = Vec::new();
            input.extend_from_slice(pw);
            input.push(0);
            input.extend_from_slice(salt);
            input.extend_from_slice(&it.to_be_bytes());
            Ok(crate::crypto::sha256(&input))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeKdf;
    use super::*;
    use crate::runtime::testing::CountingRandom;
    use futures_executor::block_on;

    #[test]
    fn hash_then_verify() {
        let kdf = FakeKdf::default();
        let stored = block_on(hash_password(
            &kdf,
            &CountingRandom::new(),
            "hunter2",
            20_000,
        ))
        .unwrap();
        assert!(stored.starts_with("pbkdf2-sha256$20000$"));
        assert!(block_on(verify_password(&kdf, "hunter2", Some(&stored))).unwrap());
        assert!(!block_on(verify_password(&kdf, "hunter3", Some(&stored))).unwrap());
    }

    #[test]
    fn iteration_setting_is_clamped_to_the_runtime_limits() {
        assert_eq!(iterations_from(None), 100_000);
        assert_eq!(iterations_from(Some("20000")), 20_000);
        assert_eq!(iterations_from(Some("5")), 10_000);
        assert_eq!(iterations_from(Some("900000")), 100_000);
        assert_eq!(iterations_from(Some("lots")), 100_000);
    }

    #[test]
    fn unknown_user_still_costs_a_derivation() {
        let kdf = FakeKdf::default();
        assert!(!block_on(verify_password(&kdf, "x", None)).unwrap());
        assert_eq!(kdf.calls.get(), 1);
    }

    #[test]
    fn malformed_hashes_never_match() {
        let kdf = FakeKdf::default();
        for bad in [
            "",
            "plain",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "pbkdf2-sha256$10$!!$AAAA",
            "md5$1$AA$AA",
        ] {
            assert!(!block_on(verify_password(&kdf, "x", Some(bad))).unwrap());
        }
    }
}

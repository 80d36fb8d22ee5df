//! Password storage: PBKDF2-HMAC-SHA256 with a per-user salt (NIST SP 800-132), computed by
//! the runtime's WebCrypto, over the password keyed with a pepper: HMAC-SHA256 under a key
//! derived from a Worker secret, which D1 never holds (NIST SP 800-63B §5.1.1.2). Stored as
//! `pbkdf2p-sha256$<iterations>$<salt>$<hash>` (peppered) or, from before the pepper or
//! without a secret, `pbkdf2-sha256$...`, so the work factor and the pepper can change
//! without invalidating existing hashes; a login upgrades an old hash (`needs_rehash`).

use sha2::{Digest, Sha256};

use super::{b64url, b64url_decode, ct_eq};
use crate::error::Failure;
use crate::runtime::Random;

/// Workers' WebCrypto refuses PBKDF2 above 100,000 iterations.
pub const MAX_ITERATIONS: u32 = 100_000;
/// Below this PBKDF2 is too cheap to be called a password hash.
pub const MIN_ITERATIONS: u32 = 10_000;
/// The default: a login stays under the Free plan's 10 ms of CPU (100,000 iterations cost
/// about 14 ms in the isolate alone). The pepper is what keeps a stolen copy of D1 from
/// being attacked offline at that speed: without the Worker secret, no guess can be checked
/// (docs/security.md weighs this).
pub const DEFAULT_ITERATIONS: u32 = 20_000;

/// The configured work factor for new hashes, clamped to what the runtime accepts.
/// Existing hashes keep the count they were made with (it is stored in the hash) until a
/// login rehashes them.
pub fn iterations_from(setting: Option<&str>) -> u32 {
    setting
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map(|n| n.clamp(MIN_ITERATIONS, MAX_ITERATIONS))
        .unwrap_or(DEFAULT_ITERATIONS)
}

const PREFIX: &str = "pbkdf2-sha256";
const PEPPERED: &str = "pbkdf2p-sha256";

/// The pepper: 256 bits derived from a Worker secret. Never logged.
#[derive(Clone)]
pub struct Pepper([u8; 32]);

impl Pepper {
    /// From the `KEY_ENCRYPTION_SECRET` Worker secret, with its own label, so the pepper is
    /// independent of the key-encryption key made from the same secret.
    pub fn from_secret(secret: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"edge-oidc password pepper v1\0");
        h.update(secret.as_bytes());
        Self(h.finalize().into())
    }

    /// HMAC-SHA256(pepper, password) (RFC 2104): what PBKDF2 then stretches.
    fn key(&self, password: &str) -> [u8; 32] {
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, b) in self.0.iter().enumerate() {
            ipad[i] ^= b;
            opad[i] ^= b;
        }
        let inner = Sha256::new()
            .chain_update(ipad)
            .chain_update(password.as_bytes())
            .finalize();
        Sha256::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

impl core::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

/// How new passwords are hashed: the work factor and the pepper (none without a secret).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub iterations: u32,
    pub pepper: Option<Pepper>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            iterations: DEFAULT_ITERATIONS,
            pepper: None,
        }
    }
}

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
    policy: &PasswordPolicy,
    password: &str,
) -> Result<String, Failure> {
    let salt = rng.bytes::<16>()?;
    let iterations = policy.iterations;
    let (prefix, hash) = match &policy.pepper {
        Some(p) => (
            PEPPERED,
            kdf.derive(&p.key(password), &salt, iterations).await?,
        ),
        None => (
            PREFIX,
            kdf.derive(password.as_bytes(), &salt, iterations).await?,
        ),
    };
    Ok(format!(
        "{prefix}${iterations}${}${}",
        b64url(&salt),
        b64url(&hash)
    ))
}

/// Verifies `password` against a stored hash. With `stored = None` (no such user) it still
/// runs one derivation at the policy's cost, so the response time does not tell whether an
/// account exists. A peppered hash cannot be checked without the pepper: false.
pub async fn verify_password(
    kdf: &impl Pbkdf2,
    policy: &PasswordPolicy,
    password: &str,
    stored: Option<&str>,
) -> Result<bool, Failure> {
    let Some(parsed) = stored.and_then(parse) else {
        kdf.derive(password.as_bytes(), b"timing-equalizer", policy.iterations)
            .await?;
        return Ok(false);
    };
    let Parsed {
        peppered,
        iterations,
        salt,
        hash: expected,
    } = parsed;
    let actual = match (peppered, &policy.pepper) {
        (true, Some(p)) => kdf.derive(&p.key(password), &salt, iterations).await?,
        (true, None) => return Ok(false),
        (false, _) => kdf.derive(password.as_bytes(), &salt, iterations).await?,
    };
    Ok(ct_eq(&actual, &expected))
}

/// Whether a verified hash should be made again under the current policy: made without the
/// pepper that is now available, or with another work factor.
pub fn needs_rehash(policy: &PasswordPolicy, stored: &str) -> bool {
    parse(stored).is_some_and(|p| {
        (policy.pepper.is_some() && !p.peppered) || p.iterations != policy.iterations
    })
}

struct Parsed {
    peppered: bool,
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse(stored: &str) -> Option<Parsed> {
    let mut parts = stored.split('$');
    let peppered = match parts.next()? {
        PEPPERED => true,
        PREFIX => false,
        _ => return None,
    };
    let iterations: u32 = parts.next()?.parse().ok()?;
    let salt = b64url_decode(parts.next()?)?;
    let hash = b64url_decode(parts.next()?)?;
    if parts.next().is_some() || iterations == 0 || hash.len() != 32 {
        return None;
    }
    Some(Parsed {
        peppered,
        iterations,
        salt,
        hash,
    })
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

    fn peppered(secret: &str) -> PasswordPolicy {
        PasswordPolicy {
            iterations: 20_000,
            pepper: Some(Pepper::from_secret(secret)),
        }
    }

    fn hash(policy: &PasswordPolicy, pw: &str) -> String {
        block_on(hash_password(
            &FakeKdf::default(),
            &CountingRandom::new(),
            policy,
            pw,
        ))
        .unwrap()
    }

    fn verify(policy: &PasswordPolicy, pw: &str, stored: &str) -> bool {
        block_on(verify_password(
            &FakeKdf::default(),
            policy,
            pw,
            Some(stored),
        ))
        .unwrap()
    }

    #[test]
    fn hash_then_verify_with_and_without_the_pepper() {
        let policy = peppered("worker secret");
        let stored = hash(&policy, "hunter2");
        assert!(stored.starts_with("pbkdf2p-sha256$20000$"));
        assert!(verify(&policy, "hunter2", &stored));
        assert!(!verify(&policy, "hunter3", &stored));
        // D1 alone (no secret, or another one) cannot check a guess.
        assert!(!verify(&PasswordPolicy::default(), "hunter2", &stored));
        assert!(!verify(&peppered("another secret"), "hunter2", &stored));

        let plain = PasswordPolicy::default();
        let old = hash(&plain, "hunter2");
        assert!(old.starts_with("pbkdf2-sha256$20000$"));
        assert!(
            verify(&policy, "hunter2", &old),
            "hashes from before the pepper still work"
        );
        assert!(format!("{:?}", policy).contains("<redacted>"));
    }

    #[test]
    fn old_hashes_and_other_work_factors_are_rehashed() {
        let policy = peppered("s");
        assert!(!needs_rehash(&policy, &hash(&policy, "pw")));
        assert!(needs_rehash(
            &policy,
            &hash(&PasswordPolicy::default(), "pw")
        ));
        let heavier = PasswordPolicy {
            iterations: 100_000,
            ..policy.clone()
        };
        assert!(needs_rehash(&policy, &hash(&heavier, "pw")));
        assert!(!needs_rehash(&policy, "garbage"));
    }

    #[test]
    fn the_pepper_is_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = Pepper(key).key("what do ya want for nothing?");
        assert_eq!(
            crate::crypto::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn iteration_setting_is_clamped_to_the_runtime_limits() {
        assert_eq!(iterations_from(None), DEFAULT_ITERATIONS);
        assert_eq!(iterations_from(Some("20000")), 20_000);
        assert_eq!(iterations_from(Some("5")), 10_000);
        assert_eq!(iterations_from(Some("900000")), 100_000);
        assert_eq!(iterations_from(Some("lots")), DEFAULT_ITERATIONS);
    }

    #[test]
    fn unknown_user_still_costs_a_derivation() {
        let kdf = FakeKdf::default();
        let policy = PasswordPolicy::default();
        assert!(!block_on(verify_password(&kdf, &policy, "x", None)).unwrap());
        assert_eq!(kdf.calls.get(), 1);
    }

    #[test]
    fn malformed_hashes_never_match() {
        let kdf = FakeKdf::default();
        let policy = peppered("s");
        for bad in [
            "",
            "plain",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "pbkdf2-sha256$10$!!$AAAA",
            "pbkdf2p-sha256$10$AAAA",
            "md5$1$AA$AA",
        ] {
            assert!(!block_on(verify_password(&kdf, &policy, "x", Some(bad))).unwrap());
        }
    }
}

//! Key management: which key signs for each algorithm, when keys are created and rotated,
//! and what the JWKS publishes (OpenID Connect Core §10.1.1: the next key is published
//! before it signs, a retired key while tokens it signed may live). The cryptography itself
//! is the platform's (`crypto::KeyCrypto`, WebCrypto in workerd).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

use super::jwt::Signer;
use crate::crypto::{random_token, KeyCrypto};
use crate::error::Failure;
use crate::model::{KeyStatus, SigningAlg, StoredKey};
use crate::runtime::{Clock, Random};
use crate::store::Store;

/// How long an isolate trusts its copy of the signing keys and the JWKS. After a rotation
/// elsewhere, this isolate signs with the old key for at most this long; that key is still
/// published, so its tokens verify.
pub const KEY_CACHE_SECS: i64 = 60;
/// How long a retired key stays in the JWKS: longer than any token it signed lives.
pub const RETIRED_PUBLISH_SECS: i64 = 2 * 86_400;

/// At most this many public keys are kept imported per isolate: one per algorithm and slot
/// is the usual need, and a long-lived isolate must not collect every key ever rotated out.
pub const MAX_VERIFYING_KEYS: usize = 8;

/// What an isolate keeps of the keys between requests (imported keys cost a WebCrypto call
/// each). The adapter holds one per isolate; tests make their own.
pub struct KeyCache<K> {
    signing: Vec<(SigningAlg, String, K, i64)>,
    verifying: Vec<(String, SigningAlg, K)>,
    jwks: Option<(String, i64)>,
}

impl<K> Default for KeyCache<K> {
    fn default() -> Self {
        Self {
            signing: Vec::new(),
            verifying: Vec::new(),
            jwks: None,
        }
    }
}

/// The provider's `Signer`: keys from the store, cryptography from `K`.
pub struct KeyRing<S, K: KeyCrypto, C, R> {
    store: S,
    crypto: K,
    cache: Rc<RefCell<KeyCache<K::Key>>>,
    /// `KEY_ENCRYPTION_SECRET`, which seals private keys at rest; without it nothing can be
    /// signed (verifying needs only the public keys).
    secret: Option<String>,
    clock: C,
    rng: R,
}

impl<S: Store, K: KeyCrypto, C: Clock, R: Random> KeyRing<S, K, C, R> {
    pub fn new(
        store: S,
        crypto: K,
        cache: Rc<RefCell<KeyCache<K::Key>>>,
        secret: Option<String>,
        clock: C,
        rng: R,
    ) -> Self {
        Self {
            store,
            crypto,
            cache,
            secret,
            clock,
            rng,
        }
    }

    fn secret(&self) -> Result<&str, Failure> {
        self.secret
            .as_deref()
            .ok_or_else(|| Failure::server("the KEY_ENCRYPTION_SECRET secret is not set"))
    }

    async fn generate(&self, alg: SigningAlg, status: KeyStatus) -> Result<StoredKey, Failure> {
        let kid = random_token::<12>(&self.rng)?;
        let new = self.crypto.generate(alg, &kid, self.secret()?).await?;
        let mut public_jwk = new.public_jwk;
        public_jwk.insert("kid".into(), Value::String(kid.clone()));
        public_jwk.insert("use".into(), "sig".into());
        public_jwk.insert("alg".into(), alg.as_str().into());
        Ok(StoredKey {
            kid,
            alg: alg.as_str().to_string(),
            status,
            public_jwk: Value::Object(public_jwk).to_string(),
            private_key_enc: new.sealed_private,
            created_at: self.clock.now(),
            retired_at: None,
        })
    }

    /// The current `alg` key: from the isolate cache, else from the store, else newly
    /// generated (with its successor, so the JWKS always announces the next key).
    /// Concurrent first requests may each generate keys, but the insert keeps only the
    /// first per slot and everyone re-reads the winner, so one key is ever current.
    async fn current(&self, alg: SigningAlg) -> Result<(String, K::Key), Failure> {
        let now = self.clock.now();
        let cached = self
            .cache
            .borrow()
            .signing
            .iter()
            .find(|(a, _, _, at)| *a == alg && now - at < KEY_CACHE_SECS)
            .map(|(_, kid, key, _)| (kid.clone(), key.clone()));
        if let Some(found) = cached {
            return Ok(found);
        }
        let stored = match self.store.key_in_slot(alg, KeyStatus::Current).await? {
            Some(k) => k,
            None => {
                for status in [KeyStatus::Current, KeyStatus::Next] {
                    let fresh = self.generate(alg, status).await?;
                    self.store.insert_key_if_slot_free(&fresh).await?;
                }
                self.cache.borrow_mut().jwks = None;
                self.store
                    .key_in_slot(alg, KeyStatus::Current)
                    .await?
                    .ok_or_else(|| Failure::server("no current signing key after insert"))?
            }
        };
        let key = self
            .crypto
            .private_key(alg, &stored.kid, &stored.private_key_enc, self.secret()?)
            .await?;
        let mut cache = self.cache.borrow_mut();
        cache.signing.retain(|(a, ..)| *a != alg);
        cache
            .signing
            .push((alg, stored.kid.clone(), key.clone(), now));
        Ok((stored.kid, key))
    }

    /// The public key of `kid` and its algorithm; `None` for a kid this provider never had.
    async fn verifying_key(&self, kid: &str) -> Result<Option<(SigningAlg, K::Key)>, Failure> {
        let cached = self
            .cache
            .borrow()
            .verifying
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, alg, key)| (*alg, key.clone()));
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(stored) = self.store.key_by_kid(kid).await? else {
            return Ok(None);
        };
        let Some(alg) = SigningAlg::parse(&stored.alg) else {
            return Ok(None);
        };
        let key = self.crypto.public_key(alg, &stored.public_jwk).await?;
        let mut cache = self.cache.borrow_mut();
        if cache.verifying.len() >= MAX_VERIFYING_KEYS {
            // The oldest first: tokens are verified under recent keys.
            cache.verifying.remove(0);
        }
        cache.verifying.push((kid.to_string(), alg, key.clone()));
        Ok(Some((alg, key)))
    }

    /// The JWKS body while this isolate's copy is fresh.
    fn cached_jwks(&self) -> Option<String> {
        let now = self.clock.now();
        self.cache
            .borrow()
            .jwks
            .as_ref()
            .filter(|(_, at)| now - at < KEY_CACHE_SECS)
            .map(|(body, _)| body.clone())
    }
}

impl<S: Store, K: KeyCrypto, C: Clock, R: Random> Signer for KeyRing<S, K, C, R> {
    async fn kid(&self, alg: SigningAlg) -> Result<String, Failure> {
        Ok(self.current(alg).await?.0)
    }

    async fn sign(&self, alg: SigningAlg, input: &[u8]) -> Result<Vec<u8>, Failure> {
        let (_, key) = self.current(alg).await?;
        self.crypto.sign(alg, &key, input).await
    }

    async fn verify(
        &self,
        kid: &str,
        alg: SigningAlg,
        input: &[u8],
        sig: &[u8],
    ) -> Result<bool, Failure> {
        match self.verifying_key(kid).await? {
            // No algorithm confusion: the key's algorithm decides, not the token's header.
            Some((key_alg, key)) if key_alg == alg => {
                self.crypto.verify(alg, &key, input, sig).await
            }
            _ => Ok(false),
        }
    }

    async fn verify_with_jwk(
        &self,
        jwk: &str,
        alg: SigningAlg,
        input: &[u8],
        sig: &[u8],
    ) -> Result<bool, Failure> {
        // A key the client registered that WebCrypto will not import (wrong type for `alg`,
        // bad members) verifies nothing: the client's mistake, not the provider's failure.
        match self.crypto.public_key(alg, jwk).await {
            Ok(key) => Ok(self
                .crypto
                .verify(alg, &key, input, sig)
                .await
                .unwrap_or(false)),
            Err(_) => Ok(false),
        }
    }

    async fn jwks(&self) -> Result<String, Failure> {
        // Fresh in this isolate: the keys exist (an empty set is never cached), so no storage.
        if let Some(body) = self.cached_jwks() {
            return Ok(body);
        }
        for alg in SigningAlg::ALL {
            self.current(alg).await?;
        }
        let now = self.clock.now();
        let keys: Vec<Value> = self
            .store
            .published_keys(now - RETIRED_PUBLISH_SECS)
            .await?
            .iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        let body = serde_json::json!({ "keys": keys }).to_string();
        if !keys.is_empty() {
            self.cache.borrow_mut().jwks = Some((body.clone(), now));
        }
        Ok(body)
    }

    /// Rotates every algorithm in use, or only `only`: the published `next` key starts
    /// signing, the current one is retired (still published for `RETIRED_PUBLISH_SECS`),
    /// and a new `next` is announced. Returns the kid that now signs for `only`, or for
    /// RS256 (access tokens) when all rotate.
    async fn rotate(&self, only: Option<SigningAlg>) -> Result<String, Failure> {
        // A fresh deployment has no keys yet: RS256 always exists once anything is signed,
        // and an algorithm named alone is rotated even before its first use.
        let reported = only.unwrap_or(SigningAlg::Rs256);
        self.current(reported).await?;
        for alg in SigningAlg::ALL
            .into_iter()
            .filter(|a| only.is_none_or(|o| o == *a))
        {
            if self
                .store
                .key_in_slot(alg, KeyStatus::Current)
                .await?
                .is_none()
            {
                continue;
            }
            if self
                .store
                .key_in_slot(alg, KeyStatus::Next)
                .await?
                .is_none()
            {
                let next = self.generate(alg, KeyStatus::Next).await?;
                self.store.insert_key_if_slot_free(&next).await?;
            }
            let successor = self.generate(alg, KeyStatus::Next).await?;
            self.store.rotate_keys(&successor, self.clock.now()).await?;
        }
        *self.cache.borrow_mut() = KeyCache::default();
        let current = self
            .store
            .key_in_slot(reported, KeyStatus::Current)
            .await?
            .ok_or_else(|| Failure::server("no current key after rotation"))?;
        Ok(current.kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{hex, sha256, NewKey};
    use crate::error::OAuthError;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    /// Stands in for WebCrypto: a "key" is its kid's bytes plus the secret, so a signature
    /// is a hash over it. Sealing binds the secret; opening checks it.
    struct FakeCrypto;

    impl KeyCrypto for FakeCrypto {
        type Key = String;

        async fn generate(
            &self,
            _: SigningAlg,
            kid: &str,
            secret: &str,
        ) -> Result<NewKey, Failure> {
            let mut public_jwk = serde_json::Map::new();
            public_jwk.insert("kty".into(), "fake".into());
            Ok(NewKey {
                sealed_private: format!("{secret}|{kid}"),
                public_jwk,
            })
        }

        async fn private_key(
            &self,
            _: SigningAlg,
            kid: &str,
            sealed: &str,
            secret: &str,
        ) -> Result<String, Failure> {
            match sealed.split_once('|') {
                Some((s, k)) if s == secret && k == kid => Ok(kid.to_string()),
                _ => Err(Failure::server("the sealed key does not open")),
            }
        }

        async fn public_key(&self, _: SigningAlg, jwk: &str) -> Result<String, Failure> {
            let v: Value = serde_json::from_str(jwk).map_err(Failure::server)?;
            Ok(v["kid"].as_str().unwrap_or_default().to_string())
        }

        async fn sign(
            &self,
            alg: SigningAlg,
            key: &String,
            input: &[u8],
        ) -> Result<Vec<u8>, Failure> {
            Ok(sha256(format!("{}|{key}|{}", alg.as_str(), hex(input)).as_bytes()).to_vec())
        }

        async fn verify(
            &self,
            alg: SigningAlg,
            key: &String,
            input: &[u8],
            sig: &[u8],
        ) -> Result<bool, Failure> {
            Ok(self.sign(alg, key, input).await? == sig)
        }
    }

    type Ring<'a> = KeyRing<&'a MemoryStore, FakeCrypto, &'a FixedClock, CountingRandom>;

    fn ring<'a>(store: &'a MemoryStore, clock: &'a FixedClock, secret: Option<&str>) -> Ring<'a> {
        KeyRing::new(
            store,
            FakeCrypto,
            Rc::default(),
            secret.map(str::to_string),
            clock,
            CountingRandom::new(),
        )
    }

    fn kids(jwks: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(jwks).unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_first_use_creates_current_and_next_for_every_algorithm() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let r = ring(&store, &clock, Some("s"));
        let jwks = block_on(r.jwks()).unwrap();
        // Current and next of RS256, ES256 and EdDSA: the next key is published before it signs.
        assert_eq!(kids(&jwks).len(), 6);
        let kid = block_on(r.kid(SigningAlg::Rs256)).unwrap();
        assert!(kids(&jwks).contains(&kid));
        let sig = block_on(r.sign(SigningAlg::Rs256, b"input")).unwrap();
        assert!(block_on(r.verify(&kid, SigningAlg::Rs256, b"input", &sig)).unwrap());
        // The key's algorithm decides, not the caller's.
        assert!(!block_on(r.verify(&kid, SigningAlg::Es256, b"input", &sig)).unwrap());
        assert!(!block_on(r.verify("unknown", SigningAlg::Rs256, b"input", &sig)).unwrap());
    }

    #[test]
    fn rotation_promotes_next_and_keeps_the_retired_key_published_for_a_while() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let r = ring(&store, &clock, Some("s"));
        let before = block_on(r.kid(SigningAlg::Rs256)).unwrap();
        let sig = block_on(r.sign(SigningAlg::Rs256, b"old token")).unwrap();
        let next = block_on(store.key_in_slot(SigningAlg::Rs256, KeyStatus::Next))
            .unwrap()
            .unwrap()
            .kid;
        let now_current = block_on(r.rotate(None)).unwrap();
        assert_eq!(now_current, next);
        assert_eq!(block_on(r.kid(SigningAlg::Rs256)).unwrap(), next);
        // A token signed before the rotation still verifies, and its key is still published.
        assert!(block_on(r.verify(&before, SigningAlg::Rs256, b"old token", &sig)).unwrap());
        assert!(kids(&block_on(r.jwks()).unwrap()).contains(&before));
        // Once tokens it signed can no longer live, the retired key leaves the JWKS.
        clock.advance(RETIRED_PUBLISH_SECS + 1);
        assert!(!kids(&block_on(r.jwks()).unwrap()).contains(&before));
    }

    /// The conformance suite's key-rotation module knows RSA and EC keys only: rotating
    /// RS256 alone must leave the other algorithms' keys as they were.
    #[test]
    fn one_algorithm_rotates_alone() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let r = ring(&store, &clock, Some("s"));
        let rsa = block_on(r.kid(SigningAlg::Rs256)).unwrap();
        let ed = block_on(r.kid(SigningAlg::EdDsa)).unwrap();
        let now = block_on(r.rotate(Some(SigningAlg::Rs256))).unwrap();
        assert_ne!(now, rsa);
        assert_eq!(block_on(r.kid(SigningAlg::Rs256)).unwrap(), now);
        assert_eq!(
            block_on(r.kid(SigningAlg::EdDsa)).unwrap(),
            ed,
            "EdDSA untouched"
        );
        // An algorithm not used yet gets its first key, then rotates to the next.
        let es = block_on(r.rotate(Some(SigningAlg::Es256))).unwrap();
        assert_eq!(block_on(r.kid(SigningAlg::Es256)).unwrap(), es);
        assert_eq!(
            block_on(r.kid(SigningAlg::Rs256)).unwrap(),
            now,
            "RS256 untouched"
        );
    }

    #[test]
    fn without_the_secret_nothing_signs_but_tokens_still_verify() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let signer = ring(&store, &clock, Some("s"));
        let kid = block_on(signer.kid(SigningAlg::EdDsa)).unwrap();
        let sig = block_on(signer.sign(SigningAlg::EdDsa, b"x")).unwrap();
        let bare = ring(&store, &clock, None);
        let e = block_on(bare.sign(SigningAlg::EdDsa, b"x")).unwrap_err();
        assert_eq!(e.error, OAuthError::ServerError);
        assert!(block_on(bare.verify(&kid, SigningAlg::EdDsa, b"x", &sig)).unwrap());
        // A wrong secret cannot open the stored key.
        let wrong = ring(&store, &clock, Some("other"));
        assert!(block_on(wrong.sign(SigningAlg::EdDsa, b"x")).is_err());
    }

    #[test]
    fn an_isolate_reuses_its_keys_until_the_cache_expires() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let a = ring(&store, &clock, Some("s"));
        let first = block_on(a.kid(SigningAlg::Rs256)).unwrap();
        // Another isolate rotates: this one keeps signing with its copy for a while
        // (the old key stays published), then picks up the new current key.
        let b = ring(&store, &clock, Some("s"));
        let rotated = block_on(b.rotate(None)).unwrap();
        assert_eq!(block_on(a.kid(SigningAlg::Rs256)).unwrap(), first);
        clock.advance(KEY_CACHE_SECS);
        assert_eq!(block_on(a.kid(SigningAlg::Rs256)).unwrap(), rotated);
    }

    #[test]
    fn an_isolate_keeps_a_bounded_number_of_public_keys() {
        let (store, clock) = (MemoryStore::default(), FixedClock::at(1_000));
        let cache = Rc::<RefCell<KeyCache<String>>>::default();
        let r = KeyRing::new(
            &store,
            FakeCrypto,
            Rc::clone(&cache),
            Some("s".to_string()),
            &clock,
            CountingRandom::new(),
        );
        let mut signed = Vec::new();
        for _ in 0..MAX_VERIFYING_KEYS + 4 {
            let kid = block_on(r.kid(SigningAlg::Rs256)).unwrap();
            signed.push((kid, block_on(r.sign(SigningAlg::Rs256, b"t")).unwrap()));
            block_on(r.rotate(None)).unwrap();
        }
        for (kid, sig) in signed.iter().chain(signed.iter()) {
            assert!(block_on(r.verify(kid, SigningAlg::Rs256, b"t", sig)).unwrap());
            assert!(cache.borrow().verifying.len() <= MAX_VERIFYING_KEYS);
        }
    }
}

//! The runtime's WebCrypto (`crypto.subtle`) for every private-key operation: RSA key
//! generation and RS256 signatures, AES-GCM for keys at rest, PBKDF2 for passwords.
//! BoringSSL inside workerd does these far faster than Rust compiled to Wasm, and keeps
//! the `rsa` crate (RUSTSEC-2023-0071) out of the build.

use std::cell::RefCell;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::password::Pbkdf2;
use super::{b64url, b64url_decode, random_token, sha256};
use crate::model::{KeyStatus, StoredKey};
use crate::oidc::error::Failure;
use crate::oidc::jwt::{Signer, ALG};
use crate::runtime::{Clock, Random};
use crate::store::Store;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = generateKey, catch)]
    fn subtle_generate_key(
        alg: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn subtle_import_key(
        format: &str,
        data: &JsValue,
        alg: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = exportKey, catch)]
    fn subtle_export_key(format: &str, key: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = sign, catch)]
    fn subtle_sign(alg: &JsValue, key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        alg: &JsValue,
        key: &JsValue,
        sig: &[u8],
        data: &[u8],
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = encrypt, catch)]
    fn subtle_encrypt(alg: &Object, key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = decrypt, catch)]
    fn subtle_decrypt(alg: &Object, key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = deriveBits, catch)]
    fn subtle_derive_bits(alg: &Object, key: &JsValue, length: u32) -> Result<Promise, JsValue>;
}

fn js_err(what: &str, e: JsValue) -> Failure {
    Failure::server(format!("WebCrypto {what}: {e:?}"))
}

async fn call(what: &str, p: Result<Promise, JsValue>) -> Result<JsValue, Failure> {
    let p = p.map_err(|e| js_err(what, e))?;
    JsFuture::from(p).await.map_err(|e| js_err(what, e))
}

fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn usages(list: &[&str]) -> Array {
    list.iter().map(|u| JsValue::from_str(u)).collect()
}

fn bytes(v: &JsValue) -> Vec<u8> {
    Uint8Array::new(v).to_vec()
}

fn rsa_alg() -> Object {
    obj(&[
        ("name", "RSASSA-PKCS1-v1_5".into()),
        ("hash", "SHA-256".into()),
    ])
}

// ---- PBKDF2 --------------------------------------------------------------------------

pub struct WebCryptoPbkdf2;

impl Pbkdf2 for WebCryptoPbkdf2 {
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], Failure> {
        let raw = Uint8Array::from(password);
        let base = call(
            "importKey(PBKDF2)",
            subtle_import_key(
                "raw",
                &raw,
                &obj(&[("name", "PBKDF2".into())]),
                false,
                &usages(&["deriveBits"]),
            ),
        )
        .await?;
        let alg = obj(&[
            ("name", "PBKDF2".into()),
            ("hash", "SHA-256".into()),
            ("salt", Uint8Array::from(salt).into()),
            ("iterations", iterations.into()),
        ]);
        let out = bytes(&call("deriveBits", subtle_derive_bits(&alg, &base, 256)).await?);
        out.try_into()
            .map_err(|_| Failure::server("deriveBits returned the wrong length"))
    }
}

// ---- AES-GCM for keys at rest ---------------------------------------------------------

/// The key-encryption key: SHA-256 of the `KEY_ENCRYPTION_SECRET` Worker secret.
async fn kek(secret: &str) -> Result<JsValue, Failure> {
    let raw = Uint8Array::from(&sha256(secret.as_bytes())[..]);
    call(
        "importKey(AES-GCM)",
        subtle_import_key(
            "raw",
            &raw,
            &obj(&[("name", "AES-GCM".into())]),
            false,
            &usages(&["encrypt", "decrypt"]),
        ),
    )
    .await
}

/// `b64url(iv) "." b64url(ciphertext)`; the kid is bound as additional data so a stored
/// ciphertext cannot be swapped onto another key's row.
async fn seal(secret: &str, rng: &impl Random, kid: &str, plain: &[u8]) -> Result<String, Failure> {
    let iv = rng.bytes::<12>()?;
    let alg = obj(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("additionalData", Uint8Array::from(kid.as_bytes()).into()),
    ]);
    let ct = bytes(&call("encrypt", subtle_encrypt(&alg, &kek(secret).await?, plain)).await?);
    Ok(format!("{}.{}", b64url(&iv), b64url(&ct)))
}

async fn open(secret: &str, kid: &str, sealed: &str) -> Result<Vec<u8>, Failure> {
    let bad = || Failure::server(format!("stored key {kid} is not well-formed"));
    let (iv, ct) = sealed.split_once('.').ok_or_else(bad)?;
    let iv = b64url_decode(iv).ok_or_else(bad)?;
    let ct = b64url_decode(ct).ok_or_else(bad)?;
    let alg = obj(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("additionalData", Uint8Array::from(kid.as_bytes()).into()),
    ]);
    let plain = call(
        "decrypt (is KEY_ENCRYPTION_SECRET the one the key was stored with?)",
        subtle_decrypt(&alg, &kek(secret).await?, &ct),
    )
    .await?;
    Ok(bytes(&plain))
}

// ---- Signing keys ---------------------------------------------------------------------

/// How long an isolate signs with the key it loaded before looking again: after a rotation
/// other isolates switch within this time (the old key stays published meanwhile).
const KEY_CACHE_SECS: i64 = 60;
/// Retired keys stay in the JWKS this long: longer than any token lives (86400 s at most).
pub const RETIRED_PUBLISH_SECS: i64 = 2 * 86_400;

/// A loaded key pair, cached per isolate so a request signs without touching D1.
#[derive(Clone)]
struct LoadedKey {
    kid: String,
    private: JsValue,
    loaded_at: i64,
}

thread_local! {
    static SIGNING_KEY: RefCell<Option<LoadedKey>> = const { RefCell::new(None) };
    /// Verification keys by kid, filled on demand from D1.
    static VERIFY_KEYS: RefCell<Vec<(String, JsValue)>> = const { RefCell::new(Vec::new()) };
    static JWKS: RefCell<Option<(Value, i64)>> = const { RefCell::new(None) };
}

fn forget_cached_keys() {
    SIGNING_KEY.with(|k| *k.borrow_mut() = None);
    JWKS.with(|j| *j.borrow_mut() = None);
}

/// RS256 through WebCrypto with the provider's current key; verification with any
/// published key.
pub struct WebCryptoSigner<'a, S: Store> {
    key: LoadedKey,
    store: &'a S,
}

impl<'a, S: Store> WebCryptoSigner<'a, S> {
    /// The current key: from the isolate cache, else from D1, else newly generated (with
    /// its successor, so the JWKS always announces the next key). Concurrent first requests
    /// may each generate keys, but the INSERT keeps only the first per slot and everyone
    /// re-reads the winner, so one key is ever current.
    pub async fn load(
        store: &'a S,
        clock: &impl Clock,
        rng: &impl Random,
        secret: &str,
    ) -> Result<Self, Failure> {
        let now = clock.now();
        if let Some(key) = SIGNING_KEY.with(|k| k.borrow().clone()) {
            if now - key.loaded_at < KEY_CACHE_SECS {
                return Ok(Self { key, store });
            }
        }
        let stored = match store.key_in_slot(KeyStatus::Current).await? {
            Some(k) => k,
            None => {
                for status in [KeyStatus::Current, KeyStatus::Next] {
                    let fresh = generate(clock, rng, secret, status).await?;
                    store.insert_key_if_slot_free(&fresh).await?;
                }
                JWKS.with(|j| *j.borrow_mut() = None);
                store
                    .key_in_slot(KeyStatus::Current)
                    .await?
                    .ok_or_else(|| Failure::server("no current signing key after insert"))?
            }
        };
        let key = LoadedKey {
            private: import_private(secret, &stored).await?,
            kid: stored.kid,
            loaded_at: now,
        };
        SIGNING_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
        Ok(Self { key, store })
    }

    /// The public key for `kid`: cached, or loaded once from D1.
    async fn verify_key(&self, kid: &str) -> Result<Option<JsValue>, Failure> {
        let cached = VERIFY_KEYS.with(|v| {
            v.borrow()
                .iter()
                .find(|(k, _)| k == kid)
                .map(|(_, key)| key.clone())
        });
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(stored) = self.store.key_by_kid(kid).await? else {
            return Ok(None);
        };
        let key = import_public(&stored.public_jwk).await?;
        VERIFY_KEYS.with(|v| v.borrow_mut().push((kid.to_string(), key.clone())));
        Ok(Some(key))
    }
}

async fn generate(
    clock: &impl Clock,
    rng: &impl Random,
    secret: &str,
    status: KeyStatus,
) -> Result<StoredKey, Failure> {
    let alg = rsa_alg();
    let _ = Reflect::set(&alg, &"modulusLength".into(), &2048.into());
    let _ = Reflect::set(
        &alg,
        &"publicExponent".into(),
        &Uint8Array::from(&[1u8, 0, 1][..]),
    );
    let pair = call(
        "generateKey",
        subtle_generate_key(&alg, true, &usages(&["sign", "verify"])),
    )
    .await?;
    let get =
        |name: &str| Reflect::get(&pair, &name.into()).map_err(|e| js_err("generateKey result", e));
    let private = get("privateKey")?;
    let public = get("publicKey")?;
    let pkcs8 = bytes(&call("exportKey(pkcs8)", subtle_export_key("pkcs8", &private)).await?);
    let jwk = call("exportKey(jwk)", subtle_export_key("jwk", &public)).await?;
    let n = Reflect::get(&jwk, &"n".into())
        .ok()
        .and_then(|v| v.as_string());
    let e = Reflect::get(&jwk, &"e".into())
        .ok()
        .and_then(|v| v.as_string());
    let (Some(n), Some(e)) = (n, e) else {
        return Err(Failure::server("exported JWK lacks n or e"));
    };
    let kid = random_token::<12>(rng)?;
    let public_jwk = serde_json::json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": ALG, "n": n, "e": e,
    });
    Ok(StoredKey {
        private_key_enc: seal(secret, rng, &kid, &pkcs8).await?,
        kid,
        alg: ALG.to_string(),
        status,
        public_jwk: public_jwk.to_string(),
        created_at: clock.now(),
        retired_at: None,
    })
}

async fn import_public(jwk: &str) -> Result<JsValue, Failure> {
    let parsed = js_sys::JSON::parse(jwk).map_err(|e| js_err("stored JWK", e))?;
    // WebCrypto refuses a JWK whose `use`/`key_ops` do not fit the usage; keep only RSA fields.
    let clean = obj(&[
        (
            "kty",
            Reflect::get(&parsed, &"kty".into()).unwrap_or(JsValue::UNDEFINED),
        ),
        (
            "n",
            Reflect::get(&parsed, &"n".into()).unwrap_or(JsValue::UNDEFINED),
        ),
        (
            "e",
            Reflect::get(&parsed, &"e".into()).unwrap_or(JsValue::UNDEFINED),
        ),
    ]);
    call(
        "importKey(jwk)",
        subtle_import_key("jwk", &clean, &rsa_alg(), true, &usages(&["verify"])),
    )
    .await
}

async fn import_private(secret: &str, stored: &StoredKey) -> Result<JsValue, Failure> {
    let pkcs8 = open(secret, &stored.kid, &stored.private_key_enc).await?;
    call(
        "importKey(pkcs8)",
        subtle_import_key(
            "pkcs8",
            &Uint8Array::from(&pkcs8[..]),
            &rsa_alg(),
            false,
            &usages(&["sign"]),
        ),
    )
    .await
}

/// Rotates the signing key: the published `next` key starts signing, the current one is
/// retired (still published for `RETIRED_PUBLISH_SECS`), and a new `next` is announced.
/// Returns the kid that now signs.
pub async fn rotate(
    store: &impl Store,
    clock: &impl Clock,
    rng: &impl Random,
    secret: &str,
) -> Result<String, Failure> {
    // Make sure both slots are filled (a fresh deployment has no keys yet).
    WebCryptoSigner::load(store, clock, rng, secret).await?;
    if store.key_in_slot(KeyStatus::Next).await?.is_none() {
        let next = generate(clock, rng, secret, KeyStatus::Next).await?;
        store.insert_key_if_slot_free(&next).await?;
    }
    let successor = generate(clock, rng, secret, KeyStatus::Next).await?;
    store.rotate_keys(&successor, clock.now()).await?;
    forget_cached_keys();
    let current = store
        .key_in_slot(KeyStatus::Current)
        .await?
        .ok_or_else(|| Failure::server("no current key after rotation"))?;
    Ok(current.kid)
}

/// The JWKS document (RFC 7517 §5): next, current and recently retired keys. Cached per
/// isolate for `KEY_CACHE_SECS`.
pub async fn jwks(store: &impl Store, clock: &impl Clock) -> Result<Value, Failure> {
    let now = clock.now();
    if let Some((doc, at)) = JWKS.with(|j| j.borrow().clone()) {
        if now - at < KEY_CACHE_SECS {
            return Ok(doc);
        }
    }
    let keys: Vec<Value> = store
        .published_keys(now - RETIRED_PUBLISH_SECS)
        .await?
        .iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    let doc = serde_json::json!({ "keys": keys });
    // An empty set is not cached: the first signing request creates the keys.
    if !keys.is_empty() {
        JWKS.with(|j| *j.borrow_mut() = Some((doc.clone(), now)));
    }
    Ok(doc)
}

impl<S: Store> Signer for WebCryptoSigner<'_, S> {
    fn kid(&self) -> &str {
        &self.key.kid
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, Failure> {
        let sig = call(
            "sign",
            subtle_sign(&"RSASSA-PKCS1-v1_5".into(), &self.key.private, input),
        )
        .await?;
        Ok(bytes(&sig))
    }

    async fn verify(&self, kid: &str, input: &[u8], sig: &[u8]) -> Result<bool, Failure> {
        let Some(key) = self.verify_key(kid).await? else {
            return Ok(false);
        };
        let ok = call(
            "verify",
            subtle_verify(&"RSASSA-PKCS1-v1_5".into(), &key, sig, input),
        )
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }
}

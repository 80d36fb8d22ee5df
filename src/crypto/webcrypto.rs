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
use crate::error::Failure;
use crate::model::SigningAlg;
use crate::model::{KeyStatus, StoredKey};
use crate::oidc::jwt::Signer;
use crate::runtime::{Clock, Random, SystemClock, SystemRandom};
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

/// WebCrypto's names for each JWS algorithm (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
fn key_algorithm(alg: SigningAlg) -> Object {
    match alg {
        SigningAlg::Rs256 => obj(&[
            ("name", "RSASSA-PKCS1-v1_5".into()),
            ("hash", "SHA-256".into()),
        ]),
        SigningAlg::Es256 => obj(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())]),
        SigningAlg::EdDsa => obj(&[("name", "Ed25519".into())]),
    }
}

/// The parameters of `sign`/`verify`; ECDSA's output is already JWS's r || s.
fn signature_algorithm(alg: SigningAlg) -> JsValue {
    match alg {
        SigningAlg::Rs256 => "RSASSA-PKCS1-v1_5".into(),
        SigningAlg::Es256 => obj(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())]).into(),
        SigningAlg::EdDsa => "Ed25519".into(),
    }
}

/// The public JWK members of each key type (RFC 7518 §6, RFC 8037 §2).
fn public_members(alg: SigningAlg) -> &'static [&'static str] {
    match alg {
        SigningAlg::Rs256 => &["kty", "n", "e"],
        SigningAlg::Es256 => &["kty", "crv", "x", "y"],
        SigningAlg::EdDsa => &["kty", "crv", "x"],
    }
}

/// A loaded private key, cached per isolate so a request signs without touching D1.
#[derive(Clone)]
struct LoadedKey {
    alg: SigningAlg,
    kid: String,
    private: JsValue,
    loaded_at: i64,
}

thread_local! {
    static SIGNING_KEYS: RefCell<Vec<LoadedKey>> = const { RefCell::new(Vec::new()) };
    /// Verification keys by kid, with the algorithm their stored row names, from D1 on demand.
    static VERIFY_KEYS: RefCell<Vec<(String, SigningAlg, JsValue)>> = const { RefCell::new(Vec::new()) };
    /// The serialized JWKS and when it was read: served as is while fresh.
    static JWKS: RefCell<Option<(String, i64)>> = const { RefCell::new(None) };
}

fn forget_cached_keys() {
    SIGNING_KEYS.with(|k| k.borrow_mut().clear());
    JWKS.with(|j| *j.borrow_mut() = None);
}

/// Signing through WebCrypto with the provider's current key of each algorithm, loaded when
/// first needed; verification with any published key.
pub struct WebCryptoSigner<S: Store> {
    store: S,
    /// `KEY_ENCRYPTION_SECRET`; without it nothing can be signed (verifying needs only
    /// the public keys).
    secret: Option<String>,
}

impl<S: Store> WebCryptoSigner<S> {
    pub fn new(store: S, secret: Option<String>) -> Self {
        Self { store, secret }
    }

    fn secret(&self) -> Result<&str, Failure> {
        self.secret
            .as_deref()
            .ok_or_else(|| Failure::server("the KEY_ENCRYPTION_SECRET secret is not set"))
    }

    /// The current `alg` key: from the isolate cache, else from D1, else newly generated
    /// (with its successor, so the JWKS always announces the next key). Concurrent first
    /// requests may each generate keys, but the INSERT keeps only the first per slot and
    /// everyone re-reads the winner, so one key is ever current.
    async fn current(&self, alg: SigningAlg) -> Result<LoadedKey, Failure> {
        let now = SystemClock.now();
        let cached = SIGNING_KEYS.with(|k| k.borrow().iter().find(|k| k.alg == alg).cloned());
        if let Some(key) = cached.filter(|k| now - k.loaded_at < KEY_CACHE_SECS) {
            return Ok(key);
        }
        let stored = match self.store.key_in_slot(alg, KeyStatus::Current).await? {
            Some(k) => k,
            None => {
                for status in [KeyStatus::Current, KeyStatus::Next] {
                    let fresh = generate(self.secret()?, alg, status).await?;
                    self.store.insert_key_if_slot_free(&fresh).await?;
                }
                JWKS.with(|j| *j.borrow_mut() = None);
                self.store
                    .key_in_slot(alg, KeyStatus::Current)
                    .await?
                    .ok_or_else(|| Failure::server("no current signing key after insert"))?
            }
        };
        let key = LoadedKey {
            alg,
            private: import_private(self.secret()?, &stored, alg).await?,
            kid: stored.kid,
            loaded_at: now,
        };
        SIGNING_KEYS.with(|k| {
            let mut k = k.borrow_mut();
            k.retain(|c| c.alg != alg);
            k.push(key.clone());
        });
        Ok(key)
    }

    /// The public key for `kid` and its algorithm: cached, or loaded once from D1.
    async fn verify_key(&self, kid: &str) -> Result<Option<(SigningAlg, JsValue)>, Failure> {
        let cached = VERIFY_KEYS.with(|v| {
            v.borrow()
                .iter()
                .find(|(k, _, _)| k == kid)
                .map(|(_, alg, key)| (*alg, key.clone()))
        });
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(stored) = self.store.key_by_kid(kid).await? else {
            return Ok(None);
        };
        let Some(alg) = SigningAlg::parse(&stored.alg) else {
            return Ok(None);
        };
        let key = import_public(&stored.public_jwk, alg).await?;
        VERIFY_KEYS.with(|v| v.borrow_mut().push((kid.to_string(), alg, key.clone())));
        Ok(Some((alg, key)))
    }
}

async fn generate(secret: &str, alg: SigningAlg, status: KeyStatus) -> Result<StoredKey, Failure> {
    let params = key_algorithm(alg);
    if alg == SigningAlg::Rs256 {
        let _ = Reflect::set(&params, &"modulusLength".into(), &2048.into());
        let _ = Reflect::set(
            &params,
            &"publicExponent".into(),
            &Uint8Array::from(&[1u8, 0, 1][..]),
        );
    }
    let pair = call(
        "generateKey",
        subtle_generate_key(&params, true, &usages(&["sign", "verify"])),
    )
    .await?;
    let get =
        |name: &str| Reflect::get(&pair, &name.into()).map_err(|e| js_err("generateKey result", e));
    let private = get("privateKey")?;
    let public = get("publicKey")?;
    let pkcs8 = bytes(&call("exportKey(pkcs8)", subtle_export_key("pkcs8", &private)).await?);
    let jwk = call("exportKey(jwk)", subtle_export_key("jwk", &public)).await?;
    let kid = random_token::<12>(&SystemRandom)?;
    let mut public_jwk = serde_json::Map::new();
    for member in public_members(alg) {
        let value = Reflect::get(&jwk, &(*member).into())
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| Failure::server(format!("exported JWK lacks {member}")))?;
        public_jwk.insert((*member).to_string(), Value::String(value));
    }
    public_jwk.insert("kid".into(), Value::String(kid.clone()));
    public_jwk.insert("use".into(), "sig".into());
    public_jwk.insert("alg".into(), alg.as_str().into());
    Ok(StoredKey {
        private_key_enc: seal(secret, &SystemRandom, &kid, &pkcs8).await?,
        kid,
        alg: alg.as_str().to_string(),
        status,
        public_jwk: Value::Object(public_jwk).to_string(),
        created_at: SystemClock.now(),
        retired_at: None,
    })
}

async fn import_public(jwk: &str, alg: SigningAlg) -> Result<JsValue, Failure> {
    let parsed = js_sys::JSON::parse(jwk).map_err(|e| js_err("stored JWK", e))?;
    // WebCrypto refuses a JWK whose `use`/`key_ops`/`alg` do not fit the usage: pass only the
    // key members.
    let members: Vec<(&str, JsValue)> = public_members(alg)
        .iter()
        .map(|m| {
            (
                *m,
                Reflect::get(&parsed, &(*m).into()).unwrap_or(JsValue::UNDEFINED),
            )
        })
        .collect();
    call(
        "importKey(jwk)",
        subtle_import_key(
            "jwk",
            &obj(&members),
            &key_algorithm(alg),
            true,
            &usages(&["verify"]),
        ),
    )
    .await
}

async fn import_private(
    secret: &str,
    stored: &StoredKey,
    alg: SigningAlg,
) -> Result<JsValue, Failure> {
    let pkcs8 = open(secret, &stored.kid, &stored.private_key_enc).await?;
    call(
        "importKey(pkcs8)",
        subtle_import_key(
            "pkcs8",
            &Uint8Array::from(&pkcs8[..]),
            &key_algorithm(alg),
            false,
            &usages(&["sign"]),
        ),
    )
    .await
}

/// Rotates every algorithm in use: the published `next` key starts signing, the current one
/// is retired (still published for `RETIRED_PUBLISH_SECS`), and a new `next` is announced.
/// Returns the RS256 kid that now signs access tokens.
async fn rotate<S: Store>(signer: &WebCryptoSigner<S>) -> Result<String, Failure> {
    let (store, secret) = (&signer.store, signer.secret()?);
    // A fresh deployment has no keys yet: RS256 always exists once anything is signed.
    signer.current(SigningAlg::Rs256).await?;
    for alg in SigningAlg::ALL {
        if store.key_in_slot(alg, KeyStatus::Current).await?.is_none() {
            continue;
        }
        if store.key_in_slot(alg, KeyStatus::Next).await?.is_none() {
            let next = generate(secret, alg, KeyStatus::Next).await?;
            store.insert_key_if_slot_free(&next).await?;
        }
        let successor = generate(secret, alg, KeyStatus::Next).await?;
        store.rotate_keys(&successor, SystemClock.now()).await?;
    }
    forget_cached_keys();
    let current = store
        .key_in_slot(SigningAlg::Rs256, KeyStatus::Current)
        .await?
        .ok_or_else(|| Failure::server("no current key after rotation"))?;
    Ok(current.kid)
}

/// The cached JWKS body while it is fresh: no storage, no serialization.
fn cached_jwks(clock: &impl Clock) -> Option<String> {
    let now = clock.now();
    JWKS.with(|j| {
        j.borrow()
            .as_ref()
            .filter(|(_, at)| now - at < KEY_CACHE_SECS)
            .map(|(body, _)| body.clone())
    })
}

/// The JWKS document (RFC 7517 §5), serialized: next, current and recently retired keys of
/// every algorithm. Cached per isolate for `KEY_CACHE_SECS`.
async fn published_jwks(store: &impl Store, clock: &impl Clock) -> Result<String, Failure> {
    if let Some(body) = cached_jwks(clock) {
        return Ok(body);
    }
    let now = clock.now();
    let keys: Vec<Value> = store
        .published_keys(now - RETIRED_PUBLISH_SECS)
        .await?
        .iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    let body = serde_json::json!({ "keys": keys }).to_string();
    // An empty set is not cached: the first signing request creates the keys.
    if !keys.is_empty() {
        JWKS.with(|j| *j.borrow_mut() = Some((body.clone(), now)));
    }
    Ok(body)
}

impl<S: Store> Signer for WebCryptoSigner<S> {
    async fn kid(&self, alg: SigningAlg) -> Result<String, Failure> {
        Ok(self.current(alg).await?.kid)
    }

    async fn jwks(&self) -> Result<String, Failure> {
        // Fresh in this isolate: the keys exist (an empty set is never cached), so no storage.
        if let Some(body) = cached_jwks(&SystemClock) {
            return Ok(body);
        }
        for alg in SigningAlg::ALL {
            self.kid(alg).await?;
        }
        published_jwks(&self.store, &SystemClock).await
    }

    async fn rotate(&self) -> Result<String, Failure> {
        rotate(self).await
    }

    async fn sign(&self, alg: SigningAlg, input: &[u8]) -> Result<Vec<u8>, Failure> {
        let key = self.current(alg).await?;
        let sig = call(
            "sign",
            subtle_sign(&signature_algorithm(alg), &key.private, input),
        )
        .await?;
        Ok(bytes(&sig))
    }

    async fn verify(
        &self,
        kid: &str,
        alg: SigningAlg,
        input: &[u8],
        sig: &[u8],
    ) -> Result<bool, Failure> {
        match self.verify_key(kid).await? {
            Some((key_alg, key)) if key_alg == alg => {
                let ok = call(
                    "verify",
                    subtle_verify(&signature_algorithm(alg), &key, sig, input),
                )
                .await?;
                Ok(ok.as_bool().unwrap_or(false))
            }
            _ => Ok(false),
        }
    }
}

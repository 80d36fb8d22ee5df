//! The runtime's WebCrypto (`crypto.subtle`) for every private-key operation: RSA key
//! generation and RS256 signatures, AES-GCM for keys at rest, PBKDF2 for passwords.
//! BoringSSL inside workerd does these far faster than Rust compiled to Wasm, and keeps
//! the `rsa` crate (RUSTSEC-2023-0071) out of the build.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::password::Pbkdf2;
use super::seal::Sealer;
use super::{b64url, b64url_decode, sha256, KeyCrypto, NewKey};
use crate::error::Failure;
use crate::model::SigningAlg;
use crate::runtime::{Random, SystemRandom};

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
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = deriveKey, catch)]
    fn subtle_derive_key(
        alg: &Object,
        base: &JsValue,
        derived: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;
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

// ---- Sealed values (authorization codes) -----------------------------------------------

thread_local! {
    /// The sealing key, derived once per isolate (the secret cannot change during its life).
    static SEALING_KEY: std::cell::OnceCell<JsValue> = const { std::cell::OnceCell::new() };
}

/// HKDF's `info`: the sealing key is independent of the key-encryption key, though both
/// come from one secret (RFC 5869 §3.2).
const SEALING_INFO: &str = "edge-oidc sealed values v1";

/// AES-GCM with a key derived from `KEY_ENCRYPTION_SECRET` by HKDF-SHA256.
pub struct WebCryptoSealer {
    pub secret: Option<String>,
}

impl WebCryptoSealer {
    async fn key(&self) -> Result<JsValue, Failure> {
        if let Some(k) = SEALING_KEY.with(|c| c.get().cloned()) {
            return Ok(k);
        }
        let secret = self
            .secret
            .as_deref()
            .ok_or_else(|| Failure::server("KEY_ENCRYPTION_SECRET is not set"))?;
        let base = call(
            "importKey(HKDF)",
            subtle_import_key(
                "raw",
                &Uint8Array::from(secret.as_bytes()),
                &obj(&[("name", "HKDF".into())]),
                false,
                &usages(&["deriveKey"]),
            ),
        )
        .await?;
        let hkdf = obj(&[
            ("name", "HKDF".into()),
            ("hash", "SHA-256".into()),
            ("salt", Uint8Array::new_with_length(0).into()),
            ("info", Uint8Array::from(SEALING_INFO.as_bytes()).into()),
        ]);
        let aes = obj(&[("name", "AES-GCM".into()), ("length", 256.into())]);
        let key = call(
            "deriveKey",
            subtle_derive_key(&hkdf, &base, &aes, false, &usages(&["encrypt", "decrypt"])),
        )
        .await?;
        SEALING_KEY.with(|c| {
            let _ = c.set(key.clone());
        });
        Ok(key)
    }
}

fn gcm(iv: &[u8], purpose: &str) -> Object {
    obj(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(iv).into()),
        (
            "additionalData",
            Uint8Array::from(purpose.as_bytes()).into(),
        ),
    ])
}

impl Sealer for WebCryptoSealer {
    /// `b64url(iv || ciphertext || tag)`, one piece: a code is a single URL-safe token.
    async fn seal(&self, purpose: &str, plain: &[u8]) -> Result<String, Failure> {
        let iv = SystemRandom.bytes::<12>()?;
        let key = self.key().await?;
        let ct = bytes(&call("encrypt", subtle_encrypt(&gcm(&iv, purpose), &key, plain)).await?);
        let mut out = iv.to_vec();
        out.extend_from_slice(&ct);
        Ok(b64url(&out))
    }

    async fn open(&self, purpose: &str, sealed: &str) -> Result<Option<Vec<u8>>, Failure> {
        // 12 bytes of IV and a 16-byte tag at least.
        let Some(data) = b64url_decode(sealed).filter(|d| d.len() >= 28) else {
            return Ok(None);
        };
        let key = self.key().await?;
        let (iv, ct) = data.split_at(12);
        // A failed decryption is a value we did not seal (or one altered): not an error.
        let Ok(p) = subtle_decrypt(&gcm(iv, purpose), &key, ct) else {
            return Ok(None);
        };
        Ok(JsFuture::from(p).await.ok().map(|plain| bytes(&plain)))
    }
}

// ---- Signing keys ---------------------------------------------------------------------

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

async fn generate(secret: &str, alg: SigningAlg, kid: &str) -> Result<NewKey, Failure> {
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
    let mut public_jwk = serde_json::Map::new();
    for member in public_members(alg) {
        let value = Reflect::get(&jwk, &(*member).into())
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| Failure::server(format!("exported JWK lacks {member}")))?;
        public_jwk.insert((*member).to_string(), Value::String(value));
    }
    Ok(NewKey {
        sealed_private: seal(secret, &SystemRandom, kid, &pkcs8).await?,
        public_jwk,
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
    kid: &str,
    sealed: &str,
    alg: SigningAlg,
) -> Result<JsValue, Failure> {
    let pkcs8 = open(secret, kid, sealed).await?;
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

/// WebCrypto as the platform's `KeyCrypto`: keys are `CryptoKey` objects.
pub struct WebCrypto;

impl KeyCrypto for WebCrypto {
    type Key = JsValue;

    async fn generate(&self, alg: SigningAlg, kid: &str, secret: &str) -> Result<NewKey, Failure> {
        generate(secret, alg, kid).await
    }

    async fn private_key(
        &self,
        alg: SigningAlg,
        kid: &str,
        sealed: &str,
        secret: &str,
    ) -> Result<JsValue, Failure> {
        import_private(secret, kid, sealed, alg).await
    }

    async fn public_key(&self, alg: SigningAlg, public_jwk: &str) -> Result<JsValue, Failure> {
        import_public(public_jwk, alg).await
    }

    async fn sign(&self, alg: SigningAlg, key: &JsValue, input: &[u8]) -> Result<Vec<u8>, Failure> {
        let sig = call("sign", subtle_sign(&signature_algorithm(alg), key, input)).await?;
        Ok(bytes(&sig))
    }

    async fn verify(
        &self,
        alg: SigningAlg,
        key: &JsValue,
        input: &[u8],
        sig: &[u8],
    ) -> Result<bool, Failure> {
        let ok = call(
            "verify",
            subtle_verify(&signature_algorithm(alg), key, sig, input),
        )
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }
}

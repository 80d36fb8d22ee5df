//! Hashing, encoding and secret handling shared by every endpoint.
//!
//! Private-key operations (RSA signing, AES-GCM for keys at rest and sealed codes, PBKDF2) live in `webcrypto`, which calls the
//! runtime's `crypto.subtle`; only SHA-256 of short inputs is done in Rust.

pub mod password;
pub mod seal;
#[cfg(target_arch = "wasm32")]
pub mod webcrypto;

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

use crate::error::Failure;
use crate::runtime::Random;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn b64url(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s).ok()
}

/// A session's `sid` (Back-Channel Logout 1.0 §2.1) from the hash of its cookie value (the
/// KV key): 128 bits of a second hash, so the public `sid` reveals neither.
pub fn session_sid(id_hash: &str) -> String {
    let digest = sha256(format!("sid:{id_hash}").as_bytes());
    b64url(&digest[..16])
}

pub fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Compares without an early exit, so the time taken does not reveal the length of the
/// matching prefix.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// A URL-safe random string carrying `N` bytes of entropy.
pub fn random_token<const N: usize>(rng: &impl Random) -> Result<String, Failure> {
    Ok(b64url(&rng.bytes::<N>()?))
}

/// A random identifier of lowercase letters and digits (client ids, user ids): easy to
/// copy and safe in any URL or header.
pub fn random_id(rng: &impl Random, len: usize) -> Result<String, Failure> {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        // 252 = 7 * 36: rejecting bytes above it keeps every symbol equally likely.
        for b in rng.bytes::<32>()? {
            if b < 252 && out.len() < len {
                out.push(ALPHABET[(b % 36) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// Declares a newtype for a bearer secret: redacted `Debug`, constant-time comparison, and a
/// SHA-256 hash for storage. These secrets carry 256 bits of randomness, so a fast hash is
/// enough: there is nothing to brute-force.
macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// A fresh secret with 256 bits of entropy.
            pub fn generate(rng: &impl Random) -> Result<Self, Failure> {
                Ok(Self(random_token::<32>(rng)?))
            }

            /// The value, for the one response that hands it out.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// What is stored: hex SHA-256.
            pub fn hashed(&self) -> String {
                hex(&sha256(self.0.as_bytes()))
            }

            /// Constant-time check against a stored hash.
            pub fn matches_hash(&self, stored_hex: &str) -> bool {
                ct_eq(self.hashed().as_bytes(), stored_hex.as_bytes())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                ct_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }
    };
}

secret_newtype!(
    /// A client secret (RFC 6749 §2.3.1).
    ClientSecret
);
secret_newtype!(
    /// An authorization code (RFC 6749 §4.1.2).
    AuthCode
);
secret_newtype!(
    /// A login session id, carried in the session cookie.
    SessionId
);
secret_newtype!(
    /// A CSRF token for the login form (double-submit cookie).
    CsrfToken
);
secret_newtype!(
    /// An RFC 7592 registration access token.
    RegistrationToken
);
secret_newtype!(
    /// A refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_newtype!(
    /// The `ADMIN_TOKEN` secret: a Bearer token for the management API.
    AdminToken
);
secret_newtype!(
    /// An RFC 7591 §3 initial access token that gates dynamic registration.
    InitialAccessToken
);

/// A fresh key pair from `KeyCrypto::generate`.
pub struct NewKey {
    /// The private key (PKCS #8), sealed under the key encryption secret and bound to its
    /// `kid`, as stored.
    pub sealed_private: String,
    /// The public JWK members of the key type (RFC 7518 §6, RFC 8037 §2).
    pub public_jwk: serde_json::Map<String, serde_json::Value>,
}

/// The cryptography behind the provider's signing keys (WebCrypto in workerd: private-key
/// operations never run as Rust in Wasm). Only cryptography: which key signs, when keys
/// are created and rotated, and what is published is key management (`oidc::keys`).
#[allow(async_fn_in_trait)]
pub trait KeyCrypto {
    /// An imported key, ready to use (a `CryptoKey` in workerd).
    type Key: Clone;
    async fn generate(
        &self,
        alg: crate::model::SigningAlg,
        kid: &str,
        secret: &str,
    ) -> Result<NewKey, Failure>;
    /// Opens a sealed private key (`NewKey::sealed_private`) for signing.
    async fn private_key(
        &self,
        alg: crate::model::SigningAlg,
        kid: &str,
        sealed: &str,
        secret: &str,
    ) -> Result<Self::Key, Failure>;
    /// Imports a stored public JWK for verifying.
    async fn public_key(
        &self,
        alg: crate::model::SigningAlg,
        public_jwk: &str,
    ) -> Result<Self::Key, Failure>;
    async fn sign(
        &self,
        alg: crate::model::SigningAlg,
        key: &Self::Key,
        input: &[u8],
    ) -> Result<Vec<u8>, Failure>;
    async fn verify(
        &self,
        alg: crate::model::SigningAlg,
        key: &Self::Key,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, Failure>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::testing::CountingRandom;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = ClientSecret::new("super-secret-value");
        assert_eq!(format!("{s:?}"), "ClientSecret(<redacted>)");
        assert!(!format!("{:?}", AuthCode::new("abc")).contains("abc"));
    }

    #[test]
    fn secret_hash_round_trip() {
        let s = SessionId::new("abc");
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            s.hashed(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(s.matches_hash(&s.hashed()));
        assert!(!SessionId::new("abd").matches_hash(&s.hashed()));
    }

    #[test]
    fn ct_eq_compares_whole_values() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn generated_secrets_have_256_bits() {
        let rng = CountingRandom::new();
        let a = ClientSecret::generate(&rng).unwrap();
        let b = ClientSecret::generate(&rng).unwrap();
        assert_eq!(b64url_decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn random_ids_use_the_alphabet() {
        let id = random_id(&CountingRandom::new(), 24).unwrap();
        assert_eq!(id.len(), 24);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn base64url_round_trip() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"\xff\xfe\xfd"] {
            assert_eq!(b64url_decode(&b64url(data)).unwrap(), data);
        }
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert!(b64url_decode("not base64!").is_none());
    }
}

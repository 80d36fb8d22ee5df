//! Authenticated encryption of values the provider hands out and takes back whole, so it
//! need not store them: authorization codes carry their own grant (client, redirect URI,
//! PKCE challenge, user, scope, nonce, `auth_time`, expiry), sealed with AES-GCM under a
//! key derived from the `KEY_ENCRYPTION_SECRET` Worker secret. Only their single use needs
//! storage, and that is a Durable Object's job (`store::grant_do`).

use crate::error::Failure;

/// Seals and opens short values. `purpose` is bound as additional data, so a value sealed
/// for one use cannot be passed off as another.
#[allow(async_fn_in_trait)]
pub trait Sealer {
    /// An opaque URL-safe string.
    async fn seal(&self, purpose: &str, plain: &[u8]) -> Result<String, Failure>;
    /// The plaintext, or `None` when `sealed` is not a value this provider sealed for
    /// `purpose` (altered, truncated, foreign, or sealed under another secret). `Err` only
    /// when sealing cannot work at all (no secret).
    async fn open(&self, purpose: &str, sealed: &str) -> Result<Option<Vec<u8>>, Failure>;
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::crypto::{b64url, b64url_decode, ct_eq, sha256};

    /// Stands in for AES-GCM natively: a SHA-256 keystream and a SHA-256 tag over the key,
    /// purpose and plaintext. Not a cipher to trust; it only has to reject what was altered,
    /// as the real one does, so tests see the same answers.
    pub struct FakeSealer {
        pub key: Vec<u8>,
    }

    impl Default for FakeSealer {
        fn default() -> Self {
            Self {
                key: b"test key".to_vec(),
            }
        }
    }

    impl FakeSealer {
        fn keystream_xor(&self, data: &mut [u8]) {
            for (block, chunk) in data.chunks_mut(32).enumerate() {
                let mut input = self.key.clone();
                input.extend_from_slice(&(block as u64).to_be_bytes());
                for (b, k) in chunk.iter_mut().zip(sha256(&input)) {
                    *b ^= k;
                }
            }
        }

        fn tag(&self, purpose: &str, plain: &[u8]) -> [u8; 32] {
            let mut input = self.key.clone();
            input.push(0);
            input.extend_from_slice(purpose.as_bytes());
            input.push(0);
            input.extend_from_slice(plain);
            sha256(&input)
        }
    }

    impl Sealer for FakeSealer {
        async fn seal(&self, purpose: &str, plain: &[u8]) -> Result<String, Failure> {
            let mut out = plain.to_vec();
            self.keystream_xor(&mut out);
            out.extend_from_slice(&self.tag(purpose, plain));
            Ok(b64url(&out))
        }

        async fn open(&self, purpose: &str, sealed: &str) -> Result<Option<Vec<u8>>, Failure> {
            let Some(mut data) = b64url_decode(sealed).filter(|d| d.len() >= 32) else {
                return Ok(None);
            };
            let tag = data.split_off(data.len() - 32);
            self.keystream_xor(&mut data);
            Ok(ct_eq(&tag, &self.tag(purpose, &data)).then_some(data))
        }
    }
}

//! Signed JWTs: ID tokens (OpenID Connect Core §2) and access tokens (RFC 9068).
//!
//! jwt-compact supplies the token structure (`Header`, `Claims`, parsing, time checks); the
//! signature itself comes from a `Signer`, which in workerd is WebCrypto (RS256, ES256,
//! EdDSA), because WebCrypto is asynchronous and much faster than RSA or ECC in Wasm.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{Claims, Header, TimeOptions, UntrustedToken};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::crypto::{b64url, sha256};
use crate::error::Failure;

/// RFC 9068 §2.1: distinguishes access tokens from ID tokens signed by the same key.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

pub use crate::model::SigningAlg;

/// Signs and verifies with the provider's keys.
#[allow(async_fn_in_trait)]
pub trait Signer {
    /// The `kid` of the key that signs with `alg` now.
    async fn kid(&self, alg: SigningAlg) -> Result<String, Failure>;
    async fn sign(&self, alg: SigningAlg, signing_input: &[u8]) -> Result<Vec<u8>, Failure>;
    /// The JWK Set to publish (RFC 7517 §5): the keys that sign now, will sign next, or
    /// signed tokens that may still be alive. Every algorithm's keys exist before it is
    /// answered, so a relying party never meets a `kid` newer than its cached copy.
    async fn jwks(&self) -> Result<String, Failure>;
    /// Rotates every algorithm's keys, or only `only`'s (next signs, current retires);
    /// returns the `kid` that now signs for `only`, or for RS256.
    async fn rotate(&self, only: Option<SigningAlg>) -> Result<String, Failure>;
    /// `Ok(false)` for a bad signature, a `kid` this provider does not know, or a key whose
    /// algorithm is not `alg` (no algorithm confusion: the key decides, not the header).
    async fn verify(
        &self,
        kid: &str,
        alg: SigningAlg,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, Failure>;
    /// Verifies with a key that is not the provider's: a client's public JWK (JSON text), for
    /// `private_key_jwt` (RFC 7523). `Ok(false)` also when the key does not fit `alg` or
    /// cannot be imported.
    async fn verify_with_jwk(
        &self,
        jwk: &str,
        alg: SigningAlg,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, Failure>;
}

#[derive(Serialize)]
struct JoseHeader<'a> {
    alg: &'a str,
    #[serde(flatten)]
    inner: Header,
}

pub fn time_options(now: i64) -> TimeOptions<impl Fn() -> DateTime<Utc>> {
    let at = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
    // Tolerates small clock differences between the provider's locations.
    TimeOptions::new(Duration::seconds(30), move || at)
}

/// Claims valid from `now` for `ttl` seconds.
pub fn claims<T>(custom: T, now: i64, ttl: i64) -> Claims<T> {
    Claims::new(custom).set_duration_and_issuance(&time_options(now), Duration::seconds(ttl))
}

pub async fn encode<T: Serialize>(
    signer: &impl Signer,
    alg: SigningAlg,
    typ: &str,
    claims: &Claims<T>,
) -> Result<String, Failure> {
    let header = JoseHeader {
        alg: alg.as_str(),
        inner: Header::empty()
            .with_key_id(signer.kid(alg).await?)
            .with_token_type(typ),
    };
    let header = serde_json::to_vec(&header).map_err(Failure::server)?;
    let payload = serde_json::to_vec(claims).map_err(Failure::server)?;
    let mut token = format!("{}.{}", b64url(&header), b64url(&payload));
    let signature = signer.sign(alg, token.as_bytes()).await?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

/// Parses and verifies a token this provider issued: algorithm, `typ`, signature, expiry.
/// Every failure is `invalid_token` (RFC 6750 §3.1).
pub async fn decode_verified<T: DeserializeOwned>(
    signer: &impl Signer,
    token: &str,
    expected_typ: &str,
    now: i64,
) -> Result<Claims<T>, Failure> {
    decode(signer, token, expected_typ, Some(now)).await
}

/// Like `decode_verified` but accepting an expired token: an `id_token_hint` names a past
/// login and may well have expired (OpenID Connect RP-Initiated Logout 1.0 §2).
pub async fn decode_hint<T: DeserializeOwned>(
    signer: &impl Signer,
    token: &str,
    expected_typ: &str,
) -> Result<Claims<T>, Failure> {
    decode(signer, token, expected_typ, None).await
}

/// An `id_token_hint` (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2): an ID token
/// this provider issued, expired or not; `invalid_request` otherwise.
pub async fn id_token_hint(
    signer: &impl Signer,
    issuer: &str,
    hint: &str,
) -> Result<HintClaims, Failure> {
    let claims = decode_hint::<HintClaims>(signer, hint, ID_TOKEN_TYP)
        .await
        .map_err(|_| {
            Failure::invalid_request("the id_token_hint is not a valid ID token from this provider")
        })?
        .custom;
    if claims.iss != issuer {
        return Err(Failure::invalid_request(
            "the id_token_hint was issued by another provider",
        ));
    }
    Ok(claims)
}

async fn decode<T: DeserializeOwned>(
    signer: &impl Signer,
    token: &str,
    expected_typ: &str,
    now: Option<i64>,
) -> Result<Claims<T>, Failure> {
    let bad = |why: &'static str| Failure::invalid_token(why);
    let untrusted = UntrustedToken::new(token).map_err(|_| bad("the token is not a JWT"))?;
    let alg = SigningAlg::parse(untrusted.algorithm())
        .ok_or_else(|| bad("unexpected token algorithm"))?;
    if untrusted.header().token_type.as_deref() != Some(expected_typ) {
        return Err(bad("wrong token type"));
    }
    let kid = untrusted
        .header()
        .key_id
        .as_deref()
        .ok_or_else(|| bad("the token names no key"))?;
    let signing_input = token
        .rsplit_once('.')
        .map(|(input, _)| input)
        .ok_or_else(|| bad("the token is not a JWT"))?;
    if !signer
        .verify(
            kid,
            alg,
            signing_input.as_bytes(),
            untrusted.signature_bytes(),
        )
        .await?
    {
        return Err(bad("the token signature is invalid"));
    }
    let claims: Claims<T> = untrusted
        .deserialize_claims_unchecked()
        .map_err(|_| bad("the token claims are malformed"))?;
    if let Some(now) = now {
        claims
            .validate_expiration(&time_options(now))
            .map_err(|_| bad("the token has expired"))?;
    }
    Ok(claims)
}

/// `at_hash`: base64url of the left half of the hash that the ID token's algorithm uses
/// (OpenID Connect Core §3.1.3.6): SHA-256 for RS256 and ES256; for EdDSA with Ed25519 the
/// errata name SHA-512.
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => b64url(&sha256(access_token.as_bytes())[..16]),
        SigningAlg::EdDsa => {
            use sha2::{Digest, Sha512};
            b64url(&Sha512::digest(access_token.as_bytes())[..32])
        }
    }
}

/// What an `id_token_hint` is read for. Only these are deserialized: the ID token's claims
/// (with their flattened, scope-dependent members) are only ever written, which keeps
/// serde's costly flatten-deserializing code out of the Wasm.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HintClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
}

/// Claims released by scope (OpenID Connect Core §5.4), by name: a map, since which are
/// present depends on the scopes and the user (`mint::profile_claims`).
pub type ProfileClaims = serde_json::Map<String, serde_json::Value>;

/// JWT access token claims (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The API (RFC 8707 resource) the token is for, or this provider (userinfo).
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    /// The grant the token was issued under (a private claim, RFC 9068 §2.2.3): userinfo asks
    /// the grant's object whether it still stands. None for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// The claims userinfo also returns, by name (OpenID Connect Core §5.5; a private claim,
    /// only in the opaque tokens that reach userinfo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// The user's roles, in an API's token when the `roles` scope was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::crypto::ct_eq;

    /// A stand-in signer for native tests: the "signature" is a keyed SHA-256.
    pub struct FakeSigner {
        pub kid: String,
        pub key: Vec<u8>,
        /// When set, `sign` fails as WebCrypto would (for fault tests).
        pub broken: std::cell::Cell<bool>,
    }

    impl Default for FakeSigner {
        fn default() -> Self {
            Self::new()
        }
    }

    impl FakeSigner {
        pub fn new() -> Self {
            Self {
                kid: "test-key".into(),
                key: b"test key material".to_vec(),
                broken: std::cell::Cell::new(false),
            }
        }

        fn mac(&self, input: &[u8]) -> Vec<u8> {
            let mut data = self.key.clone();
            data.extend_from_slice(input);
            sha256(&data).to_vec()
        }
    }

    impl Signer for FakeSigner {
        async fn kid(&self, alg: SigningAlg) -> Result<String, Failure> {
            Ok(format!("{}-{}", self.kid, alg.as_str()))
        }
        async fn jwks(&self) -> Result<String, Failure> {
            let keys: Vec<serde_json::Value> = SigningAlg::ALL
                .iter()
                .map(|a| serde_json::json!({ "kid": format!("{}-{}", self.kid, a.as_str()), "alg": a.as_str() }))
                .collect();
            Ok(serde_json::json!({ "keys": keys }).to_string())
        }
        async fn rotate(&self, only: Option<SigningAlg>) -> Result<String, Failure> {
            self.kid(only.unwrap_or(SigningAlg::Rs256)).await
        }
        async fn sign(&self, alg: SigningAlg, input: &[u8]) -> Result<Vec<u8>, Failure> {
            if self.broken.get() {
                return Err(Failure::server("injected signing failure"));
            }
            let mut data = alg.as_str().as_bytes().to_vec();
            data.extend_from_slice(input);
            Ok(self.mac(&data))
        }
        async fn verify(
            &self,
            kid: &str,
            alg: SigningAlg,
            input: &[u8],
            sig: &[u8],
        ) -> Result<bool, Failure> {
            let mut data = alg.as_str().as_bytes().to_vec();
            data.extend_from_slice(input);
            Ok(kid == format!("{}-{}", self.kid, alg.as_str()) && ct_eq(&self.mac(&data), sig))
        }
        async fn verify_with_jwk(
            &self,
            jwk: &str,
            alg: SigningAlg,
            input: &[u8],
            sig: &[u8],
        ) -> Result<bool, Failure> {
            let kid = serde_json::from_str::<serde_json::Value>(jwk)
                .ok()
                .and_then(|k| k.get("kid").and_then(|v| v.as_str()).map(str::to_string));
            Ok(kid.is_some_and(|kid| ct_eq(&Self::client_sign(&kid, alg, input), sig)))
        }
    }

    impl FakeSigner {
        /// What `verify_with_jwk` accepts as the signature of the client key `kid`: the
        /// fake's stand-in for a client's private key.
        pub fn client_sign(kid: &str, alg: SigningAlg, input: &[u8]) -> Vec<u8> {
            let mut data = format!("client {kid} {} ", alg.as_str()).into_bytes();
            data.extend_from_slice(input);
            sha256(&data).to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeSigner;
    use super::*;
    use crate::error::OAuthError;
    use futures_executor::block_on;

    fn access(now: i64) -> Claims<AccessTokenClaims> {
        claims(
            AccessTokenClaims {
                roles: Default::default(),
                claims: None,
                iss: "https://id.example".into(),
                sub: "u1".into(),
                aud: "https://id.example".into(),
                client_id: "c1".into(),
                scope: "openid".into(),
                jti: "j1".into(),
                gid: None,
            },
            now,
            3600,
        )
    }

    #[test]
    fn round_trip_and_structure() {
        let signer = FakeSigner::new();
        let token = block_on(encode(
            &signer,
            SigningAlg::Rs256,
            ACCESS_TOKEN_TYP,
            &access(1_000),
        ))
        .unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &crate::crypto::b64url_decode(token.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "test-key-RS256");
        assert_eq!(header["typ"], "at+jwt");
        let claims: Claims<AccessTokenClaims> =
            block_on(decode_verified(&signer, &token, ACCESS_TOKEN_TYP, 1_100)).unwrap();
        assert_eq!(claims.custom.sub, "u1");
        assert_eq!(claims.expiration.unwrap().timestamp(), 4_600);
        assert_eq!(claims.issued_at.unwrap().timestamp(), 1_000);
    }

    #[test]
    fn rejects_tampering_expiry_and_wrong_type() {
        let signer = FakeSigner::new();
        let token = block_on(encode(
            &signer,
            SigningAlg::Rs256,
            ACCESS_TOKEN_TYP,
            &access(1_000),
        ))
        .unwrap();
        let check = |t: &str, typ: &str, now: i64| {
            block_on(decode_verified::<AccessTokenClaims>(&signer, t, typ, now))
                .map(|_| ())
                .unwrap_err()
                .error
        };
        // Expired (beyond the leeway).
        assert_eq!(
            check(&token, ACCESS_TOKEN_TYP, 4_700),
            OAuthError::InvalidToken
        );
        // An ID token is not an access token.
        assert_eq!(check(&token, ID_TOKEN_TYP, 1_100), OAuthError::InvalidToken);
        // Payload swapped.
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = b64url(br#"{"sub":"admin"}"#);
        parts[1] = &other;
        assert_eq!(
            check(&parts.join("."), ACCESS_TOKEN_TYP, 1_100),
            OAuthError::InvalidToken
        );
        assert_eq!(
            check("garbage", ACCESS_TOKEN_TYP, 1_100),
            OAuthError::InvalidToken
        );
    }

    #[test]
    fn algorithms_round_trip_and_the_key_decides() {
        for alg in SigningAlg::ALL {
            assert_eq!(SigningAlg::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(SigningAlg::parse("none"), None);
        assert_eq!(SigningAlg::parse("HS256"), None);
        let signer = FakeSigner::new();
        let es = block_on(encode(
            &signer,
            SigningAlg::Es256,
            ID_TOKEN_TYP,
            &access(1_000),
        ))
        .unwrap();
        assert!(block_on(decode_verified::<AccessTokenClaims>(
            &signer,
            &es,
            ID_TOKEN_TYP,
            1_001
        ))
        .is_ok());
        // Relabel the header as RS256: the ES256 key's signature must not verify as RS256.
        let mut parts: Vec<String> = es.split('.').map(str::to_string).collect();
        let header: serde_json::Value =
            serde_json::from_slice(&crate::crypto::b64url_decode(&parts[0]).unwrap()).unwrap();
        let mut relabelled = header.clone();
        relabelled["alg"] = "RS256".into();
        parts[0] = b64url(relabelled.to_string().as_bytes());
        let forged = parts.join(".");
        assert!(block_on(decode_verified::<AccessTokenClaims>(
            &signer,
            &forged,
            ID_TOKEN_TYP,
            1_001
        ))
        .is_err());
        let mut none = header;
        none["alg"] = "none".into();
        parts[0] = b64url(none.to_string().as_bytes());
        assert!(block_on(decode_verified::<AccessTokenClaims>(
            &signer,
            &parts.join("."),
            ID_TOKEN_TYP,
            1_001
        ))
        .is_err());
    }

    #[test]
    fn at_hash_matches_the_spec_construction() {
        // Left-most 128 bits of SHA-256("abc"), base64url.
        assert_eq!(at_hash("abc", SigningAlg::Rs256), "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(at_hash("abc", SigningAlg::Es256), "ungWv48Bz-pBQUDeXa4iIw");
        // Left 256 bits of SHA-512("abc") (FIPS 180-2 C.1: ddaf35a193617aba...).
        let ed = crate::crypto::b64url_decode(&at_hash("abc", SigningAlg::EdDsa)).unwrap();
        assert_eq!(ed.len(), 32);
        assert_eq!(&ed[..4], &[0xdd, 0xaf, 0x35, 0xa1]);
    }
}

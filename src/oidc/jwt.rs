//! Signed JWTs: ID tokens (OpenID Connect Core §2) and access tokens (RFC 9068).
//!
//! jwt-compact supplies the token structure (`Header`, `Claims`, parsing, time checks); the
//! signature itself comes from a `Signer`, which in workerd is WebCrypto (RSASSA-PKCS1-v1_5
//! with SHA-256, i.e. RS256), because WebCrypto is asynchronous and much faster than RSA in Wasm.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{Claims, Header, TimeOptions, UntrustedToken};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::crypto::{b64url, sha256};
use crate::oidc::error::Failure;

pub const ALG: &str = "RS256";
/// RFC 9068 §2.1: distinguishes access tokens from ID tokens signed by the same key.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

/// Signs and verifies with the provider's keys.
#[allow(async_fn_in_trait)]
pub trait Signer {
    /// The `kid` of the key `sign` uses.
    fn kid(&self) -> &str;
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Failure>;
    /// `Ok(false)` for a bad signature or a `kid` this provider does not know.
    async fn verify(
        &self,
        kid: &str,
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
    typ: &str,
    claims: &Claims<T>,
) -> Result<String, Failure> {
    let header = JoseHeader {
        alg: ALG,
        inner: Header::empty()
            .with_key_id(signer.kid())
            .with_token_type(typ),
    };
    let header = serde_json::to_vec(&header).map_err(Failure::server)?;
    let payload = serde_json::to_vec(claims).map_err(Failure::server)?;
    let mut token = format!("{}.{}", b64url(&header), b64url(&payload));
    let signature = signer.sign(token.as_bytes()).await?;
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

async fn decode<T: DeserializeOwned>(
    signer: &impl Signer,
    token: &str,
    expected_typ: &str,
    now: Option<i64>,
) -> Result<Claims<T>, Failure> {
    let bad = |why: &'static str| Failure::invalid_token(why);
    let untrusted = UntrustedToken::new(token).map_err(|_| bad("the token is not a JWT"))?;
    if untrusted.algorithm() != ALG {
        return Err(bad("unexpected token algorithm"));
    }
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
        .verify(kid, signing_input.as_bytes(), untrusted.signature_bytes())
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

/// `at_hash`: base64url of the left half of SHA-256 of the access token
/// (OpenID Connect Core §3.1.3.6, for RS256).
pub fn at_hash(access_token: &str) -> String {
    b64url(&sha256(access_token.as_bytes())[..16])
}

/// ID token claims beyond the registered time claims (OpenID Connect Core §2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// Claims released by scope (OpenID Connect Core §5.4).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProfileClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// JWT access token claims (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::crypto::ct_eq;

    /// A stand-in signer for native tests: the "signature" is a keyed SHA-256.
    pub struct FakeSigner {
        pub kid: String,
        pub key: Vec<u8>,
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
            }
        }

        fn mac(&self, input: &[u8]) -> Vec<u8> {
            let mut data = self.key.clone();
            data.extend_from_slice(input);
            sha256(&data).to_vec()
        }
    }

    impl Signer for FakeSigner {
        fn kid(&self) -> &str {
            &self.kid
        }
        async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, Failure> {
            Ok(self.mac(input))
        }
        async fn verify(&self, kid: &str, input: &[u8], sig: &[u8]) -> Result<bool, Failure> {
            Ok(kid == self.kid && ct_eq(&self.mac(input), sig))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeSigner;
    use super::*;
    use crate::oidc::error::OAuthError;
    use futures_executor::block_on;

    fn access(now: i64) -> Claims<AccessTokenClaims> {
        claims(
            AccessTokenClaims {
                iss: "https://id.example".into(),
                sub: "u1".into(),
                aud: "https://id.example".into(),
                client_id: "c1".into(),
                scope: "openid".into(),
                jti: "j1".into(),
            },
            now,
            3600,
        )
    }

    #[test]
    fn round_trip_and_structure() {
        let signer = FakeSigner::new();
        let token = block_on(encode(&signer, ACCESS_TOKEN_TYP, &access(1_000))).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &crate::crypto::b64url_decode(token.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "test-key");
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
        let token = block_on(encode(&signer, ACCESS_TOKEN_TYP, &access(1_000))).unwrap();
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
    fn at_hash_matches_the_spec_construction() {
        // Left-most 128 bits of SHA-256("abc"), base64url.
        assert_eq!(at_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }
}

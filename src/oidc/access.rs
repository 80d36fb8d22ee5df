//! Access tokens (RFC 6749 §1.4, RFC 6750), the one owner of their two forms:
//!
//! - **For this provider** (userinfo, and nothing else: no API was named), an opaque token,
//!   sealed (AES-GCM, `crypto::seal`) rather than signed, as Auth0, Logto and
//!   node-oidc-provider hand out opaque tokens when no API audience is asked for. Only this
//!   provider can read it; nothing is stored. Sealing costs a few microseconds where an RS256
//!   signature costs about 0.7 ms of the request's CPU.
//! - **For an API** (`aud` names another resource: RFC 8707 `resource`, Auth0's
//!   `audience`), a JWT (RFC 9068) that the API verifies against the JWKS by itself.
//!
//! Either names its grant (`gid`), so userinfo and introspection can ask whether the grant
//! still stands.

use jwt_compact::Claims;

use super::jwt::{self, AccessTokenClaims, Signer};
use super::params::Params;
use crate::crypto::seal::Sealer;
use crate::error::{Failure, OAuthError};
use crate::model::Application;

/// The additional data opaque access tokens are sealed with: nothing sealed for another use
/// (a code) opens as an access token.
const PURPOSE: &str = "access_token v1";

/// Sealed tokens are a few hundred characters; anything far longer is not one.
const MAX_SEALED_LEN: usize = 4096;

/// A verified, unexpired access token of this provider.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub claims: AccessTokenClaims,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Whether it is the opaque form (for this provider only).
    pub opaque: bool,
}

/// Issues `claims` for `ttl` seconds: opaque when the audience is the issuer alone, a JWT
/// (RFC 9068) when it names an API.
pub async fn issue(
    signer: &impl Signer,
    sealer: &impl Sealer,
    claims: AccessTokenClaims,
    now: i64,
    ttl: i64,
) -> Result<String, Failure> {
    if claims.aud != claims.iss {
        let jwt_claims = jwt::claims(claims, now, ttl);
        return jwt::encode(
            signer,
            jwt::SigningAlg::Rs256,
            jwt::ACCESS_TOKEN_TYP,
            &jwt_claims,
        )
        .await;
    }
    // The JWT's own claims set, sealed instead of signed: the same serde code as JWTs.
    let json = serde_json::to_vec(&jwt::claims(claims, now, ttl)).map_err(Failure::server)?;
    sealer.seal(PURPOSE, &json).await
}

/// The API a request names: RFC 8707's `resource` (§2) or Auth0's `audience` (both may be
/// sent if they agree), which must be one of the application's `allowed_audiences`
/// (`invalid_target` otherwise); `None` when neither is sent.
pub fn requested_api(app: &Application, params: &Params) -> Result<Option<String>, Failure> {
    let named = match (params.get("resource")?, params.get("audience")?) {
        (Some(r), Some(a)) if r != a => {
            return Err(Failure::invalid_request(
                "resource and audience name different APIs",
            ))
        }
        (Some(r), _) => r,
        (None, Some(a)) => a,
        (None, None) => return Ok(None),
    };
    if app.allowed_audiences.iter().any(|a| a == named) {
        return Ok(Some(named.to_string()));
    }
    Err(Failure::new(
        OAuthError::InvalidTarget,
        format!("this application may not get tokens for {named}: add it to its allowed_audiences"),
    ))
}

/// Whether `token` has the shape of a JWT (three dot-separated parts); opaque tokens have
/// no dot.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The token's claims if it is one of this provider's access tokens, of either form, and
/// unexpired at `now`; `invalid_token` otherwise (RFC 6750 §3.1).
pub async fn verify(
    signer: &impl Signer,
    sealer: &impl Sealer,
    token: &str,
    now: i64,
) -> Result<AccessToken, Failure> {
    if looks_like_jwt(token) {
        let c =
            jwt::decode_verified::<AccessTokenClaims>(signer, token, jwt::ACCESS_TOKEN_TYP, now)
                .await?;
        return Ok(AccessToken {
            issued_at: c.issued_at.map_or(0, |t| t.timestamp()),
            expires_at: c.expiration.map_or(0, |t| t.timestamp()),
            claims: c.custom,
            opaque: false,
        });
    }
    let invalid = || Failure::invalid_token("the access token is invalid or has expired");
    let sealed = open(sealer, token).await?.ok_or_else(invalid)?;
    let expires_at = sealed.expiration.map_or(0, |t| t.timestamp());
    if expires_at <= now {
        return Err(invalid());
    }
    Ok(AccessToken {
        issued_at: sealed.issued_at.map_or(0, |t| t.timestamp()),
        expires_at,
        opaque: true,
        claims: sealed.custom,
    })
}

/// Whether `token` is an opaque access token of this provider, whatever its age: a
/// revocation request does not say which kind of token it carries (RFC 7009 §2.1).
pub async fn open_opaque(
    sealer: &impl Sealer,
    token: &str,
) -> Result<Option<AccessTokenClaims>, Failure> {
    Ok(open(sealer, token).await?.map(|c| c.custom))
}

async fn open(
    sealer: &impl Sealer,
    token: &str,
) -> Result<Option<Claims<AccessTokenClaims>>, Failure> {
    if token.len() > MAX_SEALED_LEN || token.contains('.') {
        return Ok(None);
    }
    Ok(sealer
        .open(PURPOSE, token)
        .await?
        .and_then(|plain| serde_json::from_slice(&plain).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::testing::FakeSealer;
    use crate::error::OAuthError;
    use crate::oidc::jwt::testing::FakeSigner;
    use futures_executor::block_on;

    const ISS: &str = "https://id.example.com";

    fn claims(aud: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            roles: Default::default(),
            claims: None,
            iss: ISS.into(),
            sub: "u1".into(),
            aud: aud.into(),
            client_id: "app1".into(),
            scope: "openid email".into(),
            jti: "j1".into(),
            gid: Some("g1".into()),
        }
    }

    #[test]
    fn a_token_for_the_provider_is_opaque_and_opens_until_it_expires() {
        let (signer, sealer) = (FakeSigner::new(), FakeSealer::default());
        let token = block_on(issue(&signer, &sealer, claims(ISS), 1_000, 600)).unwrap();
        assert!(!token.contains('.'), "{token}");
        assert!(!token.contains("u1") && !token.contains("app1"));
        let t = block_on(verify(&signer, &sealer, &token, 1_599)).unwrap();
        assert_eq!(t.claims, claims(ISS));
        assert_eq!((t.issued_at, t.expires_at, t.opaque), (1_000, 1_600, true));
        let expired = block_on(verify(&signer, &sealer, &token, 1_600)).unwrap_err();
        assert_eq!(expired.error, OAuthError::InvalidToken);
        assert!(block_on(open_opaque(&sealer, &token)).unwrap().is_some());
    }

    #[test]
    fn a_token_for_an_api_is_a_jwt() {
        let (signer, sealer) = (FakeSigner::new(), FakeSealer::default());
        let api = "https://api.example.com";
        let token = block_on(issue(&signer, &sealer, claims(api), 1_000, 600)).unwrap();
        assert!(looks_like_jwt(&token));
        let t = block_on(verify(&signer, &sealer, &token, 1_100)).unwrap();
        assert_eq!((t.claims.aud.as_str(), t.opaque), (api, false));
        assert_eq!(t.expires_at, 1_600);
        assert!(block_on(open_opaque(&sealer, &token)).unwrap().is_none());
    }

    #[test]
    fn altered_foreign_and_other_sealed_values_are_refused() {
        let (signer, sealer) = (FakeSigner::new(), FakeSealer::default());
        let token = block_on(issue(&signer, &sealer, claims(ISS), 1_000, 600)).unwrap();
        let mut altered = token.clone().into_bytes();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let other_key = FakeSealer {
            key: b"another deployment".to_vec(),
        };
        let code = block_on(sealer.seal("authorization_code v1", b"{}")).unwrap();
        for bad in [
            altered.as_str(),
            "",
            "x".repeat(MAX_SEALED_LEN + 1).as_str(),
            code.as_str(),
        ] {
            let e = block_on(verify(&signer, &sealer, bad, 1_100)).unwrap_err();
            assert_eq!(e.error, OAuthError::InvalidToken, "{bad}");
        }
        assert!(block_on(verify(&signer, &other_key, &token, 1_100)).is_err());
    }
}

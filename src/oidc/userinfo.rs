//! The UserInfo endpoint (OpenID Connect Core §5.3) with bearer tokens (RFC 6750).

use serde_json::{json, Value};

use super::access;
use super::jwt::AccessTokenClaims;
use super::mint::released_claims;
use super::services::{Deps, Services};
use crate::error::Failure;
use crate::model::grant::{GrantAnswer, GrantOp};
use crate::model::{Application, UserClaims};
use crate::runtime::Clock;
use crate::store::{GrantStore, Store};

/// The bearer token from `Authorization: Bearer` (RFC 6750 §2.1), or from the form body
/// of a POST (§2.2). Query-string tokens (§2.3) are not accepted: they leak into logs.
pub fn bearer_token<'a>(
    authorization: Option<&'a str>,
    form_token: Option<&'a str>,
) -> Result<&'a str, Failure> {
    match (authorization, form_token) {
        (Some(h), None) => {
            let (scheme, token) = h.trim().split_once(' ').unwrap_or((h, ""));
            if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
                return Err(Failure::invalid_request(
                    "expected an Authorization: Bearer token",
                ));
            }
            Ok(token.trim())
        }
        (None, Some(t)) => Ok(t),
        (Some(_), Some(_)) => Err(Failure::invalid_request(
            "send the access token in one place only (RFC 6750 §2)",
        )),
        (None, None) => Err(Failure::missing_token("an access token is required")),
    }
}

pub struct Outcome {
    /// The application the token was issued to, for CORS.
    pub app: Option<Application>,
    pub result: Result<Value, Failure>,
    /// The claims as a signed JWT (`application/jwt`), for an application registered with
    /// a `userinfo_signed_response_alg` (OpenID Connect Core §5.3.2).
    pub signed: Option<String>,
}

pub async fn handle<D: Deps>(svc: &Services<'_, D>, token: &str) -> Outcome {
    let store = svc.store;
    let claims = match access::verify(svc.signer, svc.sealer, token, svc.clock.now()).await {
        Ok(t) => t.claims,
        Err(f) => {
            return Outcome {
                app: None,
                result: Err(f),
                signed: None,
            }
        }
    };
    let app = match store.application(&claims.client_id).await {
        Ok(app) => app,
        Err(e) => {
            return Outcome {
                app: None,
                result: Err(e.into()),
                signed: None,
            }
        }
    };
    let mut result = userinfo(svc, &claims, app.is_some()).await;
    let mut signed = None;
    if let (Ok(body), Some(alg)) = (
        &result,
        app.as_ref().and_then(|a| a.userinfo_signed_response_alg),
    ) {
        match sign(svc, &claims.client_id, body, alg).await {
            Ok(jwt) => signed = Some(jwt),
            Err(f) => result = Err(f),
        }
    }
    Outcome {
        app,
        result,
        signed,
    }
}

/// §5.3.2: the claims with `iss` and `aud` (the client), signed with the application's
/// userinfo algorithm.
async fn sign<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    body: &Value,
    alg: crate::model::SigningAlg,
) -> Result<String, Failure> {
    let mut claims = body.as_object().cloned().unwrap_or_default();
    claims.insert("iss".into(), svc.issuer.into());
    claims.insert("aud".into(), client_id.into());
    let claims = super::jwt::claims(claims, svc.clock.now(), SIGNED_USERINFO_TTL);
    super::jwt::encode(svc.signer, alg, super::jwt::ID_TOKEN_TYP, &claims).await
}

/// Seconds a signed userinfo answer is valid (`exp`): it is read at once.
const SIGNED_USERINFO_TTL: i64 = 300;

async fn userinfo<D: Deps>(
    svc: &Services<'_, D>,
    claims: &AccessTokenClaims,
    app_exists: bool,
) -> Result<Value, Failure> {
    let issuer = svc.issuer;
    if claims.iss != issuer || claims.aud != issuer {
        return Err(Failure::invalid_token(
            "the token was not issued for this provider",
        ));
    }
    // A deleted application's tokens stop working at once.
    if !app_exists {
        return Err(Failure::invalid_token(
            "the token's application no longer exists",
        ));
    }
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Err(Failure::new(
            crate::error::OAuthError::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    let profile = match &claims.gid {
        Some(grant_id) => grant_profile(svc.grants, grant_id, &claims.sub).await?,
        None => user_profile(svc.store, &claims.sub).await?,
    };
    let asked = claims.claims.as_deref().unwrap_or("");
    let mut body = serde_json::Value::Object(released_claims(&profile, &scopes, asked));
    body["sub"] = json!(claims.sub);
    Ok(body)
}

/// The profile the grant was made with, if the grant still stands: one call to its object,
/// near the client, and none to D1. A grant revoked since (a replayed code, `/revoke`, a
/// reused refresh token, a disabled user, a deleted application) ends its access tokens
/// here at once (RFC 6749 §4.1.2, §10.4).
async fn grant_profile(
    grants: &impl GrantStore,
    grant_id: &str,
    sub: &str,
) -> Result<UserClaims, Failure> {
    match grants.grant(grant_id, &GrantOp::Status).await? {
        GrantAnswer::Standing {
            user_id, claims, ..
        } if user_id == sub => Ok(claims),
        _ => Err(Failure::invalid_token("the token's grant was revoked")),
    }
}

/// The user's profile from D1, for access tokens minted before grants had objects (they
/// name none); gone once those have expired.
async fn user_profile(store: &impl Store, sub: &str) -> Result<UserClaims, Failure> {
    let user = store
        .user_by_id(sub)
        .await?
        .ok_or_else(|| Failure::invalid_token("the user no longer exists"))?;
    if user.is_disabled() {
        return Err(Failure::invalid_token("the account is disabled"));
    }
    Ok(user.claims())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OAuthError;
    use crate::model::{AppType, User};
    use crate::oidc::jwt;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const ISS: &str = "https://id.example";

    fn token(scope: &str, iss: &str) -> String {
        token_of_grant(scope, iss, None)
    }

    fn token_of_grant(scope: &str, iss: &str, gid: Option<&str>) -> String {
        let c = jwt::claims(
            AccessTokenClaims {
                roles: Default::default(),
                claims: None,
                iss: iss.into(),
                sub: "u1".into(),
                aud: iss.into(),
                client_id: "app1".into(),
                scope: scope.into(),
                jti: "j".into(),
                gid: gid.map(str::to_string),
            },
            1_000,
            3600,
        );
        block_on(jwt::encode(
            &FakeSigner::new(),
            jwt::SigningAlg::Rs256,
            jwt::ACCESS_TOKEN_TYP,
            &c,
        ))
        .unwrap()
    }

    fn store() -> MemoryStore {
        let s = MemoryStore::default();
        s.apps
            .borrow_mut()
            .push(crate::oidc::testing::app(AppType::Spa));
        s.users.borrow_mut().push(User {
            id: "u1".into(),
            email: "ada@example.com".into(),
            name: Some("Ada".into()),
            email_verified: true,
            password_hash: String::new(),
            created_at: 0,
            roles: vec![],
            disabled_at: None,
            profile: Default::default(),
            updated_at: 0,
        });
        s
    }

    fn call(s: &MemoryStore, t: &str) -> Result<Value, Failure> {
        let (signer, clock) = (FakeSigner::new(), FixedClock::at(1_100));
        let audit = crate::oidc::audit::Audit::default();
        block_on(handle(
            &crate::oidc::services::testing::services(s, &signer, &clock, ISS, &audit),
            t,
        ))
        .result
    }

    /// Core §5.3.2: an application that registered a userinfo algorithm gets a JWT with
    /// `iss` and `aud` besides the claims; the others get JSON.
    #[test]
    fn a_registered_algorithm_signs_the_answer() {
        let s = store();
        let (signer, clock) = (FakeSigner::new(), FixedClock::at(1_100));
        let audit = crate::oidc::audit::Audit::default();
        let svc = crate::oidc::services::testing::services(&s, &signer, &clock, ISS, &audit);
        let plain = block_on(handle(&svc, &token("openid profile", ISS)));
        assert!(plain.signed.is_none());
        s.apps.borrow_mut()[0].userinfo_signed_response_alg = Some(crate::model::SigningAlg::Rs256);
        let out = block_on(handle(&svc, &token("openid profile", ISS)));
        let jwt = out.signed.expect("a signed answer");
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(crate::crypto::b64url_decode)
            .unwrap();
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["iss"], ISS);
        assert_eq!(claims["aud"], "app1");
        assert_eq!(claims["sub"], "u1");
        assert_eq!(claims["name"], "Ada");
    }

    #[test]
    fn claims_follow_scope() {
        let s = store();
        let v = call(&s, &token("openid profile", ISS)).unwrap();
        assert_eq!(v["sub"], "u1");
        assert_eq!(v["name"], "Ada");
        assert!(v.get("email").is_none());
        let v = call(&s, &token("openid email", ISS)).unwrap();
        assert_eq!(v["email"], "ada@example.com");
        assert_eq!(v["email_verified"], true);
    }

    #[test]
    fn foreign_or_orphaned_tokens_are_invalid() {
        let s = store();
        assert_eq!(
            call(&s, &token("openid", "https://other.example"))
                .unwrap_err()
                .error,
            OAuthError::InvalidToken
        );
        s.apps.borrow_mut().clear();
        assert_eq!(
            call(&s, &token("openid", ISS)).unwrap_err().error,
            OAuthError::InvalidToken
        );
        assert_eq!(
            call(&s, "not.a.jwt").unwrap_err().error,
            OAuthError::InvalidToken
        );
    }

    #[test]
    fn a_storage_outage_is_temporarily_unavailable_not_an_invalid_token() {
        let s = store();
        s.fail.set(true);
        let err = call(&s, &token("openid", ISS)).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
    }

    #[test]
    fn a_grants_token_is_answered_from_the_grant_until_it_is_revoked() {
        let s = store();
        let rng = crate::runtime::testing::CountingRandom::new();
        crate::oidc::testing::grant_with_token(&s, "app1", &rng);
        let gid = s.grants.borrow().keys().next().unwrap().clone();
        s.users.borrow_mut().clear();
        let t = token_of_grant("openid email", ISS, Some(&gid));
        let v = call(&s, &t).unwrap();
        assert_eq!(v["sub"], "u1");
        assert_eq!(
            v["email"], "a@b.c",
            "the profile the grant was made with; no D1 read"
        );
        s.grants.borrow_mut().get_mut(&gid).unwrap().revoked_at = Some(1_050);
        assert_eq!(call(&s, &t).unwrap_err().error, OAuthError::InvalidToken);
        let other = token_of_grant("openid", ISS, Some("no-such-grant"));
        assert_eq!(
            call(&s, &other).unwrap_err().error,
            OAuthError::InvalidToken
        );
        s.fail_on.borrow_mut().push("grant");
        assert_eq!(
            call(&s, &t).unwrap_err().error,
            OAuthError::TemporarilyUnavailable
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc"), None).unwrap(), "abc");
        assert_eq!(bearer_token(Some("bearer  abc "), None).unwrap(), "abc");
        assert_eq!(bearer_token(None, Some("abc")).unwrap(), "abc");
        assert_eq!(
            bearer_token(Some("Basic abc"), None).unwrap_err().error,
            OAuthError::InvalidRequest
        );
        assert_eq!(
            bearer_token(Some("Bearer a"), Some("b")).unwrap_err().error,
            OAuthError::InvalidRequest
        );
        assert_eq!(
            bearer_token(None, None).unwrap_err().error,
            OAuthError::InvalidToken
        );
    }
}

//! Token revocation (RFC 7009) and introspection (RFC 7662), both behind client
//! authentication as at the token endpoint.
//!
//! Revoking a refresh token, or an opaque access token (`oidc::access`), revokes its whole
//! grant in the grant's object (RFC 7009 §2.1 allows the one to take the other along), so
//! userinfo refuses the grant's access tokens from then on. A JWT access token is for an API
//! that verifies it by itself and would never hear of a revocation: revoking one answers
//! `unsupported_token_type` (§2.2.1); the refresh token is what to revoke.

use serde_json::{json, Value};

use super::access::{self, AccessToken};
use super::grants;
use super::jwt::AccessTokenClaims;
use super::params::Params;
use super::refresh;
use super::services::{Deps, Services};
use crate::crypto::RefreshToken;
use crate::error::{Failure, OAuthError};
use crate::model::grant::{GrantAnswer, GrantOp, Presented};
use crate::model::Application;
use crate::runtime::Clock;
use crate::store::{GrantStore, Store};

/// `POST /revoke`, RFC 7009 §2.1. `Ok(())` is the 200 of §2.2, also for unknown tokens.
pub async fn revoke<D: Deps>(
    svc: &Services<'_, D>,
    app: &Application,
    params: &Params,
) -> Result<(), Failure> {
    let token = params.require("token")?;
    if access::looks_like_jwt(token) {
        return Err(Failure::new(
            OAuthError::UnsupportedTokenType,
            "a JWT access token is checked by its API alone and cannot be revoked; revoke the refresh token",
        ));
    }
    let now = svc.clock.now();
    // The type hint is only a hint (§2.1): the token itself says what it is.
    if let Some(claims) = access::open_opaque(svc.sealer, token).await? {
        return revoke_access(svc, app, &claims, now).await;
    }
    let presented = RefreshToken::new(token);
    let Some(grant_id) = grant_id(svc, &presented, now).await? else {
        return Ok(());
    };
    let by = Presented {
        token_hash: presented.hashed(),
        client_id: app.client_id.clone(),
    };
    let op = GrantOp::Revoke { now, by: Some(by) };
    match svc.grants.grant(&grant_id, &op).await? {
        GrantAnswer::WrongClient => Err(wrong_client()),
        _ => Ok(()),
    }
}

/// §2.1: a client may only revoke its own tokens.
fn wrong_client() -> Failure {
    Failure::invalid_grant("the token was issued to another client")
}

/// An opaque access token names its grant; its client is checked here, as the object
/// checks a refresh token's.
async fn revoke_access<D: Deps>(
    svc: &Services<'_, D>,
    app: &Application,
    claims: &AccessTokenClaims,
    now: i64,
) -> Result<(), Failure> {
    if claims.client_id != app.client_id {
        return Err(wrong_client());
    }
    if let Some(grant_id) = &claims.gid {
        svc.grants
            .grant(grant_id, &GrantOp::Revoke { now, by: None })
            .await?;
    }
    Ok(())
}

/// The grant a refresh token names. A token D1 stored before grants had objects is looked
/// up there, and its grant handed to an object (as its first refresh would), so that every
/// later question goes to the one place that decides.
async fn grant_id<D: Deps>(
    svc: &Services<'_, D>,
    presented: &RefreshToken,
    now: i64,
) -> Result<Option<String>, Failure> {
    if let Some(id) = grants::grant_of(presented) {
        return Ok(Some(id.to_string()));
    }
    let Some(record) = svc.store.legacy_refresh_token(&presented.hashed()).await? else {
        return Ok(None);
    };
    refresh::legacy::hand_over(svc, &record, now).await?;
    Ok(Some(record.grant_id))
}

/// Whether a verified access token still stands: its issuer is this one, its application
/// exists, and its grant (if it names one) was not revoked.
async fn access_active<D: Deps>(svc: &Services<'_, D>, t: &AccessToken) -> Result<bool, Failure> {
    let c = &t.claims;
    if c.iss != svc.issuer || svc.store.application(&c.client_id).await?.is_none() {
        return Ok(false);
    }
    Ok(match &c.gid {
        Some(gid) => matches!(
            svc.grants.grant(gid, &GrantOp::Status).await?,
            GrantAnswer::Standing { .. }
        ),
        None => true,
    })
}

/// RFC 7662 §2.2's answer for an active access token.
fn access_answer(t: &AccessToken) -> Value {
    let c = &t.claims;
    json!({
        "active": true,
        "token_type": "Bearer",
        "scope": c.scope,
        "client_id": c.client_id,
        "sub": c.sub,
        "aud": c.aud,
        "iss": c.iss,
        "jti": c.jti,
        "exp": t.expires_at,
        "iat": t.issued_at,
    })
}

/// `POST /introspect`, RFC 7662 §2. Any authenticated confidential client (a resource
/// server) may introspect access tokens; refresh tokens only by the client they belong to.
pub async fn introspect<D: Deps>(
    svc: &Services<'_, D>,
    app: &Application,
    params: &Params,
) -> Result<Value, Failure> {
    let (clock, issuer) = (svc.clock, svc.issuer);
    if app.is_public() {
        return Err(Failure::invalid_client(
            "introspection is for confidential clients (resource servers)",
        ));
    }
    let token = params.require("token")?;
    let now = clock.now();
    let inactive = json!({ "active": false });
    if let Ok(t) = access::verify(svc.signer, svc.sealer, token, now).await {
        return Ok(if access_active(svc, &t).await? {
            access_answer(&t)
        } else {
            inactive
        });
    }
    // An access token that did not verify (expired, altered) is not a refresh token either.
    if access::looks_like_jwt(token) || access::open_opaque(svc.sealer, token).await?.is_some() {
        return Ok(inactive);
    }
    let presented = RefreshToken::new(token);
    let Some(grant_id) = grant_id(svc, &presented, now).await? else {
        return Ok(inactive);
    };
    let op = GrantOp::Inspect {
        token_hash: presented.hashed(),
        now,
    };
    let view = match svc.grants.grant(&grant_id, &op).await? {
        GrantAnswer::Active { view } if view.client_id == app.client_id => view,
        _ => return Ok(inactive),
    };
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": view.scope,
        "client_id": view.client_id,
        "sub": view.user_id,
        "iss": issuer,
        "exp": view.expires_at,
        "iat": view.issued_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppType;
    use crate::oidc::audit::Audit;
    use crate::oidc::jwt;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn svc_<'a>(
        store: &'a MemoryStore,
        clock: &'a FixedClock,
    ) -> crate::oidc::services::Services<'a, crate::oidc::services::testing::FakeDeps> {
        services(
            store,
            Box::leak(Box::default()),
            clock,
            ISS,
            Box::leak(Box::default()),
        )
    }

    const ISS: &str = "https://id.example";

    /// A store with a confidential app, a public app, and a refresh token of the public one.
    fn setup() -> (MemoryStore, Application, Application, String) {
        let store = MemoryStore::default();
        let mut conf = crate::oidc::testing::app(AppType::Traditional);
        conf.client_id = "rs".into();
        let spa = crate::oidc::testing::app(AppType::Spa);
        let token =
            crate::oidc::testing::grant_with_token(&store, &spa.client_id, &CountingRandom::new());
        store.apps.borrow_mut().extend([conf.clone(), spa.clone()]);
        (store, conf, spa, token)
    }

    fn revoked_at(store: &MemoryStore) -> Option<i64> {
        store.grants.borrow().values().next().unwrap().revoked_at
    }

    fn params(token: &str) -> Params {
        Params::from_pairs([("token", token)])
    }

    #[test]
    fn revoking_a_refresh_token_revokes_its_grant() {
        let (store, conf, spa, token) = setup();
        let clock = FixedClock::at(10);
        assert_eq!(
            block_on(revoke(&svc_(&store, &clock), &conf, &params(&token)))
                .unwrap_err()
                .error,
            OAuthError::InvalidGrant,
            "only the owner revokes"
        );
        assert_eq!(revoked_at(&store), None);
        block_on(revoke(&svc_(&store, &clock), &spa, &params(&token))).unwrap();
        assert_eq!(revoked_at(&store), Some(10));
        // Unknown tokens are a quiet success (RFC 7009 §2.2).
        block_on(revoke(&svc_(&store, &clock), &spa, &params("unknown"))).unwrap();
        let access = Params::from_pairs([("token", "a.b.c")]);
        assert_eq!(
            block_on(revoke(&svc_(&store, &clock), &spa, &access))
                .unwrap_err()
                .error,
            OAuthError::UnsupportedTokenType
        );
    }

    #[test]
    fn introspection_reports_live_tokens_to_allowed_clients_only() {
        let (store, conf, spa, token) = setup();
        let signer = FakeSigner::new();
        let clock = FixedClock::at(10);
        let run = |app: &Application, t: &str| {
            block_on(introspect(
                &services(&store, &signer, &clock, ISS, &Audit::default()),
                app,
                &params(t),
            ))
        };
        assert_eq!(
            run(&spa, &token).unwrap_err().error,
            OAuthError::InvalidClient,
            "public clients cannot introspect"
        );
        assert_eq!(
            run(&conf, &token).unwrap()["active"],
            false,
            "another client's refresh token"
        );
        let mut own = conf.clone();
        own.client_id = "app1".into();
        let v = run(&own, &token).unwrap();
        assert_eq!(v["active"], true, "{v}");
        assert_eq!(v["token_type"], "refresh_token");
        assert_eq!(v["sub"], "u1");
        let at = jwt::claims(
            AccessTokenClaims {
                roles: Default::default(),
                claims: None,
                iss: ISS.into(),
                sub: "u1".into(),
                aud: ISS.into(),
                client_id: "app1".into(),
                scope: "openid".into(),
                jti: "j".into(),
                gid: None,
            },
            0,
            60,
        );
        let at = block_on(jwt::encode(
            &signer,
            jwt::SigningAlg::Rs256,
            jwt::ACCESS_TOKEN_TYP,
            &at,
        ))
        .unwrap();
        let v = run(&conf, &at).unwrap();
        assert_eq!(v["active"], true);
        assert_eq!(v["client_id"], "app1");
        assert_eq!(v["exp"], 60);
        assert_eq!(run(&conf, "garbage.token.here").unwrap()["active"], false);
        let later = FixedClock::at(1_000);
        let expired = block_on(introspect(
            &services(&store, &signer, &later, ISS, &Audit::default()),
            &conf,
            &params(&at),
        ))
        .unwrap();
        assert_eq!(expired["active"], false);
    }

    #[test]
    fn a_storage_failure_while_revoking_is_temporarily_unavailable_and_revokes_nothing() {
        let (store, _, spa, token) = setup();
        store.fail_on.borrow_mut().push("grant");
        let e = block_on(revoke(
            &svc_(&store, &FixedClock::at(10)),
            &spa,
            &params(&token),
        ))
        .unwrap_err();
        assert_eq!(e.error, OAuthError::TemporarilyUnavailable);
        assert_eq!(revoked_at(&store), None);
        // Retried once storage is back, the revocation happens.
        store.fail_on.borrow_mut().clear();
        block_on(revoke(
            &svc_(&store, &FixedClock::at(11)),
            &spa,
            &params(&token),
        ))
        .unwrap();
        assert_eq!(revoked_at(&store), Some(11));
    }
}

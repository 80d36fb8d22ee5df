//! Refresh tokens (RFC 6749 §6, OpenID Connect Core §12) with rotation and reuse detection
//! as Logto and node-oidc-provider do it (RFC 9700 §4.14.2):
//!
//! - a public client, which cannot bind the token to a key, gets a new token on every use;
//! - a confidential client with `rotate_refresh_token` gets one once 70% of the token's
//!   lifetime has passed;
//! - no token outlives one year from the grant;
//! - each use moves the expiry to `refresh_token_ttl_days` from now, except for SPAs,
//!   whose tokens keep their absolute expiry;
//! - presenting a rotated-out token again revokes every token of the grant.

use super::audit::{Entry, Event};
use super::mint::{mint, Subject, TokenResponse};
use super::params::Params;
use super::services::{Deps, Services};
use crate::crypto::RefreshToken;
use crate::error::{Failure, OAuthError};
use crate::model::{AppType, Application, GrantType, RefreshRecord};
use crate::runtime::Clock;
use crate::store::{RefreshPlan, Store};

/// No refresh token lives past this, counted from the grant (the first login).
pub const GRANT_MAX_SECS: i64 = 365 * 24 * 3600;

fn ttl_secs(app: &Application) -> i64 {
    app.token_settings.refresh_token_ttl_days * 24 * 3600
}

/// The refresh token a code exchange stores when the application may use the grant. The
/// store keeps it only where `RefreshPlan::applies_to` the code's scope: `offline_access`
/// (OpenID Connect Core §11), or any scope with the application's "always issue" setting.
pub(crate) fn plan<'a>(
    app: &Application,
    token_hash: &'a str,
    now: i64,
) -> Option<RefreshPlan<'a>> {
    let grant_expires_at = now + GRANT_MAX_SECS;
    app.has_grant(GrantType::RefreshToken).then(|| RefreshPlan {
        token_hash,
        always: app.token_settings.always_issue_refresh_token,
        expires_at: (now + ttl_secs(app)).min(grant_expires_at),
        grant_expires_at,
    })
}

/// The first token of a new grant.
#[cfg(test)]
pub(crate) fn new_grant(
    rng: &impl crate::runtime::Random,
    app: &Application,
    subject: &Subject<'_>,
    now: i64,
) -> Result<(RefreshToken, RefreshRecord), Failure> {
    let token = RefreshToken::generate(rng)?;
    let grant_expires_at = now + GRANT_MAX_SECS;
    let record = RefreshRecord {
        token_hash: token.hashed(),
        grant_id: crate::crypto::random_token::<16>(rng)?,
        client_id: app.client_id.clone(),
        user_id: subject.user_id.to_string(),
        scope: subject.scope.to_string(),
        auth_time: subject.auth_time,
        claims: subject.claims.clone(),
        created_at: now,
        expires_at: (now + ttl_secs(app)).min(grant_expires_at),
        grant_expires_at,
        consumed_at: None,
        revoked_at: None,
    };
    Ok((token, record))
}

/// The scope for this refresh: the original, or a subset of it (RFC 6749 §6). The stored
/// grant keeps the original, so a later refresh may ask for it all again.
fn narrowed(granted: &str, requested: Option<&str>) -> Result<String, Failure> {
    let Some(requested) = requested else {
        return Ok(granted.to_string());
    };
    let granted: Vec<&str> = granted.split(' ').collect();
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.contains(&s) {
            return Err(Failure::new(
                OAuthError::InvalidScope,
                format!("scope {s} was not part of the original grant"),
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err(Failure::new(OAuthError::InvalidScope, "the scope is empty"));
    }
    Ok(out.join(" "))
}

/// `grant_type=refresh_token`, RFC 6749 §6.
pub async fn grant<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    app: &Application,
) -> Result<TokenResponse, Failure> {
    let Services {
        store,
        signer,
        clock,
        rng,
        issuer,
        audit,
        ..
    } = *sv;
    let presented = RefreshToken::new(params.require("refresh_token")?);
    let requested = params.get("scope")?;
    let now = clock.now();
    let invalid = || Failure::invalid_grant("the refresh token is invalid, expired or revoked");
    let record = store
        .refresh_token(&presented.hashed())
        .await?
        .ok_or_else(invalid)?;
    if record.client_id != app.client_id {
        return Err(Failure::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if record.revoked_at.is_some() {
        return Err(invalid());
    }
    if record.consumed_at.is_some() {
        // A rotated-out token is back: someone holds a copy. End the grant for everyone.
        audit.record(
            Entry::new(
                Event::RefreshTokenReused,
                "A rotated-out refresh token was used again; the grant is revoked",
            )
            .app(app)
            .user(&record.user_id),
        );
        store.revoke_grant(&record.grant_id, now).await?;
        return Err(Failure::invalid_grant(
            "the refresh token was already used; the grant is revoked",
        ));
    }
    if record.expires_at <= now {
        return Err(invalid());
    }
    let scope = narrowed(&record.scope, requested)?;

    let ttl = ttl_secs(app);
    let rotate = app.is_public()
        || (app.token_settings.rotate_refresh_token && (now - record.created_at) * 10 >= ttl * 7);
    let expires_at = if app.app_type == AppType::Spa {
        record.expires_at
    } else {
        (now + ttl).min(record.grant_expires_at)
    };
    let next = if rotate {
        let token = RefreshToken::generate(rng)?;
        let successor = RefreshRecord {
            token_hash: token.hashed(),
            created_at: now,
            expires_at,
            consumed_at: None,
            revoked_at: None,
            ..record.clone()
        };
        // Of concurrent uses of one token exactly one gets here with `true`.
        if !store
            .rotate_refresh(&record.token_hash, &successor, now)
            .await?
        {
            return Err(invalid());
        }
        Some(token)
    } else {
        if expires_at != record.expires_at
            && !store
                .extend_refresh(&record.token_hash, expires_at, now)
                .await?
        {
            return Err(invalid());
        }
        None
    };

    let subject = Subject {
        user_id: &record.user_id,
        scope: &scope,
        claims: &record.claims,
        auth_time: record.auth_time,
        // OpenID Connect Core §12.2: no nonce in a refreshed ID token.
        nonce: None,
    };
    let mut response = mint(signer, rng, issuer, app, &subject, now).await?;
    response.refresh_token = next.map(|t| t.expose().to_string());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserClaims;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services_with_rng;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const DAY: i64 = 24 * 3600;

    thread_local! {
        /// One deterministic stream per test thread, so successive tokens differ.
        static RNG: CountingRandom = CountingRandom::new();
        static AUDIT: crate::oidc::audit::Audit = crate::oidc::audit::Audit::default();
    }

    fn claims() -> UserClaims {
        UserClaims {
            email: "ada@example.com".into(),
            email_verified: true,
            name: None,
        }
    }

    /// A store with one application and one refresh token issued at t=0; returns the token.
    fn setup(app_type: AppType, tweak: impl FnOnce(&mut Application)) -> (MemoryStore, String) {
        let store = MemoryStore::default();
        let mut app = crate::oidc::testing::app(app_type);
        tweak(&mut app);
        let c = claims();
        let subject = Subject {
            user_id: "u1",
            scope: "openid email offline_access",
            claims: &c,
            auth_time: 0,
            nonce: None,
        };
        let (token, record) = RNG.with(|rng| new_grant(rng, &app, &subject, 0)).unwrap();
        store
            .refresh
            .borrow_mut()
            .insert(record.token_hash.clone(), record);
        store.apps.borrow_mut().push(app);
        (store, token.expose().to_string())
    }

    fn use_token(
        store: &MemoryStore,
        token: &str,
        scope: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse, Failure> {
        let app = store.apps.borrow()[0].clone();
        let mut body = format!("grant_type=refresh_token&refresh_token={token}");
        if let Some(s) = scope {
            body.push_str(&format!("&scope={}", s.replace(' ', "+")));
        }
        RNG.with(|rng| {
            AUDIT.with(|audit| {
                let (signer, clock) = (FakeSigner::new(), FixedClock::at(now));
                let sv =
                    services_with_rng(store, &signer, &clock, rng, "https://id.example", audit);
                block_on(grant(&sv, &Params::parse(&body), &app))
            })
        })
    }

    #[test]
    fn public_clients_rotate_every_time_and_reuse_revokes_the_grant() {
        let (store, t0) = setup(AppType::Spa, |_| {});
        let r1 = use_token(&store, &t0, None, 10).unwrap();
        let t1 = r1.refresh_token.expect("rotated");
        assert_ne!(t1, t0);
        assert!(r1.id_token.is_some());
        let t2 = use_token(&store, &t1, None, 20)
            .unwrap()
            .refresh_token
            .unwrap();
        // The first token again: reuse. The whole grant dies, including the newest token.
        AUDIT.with(|a| a.take());
        assert_eq!(
            use_token(&store, &t0, None, 30).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        let reuse = AUDIT.with(|a| a.take());
        assert_eq!(reuse.len(), 1);
        assert_eq!(
            reuse[0].event,
            crate::oidc::audit::Event::RefreshTokenReused
        );
        assert_eq!(reuse[0].user_id.as_deref(), Some("u1"));
        assert_eq!(
            use_token(&store, &t2, None, 31).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        assert!(store
            .refresh
            .borrow()
            .values()
            .all(|t| t.revoked_at.is_some()));
    }

    #[test]
    fn spa_tokens_keep_their_absolute_expiry_others_slide() {
        let (store, t0) = setup(AppType::Spa, |_| {});
        let t1 = use_token(&store, &t0, None, 5 * DAY)
            .unwrap()
            .refresh_token
            .unwrap();
        let hash = RefreshToken::new(t1.as_str()).hashed();
        assert_eq!(store.refresh.borrow()[&hash].expires_at, 14 * DAY);
        assert_eq!(
            use_token(&store, &t1, None, 14 * DAY).unwrap_err().error,
            OAuthError::InvalidGrant
        );

        let (store, t0) = setup(AppType::Native, |_| {});
        let t1 = use_token(&store, &t0, None, 5 * DAY)
            .unwrap()
            .refresh_token
            .unwrap();
        let hash = RefreshToken::new(t1.as_str()).hashed();
        assert_eq!(store.refresh.borrow()[&hash].expires_at, 19 * DAY);
    }

    #[test]
    fn confidential_clients_rotate_after_seventy_percent_and_extend_otherwise() {
        let (store, t0) = setup(AppType::Traditional, |_| {});
        let r = use_token(&store, &t0, None, 9 * DAY).unwrap();
        assert!(r.refresh_token.is_none(), "9 of 14 days is under 70%");
        let hash = RefreshToken::new(t0.as_str()).hashed();
        assert_eq!(
            store.refresh.borrow()[&hash].expires_at,
            23 * DAY,
            "extended"
        );
        // 70% of 14 days after its creation (t=0) it rotates.
        let r = use_token(&store, &t0, None, 10 * DAY).unwrap();
        assert!(r.refresh_token.is_some());

        let (store, t0) = setup(AppType::Traditional, |a| {
            a.token_settings.rotate_refresh_token = false
        });
        assert!(use_token(&store, &t0, None, 13 * DAY)
            .unwrap()
            .refresh_token
            .is_none());
        assert!(
            use_token(&store, &t0, None, 26 * DAY).is_ok(),
            "sliding without rotation"
        );
    }

    #[test]
    fn nothing_outlives_a_year_from_the_grant() {
        let (store, mut t) = setup(AppType::Native, |_| {});
        let mut now = 0;
        while now < GRANT_MAX_SECS - 10 * DAY {
            now += 10 * DAY;
            t = use_token(&store, &t, None, now)
                .unwrap()
                .refresh_token
                .unwrap();
        }
        let max = store
            .refresh
            .borrow()
            .values()
            .map(|r| r.expires_at)
            .max()
            .unwrap();
        assert_eq!(max, GRANT_MAX_SECS);
        assert!(use_token(&store, &t, None, GRANT_MAX_SECS).is_err());
    }

    #[test]
    fn scope_may_narrow_never_widen() {
        let (store, t0) = setup(AppType::Traditional, |_| {});
        let r = use_token(&store, &t0, Some("openid"), 10).unwrap();
        assert_eq!(r.scope, "openid");
        assert_eq!(
            use_token(&store, &t0, Some("openid profile"), 11)
                .unwrap_err()
                .error,
            OAuthError::InvalidScope
        );
        let r = use_token(&store, &t0, None, 12).unwrap();
        assert_eq!(
            r.scope, "openid email offline_access",
            "the grant keeps its scope"
        );
        let r = use_token(&store, &t0, Some("email"), 13).unwrap();
        assert!(r.id_token.is_none(), "no openid, no ID token");
    }

    #[test]
    fn a_storage_failure_during_rotation_leaves_the_old_token_working() {
        let (store, t0) = setup(AppType::Spa, |_| {});
        store.fail_on.borrow_mut().push("rotate_refresh");
        let err = use_token(&store, &t0, None, 10).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
        assert_eq!(store.refresh.borrow().len(), 1, "no successor stored");
        assert!(store
            .refresh
            .borrow()
            .values()
            .all(|r| r.consumed_at.is_none()));
        store.fail_on.borrow_mut().clear();
        assert!(use_token(&store, &t0, None, 11)
            .unwrap()
            .refresh_token
            .is_some());
    }

    #[test]
    fn another_clients_token_and_unknown_tokens_are_invalid_grant() {
        let (store, t0) = setup(AppType::Traditional, |_| {});
        store.apps.borrow_mut()[0].client_id = "someone-else".into();
        assert_eq!(
            use_token(&store, &t0, None, 10).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        assert_eq!(
            use_token(&store, "nope", None, 10).unwrap_err().error,
            OAuthError::InvalidGrant
        );
    }

    #[test]
    fn planned_only_with_the_grant_and_kept_with_offline_access_or_always() {
        let mut app = crate::oidc::testing::app(AppType::Spa);
        let p = plan(&app, "h", 0).unwrap();
        assert!(p.applies_to("openid offline_access"));
        assert!(!p.applies_to("openid"));
        assert!(!p.applies_to("openid offline_accessx"));
        app.token_settings.always_issue_refresh_token = true;
        assert!(plan(&app, "h", 0).unwrap().applies_to("openid"));
        app.grant_types = vec![GrantType::AuthorizationCode];
        assert!(plan(&app, "h", 0).is_none());
    }
}

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
use super::grants;
use super::mint::{mint, Subject, TokenResponse};
use super::params::Params;
use super::services::{Deps, Services};
use crate::crypto::RefreshToken;
use crate::error::{Failure, OAuthError};
use crate::model::access::Who;
use crate::model::grant::{GrantAnswer, GrantOp, RefreshPolicy, RefreshState, RefreshUse, Rotate};
use crate::model::{AppType, Application, GrantType};
use crate::runtime::Clock;
use crate::store::{GrantStore, Store};

/// No refresh token lives past this, counted from the grant (the first login).
pub const GRANT_MAX_SECS: i64 = 365 * 24 * 3600;

fn ttl_secs(app: &Application) -> i64 {
    app.token_settings.refresh_token_ttl_days * 24 * 3600
}

/// The first refresh token of a code exchange: when the application may use the grant and
/// the scope calls for one (`offline_access`, OpenID Connect Core §11, or any scope with
/// the application's "always issue" setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub now: i64,
    pub expires_at: i64,
    pub grant_expires_at: i64,
}

impl Plan {
    pub fn state(&self, token_hash: String) -> RefreshState {
        RefreshState {
            token_hash,
            created_at: self.now,
            expires_at: self.expires_at,
            grant_expires_at: self.grant_expires_at,
            spent: Vec::new(),
        }
    }
}

pub(crate) fn plan(app: &Application, scope: &str, now: i64) -> Option<Plan> {
    let wanted = app.token_settings.always_issue_refresh_token
        || scope.split(' ').any(|s| s == "offline_access");
    let grant_expires_at = now + GRANT_MAX_SECS;
    (app.has_grant(GrantType::RefreshToken) && wanted).then(|| Plan {
        now,
        expires_at: (now + ttl_secs(app)).min(grant_expires_at),
        grant_expires_at,
    })
}

/// How a use moves the grant, from the application's settings (see the module comment).
fn policy(app: &Application) -> RefreshPolicy {
    RefreshPolicy {
        ttl: ttl_secs(app),
        rotate: if app.is_public() {
            Rotate::Always
        } else if app.token_settings.rotate_refresh_token {
            Rotate::Late
        } else {
            Rotate::Never
        },
        sliding: app.app_type != AppType::Spa,
    }
}

/// `grant_type=refresh_token`, RFC 6749 §6: one call to the grant's object, which checks
/// the token, rotates or extends it, and detects reuse, atomically.
pub async fn grant<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    app: &Application,
) -> Result<TokenResponse, Failure> {
    let presented = RefreshToken::new(params.require("refresh_token")?);
    let requested = params.get("scope")?;
    let now = sv.clock.now();
    let invalid = || Failure::invalid_grant("the refresh token is invalid, expired or revoked");
    let grant_id = match grants::grant_of(&presented) {
        Some(id) => id.to_string(),
        None => legacy::adopt(sv, &presented, app, now)
            .await?
            .ok_or_else(invalid)?,
    };
    still_admitted(sv, app, &grant_id, now).await?;
    let successor = grants::new_refresh_token(sv.rng, &grant_id)?;
    let op = GrantOp::Refresh(RefreshUse {
        token_hash: presented.hashed(),
        client_id: app.client_id.clone(),
        now,
        successor_hash: successor.hashed(),
        policy: policy(app),
        scope: requested.map(str::to_string),
        access_expires_at: now + app.token_settings.access_token_ttl,
    });
    let (view, rotated) = match sv.grants.grant(&grant_id, &op).await? {
        GrantAnswer::Refreshed { view, rotated } => (view, rotated),
        GrantAnswer::Reused { user_id } => {
            // A rotated-out token is back: someone holds a copy. The grant is over for everyone.
            sv.audit.record(
                Entry::new(
                    Event::RefreshTokenReused,
                    "A rotated-out refresh token was used again; the grant is revoked",
                )
                .app(app)
                .user(&user_id),
            );
            return Err(Failure::invalid_grant(
                "the refresh token was already used; the grant is revoked",
            ));
        }
        GrantAnswer::WrongClient => {
            return Err(Failure::invalid_grant(
                "the refresh token was issued to another client",
            ))
        }
        GrantAnswer::BadScope { reason } => {
            return Err(Failure::new(OAuthError::InvalidScope, reason))
        }
        GrantAnswer::Invalid => return Err(invalid()),
        other => return Err(Failure::server(format!("grant refresh answered {other:?}"))),
    };
    let subject = Subject {
        user_id: &view.user_id,
        scope: &view.scope,
        audience: view.audience.as_deref(),
        acr: view.acr.as_deref(),
        sid: view.sid.as_deref(),
        claims_request: &view.claims_request,
        claims: &view.claims,
        auth_time: view.auth_time,
        // OpenID Connect Core §12.2: no nonce in a refreshed ID token.
        nonce: None,
        grant_id: Some(&grant_id),
    };
    let mut response = mint(sv.signer, sv.sealer, sv.rng, sv.issuer, app, &subject, now).await?;
    response.refresh_token = rotated.then(|| successor.expose().to_string());
    Ok(response)
}

/// An application with access rules (`model::access`) refreshes only for a user they still
/// admit: roles and email domain read fresh (the nearest D1 replica), the country not (the
/// refresh comes from wherever the client runs). A user the rules no longer admit has the
/// grant revoked, so the refusal is final and audited. Applications without rules skip this:
/// no extra call.
async fn still_admitted<D: Deps>(
    sv: &Services<'_, D>,
    app: &Application,
    grant_id: &str,
    now: i64,
) -> Result<(), Failure> {
    if app.access_rules.is_open() {
        return Ok(());
    }
    let GrantAnswer::Standing {
        user_id, claims, ..
    } = sv.grants.grant(grant_id, &GrantOp::Status).await?
    else {
        // Unknown or revoked: the refresh itself says so.
        return Ok(());
    };
    let user = sv.store.user_by_id(&user_id).await?;
    let who = Who::of(user.as_ref(), &claims, None);
    let Err(refusal) = app.access_rules.admits(&who, false) else {
        return Ok(());
    };
    sv.grants
        .grant(grant_id, &GrantOp::Revoke { now, by: None })
        .await?;
    sv.audit.record(
        Entry::new(
            Event::AccessRefused,
            "The application's access rules refused a refresh; the grant is revoked",
        )
        .app(app)
        .user(&user_id)
        .detail("rule", refusal.as_str()),
    );
    Err(Failure::invalid_grant(format!(
        "{}: {}; the grant is revoked",
        app.name,
        refusal.explain()
    )))
}

/// Refresh tokens that D1 stored before grants moved to Durable Objects (migration 0003).
/// On first use such a token's grant is handed to an object of its own (`GrantOp::Adopt`),
/// which decides from then on; D1 is only read.
pub(crate) mod legacy {
    use super::*;
    use crate::model::grant::Grant;
    use crate::model::RefreshRecord;

    /// The grant id of a legacy token that may be used, its grant now in an object; `None`
    /// when it is unknown, another client's, revoked or expired.
    pub async fn adopt<D: Deps>(
        sv: &Services<'_, D>,
        presented: &RefreshToken,
        app: &Application,
        now: i64,
    ) -> Result<Option<String>, Failure> {
        let Some(r) = sv.store.legacy_refresh_token(&presented.hashed()).await? else {
            return Ok(None);
        };
        if r.client_id != app.client_id || r.revoked_at.is_some() || r.expires_at <= now {
            return Ok(None);
        }
        hand_over(sv, &r, now).await?;
        Ok(Some(r.grant_id))
    }

    /// Gives the legacy token's grant an object of its own (a no-op when it has one), and
    /// records it in the index so a user's or application's revocation reaches it. A token
    /// D1 marks revoked or expired is handed over as such.
    pub async fn hand_over<D: Deps>(
        sv: &Services<'_, D>,
        r: &RefreshRecord,
        now: i64,
    ) -> Result<(), Failure> {
        let mut grant = adopted(r);
        if r.revoked_at.is_some() || r.expires_at <= now {
            grant.revoked_at = Some(r.revoked_at.unwrap_or(now));
        }
        sv.grants
            .grant(&r.grant_id, &GrantOp::Adopt { grant })
            .await?;
        sv.pending_index.push(crate::model::grant::GrantIndex {
            grant_id: r.grant_id.clone(),
            client_id: r.client_id.clone(),
            user_id: r.user_id.clone(),
            created_at: r.created_at,
            expires_at: r.grant_expires_at,
        });
        Ok(())
    }

    /// The grant a legacy token stands for. A token D1 already marks as rotated out is
    /// adopted as spent, so its use is reuse, as it was. The object must not forget the
    /// grant before the D1 row dies, or a revoked grant could be adopted afresh: hence
    /// `code_expires_at`.
    fn adopted(r: &RefreshRecord) -> Grant {
        let mut state = RefreshState {
            token_hash: r.token_hash.clone(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            grant_expires_at: r.grant_expires_at,
            spent: Vec::new(),
        };
        if r.consumed_at.is_some() {
            state.spent.push(std::mem::take(&mut state.token_hash));
        }
        Grant {
            client_id: r.client_id.clone(),
            user_id: r.user_id.clone(),
            scope: r.scope.clone(),
            audience: None,
            acr: None,
            sid: None,
            claims_request: String::new(),
            auth_time: r.auth_time,
            claims: r.claims.clone(),
            created_at: r.created_at,
            code_expires_at: r.grant_expires_at,
            refresh: Some(state),
            revoked_at: None,
            access_expires_at: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grant::Grant;
    use crate::model::{RefreshRecord, UserClaims};
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services_with_rng;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const DAY: i64 = 24 * 3600;
    const SCOPE: &str = "openid email offline_access";

    thread_local! {
        /// One deterministic stream per test thread, so successive tokens differ.
        static RNG: CountingRandom = CountingRandom::new();
        static AUDIT: crate::oidc::audit::Audit = crate::oidc::audit::Audit::default();
    }

    fn claims() -> UserClaims {
        UserClaims {
            roles: Default::default(),
            email: "ada@example.com".into(),
            email_verified: true,
            name: None,
            profile: Default::default(),
            updated_at: None,
        }
    }

    /// A store with one application and one grant whose refresh token was issued at t=0;
    /// returns the token.
    fn setup(app_type: AppType, tweak: impl FnOnce(&mut Application)) -> (MemoryStore, String) {
        let store = MemoryStore::default();
        let mut app = crate::oidc::testing::app(app_type);
        tweak(&mut app);
        let (grant_id, token) = RNG.with(|rng| {
            let id = grants::new_grant_id(rng).unwrap();
            let token = grants::new_refresh_token(rng, &id).unwrap();
            (id, token)
        });
        let state = plan(&app, SCOPE, 0).unwrap().state(token.hashed());
        store.grants.borrow_mut().insert(
            grant_id,
            Grant {
                claims_request: String::new(),
                sid: None,
                client_id: app.client_id.clone(),
                user_id: "u1".into(),
                scope: SCOPE.into(),
                audience: None,
                acr: None,
                auth_time: 0,
                claims: claims(),
                created_at: 0,
                code_expires_at: 60,
                refresh: Some(state),
                revoked_at: None,
                access_expires_at: 0,
            },
        );
        store.apps.borrow_mut().push(app);
        (store, token.expose().to_string())
    }

    /// The one grant's live token expiry.
    fn expiry(store: &MemoryStore) -> i64 {
        let grants = store.grants.borrow();
        let g = grants.values().next().unwrap();
        g.refresh.as_ref().unwrap().expires_at
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

    // Issue 17: a user who lost the role an application requires cannot refresh; the grant
    // ends, and the user regaining the role later does not bring it back.
    #[test]
    fn access_rules_are_checked_at_refresh_and_a_refused_grant_is_revoked() {
        let (store, t0) = setup(AppType::Traditional, |app| {
            app.access_rules.roles = vec!["hr".into()];
        });
        let mut user = crate::oidc::testing::user("u1", "ada@example.com");
        user.roles = vec!["hr".into()];
        store.users.borrow_mut().push(user);
        let r1 = use_token(&store, &t0, None, 10).unwrap();
        let token = r1.refresh_token.unwrap_or(t0);
        store.users.borrow_mut()[0].roles.clear();
        let err = use_token(&store, &token, None, 20).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidGrant);
        assert!(err.description.contains("role"), "{}", err.description);
        assert!(store
            .grants
            .borrow()
            .values()
            .all(|g| g.revoked_at == Some(20)));
        store.users.borrow_mut()[0].roles = vec!["hr".into()];
        assert!(use_token(&store, &token, None, 30).is_err());
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
            .grants
            .borrow()
            .values()
            .all(|g| g.revoked_at.is_some()));
    }

    #[test]
    fn spa_tokens_keep_their_absolute_expiry_others_slide() {
        let (store, t0) = setup(AppType::Spa, |_| {});
        let t1 = use_token(&store, &t0, None, 5 * DAY)
            .unwrap()
            .refresh_token
            .unwrap();
        assert_eq!(expiry(&store), 14 * DAY);
        assert_eq!(
            use_token(&store, &t1, None, 14 * DAY).unwrap_err().error,
            OAuthError::InvalidGrant
        );

        let (store, t0) = setup(AppType::Native, |_| {});
        use_token(&store, &t0, None, 5 * DAY).unwrap();
        assert_eq!(expiry(&store), 19 * DAY);
    }

    #[test]
    fn confidential_clients_rotate_after_seventy_percent_and_extend_otherwise() {
        let (store, t0) = setup(AppType::Traditional, |_| {});
        let r = use_token(&store, &t0, None, 9 * DAY).unwrap();
        assert!(r.refresh_token.is_none(), "9 of 14 days is under 70%");
        assert_eq!(expiry(&store), 23 * DAY, "extended");
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
        assert_eq!(expiry(&store), GRANT_MAX_SECS);
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
        assert_eq!(r.scope, SCOPE, "the grant keeps its scope");
        let r = use_token(&store, &t0, Some("email"), 13).unwrap();
        assert!(r.id_token.is_none(), "no openid, no ID token");
    }

    #[test]
    fn a_storage_failure_leaves_the_token_working() {
        let (store, t0) = setup(AppType::Spa, |_| {});
        let before = store.grants.borrow().clone();
        store.fail_on.borrow_mut().push("grant");
        let err = use_token(&store, &t0, None, 10).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
        assert_eq!(*store.grants.borrow(), before, "nothing changed");
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
        let forged = format!("{}.{}", t0.split_once('.').unwrap().0, "A".repeat(43));
        for token in ["nope", forged.as_str()] {
            assert_eq!(
                use_token(&store, token, None, 10).unwrap_err().error,
                OAuthError::InvalidGrant
            );
        }
    }

    #[test]
    fn planned_only_with_the_grant_and_with_offline_access_or_always() {
        let mut app = crate::oidc::testing::app(AppType::Spa);
        assert!(plan(&app, "openid offline_access", 0).is_some());
        assert!(plan(&app, "openid", 0).is_none());
        assert!(plan(&app, "openid offline_accessx", 0).is_none());
        app.token_settings.always_issue_refresh_token = true;
        assert!(plan(&app, "openid", 0).is_some());
        app.grant_types = vec![GrantType::AuthorizationCode];
        assert!(plan(&app, "openid offline_access", 0).is_none());
    }

    /// A token D1 stored before migration 0003.
    fn legacy(store: &MemoryStore, consumed: bool) -> String {
        let token = RNG.with(|rng| RefreshToken::generate(rng).unwrap());
        store.refresh.borrow_mut().insert(
            token.hashed(),
            RefreshRecord {
                token_hash: token.hashed(),
                grant_id: "legacygrant00000000000".into(),
                client_id: "app1".into(),
                user_id: "u1".into(),
                scope: SCOPE.into(),
                auth_time: 0,
                claims: claims(),
                created_at: 0,
                expires_at: 14 * DAY,
                grant_expires_at: GRANT_MAX_SECS,
                consumed_at: consumed.then_some(1),
                revoked_at: None,
            },
        );
        token.expose().to_string()
    }

    #[test]
    fn legacy_tokens_are_adopted_on_first_use_and_reuse_still_revokes() {
        let store = MemoryStore::default();
        store
            .apps
            .borrow_mut()
            .push(crate::oidc::testing::app(AppType::Spa));
        let old = legacy(&store, false);
        let t1 = use_token(&store, &old, None, 10)
            .unwrap()
            .refresh_token
            .unwrap();
        assert!(grants::grant_of(&RefreshToken::new(t1.as_str())).is_some());
        assert!(store.grants.borrow().contains_key("legacygrant00000000000"));
        // The D1 row still looks live, but the grant's object decides: this is reuse.
        assert_eq!(
            use_token(&store, &old, None, 11).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        assert!(use_token(&store, &t1, None, 12).is_err(), "grant revoked");

        let store = MemoryStore::default();
        store
            .apps
            .borrow_mut()
            .push(crate::oidc::testing::app(AppType::Spa));
        let spent = legacy(&store, true);
        assert!(use_token(&store, &spent, None, 10).is_err());
        assert!(
            store.grants.borrow()["legacygrant00000000000"]
                .revoked_at
                .is_some(),
            "a token D1 had rotated out is reuse"
        );
    }
}

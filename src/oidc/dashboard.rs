//! The admin dashboard's sign-in (issue 8). The dashboard at `/admin/` is an ordinary
//! first-party SPA client of this provider (authorization code + PKCE, RFC 7636); what makes
//! it special is the `admin` scope, granted only to it and only to users with the admin
//! role, and accepted by the management API in place of `ADMIN_TOKEN`.

use serde_json::{json, Value};

use super::access;
use super::services::{Deps, Services};
use crate::crypto::AdminToken;
use crate::error::{Failure, OAuthError};
use crate::model::{AppType, Application, User};
use crate::runtime::Clock;
use crate::store::Store;

/// The dashboard's application (created by the provider; not editable through the API).
pub const CLIENT_ID: &str = "edge-oidc-admin";
/// The scope that lets an access token use the management API.
pub const ADMIN_SCOPE: &str = "admin";
const PATH: &str = "/admin/";
const SCOPE: &str = "openid profile email admin";
/// Dashboard tokens are powerful: shorter-lived than the default hour.
const ACCESS_TOKEN_TTL: i64 = 1800;

/// The dashboard's application as `issuer` needs it: a public SPA whose only redirect and
/// post-logout URI is the dashboard itself.
pub fn application(issuer: &str, now: i64) -> Application {
    let mut app = Application::new(
        CLIENT_ID.into(),
        "Admin dashboard".into(),
        AppType::Spa,
        now,
    );
    let home = format!("{issuer}{PATH}");
    app.description = "The provider's own dashboard (built in).".into();
    app.home_url = Some(home.clone());
    app.redirect_uris = vec![home.clone()];
    app.post_logout_redirect_uris = vec![home];
    app.first_party = true;
    app.token_settings.access_token_ttl = ACCESS_TOKEN_TTL;
    app
}

/// Whether the stored application still fits `issuer` (the issuer can change with the
/// `ISSUER` var); when not, the caller rewrites it.
pub fn is_current(app: &Application, issuer: &str) -> bool {
    let want = application(issuer, app.created_at);
    app.app_type == want.app_type
        && app.redirect_uris == want.redirect_uris
        && app.post_logout_redirect_uris == want.post_logout_redirect_uris
        && app.first_party
        && app.grant_types == want.grant_types
}

/// What the dashboard's script needs to start its sign-in.
pub fn config_json(issuer: &str) -> Value {
    let home = format!("{issuer}{PATH}");
    json!({
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "redirect_uri": home,
        "post_logout_redirect_uri": home,
        "scope": SCOPE,
    })
}

/// Whether `client_id` may ask for the `admin` scope at all.
pub fn may_request_admin(client_id: &str) -> bool {
    client_id == CLIENT_ID
}

/// RFC 6749 §3.3: the server may grant less than was asked. `admin` stays in `scope` only
/// for an enabled user with the admin role.
pub fn grantable_scope(scope: &str, user: Option<&User>) -> String {
    let admin = user.is_some_and(|u| u.is_admin() && !u.is_disabled());
    scope
        .split(' ')
        .filter(|s| admin || *s != ADMIN_SCOPE)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn has_admin_scope(scope: &str) -> bool {
    scope.split(' ').any(|s| s == ADMIN_SCOPE)
}

/// Who is calling the management API.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// The `ADMIN_TOKEN` secret (automation, the seed script).
    AdminToken,
    /// A dashboard access token of this user.
    User(String),
}

impl Principal {
    /// Who acted, as the audit log's `detail.by` says it.
    pub fn by(&self) -> String {
        match self {
            Principal::AdminToken => "admin_token".to_string(),
            Principal::User(id) => format!("user:{id}"),
        }
    }
}

/// Creates the dashboard's application on first use, and rewrites it when the issuer
/// changed. `true` when it wrote.
pub async fn ensure_application<D: Deps>(svc: &Services<'_, D>) -> Result<bool, Failure> {
    ensure_builtin(svc, CLIENT_ID, application, is_current).await
}

/// Creates a built-in application (the dashboard's, the account page's) on first use, and
/// rewrites it when the issuer changed. `true` when it wrote.
pub(super) async fn ensure_builtin<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    make: fn(&str, i64) -> Application,
    current: fn(&Application, &str) -> bool,
) -> Result<bool, Failure> {
    let (store, issuer, now) = (svc.store, svc.issuer, svc.clock.now());
    match store.application(client_id).await? {
        Some(app) if current(&app, issuer) => Ok(false),
        Some(app) => {
            let mut fresh = make(issuer, now);
            fresh.created_at = app.created_at;
            store.update_application(&fresh).await?;
            Ok(true)
        }
        None => {
            // A parallel first request may have inserted it: that is fine.
            if let Err(e) = store.insert_application(&make(issuer, now)).await {
                if store.application(client_id).await?.is_none() {
                    return Err(Failure::from(e));
                }
            }
            Ok(true)
        }
    }
}

/// Accepts the `ADMIN_TOKEN` secret or a dashboard access token (RFC 6750) whose user is
/// still an enabled admin: roles are read again on every call, so removing the role or
/// disabling the account takes effect at once, not when the token expires.
/// `presented` is the request's Bearer token, if any.
pub async fn authenticate<D: Deps>(
    svc: &Services<'_, D>,
    presented: Option<&str>,
) -> Result<Principal, Failure> {
    let (store, clock, issuer) = (svc.store, svc.clock, svc.issuer);
    let presented =
        presented.ok_or_else(|| Failure::missing_token("a Bearer token is required"))?;
    // ADMIN_TOKEN works even where signing is misconfigured (it needs no key).
    if svc
        .settings
        .admin_token
        .as_ref()
        .is_some_and(|t| *t == AdminToken::new(presented))
    {
        return Ok(Principal::AdminToken);
    }
    let invalid = || Failure::invalid_token("the token is not valid for the management API");
    let claims = access::verify(svc.signer, svc.sealer, presented, clock.now())
        .await
        .map_err(|_| invalid())?
        .claims;
    if claims.iss != issuer || claims.aud != issuer || claims.client_id != CLIENT_ID {
        return Err(invalid());
    }
    if !has_admin_scope(&claims.scope) {
        return Err(Failure::new(
            OAuthError::InsufficientScope,
            "the token lacks the admin scope",
        ));
    }
    match store.user_by_id(&claims.sub).await? {
        Some(u) if u.is_admin() && !u.is_disabled() => Ok(Principal::User(u.id)),
        Some(u) if u.is_disabled() => Err(Failure::invalid_token("the account is disabled")),
        Some(_) => Err(Failure::new(
            OAuthError::InsufficientScope,
            "the user is no longer an administrator",
        )),
        None => Err(Failure::invalid_token("the user no longer exists")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ADMIN_ROLE;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::{services, test_settings};
    use crate::oidc::services::Settings;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const ISS: &str = "https://id.example";

    fn user(id: &str, admin: bool) -> User {
        User {
            id: id.into(),
            email: format!("{id}@example.com"),
            name: None,
            email_verified: true,
            password_hash: String::new(),
            created_at: 0,
            roles: if admin {
                vec![ADMIN_ROLE.into()]
            } else {
                vec![]
            },
            disabled_at: None,
            profile: Default::default(),
            updated_at: 0,
        }
    }

    /// A dashboard access token as the provider issues them now (opaque, sealed).
    fn token(signer: &FakeSigner, sub: &str, client_id: &str, scope: &str) -> String {
        let c = crate::oidc::jwt::AccessTokenClaims {
            roles: Default::default(),
            claims: None,
            iss: ISS.into(),
            sub: sub.into(),
            aud: ISS.into(),
            client_id: client_id.into(),
            scope: scope.into(),
            jti: "j".into(),
            gid: None,
        };
        let sealer = crate::crypto::seal::testing::FakeSealer::default();
        block_on(access::issue(signer, &sealer, c, 100, 600)).unwrap()
    }

    fn auth(store: &MemoryStore, signer: &FakeSigner, t: &str) -> Result<Principal, Failure> {
        let (clock, audit) = (FixedClock::at(200), crate::oidc::audit::Audit::default());
        let mut svc = services(store, signer, &clock, ISS, &audit);
        let settings = Settings {
            admin_token: Some(AdminToken::new("the-admin-token")),
            ..test_settings()
        };
        svc.settings = &settings;
        block_on(authenticate(&svc, Some(t)))
    }

    #[test]
    fn admin_scope_is_granted_only_to_enabled_admins() {
        let scope = "openid email admin";
        assert_eq!(grantable_scope(scope, None), "openid email");
        assert_eq!(
            grantable_scope(scope, Some(&user("a", false))),
            "openid email"
        );
        assert_eq!(grantable_scope(scope, Some(&user("a", true))), scope);
        let mut disabled = user("a", true);
        disabled.disabled_at = Some(1);
        assert_eq!(grantable_scope(scope, Some(&disabled)), "openid email");
        assert!(may_request_admin(CLIENT_ID));
        assert!(!may_request_admin("some-other-app"));
    }

    #[test]
    fn the_management_api_takes_the_admin_token_or_an_admin_users_dashboard_token() {
        let store = MemoryStore::default();
        store.users.borrow_mut().push(user("boss", true));
        store.users.borrow_mut().push(user("pleb", false));
        let signer = FakeSigner::new();
        assert_eq!(
            auth(&store, &signer, "the-admin-token"),
            Ok(Principal::AdminToken)
        );
        let err = |r: Result<Principal, Failure>| r.unwrap_err().error;
        assert_eq!(
            err(auth(&store, &signer, "the-admin-tokem")),
            OAuthError::InvalidToken
        );
        let good = token(&signer, "boss", CLIENT_ID, "openid admin");
        assert_eq!(
            auth(&store, &signer, &good),
            Ok(Principal::User("boss".into()))
        );
        // Another application's token, even with the scope string in it.
        let other = token(&signer, "boss", "app1", "openid admin");
        assert_eq!(err(auth(&store, &signer, &other)), OAuthError::InvalidToken);
        let no_scope = token(&signer, "boss", CLIENT_ID, "openid");
        assert_eq!(
            err(auth(&store, &signer, &no_scope)),
            OAuthError::InsufficientScope
        );
        // Roles are read again: a demoted or disabled admin's token stops working.
        let demoted = token(&signer, "pleb", CLIENT_ID, "openid admin");
        assert_eq!(
            err(auth(&store, &signer, &demoted)),
            OAuthError::InsufficientScope
        );
        store.users.borrow_mut()[0].disabled_at = Some(150);
        assert_eq!(err(auth(&store, &signer, &good)), OAuthError::InvalidToken);
        let ghost = token(&signer, "nobody", CLIENT_ID, "openid admin");
        assert_eq!(err(auth(&store, &signer, &ghost)), OAuthError::InvalidToken);
    }

    #[test]
    fn the_dashboard_application_follows_the_issuer() {
        let app = application(ISS, 5);
        assert!(app.has_redirect_uri("https://id.example/admin/"));
        assert!(!app.has_redirect_uri("https://evil.example/admin/"));
        assert!(app.is_public() && app.first_party);
        assert!(is_current(&app, ISS));
        assert!(!is_current(&app, "https://new.example"));
        assert_eq!(config_json(ISS)["client_id"], CLIENT_ID);
    }
}

//! Consent (OpenID Connect Core §3.1.2.4): third-party applications must be granted access
//! by the user; first-party ones are trusted. Consent is remembered per user and
//! application, except that a loopback redirect always asks (RFC 8252 §8.6: any local
//! program can claim a loopback port, so the user must see what is being authorized).

use url::{Host, Url};

use crate::error::Failure;
use crate::model::Application;
use crate::runtime::Clock;
use crate::store::Store;

/// Whether every scope in `requested` is in `granted`.
pub fn covers(granted: Option<&str>, requested: &str) -> bool {
    let Some(granted) = granted else {
        return false;
    };
    let granted: Vec<&str> = granted.split(' ').collect();
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| granted.contains(&s))
}

pub fn is_loopback_redirect(uri: &str) -> bool {
    match Url::parse(uri)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the user must be asked: a third-party application without a covering consent
/// (or with `prompt=consent`), or any loopback redirect.
pub fn required(
    app: &Application,
    redirect_uri: &str,
    prompt_consent: bool,
    granted: Option<&str>,
    scope: &str,
) -> bool {
    if untrusted_loopback(app, redirect_uri) {
        return true;
    }
    !app.first_party && (prompt_consent || !covers(granted, scope))
}

/// A loopback redirect could reach any local program (RFC 8252 §8.6), except the built-in
/// applications' (the dashboard, the account page): the provider pins them to its own
/// origin, so the code never leaves it.
fn untrusted_loopback(app: &Application, redirect_uri: &str) -> bool {
    is_loopback_redirect(redirect_uri) && !is_builtin(&app.client_id)
}

/// The provider's own applications, which the management API may not change.
pub fn is_builtin(client_id: &str) -> bool {
    client_id == super::dashboard::CLIENT_ID || client_id == super::account::CLIENT_ID
}

/// Whether looking up a stored consent can change the answer (saves a D1 read for
/// first-party applications).
pub fn lookup_needed(app: &Application, redirect_uri: &str) -> bool {
    !app.first_party && !untrusted_loopback(app, redirect_uri)
}

/// What each scope means, in words for the consent screen.
pub fn describe(scope: &str) -> Vec<&'static str> {
    scope
        .split(' ')
        .filter_map(|s| match s {
            "openid" => Some("Sign you in and know who you are"),
            "profile" => Some("See your name and profile (picture, birthdate, language)"),
            "email" => Some("See your email address"),
            "address" => Some("See your postal address"),
            "phone" => Some("See your phone number"),
            "offline_access" => Some("Stay signed in when you are not using it"),
            _ => None,
        })
        .collect()
}

/// Records the grant, widening any earlier one.
pub async fn grant(
    store: &impl Store,
    clock: &impl Clock,
    user_id: &str,
    client_id: &str,
    scope: &str,
) -> Result<(), Failure> {
    let earlier = store.consent(user_id, client_id).await?;
    let mut scopes: Vec<&str> = earlier
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    store
        .save_consent(user_id, client_id, &scopes.join(" "), clock.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppType;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn third_party() -> Application {
        let mut a = crate::oidc::testing::app(AppType::Spa);
        a.first_party = false;
        a
    }

    #[test]
    fn first_party_apps_skip_consent_except_on_loopback() {
        let app = crate::oidc::testing::app(AppType::Native);
        assert!(!required(
            &app,
            "https://app.example/cb",
            true,
            None,
            "openid"
        ));
        assert!(required(
            &app,
            "http://127.0.0.1:5000/cb",
            false,
            None,
            "openid"
        ));
        assert!(required(
            &app,
            "http://[::1]/cb",
            false,
            Some("openid"),
            "openid"
        ));
        assert!(required(
            &app,
            "http://localhost/cb",
            false,
            Some("openid"),
            "openid"
        ));
        assert!(!lookup_needed(&app, "https://app.example/cb"));
    }

    #[test]
    fn third_party_consent_must_cover_the_scope() {
        let app = third_party();
        let uri = "https://app.example/cb";
        assert!(required(&app, uri, false, None, "openid"));
        assert!(!required(
            &app,
            uri,
            false,
            Some("openid email"),
            "openid email"
        ));
        assert!(required(&app, uri, false, Some("openid"), "openid email"));
        assert!(required(&app, uri, true, Some("openid email"), "openid"));
        assert!(lookup_needed(&app, uri));
    }

    #[test]
    fn only_the_dashboard_skips_the_loopback_consent() {
        let dashboard = crate::oidc::dashboard::application("http://127.0.0.1:8787", 0);
        let uri = "http://127.0.0.1:8787/admin/";
        assert!(!required(&dashboard, uri, false, None, "openid admin"));
        let mut other = dashboard.clone();
        other.client_id = "lookalike".into();
        assert!(required(&other, uri, false, None, "openid"));
    }

    #[test]
    fn grants_accumulate() {
        let store = MemoryStore::default();
        let clock = FixedClock::at(10);
        block_on(grant(&store, &clock, "u1", "app1", "openid email")).unwrap();
        block_on(grant(&store, &clock, "u1", "app1", "openid profile")).unwrap();
        let scope = block_on(store.consent("u1", "app1")).unwrap().unwrap();
        assert_eq!(scope, "openid email profile");
        assert!(covers(Some(&scope), "profile openid"));
        assert!(!covers(None, "openid"));
    }

    #[test]
    fn every_offered_scope_is_described() {
        assert_eq!(describe("openid profile email unknown").len(), 3);
    }

    #[test]
    fn a_failed_save_keeps_the_earlier_consent() {
        let store = MemoryStore::default();
        let clock = FixedClock::at(5);
        block_on(grant(&store, &clock, "u1", "app1", "openid")).unwrap();
        store.fail_on.borrow_mut().push("save_consent");
        let e = block_on(grant(&store, &clock, "u1", "app1", "openid email")).unwrap_err();
        assert_eq!(e.error, crate::error::OAuthError::TemporarilyUnavailable);
        let scope = block_on(store.consent("u1", "app1")).unwrap().unwrap();
        assert_eq!(scope, "openid");
    }
}

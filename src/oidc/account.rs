//! The account page (issue 18): people see and change their own account at `/account`,
//! signed in through the provider's own session. Its sign-in is an ordinary authorization
//! request of a built-in, first-party application (`CLIENT_ID`, like the dashboard's) whose
//! redirect URI is the page itself: the login page sets the session cookie, and the page
//! reads nothing but that session (the code that comes back is never redeemed).
//!
//! What a person can do here: change their name; change their address (a mailed link proves
//! the new one first, and the old one is told); change their password (within `FRESH_SECS`
//! of signing in); see the applications they have authorized (consents, and applications holding
//! their refresh tokens) and revoke each; sign out everywhere.

use super::audit::{Entry, Event};
use super::consent;
use super::dashboard::ensure_builtin;
use super::links::{self, fingerprint, Link, Purpose};
use super::mail;
use super::password_rules;
use super::services::{Deps, Services};
use super::signup::{email_of, Requested};
use super::throttle;
use super::users::reach_live_state;
use crate::crypto::password::hash_password;
use crate::crypto::{b64url, random_id, sha256};
use crate::error::Failure;
use crate::model::grant::GrantOp;
use crate::model::{AppType, Application, Session, User};
use crate::runtime::Clock;
use crate::store::{GrantOwner, GrantStore, Store};

/// The account page's built-in application.
pub const CLIENT_ID: &str = "edge-oidc-account";
pub const PATH: &str = "/account";
/// How long an email-change link works.
pub const LINK_HOURS: i64 = 24;
const MAX_NAME_CHARS: usize = 200;

/// The account page's application for `issuer`: a public client whose only redirect URI is
/// the page.
pub fn application(issuer: &str, now: i64) -> Application {
    let mut app = Application::new(CLIENT_ID.into(), "Your account".into(), AppType::Spa, now);
    let home = format!("{issuer}{PATH}");
    app.description = "The provider's account page (built in).".into();
    app.home_url = Some(home.clone());
    app.redirect_uris = vec![home];
    app.first_party = true;
    app.allow_signup = false;
    app
}

fn is_current(app: &Application, issuer: &str) -> bool {
    let want = application(issuer, app.created_at);
    app.redirect_uris == want.redirect_uris
        && app.first_party
        && app.grant_types == want.grant_types
}

/// Where a visitor without a session goes: the provider's login page, through an
/// authorization request of the account application that comes back to the page. PKCE is
/// required of public clients, so it carries a challenge, of a verifier nobody keeps.
/// `again`: the login page even with a session (`prompt=login`), to prove the password
/// afresh.
pub async fn sign_in_url<D: Deps>(svc: &Services<'_, D>, again: bool) -> Result<String, Failure> {
    ensure_builtin(svc, CLIENT_ID, application, is_current).await?;
    let state = random_id(svc.rng, 16)?;
    let challenge = b64url(&sha256(random_id(svc.rng, 32)?.as_bytes()));
    let redirect: String =
        url::form_urlencoded::byte_serialize(format!("{}{PATH}", svc.issuer).as_bytes()).collect();
    Ok(format!(
        "/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={redirect}\
         &scope=openid&state={state}&code_challenge={challenge}&code_challenge_method=S256{}",
        if again { "&prompt=login" } else { "" }
    ))
}

/// An application the user has authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub client_id: String,
    pub name: String,
    /// What the user consented to, in words (`consent::describe`), when they were asked.
    pub permissions: Vec<&'static str>,
}

/// The signed-in user and what they have authorized: consents (third-party applications)
/// and applications holding refresh tokens of theirs (the grant index), each once, built-in
/// applications left out.
pub async fn overview<D: Deps>(
    svc: &Services<'_, D>,
    session: &Session,
) -> Result<Option<(User, Vec<Authorized>)>, Failure> {
    let store = svc.store;
    let Some(user) = user_of(svc, session).await? else {
        return Ok(None);
    };
    let consents = store.list_consents(&user.id).await?;
    let mut clients: Vec<(String, Option<String>)> = consents
        .into_iter()
        .map(|c| (c.client_id, Some(c.scope)))
        .collect();
    for client in store.granted_clients(&user.id).await? {
        if !clients.iter().any(|(c, _)| *c == client) {
            clients.push((client, None));
        }
    }
    let mut apps = Vec::new();
    for (client_id, scope) in clients {
        if client_id == CLIENT_ID || client_id == super::dashboard::CLIENT_ID {
            continue;
        }
        let Some(app) = store.application(&client_id).await? else {
            continue;
        };
        apps.push(Authorized {
            client_id,
            name: app.name,
            permissions: scope.as_deref().map(consent::describe).unwrap_or_default(),
        });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some((user, apps)))
}

/// The session's user, while enabled: what a form posted from the page acts for.
pub async fn user_of<D: Deps>(
    svc: &Services<'_, D>,
    session: &Session,
) -> Result<Option<User>, Failure> {
    Ok(svc
        .store
        .user_by_id(&session.user_id)
        .await?
        .filter(|u| !u.is_disabled()))
}

/// A change that may be refused with a sentence for the form.
pub type Outcome = Result<(), &'static str>;

/// The user's name (empty: none).
pub async fn rename<D: Deps>(
    svc: &Services<'_, D>,
    user: &User,
    name: &str,
) -> Result<Outcome, Failure> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Ok(Err("Use at most 200 characters for your name."));
    }
    let mut user = user.clone();
    user.name = Some(name.to_string()).filter(|n| !n.is_empty());
    user.updated_at = svc.clock.now();
    reach_live_state(svc, &user).await?;
    svc.store.update_user(&user).await?;
    svc.audit.record(
        Entry::new(Event::UserUpdated, "Name changed on the account page")
            .user(&user.id)
            .detail("fields", "name")
            .detail("by", "self"),
    );
    Ok(Ok(()))
}

/// How recent a sign-in must be to change the password ("sudo mode", as GitHub does): the
/// password was just proved at the login page. Asking for the current password here instead
/// would cost a second PBKDF2 derivation in the same request, and two do not fit the Free
/// plan's 10 ms of CPU.
pub const FRESH_SECS: i64 = 600;

/// Whether the session's sign-in is recent enough to change the password.
pub fn is_fresh<D: Deps>(svc: &Services<'_, D>, session: &Session) -> bool {
    svc.clock.now() - session.auth_time <= FRESH_SECS
}

/// Said when the sign-in is too old to change the password.
pub const SIGN_IN_AGAIN: &str = "For your safety, sign in again before changing your password.";

/// A new password, for a session that signed in within `FRESH_SECS`. Other sessions stay
/// (the person may be changing it routinely); "sign out everywhere" is one button away.
pub async fn change_password<D: Deps>(
    svc: &Services<'_, D>,
    user: &User,
    session: &Session,
    new: &str,
) -> Result<Outcome, Failure> {
    let policy = &svc.settings.password;
    if !is_fresh(svc, session) {
        return Ok(Err(SIGN_IN_AGAIN));
    }
    if let Err(why) = password_rules::check(new, &user.email) {
        return Ok(Err(why));
    }
    let hash = hash_password(svc.kdf, svc.rng, policy, new).await?;
    if !svc
        .store
        .replace_password_hash(&user.id, &user.password_hash, &hash)
        .await?
    {
        return Ok(Err(
            "Your password changed meanwhile. Reload the page and try again.",
        ));
    }
    svc.audit.record(
        Entry::new(
            Event::PasswordChanged,
            "Password changed on the account page",
        )
        .user(&user.id)
        .detail("via", "account"),
    );
    Ok(Ok(()))
}

/// Mails a link to `new` that proves it (and tells the old address).
pub async fn request_email_change<D: Deps>(
    svc: &Services<'_, D>,
    user: &User,
    new: &str,
    client_ip: Option<&str>,
) -> Result<Requested, Failure> {
    let new = match email_of(new) {
        Ok(e) => e,
        Err(why) => return Ok(Requested::Invalid(why)),
    };
    if new.eq_ignore_ascii_case(&user.email) {
        return Ok(Requested::Invalid("That is your address already."));
    }
    let now = svc.clock.now();
    if let Some(secs) = throttle::mail_request(svc.throttle, client_ip, &new, now).await? {
        return Ok(Requested::Locked(secs));
    }
    let link = Link {
        email: new.clone(),
        user_id: Some(user.id.clone()),
        name: None,
        replaces: Some(fingerprint(&user.email)),
        auth_request: None,
        expires_at: now + LINK_HOURS * 3600,
    };
    let token = links::seal(svc.sealer, Purpose::EmailChange, &link).await?;
    let url = format!("{}{PATH}/email/confirm?token={token}", svc.issuer);
    let place = place(svc.issuer);
    svc.outbox
        .send(mail::confirm_email_change(&place, &new, &url, LINK_HOURS));
    svc.outbox
        .send(mail::email_change_notice(&place, &user.email, &new));
    Ok(Requested::Sent)
}

/// What the provider is called in mail from the account page: its host.
pub fn place(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| issuer.to_string())
}

/// The change an email link stands for, while it works: the account still has the address
/// the link replaces.
pub async fn pending_email_change<D: Deps>(
    svc: &Services<'_, D>,
    token: &str,
) -> Result<Option<(Link, User)>, Failure> {
    links::open_for_user(svc, Purpose::EmailChange, token, |u| &u.email).await
}

/// What confirming a new address came to.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChanged {
    Changed,
    /// Another account has the address now.
    Taken,
    /// Used, expired, or the address changed since.
    Expired,
}

/// Gives the account the proved address (D1 changes it only from the one the link names, so
/// the link works once), and its live tokens and sessions the new claims.
pub async fn confirm_email_change<D: Deps>(
    svc: &Services<'_, D>,
    token: &str,
) -> Result<EmailChanged, Failure> {
    let Some((link, user)) = pending_email_change(svc, token).await? else {
        return Ok(EmailChanged::Expired);
    };
    let now = svc.clock.now();
    if !svc
        .store
        .change_email(&user.id, &user.email, &link.email, now)
        .await?
    {
        let taken = svc.store.user_by_email(&link.email).await?.is_some();
        return Ok(if taken {
            EmailChanged::Taken
        } else {
            EmailChanged::Expired
        });
    }
    let changed = User {
        email: link.email.clone(),
        email_verified: true,
        updated_at: now,
        ..user
    };
    reach_live_state(svc, &changed).await?;
    svc.audit.record(
        Entry::new(
            Event::EmailVerified,
            "New email address verified by a mailed link",
        )
        .user(&changed.id)
        .detail("via", "email_change"),
    );
    Ok(EmailChanged::Changed)
}

/// Takes back what the user gave `client_id`: the consent (they are asked again) and every
/// grant (its refresh tokens stop working). False when there was nothing.
pub async fn revoke_application<D: Deps>(
    svc: &Services<'_, D>,
    user_id: &str,
    client_id: &str,
) -> Result<bool, Failure> {
    let had_consent = svc.store.delete_consent(user_id, client_id).await?;
    let now = svc.clock.now();
    let ids = svc
        .store
        .indexed_grants(GrantOwner::UserClient(user_id, client_id))
        .await?;
    for id in &ids {
        svc.grants
            .grant(id, &GrantOp::Revoke { now, by: None })
            .await?;
    }
    if !ids.is_empty() {
        svc.store.forget_grants(user_id, client_id).await?;
    }
    if had_consent || !ids.is_empty() {
        svc.audit.record(
            Entry::new(
                Event::ConsentRevoked,
                "Authorization revoked on the account page",
            )
            .user(user_id)
            .client(client_id)
            .detail("grants", ids.len() as i64)
            .detail("by", "self"),
        );
    }
    Ok(had_consent || !ids.is_empty())
}

//! Password reset (issue 18): "Forgot your password?" on the login page mails a link
//! (`links`, sealed, 30 minutes) to the page where a new password is chosen. The link names
//! the password hash it may replace (`links::fingerprint`), and the new hash replaces that
//! one only while it is still stored (`Store::replace_password_hash`, D1's primary): so a
//! link works once, and no older link works after any change of password. Setting the new
//! password signs the user out everywhere (sessions and refresh tokens), in case someone
//! else had it. The request's answer is the same whether the address has an account or not.

use super::audit::{Entry, Event};
use super::grants;
use super::links::{self, fingerprint, Link, Purpose};
use super::login;
use super::mail;
use super::password_rules;
use super::services::{Deps, Services};
use super::signup::{email_of, Requested};
use super::throttle;
use crate::crypto::password::hash_password;
use crate::error::Failure;
use crate::model::User;
use crate::runtime::Clock;
use crate::store::{GrantOwner, Store};

/// How long a reset link works.
pub const LINK_MINUTES: i64 = 30;

/// The URL of a reset link for `user`.
pub(super) async fn link_for<D: Deps>(
    svc: &Services<'_, D>,
    user: &User,
    auth_request: Option<String>,
) -> Result<String, Failure> {
    let link = Link {
        email: user.email.clone(),
        user_id: Some(user.id.clone()),
        name: None,
        replaces: Some(fingerprint(&user.password_hash)),
        auth_request,
        expires_at: svc.clock.now() + LINK_MINUTES * 60,
    };
    let token = links::seal(svc.sealer, Purpose::Reset, &link).await?;
    Ok(format!("{}/reset/confirm?token={token}", svc.issuer))
}

/// `POST /reset`: mails a reset link when the address has an enabled account. `app_name`
/// names where the person came from (the application, or the provider).
pub async fn request<D: Deps>(
    svc: &Services<'_, D>,
    app_name: &str,
    email: &str,
    auth_request: Option<String>,
    client_ip: Option<&str>,
) -> Result<Requested, Failure> {
    let email = match email_of(email) {
        Ok(e) => e,
        Err(why) => return Ok(Requested::Invalid(why)),
    };
    if let Some(secs) =
        throttle::mail_request(svc.throttle, client_ip, &email, svc.clock.now()).await?
    {
        return Ok(Requested::Locked(secs));
    }
    let entry = Entry::new(Event::PasswordResetRequested, "Password reset requested");
    match svc.store.user_by_email(&email).await? {
        Some(user) if !user.is_disabled() => {
            let url = link_for(svc, &user, auth_request).await?;
            svc.outbox.send(mail::reset_password(
                app_name,
                &user.email,
                &url,
                LINK_MINUTES,
            ));
            svc.audit.record(entry.user(&user.id));
        }
        // Told nothing either way; the log keeps the address typed, as for failed logins.
        found => svc.audit.record(
            entry
                .detail("email", email.chars().take(200).collect::<String>())
                .detail(
                    "result",
                    if found.is_some() {
                        "disabled"
                    } else {
                        "no_account"
                    },
                ),
        ),
    }
    Ok(Requested::Sent)
}

/// The account a reset link is for, while the link works: not expired, the account enabled
/// and its password still the one the link names.
pub async fn pending<D: Deps>(
    svc: &Services<'_, D>,
    token: &str,
) -> Result<Option<(Link, User)>, Failure> {
    links::open_for_user(svc, Purpose::Reset, token, |u| &u.password_hash).await
}

/// What setting a new password through a link came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    /// Changed; the authorization request to go back to, if any.
    Changed(Option<String>),
    /// The password cannot be used: the form again, with this said.
    Invalid(&'static str),
    /// Not a working link (used, expired, the password changed since, the account disabled).
    Expired,
}

/// `POST /reset/confirm`.
pub async fn complete<D: Deps>(
    svc: &Services<'_, D>,
    token: &str,
    password: &str,
) -> Result<Reset, Failure> {
    let Some((link, user)) = pending(svc, token).await? else {
        return Ok(Reset::Expired);
    };
    if let Err(why) = password_rules::check(password, &user.email) {
        return Ok(Reset::Invalid(why));
    }
    let hash = hash_password(svc.kdf, svc.rng, &svc.settings.password, password).await?;
    if !svc
        .store
        .replace_password_hash(&user.id, &user.password_hash, &hash)
        .await?
    {
        return Ok(Reset::Expired);
    }
    sign_out_everywhere(svc, &user.id).await?;
    svc.audit.record(
        Entry::new(
            Event::PasswordChanged,
            "Password changed through a reset link",
        )
        .user(&user.id)
        .detail("via", "reset"),
    );
    Ok(Reset::Changed(link.auth_request))
}

/// Ends every session of the user and revokes every grant (refresh tokens), each step
/// repeatable; audited as `sessions.revoked`.
pub async fn sign_out_everywhere<D: Deps>(
    svc: &Services<'_, D>,
    user_id: &str,
) -> Result<(), Failure> {
    let revoked = grants::revoke_all(
        svc.store,
        svc.grants,
        GrantOwner::User(user_id),
        svc.clock.now(),
    )
    .await?;
    login::end_sessions(svc.store, svc.sessions, svc.pending_index, user_id).await?;
    svc.audit.record(
        Entry::new(Event::SessionsRevoked, "Signed out everywhere")
            .user(user_id)
            .detail("grants", revoked as i64),
    );
    Ok(())
}

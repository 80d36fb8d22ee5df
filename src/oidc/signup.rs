//! Sign-up (issue 18): people create their own accounts from the login page, where the
//! deployment has it on (`SIGNUP_ENABLED`), the application allows it (`allow_signup`) and
//! mail can reach them (`MAIL_TRANSPORT`).
//!
//! The address is proved before the account exists, as Logto does: the form takes an email
//! (and a name), and mail carries a link (`links`, sealed, 24 hours) to the page where the
//! password is chosen. So the account is made, verified, by whoever reads that mailbox: no
//! unverified accounts, and nobody can set up an account in another person's name with a
//! password of their own choosing. The form's answer is the same whether the address has an
//! account or not (its owner gets mail about it instead), and requests are limited per
//! address and recipient (`throttle::mail_request`): nothing tells which accounts exist.

use super::audit::{Entry, Event};
use super::authorize::ValidRequest;
use super::links::{self, Link, Purpose};
use super::mail;
use super::password_rules;
use super::services::{Deps, Services};
use super::throttle;
use super::users::{is_plausible_email, MAX_EMAIL};
use crate::crypto::password::hash_password;
use crate::crypto::random_id;
use crate::error::Failure;
use crate::model::{Application, User};
use crate::runtime::Clock;
use crate::store::{Inserted, Store};

/// How long a sign-up link works.
pub const LINK_HOURS: i64 = 24;
const MAX_NAME_CHARS: usize = 200;

/// Whether the login page for `app` offers sign-up.
pub fn offered<D: Deps>(svc: &Services<'_, D>, app: &Application) -> bool {
    svc.settings.signup_enabled && svc.settings.mail_enabled && app.allow_signup
}

/// What a form's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// "Check your email" (whatever the address).
    Sent,
    /// The form again, with this said about it.
    Invalid(&'static str),
    /// Too many requests: wait this many seconds.
    Locked(i64),
}

/// The email field as a form sends it: trimmed, and plausible, or what to say about it.
pub fn email_of(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim();
    if email.chars().count() > MAX_EMAIL || !is_plausible_email(email) {
        return Err("Enter a valid email address.");
    }
    Ok(email.to_string())
}

/// `POST /signup`: mails the link that finishes the sign-up, or tells the address's owner
/// that they have an account already.
pub async fn request<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    email: &str,
    name: &str,
    client_ip: Option<&str>,
) -> Result<Requested, Failure> {
    if !offered(svc, &valid.app) {
        return Err(Failure::invalid_request(
            "sign-up is not available for this application",
        ));
    }
    let email = match email_of(email) {
        Ok(e) => e,
        Err(why) => return Ok(Requested::Invalid(why)),
    };
    let name = name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Ok(Requested::Invalid(
            "Use at most 200 characters for your name.",
        ));
    }
    let now = svc.clock.now();
    if let Some(secs) = throttle::mail_request(svc.throttle, client_ip, &email, now).await? {
        return Ok(Requested::Locked(secs));
    }
    let auth_request = Some(valid.params.to_query());
    match svc.store.user_by_email(&email).await? {
        Some(user) => {
            let link = super::reset::link_for(svc, &user, auth_request).await?;
            svc.outbox
                .send(mail::account_exists(&valid.app.name, &user.email, &link));
            svc.audit.record(
                Entry::new(
                    Event::Signup,
                    "Sign-up with the address of an existing account; its owner was told by mail",
                )
                .app(&valid.app)
                .user(&user.id)
                .detail("result", "existing_account"),
            );
        }
        None => {
            let link = Link {
                email: email.clone(),
                user_id: None,
                name: Some(name.to_string()).filter(|n| !n.is_empty()),
                replaces: None,
                auth_request,
                expires_at: now + LINK_HOURS * 3600,
            };
            let token = links::seal(svc.sealer, Purpose::Signup, &link).await?;
            let url = format!("{}/signup/confirm?token={token}", svc.issuer);
            svc.outbox.send(mail::confirm_signup(
                &valid.app.name,
                &email,
                &url,
                LINK_HOURS,
            ));
        }
    }
    Ok(Requested::Sent)
}

/// The name of the application whose authorization request a link carries, to name it on
/// the link's page (nothing when the request names none, or it is gone).
pub async fn app_name_of<D: Deps>(
    svc: &Services<'_, D>,
    auth_request: Option<&str>,
) -> Option<String> {
    let params = super::params::Params::parse(auth_request?);
    let client_id = params.get("client_id").ok().flatten()?;
    let app = svc.store.application(client_id).await.ok().flatten()?;
    Some(app.name)
}

/// The sign-up a link stands for, while it works.
pub async fn pending<D: Deps>(svc: &Services<'_, D>, token: &str) -> Result<Option<Link>, Failure> {
    links::open(svc.sealer, Purpose::Signup, token, svc.clock.now()).await
}

/// Whether the address a link is for has its account already (the link was used).
pub async fn used<D: Deps>(svc: &Services<'_, D>, link: &Link) -> Result<bool, Failure> {
    Ok(svc.store.user_by_email(&link.email).await?.is_some())
}

/// What opening a sign-up link with a password came to.
#[derive(Debug)]
pub enum Confirmed {
    /// The account, made and verified; the authorization request to go on with, if any.
    Created(User, Option<String>),
    /// The address has an account already (the link was used, or another was).
    Exists(Option<String>),
    /// The password cannot be used: the form again, with this said.
    Invalid(&'static str),
    /// Not a working link (altered, foreign, expired).
    Expired,
}

/// `POST /signup/confirm`: makes the account, its address verified by the link. The
/// account's unique email is what makes the link work once.
pub async fn confirm<D: Deps>(
    svc: &Services<'_, D>,
    token: &str,
    password: &str,
) -> Result<Confirmed, Failure> {
    let Some(link) = pending(svc, token).await? else {
        return Ok(Confirmed::Expired);
    };
    if let Err(why) = password_rules::check(password, &link.email) {
        return Ok(Confirmed::Invalid(why));
    }
    let now = svc.clock.now();
    let user = User {
        id: random_id(svc.rng, 24)?,
        email: link.email.clone(),
        name: link.name.clone(),
        email_verified: true,
        password_hash: hash_password(svc.kdf, svc.rng, &svc.settings.password, password).await?,
        created_at: now,
        roles: vec![],
        disabled_at: None,
        profile: Default::default(),
        updated_at: 0,
    };
    match svc.store.insert_user(&user).await? {
        Inserted::Conflict => Ok(Confirmed::Exists(link.auth_request)),
        Inserted::Yes => {
            svc.audit
                .record(Entry::new(Event::Signup, "Account created by sign-up").user(&user.id));
            svc.audit.record(
                Entry::new(
                    Event::EmailVerified,
                    "Email address verified by a mailed link",
                )
                .user(&user.id)
                .detail("via", "signup"),
            );
            Ok(Confirmed::Created(user, link.auth_request))
        }
    }
}

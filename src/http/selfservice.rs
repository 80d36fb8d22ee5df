//! `/signup`, `/signup/confirm`, `/reset`, `/reset/confirm` (issue 18): people create their
//! own accounts and set a forgotten password, through pages reached from the login page and
//! from mailed links. The rules are `oidc::signup`'s and `oidc::reset`'s; this file reads
//! forms (CSRF-checked like the login form) and renders `forms` pages. A form carries the
//! authorization request it came from (`auth_request`), validated afresh each time, so the
//! person ends up where they were going.

use super::authorize::{branded, posted_form, session_cookie, signed_in_reply};
use super::forms::{self, Form, Input};
use super::pages::Brand;
use super::{csrf_ok, error_page, new_csrf, Reply, Request, CSRF_FAILED};
use crate::error::Failure;
use crate::oidc::authorize::ValidRequest;
use crate::oidc::interaction::{self, SignedIn};
use crate::oidc::login;
use crate::oidc::params::Params;
use crate::oidc::reset::{self, Reset};
use crate::oidc::services::{Deps, Services};
use crate::oidc::signup::{self, Confirmed, Requested};

const EXPIRED: &str = "This link has expired or has already been used.";

pub(super) fn field<'a>(form: &'a Params, name: &str) -> &'a str {
    form.get(name).ok().flatten().unwrap_or("")
}

/// `/authorize?…` for a carried request: "Sign in" goes back to where the person was.
fn sign_in_url(auth_request: &str) -> String {
    format!("/authorize?{auth_request}")
}

/// A form page with a fresh CSRF token (its cookie set), branded for the application.
fn form_page<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    status: u16,
    valid: Option<&ValidRequest>,
    build: impl FnOnce(&str) -> String,
) -> Reply {
    let (csrf, cookie) = match new_csrf(req, svc.rng) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let reply = Reply::html(status, build(csrf.expose())).header("Set-Cookie", cookie);
    match valid {
        Some(v) => branded(reply, &v.app),
        None => reply,
    }
}

/// The Email field of the sign-up and reset forms.
fn email_input<'a>(value: &'a str, hint: Option<&'a str>) -> Input<'a> {
    Input {
        id: "email",
        label: "Email",
        kind: "email",
        autocomplete: "username",
        value,
        required: true,
        hint,
    }
}

pub(super) fn notice(
    status: u16,
    title: &str,
    paragraphs: &[&str],
    links: &[(&str, &str)],
) -> Reply {
    Reply::html(status, forms::notice(title, paragraphs, links))
}

fn requested_reply(
    outcome: Requested,
    sent: Reply,
    again: impl FnOnce(u16, &str) -> Reply,
) -> Reply {
    match outcome {
        Requested::Sent => sent,
        Requested::Invalid(why) => again(400, why),
        Requested::Locked(secs) => {
            again(429, &locked_message(secs)).header("Retry-After", secs.to_string())
        }
    }
}

/// "Too many requests" with how long to wait.
pub(super) fn locked_message(secs: i64) -> String {
    let minutes = (secs + 59) / 60;
    format!(
        "Too many requests. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

// ---- sign-up ----

fn signup_form<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    (email, name): (&str, &str),
    error: Option<&str>,
    status: u16,
) -> Reply {
    let auth_request = valid.params.to_query();
    let back = sign_in_url(&auth_request);
    let intro = format!("to use {}", valid.app.name);
    form_page(svc, req, status, Some(valid), |csrf| {
        forms::form(&Form {
            title: "Create an account",
            intro: &intro,
            app_name: Some(&valid.app.name),
            brand: Brand::of(&valid.app),
            error,
            action: "/signup",
            hidden: &[("csrf_token", csrf), ("auth_request", &auth_request)],
            username: None,
            inputs: &[
                email_input(
                    email,
                    Some("We send a link to this address to finish creating the account."),
                ),
                Input {
                    id: "name",
                    label: "Name (optional)",
                    kind: "text",
                    autocomplete: "name",
                    value: name,
                    required: false,
                    hint: None,
                },
            ],
            button: "Continue",
            links: &[("I have an account: sign in", &back)],
        })
    })
}

/// `GET /signup?auth_request=…`: the form, when the application offers sign-up.
pub async fn signup_page<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = match req.query_params() {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let valid = match interaction::carried_request(svc, &params).await {
        Ok(v) => v,
        Err(_) => return error_page(&Failure::invalid_request(
            "this sign-up page lost its way back to the application; return to it and start again",
        )),
    };
    if !signup::offered(svc, &valid.app) {
        return error_page(&Failure::invalid_request(
            "sign-up is not available for this application",
        ));
    }
    let hint = valid.login_hint.clone().unwrap_or_default();
    signup_form(svc, req, &valid, (&hint, ""), None, 200)
}

/// `POST /signup`.
pub async fn signup<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, valid) = match posted_form(svc, req).await {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let (email, name) = (field(&form, "email"), field(&form, "name"));
    let outcome = match signup::request(svc, &valid, email, name, req.client_ip.as_deref()).await {
        Ok(o) => o,
        Err(f) => return error_page(&f),
    };
    let back = sign_in_url(&valid.params.to_query());
    let said = format!(
        "We sent a link to {}. Open it within {} hours to choose your password and finish creating your account.",
        email.trim(),
        signup::LINK_HOURS
    );
    let sent = notice(
        200,
        "Check your email",
        &[
            &said,
            "Nothing there? Look in your spam folder, or sign up again.",
        ],
        &[("Back to sign in", &back)],
    );
    requested_reply(outcome, sent, |status, why| {
        signup_form(svc, req, &valid, (email, name), Some(why), status)
    })
}

/// "for <email>", and the application the link came from when it carries its request.
async fn intro_for<D: Deps>(
    svc: &Services<'_, D>,
    email: &str,
    auth_request: Option<&str>,
) -> String {
    match signup::app_name_of(svc, auth_request).await {
        Some(name) => format!("for {email}, to use {name}"),
        None => format!("for {email}"),
    }
}

fn choose_password_form<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    (title, action, button): (&str, &str, &str),
    token: &str,
    (email, intro): (&str, &str),
    error: Option<&str>,
    status: u16,
) -> Reply {
    form_page(svc, req, status, None, |csrf| {
        forms::form(&Form {
            title,
            intro,
            app_name: None,
            brand: Brand::default(),
            error,
            action,
            hidden: &[("csrf_token", csrf), ("token", token)],
            username: Some(email),
            inputs: &[Input {
                id: "password",
                label: "Password",
                kind: "password",
                autocomplete: "new-password",
                value: "",
                required: true,
                hint: Some(
                    "At least 8 characters; not one of the most common passwords, nor your email address.",
                ),
            }],
            button,
            links: &[],
        })
    })
}

const SIGNUP_FORM: (&str, &str, &str) =
    ("Choose your password", "/signup/confirm", "Create account");
const RESET_FORM: (&str, &str, &str) = ("Set a new password", "/reset/confirm", "Set password");

fn token_of(params: &Params) -> &str {
    field(params, "token")
}

/// `GET /signup/confirm?token=…`: the mailed link's page, where the password is chosen.
/// Opening it changes nothing (mail scanners open links too).
pub async fn signup_confirm_page<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = match req.query_params() {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let token = token_of(&params);
    let link = match signup::pending(svc, token).await {
        Ok(Some(link)) => link,
        Ok(None) => return signup_expired(),
        Err(f) => return error_page(&f),
    };
    match signup::used(svc, &link).await {
        Ok(true) => exists(link.auth_request.as_deref()),
        Ok(false) => {
            let intro = intro_for(svc, &link.email, link.auth_request.as_deref()).await;
            choose_password_form(
                svc,
                req,
                SIGNUP_FORM,
                token,
                (&link.email, &intro),
                None,
                200,
            )
        }
        Err(f) => error_page(&f),
    }
}

fn signup_expired() -> Reply {
    notice(
        400,
        "Link expired",
        &[
            EXPIRED,
            "Sign up again from the application's sign-in page.",
        ],
        &[],
    )
}

/// The address has its account (this link, or another, made it).
fn exists(auth_request: Option<&str>) -> Reply {
    let back = auth_request.map(sign_in_url);
    let links: Vec<(&str, &str)> = back.iter().map(|b| ("Sign in", b.as_str())).collect();
    notice(
        409,
        "You already have an account",
        &["An account with this address exists. Sign in with its password, or set a new one from the sign-in page."],
        &links,
    )
}

/// The form's fields after its CSRF check.
pub(super) fn checked_form(req: &Request) -> Result<Params, Reply> {
    let form = req.form_params().map_err(|f| error_page(&f))?;
    if !csrf_ok(req, &form) {
        return Err(error_page(&Failure::invalid_request(CSRF_FAILED)));
    }
    Ok(form)
}

/// `POST /signup/confirm`: makes the account, signs the person in and goes on with the
/// authorization request the sign-up started from.
pub async fn signup_confirm<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let form = match checked_form(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let token = token_of(&form);
    let confirmed = match signup::confirm(svc, token, field(&form, "password")).await {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    match confirmed {
        Confirmed::Created(user, auth_request) => {
            let started =
                login::start_session(svc.sessions, svc.clock, svc.rng, svc.pending_index, &user)
                    .await;
            let (id, session) = match started {
                Ok(s) => s,
                Err(f) => return error_page(&f),
            };
            let signed_in = SignedIn { id, session };
            let valid = match auth_request {
                Some(ar) => interaction::validate(svc, Params::parse(&ar)).await.ok(),
                None => None,
            };
            match valid {
                Some(valid) => signed_in_reply(svc, req, &valid, &signed_in).await,
                // Nowhere to go on to: the account is ready and the person signed in here.
                None => notice(
                    200,
                    "Your account is ready",
                    &["You are signed in. Return to the application to continue."],
                    &[],
                )
                .header("Set-Cookie", session_cookie(req, &signed_in.id)),
            }
        }
        Confirmed::Exists(auth_request) => exists(auth_request.as_deref()),
        Confirmed::Invalid(why) => match signup::pending(svc, token).await {
            Ok(Some(link)) => {
                let intro = intro_for(svc, &link.email, link.auth_request.as_deref()).await;
                let who = (link.email.as_str(), intro.as_str());
                choose_password_form(svc, req, SIGNUP_FORM, token, who, Some(why), 400)
            }
            _ => notice(400, "Link expired", &[EXPIRED], &[]),
        },
        Confirmed::Expired => signup_expired(),
    }
}

// ---- password reset ----

/// The application a reset form came from, when it carries a valid authorization request.
async fn carried_app<D: Deps>(svc: &Services<'_, D>, params: &Params) -> Option<ValidRequest> {
    match params.get("auth_request") {
        Ok(Some(_)) => interaction::carried_request(svc, params).await.ok(),
        _ => None,
    }
}

/// What a reset page calls where the person came from: the application, or the provider.
fn place_name<D: Deps>(svc: &Services<'_, D>, valid: Option<&ValidRequest>) -> String {
    match valid {
        Some(v) => v.app.name.clone(),
        None => url::Url::parse(svc.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| svc.issuer.to_string()),
    }
}

fn reset_form<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: Option<&ValidRequest>,
    email: &str,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let auth_request = valid.map(|v| v.params.to_query()).unwrap_or_default();
    let back = valid.map(|_| sign_in_url(&auth_request));
    let intro = format!(
        "We will mail a link to set a new password for your {} account.",
        place_name(svc, valid)
    );
    let links: Vec<(&str, &str)> = back
        .iter()
        .map(|b| ("Back to sign in", b.as_str()))
        .collect();
    form_page(svc, req, status, valid, |csrf| {
        forms::form(&Form {
            title: "Forgot your password?",
            intro: &intro,
            app_name: valid.map(|v| v.app.name.as_str()),
            brand: valid.map(|v| Brand::of(&v.app)).unwrap_or_default(),
            error,
            action: "/reset",
            hidden: &[("csrf_token", csrf), ("auth_request", &auth_request)],
            username: None,
            inputs: &[email_input(email, None)],
            button: "Send the link",
            links: &links,
        })
    })
}

fn mail_off() -> Reply {
    notice(
        404,
        "Password reset is not available",
        &["This provider cannot send mail. Ask an administrator to set a new password for you."],
        &[],
    )
}

/// `GET /reset[?auth_request=…]`.
pub async fn reset_page<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    if !svc.settings.mail_enabled {
        return mail_off();
    }
    let params = match req.query_params() {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let valid = carried_app(svc, &params).await;
    let hint = valid
        .as_ref()
        .and_then(|v| v.login_hint.clone())
        .unwrap_or_default();
    reset_form(svc, req, valid.as_ref(), &hint, None, 200)
}

/// `POST /reset`.
pub async fn reset<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    if !svc.settings.mail_enabled {
        return mail_off();
    }
    let form = match checked_form(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let valid = carried_app(svc, &form).await;
    let email = field(&form, "email");
    let place = place_name(svc, valid.as_ref());
    let auth_request = valid.as_ref().map(|v| v.params.to_query());
    let outcome = match reset::request(
        svc,
        &place,
        email,
        auth_request.clone(),
        req.client_ip.as_deref(),
    )
    .await
    {
        Ok(o) => o,
        Err(f) => return error_page(&f),
    };
    let said = format!(
        "If {} has an account, we sent it a link to set a new password. The link works for {} minutes.",
        email.trim(),
        reset::LINK_MINUTES
    );
    let back = auth_request.as_deref().map(sign_in_url);
    let links: Vec<(&str, &str)> = back
        .iter()
        .map(|b| ("Back to sign in", b.as_str()))
        .collect();
    let sent = notice(200, "Check your email", &[&said], &links);
    requested_reply(outcome, sent, |status, why| {
        reset_form(svc, req, valid.as_ref(), email, Some(why), status)
    })
}

/// `GET /reset/confirm?token=…`: the mailed link's page. Opening it changes nothing.
pub async fn reset_confirm_page<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = match req.query_params() {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let token = token_of(&params);
    match reset::pending(svc, token).await {
        Ok(Some((link, user))) => {
            let intro = intro_for(svc, &user.email, link.auth_request.as_deref()).await;
            choose_password_form(
                svc,
                req,
                RESET_FORM,
                token,
                (&user.email, &intro),
                None,
                200,
            )
        }
        Ok(None) => notice(
            400,
            "Link expired",
            &[EXPIRED, "Ask for a new one from the sign-in page."],
            &[],
        ),
        Err(f) => error_page(&f),
    }
}

/// `POST /reset/confirm`: the new password; everywhere signed out.
pub async fn reset_confirm<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let form = match checked_form(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let token = token_of(&form);
    match reset::complete(svc, token, field(&form, "password")).await {
        Ok(Reset::Changed(auth_request)) => {
            let back = auth_request.as_deref().map(sign_in_url);
            let links: Vec<(&str, &str)> = back.iter().map(|b| ("Sign in", b.as_str())).collect();
            notice(
                200,
                "Your password is changed",
                &["You were signed out everywhere. Sign in with your new password."],
                &links,
            )
        }
        Ok(Reset::Invalid(why)) => match reset::pending(svc, token).await {
            Ok(Some((link, user))) => {
                let intro = intro_for(svc, &user.email, link.auth_request.as_deref()).await;
                let who = (user.email.as_str(), intro.as_str());
                choose_password_form(svc, req, RESET_FORM, token, who, Some(why), 400)
            }
            _ => notice(400, "Link expired", &[EXPIRED], &[]),
        },
        Ok(Reset::Expired) => notice(
            400,
            "Link expired",
            &[EXPIRED, "Ask for a new one from the sign-in page."],
            &[],
        ),
        Err(f) => error_page(&f),
    }
}

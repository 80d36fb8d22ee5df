//! `/account` (issue 18): the signed-in person's own page, and the forms it posts. It reads
//! the provider's session cookie and nothing else; without a session it sends the visitor
//! to the login page through the account application (`oidc::account`). Every form is
//! CSRF-checked (double submit, as the login form), every change answers with a redirect
//! back to the page (post/redirect/get) or the page again with what was wrong.

use super::forms::{self, Form, Input};
use super::pages::{escape, wide_layout, Brand};
use super::selfservice::{checked_form, field, locked_message, notice};
use super::{clear_cookie, cookie, error_page, new_csrf, Reply, Request, SESSION_COOKIE};
use crate::model::{Session, User};
use crate::oidc::account::{self, Authorized, EmailChanged};
use crate::oidc::interaction;
use crate::oidc::params::Params;
use crate::oidc::reset;
use crate::oidc::services::{Deps, Services};
use crate::oidc::signup::Requested;

/// What a section of the page says after a change (`?done=`), or about a refused one.
#[derive(Default)]
struct Said<'a> {
    done: Option<&'a str>,
    /// (section, message)
    error: Option<(&'a str, &'a str)>,
}

fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "name" => "Your name is saved.",
        "password" => "Your password is changed.",
        "email" => "We sent a link to your new address. Your address changes when you open it.",
        "revoked" => "The application's access is revoked.",
        _ => return None,
    })
}

fn section_error(said: &Said, section: &str) -> String {
    match said.error {
        Some((s, e)) if s == section => {
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
        }
        _ => String::new(),
    }
}

fn apps_html(apps: &[Authorized], csrf: &str) -> String {
    if apps.is_empty() {
        return "<p>No application holds access to your account.</p>".to_string();
    }
    let items: String = apps
        .iter()
        .map(|a| {
            let perms = if a.permissions.is_empty() {
                String::new()
            } else {
                format!("<br><small>{}</small>", escape(&a.permissions.join("; ")))
            };
            format!(
                "<li><strong>{name}</strong>{perms}<form method=\"post\" action=\"/account/revoke\">\
                 <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"client_id\" value=\"{id}\">\
                 <button type=\"submit\" class=\"secondary\" aria-label=\"Revoke {name}\">Revoke</button>\
                 </form></li>",
                name = escape(&a.name),
                id = escape(&a.client_id),
                csrf = escape(csrf),
            )
        })
        .collect();
    format!("<ul>{items}</ul>")
}

/// The password section's body: the form while the sign-in is recent, otherwise the way to
/// sign in again (`again`, the login page with `prompt=login`).
fn password_html(email: &str, hidden: &str, again: Option<&str>) -> String {
    match again {
        Some(url) => format!(
            "<p>To change your password, sign in again: it proves it is you.</p>\
             <p><a href=\"{}\">Sign in again</a></p>",
            escape(url)
        ),
        None => format!(
            "<form method=\"post\" action=\"/account/password\">{hidden}\
             <input type=\"text\" name=\"username\" autocomplete=\"username\" value=\"{}\" hidden>\
             <label for=\"new_password\">New password</label><input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required>\
             <button type=\"submit\">Change password</button></form>",
            escape(email)
        ),
    }
}

fn page_html(
    user: &User,
    apps: &[Authorized],
    csrf: &str,
    said: &Said,
    again: Option<&str>,
) -> String {
    let flash = said
        .done
        .and_then(done_message)
        .map(|m| format!("<p class=\"done\" role=\"status\">{}</p>", escape(m)))
        .unwrap_or_default();
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        escape(csrf)
    );
    let verified = if user.email_verified {
        "verified"
    } else {
        "not verified"
    };
    let body = format!(
        "<h1>Your account</h1>{flash}\
         <section aria-labelledby=\"profile-h\"><h2 id=\"profile-h\">Profile</h2>{e_name}\
         <form method=\"post\" action=\"/account/profile\">{hidden}\
         <label for=\"name\">Name</label><input id=\"name\" name=\"name\" type=\"text\" autocomplete=\"name\" value=\"{name}\">\
         <button type=\"submit\">Save name</button></form></section>\
         <section aria-labelledby=\"email-h\"><h2 id=\"email-h\">Email</h2>\
         <p>{email} ({verified})</p>{e_email}\
         <form method=\"post\" action=\"/account/email\">{hidden}\
         <label for=\"new_email\">New address</label><input id=\"new_email\" name=\"new_email\" type=\"email\" autocomplete=\"email\" required>\
         <button type=\"submit\">Send a confirmation link</button></form></section>\
         <section aria-labelledby=\"password-h\"><h2 id=\"password-h\">Password</h2>{e_password}\
         {password}</section>\
         <section aria-labelledby=\"apps-h\"><h2 id=\"apps-h\">Authorized applications</h2>{apps}</section>\
         <section aria-labelledby=\"out-h\"><h2 id=\"out-h\">Sessions</h2>\
         <p>Signs you out of every application and device, and ends their refresh tokens.</p>\
         <form method=\"post\" action=\"/account/signout\">{hidden}\
         <button type=\"submit\" class=\"danger\">Sign out everywhere</button></form></section>",
        name = escape(user.name.as_deref().unwrap_or("")),
        email = escape(&user.email),
        e_name = section_error(said, "name"),
        e_email = section_error(said, "email"),
        e_password = section_error(said, "password"),
        password = password_html(&user.email, &hidden, again),
        apps = apps_html(apps, csrf),
    );
    wide_layout("Your account", &body)
}

/// The page for the signed-in user, or the way to the login page.
async fn page<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    said: &Said<'_>,
    status: u16,
) -> Reply {
    let session = match signed_in(svc, req).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let (user, apps) = match account::overview(svc, &session).await {
        Ok(Some(found)) => found,
        Ok(None) => return to_sign_in(svc, req).await,
        Err(f) => return error_page(&f),
    };
    let again = if account::is_fresh(svc, &session) {
        None
    } else {
        match account::sign_in_url(svc, true).await {
            Ok(url) => Some(url),
            Err(f) => return error_page(&f),
        }
    };
    let (csrf, cookie) = match new_csrf(req, svc.rng) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let html = page_html(&user, &apps, csrf.expose(), said, again.as_deref());
    Reply::html(status, html).header("Set-Cookie", cookie)
}

async fn to_sign_in<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    match account::sign_in_url(svc, false).await {
        Ok(url) => Reply::redirect(url, req.method == super::Method::Post)
            .header("Set-Cookie", clear_cookie(req, SESSION_COOKIE)),
        Err(f) => error_page(&f),
    }
}

/// The session behind the cookie, or the answer that sends the visitor to sign in.
async fn signed_in<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Result<Session, Reply> {
    match interaction::session(svc, cookie(req, SESSION_COOKIE)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(to_sign_in(svc, req).await),
        Err(f) => Err(error_page(&f)),
    }
}

/// `GET /account`. Coming back from the login page the URL carries a code and state,
/// unused: the page drops them from the address bar.
pub async fn show<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = req.query_params().unwrap_or_else(|_| Params::parse(""));
    if params.get("code").ok().flatten().is_some() || params.get("error").ok().flatten().is_some() {
        return Reply::redirect(account::PATH.to_string(), false);
    }
    let done = params.get("done").ok().flatten();
    page(svc, req, &Said { done, error: None }, 200).await
}

/// A posted account form: its fields, the session's user, or the answer instead.
async fn posted<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Result<(Params, User), Reply> {
    posted_in(svc, req)
        .await
        .map(|(form, _, user)| (form, user))
}

/// As `posted`, with the session.
async fn posted_in<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
) -> Result<(Params, Session, User), Reply> {
    let form = checked_form(req)?;
    let session = signed_in(svc, req).await?;
    // Only the user: a form needs neither the consents nor the applications' names.
    match account::user_of(svc, &session).await {
        Ok(Some(user)) => Ok((form, session, user)),
        Ok(None) => Err(to_sign_in(svc, req).await),
        Err(f) => Err(error_page(&f)),
    }
}

fn back_with(done: &str) -> Reply {
    Reply::redirect(format!("{}?done={done}", account::PATH), true)
}

/// `POST /account/profile`.
pub async fn profile<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, user) = match posted(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let outcome = account::rename(svc, &user, field(&form, "name")).await;
    answer(svc, req, "name", outcome).await
}

/// A change's answer: back to the page saying it is done, or the page again saying what
/// was wrong in `section`.
async fn answer<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    section: &str,
    outcome: Result<account::Outcome, crate::error::Failure>,
) -> Reply {
    match outcome {
        Ok(Ok(())) => back_with(section),
        Ok(Err(why)) => refused(svc, req, section, why, 400).await,
        Err(f) => error_page(&f),
    }
}

/// The page again, with `why` in `section`.
async fn refused<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    section: &str,
    why: &str,
    status: u16,
) -> Reply {
    let said = Said {
        done: None,
        error: Some((section, why)),
    };
    page(svc, req, &said, status).await
}

/// `POST /account/password`.
pub async fn password<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, session, user) = match posted_in(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let outcome =
        account::change_password(svc, &user, &session, field(&form, "new_password")).await;
    answer(svc, req, "password", outcome).await
}

/// `POST /account/email`: mails the new address a link.
pub async fn email<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, user) = match posted(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let new = field(&form, "new_email");
    match account::request_email_change(svc, &user, new, req.client_ip.as_deref()).await {
        Ok(Requested::Sent) => back_with("email"),
        Ok(Requested::Invalid(why)) => refused(svc, req, "email", why, 400).await,
        Ok(Requested::Locked(secs)) => refused(svc, req, "email", &locked_message(secs), 429)
            .await
            .header("Retry-After", secs.to_string()),
        Err(f) => error_page(&f),
    }
}

/// `POST /account/revoke`: one application's consent and grants.
pub async fn revoke<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, user) = match posted(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    match account::revoke_application(svc, &user.id, field(&form, "client_id")).await {
        Ok(_) => back_with("revoked"),
        Err(f) => error_page(&f),
    }
}

/// `POST /account/signout`: every session and refresh token of the user, this one too.
pub async fn sign_out_everywhere<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (_, user) = match posted(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    match reset::sign_out_everywhere(svc, &user.id).await {
        Ok(()) => notice(
            200,
            "You are signed out everywhere",
            &["Every session and refresh token of your account has ended."],
            &[("Sign in again", account::PATH)],
        )
        .header("Set-Cookie", clear_cookie(req, SESSION_COOKIE)),
        Err(f) => error_page(&f),
    }
}

/// `GET /account/email/confirm?token=…`: the mailed link's page. Opening it changes nothing.
pub async fn email_confirm_page<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = match req.query_params() {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let token = field(&params, "token");
    let (link, _) = match account::pending_email_change(svc, token).await {
        Ok(Some(found)) => found,
        Ok(None) => return expired(),
        Err(f) => return error_page(&f),
    };
    let (csrf, cookie) = match new_csrf(req, svc.rng) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let intro = format!("Use {} as your account's address from now on.", link.email);
    let page = forms::form(&Form {
        title: "Confirm your new address",
        intro: &intro,
        app_name: None,
        brand: Brand::default(),
        error: None,
        action: "/account/email/confirm",
        hidden: &[("csrf_token", csrf.expose()), ("token", token)],
        username: None,
        inputs: &[] as &[Input],
        button: "Use this address",
        links: &[],
    });
    Reply::html(200, page).header("Set-Cookie", cookie)
}

fn expired() -> Reply {
    notice(
        400,
        "Link expired",
        &["This link has expired or has already been used. Ask for a new one on your account page."],
        &[("Your account", account::PATH)],
    )
}

/// `POST /account/email/confirm`.
pub async fn email_confirm<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let form = match checked_form(req) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    match account::confirm_email_change(svc, field(&form, "token")).await {
        Ok(EmailChanged::Changed) => notice(
            200,
            "Your address is changed",
            &["Sign in with your new address from now on."],
            &[("Your account", account::PATH)],
        ),
        Ok(EmailChanged::Taken) => notice(
            409,
            "That address is taken",
            &["Another account uses this address now. Your address has not changed."],
            &[("Your account", account::PATH)],
        ),
        Ok(EmailChanged::Expired) => expired(),
        Err(f) => error_page(&f),
    }
}

//! HTTP, as plain data: a `Request` in, a `Reply` out, one file per surface. Each surface
//! only extracts what the protocol needs, calls `oidc`, and renders; `router` is the whole
//! routing table. Nothing here touches the Workers runtime: that is the adapter's
//! (src/wasm.rs), so every route is tested natively (`router`'s tests).

mod account;
mod authorize;
pub mod cookies;
pub mod cors;
mod dashboard;
mod discovery;
mod forms;
mod logout;
mod management;
pub mod pages;
mod registration;
pub mod reply;
pub mod request;
mod router;
mod selfservice;
#[cfg(test)]
mod tests;
mod token;
mod userinfo;

pub use reply::Reply;
pub use request::{Body, Method, Request};
pub use router::route;

use crate::crypto::{ct_eq, CsrfToken};
use crate::error::{Failure, OAuthError};
use crate::oidc::params::Params;
use crate::runtime::Random;

/// Bodies larger than this are refused before parsing: no OAuth request comes close.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const SESSION_COOKIE: &str = "oidc_session";
const CSRF_COOKIE: &str = "oidc_csrf";
const CSRF_TTL_SECS: i64 = 3600;
const CSRF_FAILED: &str =
    "the form expired or did not come from this site; return to the application and start again";

/// The failure of a method a resource does not take (the JSON error, without the 405).
fn wrong_method(allowed: &str) -> Failure {
    Failure::invalid_request(format!("method not allowed; use {allowed}"))
}

pub fn method_not_allowed(allowed: &'static str) -> Reply {
    let mut r = Reply::error(&wrong_method(allowed)).header("Allow", allowed);
    r.status = 405;
    r
}

pub fn not_found() -> Reply {
    Reply::error(&Failure::new(OAuthError::NotFound, "no such endpoint"))
}

/// An HTML error page: never a redirect (the target may not be trusted).
pub fn error_page(f: &Failure) -> Reply {
    error_page_linking(f, None)
}

/// An error page with a link back (`(application name, URL)`): a 400, or the failure's
/// own status when the fault is ours or the person may not go on (403, an application's
/// access rules).
fn error_page_linking(f: &Failure, back_to: Option<(&str, &str)>) -> Reply {
    let own_status = f.status() >= 500 || f.error == crate::error::OAuthError::AccessDenied;
    let status = if own_status { f.status() } else { 400 };
    Reply::html(
        status,
        pages::error(f.error.as_str(), &f.description, back_to),
    )
}

fn cookie_name(req: &Request, base: &str) -> String {
    cookies::name(base, req.https())
}

fn cookie<'a>(req: &'a Request, base: &str) -> Option<&'a str> {
    cookies::get(req.header("Cookie"), &cookie_name(req, base))
}

/// The CSRF token for a form, and the cookie that pairs with it (double submit). A token the
/// browser holds already is kept (its lifetime renewed): a page opened in another tab (a
/// mailed link, a second login page) must not spoil the forms of the pages still open.
fn new_csrf(req: &Request, rng: &impl Random) -> Result<(CsrfToken, String), Failure> {
    let held = cookie(req, CSRF_COOKIE).filter(|c| {
        c.len() == 43
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let csrf = match held {
        Some(token) => CsrfToken::new(token),
        None => CsrfToken::generate(rng)?,
    };
    let cookie = cookies::set(
        &cookie_name(req, CSRF_COOKIE),
        csrf.expose(),
        CSRF_TTL_SECS,
        req.https(),
    );
    Ok((csrf, cookie))
}

/// The form carried a CSRF token equal to its cookie.
fn csrf_ok(req: &Request, form: &Params) -> bool {
    let from_cookie = cookie(req, CSRF_COOKIE);
    let from_form = form.get("csrf_token").ok().flatten();
    matches!((from_cookie, from_form), (Some(c), Some(f)) if ct_eq(c.as_bytes(), f.as_bytes()))
}

fn clear_cookie(req: &Request, base: &str) -> String {
    cookies::set(&cookie_name(req, base), "", 0, req.https())
}

/// A JSON answer that must not be cached (RFC 6749 §5.1).
fn no_store(status: u16, body: &serde_json::Value) -> Reply {
    Reply::json(status, body).header("Cache-Control", "no-store")
}

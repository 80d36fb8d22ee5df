//! `/authorize`, `/login` and `/consent`: the authorization request and the provider's own
//! login and consent pages (OpenID Connect Core §3.1.2). The sequence itself is
//! `oidc::interaction`'s; this file reads forms and cookies and renders pages.

use super::{
    clear_cookie, cookie, cookie_name, cookies, csrf_ok, error_page, error_page_linking, new_csrf,
    pages, Method, Reply, Request, CSRF_COOKIE, CSRF_FAILED, SESSION_COOKIE,
};
use crate::error::Failure;
use crate::model::Session;
use crate::oidc::authorize::{self, AuthorizeError, Callback, ResponseMode, ValidRequest};
use crate::oidc::consent;
use crate::oidc::interaction::{self, SignedIn, Step};
use crate::oidc::login::{LoginError, SESSION_TTL_SECS};
use crate::oidc::params::Params;
use crate::oidc::services::{Deps, Services};
use crate::oidc::signup;

fn authorize_error(issuer: &str, e: AuthorizeError) -> Reply {
    match e {
        AuthorizeError::Page { failure, back_to } => error_page_linking(
            &failure,
            back_to
                .as_ref()
                .map(|l| (l.app_name.as_str(), l.url.as_str())),
        ),
        AuthorizeError::Redirect(r) => deliver(&authorize::error_callback(&r, issuer), false),
    }
}

/// An answer for the client: a redirect (303 after a POST, RFC 9700 §4.12), or for
/// `response_mode=form_post` a page whose form posts it to the redirect URI.
fn deliver(callback: &Callback, after_post: bool) -> Reply {
    match callback.mode {
        ResponseMode::Query => Reply::redirect(callback.location(), after_post),
        ResponseMode::FormPost => Reply::html_with_script(200, pages::form_post(callback)),
    }
}

fn login_page<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    email: &str,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let (csrf, cookie) = match new_csrf(req, svc.rng) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let auth_request = valid.params.to_query();
    let carried: String = url::form_urlencoded::byte_serialize(auth_request.as_bytes()).collect();
    let reset_url = format!("/reset?auth_request={carried}");
    let signup_url = format!("/signup?auth_request={carried}");
    let page = pages::login(&pages::LoginPage {
        app_name: &valid.app.name,
        brand: pages::Brand::of(&valid.app),
        csrf_token: csrf.expose(),
        auth_request: &auth_request,
        email,
        error,
        reset_url: Some(reset_url.as_str()).filter(|_| svc.settings.mail_enabled),
        signup_url: Some(signup_url.as_str()).filter(|_| signup::offered(svc, &valid.app)),
    });
    branded(Reply::html(status, page), &valid.app).header("Set-Cookie", cookie)
}

/// The page's CSP lets the application's logo in (its origin only).
pub(super) fn branded(reply: Reply, app: &crate::model::Application) -> Reply {
    let origin = app
        .logo_uri
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    match origin.map(|u| u.origin().ascii_serialization()) {
        Some(o) if o.starts_with("https://") => reply.allow_images_from(&o),
        _ => reply,
    }
}

fn consent_page<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    session: &Session,
) -> Reply {
    let (csrf, cookie) = match new_csrf(req, svc.rng) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let host = url::Url::parse(&valid.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| valid.redirect_uri.clone());
    let page = pages::consent(&pages::ConsentPage {
        app_name: &valid.app.name,
        brand: pages::Brand::of(&valid.app),
        redirect_host: &host,
        permissions: &consent::describe(&valid.scope),
        csrf_token: csrf.expose(),
        auth_request: &valid.params.to_query(),
        user_email: &session.claims.email,
    });
    branded(Reply::html(200, page), &valid.app).header("Set-Cookie", cookie)
}

/// Renders a step of the sequence. `after_post` answers a code with 303 (RFC 9700 §4.12);
/// error redirects are 302.
fn render<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    session: Option<&Session>,
    step: Result<Step, AuthorizeError>,
    after_post: bool,
) -> Reply {
    match (step, session) {
        (Ok(Step::Code(callback)), _) => deliver(&callback, after_post),
        (Ok(Step::ShowConsent), Some(s)) => consent_page(svc, req, valid, s),
        (Ok(Step::ShowLogin), _) => {
            let hint = valid.login_hint.clone().unwrap_or_default();
            login_page(svc, req, valid, &hint, None, 200)
        }
        (Ok(Step::ShowConsent), None) => error_page(&Failure::server("consent without a session")),
        (Err(e), _) => authorize_error(svc.issuer, e),
    }
}

/// `GET /authorize` (query) or `POST /authorize` (form), OpenID Connect Core §3.1.2.1.
pub async fn authorize<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let params = if req.method == Method::Post {
        req.form_params()
    } else {
        req.query_params()
    };
    let params = match params {
        Ok(p) => p,
        Err(f) => return error_page(&f),
    };
    let mut valid = match interaction::validate(svc, params).await {
        Ok(v) => v,
        Err(e) => return authorize_error(svc.issuer, e),
    };
    valid.country = req.country.clone();
    let session = match interaction::session(svc, cookie(req, SESSION_COOKIE)).await {
        Ok(s) => s,
        Err(f) => return authorize_error(svc.issuer, valid.error(f)),
    };
    let step = interaction::authorize(svc, &valid, session.as_ref()).await;
    render(svc, req, &valid, session.as_ref(), step, false)
}

/// The common start of the login and consent forms: the form, its CSRF token checked, and
/// the authorization request it carries validated afresh.
pub(super) async fn posted_form<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
) -> Result<(Params, ValidRequest), Reply> {
    let form = req.form_params().map_err(|f| error_page(&f))?;
    if !csrf_ok(req, &form) {
        return Err(error_page(&Failure::invalid_request(CSRF_FAILED)));
    }
    let mut valid = interaction::carried_request(svc, &form)
        .await
        .map_err(|e| authorize_error(svc.issuer, e))?;
    valid.country = req.country.clone();
    Ok((form, valid))
}

/// `POST /login`: the login form. Checks CSRF, re-validates the carried authorization
/// request, checks the password, starts a session, then asks for consent or finishes.
pub async fn login<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, valid) = match posted_form(svc, req).await {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let (email, password) = match (form.get("email"), form.get("password")) {
        (Ok(e), Ok(p)) => (e.unwrap_or(""), p.unwrap_or("")),
        (Err(f), _) | (_, Err(f)) => return error_page(&f),
    };
    let signed_in =
        match interaction::sign_in(svc, &valid, email, password, req.client_ip.as_deref()).await {
            Ok(s) => s,
            Err(e) => return login_refused(svc, req, &valid, email, e),
        };
    signed_in_reply(svc, req, &valid, &signed_in).await
}

/// The `Set-Cookie` value of a new login session.
pub(super) fn session_cookie(req: &Request, id: &crate::crypto::SessionId) -> String {
    cookies::set(
        &cookie_name(req, SESSION_COOKIE),
        id.expose(),
        SESSION_TTL_SECS,
        req.https(),
    )
}

/// After a sign-in (the login form, a finished sign-up): the session's cookie with the
/// consent page or the code.
pub(super) async fn signed_in_reply<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    signed_in: &SignedIn,
) -> Reply {
    let SignedIn { id, session } = signed_in;
    let session_cookie = session_cookie(req, id);
    match interaction::after_sign_in(svc, valid, signed_in).await {
        // The consent page sets a fresh CSRF cookie of its own.
        Ok(Step::ShowConsent) => {
            consent_page(svc, req, valid, session).header("Set-Cookie", session_cookie)
        }
        Ok(Step::Code(callback)) => deliver(&callback, true)
            .header("Set-Cookie", session_cookie)
            .header("Set-Cookie", clear_cookie(req, CSRF_COOKIE)),
        // No code was issued: `after_sign_in` deleted the session, so no cookie for it.
        step => render(svc, req, valid, Some(session), step, true),
    }
}

fn login_refused<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    valid: &ValidRequest,
    email: &str,
    e: LoginError,
) -> Reply {
    match e {
        LoginError::InvalidCredentials(..) => login_page(
            svc,
            req,
            valid,
            email,
            Some("Invalid email or password."),
            401,
        ),
        LoginError::Locked(secs, _) => {
            let minutes = (secs + 59) / 60;
            let message = format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            login_page(svc, req, valid, email, Some(&message), 429)
                .header("Retry-After", secs.to_string())
        }
        LoginError::Disabled(_) => {
            let message = "This account is disabled. Ask an administrator to enable it.";
            login_page(svc, req, valid, email, Some(message), 403)
        }
        LoginError::Failed(f) => error_page(&f),
    }
}

/// `POST /consent`: the consent form's decision (OpenID Connect Core §3.1.2.4).
pub async fn consent<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (form, valid) = match posted_form(svc, req).await {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let session = match interaction::session(svc, cookie(req, SESSION_COOKIE)).await {
        Ok(Some(s)) => s,
        // The session ended while the page was open: sign in again.
        Ok(None) => return login_page(svc, req, &valid, "", None, 200),
        Err(f) => return authorize_error(svc.issuer, valid.error(f)),
    };
    let allow = match form.get("decision") {
        Ok(Some("allow")) => true,
        Ok(Some("deny")) => false,
        Ok(_) => return error_page(&Failure::invalid_request("decision must be allow or deny")),
        Err(f) => return error_page(&f),
    };
    match interaction::decide_consent(svc, &valid, &session, allow).await {
        // The user's own "deny" answers the POST with 303, like a code.
        Err(AuthorizeError::Redirect(r)) if !allow => {
            deliver(&authorize::error_callback(&r, svc.issuer), true)
        }
        step => render(svc, req, &valid, Some(&session), step, true),
    }
}

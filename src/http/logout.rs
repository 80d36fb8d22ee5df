//! `/logout`: OpenID Connect RP-Initiated Logout 1.0. Every error is a page.

use super::{
    clear_cookie, cookie, csrf_ok, error_page, new_csrf, pages, Method, Reply, Request,
    CSRF_FAILED, SESSION_COOKIE,
};
use crate::error::Failure;
use crate::oidc::interaction;
use crate::oidc::logout;
use crate::oidc::params::Params;
use crate::oidc::services::{Deps, Services};

/// The logout parameters, and whether they come from the confirmation form (a POST
/// carrying `logout_request`, CSRF-checked) rather than from the relying party.
fn parameters(req: &Request) -> Result<(Params, bool), Reply> {
    if req.method != Method::Post {
        return req
            .query_params()
            .map(|p| (p, false))
            .map_err(|f| error_page(&f));
    }
    let form = req.form_params().map_err(|f| error_page(&f))?;
    let carried = form.get("logout_request").map_err(|f| error_page(&f))?;
    // The form's button (`confirm`) marks it too: a bare logout carries no parameters, and
    // an empty `logout_request` counts as omitted (RFC 6749 §3.1).
    let from_form = carried.is_some() || form.get("confirm").ok().flatten().is_some();
    if !from_form {
        return Ok((form, false));
    }
    if !csrf_ok(req, &form) {
        return Err(error_page(&Failure::invalid_request(CSRF_FAILED)));
    }
    Ok((Params::parse(carried.unwrap_or("")), true))
}

/// `GET|POST /logout`.
pub async fn logout<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (params, confirmed) = match parameters(req) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let request = match logout::validate(svc, &params).await {
        Ok(r) => r,
        Err(f) => return error_page(&f),
    };
    let session_id = cookie(req, SESSION_COOKIE);
    let session = match interaction::session(svc, session_id).await {
        Ok(s) => s,
        Err(f) => return error_page(&f),
    };
    if !confirmed && logout::needs_confirmation(&request, session.as_ref()) {
        let (csrf, cookie) = match new_csrf(req, svc.rng) {
            Ok(c) => c,
            Err(f) => return error_page(&f),
        };
        let page = pages::logout_confirm(
            request.app.as_ref().map(|a| a.name.as_str()),
            csrf.expose(),
            &params.to_query(),
        );
        return Reply::html(200, page).header("Set-Cookie", cookie);
    }
    let cleared = clear_cookie(req, SESSION_COOKIE);
    if let Err(f) = logout::end_session(svc, session_id, &request, session.as_ref()).await {
        return error_page(&f).header("Set-Cookie", cleared);
    }
    let reply = match logout::redirect_after(&request) {
        Some(location) => Reply::redirect(location, req.method == Method::Post),
        None => {
            let back = request
                .app
                .as_ref()
                .and_then(|a| a.home_url.as_deref().map(|u| (a.name.as_str(), u)));
            Reply::html(200, pages::signed_out(back))
        }
    };
    reply.header("Set-Cookie", cleared)
}

//! `/token` (RFC 6749 §3.2), `/revoke` (RFC 7009) and `/introspect` (RFC 7662): the
//! client-authenticated endpoints, and the CORS preflight of those a browser may call.

use serde_json::Value;

use super::{cors, no_store, Reply, Request};
use crate::error::Failure;
use crate::model::Application;
use crate::oidc::services::{Deps, Services};
use crate::oidc::{client_auth, revocation, token};

/// `POST /token`, RFC 6749 §3.2.
pub async fn token<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (app, result) = match req.form_params() {
        Ok(params) => {
            // A same-origin request (the dashboard's) is no CORS request.
            let origin = req.header("Origin").filter(|o| *o != req.origin);
            let out = token::handle(svc, &params, req.header("Authorization"), origin).await;
            (out.app, out.result)
        }
        Err(f) => (None, Err(f)),
    };
    let reply = match result {
        Ok(t) => no_store(200, &serde_json::to_value(t).unwrap_or(Value::Null))
            .header("Pragma", "no-cache"),
        Err(f) => Reply::error(&f),
    };
    with_cors(svc, req, app.as_ref(), reply).await
}

/// The actual response's CORS headers, decided by `cors`.
pub(super) async fn with_cors<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    app: Option<&Application>,
    reply: Reply,
) -> Reply {
    let origin = req.header("Origin");
    let allowed = cors::allowed(svc, app, origin).await;
    cors::actual(reply, origin, allowed)
}

/// CORS preflight for the token, revocation and userinfo endpoints.
pub async fn preflight<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    methods: &'static str,
) -> Reply {
    let origin = req.header("Origin");
    let allowed = match origin {
        Some(o) => cors::any_application_allows(svc, o).await,
        None => false,
    };
    cors::preflight(origin, allowed, methods)
}

/// Reads a form and authenticates the client as at the token endpoint.
async fn authenticated<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
) -> Result<(crate::oidc::params::Params, Application), Failure> {
    let params = req.form_params()?;
    let app = client_auth::authenticate_request(svc, &params, req.header("Authorization")).await?;
    Ok((params, app))
}

/// `POST /revoke`, RFC 7009.
pub async fn revoke<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (app, result) = match authenticated(svc, req).await {
        Ok((params, app)) => {
            let r = revocation::revoke(svc, &app, &params).await;
            (Some(app), r)
        }
        Err(f) => (None, Err(f)),
    };
    let reply = match result {
        Ok(()) => Reply::new(200).header("Cache-Control", "no-store"),
        Err(f) => Reply::error(&f),
    };
    with_cors(svc, req, app.as_ref(), reply).await
}

/// `POST /introspect`, RFC 7662. Server to server: no CORS.
pub async fn introspect<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let result = match authenticated(svc, req).await {
        Ok((params, app)) => revocation::introspect(svc, &app, &params).await,
        Err(f) => Err(f),
    };
    match result {
        Ok(body) => no_store(200, &body),
        Err(f) => Reply::error(&f),
    }
}

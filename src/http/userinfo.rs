//! `/userinfo`, OpenID Connect Core §5.3, with bearer tokens (RFC 6750).

use super::token::with_cors;
use super::{no_store, Method, Reply, Request};
use crate::error::Failure;
use crate::oidc::params::Params;
use crate::oidc::services::{Deps, Services};
use crate::oidc::userinfo;

/// `GET|POST /userinfo`. Every error carries the Bearer challenge (RFC 6750 §3).
pub async fn userinfo<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let (app, result, signed) = match bearer(req) {
        Ok(token) => {
            let out = userinfo::handle(svc, &token).await;
            (out.app, out.result, out.signed)
        }
        Err(f) => (None, Err(f), None),
    };
    let reply = match (result, signed) {
        (Ok(_), Some(jwt)) => Reply::new(200)
            .header("Content-Type", "application/jwt")
            .header("Cache-Control", "no-store")
            .with_body(jwt),
        (Ok(body), None) => no_store(200, &body),
        (Err(f), _) => Reply::resource_error(&f),
    };
    with_cors(svc, req, app.as_ref(), reply).await
}

/// The token from the header (RFC 6750 §2.1) or a form body (§2.2).
fn bearer(req: &Request) -> Result<String, Failure> {
    let form =
        if req.method == Method::Post && req.media_type() == "application/x-www-form-urlencoded" {
            req.form_params()?
        } else {
            Params::default()
        };
    userinfo::bearer_token(req.header("Authorization"), form.get("access_token")?)
        .map(str::to_string)
}

//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and
//! `/.well-known/jwks.json` (RFC 7517 §5): public, cacheable, readable from any origin.

use super::{cors, Reply};
use crate::oidc::discovery;
use crate::oidc::jwt::Signer;
use crate::oidc::services::{Deps, Services};

thread_local! {
    /// The serialized discovery document for (issuer, registration on): it changes only
    /// with the deployment's settings, so an isolate builds it once.
    static DOCUMENT: std::cell::RefCell<Option<(String, bool, String)>> =
        const { std::cell::RefCell::new(None) };
}

pub fn discovery<D: Deps>(svc: &Services<'_, D>) -> Reply {
    let registration = svc.settings.registration_enabled;
    let cached = DOCUMENT.with(|d| {
        d.borrow()
            .as_ref()
            .filter(|(iss, reg, _)| iss == svc.issuer && *reg == registration)
            .map(|(_, _, body)| body.clone())
    });
    let body = cached.unwrap_or_else(|| {
        let body = discovery::document(svc.issuer, registration).to_string();
        DOCUMENT
            .with(|d| *d.borrow_mut() = Some((svc.issuer.to_string(), registration, body.clone())));
        body
    });
    public_document(body)
}

/// Discovery and JWKS: public, cacheable by anyone, readable from any origin.
fn public_document(body: String) -> Reply {
    cors::public(Reply::json_text(200, body)).header("Cache-Control", "public, max-age=300")
}

pub async fn jwks<D: Deps>(svc: &Services<'_, D>) -> Reply {
    match svc.signer.jwks().await {
        Ok(body) => public_document(body),
        Err(f) => cors::public(Reply::error(&f)),
    }
}

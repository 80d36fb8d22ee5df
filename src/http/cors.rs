//! Per-application CORS (Fetch standard, CORS protocol). An origin gets
//! `Access-Control-Allow-Origin` only when an application allows it; everyone else gets no
//! CORS headers at all, so the browser withholds the response.
//!
//! This module is the one owner of that decision: which origin is allowed (the identified
//! application's, or any application's for a preflight, which carries no client id), the
//! per-isolate cache of those answers, and the headers.

use std::cell::RefCell;

use super::reply::Reply;
use crate::model::Application;
use crate::oidc::services::{Deps, Services};
use crate::runtime::Clock;
use crate::store::cache::{TtlCache, APP_TTL_SECS};
use crate::store::{AppQuery, Store, StoreResult};

thread_local! {
    /// "Does any application allow this origin?" per origin, for `APP_TTL_SECS`. Bounded
    /// (see `TtlCache`), so a flood of made-up `Origin` headers cannot grow the isolate.
    static ORIGINS: RefCell<TtlCache<bool>> = RefCell::new(TtlCache::new(APP_TTL_SECS));
}

/// Forget the cached answers: an application was written through this isolate.
pub fn applications_changed() {
    ORIGINS.with(|c| c.borrow_mut().clear());
}

/// Whether `origin` may read an answer about `app` (the application the request was
/// identified as). When the request failed before an application was identified (bad
/// credentials, bad token) the preflight's rule applies, so the allowed page can read the
/// error.
pub async fn allowed<D: Deps>(
    svc: &Services<'_, D>,
    app: Option<&Application>,
    origin: Option<&str>,
) -> bool {
    match (app, origin) {
        (_, None) => false,
        (Some(app), Some(o)) => app.allows_origin(o),
        (None, Some(o)) => any_application_allows(svc, o).await,
    }
}

/// A preflight carries no client credentials, so it is allowed when any application allows
/// the origin; the actual response then answers for the one application involved. A
/// storage failure answers no.
pub async fn any_application_allows<D: Deps>(svc: &Services<'_, D>, origin: &str) -> bool {
    let now = svc.clock.now();
    if let Some(allowed) = ORIGINS.with(|c| c.borrow().get(origin, now)) {
        return allowed;
    }
    match scan(svc.store, origin).await {
        Ok(allowed) => {
            ORIGINS.with(|c| c.borrow_mut().put(origin, allowed, now));
            allowed
        }
        Err(_) => false,
    }
}

/// Pages through every application until one allows `origin`.
async fn scan(store: &impl Store, origin: &str) -> StoreResult<bool> {
    let mut query = AppQuery {
        limit: 200,
        ..AppQuery::default()
    };
    loop {
        let page = store.list_applications(&query).await?;
        if page.iter().any(|a| a.allows_origin(origin)) {
            return Ok(true);
        }
        match page.last() {
            Some(last) if page.len() == query.limit => {
                query.after = Some((last.created_at, last.client_id.clone()))
            }
            _ => return Ok(false),
        }
    }
}

/// Headers a browser may send cross-origin to the token and userinfo endpoints.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// How long a browser may cache a preflight answer.
const MAX_AGE: &str = "600";

/// Decorates an actual (non-preflight) response.
pub fn actual(reply: Reply, origin: Option<&str>, allowed: bool) -> Reply {
    // The answer depends on Origin, so caches must key on it.
    let reply = reply.header("Vary", "Origin");
    match origin {
        Some(o) if allowed => reply
            .header("Access-Control-Allow-Origin", o)
            .header("Access-Control-Expose-Headers", "WWW-Authenticate"),
        _ => reply,
    }
}

/// Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`).
pub fn preflight(origin: Option<&str>, allowed: bool, methods: &'static str) -> Reply {
    let reply = Reply::new(204).header("Vary", "Origin");
    match origin {
        Some(o) if allowed => reply
            .header("Access-Control-Allow-Origin", o)
            .header("Access-Control-Allow-Methods", methods)
            .header("Access-Control-Allow-Headers", ALLOW_HEADERS)
            .header("Access-Control-Max-Age", MAX_AGE),
        _ => reply,
    }
}

/// Discovery and JWKS are public documents: any origin may read them.
pub fn public(reply: Reply) -> Reply {
    reply.header("Access-Control-Allow-Origin", "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_origins_get_headers() {
        let r = actual(Reply::new(200), Some("https://a.example"), true);
        assert_eq!(
            r.get_header("Access-Control-Allow-Origin"),
            Some("https://a.example")
        );
        let r = actual(Reply::new(200), Some("https://evil.example"), false);
        assert_eq!(r.get_header("Access-Control-Allow-Origin"), None);
        assert_eq!(r.get_header("Vary"), Some("Origin"));
        let p = preflight(Some("https://evil.example"), false, "POST");
        assert_eq!(p.status, 204);
        assert!(p.get_header("Access-Control-Allow-Methods").is_none());
        let p = preflight(Some("https://a.example"), true, "POST");
        assert_eq!(p.get_header("Access-Control-Allow-Methods"), Some("POST"));
    }
}

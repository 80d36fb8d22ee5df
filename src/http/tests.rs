//! The routing table driven natively, as axum's examples test an app with `oneshot`: every
//! route of `route` against the in-memory stores, checking status, headers (CORS,
//! `Cache-Control`, `Allow`, `WWW-Authenticate`) and error bodies.

use futures_executor::block_on;
use serde_json::{json, Value};

use super::{route, Method, Reply, Request};
use crate::crypto::password::hash_password;
use crate::crypto::AdminToken;
use crate::model::{AppType, User};
use crate::oidc::services::testing::{Fakes, ISSUER};
use crate::store::memory::MemoryStore;
use crate::store::Store;

const ADMIN: &str = "the-admin-token";
const NOW: i64 = 1_700_000_000;

/// The provider with one SPA (`app1`, redirect `https://app.example/cb?tenant=1`, origin
/// `https://app.example`) and one user, `ada@example.com` / `correct horse`.
fn world() -> Fakes {
    let store = MemoryStore::default();
    let mut app = crate::oidc::testing::app(AppType::Spa);
    app.allowed_origins = vec!["https://app.example".into()];
    app.first_party = true;
    store.apps.borrow_mut().push(app);
    let mut f = Fakes::new(store, NOW);
    f.settings.admin_token = Some(AdminToken::new(ADMIN));
    let hash = block_on(hash_password(&f.kdf, &f.rng, "correct horse", 10_000)).unwrap();
    let user = User {
        id: "u1".into(),
        email: "ada@example.com".into(),
        name: Some("Ada".into()),
        email_verified: true,
        password_hash: hash,
        created_at: 1,
        roles: vec![],
        disabled_at: None,
    };
    block_on(f.store.insert_user(&user)).unwrap();
    f
}

fn call(f: &Fakes, req: Request) -> Reply {
    block_on(route(&f.services(), &req))
}

fn get(path: &str) -> Request {
    Request::new(Method::Get, ISSUER, path)
}

fn body_json(r: &Reply) -> Value {
    serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
}

#[test]
fn discovery_is_public_and_cacheable_and_only_answers_get() {
    let f = world();
    let r = call(&f, get("/.well-known/openid-configuration"));
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(r.get_header("Cache-Control"), Some("public, max-age=300"));
    assert_eq!(body_json(&r)["issuer"], ISSUER);
    let r = call(
        &f,
        Request::new(Method::Post, ISSUER, "/.well-known/openid-configuration"),
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.get_header("Allow"), Some("GET"));
    assert_eq!(body_json(&r)["error"], "invalid_request");
}

#[test]
fn unknown_paths_are_not_found() {
    let f = world();
    for path in ["/", "/nope", "/api/v1", "/register", "/register/x"] {
        let r = call(&f, get(path));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(body_json(&r)["error"], "not_found", "{path}");
    }
    let _ = json!({});
}

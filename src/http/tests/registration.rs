//! `/register` (RFC 7591) and `/register/{client_id}` (RFC 7592).

use serde_json::json;

use super::*;
use crate::crypto::InitialAccessToken;
use crate::oidc::audit::Event;

fn open_registration() -> Fakes {
    let mut f = world();
    f.settings.registration_enabled = true;
    f
}

fn metadata() -> Value {
    json!({
        "client_name": "Relying Party",
        "redirect_uris": ["https://rp.example/cb"],
        "client_uri": "https://rp.example/",
    })
}

fn register(f: &Fakes, body: &Value) -> Reply {
    call(f, Request::json(Method::Post, ISSUER, "/register", body))
}

fn with_bearer(req: Request, token: &str) -> Request {
    req.with_header("Authorization", &format!("Bearer {token}"))
}

#[test]
fn registration_is_absent_unless_enabled() {
    let f = world();
    let r = register(&f, &metadata());
    assert_error(&r, 404, "not_found", "no such endpoint");
    for method in [Method::Get, Method::Put, Method::Delete] {
        let r = call(&f, Request::new(method, ISSUER, "/register/x"));
        assert_error(&r, 404, "not_found", "no such endpoint");
    }
    assert!(f.store.apps.borrow().len() == 1, "nothing was registered");
}

#[test]
fn a_client_registers_reads_updates_and_deletes_itself() {
    let f = open_registration();
    let r = register(&f, &metadata());
    assert_eq!(r.status, 201, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(r.get_header("Pragma"), Some("no-cache"));
    let info = body_json(&r);
    let id = info["client_id"].as_str().unwrap().to_string();
    let token = info["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(info["client_name"], "Relying Party");
    assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
    assert!(info["client_secret"].as_str().unwrap().len() >= 43);
    assert_eq!(
        info["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    {
        let apps = f.store.apps.borrow();
        let app = apps.iter().find(|a| a.client_id == id).unwrap();
        assert!(!app.first_party, "registered clients are third-party");
    }
    let path = format!("/register/{id}");

    let r = call(&f, with_bearer(get(&path), &token));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(body_json(&r)["client_id"], id.as_str());
    assert!(body_json(&r).get("client_secret").is_none());

    let mut update = metadata();
    update["client_id"] = json!(id);
    update["client_name"] = json!("Renamed");
    let r = call(
        &f,
        with_bearer(Request::json(Method::Put, ISSUER, &path, &update), &token),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r)["client_name"], "Renamed");

    let r = call(
        &f,
        with_bearer(Request::new(Method::Delete, ISSUER, &path), &token),
    );
    assert_eq!(r.status, 204, "{}", body_text(&r));
    assert_eq!(r.body, None);
    assert!(f.store.apps.borrow().iter().all(|a| a.client_id != id));
    let r = call(&f, with_bearer(get(&path), &token));
    assert_error(&r, 401, "invalid_token", "");

    let entries = f.audit.take();
    let events: Vec<Event> = entries.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            Event::ApplicationCreated,
            Event::ApplicationUpdated,
            Event::ApplicationDeleted
        ]
    );
    for e in &entries {
        assert_eq!(e.client_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.detail["by"], "registration");
    }
}

#[test]
fn the_registration_access_token_is_required_and_checked() {
    let f = open_registration();
    let info = body_json(&register(&f, &metadata()));
    let id = info["client_id"].as_str().unwrap();
    let path = format!("/register/{id}");
    // A wrong token, and a right token for another client id, are the same invalid_token.
    for (path, token) in [
        (path.clone(), "wrong"),
        (
            "/register/app1".to_string(),
            info["registration_access_token"].as_str().unwrap(),
        ),
    ] {
        let r = call(&f, with_bearer(get(&path), token));
        assert_error(&r, 401, "invalid_token", "not valid for this client");
        assert!(r
            .get_header("WWW-Authenticate")
            .unwrap()
            .starts_with(r#"Bearer error="invalid_token""#));
    }
    let r = call(&f, get(&path));
    assert_error(&r, 401, "invalid_token", "");
    assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
    // A method RFC 7592 does not define.
    let r = call(
        &f,
        with_bearer(
            Request::new(Method::Patch, ISSUER, &path),
            info["registration_access_token"].as_str().unwrap(),
        ),
    );
    assert_error(&r, 400, "invalid_request", "method not allowed");
}

#[test]
fn registration_refuses_bad_requests_with_rfc_7591_codes() {
    let f = open_registration();
    let r = call(
        &f,
        Request::new(Method::Post, ISSUER, "/register")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body("client_name=x"),
    );
    assert_error(&r, 400, "invalid_client_metadata", "application/json");
    let r = call(
        &f,
        Request::new(Method::Post, ISSUER, "/register")
            .with_header("Content-Type", "application/json")
            .with_body("{not json"),
    );
    assert_error(&r, 400, "invalid_client_metadata", "not valid JSON");
    let r = register(&f, &json!({"client_name": "No redirect"}));
    assert_error(&r, 400, "invalid_redirect_uri", "at least one redirect URI");
    let r = register(
        &f,
        &json!({"redirect_uris": ["https://rp.example/cb"], "response_types": ["token"]}),
    );
    assert_error(&r, 400, "invalid_client_metadata", "code");
    let r = call(&f, get("/register"));
    assert_error(&r, 400, "invalid_request", "method not allowed; use POST");
    assert_eq!(f.store.apps.borrow().len(), 1, "nothing was registered");
}

#[test]
fn an_initial_access_token_gates_registration_when_set() {
    let mut f = open_registration();
    f.settings.registration_token = Some(InitialAccessToken::new("let-me-in"));
    let r = register(&f, &metadata());
    assert_error(&r, 401, "invalid_token", "");
    assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
    let r = call(
        &f,
        with_bearer(
            Request::json(Method::Post, ISSUER, "/register", &metadata()),
            "not-it",
        ),
    );
    assert_error(&r, 401, "invalid_token", "initial access token");
    let r = call(
        &f,
        with_bearer(
            Request::json(Method::Post, ISSUER, "/register", &metadata()),
            "let-me-in",
        ),
    );
    assert_eq!(r.status, 201, "{}", body_text(&r));
}

//! The dashboard's side: `/admin/config`, its own application, and its access tokens in
//! place of `ADMIN_TOKEN` at the management API.

use serde_json::json;

use super::*;
use crate::oidc::audit::Event;

const DASHBOARD: &str = "edge-oidc-admin";

#[test]
fn admin_config_creates_the_dashboard_application_once() {
    let f = world();
    let r = call(&f, get("/admin/config"));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(
        body_json(&r),
        json!({
            "issuer": ISSUER,
            "client_id": DASHBOARD,
            "redirect_uri": format!("{ISSUER}/admin/"),
            "post_logout_redirect_uri": format!("{ISSUER}/admin/"),
            "scope": "openid profile email admin",
        })
    );
    let app = block_on(f.store.application(DASHBOARD)).unwrap().unwrap();
    assert_eq!(app.redirect_uris, [format!("{ISSUER}/admin/")]);
    assert!(app.is_public() && app.first_party);
    assert_eq!(call(&f, get("/admin/config")).status, 200);
    assert_eq!(f.store.apps.borrow().len(), 2, "created once");
    for method in [Method::Post, Method::Put, Method::Delete] {
        assert_405(
            &call(&f, Request::new(method, ISSUER, "/admin/config")),
            "GET",
        );
    }
}

#[test]
fn the_dashboard_application_can_be_read_but_not_changed() {
    let f = world();
    assert_eq!(call(&f, get("/admin/config")).status, 200);
    let path = format!("/api/v1/applications/{DASHBOARD}");
    let before = block_on(f.store.application(DASHBOARD)).unwrap();
    let r = view(&f, &path);
    assert_eq!(r.status, 200);
    assert_eq!(body_json(&r)["client_id"], DASHBOARD);
    for req in [
        admin_json(Method::Patch, &path, &json!({"name": "Mine now"})),
        admin(Method::Delete, &path),
        admin(Method::Post, &format!("{path}/rotate-secret")),
    ] {
        let r = call(&f, req);
        assert_error(&r, 400, "invalid_request", "built into the provider");
    }
    assert_eq!(block_on(f.store.application(DASHBOARD)).unwrap(), before);
    assert!(f.audit.take().is_empty());
}

/// Signs in to the dashboard (`edge-oidc-admin`, scope `admin`) and returns the access
/// token.
fn dashboard_token(f: &Fakes) -> String {
    assert_eq!(call(f, get("/admin/config")).status, 200);
    let home = format!("{ISSUER}/admin/");
    let path = authorize_path(DASHBOARD, "")
        .replace(&enc(REDIRECT), &enc(&home))
        .replace("offline_access", "admin");
    let page = call(f, get(&path));
    assert_page(&page, 200);
    let login = PageForm::read(&page, "auth_request");
    let r = log_in_as_ada(f, &login);
    assert_eq!(r.status, 303, "{}", body_text(&r));
    let body = format!(
        "grant_type=authorization_code&client_id={DASHBOARD}&code={}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(&code_of(&r)),
        enc(&home)
    );
    let r = call(f, form("/token", &body));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    body_json(&r)["access_token"].as_str().unwrap().to_string()
}

#[test]
fn an_administrators_dashboard_token_acts_as_that_user() {
    let f = world();
    f.store.users.borrow_mut()[0].roles = vec!["admin".into()];
    let token = dashboard_token(&f);
    f.audit.take();
    let with_token = |req: Request| req.with_header("Authorization", &format!("Bearer {token}"));
    let r = call(&f, with_token(get("/api/v1/applications")));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let r = call(
        &f,
        with_token(Request::new(Method::Post, ISSUER, "/api/v1/keys/rotate")),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let entries = f.audit.take();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].event, Event::KeyRotated);
    assert_eq!(entries[0].detail["by"], "user:u1");

    // The role is read on every call: without it the same token is refused.
    f.store.users.borrow_mut()[0].roles.clear();
    let r = call(&f, with_token(get("/api/v1/applications")));
    assert_error(&r, 403, "insufficient_scope", "no longer an administrator");
    assert!(r
        .get_header("WWW-Authenticate")
        .unwrap()
        .starts_with(r#"Bearer error="insufficient_scope""#));
}

#[test]
fn a_dashboard_token_without_the_admin_scope_is_insufficient() {
    let f = world();
    // Ada is no administrator: the admin scope is left out of her token.
    let token = dashboard_token(&f);
    let r = call(
        &f,
        get("/api/v1/users").with_header("Authorization", &format!("Bearer {token}")),
    );
    assert_error(&r, 403, "insufficient_scope", "lacks the admin scope");
}

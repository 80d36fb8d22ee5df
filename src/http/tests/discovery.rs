//! Discovery, JWKS and paths that are not routes.

use super::*;

#[test]
fn discovery_is_public_and_cacheable_and_only_answers_get_and_head() {
    let f = world();
    let r = call(&f, get("/.well-known/openid-configuration"));
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(r.get_header("Cache-Control"), Some("public, max-age=300"));
    assert_eq!(r.get_header("Content-Type"), Some("application/json"));
    let doc = body_json(&r);
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/token"));
    assert!(doc.get("registration_endpoint").is_none());
    for method in [Method::Post, Method::Put, Method::Delete, Method::Options] {
        let r = call(
            &f,
            Request::new(method, ISSUER, "/.well-known/openid-configuration"),
        );
        assert_405(&r, "GET, HEAD");
    }
    let head = call(
        &f,
        Request::new(Method::Head, ISSUER, "/.well-known/openid-configuration"),
    );
    assert_eq!((head.status, head.body.as_deref()), (200, None));
    assert_eq!(head.get_header("Content-Type"), Some("application/json"));
}

#[test]
fn discovery_names_the_registration_endpoint_only_when_registration_is_on() {
    let mut f = world();
    f.settings.registration_enabled = true;
    let r = call(&f, get("/.well-known/openid-configuration"));
    assert_eq!(
        body_json(&r)["registration_endpoint"],
        format!("{ISSUER}/register")
    );
    // The per-isolate copy of the document follows the setting back.
    f.settings.registration_enabled = false;
    let r = call(&f, get("/.well-known/openid-configuration"));
    assert!(body_json(&r).get("registration_endpoint").is_none());
}

#[test]
fn jwks_is_public_and_cacheable_and_only_answers_get_and_head() {
    let f = world();
    let r = call(&f, get("/.well-known/jwks.json"));
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(r.get_header("Cache-Control"), Some("public, max-age=300"));
    let kids: Vec<String> = body_json(&r)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids, ["test-key-RS256", "test-key-ES256", "test-key-EdDSA"]);
    let r = call(&f, form("/.well-known/jwks.json", ""));
    assert_405(&r, "GET, HEAD");
    let head = call(
        &f,
        Request::new(Method::Head, ISSUER, "/.well-known/jwks.json"),
    );
    assert_eq!((head.status, head.body.as_deref()), (200, None));
}

#[test]
fn unknown_paths_are_not_found() {
    let f = world();
    for path in [
        "/",
        "/nope",
        "/api/v1",
        "/register",
        "/register/x",
        "/authorize/x",
    ] {
        let r = call(&f, get(path));
        assert_error(&r, 404, "not_found", "no such endpoint");
    }
}

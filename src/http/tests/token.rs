//! The client-facing JSON endpoints: `/token`, `/userinfo`, `/revoke`, `/introspect`, with
//! their CORS answers.

use super::*;
use crate::oidc::audit::Event;

fn bearer(req: Request, token: &str) -> Request {
    req.with_header("Authorization", &format!("Bearer {token}"))
}

fn preflight(path: &str, origin: Option<&str>) -> Request {
    let req = Request::new(Method::Options, ISSUER, path)
        .with_header("Access-Control-Request-Method", "POST");
    match origin {
        Some(o) => req.with_header("Origin", o),
        None => req,
    }
}

/// `Access-Control-Allow-Origin` for exactly `origin`, or none at all; `Vary: Origin` always.
fn assert_cors(r: &Reply, origin: Option<&str>) {
    assert_eq!(r.get_header("Vary"), Some("Origin"));
    assert_eq!(r.get_header("Access-Control-Allow-Origin"), origin);
    let exposed = origin.map(|_| "WWW-Authenticate");
    assert_eq!(r.get_header("Access-Control-Expose-Headers"), exposed);
}

fn assert_preflight(r: &Reply, origin: Option<&str>, methods: &str) {
    assert_eq!(r.status, 204);
    assert_eq!(r.body, None);
    assert_eq!(r.get_header("Vary"), Some("Origin"));
    assert_eq!(r.get_header("Access-Control-Allow-Origin"), origin);
    match origin {
        Some(_) => {
            assert_eq!(r.get_header("Access-Control-Allow-Methods"), Some(methods));
            assert_eq!(
                r.get_header("Access-Control-Allow-Headers"),
                Some("Authorization, Content-Type")
            );
            assert_eq!(r.get_header("Access-Control-Max-Age"), Some("600"));
        }
        None => {
            assert_eq!(r.get_header("Access-Control-Allow-Methods"), None);
            assert_eq!(r.get_header("Access-Control-Allow-Headers"), None);
        }
    }
}

const BAD_CODE: &str = "grant_type=authorization_code&client_id=app1&code=nope\
                        &redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftenant%3D1\
                        &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[test]
fn token_requests_must_be_forms() {
    let f = world();
    let r = call(
        &f,
        Request::json(
            Method::Post,
            ISSUER,
            "/token",
            &serde_json::json!({"grant_type": "authorization_code"}),
        ),
    );
    assert_error(
        &r,
        400,
        "invalid_request",
        "the Content-Type must be application/x-www-form-urlencoded",
    );
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(r.get_header("Vary"), Some("Origin"));
    let r = call(&f, form("/token", "client_id=app1&grant_type=password"));
    assert_error(&r, 400, "unsupported_grant_type", "password");
    let r = call(&f, form("/token", "client_id=app1"));
    assert_error(&r, 400, "invalid_request", "grant_type");
}

#[test]
fn a_client_that_fails_to_authenticate_is_challenged() {
    let f = world();
    with_confidential(&f);
    let wrong_secret = form("/token", "grant_type=client_credentials")
        .with_header("Authorization", &basic(CONF_ID, "not-the-secret"));
    let no_secret = form("/token", "grant_type=client_credentials&client_id=conf");
    for req in [
        form("/token", BAD_CODE.replace("app1", "ghost").as_str()),
        wrong_secret,
        no_secret,
    ] {
        let r = call(&f, req);
        assert_error(&r, 401, "invalid_client", "");
        assert_eq!(
            r.get_header("WWW-Authenticate"),
            Some(r#"Basic realm="token", charset="UTF-8""#)
        );
        assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    }
    assert!(f.audit.events().contains(&Event::ClientAuthFailed));
}

#[test]
fn the_token_endpoint_answers_cors_for_the_applications_origins_only() {
    let f = world();
    with_confidential(&f);
    // app1 allows https://app.example: it may read app1's answers, errors included.
    let r = call(
        &f,
        form("/token", BAD_CODE).with_header("Origin", APP_ORIGIN),
    );
    assert_error(&r, 400, "invalid_grant", "");
    assert_cors(&r, Some(APP_ORIGIN));
    // Another origin may not: refused before the code is looked at (it would be spent for
    // a page that cannot read the tokens), without CORS headers. No origin: nothing but Vary.
    let r = call(
        &f,
        form("/token", BAD_CODE).with_header("Origin", EVIL_ORIGIN),
    );
    assert_error(&r, 400, "invalid_request", "");
    assert_cors(&r, None);
    let r = call(&f, form("/token", BAD_CODE));
    assert_cors(&r, None);
    // An identified application answers for itself: conf allows no origin.
    let r = call(
        &f,
        form("/token", &BAD_CODE.replace("client_id=app1&", ""))
            .with_header("Authorization", &basic(CONF_ID, CONF_SECRET))
            .with_header("Origin", APP_ORIGIN),
    );
    assert_error(&r, 400, "invalid_request", "");
    assert_cors(&r, None);
    // Before any application is identified, the origin any application allows may read.
    let r = call(
        &f,
        form("/token", &BAD_CODE.replace("app1", "ghost")).with_header("Origin", APP_ORIGIN),
    );
    assert_eq!(r.status, 401);
    assert_cors(&r, Some(APP_ORIGIN));

    // A successful exchange from the browser.
    let answer = sign_in(&f, "app1");
    let code = code_of(&answer);
    let body = BAD_CODE.replace("code=nope", &format!("code={}", enc(&code)));
    let r = call(&f, form("/token", &body).with_header("Origin", APP_ORIGIN));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(r.get_header("Pragma"), Some("no-cache"));
    assert_cors(&r, Some(APP_ORIGIN));
}

#[test]
fn token_preflight_and_wrong_methods() {
    let f = world();
    assert_preflight(
        &call(&f, preflight("/token", Some(APP_ORIGIN))),
        Some(APP_ORIGIN),
        "POST",
    );
    assert_preflight(
        &call(&f, preflight("/token", Some(EVIL_ORIGIN))),
        None,
        "POST",
    );
    assert_preflight(&call(&f, preflight("/token", None)), None, "POST");
    for method in [Method::Get, Method::Put, Method::Delete] {
        assert_405(&call(&f, Request::new(method, ISSUER, "/token")), "POST");
    }
}

#[test]
fn userinfo_challenges_requests_without_a_valid_token() {
    let f = world();
    // No token at all: a bare challenge (RFC 6750 §3.1).
    let r = call(&f, get("/userinfo"));
    assert_error(&r, 401, "invalid_token", "");
    assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    // A token that is not ours: the challenge names the error.
    let r = call(&f, bearer(get("/userinfo"), "abc.def.ghi"));
    assert_error(&r, 401, "invalid_token", "");
    let challenge = r.get_header("WWW-Authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token", error_description=""#),
        "{challenge}"
    );
    // Another scheme is a malformed request, still challenged.
    let r = call(
        &f,
        get("/userinfo").with_header("Authorization", "Basic eDp5"),
    );
    assert_error(&r, 400, "invalid_request", "Bearer");
    assert!(r
        .get_header("WWW-Authenticate")
        .unwrap()
        .starts_with(r#"Bearer error="invalid_request""#));
    // A query-string token is not read (RFC 6750 §2.3 leaks into logs).
    let (t, _) = tokens(&f);
    let access = t["access_token"].as_str().unwrap();
    let r = call(&f, get(&format!("/userinfo?access_token={access}")));
    assert_eq!(r.status, 401);
    assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
    // Header and form at once.
    let r = call(
        &f,
        bearer(form("/userinfo", &format!("access_token={access}")), access),
    );
    assert_error(&r, 400, "invalid_request", "one place only");
}

#[test]
fn userinfo_answers_a_valid_token_in_the_header_or_the_form() {
    let f = world();
    let (t, _) = tokens(&f);
    let access = t["access_token"].as_str().unwrap();
    let r = call(
        &f,
        bearer(get("/userinfo"), access).with_header("Origin", APP_ORIGIN),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r)["sub"], "u1");
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_cors(&r, Some(APP_ORIGIN));
    let r = call(
        &f,
        form("/userinfo", &format!("access_token={access}")).with_header("Origin", EVIL_ORIGIN),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r)["email"], "ada@example.com");
    assert_cors(&r, None);
    // Expired an hour later (and past the 30 s leeway for clock skew).
    f.clock.advance(3631);
    let r = call(&f, bearer(get("/userinfo"), access));
    assert_error(&r, 401, "invalid_token", "");
}

#[test]
fn userinfo_preflight_and_wrong_methods() {
    let f = world();
    let r = call(&f, preflight("/userinfo", Some(APP_ORIGIN)));
    assert_preflight(&r, Some(APP_ORIGIN), "GET, POST");
    assert_preflight(
        &call(&f, preflight("/userinfo", Some(EVIL_ORIGIN))),
        None,
        "",
    );
    for method in [Method::Put, Method::Delete, Method::Patch] {
        assert_405(
            &call(&f, Request::new(method, ISSUER, "/userinfo")),
            "GET, POST",
        );
    }
}

#[test]
fn revocation_answers_200_for_unknown_tokens_and_revokes_refresh_tokens() {
    let f = world();
    with_confidential(&f);
    // RFC 7009 §2.2: an unknown token is not an error.
    let r = call(&f, form("/revoke", "client_id=app1&token=not-a-token"));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.body, None);
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_cors(&r, None);
    let r = call(
        &f,
        form("/revoke", "token=not-a-token&token_type_hint=refresh_token")
            .with_header("Authorization", &basic(CONF_ID, CONF_SECRET)),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));

    let (t, _) = tokens(&f);
    let refresh = t["refresh_token"].as_str().unwrap();
    let access = t["access_token"].as_str().unwrap();
    // Another client's token is not for it to revoke.
    let r = call(
        &f,
        form("/revoke", &format!("token={refresh}"))
            .with_header("Authorization", &basic(CONF_ID, CONF_SECRET)),
    );
    assert_error(&r, 400, "invalid_grant", "another client");
    // Another client cannot revoke the access token either.
    let r = call(
        &f,
        form("/revoke", &format!("token={access}"))
            .with_header("Authorization", &basic(CONF_ID, CONF_SECRET)),
    );
    assert_error(&r, 400, "invalid_grant", "another client");
    // A JWT access token is its API's to check: it cannot be revoked (RFC 7009 §2.2.1).
    let r = call(&f, form("/revoke", "client_id=app1&token=eyJh.eyJz.sig"));
    assert_error(&r, 400, "unsupported_token_type", "");
    // The owner revokes the refresh token; it stops working.
    let r = call(
        &f,
        form("/revoke", &format!("client_id=app1&token={refresh}"))
            .with_header("Origin", APP_ORIGIN),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_cors(&r, Some(APP_ORIGIN));
    let r = refresh_grant(&f, refresh);
    assert_error(&r, 400, "invalid_grant", "");
}

#[test]
fn revoking_an_access_token_ends_its_grant() {
    let f = world();
    with_confidential(&f);
    let (t, _) = tokens(&f);
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let info = |token: &str| call(&f, bearer(get("/userinfo"), token));
    assert_eq!(info(access).status, 200);
    // The hint is only a hint (RFC 7009 §2.1).
    let r = call(
        &f,
        form(
            "/revoke",
            &format!("client_id=app1&token={access}&token_type_hint=refresh_token"),
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(info(access).status, 401);
    let r = call(
        &f,
        form("/introspect", &format!("token={access}"))
            .with_header("Authorization", &basic(CONF_ID, CONF_SECRET)),
    );
    assert_eq!(body_json(&r), serde_json::json!({"active": false}));
    let r = refresh_grant(&f, refresh);
    assert_error(&r, 400, "invalid_grant", "");
}

#[test]
fn revocation_needs_a_client_and_a_token() {
    let f = world();
    with_confidential(&f);
    let r = call(
        &f,
        form("/revoke", "token=x").with_header("Authorization", &basic(CONF_ID, "wrong")),
    );
    assert_error(&r, 401, "invalid_client", "");
    assert!(r
        .get_header("WWW-Authenticate")
        .unwrap()
        .starts_with("Basic"));
    let r = call(&f, form("/revoke", "client_id=app1"));
    assert_error(&r, 400, "invalid_request", "token");
    let r = call(
        &f,
        Request::new(Method::Post, ISSUER, "/revoke").with_body("client_id=app1&token=x"),
    );
    assert_error(&r, 400, "invalid_request", "Content-Type");
    assert_preflight(
        &call(&f, preflight("/revoke", Some(APP_ORIGIN))),
        Some(APP_ORIGIN),
        "POST",
    );
    assert_preflight(
        &call(&f, preflight("/revoke", Some(EVIL_ORIGIN))),
        None,
        "POST",
    );
    for method in [Method::Get, Method::Delete] {
        assert_405(&call(&f, Request::new(method, ISSUER, "/revoke")), "POST");
    }
}

#[test]
fn introspection_tells_a_resource_server_about_live_tokens() {
    let f = world();
    with_confidential(&f);
    let (t, _) = tokens(&f);
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let ask = |token: &str| {
        call(
            &f,
            form("/introspect", &format!("token={}", enc(token)))
                .with_header("Authorization", &basic(CONF_ID, CONF_SECRET)),
        )
    };
    let r = ask(access);
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    // Server to server: no CORS.
    assert_eq!(r.get_header("Vary"), None);
    let info = body_json(&r);
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["sub"], "u1");
    assert_eq!(info["client_id"], "app1");
    assert_eq!(info["iss"], ISSUER);
    assert_eq!(info["scope"], "openid profile email offline_access");
    assert_eq!(info["exp"], NOW + 3600);
    // Someone else's refresh token, garbage, and an expired token are all inactive.
    assert_eq!(
        body_json(&ask(refresh)),
        serde_json::json!({"active": false})
    );
    assert_eq!(
        body_json(&ask("garbage")),
        serde_json::json!({"active": false})
    );
    // Live for an hour (opaque: no other clock reads it, so no leeway); then inactive.
    f.clock.advance(3599);
    assert_eq!(body_json(&ask(access))["active"], true);
    f.clock.advance(1);
    assert_eq!(
        body_json(&ask(access)),
        serde_json::json!({"active": false})
    );
}

#[test]
fn introspection_is_for_authenticated_confidential_clients_and_posts() {
    let f = world();
    with_confidential(&f);
    let r = call(&f, form("/introspect", "client_id=app1&token=x"));
    assert_error(&r, 401, "invalid_client", "confidential");
    let r = call(&f, form("/introspect", "token=x"));
    assert_error(&r, 401, "invalid_client", "");
    assert!(r.get_header("WWW-Authenticate").is_some());
    for method in [Method::Get, Method::Options, Method::Put] {
        assert_405(
            &call(&f, Request::new(method, ISSUER, "/introspect")),
            "POST",
        );
    }
}

#[test]
fn an_api_named_at_the_authorization_gets_a_jwt_for_that_api_alone() {
    const API: &str = "https://api.example.com";
    let f = world();
    f.store.apps.borrow_mut()[0].allowed_audiences = vec![API.into()];
    // RFC 8707 §2: an API the application may not use is invalid_target, at the redirect URI.
    let r = call(
        &f,
        get(&authorize_path(
            "app1",
            "&resource=https%3A%2F%2Fother.example.com",
        )),
    );
    let (_, params) = location(&r);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_target")
    );

    let t = tokens_with(&f, &format!("&audience={}", enc(API)));
    let verify = |token: &str| {
        block_on(crate::oidc::access::verify(
            &f.signer, &f.sealer, token, NOW,
        ))
        .unwrap()
    };
    let access = t["access_token"].as_str().unwrap();
    let at = verify(access);
    assert!(!at.opaque, "a JWT (RFC 9068) for the API");
    assert_eq!(at.claims.aud, API);
    // It is the API's: userinfo takes tokens for this provider only (as Logto's do).
    let r = call(&f, bearer(get("/userinfo"), access));
    assert_eq!(r.status, 401, "{}", body_text(&r));
    // The grant keeps the API: a refreshed access token is for it too.
    let refresh = t["refresh_token"].as_str().unwrap();
    let r = refresh_grant(&f, refresh);
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let again = verify(body_json(&r)["access_token"].as_str().unwrap());
    assert_eq!(again.claims.aud, at.claims.aud);
}

/// Signs in through the login form with `extra` authorization parameters and redeems the
/// code: the token response.
fn tokens_with(f: &Fakes, extra: &str) -> Value {
    let page = call(f, get(&authorize_path("app1", extra)));
    let login = PageForm::read(&page, "auth_request");
    let answer = log_in_as_ada(f, &login);
    let r = redeem(f, &code_of(&answer));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    body_json(&r)
}

fn id_claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&crate::crypto::b64url_decode(payload).unwrap()).unwrap()
}

#[test]
fn acr_values_that_a_password_login_meets_put_acr_in_the_id_token_and_its_refreshes() {
    let f = world();
    let t = tokens_with(&f, "&acr_values=1%202");
    assert_eq!(id_claims(t["id_token"].as_str().unwrap())["acr"], "1");
    let refresh = t["refresh_token"].as_str().unwrap();
    let r = refresh_grant(&f, refresh);
    assert_eq!(
        id_claims(body_json(&r)["id_token"].as_str().unwrap())["acr"],
        "1"
    );
    // Values it cannot meet are ignored (voluntary, Core §3.1.2.1), and so is no request.
    for extra in ["&acr_values=2", ""] {
        let t = tokens_with(&world(), extra);
        assert!(id_claims(t["id_token"].as_str().unwrap())
            .get("acr")
            .is_none());
    }
}

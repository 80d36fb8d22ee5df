use super::*;
use crate::crypto::b64url;
use crate::model::AppType;
use crate::oidc::authorize::{self, AuthorizeError, ResponseMode};
use crate::oidc::jwt::testing::FakeSigner;
use crate::oidc::jwt::SigningAlg;
use crate::oidc::services::testing::{Fakes, ISSUER};
use crate::store::memory::MemoryStore;
use futures_executor::block_on;
use serde_json::json;

const NOW: i64 = 10_000;
const REDIRECT: &str = "https://app.example/cb?tenant=1";

fn fakes() -> Fakes {
    let store = MemoryStore::default();
    let mut app = crate::oidc::testing::app(AppType::Traditional);
    app.jwks = Some(
        json!({ "keys": [{ "kty": "RSA", "kid": "rp1", "n": "AQAB", "e": "AQAB" }] }).to_string(),
    );
    app.redirect_uris.push("https://app.example/other".into());
    store.apps.borrow_mut().push(app);
    Fakes::new(store, NOW)
}

/// A request object signed (as the fake verifies) by the client's key, or unsigned.
fn object(claims: Value, alg: &str) -> String {
    let header = b64url(json!({ "alg": alg, "kid": "rp1" }).to_string().as_bytes());
    let input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
    let sig = match SigningAlg::parse(alg) {
        Some(a) => b64url(&FakeSigner::client_sign("rp1", a, input.as_bytes())),
        None => String::new(),
    };
    format!("{input}.{sig}")
}

fn query(extra: &str) -> Params {
    Params::parse(&format!("client_id=app1&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.example%2Fother&state=outer{extra}"))
}

fn expand_with(f: &Fakes, p: &Params) -> Result<Option<Params>, Failure> {
    block_on(expand(&f.services(), p))
}

// Core §6.3.3: the object's values replace the query's; the query's others stay; JSON
// members become parameters as the query would carry them.
#[test]
fn a_signed_object_by_value_replaces_the_query_values_it_names() {
    let f = fakes();
    let jwt = object(
        json!({ "iss": "app1", "aud": ISSUER, "client_id": "app1", "response_type": "code",
                "redirect_uri": REDIRECT, "scope": "openid email", "state": "inner", "max_age": 60,
                "claims": { "userinfo": { "name": null } }, "exp": NOW + 60 }),
        "RS256",
    );
    let p = expand_with(&f, &query(&format!("&nonce=n1&request={jwt}")))
        .unwrap()
        .unwrap();
    let get = |k: &str| p.get(k).unwrap().map(str::to_string);
    assert_eq!(get("redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(get("scope").as_deref(), Some("openid email"));
    assert_eq!(get("state").as_deref(), Some("inner"));
    assert_eq!(
        get("nonce").as_deref(),
        Some("n1"),
        "a query value the object does not name stays"
    );
    assert_eq!(get("max_age").as_deref(), Some("60"));
    assert_eq!(
        get("claims").as_deref(),
        Some(r#"{"userinfo":{"name":null}}"#)
    );
    for gone in ["request", "iss", "aud", "exp"] {
        assert_eq!(get(gone), None, "{gone}");
    }
    // And the result validates, with the object's redirect URI.
    let valid = block_on(authorize::validate(&f.store, p)).unwrap();
    assert_eq!(valid.redirect_uri, REDIRECT);
}

#[test]
fn an_object_by_reference_is_fetched_without_its_fragment() {
    let f = fakes();
    let jwt = object(
        json!({ "redirect_uri": REDIRECT, "state": "by-ref" }),
        "RS256",
    );
    f.outbound
        .pages
        .borrow_mut()
        .insert("https://app.example/req/1".into(), format!("{jwt}\n"));
    let p = expand_with(
        &f,
        &query("&request_uri=https%3A%2F%2Fapp.example%2Freq%2F1%23v2"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(p.get("state").unwrap(), Some("by-ref"));
    assert_eq!(f.outbound.gets.get(), 1);
    assert_eq!(
        expand_with(&f, &query("")).unwrap(),
        None,
        "no object, nothing to do"
    );
}

#[test]
fn unusable_objects_and_uris_get_their_own_errors() {
    let f = fakes();
    let signed = |c: Value| object(c, "RS256");
    let cases: Vec<(String, OAuthError, &str)> = vec![
        (
            format!("&request={}", object(json!({ "state": "x" }), "none")),
            OAuthError::InvalidRequestObject,
            "RS256",
        ),
        (
            format!("&request={}", signed(json!({ "client_id": "other" }))),
            OAuthError::InvalidRequestObject,
            "client_id",
        ),
        (
            format!("&request={}", signed(json!({ "response_type": "token" }))),
            OAuthError::InvalidRequestObject,
            "response_type",
        ),
        (
            format!("&request={}", signed(json!({ "iss": "other" }))),
            OAuthError::InvalidRequestObject,
            "iss",
        ),
        (
            format!(
                "&request={}",
                signed(json!({ "aud": "https://elsewhere.example" }))
            ),
            OAuthError::InvalidRequestObject,
            "aud",
        ),
        (
            format!("&request={}", signed(json!({ "exp": NOW }))),
            OAuthError::InvalidRequestObject,
            "expired",
        ),
        (
            format!(
                "&request={}",
                signed(json!({ "request_uri": "https://app.example/x" }))
            ),
            OAuthError::InvalidRequestObject,
            "cannot hold",
        ),
        (
            "&request=not-a-jwt".into(),
            OAuthError::InvalidRequestObject,
            "not a JWT",
        ),
        (
            "&request=a.b.c&request_uri=https%3A%2F%2Fapp.example%2Fr".into(),
            OAuthError::InvalidRequest,
            "not both",
        ),
        (
            "&request_uri=http%3A%2F%2Fapp.example%2Fr".into(),
            OAuthError::InvalidRequestUri,
            "https",
        ),
        (
            "&request_uri=https%3A%2F%2Fapp.example%2Fmissing".into(),
            OAuthError::InvalidRequestUri,
            "404",
        ),
    ];
    for (extra, error, says) in cases {
        let err = expand_with(&f, &query(&extra)).unwrap_err();
        assert_eq!(err.error, error, "{extra}");
        assert!(
            err.description.contains(says),
            "{extra}: {}",
            err.description
        );
    }
}

// A refusal goes where the rest of the request says: the query's trusted redirect URI with
// its state (in the mode the object asked for), or a page for an unknown client.
#[test]
fn a_refusal_is_redirected_only_to_a_trusted_redirect_uri() {
    let f = fakes();
    let unsigned = object(json!({ "response_mode": "form_post" }), "none");
    let p = query(&format!("&request={unsigned}"));
    let failure = expand_with(&f, &p).unwrap_err();
    match block_on(authorize::refuse(&f.store, &p, failure.clone())) {
        AuthorizeError::Redirect(r) => {
            assert_eq!(r.redirect_uri, "https://app.example/other");
            assert_eq!(r.state.as_deref(), Some("outer"));
            assert_eq!(r.mode, ResponseMode::FormPost);
            assert_eq!(r.failure.error, OAuthError::InvalidRequestObject);
        }
        other => panic!("{other:?}"),
    }
    let stranger = Params::parse(&format!("client_id=ghost&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2F&request={unsigned}"));
    assert!(matches!(
        block_on(authorize::refuse(&f.store, &stranger, failure)),
        AuthorizeError::Page { .. }
    ));
}

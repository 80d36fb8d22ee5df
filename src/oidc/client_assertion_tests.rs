use super::*;
use crate::crypto::b64url;
use crate::error::OAuthError;
use crate::model::{AppType, TokenAuthMethod};
use crate::oidc::jwt::testing::FakeSigner;
use crate::runtime::testing::FakeOutbound;
use crate::store::memory::MemoryStore;
use futures_executor::block_on;
use serde_json::json;

const ISSUER: &str = "https://id.example";
const NOW: i64 = 10_000;

fn client() -> Application {
    let mut app = crate::oidc::testing::app(AppType::Traditional);
    app.token_endpoint_auth_method = TokenAuthMethod::PrivateKeyJwt;
    app.jwks = Some(
        check_jwks(&json!({ "keys": [
            { "kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB", "alg": "RS256", "use": "sig" },
            { "kty": "EC", "kid": "k2", "crv": "P-256", "x": "AA", "y": "AA" },
        ]}))
        .unwrap(),
    );
    app
}

/// An assertion signed (as the fake verifies) by client key `kid`.
fn assertion(kid: Option<&str>, claims: Value) -> String {
    let mut header = json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = FakeSigner::client_sign(kid.unwrap_or("k1"), SigningAlg::Rs256, input.as_bytes());
    format!("{input}.{}", b64url(&sig))
}

fn good() -> Value {
    json!({ "iss": "app1", "sub": "app1", "aud": format!("{ISSUER}/token"),
            "exp": NOW + 60, "iat": NOW, "jti": "j-1" })
}

fn check(store: &MemoryStore, app: &Application, token: &str) -> Result<(), Failure> {
    block_on(verify(
        &FakeSigner::new(),
        store,
        &FakeOutbound::default(),
        ISSUER,
        NOW,
        app,
        token,
    ))
}

#[test]
fn a_good_assertion_passes_once_then_its_jti_is_spent() {
    let store = MemoryStore::default();
    let token = assertion(Some("k1"), good());
    check(&store, &client(), &token).unwrap();
    let again = check(&store, &client(), &token).unwrap_err();
    assert_eq!(again.error, OAuthError::InvalidClient);
    assert!(
        again.description.contains("used before"),
        "{}",
        again.description
    );
    // Another jti is a new assertion.
    let mut other = good();
    other["jti"] = json!("j-2");
    check(&store, &client(), &assertion(Some("k1"), other)).unwrap();
}

#[test]
fn the_issuer_and_the_token_endpoint_are_both_audiences() {
    let store = MemoryStore::default();
    for (i, aud) in [json!(ISSUER), json!(["x", format!("{ISSUER}/token")])]
        .into_iter()
        .enumerate()
    {
        let mut c = good();
        c["aud"] = aud;
        c["jti"] = json!(format!("aud-{i}"));
        check(&store, &client(), &assertion(Some("k1"), c)).unwrap();
    }
}

#[test]
fn without_kid_every_fitting_key_is_tried() {
    check(&MemoryStore::default(), &client(), &assertion(None, good())).unwrap();
}

#[test]
fn each_broken_rule_is_invalid_client_and_spends_nothing() {
    let store = MemoryStore::default();
    let cases: Vec<(&str, Value)> = vec![
        ("iss and sub", json!({ "iss": "other" })),
        ("iss and sub", json!({ "sub": "other" })),
        ("aud", json!({ "aud": "https://elsewhere.example/token" })),
        ("aud", json!({ "aud": format!("{ISSUER}/authorize") })),
        ("expired", json!({ "exp": NOW - 61 })),
        ("within an hour", json!({ "exp": NOW + 3601 })),
        ("no exp", json!({ "exp": null })),
        ("not valid yet", json!({ "nbf": NOW + 120 })),
        ("jti", json!({ "jti": null })),
        ("jti", json!({ "jti": "" })),
    ];
    for (why, patch) in cases {
        let mut c = good();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        let err = check(&store, &client(), &assertion(Some("k1"), c)).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidClient, "{why}");
        assert!(err.description.contains(why), "{why}: {}", err.description);
    }
    // None of them spent j-1.
    check(&store, &client(), &assertion(Some("k1"), good())).unwrap();
}

#[test]
fn a_signature_by_another_key_or_alg_fails() {
    let store = MemoryStore::default();
    // Named k1 but signed as k3 (a key the client never registered).
    let token = assertion(Some("k3"), good());
    let err = check(&store, &client(), &token).unwrap_err();
    assert!(
        err.description.contains("not signed by a key"),
        "{}",
        err.description
    );
    let mut app = client();
    app.jwks = None;
    assert!(check(&store, &app, &assertion(Some("k1"), good())).is_err());
    // HS256 (client_secret_jwt) and none are not accepted.
    for alg in ["HS256", "none"] {
        let header = b64url(json!({ "alg": alg }).to_string().as_bytes());
        let body = b64url(good().to_string().as_bytes());
        let err = check(&store, &client(), &format!("{header}.{body}.c2ln")).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidClient, "{alg}");
    }
}

#[test]
fn registered_key_sets_hold_public_keys_only() {
    let rsa = json!({ "kty": "RSA", "n": "AQAB", "e": "AQAB" });
    assert!(check_jwks(&json!({ "keys": [rsa] })).is_ok());
    let mut private = rsa.clone();
    private["d"] = json!("secret");
    for bad in [
        json!({ "keys": [] }),
        json!({ "keys": [private] }),
        json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }),
        json!({ "keys": [{ "kty": "RSA", "n": "AQAB" }] }),
        json!([rsa]),
        json!({ "keys": vec![rsa.clone(); 11] }),
    ] {
        assert!(check_jwks(&bad).is_err(), "{bad}");
    }
}

#[test]
fn the_subject_names_the_client_before_anything_is_verified() {
    assert_eq!(
        subject(&assertion(Some("k1"), good())).as_deref(),
        Some("app1")
    );
    assert_eq!(subject("not a jwt"), None);
}

// Core §10.1.1: keys at a jwks_uri are read when an assertion comes, so a client's new key
// works at once; what is served there is checked like registered keys.
#[test]
fn keys_at_a_jwks_uri_are_fetched_for_each_assertion() {
    let store = MemoryStore::default();
    let mut app = client();
    let uri = "https://rp.example/jwks.json";
    (app.jwks, app.jwks_uri) = (None, Some(uri.into()));
    let web = FakeOutbound::default();
    let run = |token: &str| {
        block_on(verify(
            &FakeSigner::new(),
            &store,
            &web,
            ISSUER,
            NOW,
            &app,
            token,
        ))
    };
    let err = run(&assertion(Some("k1"), good())).unwrap_err();
    assert!(
        err.description.contains("answered 404"),
        "{}",
        err.description
    );
    web.pages.borrow_mut().insert(
        uri.into(),
        json!({ "keys": [{ "kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB" }] }).to_string(),
    );
    run(&assertion(Some("k1"), good())).unwrap();
    // The client rotates to k9: the next assertion finds it.
    web.pages.borrow_mut().insert(
        uri.into(),
        json!({ "keys": [{ "kty": "RSA", "kid": "k9", "n": "AQAB", "e": "AQAB" }] }).to_string(),
    );
    let mut next = good();
    next["jti"] = json!("j-9");
    run(&assertion(Some("k9"), next)).unwrap();
    assert_eq!(web.gets.get(), 3);
    web.pages.borrow_mut().insert(
        uri.into(),
        json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }).to_string(),
    );
    let mut third = good();
    third["jti"] = json!("j-10");
    assert!(run(&assertion(Some("k9"), third)).is_err());
}

//! OpenID Connect Dynamic Client Registration 1.0 / RFC 7591 at `/register`, and RFC 7592
//! management of the registered client with its registration access token.
//!
//! Dynamically registered clients are third-party: their users see the consent screen.
//! They register exact redirect URIs only; wildcards stay an administrator's choice.

use serde_json::{json, Map, Value};

use super::app_settings::{apply_settings, SHARED_METADATA};
use super::audit::{Entry, Event};
use super::jwt::SigningAlg;
use super::services::{Deps, Services};
use crate::crypto::{random_id, ClientSecret, RegistrationToken};
use crate::error::{Failure, OAuthError};
use crate::model::uri_pattern::parse_redirect_pattern;
use crate::model::{AppType, Application, GrantType, TokenAuthMethod};
use crate::runtime::Clock;
use crate::store::Store;

fn metadata_error(description: impl Into<std::borrow::Cow<'static, str>>) -> Failure {
    Failure::new(OAuthError::InvalidClientMetadata, description)
}

/// The client metadata of RFC 7591 §2 turned into an application type and our settings.
/// Unknown metadata is ignored, as §2 requires.
fn to_settings(meta: &Value) -> Result<(AppType, Map<String, Value>), Failure> {
    let obj = meta
        .as_object()
        .ok_or_else(|| metadata_error("the body must be a JSON object"))?;
    let str_of = |k: &str| -> Result<Option<&str>, Failure> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(metadata_error(format!("{k} must be a string"))),
        }
    };
    let method = match str_of("token_endpoint_auth_method")? {
        None => TokenAuthMethod::ClientSecretBasic,
        Some(m) => TokenAuthMethod::parse(m).ok_or_else(|| {
            metadata_error(format!(
                "token_endpoint_auth_method {m} is not supported (none, client_secret_basic, client_secret_post, private_key_jwt)"
            ))
        })?,
    };
    let grants: Vec<String> = match obj.get("grant_types") {
        None | Some(Value::Null) => vec!["authorization_code".into()],
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| metadata_error("grant_types must be an array of strings"))?,
    };
    // `implicit` and the rest are refused with the grant_types check below.
    match obj.get("response_types") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let types: Vec<String> = serde_json::from_value(v.clone())
                .map_err(|_| metadata_error("response_types must be an array of strings"))?;
            if types.iter().any(|t| t != "code") {
                return Err(metadata_error("only the code response type is supported"));
            }
        }
    }
    let id_alg = match str_of("id_token_signed_response_alg")? {
        None => SigningAlg::Rs256,
        Some(alg) => SigningAlg::parse(alg).ok_or_else(|| {
            metadata_error(format!(
                "id_token_signed_response_alg {alg} is not supported (RS256, ES256, EdDSA)"
            ))
        })?,
    };
    let native = match str_of("application_type")? {
        None | Some("web") => false,
        Some("native") => true,
        Some(t) => {
            return Err(metadata_error(format!(
                "application_type {t} is not web or native"
            )))
        }
    };
    let only_client_credentials =
        grants.len() == 1 && grants[0] == GrantType::ClientCredentials.as_str();
    let app_type = match method {
        TokenAuthMethod::None if native => AppType::Native,
        TokenAuthMethod::None => AppType::Spa,
        _ if only_client_credentials => AppType::M2m,
        _ => AppType::Traditional,
    };
    let redirect_uris: Vec<String> = match obj.get("redirect_uris") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            Failure::new(
                OAuthError::InvalidRedirectUri,
                "redirect_uris must be an array of strings",
            )
        })?,
    };
    if grants.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(Failure::new(
            OAuthError::InvalidRedirectUri,
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    for uri in &redirect_uris {
        let exact = parse_redirect_pattern(uri, native).is_ok_and(|p| !p.is_wildcard());
        if !exact {
            return Err(Failure::new(
                OAuthError::InvalidRedirectUri,
                format!("not an acceptable exact redirect URI: {uri}"),
            ));
        }
    }
    let mut settings = Map::new();
    settings.insert(
        "name".into(),
        json!(str_of("client_name")?
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("Unnamed client")),
    );
    if let Some(uri) = str_of("client_uri")? {
        settings.insert("home_url".into(), json!(uri));
    }
    settings.insert("redirect_uris".into(), json!(redirect_uris));
    if let Some(v) = obj
        .get("post_logout_redirect_uris")
        .filter(|v| !v.is_null())
    {
        settings.insert("post_logout_redirect_uris".into(), v.clone());
    }
    for field in SHARED_METADATA {
        if let Some(v) = obj.get(field).filter(|v| !v.is_null()) {
            settings.insert(field.into(), v.clone());
        }
    }
    settings.insert("grant_types".into(), json!(grants));
    settings.insert("token_endpoint_auth_method".into(), json!(method.as_str()));
    settings.insert("first_party".into(), json!(false));
    settings.insert(
        "id_token_signed_response_alg".into(),
        json!(id_alg.as_str()),
    );
    Ok((app_type, settings))
}

/// Settings errors come back as `invalid_request` naming the field; registration speaks
/// RFC 7591 §3.2.2's codes.
fn registration_error(f: Failure) -> Failure {
    if f.error != OAuthError::InvalidRequest {
        return f;
    }
    if f.description.starts_with("redirect_uris")
        || f.description.starts_with("post_logout_redirect_uris")
    {
        Failure::new(OAuthError::InvalidRedirectUri, f.description)
    } else {
        Failure::new(OAuthError::InvalidClientMetadata, f.description)
    }
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the registered metadata.
fn client_information(app: &Application, issuer: &str) -> Value {
    let mut info = json!({
        "client_id": app.client_id,
        "client_id_issued_at": app.created_at,
        "client_name": app.name,
        "client_uri": app.home_url,
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "grant_types": app.grant_types,
        "response_types": if app.has_grant(GrantType::AuthorizationCode) { json!(["code"]) } else { json!([]) },
        "token_endpoint_auth_method": app.token_endpoint_auth_method.as_str(),
        "application_type": if app.app_type == AppType::Native { "native" } else { "web" },
        "id_token_signed_response_alg": app.id_token_signed_response_alg.as_str(),
        "registration_client_uri": format!("{issuer}/register/{}", app.client_id),
    });
    super::management::add_shared_metadata(app, &mut info);
    info
}

/// The audit record of a registration action: identifiers and the name only, never the
/// secret or the registration access token.
fn registered(event: Event, description: &str, client_id: &str, name: Option<&str>) -> Entry {
    let mut entry = Entry::new(event, description)
        .client(client_id)
        .detail("by", "registration");
    entry.application_name = name.map(str::to_string);
    entry
}

/// `POST /register`.
pub async fn register<D: Deps>(svc: &Services<'_, D>, meta: &Value) -> Result<Value, Failure> {
    let (store, clock, rng, issuer) = (svc.store, svc.clock, svc.rng, svc.issuer);
    let (app_type, settings) = to_settings(meta)?;
    let mut app = Application::new(random_id(rng, 24)?, String::new(), app_type, clock.now());
    apply_settings(&mut app, &settings, false).map_err(registration_error)?;
    let secret = if app.uses_secret() {
        Some(ClientSecret::generate(rng)?)
    } else {
        None
    };
    let token = RegistrationToken::generate(rng)?;
    app.client_secret_hash = secret.as_ref().map(ClientSecret::hashed);
    app.registration_token_hash = Some(token.hashed());
    store.insert_application(&app).await?;
    svc.audit.record(registered(
        Event::ApplicationCreated,
        "Application registered",
        &app.client_id,
        Some(&app.name),
    ));
    let mut info = client_information(&app, issuer);
    info["registration_access_token"] = json!(token.expose());
    if let Some(secret) = secret {
        info["client_secret"] = json!(secret.expose());
        // RFC 7591 §3.2.1: 0 means the secret does not expire.
        info["client_secret_expires_at"] = json!(0);
    }
    Ok(info)
}

/// RFC 7592 §2: the client presents its registration access token. Any mismatch, including
/// an unknown client, is the same `invalid_token`, so client ids cannot be probed.
async fn authorized(
    store: &impl Store,
    client_id: &str,
    token: &str,
) -> Result<Application, Failure> {
    let refuse =
        || Failure::invalid_token("the registration access token is not valid for this client");
    let app = store.application(client_id).await?.ok_or_else(refuse)?;
    match &app.registration_token_hash {
        Some(hash) if RegistrationToken::new(token).matches_hash(hash) => Ok(app),
        _ => Err(refuse()),
    }
}

/// RFC 7592 §3: every client information response carries the registration access token.
/// Only its hash is stored, so the answer to a read or update echoes the one the client
/// just presented (verified): it stays valid, and nothing is rotated behind its back.
fn with_token(mut info: Value, token: &str) -> Value {
    info["registration_access_token"] = json!(token);
    info
}

/// `GET /register/{client_id}`, RFC 7592 §2.1.
pub async fn read<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    token: &str,
) -> Result<Value, Failure> {
    let app = authorized(svc.store, client_id, token).await?;
    Ok(with_token(client_information(&app, svc.issuer), token))
}

/// `PUT /register/{client_id}`, RFC 7592 §2.2: the body replaces the metadata; omitted
/// fields return to their defaults. The client id and type cannot change.
pub async fn update<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    token: &str,
    meta: &Value,
) -> Result<Value, Failure> {
    let (store, clock, issuer) = (svc.store, svc.clock, svc.issuer);
    let app = authorized(store, client_id, token).await?;
    if meta.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(Failure::invalid_request(
            "the body's client_id must equal the client's",
        ));
    }
    let (app_type, settings) = to_settings(meta)?;
    if app_type != app.app_type {
        return Err(metadata_error(
            "the client's kind (public/confidential, application_type) cannot change",
        ));
    }
    let mut updated = Application::new(
        app.client_id.clone(),
        String::new(),
        app.app_type,
        app.created_at,
    );
    updated.client_secret_hash = app.client_secret_hash.clone();
    updated.registration_token_hash = app.registration_token_hash.clone();
    apply_settings(&mut updated, &settings, false).map_err(registration_error)?;
    updated.updated_at = clock.now();
    if !store.update_application(&updated).await? {
        return Err(Failure::invalid_token("the client no longer exists"));
    }
    svc.audit.record(registered(
        Event::ApplicationUpdated,
        "Application registration updated",
        &updated.client_id,
        Some(&updated.name),
    ));
    Ok(with_token(client_information(&updated, issuer), token))
}

/// `DELETE /register/{client_id}`, RFC 7592 §2.3.
pub async fn delete<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    token: &str,
) -> Result<(), Failure> {
    authorized(svc.store, client_id, token).await?;
    let now = crate::runtime::Clock::now(svc.clock);
    super::grants::delete_application(svc.store, svc.grants, client_id, now).await?;
    svc.audit.record(registered(
        Event::ApplicationDeleted,
        "Application registration deleted",
        client_id,
        None,
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::audit::Audit;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const ISS: &str = "https://id.example";

    fn reg(store: &MemoryStore, meta: Value) -> Result<Value, Failure> {
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(7), Audit::default());
        block_on(register(
            &services(store, &signer, &clock, ISS, &audit),
            &meta,
        ))
    }

    #[test]
    fn defaults_make_a_confidential_third_party_web_client() {
        let store = MemoryStore::default();
        let info = reg(
            &store,
            json!({"redirect_uris": ["https://rp.example/cb"], "client_name": "RP", "unknown": 1}),
        )
        .unwrap();
        assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(info["client_secret_expires_at"], 0);
        assert!(info["client_secret"].as_str().unwrap().len() >= 43);
        assert_eq!(
            info["registration_client_uri"],
            format!("{ISS}/register/{}", info["client_id"].as_str().unwrap())
        );
        let app = store.apps.borrow()[0].clone();
        assert_eq!(app.app_type, AppType::Traditional);
        assert!(!app.first_party);
        let token = info["registration_access_token"].as_str().unwrap();
        assert!(RegistrationToken::new(token)
            .matches_hash(app.registration_token_hash.as_ref().unwrap()));
    }

    // RFC 7591 §3.2.1: a client that authenticates with its keys gets no secret.
    #[test]
    fn a_private_key_jwt_client_keeps_its_keys_and_gets_no_secret() {
        let store = MemoryStore::default();
        let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]});
        let info = reg(
            &store,
            json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
        )
        .unwrap();
        assert_eq!(info["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(info["jwks"], jwks);
        assert!(info.get("client_secret").is_none());
        assert!(store.apps.borrow()[0].client_secret_hash.is_none());
        let both = json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "private_key_jwt",
                          "jwks": jwks, "jwks_uri": "https://rp.example/jwks"});
        assert_eq!(
            reg(&store, both).unwrap_err().error,
            OAuthError::InvalidClientMetadata
        );
    }

    #[test]
    fn public_and_native_and_m2m_kinds() {
        let store = MemoryStore::default();
        let spa = reg(&store, json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none"})).unwrap();
        assert!(spa.get("client_secret").is_none());
        let native = reg(&store, json!({"redirect_uris": ["com.example.rp:/cb"], "token_endpoint_auth_method": "none", "application_type": "native"})).unwrap();
        assert_eq!(native["application_type"], "native");
        let m2m = reg(&store, json!({"grant_types": ["client_credentials"]})).unwrap();
        assert_eq!(m2m["response_types"], json!([]));
        let kinds: Vec<AppType> = store.apps.borrow().iter().map(|a| a.app_type).collect();
        assert_eq!(kinds, [AppType::Spa, AppType::Native, AppType::M2m]);
    }

    #[test]
    fn bad_metadata_uses_rfc7591_codes() {
        let store = MemoryStore::default();
        for (meta, code) in [
            (
                json!({"redirect_uris": ["https://*.rp.example/cb"]}),
                OAuthError::InvalidRedirectUri,
            ),
            (
                json!({"redirect_uris": ["https://rp.example/cb#x"]}),
                OAuthError::InvalidRedirectUri,
            ),
            (json!({}), OAuthError::InvalidRedirectUri),
            (
                json!({"redirect_uris": ["https://rp.example/cb"], "response_types": ["token"]}),
                OAuthError::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                OAuthError::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
                OAuthError::InvalidClientMetadata,
            ),
            (
                json!({"redirect_uris": ["https://rp.example/cb"], "client_uri": "javascript:x"}),
                OAuthError::InvalidClientMetadata,
            ),
            (json!([1]), OAuthError::InvalidClientMetadata),
        ] {
            assert_eq!(reg(&store, meta.clone()).unwrap_err().error, code, "{meta}");
        }
        assert!(store.apps.borrow().is_empty());
    }

    #[test]
    fn rfc7592_read_update_delete_need_the_token() {
        let store = MemoryStore::default();
        let info = reg(
            &store,
            json!({"redirect_uris": ["https://rp.example/cb"], "client_name": "RP"}),
        )
        .unwrap();
        let id = info["client_id"].as_str().unwrap();
        let token = info["registration_access_token"].as_str().unwrap();
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(9), Audit::default());
        let svc = services(&store, &signer, &clock, ISS, &audit);
        assert_eq!(
            block_on(read(&svc, id, "wrong")).unwrap_err().error,
            OAuthError::InvalidToken
        );
        assert_eq!(
            block_on(read(&svc, "ghost", token)).unwrap_err().error,
            OAuthError::InvalidToken
        );
        let read_back = block_on(read(&svc, id, token)).unwrap();
        assert_eq!(read_back["client_name"], "RP");
        // RFC 7592 §3: the token is in every client information response, and still valid.
        assert_eq!(read_back["registration_access_token"], token);
        let updated = block_on(update(&svc, id, token,
            &json!({"client_id": id, "redirect_uris": ["https://rp.example/cb2"], "client_name": "RP2"}))).unwrap();
        assert_eq!(updated["redirect_uris"], json!(["https://rp.example/cb2"]));
        assert_eq!(updated["registration_access_token"], token);
        let secret_hash = store.apps.borrow()[0].client_secret_hash.clone();
        assert!(secret_hash.is_some(), "the secret survives an update");
        let err = block_on(update(&svc, id, token,
            &json!({"client_id": id, "redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none"}))).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidClientMetadata);
        block_on(delete(&svc, id, token)).unwrap();
        assert!(store.apps.borrow().is_empty());
        let events: Vec<Event> = audit.take().iter().map(|e| e.event).collect();
        assert_eq!(
            events,
            [Event::ApplicationUpdated, Event::ApplicationDeleted]
        );
    }

    #[test]
    fn a_failed_insert_hands_out_no_client_and_stores_nothing() {
        let store = MemoryStore::default();
        store.fail_on.borrow_mut().push("insert_application");
        let e = reg(&store, json!({"redirect_uris": ["https://rp.example/cb"]})).unwrap_err();
        assert_eq!(e.error, OAuthError::TemporarilyUnavailable);
        assert!(store.apps.borrow().is_empty());
        assert!(
            !e.description.contains("injected"),
            "no internals: {}",
            e.description
        );
    }
}

//! The management API's logic: applications and users, validated here so the HTTP layer
//! only moves JSON. Every validation error names the field it is about; an application's
//! settings are read and checked in `app_settings`.

use serde_json::{json, Value};

use super::app_settings::{apply_settings, as_object};
use super::audit::{Entry, Event};
use super::jwt::{Signer, SigningAlg};
use super::params::Params;
use super::services::{Deps, Services};
use crate::crypto::{random_id, ClientSecret};
use crate::error::{Failure, OAuthError};
use crate::model::{AppType, Application};
use crate::runtime::Clock;
use crate::store::{AppQuery, Store};

/// The public view of an application: never the secret or its hash.
pub fn app_json(app: &Application) -> Value {
    let mut view = json!({
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "type": app.app_type.as_str(),
        "token_endpoint_auth_method": app.token_endpoint_auth_method.as_str(),
        "grant_types": app.grant_types,
        "home_url": app.home_url,
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "allowed_origins": app.allowed_origins,
        "cors_from_redirect_uris": app.cors_from_redirect_uris,
        "first_party": app.first_party,
        "allow_signup": app.allow_signup,
        "token_settings": app.token_settings,
        "id_token_signed_response_alg": app.id_token_signed_response_alg.as_str(),
        "allowed_audiences": app.allowed_audiences,
        "allowed_scopes": app.allowed_scopes,
        "access_rules": app.access_rules,
        "previous_secret_expires_at": app.previous_secret_expires_at,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
    });
    add_shared_metadata(app, &mut view);
    view
}

/// The settings the management API and RFC 7591 registration both name the same way
/// (`app_settings::SHARED_METADATA`), added to either's view of an application.
pub(super) fn add_shared_metadata(app: &Application, view: &mut Value) {
    let shared = json!({
        "backchannel_logout_uri": app.backchannel_logout_uri,
        "backchannel_logout_session_required": app.backchannel_logout_session_required,
        "jwks": app.jwks.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
        "jwks_uri": app.jwks_uri,
        "logo_uri": app.logo_uri,
        "policy_uri": app.policy_uri,
        "tos_uri": app.tos_uri,
        "userinfo_signed_response_alg": app.userinfo_signed_response_alg.map(|a| a.as_str()),
    });
    if let (Some(view), Value::Object(shared)) = (view.as_object_mut(), shared) {
        view.extend(shared);
    }
}

/// The signing keys without their private parts.
pub fn keys_json(keys: &[crate::model::StoredKey]) -> Value {
    let list: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "alg": k.alg,
                "status": k.status.as_str(),
                "created_at": k.created_at,
                "retired_at": k.retired_at,
            })
        })
        .collect();
    json!({ "keys": list })
}

/// A management change that succeeded: the response's view, and its audit record (the
/// HTTP layer adds who acted, `by`: only it knows the credential).
#[derive(Debug)]
pub struct Done {
    pub view: Value,
    pub entry: Entry,
}

fn app_entry(event: Event, description: &str, app: &Application) -> Entry {
    Entry::new(event, description).app(app)
}

/// The response body of create and update: the application, and warnings when any.
fn with_warnings(mut view: Value, warnings: Vec<String>) -> Value {
    if !warnings.is_empty() {
        view["warnings"] = json!(warnings);
    }
    view
}

/// Creates an application; returns its JSON view with the secret, shown only this once.
pub async fn create_application<D: Deps>(
    svc: &Services<'_, D>,
    body: &Value,
) -> Result<Done, Failure> {
    let (store, clock, rng) = (svc.store, svc.clock, svc.rng);
    let obj = as_object(body)?;
    let app_type = match obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(AppType::parse)
    {
        Some(t) => t,
        None => {
            return Err(Failure::invalid_request(
                "type: required, one of traditional, spa, native, m2m",
            ))
        }
    };
    if !obj.contains_key("name") {
        return Err(Failure::invalid_request("name: required"));
    }
    let mut app = Application::new(random_id(rng, 24)?, String::new(), app_type, clock.now());
    let warnings = apply_settings(&mut app, obj, true)?;
    super::roles::require_existing(store, "access_rules.roles", &app.access_rules.roles).await?;
    let secret = if app.uses_secret() {
        Some(ClientSecret::generate(rng)?)
    } else {
        None
    };
    app.client_secret_hash = secret.as_ref().map(ClientSecret::hashed);
    store.insert_application(&app).await?;
    let mut view = with_warnings(app_json(&app), warnings);
    if let Some(secret) = secret {
        view["client_secret"] = json!(secret.expose());
    }
    let entry = app_entry(Event::ApplicationCreated, "Application created", &app)
        .detail("type", app.app_type.as_str());
    Ok(Done { view, entry })
}

/// `GET /api/v1/applications/{id}`.
pub async fn get_application<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
) -> Result<Value, Failure> {
    match svc.store.application(client_id).await? {
        Some(app) => Ok(app_json(&app)),
        None => Err(Failure::new(OAuthError::NotFound, "no such application")),
    }
}

/// `DELETE /api/v1/applications/{id}`: the application, its consents, and its grants
/// (revoked in their objects first).
pub async fn delete_application<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
) -> Result<Entry, Failure> {
    let now = crate::runtime::Clock::now(svc.clock);
    if !super::grants::delete_application(svc.store, svc.grants, client_id, now).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such application"));
    }
    Ok(Entry::new(Event::ApplicationDeleted, "Application deleted").client(client_id))
}

/// `GET /api/v1/users/{id}/consents`.
pub async fn list_consents<D: Deps>(
    svc: &Services<'_, D>,
    user_id: &str,
) -> Result<Value, Failure> {
    let list = svc.store.list_consents(user_id).await?;
    Ok(json!({ "consents": list }))
}

/// `DELETE /api/v1/users/{id}/consents/{client_id}`: the user is asked again next time.
pub async fn revoke_consent<D: Deps>(
    svc: &Services<'_, D>,
    user_id: &str,
    client_id: &str,
) -> Result<Entry, Failure> {
    if !svc.store.delete_consent(user_id, client_id).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such consent"));
    }
    Ok(Entry::new(Event::ConsentRevoked, "Consent revoked")
        .user(user_id)
        .client(client_id))
}

/// `GET /api/v1/keys`.
pub async fn list_keys<D: Deps>(svc: &Services<'_, D>) -> Result<Value, Failure> {
    Ok(keys_json(&svc.store.all_keys().await?))
}

/// `POST /api/v1/keys/rotate`: the next key starts signing (see `Signer::rotate`); with
/// `{"alg": "RS256"}` (or ES256, EdDSA) only that algorithm's keys rotate, as a relying
/// party's key-rotation test expects (one new key of a type it knows).
pub async fn rotate_keys<D: Deps>(svc: &Services<'_, D>, body: &Value) -> Result<Done, Failure> {
    let only = match as_object(body)?.get("alg") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(SigningAlg::parse)
                .ok_or_else(|| Failure::invalid_request("alg: one of RS256, ES256, EdDSA"))?,
        ),
    };
    let kid = svc.signer.rotate(only).await?;
    let mut entry =
        Entry::new(Event::KeyRotated, "Signing keys rotated").detail("current_kid", kid.as_str());
    if let Some(alg) = only {
        entry = entry.detail("alg", alg.as_str());
    }
    Ok(Done {
        view: json!({ "current_kid": kid }),
        entry,
    })
}

pub async fn update_application<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    body: &Value,
) -> Result<Done, Failure> {
    let (store, clock) = (svc.store, svc.clock);
    let obj = as_object(body)?;
    let mut app = store
        .application(client_id)
        .await?
        .ok_or_else(|| Failure::new(OAuthError::NotFound, "no such application"))?;
    let warnings = apply_settings(&mut app, obj, false)?;
    if obj.contains_key("access_rules") {
        super::roles::require_existing(store, "access_rules.roles", &app.access_rules.roles)
            .await?;
    }
    app.updated_at = clock.now();
    if !store.update_application(&app).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such application"));
    }
    Ok(Done {
        view: with_warnings(app_json(&app), warnings),
        entry: app_entry(Event::ApplicationUpdated, "Application updated", &app),
    })
}

/// The longest grace period a rotated secret may keep working.
pub const MAX_SECRET_GRACE_SECS: i64 = 30 * 24 * 3600;

/// Issues a new client secret. With `grace_period_seconds` the old one keeps working that
/// long, so a backend fleet can roll over without failed token requests.
pub async fn rotate_secret<D: Deps>(
    svc: &Services<'_, D>,
    client_id: &str,
    body: &Value,
) -> Result<Done, Failure> {
    let (store, clock, rng) = (svc.store, svc.clock, svc.rng);
    let grace = match body.get("grace_period_seconds") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_SECRET_GRACE_SECS).contains(&n) => n,
            _ => {
                return Err(Failure::invalid_request(format!(
                    "grace_period_seconds: 0 to {MAX_SECRET_GRACE_SECS}"
                )))
            }
        },
    };
    if let Some(obj) = body.as_object() {
        if let Some(k) = obj.keys().find(|k| *k != "grace_period_seconds") {
            return Err(Failure::invalid_request(format!("{k}: unknown field")));
        }
    }
    let mut app = store
        .application(client_id)
        .await?
        .ok_or_else(|| Failure::new(OAuthError::NotFound, "no such application"))?;
    if !app.app_type.is_confidential() {
        return Err(Failure::invalid_request(
            "public applications (spa, native) have no client secret",
        ));
    }
    let now = clock.now();
    let secret = ClientSecret::generate(rng)?;
    let old = app.client_secret_hash.replace(secret.hashed());
    if grace > 0 {
        app.previous_secret_hash = old;
        app.previous_secret_expires_at = Some(now + grace);
    } else {
        app.previous_secret_hash = None;
        app.previous_secret_expires_at = None;
    }
    app.updated_at = now;
    if !store.update_application(&app).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such application"));
    }
    let mut view = app_json(&app);
    view["client_secret"] = json!(secret.expose());
    let entry = app_entry(Event::SecretRotated, "Client secret rotated", &app)
        .detail("previous_secret_expires_at", app.previous_secret_expires_at);
    Ok(Done { view, entry })
}

/// One page of applications, oldest first, with an opaque cursor for the next page.
pub async fn list_applications<D: Deps>(
    svc: &Services<'_, D>,
    query: &Params,
) -> Result<Value, Failure> {
    let store = svc.store;
    let limit = match query.get("limit")? {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return Err(Failure::invalid_request("limit: 1 to 200")),
        },
    };
    let app_type = match query.get("type")? {
        None => None,
        Some(t) => Some(AppType::parse(t).ok_or_else(|| {
            Failure::invalid_request("type: one of traditional, spa, native, m2m")
        })?),
    };
    let after = match query.get("cursor")? {
        None => None,
        Some(c) => Some(
            super::cursor::decode(c)
                .ok_or_else(|| Failure::invalid_request("cursor: not valid"))?,
        ),
    };
    let filter = AppQuery {
        app_type,
        name_contains: query.get("name")?.map(str::to_string),
        after,
        limit: limit + 1,
    };
    let mut apps = store.list_applications(&filter).await?;
    let next = if apps.len() > limit {
        apps.truncate(limit);
        apps.last()
            .map(|a| super::cursor::encode(a.created_at, &a.client_id))
    } else {
        None
    };
    let list: Vec<Value> = apps.iter().map(app_json).collect();
    Ok(json!({ "applications": list, "next_cursor": next }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::audit::Audit;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::{services, ISSUER};
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn create(store: &MemoryStore, body: Value) -> Result<Value, Failure> {
        create_done(store, body).map(|d| d.view)
    }

    fn create_done(store: &MemoryStore, body: Value) -> Result<Done, Failure> {
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(5), Audit::default());
        block_on(create_application(
            &services(store, &signer, &clock, ISSUER, &audit),
            &body,
        ))
    }

    #[test]
    fn confidential_apps_get_a_secret_shown_once_and_stored_hashed() {
        let store = MemoryStore::default();
        let v = create(
            &store,
            json!({"name": "Backend", "type": "traditional",
            "redirect_uris": ["https://app.example/cb"]}),
        )
        .unwrap();
        let secret = v["client_secret"].as_str().unwrap();
        assert_eq!(v["token_endpoint_auth_method"], "client_secret_basic");
        let stored = store.apps.borrow()[0].clone();
        assert!(ClientSecret::new(secret).matches_hash(stored.client_secret_hash.as_ref().unwrap()));
        assert!(app_json(&stored).get("client_secret").is_none());
        assert!(!app_json(&stored).to_string().contains(secret));
    }

    #[test]
    fn a_failed_insert_stores_nothing_and_hands_out_no_secret() {
        let store = MemoryStore::default();
        store.fail_on.borrow_mut().push("insert_application");
        let err = create(&store, json!({"name": "B", "type": "traditional"})).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
        assert!(!err.to_json().to_string().contains("client_secret"));
        assert!(store.apps.borrow().is_empty());
    }

    /// Issue 17: a wrong value inside the nested settings is named by its path, in plain
    /// words, never in the JSON parser's ("invalid type: string, expected i64").
    #[test]
    fn nested_settings_problems_are_named_by_path() {
        let store = MemoryStore::default();
        let err = create(
            &store,
            json!({"name": "A", "type": "spa", "token_settings": {
                "access_token_ttl": "soon", "rotate_refresh_token": 1, "ttl": 5,
                "id_token_ttl": 30}}),
        )
        .unwrap_err();
        let d = &err.description;
        assert!(
            d.contains("token_settings.access_token_ttl: must be a whole number"),
            "{d}"
        );
        assert!(
            d.contains("token_settings.rotate_refresh_token: must be true or false"),
            "{d}"
        );
        assert!(d.contains("token_settings.ttl: unknown setting"), "{d}");
        assert!(
            !d.contains("invalid type") && !d.contains("expected"),
            "{d}"
        );
        let err = create(
            &store,
            json!({"name": "A", "type": "spa", "token_settings": {"id_token_ttl": 30}}),
        )
        .unwrap_err();
        assert!(err
            .description
            .contains("token_settings.id_token_ttl: 60 to 86400 seconds"));
        assert!(store.apps.borrow().is_empty());
    }

    #[test]
    fn public_apps_get_none() {
        let store = MemoryStore::default();
        let v = create(
            &store,
            json!({"name": "SPA", "type": "spa",
            "allowed_origins": ["http://localhost:3000/"]}),
        )
        .unwrap();
        assert!(v.get("client_secret").is_none());
        assert_eq!(v["token_endpoint_auth_method"], "none");
        assert_eq!(v["allowed_origins"], json!(["http://localhost:3000"]));
    }

    #[test]
    fn validation_names_the_field() {
        let store = MemoryStore::default();
        for (body, field) in [
            (json!({"type": "spa"}), "name"),
            (json!({"name": "x", "type": "weird"}), "type"),
            (
                json!({"name": "x", "type": "spa", "redirect_uris": ["/relative"]}),
                "redirect_uris",
            ),
            (
                json!({"name": "x", "type": "spa", "redirect_uris": ["https://a.example/cb#frag"]}),
                "redirect_uris",
            ),
            (
                json!({"name": "x", "type": "spa", "redirect_uris": ["myapp://cb"]}),
                "redirect_uris",
            ),
            (
                json!({"name": "x", "type": "spa", "redirect_uris": "https://a.example"}),
                "redirect_uris",
            ),
            (
                json!({"name": "x", "type": "m2m", "redirect_uris": ["https://a.example/cb"]}),
                "redirect_uris",
            ),
            (
                json!({"name": "x", "type": "spa", "allowed_origins": ["https://a.example/path"]}),
                "allowed_origins",
            ),
            (
                json!({"name": "x", "type": "spa", "token_endpoint_auth_method": "client_secret_basic"}),
                "token_endpoint_auth_method",
            ),
            (
                json!({"name": "x", "type": "spa", "client_secret": "mine"}),
                "client_secret",
            ),
        ] {
            let err = create(&store, body.clone()).unwrap_err();
            assert_eq!(err.error, OAuthError::InvalidRequest);
            assert!(
                err.description.contains(field),
                "{body} -> {}",
                err.description
            );
        }
        assert!(store.apps.borrow().is_empty(), "nothing stored on failure");
    }

    #[test]
    fn wildcards_are_stored_normalized_with_warnings() {
        let store = MemoryStore::default();
        let v = create(
            &store,
            json!({"name": "x", "type": "spa",
                "redirect_uris": ["HTTPS://*.Example.com/cb", "https://app.example.com/cb"],
                "allowed_origins": ["https://*.example.com"]}),
        )
        .unwrap();
        assert_eq!(v["redirect_uris"][0], "https://*.example.com/cb");
        let warnings = v["warnings"].as_array().unwrap();
        assert_eq!(
            warnings.len(),
            1,
            "only the wildcard is warned about: {warnings:?}"
        );
        let full = create(
            &store,
            json!({"name": "y", "type": "spa", "redirect_uris": ["*"]}),
        )
        .unwrap();
        assert!(full["warnings"][0].as_str().unwrap().contains('*'));
        let exact = create(
            &store,
            json!({"name": "z", "type": "spa", "redirect_uris": ["https://a.example.com/cb"]}),
        )
        .unwrap();
        assert!(exact.get("warnings").is_none());
        for bad in [
            "https://exa*mple.com/cb",
            "https://*/cb",
            "https://host/*/x",
        ] {
            let err = create(
                &store,
                json!({"name": "b", "type": "spa", "redirect_uris": [bad]}),
            )
            .unwrap_err();
            assert!(err.description.contains("redirect_uris"), "{bad}");
        }
    }

    #[test]
    fn native_apps_may_use_private_schemes() {
        let store = MemoryStore::default();
        assert!(create(
            &store,
            json!({"name": "x", "type": "native",
            "redirect_uris": ["com.example.app:/callback", "http://127.0.0.1/cb"]})
        )
        .is_ok());
    }

    #[test]
    fn patch_changes_only_what_is_sent() {
        let store = MemoryStore::default();
        let v = create(
            &store,
            json!({"name": "SPA", "type": "spa", "description": "d"}),
        )
        .unwrap();
        let id = v["client_id"].as_str().unwrap();
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(9), Audit::default());
        let svc = services(&store, &signer, &clock, ISSUER, &audit);
        let out = block_on(update_application(
            &svc,
            id,
            &json!({"redirect_uris": ["https://a.example/cb"]}),
        ))
        .unwrap()
        .view;
        assert_eq!(out["description"], "d");
        assert_eq!(out["redirect_uris"], json!(["https://a.example/cb"]));
        assert_eq!(out["updated_at"], 9);
        let err = block_on(update_application(&svc, id, &json!({"type": "m2m"}))).unwrap_err();
        assert!(err.description.contains("type"));
        let err = block_on(update_application(&svc, "ghost", &json!({}))).unwrap_err();
        assert_eq!(err.error, OAuthError::NotFound);
    }

    #[test]
    fn management_actions_are_audited_without_secrets() {
        let store = MemoryStore::default();
        let done = create_done(
            &store,
            json!({ "name": "Shop", "type": "traditional", "redirect_uris": ["https://shop.example/cb"] }),
        )
        .unwrap();
        let secret = done.view["client_secret"].as_str().unwrap().to_string();
        let id = done.view["client_id"].as_str().unwrap().to_string();
        let e = done.entry;
        assert_eq!(e.event, Event::ApplicationCreated);
        assert_eq!(e.client_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.application_name.as_deref(), Some("Shop"));
        assert!(!format!("{e:?}").contains(&secret));
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(9), Audit::default());
        let svc = services(&store, &signer, &clock, ISSUER, &audit);
        let rotated = block_on(rotate_secret(
            &svc,
            &id,
            &json!({"grace_period_seconds": 60}),
        ))
        .unwrap();
        let new_secret = rotated.view["client_secret"].as_str().unwrap();
        assert_eq!(rotated.entry.event, Event::SecretRotated);
        assert_eq!(rotated.entry.detail["previous_secret_expires_at"], 69);
        assert!(!format!("{:?}", rotated.entry).contains(&secret));
        assert!(!format!("{:?}", rotated.entry).contains(new_secret));
        block_on(store.save_consent("u1", "c1", "openid", 1)).unwrap();
        let revoked = block_on(revoke_consent(&svc, "u1", "c1")).unwrap();
        assert_eq!(
            (
                revoked.event,
                revoked.user_id.as_deref(),
                revoked.client_id.as_deref()
            ),
            (Event::ConsentRevoked, Some("u1"), Some("c1"))
        );
        assert_eq!(
            block_on(revoke_consent(&svc, "u1", "c1"))
                .unwrap_err()
                .error,
            OAuthError::NotFound
        );
        // Nothing is recorded by the operations themselves: the caller adds `by` and records.
        assert!(audit.take().is_empty());
    }
}

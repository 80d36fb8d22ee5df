//! The management API's logic: applications and users, validated here so the HTTP layer
//! only moves JSON. Every validation error names the field it is about.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use url::Url;

use super::error::{Failure, OAuthError};
use crate::crypto::password::{hash_password, Pbkdf2};
use crate::crypto::{random_id, ClientSecret};
use crate::model::{AppType, Application, TokenAuthMethod, User};
use crate::runtime::{Clock, Random};
use crate::store::{Inserted, Store};

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_URIS: usize = 100;
const MAX_URI_LEN: usize = 2_000;

/// The public view of an application: never the secret or its hash.
pub fn app_json(app: &Application) -> Value {
    json!({
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "type": app.app_type.as_str(),
        "token_endpoint_auth_method": app.token_endpoint_auth_method.as_str(),
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "allowed_origins": app.allowed_origins,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
    })
}

fn field_error(field: &str, problem: impl std::fmt::Display) -> Failure {
    Failure::invalid_request(format!("{field}: {problem}"))
}

fn as_object(body: &Value) -> Result<&Map<String, Value>, Failure> {
    body.as_object()
        .ok_or_else(|| Failure::invalid_request("the body must be a JSON object"))
}

fn reject_unknown(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), Failure> {
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Failure::invalid_request(format!(
            "unknown or read-only fields: {}",
            unknown.join(", ")
        )))
    }
}

fn string_field(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Failure> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.trim().to_string())),
        Some(Value::String(_)) => Err(field_error(field, format!("at most {max} characters"))),
        Some(_) => Err(field_error(field, "must be a string")),
    }
}

fn string_list(obj: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, Failure> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let list: Vec<String> = Vec::<String>::deserialize(v)
                .map_err(|_| field_error(field, "must be an array of strings"))?;
            if list.len() > MAX_URIS {
                return Err(field_error(field, format!("at most {MAX_URIS} entries")));
            }
            Ok(Some(list))
        }
    }
}

/// Redirect URIs must be absolute, without fragment (RFC 6749 §3.1.2) and compared exactly
/// later (RFC 9700 §4.1.3). Web applications use http(s); native apps may also use a private
/// scheme (RFC 8252 §7.1); machine-to-machine applications have none.
fn check_redirect_uris(field: &str, uris: &[String], app_type: AppType) -> Result<(), Failure> {
    if app_type == AppType::M2m && !uris.is_empty() {
        return Err(field_error(
            field,
            "machine-to-machine applications have no redirect URIs",
        ));
    }
    for uri in uris {
        if uri.len() > MAX_URI_LEN {
            return Err(field_error(field, "URI too long"));
        }
        let url = Url::parse(uri)
            .map_err(|_| field_error(field, format!("not an absolute URI: {uri}")))?;
        if url.fragment().is_some() {
            return Err(field_error(
                field,
                format!("must not contain a fragment: {uri}"),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(field_error(
                field,
                format!("must not contain user information: {uri}"),
            ));
        }
        let web = matches!(url.scheme(), "http" | "https");
        if !web && app_type != AppType::Native {
            return Err(field_error(field, format!("must be http or https: {uri}")));
        }
        if uri.contains('*') {
            return Err(field_error(
                field,
                format!("wildcards are not supported yet: {uri}"),
            ));
        }
    }
    Ok(())
}

/// Origins as a browser sends them: `scheme://host[:port]`, nothing else.
fn normalize_origins(field: &str, origins: Vec<String>) -> Result<Vec<String>, Failure> {
    origins
        .into_iter()
        .map(|o| {
            let bad = || field_error(field, format!("not an origin (scheme://host[:port]): {o}"));
            let url = Url::parse(&o).map_err(|_| bad())?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(bad());
            }
            let origin = url.origin().ascii_serialization();
            if origin.trim_end_matches('/') != o.trim_end_matches('/').to_ascii_lowercase() {
                return Err(bad());
            }
            Ok(origin)
        })
        .collect()
}

fn auth_method_for(
    obj: &Map<String, Value>,
    app_type: AppType,
) -> Result<Option<TokenAuthMethod>, Failure> {
    let field = "token_endpoint_auth_method";
    let Some(s) = string_field(obj, field, 64)? else {
        return Ok(None);
    };
    let method = TokenAuthMethod::parse(&s).ok_or_else(|| {
        field_error(
            field,
            "one of none, client_secret_basic, client_secret_post",
        )
    })?;
    let fits = match method {
        TokenAuthMethod::None => !app_type.is_confidential(),
        _ => app_type.is_confidential(),
    };
    if !fits {
        return Err(field_error(
            field,
            format!(
                "{} does not fit a {} application",
                method.as_str(),
                app_type.as_str()
            ),
        ));
    }
    Ok(Some(method))
}

const CREATE_FIELDS: &[&str] = &[
    "name",
    "type",
    "description",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "token_endpoint_auth_method",
];

/// Creates an application; returns its JSON view with the secret, shown only this once.
pub async fn create_application(
    store: &impl Store,
    clock: &impl Clock,
    rng: &impl Random,
    body: &Value,
) -> Result<Value, Failure> {
    let obj = as_object(body)?;
    reject_unknown(obj, CREATE_FIELDS)?;
    let name = string_field(obj, "name", MAX_NAME)?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| field_error("name", "required"))?;
    let app_type = string_field(obj, "type", 32)?
        .as_deref()
        .and_then(AppType::parse)
        .ok_or_else(|| field_error("type", "one of traditional, spa, native, m2m"))?;
    let description = string_field(obj, "description", MAX_DESCRIPTION)?.unwrap_or_default();
    let redirect_uris = string_list(obj, "redirect_uris")?.unwrap_or_default();
    check_redirect_uris("redirect_uris", &redirect_uris, app_type)?;
    let post_logout = string_list(obj, "post_logout_redirect_uris")?.unwrap_or_default();
    check_redirect_uris("post_logout_redirect_uris", &post_logout, app_type)?;
    let origins = normalize_origins(
        "allowed_origins",
        string_list(obj, "allowed_origins")?.unwrap_or_default(),
    )?;
    let method = auth_method_for(obj, app_type)?.unwrap_or(app_type.default_auth_method());

    let secret = if app_type.is_confidential() {
        Some(ClientSecret::generate(rng)?)
    } else {
        None
    };
    let now = clock.now();
    let app = Application {
        client_id: random_id(rng, 24)?,
        name,
        description,
        app_type,
        client_secret_hash: secret.as_ref().map(ClientSecret::hashed),
        token_endpoint_auth_method: method,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        allowed_origins: origins,
        created_at: now,
        updated_at: now,
    };
    store.insert_application(&app).await?;
    let mut view = app_json(&app);
    if let Some(secret) = secret {
        view["client_secret"] = json!(secret.expose());
    }
    Ok(view)
}

const PATCH_FIELDS: &[&str] = &[
    "name",
    "description",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "token_endpoint_auth_method",
];

pub async fn update_application(
    store: &impl Store,
    clock: &impl Clock,
    client_id: &str,
    body: &Value,
) -> Result<Value, Failure> {
    let obj = as_object(body)?;
    reject_unknown(obj, PATCH_FIELDS)?;
    let mut app = store
        .application(client_id)
        .await?
        .ok_or_else(|| Failure::new(OAuthError::NotFound, "no such application"))?;
    if let Some(name) = string_field(obj, "name", MAX_NAME)? {
        if name.is_empty() {
            return Err(field_error("name", "must not be empty"));
        }
        app.name = name;
    }
    if let Some(d) = string_field(obj, "description", MAX_DESCRIPTION)? {
        app.description = d;
    }
    if let Some(uris) = string_list(obj, "redirect_uris")? {
        check_redirect_uris("redirect_uris", &uris, app.app_type)?;
        app.redirect_uris = uris;
    }
    if let Some(uris) = string_list(obj, "post_logout_redirect_uris")? {
        check_redirect_uris("post_logout_redirect_uris", &uris, app.app_type)?;
        app.post_logout_redirect_uris = uris;
    }
    if let Some(origins) = string_list(obj, "allowed_origins")? {
        app.allowed_origins = normalize_origins("allowed_origins", origins)?;
    }
    if let Some(method) = auth_method_for(obj, app.app_type)? {
        app.token_endpoint_auth_method = method;
    }
    app.updated_at = clock.now();
    if !store.update_application(&app).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such application"));
    }
    Ok(app_json(&app))
}

pub async fn create_user(
    store: &impl Store,
    kdf: &impl Pbkdf2,
    iterations: u32,
    clock: &impl Clock,
    rng: &impl Random,
    body: &Value,
) -> Result<Value, Failure> {
    let obj = as_object(body)?;
    reject_unknown(obj, &["email", "password", "name", "email_verified"])?;
    let email = string_field(obj, "email", 254)?
        .filter(|e| is_plausible_email(e))
        .ok_or_else(|| field_error("email", "a valid email address is required"))?;
    let password = match obj.get("password") {
        Some(Value::String(p)) if (8..=1024).contains(&p.chars().count()) => p.clone(),
        _ => return Err(field_error("password", "8 to 1024 characters required")),
    };
    let name = string_field(obj, "name", MAX_NAME)?.filter(|n| !n.is_empty());
    let email_verified = match obj.get("email_verified") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(field_error("email_verified", "must be a boolean")),
    };
    let user = User {
        id: random_id(rng, 24)?,
        email,
        name,
        email_verified,
        password_hash: hash_password(kdf, rng, &password, iterations).await?,
        created_at: clock.now(),
    };
    match store.insert_user(&user).await? {
        Inserted::Yes => Ok(json!({
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "email_verified": user.email_verified,
            "created_at": user.created_at,
        })),
        Inserted::Conflict => Err(Failure::new(
            OAuthError::Conflict,
            "a user with this email exists already",
        )),
    }
}

fn is_plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::password::testing::FakeKdf;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn create(store: &MemoryStore, body: Value) -> Result<Value, Failure> {
        block_on(create_application(
            store,
            &FixedClock::at(5),
            &CountingRandom::new(),
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
        let clock = FixedClock::at(9);
        let out = block_on(update_application(
            &store,
            &clock,
            id,
            &json!({"redirect_uris": ["https://a.example/cb"]}),
        ))
        .unwrap();
        assert_eq!(out["description"], "d");
        assert_eq!(out["redirect_uris"], json!(["https://a.example/cb"]));
        assert_eq!(out["updated_at"], 9);
        let err = block_on(update_application(
            &store,
            &clock,
            id,
            &json!({"type": "m2m"}),
        ))
        .unwrap_err();
        assert!(err.description.contains("type"));
        let err = block_on(update_application(&store, &clock, "ghost", &json!({}))).unwrap_err();
        assert_eq!(err.error, OAuthError::NotFound);
    }

    #[test]
    fn users_are_created_once_per_email() {
        let store = MemoryStore::default();
        let kdf = FakeKdf::default();
        let run = |body: Value| {
            block_on(create_user(
                &store,
                &kdf,
                20_000,
                &FixedClock::at(1),
                &CountingRandom::new(),
                &body,
            ))
        };
        let v = run(json!({"email": "ada@example.com", "password": "correct horse"})).unwrap();
        assert!(v.get("password_hash").is_none());
        assert_eq!(
            run(json!({"email": "ADA@example.com", "password": "correct horse"}))
                .unwrap_err()
                .error,
            OAuthError::Conflict
        );
        assert!(run(json!({"email": "nope", "password": "correct horse"}))
            .unwrap_err()
            .description
            .contains("email"));
        assert!(run(json!({"email": "b@example.com", "password": "short"}))
            .unwrap_err()
            .description
            .contains("password"));
    }
}

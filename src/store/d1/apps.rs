//! `applications`, and the isolate's cache of them.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{changes, err, forget_application, int, json_list, opt_text, text, D1Store, APPS};
use crate::model::SigningAlg;
use crate::model::{AppType, Application, TokenAuthMethod};
use crate::store::{AppQuery, StoreError, StoreResult};

#[derive(Deserialize)]
struct AppRow {
    client_id: String,
    name: String,
    description: String,
    app_type: String,
    client_secret_hash: Option<String>,
    previous_secret_hash: Option<String>,
    previous_secret_expires_at: Option<i64>,
    token_endpoint_auth_method: String,
    grant_types: String,
    home_url: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    allowed_origins: String,
    cors_from_redirect_uris: i64,
    first_party: i64,
    allow_signup: i64,
    token_settings: String,
    id_token_signed_response_alg: String,
    allowed_audiences: String,
    allowed_scopes: String,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: i64,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    access_rules: String,
    registration_token_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<AppRow> for Application {
    type Error = StoreError;
    fn try_from(r: AppRow) -> StoreResult<Self> {
        let list = |s: &str| serde_json::from_str::<Vec<String>>(s).map_err(err);
        Ok(Application {
            app_type: AppType::parse(&r.app_type)
                .ok_or_else(|| err(format!("bad app_type {}", r.app_type)))?,
            token_endpoint_auth_method: TokenAuthMethod::parse(&r.token_endpoint_auth_method)
                .ok_or_else(|| err("bad token_endpoint_auth_method"))?,
            grant_types: serde_json::from_str(&r.grant_types).map_err(err)?,
            redirect_uris: list(&r.redirect_uris)?,
            post_logout_redirect_uris: list(&r.post_logout_redirect_uris)?,
            allowed_origins: list(&r.allowed_origins)?,
            token_settings: serde_json::from_str(&r.token_settings).map_err(err)?,
            id_token_signed_response_alg: SigningAlg::parse(&r.id_token_signed_response_alg)
                .ok_or_else(|| err("bad id_token_signed_response_alg"))?,
            allowed_audiences: list(&r.allowed_audiences)?,
            allowed_scopes: list(&r.allowed_scopes)?,
            cors_from_redirect_uris: r.cors_from_redirect_uris != 0,
            first_party: r.first_party != 0,
            allow_signup: r.allow_signup != 0,
            backchannel_logout_uri: r.backchannel_logout_uri,
            backchannel_logout_session_required: r.backchannel_logout_session_required != 0,
            logo_uri: r.logo_uri,
            policy_uri: r.policy_uri,
            tos_uri: r.tos_uri,
            userinfo_signed_response_alg: match r.userinfo_signed_response_alg.as_deref() {
                Some(a) => Some(SigningAlg::parse(a).ok_or_else(|| err("bad userinfo alg"))?),
                None => None,
            },
            jwks: r.jwks,
            jwks_uri: r.jwks_uri,
            access_rules: serde_json::from_str(&r.access_rules).map_err(err)?,
            home_url: r.home_url,
            client_id: r.client_id,
            name: r.name,
            description: r.description,
            client_secret_hash: r.client_secret_hash,
            previous_secret_hash: r.previous_secret_hash,
            previous_secret_expires_at: r.previous_secret_expires_at,
            registration_token_hash: r.registration_token_hash,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const APP_COLUMNS: &str = "client_id, name, description, app_type, client_secret_hash, \
    previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method, grant_types, \
    home_url, redirect_uris, post_logout_redirect_uris, allowed_origins, cors_from_redirect_uris, \
    first_party, token_settings, id_token_signed_response_alg, allowed_audiences, allowed_scopes, \
    backchannel_logout_uri, backchannel_logout_session_required, logo_uri, policy_uri, tos_uri, \
    userinfo_signed_response_alg, jwks, jwks_uri, access_rules, registration_token_hash, created_at, \
    updated_at, allow_signup";

/// The bound values of APP_COLUMNS, in order.
fn app_values(a: &Application) -> Vec<JsValue> {
    vec![
        text(&a.client_id),
        text(&a.name),
        text(&a.description),
        text(a.app_type.as_str()),
        opt_text(a.client_secret_hash.as_deref()),
        opt_text(a.previous_secret_hash.as_deref()),
        a.previous_secret_expires_at
            .map(int)
            .unwrap_or(JsValue::NULL),
        text(a.token_endpoint_auth_method.as_str()),
        text(&serde_json::to_string(&a.grant_types).unwrap_or_else(|_| "[]".into())),
        opt_text(a.home_url.as_deref()),
        json_list(&a.redirect_uris),
        json_list(&a.post_logout_redirect_uris),
        json_list(&a.allowed_origins),
        int(a.cors_from_redirect_uris as i64),
        int(a.first_party as i64),
        text(&serde_json::to_string(&a.token_settings).unwrap_or_else(|_| "{}".into())),
        text(a.id_token_signed_response_alg.as_str()),
        json_list(&a.allowed_audiences),
        json_list(&a.allowed_scopes),
        opt_text(a.backchannel_logout_uri.as_deref()),
        int(a.backchannel_logout_session_required as i64),
        opt_text(a.logo_uri.as_deref()),
        opt_text(a.policy_uri.as_deref()),
        opt_text(a.tos_uri.as_deref()),
        opt_text(a.userinfo_signed_response_alg.map(|a| a.as_str())),
        opt_text(a.jwks.as_deref()),
        opt_text(a.jwks_uri.as_deref()),
        text(&serde_json::to_string(&a.access_rules).unwrap_or_else(|_| "{}".into())),
        opt_text(a.registration_token_hash.as_deref()),
        int(a.created_at),
        int(a.updated_at),
        int(a.allow_signup as i64),
    ]
}

pub(super) async fn application(d1: &D1Store, client_id: &str) -> StoreResult<Option<Application>> {
    let now = d1.now;
    if let Some(app) = APPS.with(|c| c.borrow().get(client_id, now)) {
        return Ok(Some(app));
    }
    let row: Option<AppRow> = d1
        .read(
            &format!("SELECT {APP_COLUMNS} FROM applications WHERE client_id = ?1"),
            &[text(client_id)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    let app = row.map(Application::try_from).transpose()?;
    // Unknown ids are not cached: they would let anyone fill the cache.
    if let Some(app) = &app {
        APPS.with(|c| c.borrow_mut().put(client_id, app.clone(), now));
    }
    Ok(app)
}

pub(super) async fn list_applications(d1: &D1Store, q: &AppQuery) -> StoreResult<Vec<Application>> {
    let (after_t, after_id) = match &q.after {
        Some((t, id)) => (int(*t), text(id)),
        None => (JsValue::NULL, JsValue::NULL),
    };
    let rows: Vec<AppRow> = d1
        .read_all(
            &format!(
                "SELECT {APP_COLUMNS} FROM applications \
                 WHERE (?1 IS NULL OR app_type = ?1) \
                 AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0) \
                 AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND client_id > ?4)) \
                 ORDER BY created_at, client_id LIMIT ?5"
            ),
            &[
                opt_text(q.app_type.map(|t| t.as_str())),
                opt_text(q.name_contains.as_deref()),
                after_t,
                after_id,
                int(q.limit as i64),
            ],
        )
        .await?;
    rows.into_iter().map(Application::try_from).collect()
}

pub(super) async fn insert_application(d1: &D1Store, a: &Application) -> StoreResult<()> {
    let n = APP_COLUMNS.split(',').count();
    let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    d1.exec(
        &format!(
            "INSERT INTO applications ({APP_COLUMNS}) VALUES ({})",
            placeholders.join(", ")
        ),
        &app_values(a),
    )
    .await?;
    forget_application(&a.client_id);
    Ok(())
}

pub(super) async fn update_application(d1: &D1Store, a: &Application) -> StoreResult<bool> {
    // Every column but the key and created_at, from the same list as the INSERT, so the
    // two cannot drift apart.
    let sets: Vec<String> = APP_COLUMNS
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter(|(_, c)| *c != "client_id" && *c != "created_at")
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    let result = d1
        .exec(
            &format!(
                "UPDATE applications SET {} WHERE client_id = ?1",
                sets.join(", ")
            ),
            &app_values(a),
        )
        .await?;
    forget_application(&a.client_id);
    Ok(changes(&result) > 0)
}

pub(super) async fn delete_application(d1: &D1Store, client_id: &str) -> StoreResult<bool> {
    // Its consents and legacy refresh tokens go with it (ON DELETE CASCADE); its grant
    // objects were revoked by the caller, and the index forgets them here.
    let results = d1
        .batch(vec![
            d1.member(
                "DELETE FROM applications WHERE client_id = ?1",
                &[text(client_id)],
            )?,
            d1.member(
                "DELETE FROM grants WHERE client_id = ?1",
                &[text(client_id)],
            )?,
        ])
        .await?;
    forget_application(client_id);
    Ok(results.first().map(changes).unwrap_or(0) > 0)
}

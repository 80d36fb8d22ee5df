//! The `Store` trait on D1. Only bound parameters; list-valued columns are JSON text.

use std::cell::RefCell;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::cache::{TtlCache, APP_TTL_SECS};
use super::meter::Meter;
use super::{AppQuery, Inserted, Redeemed, Redemption, Store, StoreError, StoreResult, UserQuery};
use crate::model::audit::{LogQuery, Record};
use crate::model::SigningAlg;
use crate::model::{
    AppType, Application, CodeRecord, Consent, KeyStatus, RefreshRecord, StoredKey, ThrottleState,
    TokenAuthMethod, User, UserClaims,
};

/// A handle on the database: cheap to clone (the signer keeps one of its own).
#[derive(Clone)]
pub struct D1Store {
    db: std::rc::Rc<D1Database>,
    meter: Meter,
    /// The request's time (the injected clock's), for the isolate cache's freshness.
    now: i64,
}

impl D1Store {
    pub fn new(db: D1Database, meter: Meter, now: i64) -> Self {
        Self {
            db: std::rc::Rc::new(db),
            meter,
            now,
        }
    }

    /// A statement sent on its own: one round trip.
    fn stmt(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.meter.d1(1);
        self.member(sql, args)
    }

    /// A statement that goes out in a batch (counted by `batch`).
    fn member(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.db.prepare(sql).bind(args).map_err(err)
    }

    /// One round trip, one transaction.
    async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> StoreResult<Vec<worker::D1Result>> {
        self.meter.d1(statements.len() as u32);
        self.db.batch(statements).await.map_err(err)
    }

    /// Runs one writing statement.
    async fn exec(&self, sql: &str, args: &[JsValue]) -> StoreResult<worker::D1Result> {
        self.stmt(sql, args)?.run().await.map_err(err)
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn opt_text(s: Option<&str>) -> JsValue {
    s.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

fn int(n: i64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn json_list(v: &[String]) -> JsValue {
    text(&serde_json::to_string(v).unwrap_or_else(|_| "[]".into()))
}

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
    token_settings: String,
    id_token_signed_response_alg: String,
    allowed_audiences: String,
    allowed_scopes: String,
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
    registration_token_hash, created_at, updated_at";

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
        opt_text(a.registration_token_hash.as_deref()),
        int(a.created_at),
        int(a.updated_at),
    ]
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    email_verified: i64,
    password_hash: String,
    created_at: i64,
    roles: String,
    disabled_at: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            name: r.name,
            email_verified: r.email_verified != 0,
            password_hash: r.password_hash,
            created_at: r.created_at,
            roles: r.roles.split_whitespace().map(str::to_string).collect(),
            disabled_at: r.disabled_at,
        }
    }
}

const USER_COLUMNS: &str =
    "id, email, name, email_verified, password_hash, created_at, roles, disabled_at";

#[derive(Deserialize)]
struct CodeRow {
    code_hash: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    claims: String,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
    grant_id: Option<String>,
}

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scope, nonce, \
    code_challenge, auth_time, claims, created_at, expires_at, consumed_at, grant_id";

impl TryFrom<CodeRow> for CodeRecord {
    type Error = StoreError;

    fn try_from(r: CodeRow) -> StoreResult<Self> {
        Ok(CodeRecord {
            claims: serde_json::from_str::<UserClaims>(&r.claims).map_err(err)?,
            code_hash: r.code_hash,
            client_id: r.client_id,
            user_id: r.user_id,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
            grant_id: r.grant_id,
        })
    }
}

const REFRESH_COLUMNS: &str =
    "token_hash, grant_id, client_id, user_id, scope, auth_time, claims, \
    created_at, expires_at, grant_expires_at, consumed_at, revoked_at";

/// The first ten REFRESH_COLUMNS of a new token, in order.
fn refresh_values(t: &RefreshRecord) -> StoreResult<Vec<JsValue>> {
    Ok(vec![
        text(&t.token_hash),
        text(&t.grant_id),
        text(&t.client_id),
        text(&t.user_id),
        text(&t.scope),
        int(t.auth_time),
        text(&serde_json::to_string(&t.claims).map_err(err)?),
        int(t.created_at),
        int(t.expires_at),
        int(t.grant_expires_at),
    ])
}

fn opt_int(n: Option<i64>) -> JsValue {
    n.map(int).unwrap_or(JsValue::NULL)
}

#[derive(Deserialize)]
struct RefreshRow {
    token_hash: String,
    grant_id: String,
    client_id: String,
    user_id: String,
    scope: String,
    auth_time: i64,
    claims: String,
    created_at: i64,
    expires_at: i64,
    grant_expires_at: i64,
    consumed_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<RefreshRow> for RefreshRecord {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> StoreResult<Self> {
        Ok(RefreshRecord {
            claims: serde_json::from_str(&r.claims).map_err(err)?,
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            grant_expires_at: r.grant_expires_at,
            consumed_at: r.consumed_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(Deserialize)]
struct ConsentRow {
    client_id: String,
    scope: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(Deserialize)]
struct KeyRow {
    kid: String,
    alg: String,
    status: KeyStatus,
    public_jwk: String,
    private_key_enc: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl From<KeyRow> for StoredKey {
    fn from(r: KeyRow) -> Self {
        StoredKey {
            kid: r.kid,
            alg: r.alg,
            status: r.status,
            public_jwk: r.public_jwk,
            private_key_enc: r.private_key_enc,
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

const KEY_COLUMNS: &str = "kid, alg, status, public_jwk, private_key_enc, created_at, retired_at";

fn key_values(k: &StoredKey) -> Vec<JsValue> {
    vec![
        text(&k.kid),
        text(&k.alg),
        text(k.status.as_str()),
        text(&k.public_jwk),
        text(&k.private_key_enc),
        int(k.created_at),
        opt_int(k.retired_at),
    ]
}

impl D1Store {
    async fn keys(&self, sql: &str, args: &[JsValue]) -> StoreResult<Vec<StoredKey>> {
        let rows: Vec<KeyRow> = self
            .stmt(sql, args)?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        Ok(rows.into_iter().map(StoredKey::from).collect())
    }

    async fn one_key(&self, sql: &str, args: &[JsValue]) -> StoreResult<Option<StoredKey>> {
        let row: Option<KeyRow> = self.stmt(sql, args)?.first(None).await.map_err(err)?;
        Ok(row.map(StoredKey::from))
    }
}

fn changes(result: &worker::D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

thread_local! {
    /// Applications by client id: see `store::cache`.
    static APPS: RefCell<TtlCache<Application>> = RefCell::new(TtlCache::new(APP_TTL_SECS));
}

/// After a write to `applications` through this isolate: its copy of that application.
fn forget_application(client_id: &str) {
    APPS.with(|c| c.borrow_mut().remove(client_id));
}

impl Store for D1Store {
    async fn application(&self, client_id: &str) -> StoreResult<Option<Application>> {
        let now = self.now;
        if let Some(app) = APPS.with(|c| c.borrow().get(client_id, now)) {
            return Ok(Some(app));
        }
        let row: Option<AppRow> = self
            .stmt(
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

    async fn list_applications(&self, q: &AppQuery) -> StoreResult<Vec<Application>> {
        let (after_t, after_id) = match &q.after {
            Some((t, id)) => (int(*t), text(id)),
            None => (JsValue::NULL, JsValue::NULL),
        };
        let rows: Vec<AppRow> = self
            .stmt(
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
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        rows.into_iter().map(Application::try_from).collect()
    }

    async fn insert_application(&self, a: &Application) -> StoreResult<()> {
        let n = APP_COLUMNS.split(',').count();
        let placeholders: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
        self.exec(
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

    async fn update_application(&self, a: &Application) -> StoreResult<bool> {
        // Every column but the key and created_at, from the same list as the INSERT, so the
        // two cannot drift apart.
        let sets: Vec<String> = APP_COLUMNS
            .split(',')
            .map(str::trim)
            .enumerate()
            .filter(|(_, c)| *c != "client_id" && *c != "created_at")
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let result = self
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

    async fn delete_application(&self, client_id: &str) -> StoreResult<bool> {
        // Codes go with it (ON DELETE CASCADE), so they cannot be redeemed afterwards.
        let result = self
            .exec(
                "DELETE FROM applications WHERE client_id = ?1",
                &[text(client_id)],
            )
            .await?;
        forget_application(client_id);
        Ok(changes(&result) > 0)
    }

    async fn throttle_states(&self, keys: &[String]) -> StoreResult<Vec<(String, ThrottleState)>> {
        #[derive(Deserialize)]
        struct Row {
            throttle_key: String,
            failures: i64,
            window_start: i64,
            locked_until: i64,
        }
        let args: Vec<JsValue> = keys.iter().map(|k| text(k)).collect();
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("?{i}")).collect();
        let rows: Vec<Row> = self
            .stmt(
                &format!(
                    "SELECT throttle_key, failures, window_start, locked_until FROM login_throttle \
                     WHERE throttle_key IN ({})",
                    placeholders.join(", ")
                ),
                &args,
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let state = ThrottleState {
                    failures: r.failures,
                    window_start: r.window_start,
                    locked_until: r.locked_until,
                };
                (r.throttle_key, state)
            })
            .collect())
    }

    async fn record_failure(&self, key: &str, now: i64, window: i64) -> StoreResult<i64> {
        // One upsert: the increment happens inside SQLite, so parallel guesses each count.
        let row: Option<serde_json::Value> = self
            .stmt(
                "INSERT INTO login_throttle (throttle_key, failures, window_start, locked_until) \
                 VALUES (?1, 1, ?2, 0) ON CONFLICT (throttle_key) DO UPDATE SET \
                 failures = CASE WHEN login_throttle.window_start <= ?2 - ?3 THEN 1 \
                   ELSE login_throttle.failures + 1 END, \
                 window_start = CASE WHEN login_throttle.window_start <= ?2 - ?3 THEN ?2 \
                   ELSE login_throttle.window_start END \
                 RETURNING failures",
                &[text(key), int(now), int(window)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        Ok(row
            .and_then(|r| r.get("failures").and_then(serde_json::Value::as_i64))
            .unwrap_or(1))
    }

    async fn lock_until(&self, key: &str, until: i64) -> StoreResult<()> {
        self.exec(
            "UPDATE login_throttle SET locked_until = max(locked_until, ?2) WHERE throttle_key = ?1",
            &[text(key), int(until)],
        ).await?;
        Ok(())
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM login_throttle WHERE throttle_key = ?1",
            &[text(key)],
        )
        .await?;
        Ok(())
    }

    async fn insert_user(&self, u: &User) -> StoreResult<Inserted> {
        let result = self.exec(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"),
                &[
                    text(&u.id),
                    text(&u.email),
                    opt_text(u.name.as_deref()),
                    int(u.email_verified as i64),
                    text(&u.password_hash),
                    int(u.created_at),
                    text(&u.roles.join(" ")),
                    opt_int(u.disabled_at),
                ],
            ).await?;
        Ok(if changes(&result) > 0 {
            Inserted::Yes
        } else {
            Inserted::Conflict
        })
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = self
            .stmt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                &[text(email)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        Ok(row.map(User::from))
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = self
            .stmt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                &[text(id)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        Ok(row.map(User::from))
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        let (before_t, before_id) = match &q.before {
            Some((t, id)) => (int(*t), text(id)),
            None => (JsValue::NULL, JsValue::NULL),
        };
        let rows: Vec<UserRow> = self
            .stmt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users \
                     WHERE (?1 IS NULL OR instr(lower(email), lower(?1)) > 0 \
                            OR instr(lower(coalesce(name, '')), lower(?1)) > 0) \
                     AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
                     ORDER BY created_at DESC, id DESC LIMIT ?4"
                ),
                &[
                    opt_text(q.contains.as_deref()),
                    before_t,
                    before_id,
                    int(q.limit as i64),
                ],
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let update = self.member(
            "UPDATE users SET name = ?2, email_verified = ?3, roles = ?4, password_hash = ?5, \
             disabled_at = ?6 WHERE id = ?1",
            &[
                text(&u.id),
                opt_text(u.name.as_deref()),
                int(u.email_verified as i64),
                text(&u.roles.join(" ")),
                text(&u.password_hash),
                opt_int(u.disabled_at),
            ],
        )?;
        let mut statements = vec![update];
        if u.is_disabled() {
            statements.push(self.member(
                "DELETE FROM refresh_tokens WHERE user_id = ?1",
                &[text(&u.id)],
            )?);
            statements.push(self.member(
                "DELETE FROM authorization_codes WHERE user_id = ?1 AND consumed_at IS NULL",
                &[text(&u.id)],
            )?);
        }
        let results = self.batch(statements).await?;
        Ok(results.first().map(changes).unwrap_or(0) > 0)
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let row: Option<ConsentRow> = self
            .stmt(
                "SELECT client_id, scope, created_at, updated_at FROM consents WHERE user_id = ?1 AND client_id = ?2",
                &[text(user_id), text(client_id)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        Ok(row.map(|r| r.scope))
    }

    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
            &[text(user_id), text(client_id), text(scope), int(now)],
        ).await?;
        Ok(())
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        let rows: Vec<ConsentRow> = self
            .stmt(
                "SELECT client_id, scope, created_at, updated_at FROM consents WHERE user_id = ?1 ORDER BY created_at",
                &[text(user_id)],
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        Ok(rows
            .into_iter()
            .map(|r| Consent {
                client_id: r.client_id,
                scope: r.scope,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        let result = self
            .exec(
                "DELETE FROM consents WHERE user_id = ?1 AND client_id = ?2",
                &[text(user_id), text(client_id)],
            )
            .await?;
        Ok(changes(&result) > 0)
    }

    async fn insert_code(&self, c: &CodeRecord) -> StoreResult<bool> {
        let claims = serde_json::to_string(&c.claims).map_err(err)?;
        // The disabled check rides in the INSERT: no extra round trip for authorize.
        let result = self.exec(
            "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
             code_challenge, auth_time, claims, created_at, expires_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE NOT EXISTS \
             (SELECT 1 FROM users WHERE id = ?3 AND disabled_at IS NOT NULL)",
            &[
                text(&c.code_hash),
                text(&c.client_id),
                text(&c.user_id),
                text(&c.redirect_uri),
                text(&c.scope),
                opt_text(c.nonce.as_deref()),
                opt_text(c.code_challenge.as_deref()),
                int(c.auth_time),
                text(&claims),
                int(c.created_at),
                int(c.expires_at),
            ],
        ).await?;
        Ok(changes(&result) > 0)
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        let row: Option<CodeRow> = self
            .stmt(
                &format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = ?1"),
                &[text(code_hash)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        row.map(CodeRecord::try_from).transpose()
    }

    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>> {
        // One batch is one transaction and one round trip. The UPDATE consumes the code only
        // if every check of RFC 6749 §4.1.3 and RFC 7636 §4.6 holds (`IS` also matches a
        // missing challenge to a missing verifier), so of concurrent redemptions only the
        // first finds it live. The INSERT then copies the grant from the row this call
        // marked, and only when its scope calls for a refresh token.
        let mut statements = Vec::with_capacity(2);
        statements.push(self.member(
            &format!(
                "UPDATE authorization_codes SET consumed_at = ?2, grant_id = ?3 \
                 WHERE code_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2 \
                 AND client_id = ?4 AND redirect_uri = ?5 AND code_challenge IS ?6 \
                 RETURNING {CODE_COLUMNS}"
            ),
            &[
                text(r.code_hash),
                int(r.now),
                text(r.grant_id),
                text(r.client_id),
                text(r.redirect_uri),
                opt_text(r.challenge),
            ],
        )?);
        if let Some(p) = &r.refresh {
            statements.push(self.member(
                "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, \
                 auth_time, claims, created_at, expires_at, grant_expires_at) \
                 SELECT ?1, grant_id, client_id, user_id, scope, auth_time, claims, consumed_at, ?4, ?5 \
                 FROM authorization_codes WHERE code_hash = ?2 AND grant_id = ?3 \
                 AND (?6 = 1 OR instr(' ' || scope || ' ', ' offline_access ') > 0)",
                &[
                    text(p.token_hash),
                    text(r.code_hash),
                    text(r.grant_id),
                    int(p.expires_at),
                    int(p.grant_expires_at),
                    int(i64::from(p.always)),
                ],
            )?);
        }
        let results = self.batch(statements).await?;
        let Some(consumed) = results.first() else {
            return Err(StoreError("D1 batch returned no results".into()));
        };
        let Some(row) = consumed
            .results::<CodeRow>()
            .map_err(err)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        Ok(Some(Redeemed {
            code: CodeRecord::try_from(row)?,
            refresh_stored: results.get(1).map(changes).unwrap_or(0) > 0,
        }))
    }

    async fn unredeem_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        self.batch(vec![
            self.member(
                "DELETE FROM refresh_tokens WHERE grant_id = ?1",
                &[text(grant_id)],
            )?,
            self.member(
                "UPDATE authorization_codes SET consumed_at = NULL, grant_id = NULL \
                 WHERE code_hash = ?1 AND grant_id = ?2",
                &[text(code_hash), text(grant_id)],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        let row: Option<RefreshRow> = self
            .stmt(
                &format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?1"),
                &[text(token_hash)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        row.map(RefreshRecord::try_from).transpose()
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshRecord,
        now: i64,
    ) -> StoreResult<bool> {
        // One batch is one transaction. The INSERT copies nothing unless the old token is
        // live, and the UPDATE consumes it under the same condition, so either both happen
        // or neither; a concurrent rotation that committed first makes both no-ops here.
        let mut insert_args = refresh_values(new)?;
        insert_args.push(text(old_hash));
        insert_args.push(int(now));
        let insert = self.member(
            "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, claims, \
             created_at, expires_at, grant_expires_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM refresh_tokens \
             WHERE token_hash = ?11 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?12)",
            &insert_args,
        )?;
        let consume = self.member(
            "UPDATE refresh_tokens SET consumed_at = ?2 WHERE token_hash = ?1 \
             AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
            &[text(old_hash), int(now)],
        )?;
        let results = self.batch(vec![insert, consume]).await?;
        Ok(results.get(1).map(changes).unwrap_or(0) > 0)
    }

    async fn extend_refresh(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let result = self
            .exec(
                "UPDATE refresh_tokens SET expires_at = ?2 WHERE token_hash = ?1 \
                 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?3",
                &[text(token_hash), int(expires_at), int(now)],
            )
            .await?;
        Ok(changes(&result) > 0)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        self.exec(
            "UPDATE refresh_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
            &[text(grant_id), int(now)],
        )
        .await?;
        Ok(())
    }

    async fn key_in_slot(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> StoreResult<Option<StoredKey>> {
        self.one_key(
            &format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE alg = ?1 AND status = ?2"),
            &[text(alg.as_str()), text(status.as_str())],
        )
        .await
    }

    async fn insert_key_if_slot_free(&self, k: &StoredKey) -> StoreResult<()> {
        // The partial unique index on (alg, status) turns a lost race into a no-op.
        self.exec(
            &format!("INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"),
            &key_values(k),
        ).await?;
        Ok(())
    }

    async fn key_by_kid(&self, kid: &str) -> StoreResult<Option<StoredKey>> {
        self.one_key(
            &format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE kid = ?1"),
            &[text(kid)],
        )
        .await
    }

    async fn rotate_keys(&self, new_next: &StoredKey, now: i64) -> StoreResult<()> {
        // One batch is one transaction: the slots are never empty or doubled, whatever runs
        // at the same time (a second rotation simply rotates once more).
        let alg = text(&new_next.alg);
        let statements = vec![
            self.member(
                "UPDATE signing_keys SET status = 'retired', retired_at = ?2 WHERE alg = ?1 AND status = 'current'",
                &[alg.clone(), int(now)],
            )?,
            self.member(
                "UPDATE signing_keys SET status = 'current' WHERE alg = ?1 AND status = 'next'",
                &[alg],
            )?,
            self.member(
                &format!("INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                &key_values(new_next),
            )?,
        ];
        self.batch(statements).await?;
        Ok(())
    }

    async fn all_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.keys(
            &format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC"),
            &[],
        )
        .await
    }

    async fn published_keys(&self, retired_after: i64) -> StoreResult<Vec<StoredKey>> {
        self.keys(
            &format!(
                "SELECT {KEY_COLUMNS} FROM signing_keys \
                 WHERE status IN ('current', 'next') OR retired_at > ?1 ORDER BY created_at DESC"
            ),
            &[int(retired_after)],
        )
        .await
    }

    async fn append_audit(&self, records: &[Record]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let statements = records
            .iter()
            .map(|r| {
                self.member(
                    "INSERT OR IGNORE INTO audit_log (id, created_at, event, description, client_id, \
                     application_name, user_id, ip, user_agent, detail) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    &[
                        text(&r.id),
                        int(r.created_at),
                        text(&r.event),
                        text(&r.description),
                        opt_text(r.client_id.as_deref()),
                        opt_text(r.application_name.as_deref()),
                        opt_text(r.user_id.as_deref()),
                        opt_text(r.ip.as_deref()),
                        opt_text(r.user_agent.as_deref()),
                        text(&r.detail.to_string()),
                    ],
                )
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch(statements).await?;
        Ok(())
    }

    async fn audit_records(&self, q: &LogQuery) -> StoreResult<Vec<Record>> {
        // Every filter is a bound parameter that may be NULL, so the text never varies.
        // Rows as JSON values rather than a derived row type: one deserializer the Wasm
        // already has, instead of a new one (size budget of issue 6).
        let rows: Vec<serde_json::Value> = self
            .stmt(
                "SELECT id, created_at, event, description, client_id, application_name, user_id, \
                 ip, user_agent, detail FROM audit_log \
                 WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR user_id = ?2) \
                 AND (?3 IS NULL OR event = ?3) AND (?4 IS NULL OR created_at >= ?4) \
                 AND (?5 IS NULL OR created_at < ?5) \
                 AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7)) \
                 ORDER BY created_at DESC, id DESC LIMIT ?8",
                &[
                    opt_text(q.client_id.as_deref()),
                    opt_text(q.user_id.as_deref()),
                    opt_text(q.event.map(|e| e.as_str())),
                    opt_int(q.since),
                    opt_int(q.until),
                    opt_int(q.before.as_ref().map(|(t, _)| *t)),
                    opt_text(q.before.as_ref().map(|(_, id)| id.as_str())),
                    int(q.limit as i64),
                ],
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
        let text = |row: &serde_json::Value, k: &str| row[k].as_str().map(str::to_string);
        Ok(rows
            .iter()
            .map(|r| Record {
                id: text(r, "id").unwrap_or_default(),
                created_at: r["created_at"].as_i64().unwrap_or(0),
                event: text(r, "event").unwrap_or_default(),
                description: text(r, "description").unwrap_or_default(),
                client_id: text(r, "client_id"),
                application_name: text(r, "application_name"),
                user_id: text(r, "user_id"),
                ip: text(r, "ip"),
                user_agent: text(r, "user_agent"),
                detail: r["detail"]
                    .as_str()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    async fn purge_audit(&self, before: i64) -> StoreResult<u64> {
        let result = self
            .exec(
                "DELETE FROM audit_log WHERE created_at < ?1",
                &[int(before)],
            )
            .await?;
        Ok(changes(&result) as u64)
    }
}

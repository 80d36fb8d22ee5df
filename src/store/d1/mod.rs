//! The `Store` trait on D1. Only bound parameters; list-valued columns are JSON text.
//!
//! Here: the handle, the binding helpers and the isolate's application cache. The
//! statements live in one file per group of tables; `impl Store` below only hands over.

use std::cell::RefCell;

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::cache::{TtlCache, APP_TTL_SECS};
use super::meter::Meter;
use super::{AppQuery, Inserted, Redeemed, Redemption, Store, StoreError, StoreResult, UserQuery};
use crate::model::audit::{LogQuery, Record};
use crate::model::SigningAlg;
use crate::model::{
    Application, CodeRecord, Consent, KeyStatus, RefreshRecord, StoredKey, ThrottleState, User,
};

mod apps;
mod audit;
mod grants;
mod keys;
mod users;

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

fn opt_int(n: Option<i64>) -> JsValue {
    n.map(int).unwrap_or(JsValue::NULL)
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
        apps::application(self, client_id).await
    }

    async fn list_applications(&self, q: &AppQuery) -> StoreResult<Vec<Application>> {
        apps::list_applications(self, q).await
    }

    async fn insert_application(&self, a: &Application) -> StoreResult<()> {
        apps::insert_application(self, a).await
    }

    async fn update_application(&self, a: &Application) -> StoreResult<bool> {
        apps::update_application(self, a).await
    }

    async fn delete_application(&self, client_id: &str) -> StoreResult<bool> {
        apps::delete_application(self, client_id).await
    }

    async fn throttle_states(&self, keys: &[String]) -> StoreResult<Vec<(String, ThrottleState)>> {
        users::throttle_states(self, keys).await
    }

    async fn record_failure(&self, key: &str, now: i64, window: i64) -> StoreResult<i64> {
        users::record_failure(self, key, now, window).await
    }

    async fn lock_until(&self, key: &str, until: i64) -> StoreResult<()> {
        users::lock_until(self, key, until).await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        users::clear_throttle(self, key).await
    }

    async fn insert_user(&self, u: &User) -> StoreResult<Inserted> {
        users::insert_user(self, u).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        users::user_by_email(self, email).await
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        users::user_by_id(self, id).await
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        users::list_users(self, q).await
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        users::update_user(self, u).await
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        users::consent(self, user_id, client_id).await
    }

    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        users::save_consent(self, user_id, client_id, scope, now).await
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        users::list_consents(self, user_id).await
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        users::delete_consent(self, user_id, client_id).await
    }

    async fn insert_code(&self, c: &CodeRecord) -> StoreResult<bool> {
        grants::insert_code(self, c).await
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        grants::code(self, code_hash).await
    }

    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>> {
        grants::redeem_code(self, r).await
    }

    async fn unredeem_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        grants::unredeem_code(self, code_hash, grant_id).await
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        grants::refresh_token(self, token_hash).await
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshRecord,
        now: i64,
    ) -> StoreResult<bool> {
        grants::rotate_refresh(self, old_hash, new, now).await
    }

    async fn extend_refresh(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        grants::extend_refresh(self, token_hash, expires_at, now).await
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        grants::revoke_grant(self, grant_id, now).await
    }

    async fn key_in_slot(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> StoreResult<Option<StoredKey>> {
        keys::key_in_slot(self, alg, status).await
    }

    async fn insert_key_if_slot_free(&self, k: &StoredKey) -> StoreResult<()> {
        keys::insert_key_if_slot_free(self, k).await
    }

    async fn key_by_kid(&self, kid: &str) -> StoreResult<Option<StoredKey>> {
        keys::key_by_kid(self, kid).await
    }

    async fn rotate_keys(&self, new_next: &StoredKey, now: i64) -> StoreResult<()> {
        keys::rotate_keys(self, new_next, now).await
    }

    async fn all_keys(&self) -> StoreResult<Vec<StoredKey>> {
        keys::all_keys(self).await
    }

    async fn published_keys(&self, retired_after: i64) -> StoreResult<Vec<StoredKey>> {
        keys::published_keys(self, retired_after).await
    }

    async fn append_audit(&self, records: &[Record]) -> StoreResult<()> {
        audit::append_audit(self, records).await
    }

    async fn audit_records(&self, q: &LogQuery) -> StoreResult<Vec<Record>> {
        audit::audit_records(self, q).await
    }

    async fn purge_audit(&self, before: i64) -> StoreResult<u64> {
        audit::purge_audit(self, before).await
    }
}

//! The `Store` trait on D1. Only bound parameters; list-valued columns are JSON text.
//!
//! Here: the handle, the binding helpers and the isolate's application cache. The
//! statements live in one file per group of tables; `impl Store` below only hands over.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement, Env};

use super::binding::Binding;
use super::cache::{TtlCache, APP_TTL_SECS};
use super::meter::Meter;
use super::{AppQuery, GrantOwner, Inserted, Store, StoreError, StoreResult, UserQuery};
use crate::model::access::{Role, RoleUse};
use crate::model::audit::{ActiveQuery, ActiveUsers, LogQuery, Record};
use crate::model::grant::{GrantIndex, SessionIndex};
use crate::model::SigningAlg;
use crate::model::{Application, Consent, KeyStatus, RefreshRecord, StoredKey, User};

mod apps;
mod audit;
mod grants;
mod keys;
mod roles;
mod users;

/// A handle on the database for one request: cheap to clone (the signer keeps one).
///
/// Reads and writes go through a D1 session (the Sessions API): a read may be answered by
/// the nearest replica, and every query sees what earlier ones of the session wrote
/// (sequential consistency), so a request reads its own writes. A request that carries a
/// bookmark (the dashboard after a management write) reads at least that fresh. Single use
/// is not decided here any more (grants are Durable Objects), so no read skips the session.
#[derive(Clone)]
pub struct D1Store {
    db: Rc<Binding<D1Database>>,
    /// Opened by the first query: requests answered from the isolate's caches (discovery,
    /// JWKS, preflights) open none.
    session: Rc<OnceCell<D1DatabaseSession>>,
    /// Where the caller's last session ended, if it said.
    bookmark: Option<Rc<str>>,
    meter: Meter,
    /// The request's time (the injected clock's), for the isolate cache's freshness.
    now: i64,
}

impl D1Store {
    /// `bookmark`: where the caller's last session ended; an unusable one is ignored (the
    /// session then starts anywhere, as without one).
    pub fn new(env: &Env, meter: Meter, now: i64, bookmark: Option<&str>) -> Self {
        Self {
            db: Rc::new(Binding::new(env, super::DB_BINDING, Env::d1)),
            session: Rc::default(),
            bookmark: bookmark.map(Rc::from),
            meter,
            now,
        }
    }

    /// The request's session, opened by its first query (at the bookmark when one was given
    /// and D1 takes it; anywhere otherwise).
    fn session(&self) -> StoreResult<&D1DatabaseSession> {
        if let Some(s) = self.session.get() {
            return Ok(s);
        }
        let opened = match self
            .bookmark
            .as_deref()
            .map(|b| self.db.get().map(|db| db.with_session(Some(b))))
        {
            Some(Ok(Ok(s))) => s,
            _ => self.db.get()?.with_session(None).map_err(err)?,
        };
        Ok(self.session.get_or_init(|| opened))
    }

    /// The session's bookmark after this request's queries, for the caller's next request;
    /// none when the request made no query.
    pub fn bookmark(&self) -> Option<String> {
        self.session
            .get()?
            .get_bookmark()
            .ok()
            .flatten()
            .map(|b| b.to_string())
    }

    /// A read that a replica may answer: one round trip.
    fn read(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.meter.d1_replica(1);
        self.member(sql, args)
    }

    /// Every row of a replica-eligible read, as `T`: one round trip.
    async fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<T>> {
        let result = self.read(sql, args)?.all().await.map_err(err)?;
        result.results().map_err(err)
    }

    /// A read that must see the primary's latest state (the grants to revoke): one round trip.
    fn primary_read(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.meter.d1_primary(1);
        self.db.get()?.prepare(sql).bind(args).map_err(err)
    }

    /// A writing statement sent on its own: one round trip to the primary.
    fn stmt(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.meter.d1_primary(1);
        self.member(sql, args)
    }

    /// A statement that goes out in a batch (counted by `batch`).
    fn member(&self, sql: &str, args: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        self.session()?.prepare(sql).bind(args).map_err(err)
    }

    /// One round trip to the primary, one transaction.
    async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> StoreResult<Vec<worker::D1Result>> {
        self.meter.d1_primary(statements.len() as u32);
        self.session()?.batch(statements).await.map_err(err)
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

    async fn roles(&self) -> StoreResult<Vec<RoleUse>> {
        roles::roles(self).await
    }

    async fn role_names(&self) -> StoreResult<Vec<String>> {
        roles::role_names(self).await
    }

    async fn insert_role(&self, role: &Role) -> StoreResult<Inserted> {
        roles::insert_role(self, role).await
    }

    async fn describe_role(&self, name: &str, description: &str) -> StoreResult<bool> {
        roles::describe_role(self, name, description).await
    }

    async fn role_holders(&self, name: &str) -> StoreResult<Vec<User>> {
        roles::role_holders(self, name).await
    }

    async fn rename_role(
        &self,
        old: &str,
        new: &str,
        description: Option<&str>,
    ) -> StoreResult<bool> {
        roles::rename_role(self, old, new, description).await
    }

    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        roles::delete_role(self, name).await
    }

    async fn change_email(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        users::change_email(self, user_id, old, new, now).await
    }

    async fn granted_clients(&self, user_id: &str) -> StoreResult<Vec<String>> {
        grants::granted_clients(self, user_id).await
    }

    async fn forget_grants(&self, user_id: &str, client_id: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM grants WHERE user_id = ?1 AND client_id = ?2",
            &[text(user_id), text(client_id)],
        )
        .await?;
        Ok(())
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        users::replace_password_hash(self, user_id, old, new).await
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        users::list_consents(self, user_id).await
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        users::delete_consent(self, user_id, client_id).await
    }

    async fn legacy_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        grants::legacy_refresh_token(self, token_hash).await
    }

    async fn index_grants(&self, rows: &[GrantIndex]) -> StoreResult<Vec<String>> {
        grants::index_grants(self, rows).await
    }

    async fn indexed_grants(&self, owner: GrantOwner<'_>) -> StoreResult<Vec<String>> {
        grants::indexed_grants(self, owner).await
    }

    async fn purge_grant_index(&self, before: i64) -> StoreResult<u64> {
        grants::purge_grant_index(self, before).await
    }

    async fn index_sessions(&self, rows: &[SessionIndex]) -> StoreResult<Vec<String>> {
        grants::index_sessions(self, rows).await
    }

    async fn indexed_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        grants::indexed_sessions(self, user_id).await
    }

    async fn forget_sessions(&self, user_id: &str) -> StoreResult<()> {
        grants::forget_sessions(self, user_id).await
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
    async fn active_users(&self, q: &ActiveQuery<'_>) -> StoreResult<Vec<ActiveUsers>> {
        audit::active_users(self, q).await
    }
}

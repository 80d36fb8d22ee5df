//! In-memory fakes of the storage traits for native unit tests, with the same
//! single-use semantics as the D1 statements.

mod accounts;

use std::cell::RefCell;
use std::collections::HashMap;

use super::{
    AppQuery, GrantOwner, GrantStore, Inserted, SessionStore, Store, StoreError, StoreResult,
    ThrottleStore, UserQuery,
};
use crate::model::access::{Role, RoleUse};
use crate::model::audit::{ActiveQuery, ActiveUsers, LogQuery, Record, ACTIVE_EVENTS};
use crate::model::grant::{self, Grant, GrantAnswer, GrantIndex, GrantOp, SessionIndex};
use crate::model::SigningAlg;
use crate::model::{
    Application, Consent, KeyStatus, RefreshRecord, Session, StoredKey, ThrottleState, User,
};

#[derive(Default)]
pub struct MemoryStore {
    pub apps: RefCell<Vec<Application>>,
    pub users: RefCell<Vec<User>>,
    pub roles: RefCell<RoleTable>,
    pub keys: RefCell<Vec<StoredKey>>,
    /// Refresh tokens as D1 stored them before grants had objects (legacy).
    pub refresh: RefCell<HashMap<String, RefreshRecord>>,
    /// Grant objects by grant id (`model::grant::apply` over a map).
    pub grants: RefCell<HashMap<String, Grant>>,
    pub grant_index: RefCell<Vec<GrantIndex>>,
    pub session_index: RefCell<Vec<SessionIndex>>,
    pub throttle: RefCell<HashMap<String, ThrottleState>>,
    /// (user_id, client_id) -> consent
    pub consents: RefCell<HashMap<(String, String), Consent>>,
    pub audit: RefCell<Vec<Record>>,
    /// When set, every call fails: for fault-injection tests.
    pub fail: std::cell::Cell<bool>,
    /// Operations that fail (by method name), to break one step of a request.
    pub fail_on: RefCell<Vec<&'static str>>,
}

/// The roles, `admin` among them from the start (as migration 0011 makes it).
pub struct RoleTable(pub Vec<Role>);

impl Default for RoleTable {
    fn default() -> Self {
        Self(vec![Role {
            name: crate::model::ADMIN_ROLE.into(),
            description: String::new(),
            created_at: 0,
        }])
    }
}

impl MemoryStore {
    fn op(&self, name: &'static str) -> StoreResult<()> {
        if self.fail_on.borrow().contains(&name) {
            return Err(StoreError(format!("injected failure in {name}")));
        }
        self.check()
    }

    fn user_disabled(&self, id: &str) -> bool {
        self.users
            .borrow()
            .iter()
            .any(|u| u.id == id && u.is_disabled())
    }

    /// As D1's index batches: a row is recorded only while its user (first of `owner`) is
    /// enabled; the keys (second) of the rows refused are returned.
    fn record_unless_disabled<T: Clone>(
        &self,
        index: &RefCell<Vec<T>>,
        rows: &[T],
        owner: impl Fn(&T) -> (&String, &String),
    ) -> Vec<String> {
        let mut refused = Vec::new();
        for row in rows {
            let (user, key) = owner(row);
            if self.user_disabled(user) {
                refused.push(key.clone());
            } else {
                index.borrow_mut().push(row.clone());
            }
        }
        refused
    }

    fn check(&self) -> StoreResult<()> {
        if self.fail.get() {
            Err(StoreError("injected failure".into()))
        } else {
            Ok(())
        }
    }
}

impl GrantStore for MemoryStore {
    async fn grant(&self, grant_id: &str, op: &GrantOp) -> StoreResult<GrantAnswer> {
        self.op("grant")?;
        // One kind of call can be broken alone (e.g. `grant.undo`).
        let kind = match op {
            GrantOp::Redeem { .. } => "grant.redeem",
            GrantOp::Undo => "grant.undo",
            GrantOp::Refresh(_) => "grant.refresh",
            GrantOp::Inspect { .. } => "grant.inspect",
            GrantOp::Status => "grant.status",
            GrantOp::Reprofile { .. } => "grant.reprofile",
            GrantOp::Revoke { .. } => "grant.revoke",
            GrantOp::Adopt { .. } => "grant.adopt",
        };
        self.op(kind)?;
        let mut grants = self.grants.borrow_mut();
        let state = grants.remove(grant_id);
        let (state, answer) = grant::apply(state, op.clone());
        if let Some(g) = state {
            grants.insert(grant_id.to_string(), g);
        }
        Ok(answer)
    }
}

impl ThrottleStore for MemoryStore {
    async fn throttle_states(&self, keys: &[String]) -> StoreResult<Vec<(String, ThrottleState)>> {
        self.op("throttle_states")?;
        let throttle = self.throttle.borrow();
        Ok(keys
            .iter()
            .filter_map(|k| throttle.get(k).map(|s| (k.clone(), *s)))
            .collect())
    }

    async fn record_failure(&self, key: &str, now: i64, window: i64) -> StoreResult<i64> {
        self.op("record_failure")?;
        let mut throttle = self.throttle.borrow_mut();
        let state = throttle.entry(key.to_string()).or_insert(ThrottleState {
            failures: 0,
            window_start: now,
            locked_until: 0,
        });
        if state.window_start <= now - window {
            state.failures = 0;
            state.window_start = now;
        }
        state.failures += 1;
        Ok(state.failures)
    }

    async fn lock_until(&self, key: &str, until: i64) -> StoreResult<()> {
        self.op("lock_until")?;
        if let Some(state) = self.throttle.borrow_mut().get_mut(key) {
            state.locked_until = state.locked_until.max(until);
        }
        Ok(())
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        self.op("clear_throttle")?;
        self.throttle.borrow_mut().remove(key);
        Ok(())
    }
}

impl Store for MemoryStore {
    async fn application(&self, client_id: &str) -> StoreResult<Option<Application>> {
        self.check()?;
        Ok(self
            .apps
            .borrow()
            .iter()
            .find(|a| a.client_id == client_id)
            .cloned())
    }

    async fn list_applications(&self, query: &AppQuery) -> StoreResult<Vec<Application>> {
        self.check()?;
        let mut apps: Vec<Application> = self
            .apps
            .borrow()
            .iter()
            .filter(|a| query.matches(a))
            .cloned()
            .collect();
        apps.sort_by(|a, b| (a.created_at, &a.client_id).cmp(&(b.created_at, &b.client_id)));
        apps.truncate(query.limit);
        Ok(apps)
    }

    async fn insert_application(&self, app: &Application) -> StoreResult<()> {
        self.op("insert_application")?;
        self.apps.borrow_mut().push(app.clone());
        Ok(())
    }

    async fn update_application(&self, app: &Application) -> StoreResult<bool> {
        self.check()?;
        let mut apps = self.apps.borrow_mut();
        match apps.iter_mut().find(|a| a.client_id == app.client_id) {
            Some(slot) => {
                *slot = app.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_application(&self, client_id: &str) -> StoreResult<bool> {
        self.check()?;
        let before = self.apps.borrow().len();
        self.apps.borrow_mut().retain(|a| a.client_id != client_id);
        self.grant_index
            .borrow_mut()
            .retain(|r| r.client_id != client_id);
        Ok(self.apps.borrow().len() < before)
    }

    async fn insert_user(&self, user: &User) -> StoreResult<Inserted> {
        self.check()?;
        let mut users = self.users.borrow_mut();
        if users
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(&user.email))
        {
            return Ok(Inserted::Conflict);
        }
        users.push(user.clone());
        Ok(Inserted::Yes)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.check()?;
        Ok(self
            .users
            .borrow()
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned())
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        self.check()?;
        Ok(self.users.borrow().iter().find(|u| u.id == id).cloned())
    }

    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        self.check()?;
        let mut users: Vec<User> = self
            .users
            .borrow()
            .iter()
            .filter(|u| q.matches(u))
            .cloned()
            .collect();
        users.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        users.truncate(q.limit);
        Ok(users)
    }

    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        self.op("update_user")?;
        let mut users = self.users.borrow_mut();
        let Some(slot) = users.iter_mut().find(|u| u.id == user.id) else {
            return Ok(false);
        };
        slot.name = user.name.clone();
        slot.email_verified = user.email_verified;
        slot.roles = user.roles.clone();
        slot.password_hash = user.password_hash.clone();
        slot.disabled_at = user.disabled_at;
        if user.is_disabled() {
            self.refresh
                .borrow_mut()
                .retain(|_, r| r.user_id != user.id);
        }
        Ok(true)
    }

    async fn roles(&self) -> StoreResult<Vec<RoleUse>> {
        self.roles_now()
    }

    async fn role_names(&self) -> StoreResult<Vec<String>> {
        self.check()?;
        Ok(self
            .roles
            .borrow()
            .0
            .iter()
            .map(|r| r.name.clone())
            .collect())
    }

    async fn insert_role(&self, role: &Role) -> StoreResult<Inserted> {
        self.insert_role_now(role)
    }

    async fn describe_role(&self, name: &str, description: &str) -> StoreResult<bool> {
        self.describe_role_now(name, description)
    }

    async fn role_holders(&self, name: &str) -> StoreResult<Vec<User>> {
        self.role_holders_now(name)
    }

    async fn rename_role(
        &self,
        old: &str,
        new: &str,
        description: Option<&str>,
    ) -> StoreResult<bool> {
        self.rename_role_now(old, new, description)
    }

    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        self.delete_role_now(name)
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.op("replace_password_hash")?;
        let mut users = self.users.borrow_mut();
        match users
            .iter_mut()
            .find(|u| u.id == user_id && u.password_hash == old)
        {
            Some(u) => {
                u.password_hash = new.to_string();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        self.op("consent")?;
        Ok(self
            .consents
            .borrow()
            .get(&(user_id.to_string(), client_id.to_string()))
            .map(|c| c.scope.clone()))
    }

    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.op("save_consent")?;
        let mut consents = self.consents.borrow_mut();
        let key = (user_id.to_string(), client_id.to_string());
        let created_at = consents.get(&key).map(|c| c.created_at).unwrap_or(now);
        consents.insert(
            key,
            Consent {
                client_id: client_id.to_string(),
                scope: scope.to_string(),
                created_at,
                updated_at: now,
            },
        );
        Ok(())
    }

    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        self.check()?;
        Ok(self
            .consents
            .borrow()
            .iter()
            .filter(|((u, _), _)| u == user_id)
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        self.check()?;
        Ok(self
            .consents
            .borrow_mut()
            .remove(&(user_id.to_string(), client_id.to_string()))
            .is_some())
    }

    async fn legacy_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        self.op("legacy_refresh_token")?;
        Ok(self.refresh.borrow().get(token_hash).cloned())
    }

    async fn index_grants(&self, rows: &[GrantIndex]) -> StoreResult<Vec<String>> {
        self.op("index_grants")?;
        Ok(self.record_unless_disabled(&self.grant_index, rows, |r| (&r.user_id, &r.grant_id)))
    }

    async fn indexed_grants(&self, owner: GrantOwner<'_>) -> StoreResult<Vec<String>> {
        self.op("indexed_grants")?;
        Ok(self
            .grant_index
            .borrow()
            .iter()
            .filter(|r| match owner {
                GrantOwner::User(u) => r.user_id == u,
                GrantOwner::Client(c) => r.client_id == c,
                GrantOwner::UserClient(u, c) => r.user_id == u && r.client_id == c,
            })
            .map(|r| r.grant_id.clone())
            .collect())
    }

    async fn granted_clients(&self, user_id: &str) -> StoreResult<Vec<String>> {
        self.granted_clients_now(user_id)
    }

    async fn forget_grants(&self, user_id: &str, client_id: &str) -> StoreResult<()> {
        self.forget_grants_now(user_id, client_id)
    }

    async fn change_email(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        self.change_email_now(user_id, old, new, now)
    }

    async fn purge_grant_index(&self, before: i64) -> StoreResult<u64> {
        self.op("purge_grant_index")?;
        let mut index = self.grant_index.borrow_mut();
        let n = index.len();
        index.retain(|r| r.expires_at >= before);
        let mut sessions = self.session_index.borrow_mut();
        let m = sessions.len();
        sessions.retain(|r| r.expires_at >= before);
        Ok((n - index.len() + m - sessions.len()) as u64)
    }

    async fn index_sessions(&self, rows: &[SessionIndex]) -> StoreResult<Vec<String>> {
        self.op("index_sessions")?;
        Ok(self.record_unless_disabled(&self.session_index, rows, |r| (&r.user_id, &r.id_hash)))
    }

    async fn indexed_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        self.op("indexed_sessions")?;
        Ok(self
            .session_index
            .borrow()
            .iter()
            .filter(|r| r.user_id == user_id)
            .map(|r| r.id_hash.clone())
            .collect())
    }

    async fn forget_sessions(&self, user_id: &str) -> StoreResult<()> {
        self.op("forget_sessions")?;
        self.session_index
            .borrow_mut()
            .retain(|r| r.user_id != user_id);
        Ok(())
    }

    async fn key_in_slot(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> StoreResult<Option<StoredKey>> {
        self.check()?;
        Ok(self
            .keys
            .borrow()
            .iter()
            .find(|k| k.alg == alg.as_str() && k.status == status)
            .cloned())
    }

    async fn insert_key_if_slot_free(&self, key: &StoredKey) -> StoreResult<()> {
        self.check()?;
        let mut keys = self.keys.borrow_mut();
        if !keys
            .iter()
            .any(|k| k.alg == key.alg && k.status == key.status)
        {
            keys.push(key.clone());
        }
        Ok(())
    }

    async fn key_by_kid(&self, kid: &str) -> StoreResult<Option<StoredKey>> {
        self.check()?;
        Ok(self.keys.borrow().iter().find(|k| k.kid == kid).cloned())
    }

    async fn rotate_keys(&self, new_next: &StoredKey, now: i64) -> StoreResult<()> {
        self.check()?;
        let mut keys = self.keys.borrow_mut();
        for k in keys.iter_mut().filter(|k| k.alg == new_next.alg) {
            match k.status {
                KeyStatus::Current => {
                    k.status = KeyStatus::Retired;
                    k.retired_at = Some(now);
                }
                KeyStatus::Next => k.status = KeyStatus::Current,
                KeyStatus::Retired => {}
            }
        }
        keys.push(new_next.clone());
        Ok(())
    }

    async fn all_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.check()?;
        Ok(self.keys.borrow().iter().rev().cloned().collect())
    }

    async fn published_keys(&self, retired_after: i64) -> StoreResult<Vec<StoredKey>> {
        self.check()?;
        Ok(self
            .keys
            .borrow()
            .iter()
            .filter(|k| {
                k.status != KeyStatus::Retired || k.retired_at.is_some_and(|t| t > retired_after)
            })
            .cloned()
            .collect())
    }

    async fn append_audit(&self, records: &[Record]) -> StoreResult<()> {
        self.op("append_audit")?;
        self.audit.borrow_mut().extend_from_slice(records);
        Ok(())
    }

    async fn audit_records(&self, query: &LogQuery) -> StoreResult<Vec<Record>> {
        self.check()?;
        let mut out: Vec<Record> = self
            .audit
            .borrow()
            .iter()
            .filter(|r| query.matches(r))
            .cloned()
            .collect();
        out.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        out.truncate(query.limit);
        Ok(out)
    }

    async fn purge_audit(&self, before: i64) -> StoreResult<u64> {
        self.check()?;
        let mut audit = self.audit.borrow_mut();
        let n = audit.len();
        audit.retain(|r| r.created_at >= before);
        Ok((n - audit.len()) as u64)
    }

    async fn active_users(&self, q: &ActiveQuery<'_>) -> StoreResult<Vec<ActiveUsers>> {
        self.check()?;
        let mut groups: std::collections::BTreeMap<(String, String), Vec<String>> =
            Default::default();
        for r in self.audit.borrow().iter() {
            let active = ACTIVE_EVENTS.iter().any(|e| e.as_str() == r.event);
            let (Some(c), Some(u)) = (&r.client_id, &r.user_id) else {
                continue;
            };
            let in_range = (q.since..q.until).contains(&r.created_at);
            if !active || !in_range || q.client_id.is_some_and(|want| want != c) {
                continue;
            }
            let users = groups
                .entry((q.period.bucket(r.created_at), c.clone()))
                .or_default();
            if !users.contains(u) {
                users.push(u.clone());
            }
        }
        Ok(groups
            .into_iter()
            .map(|((period, client_id), users)| ActiveUsers {
                client_id,
                period,
                users: users.len() as i64,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct MemorySessions {
    pub sessions: RefCell<HashMap<String, Session>>,
}

impl SessionStore for MemorySessions {
    async fn put_session(&self, id_hash: &str, session: &Session, _ttl: u64) -> StoreResult<()> {
        self.sessions
            .borrow_mut()
            .insert(id_hash.to_string(), session.clone());
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        Ok(self.sessions.borrow().get(id_hash).cloned())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.sessions.borrow_mut().remove(id_hash);
        Ok(())
    }
}

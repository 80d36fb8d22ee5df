//! In-memory fakes of the storage traits for native unit tests, with the same
//! single-use semantics as the D1 statements.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{
    AppQuery, Inserted, Redeemed, Redemption, SessionStore, Store, StoreError, StoreResult,
    ThrottleStore, UserQuery,
};
use crate::model::audit::{LogQuery, Record};
use crate::model::SigningAlg;
use crate::model::{
    Application, CodeRecord, Consent, KeyStatus, RefreshRecord, Session, StoredKey, ThrottleState,
    User,
};

#[derive(Default)]
pub struct MemoryStore {
    pub apps: RefCell<Vec<Application>>,
    pub users: RefCell<Vec<User>>,
    pub codes: RefCell<HashMap<String, CodeRecord>>,
    pub keys: RefCell<Vec<StoredKey>>,
    pub refresh: RefCell<HashMap<String, RefreshRecord>>,
    pub throttle: RefCell<HashMap<String, ThrottleState>>,
    /// (user_id, client_id) -> consent
    pub consents: RefCell<HashMap<(String, String), Consent>>,
    pub audit: RefCell<Vec<Record>>,
    /// When set, every call fails: for fault-injection tests.
    pub fail: std::cell::Cell<bool>,
    /// Operations that fail (by method name), to break one step of a request.
    pub fail_on: RefCell<Vec<&'static str>>,
}

impl MemoryStore {
    fn op(&self, name: &'static str) -> StoreResult<()> {
        if self.fail_on.borrow().contains(&name) {
            return Err(StoreError(format!("injected failure in {name}")));
        }
        self.check()
    }

    fn check(&self) -> StoreResult<()> {
        if self.fail.get() {
            Err(StoreError("injected failure".into()))
        } else {
            Ok(())
        }
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
        self.codes
            .borrow_mut()
            .retain(|_, c| c.client_id != client_id);
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
            self.codes
                .borrow_mut()
                .retain(|_, c| c.user_id != user.id || c.consumed_at.is_some());
        }
        Ok(true)
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        self.check()?;
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

    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<bool> {
        self.check()?;
        let disabled = self
            .users
            .borrow()
            .iter()
            .any(|u| u.id == code.user_id && u.is_disabled());
        if disabled {
            return Ok(false);
        }
        self.codes
            .borrow_mut()
            .insert(code.code_hash.clone(), code.clone());
        Ok(true)
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        self.check()?;
        Ok(self.codes.borrow().get(code_hash).cloned())
    }

    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>> {
        self.op("redeem_code")?;
        let mut codes = self.codes.borrow_mut();
        let Some(code) = codes.get_mut(r.code_hash) else {
            return Ok(None);
        };
        let live = code.consumed_at.is_none() && code.expires_at > r.now;
        if !live
            || code.client_id != r.client_id
            || code.redirect_uri != r.redirect_uri
            || code.code_challenge.as_deref() != r.challenge
        {
            return Ok(None);
        }
        code.consumed_at = Some(r.now);
        code.grant_id = Some(r.grant_id.to_string());
        let refresh_stored = r
            .refresh
            .as_ref()
            .is_some_and(|p| p.applies_to(&code.scope));
        if let (true, Some(p)) = (refresh_stored, &r.refresh) {
            self.refresh.borrow_mut().insert(
                p.token_hash.to_string(),
                RefreshRecord {
                    token_hash: p.token_hash.to_string(),
                    grant_id: r.grant_id.to_string(),
                    client_id: code.client_id.clone(),
                    user_id: code.user_id.clone(),
                    scope: code.scope.clone(),
                    auth_time: code.auth_time,
                    claims: code.claims.clone(),
                    created_at: r.now,
                    expires_at: p.expires_at,
                    grant_expires_at: p.grant_expires_at,
                    consumed_at: None,
                    revoked_at: None,
                },
            );
        }
        Ok(Some(Redeemed {
            code: code.clone(),
            refresh_stored,
        }))
    }

    async fn unredeem_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        self.op("unredeem_code")?;
        self.refresh
            .borrow_mut()
            .retain(|_, t| t.grant_id != grant_id);
        if let Some(code) = self.codes.borrow_mut().get_mut(code_hash) {
            if code.grant_id.as_deref() == Some(grant_id) {
                code.consumed_at = None;
                code.grant_id = None;
            }
        }
        Ok(())
    }

    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        self.check()?;
        Ok(self.refresh.borrow().get(token_hash).cloned())
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshRecord,
        now: i64,
    ) -> StoreResult<bool> {
        self.op("rotate_refresh")?;
        let mut tokens = self.refresh.borrow_mut();
        match tokens.get_mut(old_hash) {
            Some(old)
                if old.consumed_at.is_none()
                    && old.revoked_at.is_none()
                    && old.expires_at > now =>
            {
                old.consumed_at = Some(now);
                tokens.insert(new.token_hash.clone(), new.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn extend_refresh(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.check()?;
        match self.refresh.borrow_mut().get_mut(token_hash) {
            Some(t) if t.consumed_at.is_none() && t.revoked_at.is_none() && t.expires_at > now => {
                t.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        self.op("revoke_grant")?;
        for t in self.refresh.borrow_mut().values_mut() {
            if t.grant_id == grant_id && t.revoked_at.is_none() {
                t.revoked_at = Some(now);
            }
        }
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

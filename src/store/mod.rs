//! Storage traits. D1 holds applications, users, consents, keys, the audit log and an index
//! of grants; Durable Objects hold what must be single use and fast everywhere (grants,
//! login throttling); KV holds only login sessions, which tolerate its eventual consistency.

#[cfg(target_arch = "wasm32")]
pub mod binding;
pub mod cache;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod grant_do;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(test)]
pub mod memory;
pub mod meter;
#[cfg(target_arch = "wasm32")]
pub mod throttle_do;
pub mod throttle_wire;

use crate::error::Failure;
use crate::model::access::{Role, RoleUse};
use crate::model::audit::{ActiveQuery, ActiveUsers, LogQuery, Record};
use crate::model::grant::{GrantAnswer, GrantIndex, GrantOp, SessionIndex};
use crate::model::SigningAlg;
use crate::model::{
    Application, Consent, KeyStatus, RefreshRecord, Session, StoredKey, ThrottleState, User,
};

/// The D1 binding's name in wrangler.toml.
pub const DB_BINDING: &str = "DB";
/// The KV binding's name in wrangler.toml.
pub const SESSIONS_BINDING: &str = "SESSIONS";

/// A storage failure. Its text is logged, never shown to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::unavailable(format!("storage: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    /// A row with the same unique key exists already.
    Conflict,
}

/// A page of the user list, newest first: a search, keyset position, size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    /// Case-insensitive substring of the email or the name.
    pub contains: Option<String>,
    /// Start after (older than) this `(created_at, id)`.
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

impl UserQuery {
    pub fn matches(&self, u: &User) -> bool {
        let found = self.contains.as_deref().is_none_or(|q| {
            let q = q.to_lowercase();
            u.email.to_lowercase().contains(&q)
                || u.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&q))
        });
        let after_cursor = self
            .before
            .as_ref()
            .is_none_or(|(t, id)| (u.created_at, u.id.as_str()) < (*t, id.as_str()));
        found && after_cursor
    }
}

/// A page of the application list: filters, keyset position, size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppQuery {
    pub app_type: Option<crate::model::AppType>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Start after this `(created_at, client_id)`.
    pub after: Option<(i64, String)>,
    pub limit: usize,
}

impl AppQuery {
    pub fn matches(&self, app: &Application) -> bool {
        self.app_type.is_none_or(|t| t == app.app_type)
            && self
                .name_contains
                .as_ref()
                .is_none_or(|n| app.name.to_lowercase().contains(&n.to_lowercase()))
            && self
                .after
                .as_ref()
                .is_none_or(|(t, id)| (app.created_at, &app.client_id) > (*t, id))
    }
}

/// Durable storage (D1). Futures are not `Send`: a Worker isolate is single-threaded.
#[allow(async_fn_in_trait)]
pub trait Store {
    async fn application(&self, client_id: &str) -> StoreResult<Option<Application>>;
    /// Applications matching the query, ordered by `(created_at, client_id)`.
    async fn list_applications(&self, query: &AppQuery) -> StoreResult<Vec<Application>>;
    async fn insert_application(&self, app: &Application) -> StoreResult<()>;
    /// Replaces the stored settings; false when the application does not exist.
    async fn update_application(&self, app: &Application) -> StoreResult<bool>;
    /// Deletes the application and its grant index rows; false when it did not exist.
    async fn delete_application(&self, client_id: &str) -> StoreResult<bool>;

    async fn insert_user(&self, user: &User) -> StoreResult<Inserted>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>>;
    /// Writes the user's name, `email_verified`, roles, password hash and `disabled_at`.
    /// When `disabled_at` is set, the same transaction deletes the user's D1-stored (legacy)
    /// refresh tokens; the caller revokes the user's grant objects. False: no such user.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;

    /// Every role, by name, with how many users hold it and which applications' access
    /// rules name it.
    async fn roles(&self) -> StoreResult<Vec<RoleUse>>;
    /// The names of every role (a cheap read: `roles` counts holders too).
    async fn role_names(&self) -> StoreResult<Vec<String>>;
    /// `Conflict` when a role has the name already.
    async fn insert_role(&self, role: &Role) -> StoreResult<Inserted>;
    /// False: no such role.
    async fn describe_role(&self, name: &str, description: &str) -> StoreResult<bool>;
    /// The users holding the role, oldest first (from the primary).
    async fn role_holders(&self, name: &str) -> StoreResult<Vec<User>>;
    /// In one transaction: the role `old` becomes `new` (with `description`, when given),
    /// in the users holding it and the access rules naming it too. False, and nothing
    /// changed, when there is no role `old` or there is a role `new` already.
    async fn rename_role(
        &self,
        old: &str,
        new: &str,
        description: Option<&str>,
    ) -> StoreResult<bool>;
    /// In one transaction: deletes the role and takes it from the users holding it. False,
    /// and nothing changed, when there is no such role or access rules name it.
    async fn delete_role(&self, name: &str) -> StoreResult<bool>;

    /// Gives the user the address `new` (verified, `updated_at` = `now`), only while their
    /// address is still `old`. False when it was not, or another account has `new`.
    async fn change_email(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// The applications a user has recorded grants to (the grant index), each once.
    async fn granted_clients(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Forgets the index rows of a user's grants to one application (they were revoked).
    async fn forget_grants(&self, user_id: &str, client_id: &str) -> StoreResult<()>;

    /// Replaces a user's password hash, only while it is still `old` (a login upgrading its
    /// hash must not undo an administrator's reset). False when it was not.
    async fn replace_password_hash(&self, user_id: &str, old: &str, new: &str)
        -> StoreResult<bool>;

    /// The scope a user has granted an application, if any.
    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    /// Stores (or replaces) the granted scope.
    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()>;
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>>;
    /// False when there was nothing to revoke.
    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool>;

    /// A refresh token stored in D1 before grants moved to Durable Objects (migration
    /// 0003), in any state: the caller decides. New tokens never come here.
    async fn legacy_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>>;

    /// Records grants that hold refresh tokens (after the response), so they can be found
    /// by user or application. A grant whose user is disabled by then is not recorded: its
    /// id is returned, for the caller to revoke.
    async fn index_grants(&self, rows: &[GrantIndex]) -> StoreResult<Vec<String>>;
    /// The ids of the recorded grants of a user, or of an application.
    async fn indexed_grants(&self, owner: GrantOwner<'_>) -> StoreResult<Vec<String>>;
    /// Forgets index rows of grants that ended before `before`, and of login sessions that
    /// expired before it; returns how many.
    async fn purge_grant_index(&self, before: i64) -> StoreResult<u64>;

    /// Records login sessions (after the response), so a user's can be found. A session
    /// whose user is disabled by then is not recorded: its id hash is returned, for the
    /// caller to end.
    async fn index_sessions(&self, rows: &[SessionIndex]) -> StoreResult<Vec<String>>;
    /// The id hashes of a user's recorded sessions (from the primary).
    async fn indexed_sessions(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Forgets a user's recorded sessions (they have been ended).
    async fn forget_sessions(&self, user_id: &str) -> StoreResult<()>;

    /// The `alg` key in `status` (`Current` or `Next`), if there is one.
    async fn key_in_slot(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> StoreResult<Option<StoredKey>>;
    /// Stores `key` in its slot (`Current` or `Next`) unless the slot is taken (first writer
    /// wins a creation race).
    async fn insert_key_if_slot_free(&self, key: &StoredKey) -> StoreResult<()>;
    async fn key_by_kid(&self, kid: &str) -> StoreResult<Option<StoredKey>>;
    /// In one transaction: current -> retired (at `now`), next -> current, `new_next` -> next.
    async fn rotate_keys(&self, new_next: &StoredKey, now: i64) -> StoreResult<()>;
    /// Every key, newest first (for the management API; private parts stay encrypted).
    async fn all_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn published_keys(&self, retired_after: i64) -> StoreResult<Vec<StoredKey>>;

    /// Appends audit records (one round trip for any number).
    async fn append_audit(&self, records: &[Record]) -> StoreResult<()>;
    /// Records matching `query`, newest first (`created_at`, then `id`, descending).
    async fn audit_records(&self, query: &LogQuery) -> StoreResult<Vec<Record>>;
    /// Deletes records created before `before`; returns how many.
    async fn purge_audit(&self, before: i64) -> StoreResult<u64>;
    /// Distinct users with an `ACTIVE_EVENTS` record per application and period (see
    /// `ActiveQuery`); by period, then client.
    async fn active_users(&self, q: &ActiveQuery<'_>) -> StoreResult<Vec<ActiveUsers>>;
}

/// A shared reference to a store is a store: tests share one between several users (two
/// key rings standing for two isolates).
#[cfg(test)]
impl<T: Store + ?Sized> Store for &T {
    async fn application(&self, client_id: &str) -> StoreResult<Option<Application>> {
        (**self).application(client_id).await
    }
    async fn list_applications(&self, query: &AppQuery) -> StoreResult<Vec<Application>> {
        (**self).list_applications(query).await
    }
    async fn insert_application(&self, app: &Application) -> StoreResult<()> {
        (**self).insert_application(app).await
    }
    async fn update_application(&self, app: &Application) -> StoreResult<bool> {
        (**self).update_application(app).await
    }
    async fn delete_application(&self, client_id: &str) -> StoreResult<bool> {
        (**self).delete_application(client_id).await
    }
    async fn insert_user(&self, user: &User) -> StoreResult<Inserted> {
        (**self).insert_user(user).await
    }
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        (**self).user_by_email(email).await
    }
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        (**self).user_by_id(id).await
    }
    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        (**self).list_users(q).await
    }
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        (**self).update_user(user).await
    }
    async fn roles(&self) -> StoreResult<Vec<RoleUse>> {
        (**self).roles().await
    }
    async fn role_names(&self) -> StoreResult<Vec<String>> {
        (**self).role_names().await
    }
    async fn insert_role(&self, role: &Role) -> StoreResult<Inserted> {
        (**self).insert_role(role).await
    }
    async fn describe_role(&self, name: &str, description: &str) -> StoreResult<bool> {
        (**self).describe_role(name, description).await
    }
    async fn role_holders(&self, name: &str) -> StoreResult<Vec<User>> {
        (**self).role_holders(name).await
    }
    async fn rename_role(
        &self,
        old: &str,
        new: &str,
        description: Option<&str>,
    ) -> StoreResult<bool> {
        (**self).rename_role(old, new, description).await
    }
    async fn delete_role(&self, name: &str) -> StoreResult<bool> {
        (**self).delete_role(name).await
    }
    async fn change_email(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        (**self).change_email(user_id, old, new, now).await
    }
    async fn granted_clients(&self, user_id: &str) -> StoreResult<Vec<String>> {
        (**self).granted_clients(user_id).await
    }
    async fn forget_grants(&self, user_id: &str, client_id: &str) -> StoreResult<()> {
        (**self).forget_grants(user_id, client_id).await
    }
    async fn replace_password_hash(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        (**self).replace_password_hash(user_id, old, new).await
    }
    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        (**self).consent(user_id, client_id).await
    }
    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        (**self).save_consent(user_id, client_id, scope, now).await
    }
    async fn list_consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        (**self).list_consents(user_id).await
    }
    async fn delete_consent(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        (**self).delete_consent(user_id, client_id).await
    }
    async fn legacy_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        (**self).legacy_refresh_token(token_hash).await
    }
    async fn index_grants(&self, rows: &[GrantIndex]) -> StoreResult<Vec<String>> {
        (**self).index_grants(rows).await
    }
    async fn indexed_grants(&self, owner: GrantOwner<'_>) -> StoreResult<Vec<String>> {
        (**self).indexed_grants(owner).await
    }
    async fn purge_grant_index(&self, before: i64) -> StoreResult<u64> {
        (**self).purge_grant_index(before).await
    }
    async fn index_sessions(&self, rows: &[SessionIndex]) -> StoreResult<Vec<String>> {
        (**self).index_sessions(rows).await
    }
    async fn indexed_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        (**self).indexed_sessions(user_id).await
    }
    async fn forget_sessions(&self, user_id: &str) -> StoreResult<()> {
        (**self).forget_sessions(user_id).await
    }
    async fn key_in_slot(
        &self,
        alg: SigningAlg,
        status: KeyStatus,
    ) -> StoreResult<Option<StoredKey>> {
        (**self).key_in_slot(alg, status).await
    }
    async fn insert_key_if_slot_free(&self, key: &StoredKey) -> StoreResult<()> {
        (**self).insert_key_if_slot_free(key).await
    }
    async fn key_by_kid(&self, kid: &str) -> StoreResult<Option<StoredKey>> {
        (**self).key_by_kid(kid).await
    }
    async fn rotate_keys(&self, new_next: &StoredKey, now: i64) -> StoreResult<()> {
        (**self).rotate_keys(new_next, now).await
    }
    async fn all_keys(&self) -> StoreResult<Vec<StoredKey>> {
        (**self).all_keys().await
    }
    async fn published_keys(&self, retired_after: i64) -> StoreResult<Vec<StoredKey>> {
        (**self).published_keys(retired_after).await
    }
    async fn append_audit(&self, records: &[Record]) -> StoreResult<()> {
        (**self).append_audit(records).await
    }
    async fn audit_records(&self, query: &LogQuery) -> StoreResult<Vec<Record>> {
        (**self).audit_records(query).await
    }
    async fn purge_audit(&self, before: i64) -> StoreResult<u64> {
        (**self).purge_audit(before).await
    }
    async fn active_users(&self, q: &ActiveQuery<'_>) -> StoreResult<Vec<ActiveUsers>> {
        (**self).active_users(q).await
    }
}

/// Failed-login counters (see `oidc::throttle`): one strongly consistent counter per key,
/// so parallel guesses from anywhere each count. On Workers, a Durable Object per key
/// (`store::throttle_do`), created next to the caller.
#[allow(async_fn_in_trait)]
pub trait ThrottleStore {
    /// The failed-login counters under `keys` that exist.
    async fn throttle_states(&self, keys: &[String]) -> StoreResult<Vec<(String, ThrottleState)>>;
    /// Counts one failure under `key`, atomically (parallel guesses each count), starting a
    /// new window when the current one began before `now - window`. Returns the count.
    async fn record_failure(&self, key: &str, now: i64, window: i64) -> StoreResult<i64>;
    /// Locks `key` until `until` (never shortening an existing lock).
    async fn lock_until(&self, key: &str, until: i64) -> StoreResult<()>;
    async fn clear_throttle(&self, key: &str) -> StoreResult<()>;
}

/// Grants: one code redemption and the refresh tokens descending from it. On Workers a
/// Durable Object per grant (`store::grant_do`), created next to the code exchange that
/// starts it; in tests a map. Both run `model::grant::apply`, so the rules are the same.
#[allow(async_fn_in_trait)]
pub trait GrantStore {
    /// Applies `op` to the grant `grant_id`, atomically with respect to every other call
    /// for the same grant, from anywhere.
    async fn grant(&self, grant_id: &str, op: &GrantOp) -> StoreResult<GrantAnswer>;
}

/// Whose grants `Store::indexed_grants` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOwner<'a> {
    User(&'a str),
    Client(&'a str),
    /// One user's grants to one application: (user id, client id).
    UserClient(&'a str, &'a str),
}

/// Login sessions (KV), keyed by the hash of the session id.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    async fn put_session(&self, id_hash: &str, session: &Session, ttl_secs: u64)
        -> StoreResult<()>;
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
}

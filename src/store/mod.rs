//! Storage traits. D1 holds everything that must be durable or single-use; KV holds only
//! login sessions, which tolerate its eventual consistency.

pub mod cache;
pub mod conformance;
#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(test)]
pub mod memory;
pub mod meter;
#[cfg(target_arch = "wasm32")]
pub mod throttle_do;
pub mod throttle_wire;

use crate::error::Failure;
use crate::model::audit::{LogQuery, Record};
use crate::model::SigningAlg;
use crate::model::{
    Application, CodeRecord, Consent, KeyStatus, RefreshRecord, Session, StoredKey, ThrottleState,
    User,
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
    /// Deletes the application and, by cascade, its codes; false when it did not exist.
    async fn delete_application(&self, client_id: &str) -> StoreResult<bool>;

    async fn insert_user(&self, user: &User) -> StoreResult<Inserted>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>>;
    /// Writes the user's name, `email_verified`, roles, password hash and `disabled_at`.
    /// When `disabled_at` is set, the same transaction deletes the user's refresh tokens
    /// and unredeemed codes, so nothing issued before keeps working. False: no such user.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;

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

    /// Stores the code unless its user is disabled (checked in the same statement, so a
    /// session of a disabled user gets no code). False: the user is disabled.
    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<bool>;
    /// The code in any state (consumed, expired): the caller decides.
    async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>>;
    /// Consumes a code in one round trip (RFC 6749 §4.1.3, RFC 7636 §4.6): in one
    /// transaction, and only while the code is live (unconsumed, unexpired at `now`) and
    /// matches the client, redirect URI and PKCE challenge, marks it consumed under
    /// `grant_id` and stores the planned refresh token when the code's scope calls for it.
    /// `None`, with nothing written, when any condition fails; of concurrent calls at most
    /// one gets `Some`.
    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>>;
    /// Undoes a redemption that could not be answered (its tokens failed to sign): deletes
    /// the grant's refresh token and makes the code live again, if `grant_id` still marks it.
    async fn unredeem_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()>;

    /// The token in any state (consumed, revoked, expired): the caller decides.
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>>;
    /// Atomically consumes `old_hash` and stores `new`, only while the old token is live
    /// (not consumed, not revoked, not expired at `now`). False when another use got there
    /// first or the token died: nothing is written then.
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshRecord,
        now: i64,
    ) -> StoreResult<bool>;
    /// Moves a live token's expiry; false when it is no longer live.
    async fn extend_refresh(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// Revokes every token of a grant (RFC 9700 §4.14.2 on reuse).
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()>;

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
    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<bool> {
        (**self).insert_code(code).await
    }
    async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        (**self).code(code_hash).await
    }
    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>> {
        (**self).redeem_code(r).await
    }
    async fn unredeem_code(&self, code_hash: &str, grant_id: &str) -> StoreResult<()> {
        (**self).unredeem_code(code_hash, grant_id).await
    }
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        (**self).refresh_token(token_hash).await
    }
    async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: &RefreshRecord,
        now: i64,
    ) -> StoreResult<bool> {
        (**self).rotate_refresh(old_hash, new, now).await
    }
    async fn extend_refresh(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        (**self).extend_refresh(token_hash, expires_at, now).await
    }
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<()> {
        (**self).revoke_grant(grant_id, now).await
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

/// What a code redemption must match and what it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Redemption<'a> {
    pub code_hash: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// `BASE64URL(SHA256(code_verifier))` when a verifier was sent: the stored challenge
    /// must equal it, and a code with a challenge needs one (RFC 7636 §4.6, RFC 9700 §2.1.1).
    pub challenge: Option<&'a str>,
    pub now: i64,
    /// The grant this redemption starts; it also marks the code as consumed by this call.
    pub grant_id: &'a str,
    pub refresh: Option<RefreshPlan<'a>>,
}

/// A refresh token to store with the redemption. Its subject, scope and claims are copied
/// from the code row in the same statement, so the exchange needs no read first.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPlan<'a> {
    pub token_hash: &'a str,
    /// Store it whatever the scope; otherwise only when the scope has `offline_access`.
    pub always: bool,
    pub expires_at: i64,
    pub grant_expires_at: i64,
}

impl RefreshPlan<'_> {
    /// Whether a code with `scope` gets the token (D1's redemption says the same in SQL).
    pub fn applies_to(&self, scope: &str) -> bool {
        self.always || scope.split(' ').any(|s| s == "offline_access")
    }
}

/// The consumed code, and whether its refresh token was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Redeemed {
    pub code: CodeRecord,
    pub refresh_stored: bool,
}

/// Login sessions (KV), keyed by the hash of the session id.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    async fn put_session(&self, id_hash: &str, session: &Session, ttl_secs: u64)
        -> StoreResult<()>;
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
}

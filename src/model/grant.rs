//! A grant: what one redemption of an authorization code started, and the refresh tokens
//! that descend from it (RFC 6749 §4.1.3, §6; RFC 9700 §4.14.2).
//!
//! The rules live here once, as a pure function over the grant's state (`apply`). On
//! Workers each grant is a Durable Object addressed by the grant id, which runs `apply` on
//! its own storage one request at a time (`store::grant_do`); the in-memory store runs the
//! same function over a map. So single use of a code, rotation, reuse detection and
//! revocation cannot differ between the two.

use serde::{Deserialize, Serialize};

use super::UserClaims;

/// Rotated-out token hashes a grant remembers, so that presenting one again is recognised
/// as reuse (and revokes the grant) rather than as an unknown token. A client that rotates
/// every few minutes for a year would otherwise grow the list without end.
pub const SPENT_KEPT: usize = 32;

/// A grant as D1's index records it (table `grants`), so that a user's or an
/// application's grants can be found and revoked. Written after the response, and only
/// for grants that hold a refresh token: nothing else of a grant outlives its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantIndex {
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub created_at: i64,
    /// The end of the grant (no refresh token lives past it).
    pub expires_at: i64,
}

/// A login session as D1's index records it (table `login_sessions`), so that a user's
/// sessions (which live in KV, keyed by the hash of their id) can be found and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIndex {
    pub id_hash: String,
    pub user_id: String,
    pub expires_at: i64,
}

/// The grants and sessions a request started, to record in D1's indexes after the response
/// has gone (`Store::index_grants`, `Store::index_sessions`), so the indexes cost the client
/// no round trip to the primary. `RefCell`s: an isolate runs one task at a time.
#[derive(Debug, Default)]
pub struct PendingIndex {
    grants: std::cell::RefCell<Vec<GrantIndex>>,
    sessions: std::cell::RefCell<Vec<SessionIndex>>,
    /// Applications to add to sessions' back-channel lists: (session id hash, client id).
    session_joins: std::cell::RefCell<Vec<(String, String)>>,
    /// Ended sessions whose applications get logout tokens.
    logouts: std::cell::RefCell<Vec<EndedSession>>,
}

/// A login session that ended, and the applications to tell (Back-Channel Logout 1.0 §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub sid: String,
    pub user_id: String,
    pub client_ids: Vec<String>,
}

impl PendingIndex {
    pub fn push(&self, row: GrantIndex) {
        self.grants.borrow_mut().push(row);
    }

    pub fn push_session(&self, row: SessionIndex) {
        self.sessions.borrow_mut().push(row);
    }

    /// Forgets a session pushed earlier in the request (it was deleted before its response).
    pub fn forget_session(&self, id_hash: &str) {
        self.sessions.borrow_mut().retain(|r| r.id_hash != id_hash);
    }

    pub fn push_session_join(&self, id_hash: &str, client_id: &str) {
        let row = (id_hash.to_string(), client_id.to_string());
        self.session_joins.borrow_mut().push(row);
    }

    pub fn push_logout(&self, ended: EndedSession) {
        self.logouts.borrow_mut().push(ended);
    }

    /// The sessions' new applications, and the logouts to deliver.
    pub fn take_session_work(&self) -> (Vec<(String, String)>, Vec<EndedSession>) {
        (
            std::mem::take(&mut self.session_joins.borrow_mut()),
            std::mem::take(&mut self.logouts.borrow_mut()),
        )
    }

    pub fn take(&self) -> (Vec<GrantIndex>, Vec<SessionIndex>) {
        (
            std::mem::take(&mut self.grants.borrow_mut()),
            std::mem::take(&mut self.sessions.borrow_mut()),
        )
    }
}

/// The state a grant object keeps (JSON in the object's storage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    /// The scope granted at the code exchange; a refresh may ask for a subset.
    pub scope: String,
    /// The API its access tokens are for (RFC 8707), if one was named at the authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The `acr` of the login, when the authorization asked for one (`acr_values`): refreshed
    /// ID tokens keep it (OpenID Connect Core §12.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The login session's `sid`: refreshed ID tokens keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The claims the authorization asked for by name (`oidc::claims_request`): refreshed
    /// tokens keep them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub claims_request: String,
    pub auth_time: i64,
    pub claims: UserClaims,
    /// When the code was redeemed.
    pub created_at: i64,
    /// Until then the grant must be kept even when revoked: a replay of its code must find
    /// it, or the code would be redeemable again.
    pub code_expires_at: i64,
    pub refresh: Option<RefreshState>,
    pub revoked_at: Option<i64>,
    /// When the last access token issued under the grant expires: until then userinfo may
    /// ask about it, so the grant is kept.
    #[serde(default)]
    pub access_expires_at: i64,
}

/// The grant's refresh token: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshState {
    /// The hash of the one live token.
    pub token_hash: String,
    /// When the live token was issued (the 70% rotation rule counts from here).
    pub created_at: i64,
    pub expires_at: i64,
    /// No token of the grant lives past this (one year from the code exchange).
    pub grant_expires_at: i64,
    /// Rotated-out token hashes, oldest first, at most `SPENT_KEPT`.
    #[serde(default)]
    pub spent: Vec<String>,
}

/// When a refresh token is replaced by a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotate {
    /// On every use (public clients: nothing else binds the token to them).
    Always,
    /// Once 70% of the token's lifetime has passed (confidential clients that ask for it).
    Late,
    Never,
}

/// How a refresh moves the grant, decided by the application's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPolicy {
    pub ttl: i64,
    pub rotate: Rotate,
    /// Each use moves the expiry to `ttl` from now (up to the grant's end); otherwise the
    /// token keeps its absolute expiry (SPAs).
    pub sliding: bool,
}

/// One use of a refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshUse {
    pub token_hash: String,
    pub client_id: String,
    pub now: i64,
    /// The hash of the token that replaces it, if the policy rotates now.
    pub successor_hash: String,
    pub policy: RefreshPolicy,
    /// The `scope` parameter: a subset of the grant's, for this refresh only (RFC 6749 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token this refresh issues expires.
    pub access_expires_at: i64,
}

/// What is asked of a grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantOp {
    /// The code exchange: stores the grant unless its code was redeemed before, in which
    /// case the code is being replayed and what its first use issued is revoked
    /// (RFC 6749 §4.1.2).
    Redeem {
        grant: Grant,
        now: i64,
    },
    /// Forgets a redemption whose answer could not be sent (its tokens failed to sign), so
    /// the code can be tried again.
    Undo,
    Refresh(RefreshUse),
    /// Whether `token_hash` is the grant's live refresh token (RFC 7662).
    Inspect {
        token_hash: String,
        now: i64,
    },
    /// Whether the grant still stands, and for whom (userinfo, OpenID Connect Core §5.3).
    Status,
    /// The user's profile changed: tokens minted from now on, and userinfo, carry this.
    Reprofile {
        claims: UserClaims,
    },
    /// Ends the grant. With `by`, only when the token is one of the grant's and was issued
    /// to that client (RFC 7009 §2.1); without, unconditionally (an administrator, a
    /// disabled user, a deleted application).
    Revoke {
        now: i64,
        by: Option<Presented>,
    },
    /// Takes over a refresh token stored before grants had objects of their own; a no-op
    /// when the grant exists already.
    Adopt {
        grant: Grant,
    },
}

impl GrantOp {
    /// Whether the operation can change the grant: the others (userinfo's and
    /// introspection's, the most frequent) need no copy of it to compare afterwards.
    pub fn may_write(&self) -> bool {
        !matches!(self, GrantOp::Inspect { .. } | GrantOp::Status)
    }
}

/// A token and the client that presented it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presented {
    pub token_hash: String,
    pub client_id: String,
}

/// What a refresh hands back to mint tokens from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantView {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The login session's `sid`: refreshed ID tokens keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The claims the authorization asked for by name (`oidc::claims_request`): refreshed
    /// tokens keep them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub claims_request: String,
    pub auth_time: i64,
    pub claims: UserClaims,
    /// When the live refresh token was issued, and when it expires.
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The grant's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantAnswer {
    /// The code's first redemption: the grant is stored.
    Redeemed,
    /// The code was redeemed before; the grant is revoked now.
    Replayed {
        user_id: String,
    },
    Undone,
    /// The token was live; `rotated` says whether the successor replaced it.
    Refreshed {
        view: GrantView,
        rotated: bool,
    },
    /// A rotated-out token came back: someone holds a copy. The grant is revoked.
    Reused {
        user_id: String,
    },
    /// The token was issued to another client; nothing changed.
    WrongClient,
    /// The scope asked for is not within the grant's (RFC 6749 §5.2 `invalid_scope`);
    /// nothing changed.
    BadScope {
        reason: String,
    },
    /// Unknown, expired, revoked or superseded: nothing changed.
    Invalid,
    Active {
        view: GrantView,
    },
    /// The grant stands: its user, scope and the profile it was granted with.
    Standing {
        user_id: String,
        scope: String,
        claims: UserClaims,
    },
    Revoked,
    Adopted,
    Reprofiled,
}

impl Grant {
    fn view(&self, r: &RefreshState) -> GrantView {
        self.view_at(r.created_at, r.expires_at)
    }

    fn view_at(&self, issued_at: i64, expires_at: i64) -> GrantView {
        GrantView {
            client_id: self.client_id.clone(),
            user_id: self.user_id.clone(),
            scope: self.scope.clone(),
            audience: self.audience.clone(),
            acr: self.acr.clone(),
            sid: self.sid.clone(),
            claims_request: self.claims_request.clone(),
            auth_time: self.auth_time,
            claims: self.claims.clone(),
            issued_at,
            expires_at,
        }
    }

    /// The live refresh token, if `token_hash` is it and it may still be used at `now`.
    fn live(&self, token_hash: &str, now: i64) -> Option<&RefreshState> {
        self.refresh.as_ref().filter(|r| {
            self.revoked_at.is_none() && r.token_hash == token_hash && r.expires_at > now
        })
    }

    fn owns(&self, token_hash: &str) -> bool {
        self.refresh
            .as_ref()
            .is_some_and(|r| r.token_hash == token_hash || r.spent.iter().any(|s| s == token_hash))
    }

    /// After this the grant can be forgotten: its code can no longer be replayed and no
    /// refresh token of it can be used.
    pub fn forget_after(&self) -> i64 {
        if self.revoked_at.is_some() {
            return self.code_expires_at;
        }
        let refresh = self.refresh.as_ref().map_or(0, |r| r.expires_at);
        self.code_expires_at
            .max(refresh)
            .max(self.access_expires_at)
    }
}

/// Applies `op` to the grant's state: the new state and the answer. State is `None` for
/// a grant that does not exist (never redeemed, forgotten, or undone).
pub fn apply(state: Option<Grant>, op: GrantOp) -> (Option<Grant>, GrantAnswer) {
    match (state, op) {
        (None, GrantOp::Redeem { grant, .. }) => (Some(grant), GrantAnswer::Redeemed),
        (Some(mut g), GrantOp::Redeem { now, .. }) => {
            g.revoked_at.get_or_insert(now);
            let user_id = g.user_id.clone();
            (Some(g), GrantAnswer::Replayed { user_id })
        }
        (Some(g), GrantOp::Undo) if g.revoked_at.is_some() => (Some(g), GrantAnswer::Invalid),
        (_, GrantOp::Undo) => (None, GrantAnswer::Undone),
        (Some(g), GrantOp::Refresh(u)) => refresh(g, u),
        (None, GrantOp::Refresh(_)) => (None, GrantAnswer::Invalid),
        (Some(g), GrantOp::Inspect { token_hash, now }) => {
            let answer = match g.live(&token_hash, now) {
                Some(r) => GrantAnswer::Active { view: g.view(r) },
                None => GrantAnswer::Invalid,
            };
            (Some(g), answer)
        }
        (None, GrantOp::Inspect { .. }) => (None, GrantAnswer::Invalid),
        (Some(g), GrantOp::Status) if g.revoked_at.is_none() => {
            let answer = GrantAnswer::Standing {
                user_id: g.user_id.clone(),
                scope: g.scope.clone(),
                claims: g.claims.clone(),
            };
            (Some(g), answer)
        }
        (state, GrantOp::Status) => (state, GrantAnswer::Invalid),
        (Some(mut g), GrantOp::Reprofile { claims }) => {
            g.claims = claims;
            (Some(g), GrantAnswer::Reprofiled)
        }
        (None, GrantOp::Reprofile { .. }) => (None, GrantAnswer::Invalid),
        (Some(mut g), GrantOp::Revoke { now, by }) => {
            let answer = match &by {
                Some(p) if !g.owns(&p.token_hash) => GrantAnswer::Invalid,
                Some(p) if p.client_id != g.client_id => GrantAnswer::WrongClient,
                _ => {
                    g.revoked_at.get_or_insert(now);
                    GrantAnswer::Revoked
                }
            };
            (Some(g), answer)
        }
        (None, GrantOp::Revoke { by, .. }) => {
            let answer = if by.is_some() {
                GrantAnswer::Invalid
            } else {
                GrantAnswer::Revoked
            };
            (None, answer)
        }
        (None, GrantOp::Adopt { grant }) => (Some(grant), GrantAnswer::Adopted),
        (Some(g), GrantOp::Adopt { .. }) => (Some(g), GrantAnswer::Adopted),
    }
}

fn refresh(mut g: Grant, u: RefreshUse) -> (Option<Grant>, GrantAnswer) {
    if g.live(&u.token_hash, u.now).is_none() {
        let reused = g.revoked_at.is_none()
            && g.refresh
                .as_ref()
                .is_some_and(|r| r.spent.contains(&u.token_hash));
        if reused && g.client_id == u.client_id {
            g.revoked_at = Some(u.now);
            let user_id = g.user_id.clone();
            return (Some(g), GrantAnswer::Reused { user_id });
        }
        return (Some(g), GrantAnswer::Invalid);
    }
    if g.client_id != u.client_id {
        return (Some(g), GrantAnswer::WrongClient);
    }
    let scope = match narrowed(&g.scope, u.scope.as_deref()) {
        Ok(scope) => scope,
        Err(reason) => return (Some(g), GrantAnswer::BadScope { reason }),
    };
    g.access_expires_at = g.access_expires_at.max(u.access_expires_at);
    let Some(r) = g.refresh.as_mut() else {
        return (Some(g), GrantAnswer::Invalid);
    };
    let p = &u.policy;
    let rotated = match p.rotate {
        Rotate::Always => true,
        Rotate::Late => (u.now - r.created_at) * 10 >= p.ttl * 7,
        Rotate::Never => false,
    };
    if p.sliding {
        r.expires_at = (u.now + p.ttl).min(r.grant_expires_at);
    }
    if rotated {
        let old = std::mem::replace(&mut r.token_hash, u.successor_hash);
        r.spent.push(old);
        if r.spent.len() > SPENT_KEPT {
            r.spent.remove(0);
        }
        r.created_at = u.now;
    }
    let (issued_at, expires_at) = (r.created_at, r.expires_at);
    let view = GrantView {
        scope,
        ..g.view_at(issued_at, expires_at)
    };
    (Some(g), GrantAnswer::Refreshed { view, rotated })
}

/// The scope for this refresh: the grant's, or a subset of it (RFC 6749 §6). The grant
/// keeps the original, so a later refresh may ask for all of it again.
fn narrowed(granted: &str, requested: Option<&str>) -> Result<String, String> {
    let Some(requested) = requested else {
        return Ok(granted.to_string());
    };
    let granted: Vec<&str> = granted.split(' ').collect();
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.contains(&s) {
            return Err(format!("scope {s} was not part of the original grant"));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err("the scope is empty".into());
    }
    Ok(out.join(" "))
}

#[cfg(test)]
#[path = "grant_tests.rs"]
mod tests;

//! The login step: credentials checked against D1, a session created in KV.

use super::audit::{Entry, Event, LoginFailure};
use super::throttle;
use crate::crypto::password::{
    hash_password, needs_rehash, verify_password, PasswordPolicy, Pbkdf2,
};
use crate::crypto::SessionId;
use crate::error::Failure;
use crate::model::grant::{PendingIndex, SessionIndex};
use crate::model::{Application, Session, User};
use crate::runtime::{Clock, Random};
use crate::store::{SessionStore, Store, ThrottleStore};

/// How long a login lasts without logging in again (Auth0's default absolute lifetime).
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug)]
pub enum LoginError {
    /// Wrong email or password: one message for both, so accounts cannot be enumerated.
    /// Which one it was, and the account's id when it exists, are for the audit log only
    /// (so the log, filtered by user, shows the attacks on an account).
    InvalidCredentials(LoginFailure, Option<String>),
    /// Too many failures for this account (`Locked`) or address (`Throttled`): try again
    /// in this many seconds.
    Locked(i64, LoginFailure),
    /// The right password for an account an administrator disabled (the user id, for the
    /// audit log). Said plainly: whoever knows the password may know the account exists.
    Disabled(String),
    Failed(Failure),
}

/// The audit record of a login attempt (none when storage failed: nothing was decided).
/// Failed attempts keep the email typed, as Auth0's logs do, so attacks on one account
/// can be found; never the password.
pub fn audit_entry(
    result: &Result<User, LoginError>,
    app: &Application,
    email: &str,
) -> Option<Entry> {
    let failed = |reason: LoginFailure| {
        Entry::new(
            Event::LoginFailed,
            format!("Login failed: {}", reason.as_str().replace('_', " ")),
        )
        .app(app)
        .detail("reason", reason.as_str())
        .detail("email", email.trim().chars().take(200).collect::<String>())
    };
    match result {
        Ok(user) => Some(
            Entry::new(Event::LoginSucceeded, "Login succeeded")
                .app(app)
                .user(&user.id),
        ),
        Err(LoginError::InvalidCredentials(reason, None)) => Some(failed(*reason)),
        Err(LoginError::InvalidCredentials(reason, Some(id))) => Some(failed(*reason).user(id)),
        Err(LoginError::Locked(secs, reason)) => Some(failed(*reason).detail("retry_after", *secs)),
        Err(LoginError::Disabled(id)) => Some(failed(LoginFailure::Disabled).user(id)),
        Err(LoginError::Failed(_)) => None,
    }
}

impl From<Failure> for LoginError {
    fn from(f: Failure) -> Self {
        Self::Failed(f)
    }
}

/// Checks the credentials, unless the account or the client's address is locked by too
/// many failures (see `throttle`); counts the outcome.
#[allow(clippy::too_many_arguments)]
pub async fn authenticate(
    store: &impl Store,
    throttle: &impl ThrottleStore,
    kdf: &impl Pbkdf2,
    policy: &PasswordPolicy,
    clock: &impl Clock,
    rng: &impl Random,
    email: &str,
    password: &str,
    client_ip: Option<&str>,
) -> Result<User, LoginError> {
    let keys = throttle::Keys::new(email, client_ip);
    let now = clock.now();
    if let Some((secs, by_address)) = throttle::locked_for(throttle, &keys, now).await? {
        let reason = if by_address {
            LoginFailure::Throttled
        } else {
            LoginFailure::Locked
        };
        return Err(LoginError::Locked(secs, reason));
    }
    let user = store
        .user_by_email(email.trim())
        .await
        .map_err(Failure::from)?;
    let ok = verify_password(
        kdf,
        policy,
        password,
        user.as_ref().map(|u| u.password_hash.as_str()),
    )
    .await?;
    if let Some(u) = user.as_ref().filter(|u| ok && !u.is_disabled()) {
        rehash(store, kdf, rng, policy, u, password).await;
    }
    match user {
        Some(user) if ok && user.is_disabled() => Err(LoginError::Disabled(user.id)),
        Some(user) if ok => {
            throttle::record_success(throttle, &keys).await?;
            Ok(user)
        }
        _ => {
            throttle::record_failure(throttle, &keys, now).await?;
            Err(match user {
                Some(u) => LoginError::InvalidCredentials(LoginFailure::WrongPassword, Some(u.id)),
                None => LoginError::InvalidCredentials(LoginFailure::UnknownUser, None),
            })
        }
    }
}

/// Upgrades a verified hash made without the pepper or with another work factor, now that
/// the password is at hand: once per user, and only if nobody changed the hash meanwhile.
/// A failure costs the login nothing (logged; the next login tries again).
async fn rehash(
    store: &impl Store,
    kdf: &impl Pbkdf2,
    rng: &impl Random,
    policy: &PasswordPolicy,
    user: &User,
    password: &str,
) {
    if !needs_rehash(policy, &user.password_hash) {
        return;
    }
    let result = match hash_password(kdf, rng, policy, password).await {
        Ok(new) => store
            .replace_password_hash(&user.id, &user.password_hash, &new)
            .await
            .map_err(Failure::from),
        Err(f) => Err(f),
    };
    if let Err(f) = result {
        crate::error::log_error(&format!("login: could not upgrade a password hash: {f}"));
    }
}

/// Creates a session for `user`; returns the id for the cookie and the session. The
/// session goes in KV; its index row (so the user's sessions can be found and ended) is
/// written to D1 after the response (`pending`).
pub async fn start_session(
    sessions: &impl SessionStore,
    clock: &impl Clock,
    rng: &impl Random,
    pending: &PendingIndex,
    user: &User,
) -> Result<(SessionId, Session), Failure> {
    let id = SessionId::generate(rng)?;
    let now = clock.now();
    let session = Session {
        user_id: user.id.clone(),
        auth_time: now,
        expires_at: now + SESSION_TTL_SECS,
        claims: user.claims(),
        id_hash: id.hashed(),
        backchannel: Vec::new(),
    };
    sessions
        .put_session(&id.hashed(), &session, SESSION_TTL_SECS as u64)
        .await?;
    pending.push_session(SessionIndex {
        id_hash: id.hashed(),
        user_id: user.id.clone(),
        expires_at: session.expires_at,
    });
    Ok((id, session))
}

/// Ends every recorded session of a user (disabling, and later "sign out everywhere"). KV
/// deletes reach other locations within about a minute. The applications each session
/// signed in to with a back-channel logout URI are told after the response (`pending`).
pub async fn end_sessions(
    store: &impl Store,
    sessions: &impl SessionStore,
    pending: &PendingIndex,
    user_id: &str,
) -> Result<(), Failure> {
    for id_hash in store.indexed_sessions(user_id).await? {
        if let Some(s) = sessions.session(&id_hash).await? {
            let id_hash = id_hash.clone();
            super::backchannel::ended(pending, &Session { id_hash, ..s });
        }
        sessions.delete_session(&id_hash).await?;
    }
    store.forget_sessions(user_id).await?;
    Ok(())
}

/// Rewrites a user's recorded sessions with their new profile, so the codes those sessions
/// get carry it (`/authorize` reads nothing but the session).
pub async fn reprofile_sessions(
    store: &impl Store,
    sessions: &impl SessionStore,
    clock: &impl Clock,
    user: &User,
) -> Result<(), Failure> {
    let now = clock.now();
    for id_hash in store.indexed_sessions(&user.id).await? {
        let Some(mut session) = sessions.session(&id_hash).await? else {
            continue;
        };
        if session.expires_at <= now {
            continue;
        }
        session.claims = user.claims();
        let ttl = (session.expires_at - now) as u64;
        sessions.put_session(&id_hash, &session, ttl).await?;
    }
    Ok(())
}

/// The live session behind a cookie value, if any. KV's TTL removes expired sessions
/// eventually; `expires_at` makes the cut exact.
pub async fn current_session(
    sessions: &impl SessionStore,
    clock: &impl Clock,
    cookie: Option<&str>,
) -> Result<Option<Session>, Failure> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(None);
    };
    let id_hash = SessionId::new(cookie).hashed();
    let session = sessions.session(&id_hash).await?;
    Ok(session
        .filter(|s| s.expires_at > clock.now())
        .map(|s| Session { id_hash, ..s }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::password::{hash_password, testing::FakeKdf};
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::{MemorySessions, MemoryStore};
    use futures_executor::block_on;

    fn policy() -> PasswordPolicy {
        crate::oidc::services::testing::test_settings().password
    }

    /// One login attempt at the test policy, the store being its own throttle.
    fn try_login(
        store: &MemoryStore,
        kdf: &FakeKdf,
        clock: &FixedClock,
        email: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<User, LoginError> {
        block_on(authenticate(
            store,
            store,
            kdf,
            &policy(),
            clock,
            &CountingRandom::new(),
            email,
            password,
            client_ip,
        ))
    }

    fn store_with_user(kdf: &FakeKdf) -> MemoryStore {
        let store = MemoryStore::default();
        let hash = block_on(hash_password(
            kdf,
            &CountingRandom::new(),
            &policy(),
            "correct horse",
        ))
        .unwrap();
        store.users.borrow_mut().push(User {
            id: "u1".into(),
            email: "Ada@Example.com".into(),
            name: Some("Ada".into()),
            email_verified: true,
            password_hash: hash,
            created_at: 0,
            roles: vec![],
            disabled_at: None,
            profile: Default::default(),
            updated_at: 0,
        });
        store
    }

    #[test]
    fn right_password_logs_in_case_insensitively_by_email() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let user = try_login(
            &store,
            &kdf,
            &FixedClock::at(1_000),
            " ada@example.com ",
            "correct horse",
            None,
        )
        .unwrap();
        assert_eq!(user.id, "u1");
    }

    #[test]
    fn a_disabled_account_cannot_log_in_even_with_the_right_password() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        store.users.borrow_mut()[0].disabled_at = Some(500);
        let attempt = |pw: &str| {
            try_login(
                &store,
                &kdf,
                &FixedClock::at(1_000),
                "ada@example.com",
                pw,
                None,
            )
        };
        let right = attempt("correct horse");
        assert!(matches!(&right, Err(LoginError::Disabled(id)) if id == "u1"));
        let entry = audit_entry(
            &right,
            &crate::oidc::testing::app(crate::model::AppType::Spa),
            "ada@example.com",
        )
        .unwrap();
        assert_eq!(entry.event, Event::LoginFailed);
        // A wrong password says nothing about the account's state.
        assert!(matches!(
            attempt("wrong"),
            Err(LoginError::InvalidCredentials(
                LoginFailure::WrongPassword,
                _
            ))
        ));
    }

    /// Issue 18: a wrong password for an existing account is recorded with the account's
    /// id (the person typing is told the same as for an unknown account).
    #[test]
    fn a_wrong_password_is_recorded_against_the_account() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let app = crate::oidc::testing::app(crate::model::AppType::Spa);
        let clock = FixedClock::at(1_000);
        let wrong = try_login(&store, &kdf, &clock, "ada@example.com", "wrong", None);
        let entry = audit_entry(&wrong, &app, "ada@example.com").unwrap();
        assert_eq!(entry.event, Event::LoginFailed);
        assert_eq!(entry.user_id.as_deref(), Some("u1"));
        let unknown = try_login(&store, &kdf, &clock, "nobody@example.com", "wrong", None);
        let entry = audit_entry(&unknown, &app, "nobody@example.com").unwrap();
        assert_eq!(entry.user_id, None);
    }

    #[test]
    fn wrong_password_and_unknown_user_look_the_same() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let before = kdf.calls.get();
        assert!(matches!(
            try_login(
                &store,
                &kdf,
                &FixedClock::at(1_000),
                "ada@example.com",
                "wrong",
                None
            ),
            Err(LoginError::InvalidCredentials(
                LoginFailure::WrongPassword,
                _
            ))
        ));
        assert!(matches!(
            try_login(
                &store,
                &kdf,
                &FixedClock::at(1_000),
                "nobody@example.com",
                "wrong",
                None
            ),
            Err(LoginError::InvalidCredentials(LoginFailure::UnknownUser, _))
        ));
        assert_eq!(kdf.calls.get() - before, 2, "both paths derive once");
    }

    #[test]
    fn storage_failure_is_not_a_wrong_password() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        store.fail.set(true);
        assert!(matches!(
            try_login(
                &store,
                &kdf,
                &FixedClock::at(1_000),
                "ada@example.com",
                "correct horse",
                None
            ),
            Err(LoginError::Failed(_))
        ));
    }

    #[test]
    fn five_wrong_passwords_lock_the_account_even_for_the_right_one() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let clock = FixedClock::at(1_000);
        let ip = Some("192.0.2.1");
        let attempt = |pw: &str| try_login(&store, &kdf, &clock, "ada@example.com", pw, ip);
        for _ in 0..5 {
            assert!(matches!(
                attempt("guess"),
                Err(LoginError::InvalidCredentials(..))
            ));
        }
        let calls = kdf.calls.get();
        let r = attempt("correct horse");
        assert!(
            matches!(r, Err(LoginError::Locked(60, LoginFailure::Locked))),
            "{r:?}"
        );
        let app = crate::oidc::testing::app(crate::model::AppType::Spa);
        let entry = audit_entry(&r, &app, " ada@example.com ").unwrap();
        assert_eq!(entry.event, Event::LoginFailed);
        assert_eq!(entry.detail["reason"], "locked");
        assert_eq!(entry.detail["email"], "ada@example.com");
        assert_eq!(entry.client_id.as_deref(), Some("app1"));
        assert_eq!(
            kdf.calls.get(),
            calls,
            "a locked attempt costs no password check"
        );
        clock.advance(60);
        assert!(attempt("correct horse").is_ok(), "the lock ends");
        // Success cleared the account's counter: one more failure is not a lock.
        assert!(matches!(
            attempt("guess"),
            Err(LoginError::InvalidCredentials(..))
        ));
    }

    #[test]
    fn twenty_failures_from_one_address_throttle_it_for_every_account() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let clock = FixedClock::at(1_000);
        for i in 0..20 {
            let r = try_login(
                &store,
                &kdf,
                &clock,
                &format!("user{i}@example.com"),
                "guess",
                Some("198.51.100.7"),
            );
            assert!(matches!(
                r,
                Err(LoginError::InvalidCredentials(LoginFailure::UnknownUser, _))
            ));
        }
        let r = try_login(
            &store,
            &kdf,
            &clock,
            "ada@example.com",
            "correct horse",
            Some("198.51.100.7"),
        );
        assert!(
            matches!(r, Err(LoginError::Locked(_, LoginFailure::Throttled))),
            "{r:?}"
        );
    }

    #[test]
    fn audit_entries_name_the_outcome_and_never_the_password() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let app = crate::oidc::testing::app(crate::model::AppType::Spa);
        let clock = FixedClock::at(1_000);
        let ok = try_login(
            &store,
            &kdf,
            &clock,
            "ada@example.com",
            "correct horse",
            None,
        );
        let e = audit_entry(&ok, &app, "ada@example.com").unwrap();
        assert_eq!(
            (e.event, e.user_id.as_deref()),
            (Event::LoginSucceeded, Some("u1"))
        );
        let bad = try_login(&store, &kdf, &clock, "ada@example.com", "hunter2", None);
        let e = audit_entry(&bad, &app, "ada@example.com").unwrap();
        assert_eq!(e.event, Event::LoginFailed);
        assert_eq!(e.detail["reason"], "wrong_password");
        assert!(!format!("{e:?}").contains("hunter2"));
        store.fail.set(true);
        let down = try_login(&store, &kdf, &clock, "ada@example.com", "x", None);
        assert!(audit_entry(&down, &app, "ada@example.com").is_none());
    }

    #[test]
    fn sessions_are_stored_hashed_and_expire() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let user = store.users.borrow()[0].clone();
        let sessions = MemorySessions::default();
        let clock = FixedClock::at(1_000);
        let pending = PendingIndex::default();
        let (id, _) = block_on(start_session(
            &sessions,
            &clock,
            &CountingRandom::new(),
            &pending,
            &user,
        ))
        .unwrap();
        assert!(!sessions.sessions.borrow().contains_key(id.expose()));
        let (_, indexed) = pending.take();
        assert_eq!(indexed.len(), 1);
        assert_eq!(indexed[0].id_hash, id.hashed());
        assert_eq!(indexed[0].expires_at, 1_000 + SESSION_TTL_SECS);
        let found = block_on(current_session(&sessions, &clock, Some(id.expose()))).unwrap();
        assert_eq!(found.unwrap().user_id, "u1");
        clock.advance(SESSION_TTL_SECS);
        assert!(
            block_on(current_session(&sessions, &clock, Some(id.expose())))
                .unwrap()
                .is_none()
        );
        assert!(block_on(current_session(&sessions, &clock, Some("bogus")))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_users_sessions_are_ended_or_given_the_new_profile() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let mut user = store.users.borrow()[0].clone();
        let sessions = MemorySessions::default();
        let clock = FixedClock::at(1_000);
        let (rng, pending) = (CountingRandom::new(), PendingIndex::default());
        let (a, _) = block_on(start_session(&sessions, &clock, &rng, &pending, &user)).unwrap();
        let (b, _) = block_on(start_session(&sessions, &clock, &rng, &pending, &user)).unwrap();
        let (_, rows) = pending.take();
        assert!(block_on(store.index_sessions(&rows)).unwrap().is_empty());

        user.name = Some("Ada L.".into());
        block_on(reprofile_sessions(&store, &sessions, &clock, &user)).unwrap();
        for id in [&a, &b] {
            let s = block_on(current_session(&sessions, &clock, Some(id.expose()))).unwrap();
            assert_eq!(s.unwrap().claims.name.as_deref(), Some("Ada L."));
        }

        // One session had signed in to an application that listens for logouts.
        let mut listening = block_on(sessions.session(&a.hashed())).unwrap().unwrap();
        listening.backchannel = vec!["app-1".into()];
        block_on(sessions.put_session(&a.hashed(), &listening, 60)).unwrap();
        block_on(end_sessions(&store, &sessions, &pending, &user.id)).unwrap();
        let (_, logouts) = pending.take_session_work();
        assert_eq!(logouts.len(), 1, "only the listening session is told");
        assert_eq!(logouts[0].sid, crate::crypto::session_sid(&a.hashed()));
        assert_eq!(logouts[0].client_ids, ["app-1"]);
        assert_eq!(logouts[0].user_id, user.id);
        for id in [&a, &b] {
            assert!(
                block_on(current_session(&sessions, &clock, Some(id.expose())))
                    .unwrap()
                    .is_none()
            );
        }
        assert!(block_on(store.indexed_sessions(&user.id))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_login_upgrades_an_old_hash_and_a_failed_one_does_not() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let old_policy = PasswordPolicy {
            iterations: 100_000,
            pepper: None,
        };
        let old = block_on(hash_password(
            &kdf,
            &CountingRandom::new(),
            &old_policy,
            "correct horse",
        ))
        .unwrap();
        store.users.borrow_mut()[0].password_hash = old.clone();
        let login = |pw: &str| {
            try_login(
                &store,
                &kdf,
                &FixedClock::at(1_000),
                "ada@example.com",
                pw,
                None,
            )
        };
        assert!(login("wrong").is_err());
        assert_eq!(store.users.borrow()[0].password_hash, old);
        assert!(login("correct horse").is_ok());
        let new = store.users.borrow()[0].password_hash.clone();
        assert!(new.starts_with("pbkdf2p-sha256$10000$"), "{new}");
        assert!(login("correct horse").is_ok(), "the new hash verifies");
        assert_eq!(store.users.borrow()[0].password_hash, new, "once");
    }
}

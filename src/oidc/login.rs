//! The login step: credentials checked against D1, a session created in KV.

use super::error::Failure;
use crate::crypto::password::{verify_password, Pbkdf2};
use crate::crypto::SessionId;
use crate::model::{Session, User};
use crate::runtime::{Clock, Random};
use crate::store::{SessionStore, Store};

/// How long a login lasts without logging in again (Auth0's default absolute lifetime).
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug)]
pub enum LoginError {
    /// Wrong email or password: one message for both, so accounts cannot be enumerated.
    InvalidCredentials,
    Failed(Failure),
}

impl From<Failure> for LoginError {
    fn from(f: Failure) -> Self {
        Self::Failed(f)
    }
}

pub async fn authenticate(
    store: &impl Store,
    kdf: &impl Pbkdf2,
    email: &str,
    password: &str,
) -> Result<User, LoginError> {
    let user = store
        .user_by_email(email.trim())
        .await
        .map_err(Failure::from)?;
    let ok = verify_password(
        kdf,
        password,
        user.as_ref().map(|u| u.password_hash.as_str()),
    )
    .await?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(LoginError::InvalidCredentials),
    }
}

/// Creates a session for `user`; returns the id for the cookie and the session.
pub async fn start_session(
    sessions: &impl SessionStore,
    clock: &impl Clock,
    rng: &impl Random,
    user: &User,
) -> Result<(SessionId, Session), Failure> {
    let id = SessionId::generate(rng)?;
    let now = clock.now();
    let session = Session {
        user_id: user.id.clone(),
        auth_time: now,
        expires_at: now + SESSION_TTL_SECS,
        claims: user.claims(),
    };
    sessions
        .put_session(&id.hashed(), &session, SESSION_TTL_SECS as u64)
        .await?;
    Ok((id, session))
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
    let session = sessions.session(&SessionId::new(cookie).hashed()).await?;
    Ok(session.filter(|s| s.expires_at > clock.now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::password::{hash_password, testing::FakeKdf};
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::{MemorySessions, MemoryStore};
    use futures_executor::block_on;

    fn store_with_user(kdf: &FakeKdf) -> MemoryStore {
        let store = MemoryStore::default();
        let hash = block_on(hash_password(
            kdf,
            &CountingRandom::new(),
            "correct horse",
            20_000,
        ))
        .unwrap();
        store.users.borrow_mut().push(User {
            id: "u1".into(),
            email: "Ada@Example.com".into(),
            name: Some("Ada".into()),
            email_verified: true,
            password_hash: hash,
            created_at: 0,
        });
        store
    }

    #[test]
    fn right_password_logs_in_case_insensitively_by_email() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let user = block_on(authenticate(
            &store,
            &kdf,
            " ada@example.com ",
            "correct horse",
        ))
        .unwrap();
        assert_eq!(user.id, "u1");
    }

    #[test]
    fn wrong_password_and_unknown_user_look_the_same() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let before = kdf.calls.get();
        assert!(matches!(
            block_on(authenticate(&store, &kdf, "ada@example.com", "wrong")),
            Err(LoginError::InvalidCredentials)
        ));
        assert!(matches!(
            block_on(authenticate(&store, &kdf, "nobody@example.com", "wrong")),
            Err(LoginError::InvalidCredentials)
        ));
        assert_eq!(kdf.calls.get() - before, 2, "both paths derive once");
    }

    #[test]
    fn storage_failure_is_not_a_wrong_password() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        store.fail.set(true);
        assert!(matches!(
            block_on(authenticate(
                &store,
                &kdf,
                "ada@example.com",
                "correct horse"
            )),
            Err(LoginError::Failed(_))
        ));
    }

    #[test]
    fn sessions_are_stored_hashed_and_expire() {
        let kdf = FakeKdf::default();
        let store = store_with_user(&kdf);
        let user = store.users.borrow()[0].clone();
        let sessions = MemorySessions::default();
        let clock = FixedClock::at(1_000);
        let (id, _) = block_on(start_session(
            &sessions,
            &clock,
            &CountingRandom::new(),
            &user,
        ))
        .unwrap();
        assert!(!sessions.sessions.borrow().contains_key(id.expose()));
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
}

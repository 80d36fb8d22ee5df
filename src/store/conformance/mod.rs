//! The storage conformance suite: the rules that are written twice, in D1's SQL and in the
//! in-memory store's Rust (the grant index and disabled users, key slots, consents), and
//! the stores whose rules are Rust run elsewhere (grants in Durable Objects, throttling
//! counters), checked the same way against every implementation. The memory store runs it
//! under `cargo test`; D1 and the Durable Objects run it inside workerd, where an
//! integration test asks for it (`STORE_CONFORMANCE`, see the wasm adapter), so they cannot
//! drift apart unnoticed.
//!
//! Every check uses ids under its own `prefix`, but it writes rows (signing keys among them):
//! run it only against a throwaway database, never a deployment's.

use super::{GrantOwner, GrantStore, Inserted, Store, ThrottleStore};
use crate::model::grant::{
    Grant, GrantAnswer, GrantIndex, GrantOp, Presented, RefreshPolicy, RefreshState, RefreshUse,
    Rotate, SessionIndex,
};
use crate::model::{AppType, Application, KeyStatus, SigningAlg, StoredKey, User, UserClaims};

mod accounts;

use accounts::{email_change, roles};

type Check = Result<(), String>;

/// The outcome of each check of a throttling store, by name.
pub async fn run_throttle<T: ThrottleStore>(store: &T, prefix: &str) -> Vec<(&'static str, Check)> {
    vec![(
        "throttle_counters",
        throttle_counters(store, &format!("{prefix}-throttle_counters")).await,
    )]
}

/// The outcome of each check of a grant store, by name.
pub async fn run_grants<G: GrantStore>(store: &G, prefix: &str) -> Vec<(&'static str, Check)> {
    vec![
        (
            "grant_single_use",
            grant_single_use(store, &format!("{prefix}-grant_single_use")).await,
        ),
        (
            "grant_rotation",
            grant_rotation(store, &format!("{prefix}-grant_rotation")).await,
        ),
    ]
}

/// The outcome of each check of a store, by name.
pub async fn run<S: Store>(store: &S, prefix: &str) -> Vec<(&'static str, Check)> {
    let mut out = Vec::new();
    out.push((
        "grant_index",
        grant_index(store, &format!("{prefix}-grant_index")).await,
    ));
    out.push((
        "key_slots",
        key_slots(store, &format!("{prefix}-key_slots")).await,
    ));
    out.push((
        "consents",
        consents(store, &format!("{prefix}-consents")).await,
    ));
    out.push((
        "active_users",
        active_users(store, &format!("{prefix}-active")).await,
    ));
    out.push(("roles", roles(store, &format!("{prefix}-roles")).await));
    out.push((
        "email_change",
        email_change(store, &format!("{prefix}-email")).await,
    ));
    out
}

fn ensure(ok: bool, what: &str) -> Check {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const NOW: i64 = 1_800_000_000;
const REDIRECT: &str = "https://rp.example/cb";

/// An application and a user under `p`.
async fn parties<S: Store>(s: &S, p: &str) -> Result<(String, String), String> {
    let client = format!("{p}-app");
    let mut app = Application::new(client.clone(), "Conformance".into(), AppType::Spa, NOW);
    app.redirect_uris = vec![REDIRECT.into()];
    s.insert_application(&app).await.map_err(err)?;
    let user = format!("{p}-user");
    let inserted = s
        .insert_user(&User {
            id: user.clone(),
            email: format!("{p}@conformance.example"),
            name: None,
            email_verified: true,
            password_hash: String::new(),
            created_at: NOW,
            roles: vec![],
            disabled_at: None,
            profile: Default::default(),
            updated_at: 0,
        })
        .await
        .map_err(err)?;
    ensure(inserted == Inserted::Yes, "a new user is inserted")?;
    Ok((client, user))
}

fn grant(client: &str, token_hash: &str) -> Grant {
    Grant {
        claims_request: String::new(),
        sid: None,
        client_id: client.into(),
        user_id: "conformance-user".into(),
        scope: "openid offline_access".into(),
        audience: None,
        acr: None,
        auth_time: NOW - 5,
        claims: UserClaims {
            roles: Default::default(),
            email: "c@conformance.example".into(),
            email_verified: true,
            name: None,
            profile: Default::default(),
            updated_at: None,
        },
        created_at: NOW,
        code_expires_at: NOW + 60,
        refresh: Some(RefreshState {
            token_hash: token_hash.into(),
            created_at: NOW,
            expires_at: NOW + 100,
            grant_expires_at: NOW + 1000,
            spent: vec![],
        }),
        revoked_at: None,
        access_expires_at: 0,
    }
}

async fn op<G: GrantStore>(s: &G, id: &str, op: GrantOp) -> Result<GrantAnswer, String> {
    s.grant(id, &op).await.map_err(err)
}

/// RFC 6749 §4.1.2: a code redeems once; a replay revokes what the first use issued; an
/// undone redemption can be tried again.
async fn grant_single_use<G: GrantStore>(s: &G, p: &str) -> Check {
    let redeem = || GrantOp::Redeem {
        grant: grant("c", "t1"),
        now: NOW,
    };
    ensure(
        op(s, p, redeem()).await? == GrantAnswer::Redeemed,
        "the first redemption stores the grant",
    )?;
    ensure(
        op(s, p, GrantOp::Undo).await? == GrantAnswer::Undone,
        "a redemption can be undone",
    )?;
    ensure(
        op(s, p, redeem()).await? == GrantAnswer::Redeemed,
        "an undone code redeems again",
    )?;
    ensure(
        matches!(op(s, p, redeem()).await?, GrantAnswer::Replayed { .. }),
        "a second redemption is a replay",
    )?;
    let inspect = GrantOp::Inspect {
        token_hash: "t1".into(),
        now: NOW + 1,
    };
    ensure(
        op(s, p, inspect).await? == GrantAnswer::Invalid,
        "a replay revokes the first use's refresh token",
    )
}

/// RFC 9700 §4.14.2: one rotation per token, reuse revokes the grant, another client can
/// neither refresh nor revoke.
async fn grant_rotation<G: GrantStore>(s: &G, p: &str) -> Check {
    op(
        s,
        p,
        GrantOp::Redeem {
            grant: grant("c", "t1"),
            now: NOW,
        },
    )
    .await?;
    let refresh = |hash: &str, next: &str, client: &str| {
        GrantOp::Refresh(RefreshUse {
            token_hash: hash.into(),
            client_id: client.into(),
            now: NOW + 2,
            successor_hash: next.into(),
            policy: RefreshPolicy {
                ttl: 100,
                rotate: Rotate::Always,
                sliding: true,
            },
            scope: None,
            access_expires_at: 0,
        })
    };
    ensure(
        op(s, p, refresh("t1", "t2", "other")).await? == GrantAnswer::WrongClient,
        "another client's refresh is refused",
    )?;
    let by = Presented {
        token_hash: "t1".into(),
        client_id: "other".into(),
    };
    ensure(
        op(
            s,
            p,
            GrantOp::Revoke {
                now: NOW,
                by: Some(by),
            },
        )
        .await?
            == GrantAnswer::WrongClient,
        "another client cannot revoke",
    )?;
    ensure(
        matches!(
            op(s, p, refresh("t1", "t2", "c")).await?,
            GrantAnswer::Refreshed { rotated: true, .. }
        ),
        "a live token rotates",
    )?;
    ensure(
        matches!(
            op(s, p, refresh("t1", "t3", "c")).await?,
            GrantAnswer::Reused { .. }
        ),
        "the rotated-out token is reuse",
    )?;
    ensure(
        op(s, p, refresh("t2", "t3", "c")).await? == GrantAnswer::Invalid,
        "reuse revoked the successor",
    )
}

/// The grant index: a user's and an application's grants are found; a disabled user's new
/// grant is refused (for the caller to revoke); deleting the application and purging
/// forget rows.
async fn grant_index<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let row = |id: &str, user: &str| GrantIndex {
        grant_id: format!("{p}-{id}"),
        client_id: client.clone(),
        user_id: user.into(),
        created_at: NOW,
        expires_at: NOW + 100,
    };
    let refused = s
        .index_grants(&[row("g1", &user), row("g2", &user)])
        .await
        .map_err(err)?;
    ensure(refused.is_empty(), "an enabled user's grants are recorded")?;
    let mut of_user = s
        .indexed_grants(GrantOwner::User(&user))
        .await
        .map_err(err)?;
    of_user.sort();
    ensure(
        of_user == [format!("{p}-g1"), format!("{p}-g2")],
        "a user's grants are listed",
    )?;
    let of_client = s
        .indexed_grants(GrantOwner::Client(&client))
        .await
        .map_err(err)?;
    ensure(of_client.len() == 2, "an application's grants are listed")?;
    ensure(
        s.indexed_grants(GrantOwner::UserClient(&user, &client))
            .await
            .map_err(err)?
            .len()
            == 2
            && s.indexed_grants(GrantOwner::UserClient(&user, "another"))
                .await
                .map_err(err)?
                .is_empty(),
        "a user's grants to one application are listed",
    )?;
    ensure(
        s.granted_clients(&user).await.map_err(err)? == [client.clone()],
        "the applications a user has grants to, each once",
    )?;
    s.forget_grants(&user, "another").await.map_err(err)?;
    ensure(
        s.indexed_grants(GrantOwner::User(&user))
            .await
            .map_err(err)?
            .len()
            == 2,
        "forgetting another application's grants keeps these",
    )?;

    let session = |id: &str| SessionIndex {
        id_hash: format!("{p}-{id}"),
        user_id: user.clone(),
        expires_at: NOW + 100,
    };
    let refused = s.index_sessions(&[session("s1")]).await.map_err(err)?;
    ensure(refused.is_empty(), "an enabled user's session is recorded")?;
    ensure(
        s.indexed_sessions(&user).await.map_err(err)? == [format!("{p}-s1")],
        "a user's sessions are listed",
    )?;
    s.forget_sessions(&user).await.map_err(err)?;
    ensure(
        s.indexed_sessions(&user).await.map_err(err)?.is_empty(),
        "forgotten sessions are not listed",
    )?;

    let mut u = s.user_by_id(&user).await.map_err(err)?.ok_or("user")?;
    u.disabled_at = Some(NOW);
    ensure(s.update_user(&u).await.map_err(err)?, "the user is updated")?;
    let refused = s.index_grants(&[row("g3", &user)]).await.map_err(err)?;
    ensure(
        refused == [format!("{p}-g3")],
        "a disabled user's new grant is refused",
    )?;
    let refused = s.index_sessions(&[session("s2")]).await.map_err(err)?;
    ensure(
        refused == [format!("{p}-s2")],
        "a disabled user's new session is refused",
    )?;

    ensure(
        s.purge_grant_index(NOW + 100).await.map_err(err)? == 0,
        "live grants are kept",
    )?;
    ensure(
        s.delete_application(&client).await.map_err(err)?,
        "the application is deleted",
    )?;
    ensure(
        s.indexed_grants(GrantOwner::User(&user))
            .await
            .map_err(err)?
            .is_empty(),
        "a deleted application's grants leave the index",
    )?;
    Ok(())
}

/// Failed-login counters: atomic counting, a new window after the old one, locks that
/// never shorten, clearing.
async fn throttle_counters<T: ThrottleStore>(s: &T, p: &str) -> Check {
    let key = format!("{p}-throttle");
    ensure(
        s.record_failure(&key, NOW, 60).await.map_err(err)? == 1,
        "first failure counts 1",
    )?;
    ensure(
        s.record_failure(&key, NOW + 1, 60).await.map_err(err)? == 2,
        "second counts 2",
    )?;
    ensure(
        s.record_failure(&key, NOW + 61, 60).await.map_err(err)? == 1,
        "a failure after the window starts a new count",
    )?;
    s.lock_until(&key, NOW + 500).await.map_err(err)?;
    s.lock_until(&key, NOW + 100).await.map_err(err)?;
    let states = s
        .throttle_states(std::slice::from_ref(&key))
        .await
        .map_err(err)?;
    ensure(
        states
            .first()
            .is_some_and(|(_, st)| st.locked_until == NOW + 500),
        "a lock never shortens",
    )?;
    s.clear_throttle(&key).await.map_err(err)?;
    let states = s.throttle_states(&[key]).await.map_err(err)?;
    ensure(
        states
            .iter()
            .all(|(_, st)| st.failures == 0 && st.locked_until <= NOW),
        "clearing forgets the counter",
    )
}

/// One key per (algorithm, slot): the first writer wins; rotation moves next to current.
async fn key_slots<S: Store>(s: &S, p: &str) -> Check {
    let key = |kid: &str, status| StoredKey {
        kid: format!("{p}-{kid}"),
        alg: SigningAlg::EdDsa.as_str().into(),
        status,
        public_jwk: "{}".into(),
        private_key_enc: "sealed".into(),
        created_at: NOW,
        retired_at: None,
    };
    // Another run may own the slots already (a shared database): then this one loses,
    // which is the rule too.
    let before = s
        .key_in_slot(SigningAlg::EdDsa, KeyStatus::Current)
        .await
        .map_err(err)?;
    s.insert_key_if_slot_free(&key("a", KeyStatus::Current))
        .await
        .map_err(err)?;
    s.insert_key_if_slot_free(&key("b", KeyStatus::Current))
        .await
        .map_err(err)?;
    let current = s
        .key_in_slot(SigningAlg::EdDsa, KeyStatus::Current)
        .await
        .map_err(err)?
        .ok_or("a current key")?;
    let expected = before.map(|k| k.kid).unwrap_or(format!("{p}-a"));
    ensure(current.kid == expected, "the first writer keeps the slot")?;
    s.insert_key_if_slot_free(&key("n", KeyStatus::Next))
        .await
        .map_err(err)?;
    let next = s
        .key_in_slot(SigningAlg::EdDsa, KeyStatus::Next)
        .await
        .map_err(err)?
        .ok_or("a next key")?;
    s.rotate_keys(&key("n2", KeyStatus::Next), NOW + 10)
        .await
        .map_err(err)?;
    let now_current = s
        .key_in_slot(SigningAlg::EdDsa, KeyStatus::Current)
        .await
        .map_err(err)?
        .ok_or("current after rotation")?;
    ensure(now_current.kid == next.kid, "next becomes current")?;
    let retired = s
        .key_by_kid(&current.kid)
        .await
        .map_err(err)?
        .ok_or("kept")?;
    ensure(
        retired.status == KeyStatus::Retired && retired.retired_at == Some(NOW + 10),
        "current is retired at the rotation",
    )?;
    let published = s.published_keys(NOW + 11).await.map_err(err)?;
    ensure(
        !published.iter().any(|k| k.kid == current.kid),
        "a key retired before the cut is not published",
    )
}

/// Consents: saved, replaced, listed, deleted once.
/// The active-users count: distinct users per application and UTC day or month, from the
/// login and token records only, within the time range.
async fn active_users<S: Store>(s: &S, p: &str) -> Check {
    use crate::model::audit::{ActiveQuery, ActiveUsers, Period, Record};
    const DAY: i64 = 86_400;
    // NOW is 2027-01-15T08:00:00Z; NOW + DAY the 16th, NOW + 20 days in February.
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let record = |n: usize, at: i64, event: &str, client: &str, user: Option<&str>| Record {
        id: format!("{p}-{n}"),
        created_at: at,
        event: event.into(),
        description: String::new(),
        client_id: Some(client.into()),
        application_name: None,
        user_id: user.map(str::to_string),
        ip: None,
        user_agent: None,
        detail: serde_json::json!({}),
    };
    let records = [
        record(1, NOW, "login.succeeded", &a, Some("u1")),
        record(2, NOW + 60, "token.issued", &a, Some("u1")),
        record(3, NOW + 120, "token.issued", &a, Some("u2")),
        record(4, NOW + 180, "login.failed", &a, Some("u3")),
        record(5, NOW + 240, "token.issued", &a, None),
        record(6, NOW + DAY, "token.issued", &a, Some("u2")),
        record(7, NOW + 20 * DAY, "login.succeeded", &a, Some("u1")),
        record(8, NOW, "token.issued", &b, Some("u9")),
    ];
    s.append_audit(&records).await.map_err(err)?;
    let row = |client: &str, period: &str, users: i64| ActiveUsers {
        client_id: client.into(),
        period: period.into(),
        users,
    };
    let range = (NOW - DAY, NOW + 30 * DAY);
    let days = s
        .active_users(&ActiveQuery {
            period: Period::Day,
            since: range.0,
            until: range.1,
            client_id: Some(&a),
        })
        .await
        .map_err(err)?;
    let want = vec![
        row(&a, "2027-01-15", 2),
        row(&a, "2027-01-16", 1),
        row(&a, "2027-02-04", 1),
    ];
    ensure(days == want, &format!("days: {days:?}"))?;
    let months = s
        .active_users(&ActiveQuery {
            period: Period::Month,
            since: range.0,
            until: range.1,
            client_id: Some(&a),
        })
        .await
        .map_err(err)?;
    ensure(
        months == vec![row(&a, "2027-01", 2), row(&a, "2027-02", 1)],
        &format!("months: {months:?}"),
    )?;
    let both = s
        .active_users(&ActiveQuery {
            period: Period::Month,
            since: NOW,
            until: NOW + DAY,
            client_id: None,
        })
        .await
        .map_err(err)?;
    let ours: Vec<_> = both
        .into_iter()
        .filter(|r| r.client_id.starts_with(p))
        .collect();
    ensure(
        ours == vec![row(&a, "2027-01", 2), row(&b, "2027-01", 1)],
        &format!("every application, the range's end exclusive: {ours:?}"),
    )
}

async fn consents<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    s.save_consent(&user, &client, "openid", NOW)
        .await
        .map_err(err)?;
    s.save_consent(&user, &client, "openid email", NOW + 1)
        .await
        .map_err(err)?;
    ensure(
        s.consent(&user, &client).await.map_err(err)?.as_deref() == Some("openid email"),
        "a new grant replaces the scope",
    )?;
    ensure(
        s.list_consents(&user).await.map_err(err)?.len() == 1,
        "one consent per application",
    )?;
    ensure(
        s.delete_consent(&user, &client).await.map_err(err)?,
        "deleted",
    )?;
    ensure(
        !s.delete_consent(&user, &client).await.map_err(err)?,
        "deleted once",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::StoreResult;
    use futures_executor::block_on;

    #[test]
    fn the_memory_store_conforms() {
        let store = MemoryStore::default();
        let mut results = block_on(run(&store, "t"));
        results.extend(block_on(run_throttle(&store, "t")));
        results.extend(block_on(run_grants(&store, "t")));
        assert_eq!(results.len(), 9);
        let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(failed.is_empty(), "{failed:?}");
    }

    /// A grant store that forgets every grant after each call.
    struct Forgetful(MemoryStore);

    impl GrantStore for Forgetful {
        async fn grant(&self, id: &str, op: &GrantOp) -> StoreResult<GrantAnswer> {
            let answer = self.0.grant(id, op).await;
            self.0.grants.borrow_mut().clear();
            answer
        }
    }

    #[test]
    fn the_suite_can_fail() {
        let store = Forgetful(MemoryStore::default());
        let failed: Vec<_> = block_on(run_grants(&store, "f"))
            .into_iter()
            .filter(|(_, r)| r.is_err())
            .map(|(name, _)| name)
            .collect();
        assert_eq!(failed, ["grant_single_use", "grant_rotation"]);
    }
}

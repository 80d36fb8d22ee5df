//! The storage conformance suite: the rules that are written twice, in D1's SQL and in the
//! in-memory store's Rust (single-use codes with PKCE, refresh-token rotation, disabled
//! users, throttling counters, key slots, consents), checked the same way against every
//! `Store`. The memory store runs it under `cargo test`; D1 runs it inside workerd, where
//! an integration test asks for it (`STORE_CONFORMANCE`, see the wasm adapter), so SQL and
//! Rust cannot drift apart unnoticed. The throttling counters (`ThrottleStore`) have their
//! own check, run against the memory store and the Durable Object.
//!
//! Every check uses ids under its own `prefix`, but it writes rows (signing keys among them):
//! run it only against a throwaway database, never a deployment's.

use super::{Inserted, Redemption, RefreshPlan, Store, ThrottleStore};
use crate::model::{
    AppType, Application, CodeRecord, KeyStatus, RefreshRecord, SigningAlg, StoredKey, User,
    UserClaims,
};

type Check = Result<(), String>;

/// The outcome of each check of a throttling store, by name.
pub async fn run_throttle<T: ThrottleStore>(store: &T, prefix: &str) -> Vec<(&'static str, Check)> {
    vec![(
        "throttle_counters",
        throttle_counters(store, &format!("{prefix}-throttle_counters")).await,
    )]
}

/// The outcome of each check of a store, by name.
pub async fn run<S: Store>(store: &S, prefix: &str) -> Vec<(&'static str, Check)> {
    let mut out = Vec::new();
    out.push((
        "code_single_use",
        code_single_use(store, &format!("{prefix}-code_single_use")).await,
    ));
    out.push((
        "code_pkce_rule",
        code_pkce_rule(store, &format!("{prefix}-code_pkce_rule")).await,
    ));
    out.push((
        "code_binding",
        code_binding(store, &format!("{prefix}-code_binding")).await,
    ));
    out.push((
        "refresh_planned_by_scope",
        refresh_planned_by_scope(store, prefix).await,
    ));
    out.push((
        "unredeem_restores",
        unredeem_restores(store, &format!("{prefix}-unredeem_restores")).await,
    ));
    out.push((
        "refresh_rotation",
        refresh_rotation(store, &format!("{prefix}-refresh_rotation")).await,
    ));
    out.push((
        "disabled_users",
        disabled_users(store, &format!("{prefix}-disabled_users")).await,
    ));
    out.push((
        "key_slots",
        key_slots(store, &format!("{prefix}-key_slots")).await,
    ));
    out.push((
        "consents",
        consents(store, &format!("{prefix}-consents")).await,
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
const CHALLENGE: &str = "E9Melhoa2OwvFrEZTikvQZBkM7h6qrtR1YTVWqDQ-cM";
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
        })
        .await
        .map_err(err)?;
    ensure(inserted == Inserted::Yes, "a new user is inserted")?;
    Ok((client, user))
}

fn code(hash: &str, client: &str, user: &str, challenge: Option<&str>, scope: &str) -> CodeRecord {
    CodeRecord {
        code_hash: hash.into(),
        client_id: client.into(),
        user_id: user.into(),
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        nonce: None,
        code_challenge: challenge.map(str::to_string),
        auth_time: NOW - 5,
        claims: UserClaims {
            email: "c@conformance.example".into(),
            email_verified: true,
            name: None,
        },
        created_at: NOW,
        expires_at: NOW + 60,
        consumed_at: None,
        grant_id: None,
    }
}

fn redemption<'a>(
    hash: &'a str,
    client: &'a str,
    challenge: Option<&'a str>,
    grant: &'a str,
) -> Redemption<'a> {
    Redemption {
        code_hash: hash,
        client_id: client,
        redirect_uri: REDIRECT,
        challenge,
        now: NOW + 1,
        grant_id: grant,
        refresh: None,
    }
}

/// RFC 6749 §4.1.2: a code is redeemed once.
async fn code_single_use<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let hash = format!("{p}-c1");
    let stored = s
        .insert_code(&code(&hash, &client, &user, Some(CHALLENGE), "openid"))
        .await
        .map_err(err)?;
    ensure(stored, "the code is stored")?;
    let first = s
        .redeem_code(&redemption(&hash, &client, Some(CHALLENGE), "g1"))
        .await
        .map_err(err)?;
    ensure(first.is_some(), "the first redemption succeeds")?;
    let second = s
        .redeem_code(&redemption(&hash, &client, Some(CHALLENGE), "g2"))
        .await
        .map_err(err)?;
    ensure(second.is_none(), "a second redemption fails")?;
    let record = s
        .code(&hash)
        .await
        .map_err(err)?
        .ok_or("the code is kept")?;
    ensure(record.consumed_at.is_some(), "the code is marked consumed")?;
    ensure(
        record.grant_id.as_deref() == Some("g1"),
        "the first grant marks the code",
    )
}

/// RFC 7636 §4.6 and RFC 9700 §2.1.1: the stored challenge must equal the verifier's;
/// a code with a challenge needs one; a verifier without a challenge is refused. A refusal
/// leaves the code redeemable.
async fn code_pkce_rule<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let with = format!("{p}-with");
    let without = format!("{p}-without");
    s.insert_code(&code(&with, &client, &user, Some(CHALLENGE), "openid"))
        .await
        .map_err(err)?;
    s.insert_code(&code(&without, &client, &user, None, "openid"))
        .await
        .map_err(err)?;
    for (hash, challenge, what) in [
        (&with, None, "a code with a challenge needs a verifier"),
        (
            &with,
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "a wrong verifier is refused",
        ),
        (
            &without,
            Some(CHALLENGE),
            "a verifier without a challenge is refused",
        ),
    ] {
        let r = s
            .redeem_code(&redemption(hash, &client, challenge, "g"))
            .await
            .map_err(err)?;
        ensure(r.is_none(), what)?;
    }
    let ok = s
        .redeem_code(&redemption(&with, &client, Some(CHALLENGE), "g"))
        .await
        .map_err(err)?;
    ensure(ok.is_some(), "the right verifier redeems after refusals")?;
    let ok = s
        .redeem_code(&redemption(&without, &client, None, "g"))
        .await
        .map_err(err)?;
    ensure(ok.is_some(), "no challenge and no verifier redeems")
}

/// The code is bound to its client, redirect URI and lifetime.
async fn code_binding<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let hash = format!("{p}-bound");
    s.insert_code(&code(&hash, &client, &user, None, "openid"))
        .await
        .map_err(err)?;
    let other_client = Redemption {
        client_id: "someone-else",
        ..redemption(&hash, &client, None, "g")
    };
    ensure(
        s.redeem_code(&other_client).await.map_err(err)?.is_none(),
        "another client cannot redeem",
    )?;
    let other_uri = Redemption {
        redirect_uri: "https://rp.example/other",
        ..redemption(&hash, &client, None, "g")
    };
    ensure(
        s.redeem_code(&other_uri).await.map_err(err)?.is_none(),
        "another redirect URI cannot redeem",
    )?;
    let late = Redemption {
        now: NOW + 60,
        ..redemption(&hash, &client, None, "g")
    };
    ensure(
        s.redeem_code(&late).await.map_err(err)?.is_none(),
        "an expired code cannot be redeemed",
    )
}

/// The refresh token is stored with the redemption when the scope asks for it, copying the
/// code's subject, scope and claims.
async fn refresh_planned_by_scope<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    for (n, scope, always, stored) in [
        (1, "openid", false, false),
        (2, "openid offline_access", false, true),
        (3, "openid", true, true),
    ] {
        let hash = format!("{p}-r{n}");
        let token = format!("{p}-t{n}");
        s.insert_code(&code(&hash, &client, &user, None, scope))
            .await
            .map_err(err)?;
        let grant = format!("{p}-g{n}");
        let r = Redemption {
            refresh: Some(RefreshPlan {
                token_hash: &token,
                always,
                expires_at: NOW + 100,
                grant_expires_at: NOW + 1000,
            }),
            ..redemption(&hash, &client, None, &grant)
        };
        let out = s.redeem_code(&r).await.map_err(err)?.ok_or("redeemed")?;
        ensure(
            out.refresh_stored == stored,
            "refresh_stored follows the plan",
        )?;
        let found = s.refresh_token(&token).await.map_err(err)?;
        ensure(
            found.is_some() == stored,
            "the token exists only when planned",
        )?;
        if let Some(t) = found {
            ensure(
                t.user_id == user && t.scope == scope && t.grant_id == grant,
                "the token copies the code's subject, scope and grant",
            )?;
        }
    }
    Ok(())
}

/// A redemption that could not be answered is undone: the code is live again and its
/// refresh token gone.
async fn unredeem_restores<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let hash = format!("{p}-u");
    let token = format!("{p}-ut");
    s.insert_code(&code(&hash, &client, &user, None, "openid offline_access"))
        .await
        .map_err(err)?;
    let r = Redemption {
        refresh: Some(RefreshPlan {
            token_hash: &token,
            always: false,
            expires_at: NOW + 100,
            grant_expires_at: NOW + 1000,
        }),
        ..redemption(&hash, &client, None, "ug")
    };
    s.redeem_code(&r).await.map_err(err)?.ok_or("redeemed")?;
    s.unredeem_code(&hash, "other-grant").await.map_err(err)?;
    ensure(
        s.code(&hash)
            .await
            .map_err(err)?
            .and_then(|c| c.consumed_at)
            .is_some(),
        "another grant's undo changes nothing",
    )?;
    s.unredeem_code(&hash, "ug").await.map_err(err)?;
    ensure(
        s.refresh_token(&token).await.map_err(err)?.is_none(),
        "the refresh token is gone",
    )?;
    ensure(
        s.redeem_code(&redemption(&hash, &client, None, "ug2"))
            .await
            .map_err(err)?
            .is_some(),
        "the code is live again",
    )
}

fn refresh(hash: &str, grant: &str, client: &str, user: &str, expires_at: i64) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        grant_id: grant.into(),
        client_id: client.into(),
        user_id: user.into(),
        scope: "openid offline_access".into(),
        auth_time: NOW,
        claims: UserClaims {
            email: "c@conformance.example".into(),
            email_verified: true,
            name: None,
        },
        created_at: NOW,
        expires_at,
        grant_expires_at: NOW + 1000,
        consumed_at: None,
        revoked_at: None,
    }
}

/// RFC 9700 §4.14.2: rotation consumes the old token once; a revoked grant rotates no more.
async fn refresh_rotation<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let grant = format!("{p}-grant");
    let (t1, t2, t3) = (format!("{p}-t1"), format!("{p}-t2"), format!("{p}-t3"));
    let seed = format!("{p}-seed");
    s.insert_code(&code(&seed, &client, &user, None, "openid offline_access"))
        .await
        .map_err(err)?;
    let r = Redemption {
        refresh: Some(RefreshPlan {
            token_hash: &t1,
            always: false,
            expires_at: NOW + 100,
            grant_expires_at: NOW + 1000,
        }),
        ..redemption(&seed, &client, None, &grant)
    };
    s.redeem_code(&r).await.map_err(err)?.ok_or("redeemed")?;
    let next = refresh(&t2, &grant, &client, &user, NOW + 200);
    ensure(
        s.rotate_refresh(&t1, &next, NOW + 2).await.map_err(err)?,
        "a live token rotates",
    )?;
    let again = refresh(&t3, &grant, &client, &user, NOW + 200);
    ensure(
        !s.rotate_refresh(&t1, &again, NOW + 3).await.map_err(err)?,
        "a consumed token does not rotate again",
    )?;
    ensure(
        s.refresh_token(&t3).await.map_err(err)?.is_none(),
        "a refused rotation stores nothing",
    )?;
    ensure(
        !s.rotate_refresh(&t2, &again, NOW + 200)
            .await
            .map_err(err)?,
        "an expired token does not rotate",
    )?;
    s.revoke_grant(&grant, NOW + 4).await.map_err(err)?;
    ensure(
        !s.rotate_refresh(&t2, &again, NOW + 5).await.map_err(err)?,
        "a revoked grant does not rotate",
    )?;
    let t2_now = s.refresh_token(&t2).await.map_err(err)?.ok_or("t2 kept")?;
    ensure(
        t2_now.revoked_at.is_some(),
        "revocation marks every token of the grant",
    )
}

/// A disabled user gets no code, and disabling ends refresh tokens and pending codes.
async fn disabled_users<S: Store>(s: &S, p: &str) -> Check {
    let (client, user) = parties(s, p).await?;
    let pending = format!("{p}-pending");
    s.insert_code(&code(&pending, &client, &user, None, "openid"))
        .await
        .map_err(err)?;
    let mut u = s.user_by_id(&user).await.map_err(err)?.ok_or("user")?;
    u.disabled_at = Some(NOW);
    ensure(s.update_user(&u).await.map_err(err)?, "the user is updated")?;
    ensure(
        s.redeem_code(&redemption(&pending, &client, None, "g"))
            .await
            .map_err(err)?
            .is_none(),
        "a disabled user's pending code is gone",
    )?;
    let stored = s
        .insert_code(&code(&format!("{p}-late"), &client, &user, None, "openid"))
        .await
        .map_err(err)?;
    ensure(!stored, "a disabled user gets no code")
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
    use futures_executor::block_on;

    #[test]
    fn the_memory_store_conforms() {
        let store = MemoryStore::default();
        let mut results = block_on(run(&store, "t"));
        results.extend(block_on(run_throttle(&store, "t")));
        assert_eq!(results.len(), 10);
        let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[test]
    fn the_suite_can_fail() {
        // A store that forgets consumption would pass a second redemption.
        let store = MemoryStore::default();
        let (client, user) = block_on(parties(&store, "f")).unwrap();
        block_on(store.insert_code(&code("f-c1", &client, &user, None, "openid"))).unwrap();
        block_on(store.redeem_code(&redemption("f-c1", &client, None, "g"))).unwrap();
        store
            .codes
            .borrow_mut()
            .get_mut("f-c1")
            .unwrap()
            .consumed_at = None;
        assert!(block_on(code_single_use(&store, "f")).is_err());
    }
}

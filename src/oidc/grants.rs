//! Grants from the protocol's side (the rules themselves are `model::grant`): ids, refresh
//! tokens that name their grant, revoking every grant of a user or an application, and
//! recording new grants in D1's index after the response.

use crate::crypto::{random_token, RefreshToken};
use crate::error::{log_error, Failure};
use crate::model::grant::{GrantAnswer, GrantIndex, GrantOp, SessionIndex};
use crate::model::UserClaims;
use crate::runtime::Random;
use crate::store::{GrantOwner, GrantStore, SessionStore, Store, StoreResult};

/// A grant id: 128 random bits, base64url (22 characters). It names the grant's Durable
/// Object, so it is checked before one is addressed: arbitrary input creates no objects.
pub fn new_grant_id(rng: &impl Random) -> Result<String, Failure> {
    random_token::<16>(rng)
}

fn is_grant_id(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A refresh token, `<grant id>.<secret>`: the grant id finds the grant's object without a
/// lookup, the 256-bit secret is what the object checks (by hash).
pub fn new_refresh_token(rng: &impl Random, grant_id: &str) -> Result<RefreshToken, Failure> {
    Ok(RefreshToken::new(format!(
        "{grant_id}.{}",
        random_token::<32>(rng)?
    )))
}

/// Which grant a presented refresh token names: `Some` for the current format; `None` for
/// a token stored in D1 before grants had objects (43 characters, no dot) or junk.
pub fn grant_of(token: &RefreshToken) -> Option<&str> {
    let (grant, secret) = token.expose().split_once('.')?;
    (is_grant_id(grant) && secret.len() == 43 && !secret.contains('.')).then_some(grant)
}

/// Revokes every indexed grant of a user or an application, each in its own object, at
/// once. Revocation is idempotent, so on a failure the caller may answer with an error and
/// the operation be tried again: nothing is left that a retry would not finish.
pub async fn revoke_all(
    store: &impl Store,
    grants: &impl GrantStore,
    owner: GrantOwner<'_>,
    now: i64,
) -> Result<usize, Failure> {
    apply_to_all(store, grants, owner, &GrantOp::Revoke { now, by: None }).await
}

/// Applies one operation to every indexed grant of an owner, in its object; how many.
async fn apply_to_all(
    store: &impl Store,
    grants: &impl GrantStore,
    owner: GrantOwner<'_>,
    op: &GrantOp,
) -> Result<usize, Failure> {
    let ids = store.indexed_grants(owner).await?;
    for id in &ids {
        grants.grant(id, op).await?;
    }
    Ok(ids.len())
}

/// Gives every indexed grant of a user their new profile (userinfo and refreshed ID tokens
/// carry it from now on). Grants without refresh tokens are not indexed: their access
/// tokens keep the profile they were issued with until they expire.
pub async fn reprofile(
    store: &impl Store,
    grants: &impl GrantStore,
    user_id: &str,
    claims: &UserClaims,
) -> Result<(), Failure> {
    let op = GrantOp::Reprofile {
        claims: claims.clone(),
    };
    apply_to_all(store, grants, GrantOwner::User(user_id), &op).await?;
    Ok(())
}

/// Deletes an application after revoking its grants in their objects (its tokens would be
/// refused anyway, the client being gone, but a grant should not outlive its reason).
/// False when there was no such application.
pub async fn delete_application(
    store: &impl Store,
    grants: &impl GrantStore,
    client_id: &str,
    now: i64,
) -> Result<bool, Failure> {
    if store.application(client_id).await?.is_none() {
        return Ok(false);
    }
    revoke_all(store, grants, GrantOwner::Client(client_id), now).await?;
    Ok(store.delete_application(client_id).await?)
}

/// After the response: records the request's new grants and sessions in the indexes. A
/// grant or session whose user was disabled meanwhile (in the moment before it could be
/// found) is ended instead, so a disabling that the index could not show yet still
/// reaches it.
pub async fn record_index(
    store: &impl Store,
    grants: &impl GrantStore,
    sessions: &impl SessionStore,
    rows: &[GrantIndex],
    session_rows: &[SessionIndex],
    now: i64,
) -> StoreResult<()> {
    if !rows.is_empty() {
        for id in store.index_grants(rows).await? {
            match grants
                .grant(&id, &GrantOp::Revoke { now, by: None })
                .await?
            {
                GrantAnswer::Revoked => {}
                other => log_error(&format!("grant index: revoking {id} answered {other:?}")),
            }
        }
    }
    if !session_rows.is_empty() {
        for id_hash in store.index_sessions(session_rows).await? {
            sessions.delete_session(&id_hash).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::testing::CountingRandom;

    #[test]
    fn refresh_tokens_name_their_grant_and_nothing_else_does() {
        let rng = CountingRandom::default();
        let id = new_grant_id(&rng).unwrap();
        let token = new_refresh_token(&rng, &id).unwrap();
        assert_eq!(grant_of(&token), Some(id.as_str()));
        let legacy = RefreshToken::generate(&rng).unwrap();
        assert_eq!(grant_of(&legacy), None);
        for junk in [
            "",
            ".",
            "a.b",
            "aaaaaaaaaaaaaaaaaaaaaa.short",
            &format!("{id}.{}.x", "a".repeat(43)),
            &format!("../../../etc.{}", "a".repeat(43)),
            &format!("{}.{}", "a".repeat(21), "a".repeat(43)),
        ] {
            assert_eq!(grant_of(&RefreshToken::new(junk)), None, "{junk}");
        }
    }
}

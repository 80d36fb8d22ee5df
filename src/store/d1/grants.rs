//! `authorization_codes` and `refresh_tokens`: the grants.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{changes, err, int, opt_text, text, D1Store};
use crate::model::{CodeRecord, RefreshRecord, UserClaims};
use crate::store::{Redeemed, Redemption, StoreError, StoreResult};

#[derive(Deserialize)]
struct CodeRow {
    code_hash: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    claims: String,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
    grant_id: Option<String>,
}

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scope, nonce, \
    code_challenge, auth_time, claims, created_at, expires_at, consumed_at, grant_id";

impl TryFrom<CodeRow> for CodeRecord {
    type Error = StoreError;

    fn try_from(r: CodeRow) -> StoreResult<Self> {
        Ok(CodeRecord {
            claims: serde_json::from_str::<UserClaims>(&r.claims).map_err(err)?,
            code_hash: r.code_hash,
            client_id: r.client_id,
            user_id: r.user_id,
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
            grant_id: r.grant_id,
        })
    }
}

const REFRESH_COLUMNS: &str =
    "token_hash, grant_id, client_id, user_id, scope, auth_time, claims, \
    created_at, expires_at, grant_expires_at, consumed_at, revoked_at";

/// The first ten REFRESH_COLUMNS of a new token, in order.
fn refresh_values(t: &RefreshRecord) -> StoreResult<Vec<JsValue>> {
    Ok(vec![
        text(&t.token_hash),
        text(&t.grant_id),
        text(&t.client_id),
        text(&t.user_id),
        text(&t.scope),
        int(t.auth_time),
        text(&serde_json::to_string(&t.claims).map_err(err)?),
        int(t.created_at),
        int(t.expires_at),
        int(t.grant_expires_at),
    ])
}

#[derive(Deserialize)]
struct RefreshRow {
    token_hash: String,
    grant_id: String,
    client_id: String,
    user_id: String,
    scope: String,
    auth_time: i64,
    claims: String,
    created_at: i64,
    expires_at: i64,
    grant_expires_at: i64,
    consumed_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<RefreshRow> for RefreshRecord {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> StoreResult<Self> {
        Ok(RefreshRecord {
            claims: serde_json::from_str(&r.claims).map_err(err)?,
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            grant_expires_at: r.grant_expires_at,
            consumed_at: r.consumed_at,
            revoked_at: r.revoked_at,
        })
    }
}

pub(super) async fn insert_code(d1: &D1Store, c: &CodeRecord) -> StoreResult<bool> {
    let claims = serde_json::to_string(&c.claims).map_err(err)?;
    // The disabled check rides in the INSERT: no extra round trip for authorize.
    let result = d1.exec(
        "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
         code_challenge, auth_time, claims, created_at, expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE NOT EXISTS \
         (SELECT 1 FROM users WHERE id = ?3 AND disabled_at IS NOT NULL)",
        &[
            text(&c.code_hash),
            text(&c.client_id),
            text(&c.user_id),
            text(&c.redirect_uri),
            text(&c.scope),
            opt_text(c.nonce.as_deref()),
            opt_text(c.code_challenge.as_deref()),
            int(c.auth_time),
            text(&claims),
            int(c.created_at),
            int(c.expires_at),
        ],
    ).await?;
    Ok(changes(&result) > 0)
}

pub(super) async fn code(d1: &D1Store, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
    let row: Option<CodeRow> = d1
        .primary_read(
            &format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = ?1"),
            &[text(code_hash)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    row.map(CodeRecord::try_from).transpose()
}

pub(super) async fn redeem_code(d1: &D1Store, r: &Redemption<'_>) -> StoreResult<Option<Redeemed>> {
    // One batch is one transaction and one round trip. The UPDATE consumes the code only
    // if every check of RFC 6749 §4.1.3 and RFC 7636 §4.6 holds (`IS` also matches a
    // missing challenge to a missing verifier), so of concurrent redemptions only the
    // first finds it live. The INSERT then copies the grant from the row this call
    // marked, and only when its scope calls for a refresh token.
    let mut statements = Vec::with_capacity(2);
    statements.push(d1.member(
        &format!(
            "UPDATE authorization_codes SET consumed_at = ?2, grant_id = ?3 \
             WHERE code_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2 \
             AND client_id = ?4 AND redirect_uri = ?5 AND code_challenge IS ?6 \
             RETURNING {CODE_COLUMNS}"
        ),
        &[
            text(r.code_hash),
            int(r.now),
            text(r.grant_id),
            text(r.client_id),
            text(r.redirect_uri),
            opt_text(r.challenge),
        ],
    )?);
    if let Some(p) = &r.refresh {
        statements.push(d1.member(
            "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, \
             auth_time, claims, created_at, expires_at, grant_expires_at) \
             SELECT ?1, grant_id, client_id, user_id, scope, auth_time, claims, consumed_at, ?4, ?5 \
             FROM authorization_codes WHERE code_hash = ?2 AND grant_id = ?3 \
             AND (?6 = 1 OR instr(' ' || scope || ' ', ' offline_access ') > 0)",
            &[
                text(p.token_hash),
                text(r.code_hash),
                text(r.grant_id),
                int(p.expires_at),
                int(p.grant_expires_at),
                int(i64::from(p.always)),
            ],
        )?);
    }
    let results = d1.batch(statements).await?;
    let Some(consumed) = results.first() else {
        return Err(StoreError("D1 batch returned no results".into()));
    };
    let Some(row) = consumed
        .results::<CodeRow>()
        .map_err(err)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    Ok(Some(Redeemed {
        code: CodeRecord::try_from(row)?,
        refresh_stored: results.get(1).map(changes).unwrap_or(0) > 0,
    }))
}

pub(super) async fn unredeem_code(
    d1: &D1Store,
    code_hash: &str,
    grant_id: &str,
) -> StoreResult<()> {
    d1.batch(vec![
        d1.member(
            "DELETE FROM refresh_tokens WHERE grant_id = ?1",
            &[text(grant_id)],
        )?,
        d1.member(
            "UPDATE authorization_codes SET consumed_at = NULL, grant_id = NULL \
             WHERE code_hash = ?1 AND grant_id = ?2",
            &[text(code_hash), text(grant_id)],
        )?,
    ])
    .await?;
    Ok(())
}

pub(super) async fn refresh_token(
    d1: &D1Store,
    token_hash: &str,
) -> StoreResult<Option<RefreshRecord>> {
    let row: Option<RefreshRow> = d1
        .primary_read(
            &format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?1"),
            &[text(token_hash)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    row.map(RefreshRecord::try_from).transpose()
}

pub(super) async fn rotate_refresh(
    d1: &D1Store,
    old_hash: &str,
    new: &RefreshRecord,
    now: i64,
) -> StoreResult<bool> {
    // One batch is one transaction. The INSERT copies nothing unless the old token is
    // live, and the UPDATE consumes it under the same condition, so either both happen
    // or neither; a concurrent rotation that committed first makes both no-ops here.
    let mut insert_args = refresh_values(new)?;
    insert_args.push(text(old_hash));
    insert_args.push(int(now));
    let insert = d1.member(
        "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, claims, \
         created_at, expires_at, grant_expires_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 FROM refresh_tokens \
         WHERE token_hash = ?11 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?12)",
        &insert_args,
    )?;
    let consume = d1.member(
        "UPDATE refresh_tokens SET consumed_at = ?2 WHERE token_hash = ?1 \
         AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
        &[text(old_hash), int(now)],
    )?;
    let results = d1.batch(vec![insert, consume]).await?;
    Ok(results.get(1).map(changes).unwrap_or(0) > 0)
}

pub(super) async fn extend_refresh(
    d1: &D1Store,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<bool> {
    let result = d1
        .exec(
            "UPDATE refresh_tokens SET expires_at = ?2 WHERE token_hash = ?1 \
             AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?3",
            &[text(token_hash), int(expires_at), int(now)],
        )
        .await?;
    Ok(changes(&result) > 0)
}

pub(super) async fn revoke_grant(d1: &D1Store, grant_id: &str, now: i64) -> StoreResult<()> {
    d1.exec(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
        &[text(grant_id), int(now)],
    )
    .await?;
    Ok(())
}

//! `grants`, the index of grants that hold refresh tokens (the grants themselves are
//! Durable Objects, `store::grant_do`), `login_sessions`, the index of login sessions (they
//! live in KV), and `refresh_tokens`, the tokens D1 stored before
//! (read for their adoption, deleted with a disabled user's, never written otherwise).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::{changes, err, int, text, D1Store};
use crate::model::grant::{GrantIndex, SessionIndex};
use crate::model::RefreshRecord;
use crate::store::{GrantOwner, StoreError, StoreResult};

const REFRESH_COLUMNS: &str =
    "token_hash, grant_id, client_id, user_id, scope, auth_time, claims, \
    created_at, expires_at, grant_expires_at, consumed_at, revoked_at";

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

/// A legacy token (see `Store::legacy_refresh_token`). Its object decides from its first
/// use on, so a replica's answer is good enough: a stale "live" only leads to adoption,
/// which the object refuses to repeat.
pub(super) async fn legacy_refresh_token(
    d1: &D1Store,
    token_hash: &str,
) -> StoreResult<Option<RefreshRecord>> {
    let row: Option<RefreshRow> = d1
        .read(
            &format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?1"),
            &[text(token_hash)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    row.map(RefreshRecord::try_from).transpose()
}

pub(super) async fn index_grants(d1: &D1Store, rows: &[GrantIndex]) -> StoreResult<Vec<String>> {
    // Recorded once: a legacy grant is recorded again on every adoption attempt.
    record_unless_disabled(
        d1,
        rows.iter().map(|r| {
            let statement = d1.member(
                "INSERT OR IGNORE INTO grants (grant_id, client_id, user_id, created_at, expires_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS \
                 (SELECT 1 FROM users WHERE id = ?3 AND disabled_at IS NOT NULL)",
                &[
                    text(&r.grant_id),
                    text(&r.client_id),
                    text(&r.user_id),
                    int(r.created_at),
                    int(r.expires_at),
                ],
            )?;
            Ok((statement, r.user_id.as_str(), r.grant_id.as_str()))
        }),
    )
    .await
}

/// One batch, one round trip, of index INSERTs (statement, user, key), each of which records
/// its row only while the user is enabled: a row written after a user's disabling would
/// escape the revocation that read the index. Returns the keys refused for that reason.
async fn record_unless_disabled<'a>(
    d1: &D1Store,
    rows: impl Iterator<Item = StoreResult<(D1PreparedStatement, &'a str, &'a str)>>,
) -> StoreResult<Vec<String>> {
    let (statements, owners): (Vec<_>, Vec<_>) = rows
        .map(|r| r.map(|(statement, user, key)| (statement, (user, key))))
        .collect::<StoreResult<Vec<_>>>()?
        .into_iter()
        .unzip();
    let results = d1.batch(statements).await?;
    let mut refused = Vec::new();
    for ((user, key), result) in owners.into_iter().zip(&results) {
        if changes(result) == 0 && disabled(d1, user).await? {
            refused.push(key.to_string());
        }
    }
    Ok(refused)
}

/// Whether a user is disabled, asked of the primary (right after a write).
async fn disabled(d1: &D1Store, user_id: &str) -> StoreResult<bool> {
    #[derive(Deserialize)]
    struct Row {
        disabled: i64,
    }
    let row: Option<Row> = d1
        .primary_read(
            "SELECT disabled_at IS NOT NULL AS disabled FROM users WHERE id = ?1",
            &[text(user_id)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    Ok(row.is_some_and(|r| r.disabled != 0))
}

/// The single text column `value` of every row, read from the primary: a revocation must not
/// miss a row a replica has not seen yet.
async fn string_column(d1: &D1Store, sql: &str, args: &[JsValue]) -> StoreResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    let rows: Vec<Row> = d1
        .primary_read(sql, args)?
        .all()
        .await
        .map_err(err)?
        .results()
        .map_err(err)?;
    Ok(rows.into_iter().map(|r| r.value).collect())
}

pub(super) async fn indexed_grants(
    d1: &D1Store,
    owner: GrantOwner<'_>,
) -> StoreResult<Vec<String>> {
    let (sql, ids) = match owner {
        GrantOwner::User(u) => (
            "SELECT grant_id AS value FROM grants WHERE user_id = ?1",
            vec![text(u)],
        ),
        GrantOwner::Client(c) => (
            "SELECT grant_id AS value FROM grants WHERE client_id = ?1",
            vec![text(c)],
        ),
        GrantOwner::UserClient(u, c) => (
            "SELECT grant_id AS value FROM grants WHERE user_id = ?1 AND client_id = ?2",
            vec![text(u), text(c)],
        ),
    };
    string_column(d1, sql, &ids).await
}

pub(super) async fn granted_clients(d1: &D1Store, user_id: &str) -> StoreResult<Vec<String>> {
    string_column(
        d1,
        "SELECT DISTINCT client_id AS value FROM grants WHERE user_id = ?1 ORDER BY client_id",
        &[text(user_id)],
    )
    .await
}

pub(super) async fn purge_grant_index(d1: &D1Store, before: i64) -> StoreResult<u64> {
    let results = d1
        .batch(vec![
            d1.member("DELETE FROM grants WHERE expires_at < ?1", &[int(before)])?,
            d1.member(
                "DELETE FROM login_sessions WHERE expires_at < ?1",
                &[int(before)],
            )?,
        ])
        .await?;
    Ok(results.iter().map(changes).sum::<usize>() as u64)
}

pub(super) async fn index_sessions(
    d1: &D1Store,
    rows: &[SessionIndex],
) -> StoreResult<Vec<String>> {
    record_unless_disabled(
        d1,
        rows.iter().map(|r| {
            let statement = d1.member(
                "INSERT OR IGNORE INTO login_sessions (id_hash, user_id, expires_at) \
                 SELECT ?1, ?2, ?3 WHERE NOT EXISTS \
                 (SELECT 1 FROM users WHERE id = ?2 AND disabled_at IS NOT NULL)",
                &[text(&r.id_hash), text(&r.user_id), int(r.expires_at)],
            )?;
            Ok((statement, r.user_id.as_str(), r.id_hash.as_str()))
        }),
    )
    .await
}

pub(super) async fn indexed_sessions(d1: &D1Store, user_id: &str) -> StoreResult<Vec<String>> {
    string_column(
        d1,
        "SELECT id_hash AS value FROM login_sessions WHERE user_id = ?1",
        &[text(user_id)],
    )
    .await
}

pub(super) async fn forget_sessions(d1: &D1Store, user_id: &str) -> StoreResult<()> {
    d1.exec(
        "DELETE FROM login_sessions WHERE user_id = ?1",
        &[text(user_id)],
    )
    .await?;
    Ok(())
}

//! `signing_keys`.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{err, int, opt_int, text, D1Store};
use crate::model::SigningAlg;
use crate::model::{KeyStatus, StoredKey};
use crate::store::StoreResult;

#[derive(Deserialize)]
struct KeyRow {
    kid: String,
    alg: String,
    status: KeyStatus,
    public_jwk: String,
    private_key_enc: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl From<KeyRow> for StoredKey {
    fn from(r: KeyRow) -> Self {
        StoredKey {
            kid: r.kid,
            alg: r.alg,
            status: r.status,
            public_jwk: r.public_jwk,
            private_key_enc: r.private_key_enc,
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

const KEY_COLUMNS: &str = "kid, alg, status, public_jwk, private_key_enc, created_at, retired_at";

fn key_values(k: &StoredKey) -> Vec<JsValue> {
    vec![
        text(&k.kid),
        text(&k.alg),
        text(k.status.as_str()),
        text(&k.public_jwk),
        text(&k.private_key_enc),
        int(k.created_at),
        opt_int(k.retired_at),
    ]
}

impl D1Store {
    async fn keys(&self, sql: &str, args: &[JsValue]) -> StoreResult<Vec<StoredKey>> {
        let rows: Vec<KeyRow> = self.read_all(sql, args).await?;
        Ok(rows.into_iter().map(StoredKey::from).collect())
    }

    async fn one_key(&self, sql: &str, args: &[JsValue]) -> StoreResult<Option<StoredKey>> {
        let row: Option<KeyRow> = self.read(sql, args)?.first(None).await.map_err(err)?;
        Ok(row.map(StoredKey::from))
    }
}

pub(super) async fn key_in_slot(
    d1: &D1Store,
    alg: SigningAlg,
    status: KeyStatus,
) -> StoreResult<Option<StoredKey>> {
    d1.one_key(
        &format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE alg = ?1 AND status = ?2"),
        &[text(alg.as_str()), text(status.as_str())],
    )
    .await
}

pub(super) async fn insert_key_if_slot_free(d1: &D1Store, k: &StoredKey) -> StoreResult<()> {
    // The partial unique index on (alg, status) turns a lost race into a no-op.
    d1.exec(
        &format!("INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"),
        &key_values(k),
    ).await?;
    Ok(())
}

pub(super) async fn key_by_kid(d1: &D1Store, kid: &str) -> StoreResult<Option<StoredKey>> {
    d1.one_key(
        &format!("SELECT {KEY_COLUMNS} FROM signing_keys WHERE kid = ?1"),
        &[text(kid)],
    )
    .await
}

pub(super) async fn rotate_keys(d1: &D1Store, new_next: &StoredKey, now: i64) -> StoreResult<()> {
    // One batch is one transaction: the slots are never empty or doubled, whatever runs
    // at the same time (a second rotation simply rotates once more).
    let alg = text(&new_next.alg);
    let statements = vec![
        d1.member(
            "UPDATE signing_keys SET status = 'retired', retired_at = ?2 WHERE alg = ?1 AND status = 'current'",
            &[alg.clone(), int(now)],
        )?,
        d1.member(
            "UPDATE signing_keys SET status = 'current' WHERE alg = ?1 AND status = 'next'",
            &[alg],
        )?,
        d1.member(
            &format!("INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            &key_values(new_next),
        )?,
    ];
    d1.batch(statements).await?;
    Ok(())
}

pub(super) async fn all_keys(d1: &D1Store) -> StoreResult<Vec<StoredKey>> {
    d1.keys(
        &format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC"),
        &[],
    )
    .await
}

pub(super) async fn published_keys(
    d1: &D1Store,
    retired_after: i64,
) -> StoreResult<Vec<StoredKey>> {
    d1.keys(
        &format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys \
             WHERE status IN ('current', 'next') OR retired_at > ?1 ORDER BY created_at DESC"
        ),
        &[int(retired_after)],
    )
    .await
}

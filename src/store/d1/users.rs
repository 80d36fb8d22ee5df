//! `users` and `consents`. (Failed-login counters live in Durable Objects,
//! `store::throttle_do`; migration 0002 dropped the old `login_throttle` table.)

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{changes, err, int, opt_int, opt_text, text, D1Store};
use crate::model::profile::Profile;
use crate::model::{Consent, User};
use crate::store::{Inserted, StoreResult, UserQuery};

#[derive(Deserialize)]
pub(super) struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    email_verified: i64,
    password_hash: String,
    created_at: i64,
    roles: String,
    disabled_at: Option<i64>,
    profile: String,
    updated_at: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            name: r.name,
            email_verified: r.email_verified != 0,
            password_hash: r.password_hash,
            created_at: r.created_at,
            roles: r.roles.split_whitespace().map(str::to_string).collect(),
            disabled_at: r.disabled_at,
            // Written only from a `Profile`; a row that does not parse loses no other field.
            profile: match serde_json::from_str(&r.profile) {
                Ok(serde_json::Value::Object(claims)) => Profile(claims),
                _ => Profile::default(),
            },
            updated_at: r.updated_at,
        }
    }
}

pub(super) const USER_COLUMNS: &str =
    "id, email, name, email_verified, password_hash, created_at, roles, \
     disabled_at, profile, updated_at";

fn profile_json(u: &User) -> StoreResult<String> {
    // Through Value, whose serde code the build has anyway (Wasm size).
    Ok(serde_json::Value::Object(u.profile.0.clone()).to_string())
}

#[derive(Deserialize)]
struct ConsentRow {
    client_id: String,
    scope: String,
    created_at: i64,
    updated_at: i64,
}

pub(super) async fn insert_user(d1: &D1Store, u: &User) -> StoreResult<Inserted> {
    let result = d1.exec(
            &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING"),
            &[
                text(&u.id),
                text(&u.email),
                opt_text(u.name.as_deref()),
                int(u.email_verified as i64),
                text(&u.password_hash),
                int(u.created_at),
                text(&u.roles.join(" ")),
                opt_int(u.disabled_at),
                text(&profile_json(u)?),
                int(u.updated_at),
            ],
        ).await?;
    Ok(if changes(&result) > 0 {
        Inserted::Yes
    } else {
        Inserted::Conflict
    })
}

pub(super) async fn user_by_email(d1: &D1Store, email: &str) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = d1
        .read(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
            &[text(email)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    Ok(row.map(User::from))
}

pub(super) async fn user_by_id(d1: &D1Store, id: &str) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = d1
        .read(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            &[text(id)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    Ok(row.map(User::from))
}

pub(super) async fn list_users(d1: &D1Store, q: &UserQuery) -> StoreResult<Vec<User>> {
    let (before_t, before_id) = match &q.before {
        Some((t, id)) => (int(*t), text(id)),
        None => (JsValue::NULL, JsValue::NULL),
    };
    let rows: Vec<UserRow> = d1
        .read_all(
            &format!(
                "SELECT {USER_COLUMNS} FROM users \
                 WHERE (?1 IS NULL OR instr(lower(email), lower(?1)) > 0 \
                        OR instr(lower(coalesce(name, '')), lower(?1)) > 0) \
                 AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            ),
            &[
                opt_text(q.contains.as_deref()),
                before_t,
                before_id,
                int(q.limit as i64),
            ],
        )
        .await?;
    Ok(rows.into_iter().map(User::from).collect())
}

pub(super) async fn update_user(d1: &D1Store, u: &User) -> StoreResult<bool> {
    let update = d1.member(
        "UPDATE users SET name = ?2, email_verified = ?3, roles = ?4, password_hash = ?5, \
         disabled_at = ?6, profile = ?7, updated_at = ?8 WHERE id = ?1",
        &[
            text(&u.id),
            opt_text(u.name.as_deref()),
            int(u.email_verified as i64),
            text(&u.roles.join(" ")),
            text(&u.password_hash),
            opt_int(u.disabled_at),
            text(&profile_json(u)?),
            int(u.updated_at),
        ],
    )?;
    let mut statements = vec![update];
    if u.is_disabled() {
        statements.push(d1.member(
            "DELETE FROM refresh_tokens WHERE user_id = ?1",
            &[text(&u.id)],
        )?);
    }
    let results = d1.batch(statements).await?;
    Ok(results.first().map(changes).unwrap_or(0) > 0)
}

pub(super) async fn change_email(
    d1: &D1Store,
    user_id: &str,
    old: &str,
    new: &str,
    now: i64,
) -> StoreResult<bool> {
    // OR IGNORE: an address another account has (the unique index) changes nothing.
    let result = d1
        .exec(
            "UPDATE OR IGNORE users SET email = ?3, email_verified = 1, updated_at = ?4 \
             WHERE id = ?1 AND email = ?2",
            &[text(user_id), text(old), text(new), int(now)],
        )
        .await?;
    Ok(changes(&result) > 0)
}

pub(super) async fn replace_password_hash(
    d1: &D1Store,
    user_id: &str,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    let result = d1
        .exec(
            "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
            &[text(user_id), text(old), text(new)],
        )
        .await?;
    Ok(changes(&result) > 0)
}

pub(super) async fn consent(
    d1: &D1Store,
    user_id: &str,
    client_id: &str,
) -> StoreResult<Option<String>> {
    let row: Option<ConsentRow> = d1
        .read(
            "SELECT client_id, scope, created_at, updated_at FROM consents WHERE user_id = ?1 AND client_id = ?2",
            &[text(user_id), text(client_id)],
        )?
        .first(None)
        .await
        .map_err(err)?;
    Ok(row.map(|r| r.scope))
}

pub(super) async fn save_consent(
    d1: &D1Store,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> StoreResult<()> {
    d1.exec(
        "INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        &[text(user_id), text(client_id), text(scope), int(now)],
    ).await?;
    Ok(())
}

pub(super) async fn list_consents(d1: &D1Store, user_id: &str) -> StoreResult<Vec<Consent>> {
    let rows: Vec<ConsentRow> = d1
        .read_all(
            "SELECT client_id, scope, created_at, updated_at FROM consents WHERE user_id = ?1 ORDER BY created_at",
            &[text(user_id)],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Consent {
            client_id: r.client_id,
            scope: r.scope,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

pub(super) async fn delete_consent(
    d1: &D1Store,
    user_id: &str,
    client_id: &str,
) -> StoreResult<bool> {
    let result = d1
        .exec(
            "DELETE FROM consents WHERE user_id = ?1 AND client_id = ?2",
            &[text(user_id), text(client_id)],
        )
        .await?;
    Ok(changes(&result) > 0)
}

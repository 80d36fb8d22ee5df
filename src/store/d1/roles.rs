//! `roles` (migration 0011). Users hold roles by name in their space-separated `roles`
//! column and access rules name them in `applications.access_rules`; a rename or deletion
//! rewrites both in the same transaction. The Rust side of the same rules is
//! `model::access::replace_role` (the memory store); `store::conformance` checks both.

use serde::Deserialize;

use super::users::{UserRow, USER_COLUMNS};
use super::{changes, int, text, D1Store, APPS};
use crate::model::access::{Role, RoleUse};
use crate::model::User;
use crate::store::{Inserted, StoreResult};

/// True for a user row holding the role `?1` (names never contain spaces).
const HOLDS: &str = "instr(' ' || roles || ' ', ' ' || ?1 || ' ') > 0";

/// True for an application whose access rules name the role `?1`.
const RULES_NAME: &str =
    "EXISTS (SELECT 1 FROM json_each(applications.access_rules, '$.roles') WHERE value = ?1)";

#[derive(Deserialize)]
struct RoleRow {
    name: String,
    description: String,
    created_at: i64,
    users: i64,
    applications: Option<String>,
}

pub(super) async fn roles(d1: &D1Store) -> StoreResult<Vec<RoleUse>> {
    let rows: Vec<RoleRow> = d1
        .read_all(
            "SELECT r.name, r.description, r.created_at, \
               (SELECT count(*) FROM users WHERE instr(' ' || users.roles || ' ', ' ' || r.name || ' ') > 0) AS users, \
               (SELECT group_concat(client_id, ' ') FROM applications WHERE EXISTS \
                  (SELECT 1 FROM json_each(applications.access_rules, '$.roles') WHERE value = r.name)) AS applications \
             FROM roles r ORDER BY r.name",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RoleUse {
            role: Role {
                name: r.name,
                description: r.description,
                created_at: r.created_at,
            },
            users: r.users,
            applications: r
                .applications
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        })
        .collect())
}

pub(super) async fn role_names(d1: &D1Store) -> StoreResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Row {
        name: String,
    }
    let rows: Vec<Row> = d1.read_all("SELECT name FROM roles", &[]).await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

pub(super) async fn insert_role(d1: &D1Store, role: &Role) -> StoreResult<Inserted> {
    let result = d1
        .exec(
            "INSERT INTO roles (name, description, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
            &[
                text(&role.name),
                text(&role.description),
                int(role.created_at),
            ],
        )
        .await?;
    Ok(if changes(&result) > 0 {
        Inserted::Yes
    } else {
        Inserted::Conflict
    })
}

pub(super) async fn describe_role(
    d1: &D1Store,
    name: &str,
    description: &str,
) -> StoreResult<bool> {
    let result = d1
        .exec(
            "UPDATE roles SET description = ?2 WHERE name = ?1",
            &[text(name), text(description)],
        )
        .await?;
    Ok(changes(&result) > 0)
}

/// From the primary: a user given the role a moment ago is among them.
pub(super) async fn role_holders(d1: &D1Store, name: &str) -> StoreResult<Vec<User>> {
    let result = d1
        .primary_read(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE {HOLDS} ORDER BY created_at, id"),
            &[text(name)],
        )?
        .all()
        .await
        .map_err(super::err)?;
    let rows: Vec<UserRow> = result.results().map_err(super::err)?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// The users' and the rules' statements run only when the role's own rename happened (the
/// old name gone, the new one there), so a refused rename changes nothing.
pub(super) async fn rename_role(
    d1: &D1Store,
    old: &str,
    new: &str,
    description: Option<&str>,
) -> StoreResult<bool> {
    const RENAMED: &str = "NOT EXISTS (SELECT 1 FROM roles WHERE name = ?1) \
                           AND EXISTS (SELECT 1 FROM roles WHERE name = ?2)";
    let args = [text(old), text(new)];
    let statements = vec![
        d1.member(
            "UPDATE OR IGNORE roles SET name = ?2, description = coalesce(?3, description) \
             WHERE name = ?1",
            &[text(old), text(new), super::opt_text(description)],
        )?,
        d1.member(
            &format!(
                "UPDATE users SET roles = trim(replace(' ' || roles || ' ', ' ' || ?1 || ' ', \
                 ' ' || ?2 || ' ')) WHERE {HOLDS} AND {RENAMED}"
            ),
            &args,
        )?,
        d1.member(
            &format!(
                "UPDATE applications SET access_rules = json_set(access_rules, '$.roles', \
                 json((SELECT json_group_array(CASE WHEN value = ?1 THEN ?2 ELSE value END) \
                       FROM json_each(applications.access_rules, '$.roles')))) \
                 WHERE {RULES_NAME} AND {RENAMED}"
            ),
            &args,
        )?,
    ];
    let results = d1.batch(statements).await?;
    // Access rules changed: this isolate forgets its applications at once (others within
    // `APP_TTL_SECS`).
    APPS.with(|c| c.borrow_mut().clear());
    Ok(results.first().map(changes).unwrap_or(0) > 0)
}

/// Refused (nothing changed) while access rules name the role: taking it out of them would
/// open the application to everyone.
pub(super) async fn delete_role(d1: &D1Store, name: &str) -> StoreResult<bool> {
    let args = [text(name)];
    let statements = vec![
        d1.member(
            &format!(
                "DELETE FROM roles WHERE name = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM applications WHERE {RULES_NAME})"
            ),
            &args,
        )?,
        d1.member(
            &format!(
                "UPDATE users SET roles = trim(replace(' ' || roles || ' ', ' ' || ?1 || ' ', ' ')) \
                 WHERE {HOLDS} AND NOT EXISTS (SELECT 1 FROM roles WHERE name = ?1) \
                 AND NOT EXISTS (SELECT 1 FROM applications WHERE {RULES_NAME})"
            ),
            &args,
        )?,
    ];
    let results = d1.batch(statements).await?;
    Ok(results.first().map(changes).unwrap_or(0) > 0)
}

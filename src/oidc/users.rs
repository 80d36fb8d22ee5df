//! Users in the management API (issue 8): create, list and search, read, update, disable,
//! reset a password. Password hashes never leave this module's views.

use serde_json::{json, Map, Value};

use super::app_settings::{as_object, bool_field, check_fields, string_field, Problems, MAX_NAME};
use super::audit::{Entry, Event};
use super::grants;
use super::login;
use super::management::Done;
use super::params::Params;
use super::profile::profile_field;
use super::services::{Deps, Services};
use crate::crypto::password::hash_password;
use crate::crypto::random_id;
use crate::error::{Failure, OAuthError};
use crate::model::access::is_role_name;
use crate::model::User;
use crate::runtime::Clock;
use crate::store::{GrantOwner, Inserted, Store, UserQuery};

pub(super) const MAX_EMAIL: usize = 254;

/// The management API's view of a user.
pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "email_verified": u.email_verified,
        "roles": u.roles,
        "disabled": u.is_disabled(),
        "disabled_at": u.disabled_at,
        "created_at": u.created_at,
        "profile": Value::Object(u.profile.0.clone()),
        "updated_at": u.updated_at.max(u.created_at),
    })
}

fn password_field(obj: &Map<String, Value>, p: &mut Problems) -> Option<String> {
    match obj.get("password")? {
        Value::String(pw) if (8..=1024).contains(&pw.chars().count()) => Some(pw.clone()),
        _ => {
            p.add("password", "8 to 1024 characters required");
            None
        }
    }
}

fn roles_field(obj: &Map<String, Value>, p: &mut Problems) -> Option<Vec<String>> {
    let v = obj.get("roles")?;
    let Some(list) = v.as_array() else {
        p.add("roles", "must be an array of strings");
        return None;
    };
    let mut roles: Vec<String> = Vec::new();
    for r in list {
        match r.as_str() {
            Some(r) if is_role_name(r) => {
                if !roles.iter().any(|x| x == r) {
                    roles.push(r.to_string());
                }
            }
            _ => {
                p.add(
                    "roles",
                    "role names: letters, digits, - _ . : (up to 64); `admin` may use the dashboard",
                );
                return None;
            }
        }
    }
    Some(roles)
}

pub async fn create_user<D: Deps>(svc: &Services<'_, D>, body: &Value) -> Result<Done, Failure> {
    let (store, kdf, clock, rng) = (svc.store, svc.kdf, svc.clock, svc.rng);
    let policy = &svc.settings.password;
    let obj = as_object(body)?;
    let mut p = Problems::default();
    check_fields(
        obj,
        &[
            "email",
            "password",
            "name",
            "email_verified",
            "roles",
            "profile",
        ],
        &mut p,
    );
    let email = string_field(obj, "email", MAX_EMAIL, &mut p)
        .flatten()
        .filter(|e| is_plausible_email(e));
    if email.is_none() {
        p.add("email", "a valid email address is required");
    }
    let password = password_field(obj, &mut p);
    if !obj.contains_key("password") {
        p.add("password", "8 to 1024 characters required");
    }
    let name = string_field(obj, "name", MAX_NAME, &mut p)
        .flatten()
        .filter(|n| !n.is_empty());
    let email_verified = bool_field(obj, "email_verified", &mut p).unwrap_or(false);
    let roles = roles_field(obj, &mut p).unwrap_or_default();
    let profile = profile_field(obj, &mut p).unwrap_or_default();
    p.into_result()?;
    super::roles::require_existing(store, "roles", &roles).await?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(Failure::invalid_request("email and password are required"));
    };
    let user = User {
        id: random_id(rng, 24)?,
        email,
        name,
        email_verified,
        password_hash: hash_password(kdf, rng, policy, &password).await?,
        created_at: clock.now(),
        roles,
        disabled_at: None,
        profile,
        updated_at: 0,
    };
    match store.insert_user(&user).await? {
        Inserted::Yes => Ok(Done {
            view: user_json(&user),
            entry: Entry::new(Event::UserCreated, "User created").user(&user.id),
        }),
        Inserted::Conflict => Err(Failure::new(
            OAuthError::Conflict,
            "a user with this email exists already",
        )),
    }
}

/// `GET /api/v1/users?q=&limit=&cursor=`: newest first, keyset pagination.
pub async fn list_users<D: Deps>(svc: &Services<'_, D>, query: &Params) -> Result<Value, Failure> {
    let store = svc.store;
    let limit = match query.get("limit")? {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return Err(Failure::invalid_request("limit: 1 to 200")),
        },
    };
    let before = match query.get("cursor")? {
        None => None,
        Some(c) => Some(
            super::cursor::decode(c)
                .ok_or_else(|| Failure::invalid_request("cursor: not valid"))?,
        ),
    };
    let contains = query
        .get("q")?
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(MAX_EMAIL).collect());
    let mut users = store
        .list_users(&UserQuery {
            contains,
            before,
            limit: limit + 1,
        })
        .await?;
    let next = if users.len() > limit {
        users.truncate(limit);
        users
            .last()
            .map(|u| super::cursor::encode(u.created_at, &u.id))
    } else {
        None
    };
    let list: Vec<Value> = users.iter().map(user_json).collect();
    Ok(json!({ "users": list, "next_cursor": next }))
}

pub async fn get_user<D: Deps>(svc: &Services<'_, D>, id: &str) -> Result<Value, Failure> {
    let store = svc.store;
    match store.user_by_id(id).await? {
        Some(u) => Ok(user_json(&u)),
        None => Err(Failure::new(OAuthError::NotFound, "no such user")),
    }
}

/// `PATCH /api/v1/users/{id}`: name, `email_verified`, `profile` (the other standard claims,
/// replaced whole), roles, `disabled`, and `password` (an administrator's password reset). Disabling also revokes every grant of the user in
/// its object and ends their sessions, then the legacy tokens D1 still holds
/// (`Store::update_user`); changed claims reach their grants and sessions.
pub async fn update_user<D: Deps>(
    svc: &Services<'_, D>,
    id: &str,
    body: &Value,
) -> Result<Done, Failure> {
    let (store, kdf, clock, rng) = (svc.store, svc.kdf, svc.clock, svc.rng);
    let policy = &svc.settings.password;
    let obj = as_object(body)?;
    let mut p = Problems::default();
    check_fields(
        obj,
        &[
            "name",
            "email_verified",
            "roles",
            "disabled",
            "password",
            "profile",
        ],
        &mut p,
    );
    let name = string_field(obj, "name", MAX_NAME, &mut p);
    let email_verified = bool_field(obj, "email_verified", &mut p);
    let roles = roles_field(obj, &mut p);
    let disabled = bool_field(obj, "disabled", &mut p);
    let password = password_field(obj, &mut p);
    let profile = profile_field(obj, &mut p);
    p.into_result()?;
    if let Some(roles) = &roles {
        super::roles::require_existing(store, "roles", roles).await?;
    }
    let mut user = store
        .user_by_id(id)
        .await?
        .ok_or_else(|| Failure::new(OAuthError::NotFound, "no such user"))?;
    let was_disabled = user.is_disabled();
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = name {
        user.name = name.filter(|n| !n.is_empty());
        changed.push("name");
    }
    if let Some(v) = email_verified {
        user.email_verified = v;
        changed.push("email_verified");
    }
    if let Some(profile) = profile {
        user.profile = profile;
        changed.push("profile");
    }
    let claims_changed = changed
        .iter()
        .any(|f| ["name", "email_verified", "profile"].contains(f));
    if claims_changed {
        user.updated_at = clock.now();
    }
    if let Some(roles) = roles {
        user.roles = roles;
        changed.push("roles");
    }
    if let Some(d) = disabled {
        user.disabled_at = match (d, user.disabled_at) {
            (true, Some(t)) => Some(t),
            (true, None) => Some(clock.now()),
            (false, _) => None,
        };
        changed.push("disabled");
    }
    if let Some(pw) = password {
        user.password_hash = hash_password(kdf, rng, policy, &pw).await?;
        changed.push("password");
    }
    // The user's grants (Durable Objects) and sessions (KV) hear of the change first: each
    // step can be repeated, so a failure leaves nothing that a retry would not finish.
    if !was_disabled && user.is_disabled() {
        grants::revoke_all(store, svc.grants, GrantOwner::User(&user.id), clock.now()).await?;
        login::end_sessions(store, svc.sessions, svc.pending_index, &user.id).await?;
    } else if claims_changed || changed.contains(&"roles") {
        // Roles are in the claims too (the `roles` scope): grants and sessions hear of them.
        reach_live_state(svc, &user).await?;
    }
    if !store.update_user(&user).await? {
        return Err(Failure::new(OAuthError::NotFound, "no such user"));
    }
    let entry = match (was_disabled, user.is_disabled()) {
        (false, true) => Entry::new(Event::UserDisabled, "User disabled"),
        (true, false) => Entry::new(Event::UserUpdated, "User enabled"),
        _ if changed == ["password"] => Entry::new(Event::UserUpdated, "Password reset"),
        _ => Entry::new(Event::UserUpdated, "User updated"),
    }
    .user(&user.id)
    .detail("fields", changed.join(" "));
    Ok(Done {
        view: user_json(&user),
        entry,
    })
}

/// The user's live grants (tokens minted from now on, userinfo) and sessions get the user's
/// current claims, roles among them.
pub(super) async fn reach_live_state<D: Deps>(
    svc: &Services<'_, D>,
    user: &User,
) -> Result<(), Failure> {
    grants::reprofile(svc.store, svc.grants, &user.id, &user.claims()).await?;
    login::reprofile_sessions(svc.store, svc.sessions, svc.clock, user).await
}

pub(super) fn is_plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grant::GrantIndex;
    use crate::model::{RefreshRecord, UserClaims};
    use crate::oidc::services::testing::{services, FakeDeps};
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn svc<'a>(store: &'a MemoryStore, now: i64) -> Services<'a, FakeDeps> {
        let clock = Box::leak(Box::new(FixedClock::at(now)));
        services(
            store,
            Box::leak(Box::default()),
            clock,
            "https://id.example",
            Box::leak(Box::default()),
        )
    }

    fn create(store: &MemoryStore, body: Value) -> Result<Value, Failure> {
        block_on(create_user(&svc(store, 1), &body)).map(|d| d.view)
    }

    /// Creates ada@example.com; returns her id.
    fn create_ada(store: &MemoryStore) -> String {
        let v = create(
            store,
            json!({"email": "ada@example.com", "password": "correct horse"}),
        )
        .unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    fn update(store: &MemoryStore, id: &str, body: Value) -> Result<Done, Failure> {
        block_on(update_user(&svc(store, 50), id, &body))
    }

    fn list(store: &MemoryStore, query: &str) -> Value {
        block_on(list_users(&svc(store, 0), &Params::parse(query))).unwrap()
    }

    #[test]
    fn users_are_created_once_per_email() {
        let store = MemoryStore::default();
        let v = create(
            &store,
            json!({"email": "ada@example.com", "password": "correct horse"}),
        )
        .unwrap();
        assert!(v.get("password_hash").is_none());
        assert_eq!(v["roles"], json!([]));
        assert_eq!(v["disabled"], false);
        let err = |body| create(&store, body).unwrap_err();
        assert_eq!(
            err(json!({"email": "ADA@example.com", "password": "correct horse"})).error,
            OAuthError::Conflict
        );
        assert!(err(json!({"email": "nope", "password": "correct horse"}))
            .description
            .contains("email"));
        assert!(err(json!({"email": "b@example.com", "password": "short"}))
            .description
            .contains("password"));
        assert!(err(json!({"email": "b@example.com"}))
            .description
            .contains("password"));
        assert!(err(
            json!({"email": "b@example.com", "password": "correct horse", "roles": ["has space"]})
        )
        .description
        .contains("roles"));
        let admin = create(
            &store,
            json!({"email": "boss@example.com", "password": "correct horse", "roles": ["admin"]}),
        )
        .unwrap();
        assert_eq!(admin["roles"], json!(["admin"]));
    }

    #[test]
    fn the_list_is_newest_first_searchable_and_paged() {
        let store = MemoryStore::default();
        for (i, (email, name)) in [
            ("ada@example.com", "Ada Lovelace"),
            ("grace@example.com", "Grace Hopper"),
            ("alan@example.org", "Alan Turing"),
        ]
        .iter()
        .enumerate()
        {
            store.users.borrow_mut().push(User {
                id: format!("u{i}"),
                email: email.to_string(),
                name: Some(name.to_string()),
                email_verified: false,
                password_hash: String::new(),
                created_at: 10 + i as i64,
                roles: vec![],
                disabled_at: None,
                profile: Default::default(),
                updated_at: 0,
            });
        }
        let emails = |v: &Value| -> Vec<String> {
            v["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_string())
                .collect()
        };
        let all = list(&store, "");
        assert_eq!(
            emails(&all),
            ["alan@example.org", "grace@example.com", "ada@example.com"]
        );
        assert_eq!(all["next_cursor"], Value::Null);
        assert_eq!(emails(&list(&store, "q=HOPPER")), ["grace@example.com"]);
        assert_eq!(emails(&list(&store, "q=example.com")).len(), 2);
        let first = list(&store, "limit=2");
        assert_eq!(emails(&first).len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest = list(&store, &format!("limit=2&cursor={cursor}"));
        assert_eq!(emails(&rest), ["ada@example.com"]);
        assert_eq!(rest["next_cursor"], Value::Null);
        assert!(block_on(list_users(&svc(&store, 0), &Params::parse("limit=0"))).is_err());
        assert!(block_on(list_users(&svc(&store, 0), &Params::parse("cursor=%%"))).is_err());
    }

    #[test]
    fn disabling_revokes_every_grant_and_legacy_token_and_is_audited() {
        let store = MemoryStore::default();
        let id = create_ada(&store);
        let rng = crate::runtime::testing::CountingRandom::new();
        crate::oidc::testing::grant_with_token(&store, "app1", &rng);
        let grant_id = store.grants.borrow().keys().next().unwrap().clone();
        store
            .grants
            .borrow_mut()
            .get_mut(&grant_id)
            .unwrap()
            .user_id = id.clone();
        store.grant_index.borrow_mut().push(GrantIndex {
            grant_id: grant_id.clone(),
            client_id: "app1".into(),
            user_id: id.clone(),
            created_at: 1,
            expires_at: 1000,
        });
        store.refresh.borrow_mut().insert(
            "r".into(),
            RefreshRecord {
                token_hash: "r".into(),
                grant_id: "g".into(),
                client_id: "app1".into(),
                user_id: id.clone(),
                scope: "openid offline_access".into(),
                auth_time: 1,
                claims: UserClaims {
                    roles: Default::default(),
                    email: "ada@example.com".into(),
                    email_verified: false,
                    name: None,
                    profile: Default::default(),
                    updated_at: None,
                },
                created_at: 1,
                expires_at: 1000,
                grant_expires_at: 1000,
                consumed_at: None,
                revoked_at: None,
            },
        );
        store.fail_on.borrow_mut().push("grant");
        assert!(update(&store, &id, json!({"disabled": true})).is_err());
        assert!(!store.users.borrow()[0].is_disabled(), "nothing half-done");
        store.fail_on.borrow_mut().clear();

        let done = update(&store, &id, json!({"disabled": true})).unwrap();
        assert_eq!(done.view["disabled"], true);
        assert_eq!(done.view["disabled_at"], 50);
        assert_eq!(done.entry.event, Event::UserDisabled);
        assert!(store.refresh.borrow().is_empty());
        assert_eq!(store.grants.borrow()[&grant_id].revoked_at, Some(50));

        let enabled = update(&store, &id, json!({"disabled": false})).unwrap();
        assert_eq!(enabled.view["disabled"], false);
        assert_eq!(enabled.entry.event, Event::UserUpdated);
    }

    #[test]
    fn updates_check_every_field_and_reset_the_password_hash() {
        let store = MemoryStore::default();
        let id = create_ada(&store);
        let before = store.users.borrow()[0].password_hash.clone();
        let reset = update(&store, &id, json!({"password": "battery staple"})).unwrap();
        assert_eq!(reset.entry.description, "Password reset");
        assert!(reset.view.get("password_hash").is_none());
        assert_ne!(store.users.borrow()[0].password_hash, before);
        assert!(!reset
            .entry
            .detail
            .values()
            .any(|v| v.to_string().contains("battery")));

        let named = update(&store, &id, json!({"name": "Ada", "roles": ["admin"]})).unwrap();
        assert_eq!(named.view["name"], "Ada");
        assert_eq!(named.view["roles"], json!(["admin"]));

        let bad = update(
            &store,
            &id,
            json!({"password": "x", "roles": "admin", "email": "new@example.com"}),
        )
        .unwrap_err();
        for field in ["password", "roles", "email"] {
            assert!(bad.description.contains(field), "{}", bad.description);
        }
        assert_eq!(
            update(&store, "nobody", json!({"name": "x"}))
                .unwrap_err()
                .error,
            OAuthError::NotFound
        );
    }
}

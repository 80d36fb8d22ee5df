//! Roles in the management API (issue 17, "roles as data"): create, describe, rename and
//! delete them. Users hold roles by name (`users.rs` takes only roles that exist) and access
//! rules name them (`management.rs` likewise); a rename or deletion reaches both in one
//! transaction (`Store::rename_role`, `Store::delete_role`), and reaches the live grants and
//! sessions of the users holding the role first, as any change of a user's roles does (the
//! `roles` claim of tokens minted from them).
//!
//! `admin` (`model::ADMIN_ROLE`) is built in: it may use the dashboard and the `admin` scope,
//! so it can be described and given but not renamed or deleted.

use serde_json::{json, Map, Value};

use super::app_settings::{as_object, check_fields, string_field, Problems};
use super::audit::{Entry, Event};
use super::management::Done;
use super::services::{Deps, Services};
use super::users;
use crate::error::{Failure, OAuthError};
use crate::model::access::{is_role_name, replace_role, Role, RoleUse};
use crate::model::ADMIN_ROLE;
use crate::runtime::Clock;
use crate::store::{Inserted, Store};

const MAX_DESCRIPTION: usize = 500;

/// A rename or deletion updates every holder's live grants and sessions in the request that
/// asks for it (a few calls per holder); past this many holders it is refused rather than
/// left half done against the platform's per-request call limit.
pub const MAX_HOLDERS_CHANGED: usize = 100;

fn role_json(r: &RoleUse) -> Value {
    json!({
        "name": r.role.name,
        "description": r.role.description,
        "builtin": r.role.name == ADMIN_ROLE,
        "created_at": r.role.created_at,
        "users": r.users,
        "applications": r.applications,
    })
}

fn no_such_role() -> Failure {
    Failure::new(OAuthError::NotFound, "no such role")
}

/// `GET /api/v1/roles`: every role by name, with how many users hold it and which
/// applications' access rules name it.
pub async fn list_roles<D: Deps>(svc: &Services<'_, D>) -> Result<Value, Failure> {
    let roles = svc.store.roles().await?;
    Ok(json!({ "roles": roles.iter().map(role_json).collect::<Vec<_>>() }))
}

/// `GET /api/v1/roles/{name}`.
pub async fn get_role<D: Deps>(svc: &Services<'_, D>, name: &str) -> Result<Value, Failure> {
    find(svc.store, name).await.map(|r| role_json(&r))
}

async fn find(store: &impl Store, name: &str) -> Result<RoleUse, Failure> {
    store
        .roles()
        .await?
        .into_iter()
        .find(|r| r.role.name == name)
        .ok_or_else(no_such_role)
}

/// The roles in `names` that do not exist, as an answer naming `field` and them; `Ok` when
/// all do. Users and access rules take only roles that exist, so a typo is caught where it
/// is made instead of locking people out.
pub async fn require_existing(
    store: &impl Store,
    field: &str,
    names: &[String],
) -> Result<(), Failure> {
    if names.is_empty() {
        return Ok(());
    }
    let known = store.role_names().await?;
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !known.contains(n))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::invalid_request(format!(
        "{field}: no such role: {} (create roles first: POST /api/v1/roles)",
        missing.join(", ")
    )))
}

fn name_field(obj: &Map<String, Value>, p: &mut Problems) -> Option<String> {
    match obj.get("name")? {
        Value::String(n) if is_role_name(n) => Some(n.clone()),
        _ => {
            p.add("name", "letters, digits, - _ . : (1 to 64 characters)");
            None
        }
    }
}

fn description_field(obj: &Map<String, Value>, p: &mut Problems) -> Option<String> {
    string_field(obj, "description", MAX_DESCRIPTION, p).map(Option::unwrap_or_default)
}

/// `POST /api/v1/roles` `{name, description?}`.
pub async fn create_role<D: Deps>(svc: &Services<'_, D>, body: &Value) -> Result<Done, Failure> {
    let obj = as_object(body)?;
    let mut p = Problems::default();
    check_fields(obj, &["name", "description"], &mut p);
    let name = name_field(obj, &mut p);
    if !obj.contains_key("name") {
        p.add("name", "required");
    }
    let description = description_field(obj, &mut p).unwrap_or_default();
    p.into_result()?;
    let Some(name) = name else {
        return Err(Failure::invalid_request("name: required"));
    };
    let role = Role {
        name,
        description,
        created_at: svc.clock.now(),
    };
    match svc.store.insert_role(&role).await? {
        Inserted::Yes => Ok(Done {
            view: role_json(&RoleUse {
                role: role.clone(),
                users: 0,
                applications: vec![],
            }),
            entry: Entry::new(Event::RoleCreated, "Role created").detail("role", role.name),
        }),
        Inserted::Conflict => Err(Failure::new(
            OAuthError::Conflict,
            "a role with this name exists already",
        )),
    }
}

/// `PATCH /api/v1/roles/{name}` `{name?, description?}`: a new name reaches the users
/// holding the role (their live tokens too) and the access rules naming it.
pub async fn update_role<D: Deps>(
    svc: &Services<'_, D>,
    name: &str,
    body: &Value,
) -> Result<Done, Failure> {
    let obj = as_object(body)?;
    let mut p = Problems::default();
    check_fields(obj, &["name", "description"], &mut p);
    let new_name = name_field(obj, &mut p).filter(|n| n != name);
    let description = description_field(obj, &mut p);
    p.into_result()?;
    let store = svc.store;
    let current = find(store, name).await?;
    let mut changed: Vec<&str> = Vec::new();
    let mut entry = Entry::new(Event::RoleUpdated, "Role updated");
    if let Some(new) = &new_name {
        if name == ADMIN_ROLE {
            return Err(Failure::invalid_request(
                "name: the built-in admin role cannot be renamed",
            ));
        }
        if store.role_names().await?.contains(new) {
            return Err(Failure::new(
                OAuthError::Conflict,
                "a role with this name exists already",
            ));
        }
        let holders = reach_holders(svc, name, Some(new)).await?;
        if !store.rename_role(name, new, description.as_deref()).await? {
            return Err(Failure::new(
                OAuthError::Conflict,
                "the role changed meanwhile; read it again",
            ));
        }
        changed.push("name");
        entry = Entry::new(Event::RoleUpdated, "Role renamed")
            .detail("renamed_from", name)
            .detail("users", holders as i64);
    } else if let Some(d) = &description {
        if !store.describe_role(name, d).await? {
            return Err(no_such_role());
        }
    }
    if description.is_some() {
        changed.push("description");
    }
    let role = RoleUse {
        role: Role {
            name: new_name.unwrap_or_else(|| name.to_string()),
            description: description.unwrap_or(current.role.description),
            created_at: current.role.created_at,
        },
        ..current
    };
    Ok(Done {
        view: role_json(&role),
        entry: entry
            .detail("role", role.role.name.clone())
            .detail("fields", changed.join(" ")),
    })
}

/// `DELETE /api/v1/roles/{name}`: takes the role from its users (and their live tokens).
/// Refused while access rules name it: taking it out of them would open the application to
/// everyone, so that is for the administrator to decide, application by application.
pub async fn delete_role<D: Deps>(svc: &Services<'_, D>, name: &str) -> Result<Entry, Failure> {
    if name == ADMIN_ROLE {
        return Err(Failure::invalid_request(
            "the built-in admin role cannot be deleted",
        ));
    }
    let store = svc.store;
    let role = find(store, name).await?;
    if !role.applications.is_empty() {
        return Err(Failure::new(
            OAuthError::Conflict,
            format!(
                "the access rules of {} require this role: take it out of them first",
                role.applications.join(", ")
            ),
        ));
    }
    let holders = reach_holders(svc, name, None).await?;
    if !store.delete_role(name).await? {
        return Err(Failure::new(
            OAuthError::Conflict,
            "the role changed meanwhile; read it again",
        ));
    }
    Ok(Entry::new(Event::RoleDeleted, "Role deleted")
        .detail("role", name)
        .detail("users", holders as i64))
}

/// The live grants and sessions of every user holding `old` get their roles with `old`
/// renamed (or removed, `None`), before D1 changes: each step can be repeated, so a failure
/// leaves nothing that asking again would not finish. Returns how many users hold it.
async fn reach_holders<D: Deps>(
    svc: &Services<'_, D>,
    old: &str,
    new: Option<&str>,
) -> Result<usize, Failure> {
    let holders = svc.store.role_holders(old).await?;
    if holders.len() > MAX_HOLDERS_CHANGED {
        return Err(Failure::new(
            OAuthError::Conflict,
            format!(
                "{} users hold this role; a rename or deletion updates each one's live tokens \
                 and reaches at most {MAX_HOLDERS_CHANGED} at a time: take it from some of them \
                 first",
                holders.len()
            ),
        ));
    }
    for mut user in holders.iter().cloned() {
        user.roles = replace_role(&user.roles, old, new);
        users::reach_live_state(svc, &user).await?;
    }
    Ok(holders.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grant::GrantIndex;
    use crate::model::AppType;
    use crate::oidc::services::testing::{services, FakeDeps};
    use crate::oidc::testing::{app, grant_with_token, user};
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn svc(store: &MemoryStore) -> Services<'_, FakeDeps> {
        services(
            store,
            Box::leak(Box::default()),
            Box::leak(Box::new(FixedClock::at(100))),
            "https://id.example",
            Box::leak(Box::default()),
        )
    }

    fn create(store: &MemoryStore, body: Value) -> Result<Value, Failure> {
        block_on(create_role(&svc(store), &body)).map(|d| d.view)
    }

    fn update(store: &MemoryStore, name: &str, body: Value) -> Result<Done, Failure> {
        block_on(update_role(&svc(store), name, &body))
    }

    /// u1 holding `roles`, with a live grant (indexed) whose claims are the user's.
    fn holder_with_grant(store: &MemoryStore, roles: &[&str]) -> String {
        let mut u = user("u1", "a@example.com");
        u.roles = roles.iter().map(|r| r.to_string()).collect();
        let claims = u.claims();
        store.users.borrow_mut().push(u);
        grant_with_token(store, "app1", &CountingRandom::new());
        let grant_id = store.grants.borrow().keys().next().unwrap().clone();
        store.grants.borrow_mut().get_mut(&grant_id).unwrap().claims = claims;
        store.grant_index.borrow_mut().push(GrantIndex {
            grant_id: grant_id.clone(),
            client_id: "app1".into(),
            user_id: "u1".into(),
            created_at: 0,
            expires_at: 1000,
        });
        grant_id
    }

    fn grant_roles(store: &MemoryStore, grant_id: &str) -> Vec<String> {
        store.grants.borrow()[grant_id].claims.roles.clone()
    }

    fn user_roles(store: &MemoryStore) -> Vec<String> {
        store.users.borrow()[0].roles.clone()
    }

    #[test]
    fn roles_are_created_once_listed_by_name_and_admin_is_built_in() {
        let store = MemoryStore::default();
        let hr = create(&store, json!({"name": "hr", "description": "People team"})).unwrap();
        assert_eq!(hr["description"], "People team");
        assert_eq!(hr["builtin"], false);
        assert_eq!(hr["created_at"], 100);
        create(&store, json!({"name": "auditor"})).unwrap();
        let again = create(&store, json!({"name": "hr"})).unwrap_err();
        assert_eq!(again.error, OAuthError::Conflict);
        for bad in [
            json!({}),
            json!({"name": "has space"}),
            json!({"name": ""}),
            json!({"name": "x".repeat(65)}),
            json!({"name": "ok", "colour": "red"}),
            json!({"name": "ok", "description": 3}),
        ] {
            let f = create(&store, bad.clone()).unwrap_err();
            assert_eq!(f.error, OAuthError::InvalidRequest, "{bad}");
        }
        let list = block_on(list_roles(&svc(&store))).unwrap();
        let names: Vec<&str> = list["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "auditor", "hr"]);
        assert_eq!(list["roles"][0]["builtin"], true);
    }

    #[test]
    fn users_and_access_rules_take_only_roles_that_exist() {
        let store = MemoryStore::default();
        let body = json!({"email": "a@example.com", "password": "correct horse", "roles": ["hr", "legal"]});
        let refused = block_on(users::create_user(&svc(&store), &body)).unwrap_err();
        assert_eq!(refused.error, OAuthError::InvalidRequest);
        assert!(
            refused
                .description
                .contains("roles: no such role: hr, legal"),
            "{}",
            refused.description
        );
        create(&store, json!({"name": "hr"})).unwrap();
        create(&store, json!({"name": "legal"})).unwrap();
        let made = block_on(users::create_user(&svc(&store), &body)).unwrap();
        assert_eq!(made.view["roles"], json!(["hr", "legal"]));

        store.apps.borrow_mut().push(app(AppType::Spa));
        let rules = |roles: Value| {
            block_on(crate::oidc::management::update_application(
                &svc(&store),
                "app1",
                &json!({"access_rules": {"roles": roles}}),
            ))
        };
        let typo = rules(json!(["hr-oficer"])).unwrap_err();
        assert!(typo
            .description
            .contains("access_rules.roles: no such role: hr-oficer"));
        assert!(store.apps.borrow()[0].access_rules.roles.is_empty());
        rules(json!(["hr"])).unwrap();
        let listed = block_on(get_role(&svc(&store), "hr")).unwrap();
        assert_eq!(listed["users"], 1);
        assert_eq!(listed["applications"], json!(["app1"]));
    }

    #[test]
    fn a_rename_reaches_holders_their_live_tokens_and_access_rules() {
        let store = MemoryStore::default();
        create(&store, json!({"name": "hr"})).unwrap();
        create(&store, json!({"name": "legal"})).unwrap();
        let grant = holder_with_grant(&store, &["admin", "hr"]);
        let mut ruled = app(AppType::Spa);
        ruled.access_rules.roles = vec!["legal".into(), "hr".into()];
        store.apps.borrow_mut().push(ruled);

        let done = update(
            &store,
            "hr",
            json!({"name": "people", "description": "was hr"}),
        )
        .unwrap();
        assert_eq!(done.view["name"], "people");
        assert_eq!(done.view["description"], "was hr");
        assert_eq!(done.entry.event, Event::RoleUpdated);
        assert_eq!(done.entry.detail["renamed_from"], "hr");
        assert_eq!(done.entry.detail["users"], 1);
        assert_eq!(user_roles(&store), ["admin", "people"]);
        assert_eq!(grant_roles(&store, &grant), ["admin", "people"]);
        assert_eq!(
            store.apps.borrow()[0].access_rules.roles,
            ["legal", "people"]
        );
        assert_eq!(
            block_on(get_role(&svc(&store), "hr")).unwrap_err().error,
            OAuthError::NotFound
        );

        let taken = update(&store, "people", json!({"name": "legal"})).unwrap_err();
        assert_eq!(taken.error, OAuthError::Conflict);
        let admin = update(&store, "admin", json!({"name": "root"})).unwrap_err();
        assert_eq!(admin.error, OAuthError::InvalidRequest);
        let described = update(&store, "admin", json!({"description": "Dashboard"})).unwrap();
        assert_eq!(described.view["description"], "Dashboard");
        assert_eq!(
            update(&store, "nobody", json!({"description": "x"}))
                .unwrap_err()
                .error,
            OAuthError::NotFound
        );
        assert_eq!(user_roles(&store), ["admin", "people"]);
    }

    #[test]
    fn a_failed_rename_changes_nothing_stored_and_asking_again_finishes_it() {
        let store = MemoryStore::default();
        create(&store, json!({"name": "hr"})).unwrap();
        let grant = holder_with_grant(&store, &["hr"]);
        store.fail_on.borrow_mut().push("rename_role");
        let failed = update(&store, "hr", json!({"name": "people"})).unwrap_err();
        assert_eq!(failed.error, OAuthError::TemporarilyUnavailable);
        assert_eq!(user_roles(&store), ["hr"], "D1 kept its names");
        store.fail_on.borrow_mut().clear();
        update(&store, "hr", json!({"name": "people"})).unwrap();
        assert_eq!(user_roles(&store), ["people"]);
        assert_eq!(grant_roles(&store, &grant), ["people"]);
    }

    #[test]
    fn a_deletion_takes_the_role_from_holders_unless_access_rules_need_it() {
        let store = MemoryStore::default();
        create(&store, json!({"name": "hr"})).unwrap();
        let grant = holder_with_grant(&store, &["hr", "admin"]);
        let mut ruled = app(AppType::Spa);
        ruled.access_rules.roles = vec!["hr".into()];
        store.apps.borrow_mut().push(ruled);
        let delete = |name: &str| block_on(delete_role(&svc(&store), name));

        let needed = delete("hr").unwrap_err();
        assert_eq!(needed.error, OAuthError::Conflict);
        assert!(
            needed.description.contains("app1"),
            "{}",
            needed.description
        );
        assert_eq!(user_roles(&store), ["hr", "admin"]);

        store.apps.borrow_mut()[0].access_rules.roles.clear();
        let entry = delete("hr").unwrap();
        assert_eq!(entry.event, Event::RoleDeleted);
        assert_eq!(entry.detail["users"], 1);
        assert_eq!(user_roles(&store), ["admin"]);
        assert_eq!(grant_roles(&store, &grant), ["admin"]);
        assert_eq!(delete("hr").unwrap_err().error, OAuthError::NotFound);
        assert_eq!(
            delete("admin").unwrap_err().error,
            OAuthError::InvalidRequest
        );
    }

    #[test]
    fn a_role_with_too_many_holders_is_refused_whole() {
        let store = MemoryStore::default();
        create(&store, json!({"name": "staff"})).unwrap();
        for i in 0..=MAX_HOLDERS_CHANGED {
            let mut u = user(&format!("u{i}"), &format!("u{i}@example.com"));
            u.roles = vec!["staff".into()];
            store.users.borrow_mut().push(u);
        }
        let refused = update(&store, "staff", json!({"name": "everyone"})).unwrap_err();
        assert_eq!(refused.error, OAuthError::Conflict);
        assert!(refused.description.contains("101 users"));
        assert!(store.users.borrow().iter().all(|u| u.roles == ["staff"]));
        store.users.borrow_mut().pop();
        update(&store, "staff", json!({"name": "everyone"})).unwrap();
        assert!(store.users.borrow().iter().all(|u| u.roles == ["everyone"]));
    }
}

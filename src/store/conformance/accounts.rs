//! The storage conformance suite's checks of people's accounts: roles (renamed and deleted
//! across users and access rules) and changes of address.

use super::{ensure, err, parties, Check, NOW};
use crate::model::access::Role;
use crate::model::User;
use crate::store::{Inserted, Store};

/// An address changes only from the one the caller saw, never to another account's.
pub(super) async fn email_change<S: Store>(s: &S, p: &str) -> Check {
    let (_, user) = parties(s, p).await?;
    let (_, other) = parties(s, &format!("{p}-other")).await?;
    let old = format!("{p}@conformance.example");
    let taken = format!("{p}-other@conformance.example");
    let new = format!("{p}-new@conformance.example");
    ensure(
        !s.change_email(&user, &old, &taken, NOW)
            .await
            .map_err(err)?,
        "not to another account's address",
    )?;
    ensure(
        !s.change_email(&user, &new, &new, NOW).await.map_err(err)?,
        "not from an address the user does not have",
    )?;
    ensure(
        s.change_email(&user, &old, &new, NOW + 5)
            .await
            .map_err(err)?,
        "changed",
    )?;
    let changed = s.user_by_id(&user).await.map_err(err)?.ok_or("user")?;
    ensure(
        changed.email == new && changed.email_verified && changed.updated_at == NOW + 5,
        &format!("the new address, verified, as of the change: {changed:?}"),
    )?;
    ensure(
        s.user_by_email(&old).await.map_err(err)?.is_none()
            && s.user_by_id(&other).await.map_err(err)?.map(|u| u.email) == Some(taken),
        "the old address is free; the other account is untouched",
    )?;
    ensure(
        !s.change_email(&user, &old, &format!("{p}-x@conformance.example"), NOW)
            .await
            .map_err(err)?,
        "a second change from the old address does nothing",
    )
}

/// A role's rename and deletion reach the users holding it (and no role whose name merely
/// begins the same) and the access rules naming it, in one step; refusals change nothing.
pub(super) async fn roles<S: Store>(s: &S, p: &str) -> Check {
    let (hr, lead, legal, people) = (
        format!("{p}-hr"),
        format!("{p}-hr-lead"),
        format!("{p}-legal"),
        format!("{p}-people"),
    );
    for name in [&hr, &lead, &legal] {
        let role = Role {
            name: name.clone(),
            description: format!("{name} role"),
            created_at: NOW,
        };
        ensure(
            s.insert_role(&role).await.map_err(err)? == Inserted::Yes,
            "a new role is inserted",
        )?;
    }
    let again = Role {
        name: hr.clone(),
        description: String::new(),
        created_at: NOW,
    };
    ensure(
        s.insert_role(&again).await.map_err(err)? == Inserted::Conflict,
        "a role name is unique",
    )?;
    let (client, user) = parties(s, p).await?;
    let mut holder = s.user_by_id(&user).await.map_err(err)?.ok_or("the user")?;
    holder.roles = vec![lead.clone(), hr.clone(), "admin".into()];
    s.update_user(&holder).await.map_err(err)?;
    let mut app = s
        .application(&client)
        .await
        .map_err(err)?
        .ok_or("the app")?;
    app.access_rules.roles = vec![hr.clone(), legal.clone()];
    s.update_application(&app).await.map_err(err)?;

    let listed = s.roles().await.map_err(err)?;
    let find = |name: &str| listed.iter().find(|r| r.role.name == name).cloned();
    let hr_use = find(&hr).ok_or("hr is listed")?;
    ensure(
        hr_use.users == 1 && hr_use.applications == [client.clone()],
        &format!("hr: one holder, one application: {hr_use:?}"),
    )?;
    ensure(
        hr_use.role.description == format!("{hr} role"),
        "the description is kept",
    )?;
    let lead_use = find(&lead).ok_or("lead is listed")?;
    ensure(
        lead_use.users == 1 && lead_use.applications.is_empty(),
        &format!("hr-lead: one holder, no rules: {lead_use:?}"),
    )?;
    ensure(
        listed.iter().any(|r| r.role.name == "admin"),
        "admin exists",
    )?;
    let names = s.role_names().await.map_err(err)?;
    ensure(
        names.len() == listed.len() && listed.iter().all(|r| names.contains(&r.role.name)),
        "role_names names the roles listed",
    )?;
    let holders = s.role_holders(&hr).await.map_err(err)?;
    ensure(
        holders.len() == 1 && holders[0].id == user,
        "the holder is found",
    )?;

    ensure(
        !s.rename_role(&hr, &legal, None).await.map_err(err)?,
        "no rename onto an existing role",
    )?;
    ensure(
        !s.rename_role(&format!("{p}-none"), &people, None)
            .await
            .map_err(err)?,
        "no rename of a missing role",
    )?;
    let user_roles = |u: Option<User>| u.map(|u| u.roles).unwrap_or_default();
    ensure(
        user_roles(s.user_by_id(&user).await.map_err(err)?)
            == [lead.clone(), hr.clone(), "admin".into()],
        "a refused rename changes no user",
    )?;
    ensure(
        s.rename_role(&hr, &people, Some("renamed"))
            .await
            .map_err(err)?,
        "renamed",
    )?;
    ensure(
        user_roles(s.user_by_id(&user).await.map_err(err)?)
            == [lead.clone(), people.clone(), "admin".into()],
        "the holder holds the new name, in place; hr-lead is untouched",
    )?;
    let rules = s
        .application(&client)
        .await
        .map_err(err)?
        .map(|a| a.access_rules.roles)
        .unwrap_or_default();
    ensure(
        rules == [people.clone(), legal.clone()],
        &format!("the access rules name the new name, in place: {rules:?}"),
    )?;
    let renamed = s.roles().await.map_err(err)?;
    ensure(
        renamed
            .iter()
            .any(|r| r.role.name == people && r.role.description == "renamed")
            && !renamed.iter().any(|r| r.role.name == hr),
        "the role itself is renamed and described",
    )?;

    ensure(
        !s.delete_role(&people).await.map_err(err)?,
        "no deletion while access rules name the role",
    )?;
    ensure(
        user_roles(s.user_by_id(&user).await.map_err(err)?).contains(&people),
        "a refused deletion takes nothing",
    )?;
    let mut app = s
        .application(&client)
        .await
        .map_err(err)?
        .ok_or("the app")?;
    app.access_rules.roles = vec![legal.clone()];
    s.update_application(&app).await.map_err(err)?;
    ensure(s.delete_role(&people).await.map_err(err)?, "deleted")?;
    ensure(
        user_roles(s.user_by_id(&user).await.map_err(err)?) == [lead.clone(), "admin".into()],
        "the holder lost only that role",
    )?;
    ensure(!s.delete_role(&people).await.map_err(err)?, "deleted once")?;
    ensure(
        s.describe_role(&lead, "leads").await.map_err(err)?
            && !s.describe_role(&people, "gone").await.map_err(err)?,
        "a description is set on an existing role only",
    )
}

//! The memory store's people's-accounts rules: roles (renamed and deleted across users and
//! access rules, as `store::d1::roles` does in SQL) and changes of address, the grant index
//! as the account page reads it.

use super::MemoryStore;
use crate::model::access::{replace_role, Role, RoleUse};
use crate::model::{Application, User};
use crate::store::{Inserted, StoreResult};

impl MemoryStore {
    pub(super) fn roles_now(&self) -> StoreResult<Vec<RoleUse>> {
        self.check()?;
        let users = self.users.borrow();
        let apps = self.apps.borrow();
        let mut out: Vec<RoleUse> = self
            .roles
            .borrow()
            .0
            .iter()
            .map(|role| RoleUse {
                role: role.clone(),
                users: users
                    .iter()
                    .filter(|u| u.roles.contains(&role.name))
                    .count() as i64,
                applications: apps
                    .iter()
                    .filter(|a| a.access_rules.roles.contains(&role.name))
                    .map(|a| a.client_id.clone())
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.role.name.cmp(&b.role.name));
        Ok(out)
    }

    pub(super) fn insert_role_now(&self, role: &Role) -> StoreResult<Inserted> {
        self.op("insert_role")?;
        let mut roles = self.roles.borrow_mut();
        if roles.0.iter().any(|r| r.name == role.name) {
            return Ok(Inserted::Conflict);
        }
        roles.0.push(role.clone());
        Ok(Inserted::Yes)
    }

    pub(super) fn describe_role_now(&self, name: &str, description: &str) -> StoreResult<bool> {
        self.op("describe_role")?;
        let mut roles = self.roles.borrow_mut();
        let Some(role) = roles.0.iter_mut().find(|r| r.name == name) else {
            return Ok(false);
        };
        role.description = description.to_string();
        Ok(true)
    }

    pub(super) fn role_holders_now(&self, name: &str) -> StoreResult<Vec<User>> {
        self.check()?;
        let mut holders: Vec<User> = self
            .users
            .borrow()
            .iter()
            .filter(|u| u.roles.iter().any(|r| r == name))
            .cloned()
            .collect();
        holders.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(holders)
    }

    pub(super) fn rename_role_now(
        &self,
        old: &str,
        new: &str,
        description: Option<&str>,
    ) -> StoreResult<bool> {
        self.op("rename_role")?;
        let mut roles = self.roles.borrow_mut();
        if roles.0.iter().any(|r| r.name == new) {
            return Ok(false);
        }
        let Some(role) = roles.0.iter_mut().find(|r| r.name == old) else {
            return Ok(false);
        };
        role.name = new.to_string();
        if let Some(d) = description {
            role.description = d.to_string();
        }
        for u in self.users.borrow_mut().iter_mut() {
            u.roles = replace_role(&u.roles, old, Some(new));
        }
        for a in self.apps.borrow_mut().iter_mut() {
            a.access_rules.roles = replace_role(&a.access_rules.roles, old, Some(new));
        }
        Ok(true)
    }

    pub(super) fn delete_role_now(&self, name: &str) -> StoreResult<bool> {
        self.op("delete_role")?;
        let named = |a: &Application| a.access_rules.roles.iter().any(|r| r == name);
        if self.apps.borrow().iter().any(named) {
            return Ok(false);
        }
        let mut roles = self.roles.borrow_mut();
        let before = roles.0.len();
        roles.0.retain(|r| r.name != name);
        if roles.0.len() == before {
            return Ok(false);
        }
        for u in self.users.borrow_mut().iter_mut() {
            u.roles = replace_role(&u.roles, name, None);
        }
        Ok(true)
    }

    pub(super) fn granted_clients_now(&self, user_id: &str) -> StoreResult<Vec<String>> {
        self.check()?;
        let mut clients: Vec<String> = self
            .grant_index
            .borrow()
            .iter()
            .filter(|r| r.user_id == user_id)
            .map(|r| r.client_id.clone())
            .collect();
        clients.sort();
        clients.dedup();
        Ok(clients)
    }

    pub(super) fn forget_grants_now(&self, user_id: &str, client_id: &str) -> StoreResult<()> {
        self.op("forget_grants")?;
        self.grant_index
            .borrow_mut()
            .retain(|r| !(r.user_id == user_id && r.client_id == client_id));
        Ok(())
    }

    pub(super) fn change_email_now(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        self.op("change_email")?;
        let mut users = self.users.borrow_mut();
        if users
            .iter()
            .any(|u| u.id != user_id && u.email.eq_ignore_ascii_case(new))
        {
            return Ok(false);
        }
        match users.iter_mut().find(|u| u.id == user_id && u.email == old) {
            Some(u) => {
                u.email = new.to_string();
                u.email_verified = true;
                u.updated_at = now;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

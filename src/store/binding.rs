//! A binding looked up on first use. `env.d1(..)`, `env.kv(..)` and `env.durable_object(..)`
//! each cross into JavaScript; requests answered from the isolate's caches (discovery, JWKS,
//! preflights) touch no storage and should not pay for them.

use std::cell::OnceCell;

use worker::Env;

use super::{StoreError, StoreResult};

pub struct Binding<T> {
    env: Env,
    name: &'static str,
    lookup: fn(&Env, &str) -> worker::Result<T>,
    cell: OnceCell<T>,
}

impl<T> Binding<T> {
    pub fn new(env: &Env, name: &'static str, lookup: fn(&Env, &str) -> worker::Result<T>) -> Self {
        Self {
            env: env.clone(),
            name,
            lookup,
            cell: OnceCell::new(),
        }
    }

    /// The binding; a missing one (a deployment without it in wrangler.toml) is a storage
    /// failure, logged, answered `temporarily_unavailable`.
    pub fn get(&self) -> StoreResult<&T> {
        if let Some(b) = self.cell.get() {
            return Ok(b);
        }
        let b = (self.lookup)(&self.env, self.name)
            .map_err(|e| StoreError(format!("binding {}: {e}", self.name)))?;
        Ok(self.cell.get_or_init(|| b))
    }
}

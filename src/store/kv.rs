//! Login sessions in Workers KV. Eventually consistent across locations (about 60 s): a
//! session is only ever created, read and deleted, never used as a single-use token.

use worker::kv::KvStore;
use worker::Env;

use super::binding::Binding;
use super::meter::Meter;
use super::{SessionStore, StoreError, StoreResult};
use crate::model::Session;

/// KV's smallest allowed expiration TTL.
const KV_MIN_TTL: u64 = 60;

pub struct KvSessions {
    kv: Binding<KvStore>,
    meter: Meter,
}

impl KvSessions {
    pub fn new(env: &Env, meter: Meter) -> Self {
        Self {
            kv: Binding::new(env, super::SESSIONS_BINDING, Env::kv),
            meter,
        }
    }
}

fn key(id_hash: &str) -> String {
    format!("session:{id_hash}")
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("KV: {e}"))
}

impl SessionStore for KvSessions {
    async fn put_session(
        &self,
        id_hash: &str,
        session: &Session,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        let value = serde_json::to_string(session).map_err(err)?;
        self.meter.kv_write();
        self.kv
            .get()?
            .put(&key(id_hash), value)
            .map_err(err)?
            .expiration_ttl(ttl_secs.max(KV_MIN_TTL))
            .execute()
            .await
            .map_err(err)
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        self.meter.kv_read();
        self.kv
            .get()?
            .get(&key(id_hash))
            .json::<Session>()
            .await
            .map_err(err)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.meter.kv_write();
        self.kv.get()?.delete(&key(id_hash)).await.map_err(err)
    }
}

//! Failed-login counters in Durable Objects: one object per counter (an account or an
//! address), addressed by the counter's key, which the runtime creates next to its first
//! caller. An object handles one request at a time and its storage is strongly consistent,
//! so parallel guesses from anywhere in the world each count, exactly once. KV could not do
//! this (no compare-and-swap), and D1 would send every login to its one primary.

use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use super::binding::Binding;
use super::meter::Meter;
use super::throttle_wire::{decode, encode, Op};
use super::{StoreError, StoreResult, ThrottleStore};
use crate::model::ThrottleState;

/// The Durable Object binding's name in wrangler.toml.
pub const THROTTLE_BINDING: &str = "THROTTLE";
/// The one storage key of an object: its counter.
const STATE_KEY: &str = "state";

/// One counter. Its storage holds the `ThrottleState`. Only `fetch` is generated: the
/// alarm and WebSocket glue would cost the Wasm about 20 KB it does not use.
#[durable_object(fetch)]
pub struct LoginThrottle {
    state: State,
}

impl DurableObject for LoginThrottle {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let url = req.url()?;
        let Some(op) = Op::from_query(url.query().unwrap_or("")) else {
            return Response::error("unknown operation", 400);
        };
        let storage = self.state.storage();
        let stored: Option<String> = storage.get(STATE_KEY).await?;
        let mut s = stored.as_deref().and_then(decode).unwrap_or_default();
        match op {
            Op::Read => {}
            Op::Fail { now, window } => {
                // A quiet window starts the count again.
                if s.window_start <= now - window {
                    s.failures = 1;
                    s.window_start = now;
                } else {
                    s.failures += 1;
                }
                storage.put(STATE_KEY, encode(&s)).await?;
            }
            Op::Lock { until } => {
                // Never shortens a lock.
                s.locked_until = s.locked_until.max(until);
                storage.put(STATE_KEY, encode(&s)).await?;
            }
            Op::Clear => {
                storage.delete(STATE_KEY).await?;
                s = ThrottleState::default();
            }
        }
        Response::ok(encode(&s))
    }
}

/// The client: one call to the counter's object per operation.
pub struct DoThrottle {
    ns: Binding<ObjectNamespace>,
    meter: Meter,
}

impl DoThrottle {
    pub fn new(env: &Env, meter: Meter) -> Self {
        Self {
            ns: Binding::new(env, THROTTLE_BINDING, Env::durable_object),
            meter,
        }
    }

    async fn call(&self, key: &str, op: &Op) -> StoreResult<ThrottleState> {
        self.meter.durable_object();
        let stub = self
            .ns
            .get()?
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(err)?;
        // The host only names the object's service; the query is the operation.
        let url = format!("https://login-throttle/?{}", op.to_query());
        let mut res = stub.fetch_with_str(&url).await.map_err(err)?;
        if res.status_code() != 200 {
            return Err(StoreError(format!(
                "login throttle object answered {}",
                res.status_code()
            )));
        }
        let text = res.text().await.map_err(err)?;
        decode(&text).ok_or_else(|| StoreError(format!("login throttle object answered {text:?}")))
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("Durable Object: {e}"))
}

impl ThrottleStore for DoThrottle {
    async fn throttle_states(&self, keys: &[String]) -> StoreResult<Vec<(String, ThrottleState)>> {
        let mut out = Vec::new();
        for key in keys {
            let s = self.call(key, &Op::Read).await?;
            if s != ThrottleState::default() {
                out.push((key.clone(), s));
            }
        }
        Ok(out)
    }

    async fn record_failure(&self, key: &str, now: i64, window: i64) -> StoreResult<i64> {
        Ok(self.call(key, &Op::Fail { now, window }).await?.failures)
    }

    async fn lock_until(&self, key: &str, until: i64) -> StoreResult<()> {
        self.call(key, &Op::Lock { until }).await.map(|_| ())
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        self.call(key, &Op::Clear).await.map(|_| ())
    }
}

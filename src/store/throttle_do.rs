//! Failed-login counters in Durable Objects: one object per counter (an account or an
//! address), addressed by the counter's key, which the runtime creates next to its first
//! caller. An object handles one request at a time and its storage is strongly consistent,
//! so parallel guesses from anywhere in the world each count, exactly once. KV could not do
//! this (no compare-and-swap), and D1 would send every login to its one primary.

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response,
    State,
};

use super::meter::Meter;
use super::{StoreError, StoreResult, ThrottleStore};
use crate::model::ThrottleState;

/// The Durable Object binding's name in wrangler.toml.
pub const THROTTLE_BINDING: &str = "THROTTLE";
/// The one storage key of an object: its counter.
const STATE_KEY: &str = "state";

/// What the client asks an object (the body of a POST).
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Read,
    Fail { now: i64, window: i64 },
    Lock { until: i64 },
    Clear,
}

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

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: Op = req.json().await?;
        let storage = self.state.storage();
        let mut s: ThrottleState = storage.get(STATE_KEY).await?.unwrap_or_default();
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
                storage.put(STATE_KEY, s).await?;
            }
            Op::Lock { until } => {
                // Never shortens a lock.
                s.locked_until = s.locked_until.max(until);
                storage.put(STATE_KEY, s).await?;
            }
            Op::Clear => {
                storage.delete(STATE_KEY).await?;
                s = ThrottleState::default();
            }
        }
        Response::from_json(&s)
    }
}

/// The client: one call to the counter's object per operation.
pub struct DoThrottle {
    ns: ObjectNamespace,
    meter: Meter,
}

impl DoThrottle {
    pub fn new(ns: ObjectNamespace, meter: Meter) -> Self {
        Self { ns, meter }
    }

    async fn call(&self, key: &str, op: &Op) -> StoreResult<ThrottleState> {
        self.meter.durable_object();
        let stub = self
            .ns
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(err)?;
        let body = serde_json::to_string(op).map_err(err)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        // The URL only carries the request to the object; the object reads the body.
        let req = Request::new_with_init("https://login-throttle/", &init).map_err(err)?;
        let mut res = stub.fetch_with_request(req).await.map_err(err)?;
        if res.status_code() != 200 {
            return Err(StoreError(format!(
                "login throttle object answered {}",
                res.status_code()
            )));
        }
        res.json().await.map_err(err)
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

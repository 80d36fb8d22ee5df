//! Grants in Durable Objects: one object per grant, addressed by the grant id that the
//! authorization code carries (and every refresh token of the grant after it). The runtime
//! creates an object next to its first caller, the code exchange, so the grant lives near
//! the client that uses it; its storage is strongly consistent and the object handles one
//! request at a time, so of parallel redemptions of a code, or refreshes of a token, from
//! anywhere, exactly one wins. The rules are `model::grant::apply`, the same function the
//! in-memory store runs.
//!
//! Nothing of a grant is kept after it can matter (`Grant::forget_after`): an alarm deletes
//! it then, so storage does not grow with every login ever made.

use wasm_bindgen::JsValue;
use worker::{
    durable_object, DurableObject, Env, ObjectNamespace, Request, Response, ScheduledTime, State,
};

use super::binding::Binding;
use super::meter::Meter;
use super::{GrantStore, StoreError, StoreResult};
use crate::model::grant::{self, Grant, GrantAnswer, GrantOp};

/// The Durable Object binding's name in wrangler.toml.
pub const GRANTS_BINDING: &str = "GRANTS";
/// The one storage key of an object: its grant (JSON).
const GRANT_KEY: &str = "grant";

/// One grant. `alarm` is generated besides `fetch`: it forgets the grant when its time
/// has come.
#[durable_object(alarm)]
pub struct GrantObject {
    state: State,
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

impl GrantObject {
    async fn load(&self) -> worker::Result<Option<Grant>> {
        let stored: Option<String> = self.state.storage().get(GRANT_KEY).await?;
        Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Wakes the object when the grant may be forgotten.
    async fn schedule(&self, g: &Grant) -> worker::Result<()> {
        let at = js_sys::Date::new(&JsValue::from_f64((g.forget_after() + 1) as f64 * 1000.0));
        self.state.storage().set_alarm(ScheduledTime::new(at)).await
    }
}

impl DurableObject for GrantObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let url = req.url()?;
        let json = url::form_urlencoded::parse(url.query().unwrap_or("").as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        let Ok(op) = serde_json::from_str::<GrantOp>(&json) else {
            return Response::error("unknown operation", 400);
        };
        let before = self.load().await?;
        if !op.may_write() {
            let (_, answer) = grant::apply(before, op);
            return answer_with(&answer);
        }
        let (after, answer) = grant::apply(before.clone(), op);
        if after != before {
            let storage = self.state.storage();
            match &after {
                Some(g) => {
                    let json = serde_json::to_string(g).map_err(|e| e.to_string())?;
                    storage.put(GRANT_KEY, json).await?;
                    if before.as_ref().map(Grant::forget_after) != Some(g.forget_after()) {
                        self.schedule(g).await?;
                    }
                }
                None => storage.delete_all().await?,
            }
        }
        answer_with(&answer)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        match self.load().await? {
            Some(g) if g.forget_after() > now_secs() => self.schedule(&g).await?,
            _ => self.state.storage().delete_all().await?,
        }
        Response::ok("")
    }
}

fn answer_with(answer: &grant::GrantAnswer) -> worker::Result<Response> {
    Response::ok(serde_json::to_string(answer).map_err(|e| e.to_string())?)
}

/// The client: one call to the grant's object per operation.
pub struct DoGrants {
    ns: Binding<ObjectNamespace>,
    meter: Meter,
}

impl DoGrants {
    pub fn new(env: &Env, meter: Meter) -> Self {
        Self {
            ns: Binding::new(env, GRANTS_BINDING, Env::durable_object),
            meter,
        }
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("grant object: {e}"))
}

impl GrantStore for DoGrants {
    async fn grant(&self, grant_id: &str, op: &GrantOp) -> StoreResult<GrantAnswer> {
        self.meter.durable_object();
        let stub = self
            .ns
            .get()?
            .id_from_name(grant_id)
            .and_then(|id| id.get_stub())
            .map_err(err)?;
        let json = serde_json::to_string(op).map_err(err)?;
        // The host only names the object's service; the query is the operation. A GET with
        // a query, not a POST with a body: building a request with a body pulls the
        // runtime's whole `RequestInit` glue into the Wasm.
        let query: String = url::form_urlencoded::byte_serialize(json.as_bytes()).collect();
        let url = format!("https://grant/?{query}");
        let mut res = stub.fetch_with_str(&url).await.map_err(err)?;
        if res.status_code() != 200 {
            return Err(err(format!("answered {}", res.status_code())));
        }
        let text = res.text().await.map_err(err)?;
        serde_json::from_str(&text).map_err(|_| err(format!("answered {text:?}")))
    }
}

//! The wasm adapter: the only place that touches `worker::Request`, `Env` and `Context`.
//! It turns the runtime's request into a plain `http::Request`, fills the services bundle
//! with D1, KV and WebCrypto, calls the routing table, stores the audit log after the
//! response, and runs the cron triggers.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{event, Context, Env, Headers, Request, Response, ScheduleContext, ScheduledEvent};

use crate::crypto::password::{PasswordPolicy, Pepper};
use crate::crypto::webcrypto::{WebCrypto, WebCryptoPbkdf2, WebCryptoSealer};
use crate::crypto::{random_id, AdminToken, InitialAccessToken};
use crate::error::{log_error, Failure};
use crate::http::{self, Body, Method, Reply, MAX_BODY_BYTES};
use crate::model::audit::{self as records, Origin};
use crate::model::grant::PendingIndex;
use crate::oidc::audit::{self, Audit};
use crate::oidc::backchannel;
use crate::oidc::grants;
use crate::oidc::keys::{KeyCache, KeyRing};
use crate::oidc::mail::Outbox;
use crate::oidc::schedule;
use crate::oidc::services::{Deps, Services, Settings};
use crate::outbound::{MailTransport, WorkerFetch};
use crate::runtime::{Clock, SystemClock, SystemRandom};
use crate::store::d1::D1Store;
use crate::store::grant_do::DoGrants;
use crate::store::kv::KvSessions;
use crate::store::meter::Meter;
use crate::store::throttle_do::DoThrottle;
use crate::store::Store;

const KEY_ENCRYPTION_SECRET: &str = "KEY_ENCRYPTION_SECRET";

/// The provider's signer on Workers: keys in D1, cryptography in WebCrypto.
type Signer = KeyRing<D1Store, WebCrypto, SystemClock, SystemRandom>;

/// The Workers platform.
struct Workers;

impl Deps for Workers {
    type Store = D1Store;
    type Sessions = KvSessions;
    type Throttle = DoThrottle;
    type Grants = DoGrants;
    type Signer = Signer;
    type Sealer = WebCryptoSealer;
    type Kdf = WebCryptoPbkdf2;
    type Clock = SystemClock;
    type Rng = SystemRandom;
    type Outbound = WorkerFetch;
}

thread_local! {
    /// Imported signing and verifying keys, and the JWKS, kept between requests.
    static KEYS: Rc<RefCell<KeyCache<JsValue>>> = Rc::default();
    static CONFIG: std::cell::OnceCell<Rc<Config>> = const { std::cell::OnceCell::new() };
}

/// What the adapter reads from the environment.
struct Config {
    settings: Settings,
    /// `KEY_ENCRYPTION_SECRET`.
    key_secret: Option<String>,
    /// How mail leaves (`MAIL_TRANSPORT`); none: nothing that needs mail is offered.
    mail: Option<MailTransport>,
    /// `STORE_CONFORMANCE`: serve `CONFORMANCE_PATH` (tests only; never set in deployments).
    #[cfg(feature = "conformance")]
    store_conformance: bool,
}

/// Runs the storage conformance suite (`store::conformance`) against D1 and the Durable
/// Objects, so they are held to the same rules as the in-memory store. Only in a build with
/// the `conformance` feature (the tests'), and only when `STORE_CONFORMANCE` is on.
#[cfg(feature = "conformance")]
const CONFORMANCE_PATH: &str = "/__test/store-conformance";

/// The deployment's vars and secrets, and the key encryption secret. They cannot change
/// during an isolate's life (a new value is a new deployment, hence new isolates), and a
/// missing var costs a JS exception to find out, so they are read once per isolate.
fn config(env: &Env) -> Rc<Config> {
    CONFIG.with(|s| {
        s.get_or_init(|| {
            let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
            let secret = |name: &str| {
                env.secret(name)
                    .ok()
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty())
            };
            let flag = |name: &str| var(name).is_some_and(|v| matches!(v.trim(), "true" | "1"));
            let mail = MailTransport::from_env(&var, &secret);
            let settings = Settings {
                issuer: var("ISSUER")
                    .map(|v| v.trim_end_matches('/').to_string())
                    .filter(|v| !v.is_empty()),
                registration_enabled: flag("REGISTRATION_ENABLED"),
                registration_token: secret("REGISTRATION_INITIAL_ACCESS_TOKEN")
                    .map(InitialAccessToken::new),
                admin_token: secret("ADMIN_TOKEN").map(AdminToken::new),
                password: PasswordPolicy {
                    iterations: crate::crypto::password::iterations_from(
                        var("PASSWORD_ITERATIONS").as_deref(),
                    ),
                    pepper: secret(KEY_ENCRYPTION_SECRET).map(|s| Pepper::from_secret(&s)),
                },
                audit_retention_days: audit::retention_days(var("AUDIT_RETENTION_DAYS").as_deref()),
                storage_meter: flag("STORAGE_METER"),
                signup_enabled: flag("SIGNUP_ENABLED"),
                mail_enabled: mail.is_some(),
            };
            Rc::new(Config {
                settings,
                key_secret: secret(KEY_ENCRYPTION_SECRET),
                mail,
                #[cfg(feature = "conformance")]
                store_conformance: flag("STORE_CONFORMANCE"),
            })
        })
        .clone()
    })
}

/// The platform's services for one request (or one cron run).
struct Platform {
    store: D1Store,
    sessions: KvSessions,
    throttle: DoThrottle,
    grants: DoGrants,
    signer: Signer,
    sealer: WebCryptoSealer,
    /// The isolate's, shared: nothing of it is copied per request.
    config: Rc<Config>,
    meter: Meter,
}

/// Read-your-writes across requests (D1 Sessions API): management API answers carry the
/// session's bookmark, and a request that sends it back (the dashboard's next call) reads
/// at least that fresh, from whichever replica is near.
const BOOKMARK_HEADER: &str = "X-D1-Bookmark";

/// A bookmark as D1 makes them (hex groups and dashes); anything else is ignored.
fn bookmark_of(req: &http::Request) -> Option<&str> {
    req.header(BOOKMARK_HEADER)
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .filter(|b| b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

impl Platform {
    /// The bindings are looked up when first used (`store::binding`): a request answered
    /// from the isolate's caches crosses into JavaScript for none of them.
    fn new(env: &Env, bookmark: Option<&str>) -> Self {
        let config = config(env);
        let key_secret = config.key_secret.clone();
        let meter = Meter::default();
        let store = D1Store::new(env, meter.clone(), SystemClock.now(), bookmark);
        Self {
            signer: KeyRing::new(
                store.clone(),
                WebCrypto,
                KEYS.with(Rc::clone),
                key_secret.clone(),
                SystemClock,
                SystemRandom,
            ),
            sealer: WebCryptoSealer { secret: key_secret },
            grants: DoGrants::new(env, meter.clone()),
            sessions: KvSessions::new(env, meter.clone()),
            throttle: DoThrottle::new(env, meter.clone()),
            store,
            config,
            meter,
        }
    }

    fn services<'a>(
        &'a self,
        issuer: &'a str,
        audit: &'a Audit,
        pending_index: &'a PendingIndex,
        outbox: &'a Outbox,
    ) -> Services<'a, Workers> {
        Services {
            store: &self.store,
            sessions: &self.sessions,
            throttle: &self.throttle,
            grants: &self.grants,
            signer: &self.signer,
            sealer: &self.sealer,
            kdf: &WebCryptoPbkdf2,
            clock: &SystemClock,
            rng: &SystemRandom,
            outbound: &WorkerFetch,
            issuer,
            settings: &self.config.settings,
            audit,
            pending_index,
            outbox,
        }
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    let plain = match plain_request(&mut req).await {
        Ok(p) => p,
        Err(f) => return into_response(Reply::error(&f)),
    };
    let platform = Platform::new(&env, bookmark_of(&plain));
    #[cfg(feature = "conformance")]
    if plain.path == CONFORMANCE_PATH && config(&env).store_conformance {
        return into_response(conformance(&platform).await);
    }
    let issuer = platform.config.settings.issuer_for(&plain.origin);
    let audit = Audit::default();
    let pending_index = PendingIndex::default();
    let outbox = Outbox::default();
    let services = platform.services(&issuer, &audit, &pending_index, &outbox);
    let reply = http::route(&services, &plain).await;
    let origin = Origin {
        ip: plain.client_ip.clone(),
        user_agent: plain.user_agent().map(str::to_string),
    };
    store_audit_later(&wctx, &platform.store, audit, &origin);
    send_mail_later(&wctx, &env, &platform.config, outbox);
    let reply = match platform.store.bookmark() {
        Some(b) if plain.path.starts_with("/api/v1/") => reply.header(BOOKMARK_HEADER, b),
        _ => reply,
    };
    // With the meter on, also the Wasm linear memory's size (it only grows): the soak
    // (bench/soak.mjs) follows it over a run.
    let reply = if platform.config.settings.storage_meter {
        let wasm_memory = core::arch::wasm32::memory_size::<0>() * 65536;
        reply
            .header("X-Storage-Calls", platform.meter.header())
            .header("X-Wasm-Memory", wasm_memory.to_string())
    } else {
        reply
    };
    after_response(&wctx, platform, pending_index, issuer);
    into_response(reply)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let platform = Platform::new(&env, None);
    let issuer = platform.config.settings.issuer.clone().unwrap_or_default();
    let audit = Audit::default();
    let pending_index = PendingIndex::default();
    let outbox = Outbox::default();
    schedule::run(
        &platform.services(&issuer, &audit, &pending_index, &outbox),
        &event.cron(),
    )
    .await;
    let records = records::records(audit.take(), now_millis(), &suffix(), &Origin::default());
    if !records.is_empty() {
        if let Err(e) = platform.store.append_audit(&records).await {
            log_audit_failure(&e);
        }
    }
}

#[cfg(feature = "conformance")]
async fn conformance(platform: &Platform) -> Reply {
    use crate::store::conformance::{run, run_grants, run_throttle};
    let prefix = format!("conf-{}", suffix());
    let mut results = run(&platform.store, &prefix).await;
    results.extend(run_throttle(&platform.throttle, &prefix).await);
    results.extend(run_grants(&platform.grants, &prefix).await);
    let results: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| serde_json::json!({ "name": name, "ok": r.is_ok(), "error": r.err() }))
        .collect();
    Reply::json(
        200,
        &serde_json::json!({ "prefix": prefix, "results": results }),
    )
}

fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

fn suffix() -> String {
    random_id(&SystemRandom, 10).unwrap_or_default()
}

/// Stores this request's audit entries after the response has gone (`ctx.waitUntil`), so
/// the log costs the client no latency and a failed write costs it nothing (it is logged).
fn store_audit_later(wctx: &Context, store: &D1Store, audit: Audit, origin: &Origin) {
    let entries = audit.take();
    // Most requests record nothing: then no clock, no random id, no write.
    if entries.is_empty() {
        return;
    }
    let records = records::records(entries, now_millis(), &suffix(), origin);
    let store = store.clone();
    wctx.wait_until(async move {
        if let Err(e) = store.append_audit(&records).await {
            log_audit_failure(&e);
        }
    });
}

/// Sends this request's mail after the response has gone (`ctx.waitUntil`), as the audit
/// log is stored: the answer is as quick whether a message goes or not. A failure is
/// logged (the person can ask again); the message's text never is (it holds a link).
fn send_mail_later(wctx: &Context, env: &Env, config: &std::rc::Rc<Config>, outbox: Outbox) {
    let mails = outbox.take();
    if mails.is_empty() {
        return;
    }
    let Some(transport) = config.mail.clone() else {
        log_error("mail: a message was ready but no transport is set up");
        return;
    };
    let env = env.clone();
    wctx.wait_until(async move {
        for mail in &mails {
            if let Err(e) = transport.send(&env, mail).await {
                log_error(&format!("mail: could not send \"{}\": {e}", mail.subject));
            }
        }
    });
}

/// What a request leaves for after its response (`ctx.waitUntil`), so the client waits for
/// none of it: the grants and sessions it started go into D1's indexes
/// (`oidc::grants::record_index`), sessions an application joined are written back to KV,
/// and ended sessions' applications get their logout tokens (`oidc::backchannel`).
fn after_response(wctx: &Context, platform: Platform, pending: PendingIndex, issuer: String) {
    let (grant_rows, session_rows) = pending.take();
    let (joins, logouts) = pending.take_session_work();
    let nothing = grant_rows.is_empty() && session_rows.is_empty();
    if nothing && joins.is_empty() && logouts.is_empty() {
        return;
    }
    wctx.wait_until(async move {
        let p = &platform;
        let now = SystemClock.now();
        if !grant_rows.is_empty() || !session_rows.is_empty() {
            let recorded = grants::record_index(
                &p.store,
                &p.grants,
                &p.sessions,
                &grant_rows,
                &session_rows,
                now,
            )
            .await;
            if let Err(e) = recorded {
                log_error(&format!("index: could not record grants or sessions: {e}"));
            }
        }
        if let Err(e) = backchannel::record_joins(&p.sessions, &SystemClock, &joins).await {
            log_error(&format!("session: could not record an application: {e}"));
        }
        if !logouts.is_empty() {
            let delivery = backchannel::Delivery {
                store: &p.store,
                signer: &p.signer,
                rng: &SystemRandom,
                clock: &SystemClock,
                outbound: &WorkerFetch,
                issuer: &issuer,
            };
            delivery.deliver(&logouts).await;
        }
    });
}

fn log_audit_failure(e: &dyn std::fmt::Display) {
    log_error(&format!("audit log: could not store records: {e}"));
}

/// The client's country from the runtime's `request.cf`. The test build (feature
/// `conformance`) lets `X-Test-Country` stand in for it, since `wrangler dev` reports the
/// machine's own; a deployed build never reads that header.
fn country(req: &Request, header: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    #[cfg(feature = "conformance")]
    if let Some(c) = header("x-test-country") {
        return Some(c);
    }
    #[cfg(not(feature = "conformance"))]
    let _ = header;
    req.cf().and_then(|cf| cf.country())
}

/// The runtime's request as plain data. The body is read whole, up to `MAX_BODY_BYTES`.
async fn plain_request(req: &mut Request) -> Result<http::Request, Failure> {
    let url = req.url().map_err(Failure::server)?;
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let declared_too_large = header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|len| len > MAX_BODY_BYTES);
    let body = match header("content-length").map(|l| l.parse::<usize>()) {
        _ if declared_too_large => Body::TooLarge,
        Some(Ok(_)) => match req.bytes().await {
            Ok(b) if b.len() > MAX_BODY_BYTES => Body::TooLarge,
            Ok(b) => Body::Bytes(b),
            Err(_) => Body::Unreadable,
        },
        _ => read_unknown_length(req).await,
    };
    Ok(http::Request {
        method: Method::parse(req.method().as_ref()),
        path: url.path().to_string(),
        query: url.query().unwrap_or("").to_string(),
        // Cloudflare sets CF-Connecting-IP to the client's address (clients cannot forge it).
        client_ip: header("cf-connecting-ip"),
        country: country(req, &header),
        origin: url.origin().ascii_serialization(),
        headers,
        body,
    })
}

/// A body of unknown length (chunked), kept chunk by chunk up to `MAX_BODY_BYTES`: read
/// whole, whatever a client sends would first be copied into the Wasm memory, which never
/// shrinks, and a large enough one would end the isolate (128 MB) for every request in it.
async fn read_unknown_length(req: &mut Request) -> Body {
    use futures_core::Stream;
    let Ok(stream) = req.stream() else {
        return Body::Bytes(Vec::new()); // no body at all
    };
    let mut stream = std::pin::pin!(stream);
    let mut body = Some(Vec::new());
    // Past the limit the rest is still read, one chunk at a time and dropped: a body left
    // half-read is cancelled, which aborts the connection before the answer is sent.
    while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        match (chunk, &mut body) {
            (Ok(c), Some(b)) if b.len() + c.len() <= MAX_BODY_BYTES => b.extend_from_slice(&c),
            (Ok(_), b) => *b = None,
            (Err(_), _) => return Body::Unreadable,
        }
    }
    body.map_or(Body::TooLarge, Body::Bytes)
}

fn into_response(reply: Reply) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in &reply.headers {
        headers.append(k, v)?;
    }
    let builder = Response::builder()
        .with_status(reply.status)
        .with_headers(headers);
    Ok(match reply.body {
        Some(body) => builder.fixed(body.into_bytes()),
        None => builder.empty(),
    })
}

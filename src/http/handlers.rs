//! The workerd glue: reads a `worker::Request`, builds the platform services (D1, KV,
//! WebCrypto, clock, randomness), calls the protocol logic and returns a `Reply`.

use serde_json::{json, Value};
use worker::{Env, Headers, Method, Request, Response};

use super::{cookies, cors, pages, Reply, MAX_BODY_BYTES};
use crate::crypto::webcrypto::{self, WebCryptoPbkdf2, WebCryptoSigner};
use crate::crypto::{ct_eq, password, CsrfToken};
use crate::model::Session;
use crate::oidc::audit::{self, Audit, Entry, Event};
use crate::oidc::authorize::{self, AuthorizeError, Next, ValidRequest};
use crate::oidc::dashboard::Principal;
use crate::oidc::error::{Failure, OAuthError};
use crate::oidc::jwt::{Signer, SigningAlg};
use crate::oidc::login::{self, LoginError, SESSION_TTL_SECS};
use crate::oidc::params::Params;
use crate::oidc::{
    client_auth, consent, dashboard, discovery, logout, management, registration, revocation,
    token, userinfo, users,
};
use crate::runtime::{Clock, SystemClock, SystemRandom};
use crate::store::d1::D1Store;
use crate::store::kv::KvSessions;
use crate::store::meter::Meter;
use crate::store::{SessionStore, Store, DB_BINDING, SESSIONS_BINDING};

const SESSION_COOKIE: &str = "oidc_session";
const CSRF_COOKIE: &str = "oidc_csrf";
const CSRF_TTL_SECS: i64 = 3600;
const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
const KEY_ENCRYPTION_SECRET: &str = "KEY_ENCRYPTION_SECRET";
const PASSWORD_ITERATIONS: &str = "PASSWORD_ITERATIONS";
const REGISTRATION_ENABLED: &str = "REGISTRATION_ENABLED";
const STORAGE_METER: &str = "STORAGE_METER";
const REGISTRATION_INITIAL_ACCESS_TOKEN: &str = "REGISTRATION_INITIAL_ACCESS_TOKEN";
const AUDIT_RETENTION_DAYS: &str = "AUDIT_RETENTION_DAYS";
/// The weekly trigger in wrangler.toml that rotates signing keys; the daily one only
/// enforces the audit log's retention.
const KEY_ROTATION_CRON: &str = "17 3 * * 1";

/// Per-request facts every handler needs.
pub struct Ctx {
    pub issuer: String,
    /// Whether the browser talks https to us (decides `Secure` and `__Host-` cookies).
    pub secure: bool,
    pub env: Env,
    /// Storage calls of this request, reported when the `STORAGE_METER` var is on.
    pub meter: Meter,
    /// What this request did, stored after the response (see `flush_audit`).
    pub audit: Audit,
    /// The client's address and user agent, for the audit log.
    origin: audit::Origin,
    settings: Settings,
}

/// The deployment's vars. They cannot change during an isolate's life (a new value is a new
/// deployment, hence new isolates), and a missing var costs a JS exception to find out, so
/// they are read once per isolate rather than on every request.
#[derive(Clone)]
struct Settings {
    issuer: Option<String>,
    registration_enabled: bool,
    storage_meter: bool,
    password_iterations: Option<String>,
}

thread_local! {
    static SETTINGS: std::cell::OnceCell<Settings> = const { std::cell::OnceCell::new() };
}

fn settings(env: &Env) -> Settings {
    SETTINGS.with(|s| {
        s.get_or_init(|| {
            let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
            let flag = |name: &str| var(name).is_some_and(|v| matches!(v.trim(), "true" | "1"));
            Settings {
                issuer: var("ISSUER")
                    .map(|v| v.trim_end_matches('/').to_string())
                    .filter(|v| !v.is_empty()),
                registration_enabled: flag(REGISTRATION_ENABLED),
                storage_meter: flag(STORAGE_METER),
                password_iterations: var(PASSWORD_ITERATIONS),
            }
        })
        .clone()
    })
}

impl Ctx {
    pub fn new(req: &Request, env: Env) -> Result<Self, Failure> {
        let url = req.url().map_err(Failure::server)?;
        let settings = settings(&env);
        Ok(Self {
            issuer: settings
                .issuer
                .clone()
                .unwrap_or_else(|| url.origin().ascii_serialization()),
            secure: url.scheme() == "https",
            env,
            meter: Meter::default(),
            audit: Audit::default(),
            origin: audit::Origin {
                // Cloudflare sets CF-Connecting-IP to the client's address (clients cannot
                // forge it).
                ip: header(req, "CF-Connecting-IP"),
                user_agent: header(req, "User-Agent"),
            },
            settings,
        })
    }

    /// Stores this request's audit entries after the response has gone
    /// (`ctx.waitUntil`), so the log costs the client no latency and a failed write costs
    /// it nothing (the failure is logged). Ids start with the time in milliseconds and the
    /// entry's position, so records sort as they happened.
    pub fn flush_audit(&self, wctx: &worker::Context) {
        let entries = self.audit.take();
        if entries.is_empty() {
            return;
        }
        let millis = js_sys::Date::now() as i64;
        let suffix = crate::crypto::random_id(&SystemRandom, 10).unwrap_or_default();
        let records: Vec<audit::Record> = entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let id = format!("{millis:013}{i:02}{suffix}");
                audit::Record::from_entry(entry, id, millis / 1000, &self.origin)
            })
            .collect();
        let db = match self.env.d1(DB_BINDING) {
            Ok(db) => db,
            Err(e) => return log_audit_failure(&e),
        };
        wctx.wait_until(async move {
            let store = D1Store::new(db, Meter::default());
            if let Err(e) = store.append_audit(&records).await {
                log_audit_failure(&e);
            }
        });
    }

    fn store(&self) -> Result<D1Store, Failure> {
        self.env
            .d1(DB_BINDING)
            .map(|db| D1Store::new(db, self.meter.clone()))
            .map_err(|e| Failure::server(format!("binding {DB_BINDING}: {e}")))
    }

    fn sessions(&self) -> Result<KvSessions, Failure> {
        self.env
            .kv(SESSIONS_BINDING)
            .map(|kv| KvSessions::new(kv, self.meter.clone()))
            .map_err(|e| Failure::server(format!("binding {SESSIONS_BINDING}: {e}")))
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.env
            .secret(name)
            .ok()
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
    }

    fn signer<'a>(&self, store: &'a D1Store) -> Result<WebCryptoSigner<'a, D1Store>, Failure> {
        let secret = self
            .secret(KEY_ENCRYPTION_SECRET)
            .ok_or_else(|| Failure::server("the KEY_ENCRYPTION_SECRET secret is not set"))?;
        Ok(WebCryptoSigner::new(store, &secret))
    }

    /// Dynamic client registration is off unless the `REGISTRATION_ENABLED` var says so.
    fn registration_enabled(&self) -> bool {
        self.settings.registration_enabled
    }

    fn cookie_name(&self, base: &str) -> String {
        cookies::name(base, self.secure)
    }

    /// Adds `X-Storage-Calls` (for the benchmark) when the `STORAGE_METER` var is on.
    pub fn metered(&self, reply: Reply) -> Reply {
        if self.settings.storage_meter {
            reply.header("X-Storage-Calls", self.meter.header())
        } else {
            reply
        }
    }
}

fn log_audit_failure(e: &dyn std::fmt::Display) {
    crate::oidc::error::log_error(&format!("audit log: could not store records: {e}"));
}

pub fn into_response(reply: Reply) -> worker::Result<Response> {
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

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

async fn read_body(req: &mut Request) -> Result<String, Failure> {
    let too_large = || Failure::invalid_request(format!("the body exceeds {MAX_BODY_BYTES} bytes"));
    if let Some(len) = header(req, "Content-Length").and_then(|l| l.parse::<usize>().ok()) {
        if len > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| Failure::invalid_request("the body could not be read"))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| Failure::invalid_request("the body is not UTF-8"))
}

fn media_type(req: &Request) -> String {
    header(req, "Content-Type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// RFC 6749 §3.1: the query component, strictly decoded.
fn query_params(req: &Request) -> Result<Params, Failure> {
    let url = req.url().map_err(Failure::server)?;
    Params::from_wire(url.query().unwrap_or(""))
}

/// RFC 6749 §4.1.3 and §3.2: parameters come form-encoded.
async fn read_form(req: &mut Request) -> Result<Params, Failure> {
    if media_type(req) != "application/x-www-form-urlencoded" {
        return Err(Failure::invalid_request(
            "the Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    Params::from_wire(&read_body(req).await?)
}

pub fn method_not_allowed(allowed: &'static str) -> Reply {
    let f = Failure::invalid_request(format!("method not allowed; use {allowed}"));
    let mut r = Reply::error(&f).header("Allow", allowed);
    r.status = 405;
    r
}

pub fn not_found() -> Reply {
    Reply::error(&Failure::new(OAuthError::NotFound, "no such endpoint"))
}

pub fn error_page(f: &Failure) -> Reply {
    let status = if f.status() >= 500 { f.status() } else { 400 };
    Reply::html(status, pages::error(f.error.as_str(), &f.description, None))
}

// ---- discovery and keys ----------------------------------------------------------------

thread_local! {
    /// The serialized discovery document for (issuer, registration on): it changes only
    /// with the deployment's settings, so an isolate builds it once.
    static DISCOVERY: std::cell::RefCell<Option<(String, bool, String)>> =
        const { std::cell::RefCell::new(None) };
}

pub fn discovery(ctx: &Ctx) -> Reply {
    let registration = ctx.registration_enabled();
    let cached = DISCOVERY.with(|d| {
        d.borrow()
            .as_ref()
            .filter(|(iss, reg, _)| *iss == ctx.issuer && *reg == registration)
            .map(|(_, _, body)| body.clone())
    });
    let body = cached.unwrap_or_else(|| {
        let body = discovery::document(&ctx.issuer, registration).to_string();
        DISCOVERY
            .with(|d| *d.borrow_mut() = Some((ctx.issuer.clone(), registration, body.clone())));
        body
    });
    public_document(body)
}

/// Discovery and JWKS: public, cacheable by anyone, readable from any origin.
fn public_document(body: String) -> Reply {
    cors::public(Reply::json_text(200, body)).header("Cache-Control", "public, max-age=300")
}

pub async fn jwks(ctx: &Ctx) -> Reply {
    // Fresh in this isolate: the keys exist (an empty set is never cached), so no storage.
    if let Some(body) = webcrypto::cached_jwks(&SystemClock) {
        return public_document(body);
    }
    let result = async {
        let store = ctx.store()?;
        // Make sure every algorithm's keys exist before anyone caches the JWKS, so a relying
        // party never meets a kid that appeared after its cached copy.
        let signer = ctx.signer(&store)?;
        for alg in SigningAlg::ALL {
            signer.kid(alg).await?;
        }
        webcrypto::jwks(&store, &SystemClock).await
    }
    .await;
    match result {
        Ok(body) => public_document(body),
        Err(f) => cors::public(Reply::error(&f)),
    }
}

fn authorize_error(ctx: &Ctx, e: AuthorizeError) -> Reply {
    match e {
        AuthorizeError::Page { failure, back_to } => {
            let status = if failure.status() >= 500 {
                failure.status()
            } else {
                400
            };
            let link = back_to
                .as_ref()
                .map(|l| (l.app_name.as_str(), l.url.as_str()));
            Reply::html(
                status,
                pages::error(failure.error.as_str(), &failure.description, link),
            )
        }
        AuthorizeError::Redirect(r) => {
            Reply::redirect(authorize::error_redirect(&r, &ctx.issuer), false)
        }
    }
}

/// An error sent back to the request's (verified) redirect URI.
fn redirect_error(ctx: &Ctx, valid: &ValidRequest, failure: Failure) -> Reply {
    authorize_error(
        ctx,
        AuthorizeError::Redirect(authorize::ErrorRedirect {
            redirect_uri: valid.redirect_uri.clone(),
            state: valid.state.clone(),
            failure,
        }),
    )
}

/// A fresh CSRF token for a form, and the cookie that pairs with it (double submit).
fn new_csrf(ctx: &Ctx) -> Result<(CsrfToken, String), Failure> {
    let csrf = CsrfToken::generate(&SystemRandom)?;
    let cookie = cookies::set(
        &ctx.cookie_name(CSRF_COOKIE),
        csrf.expose(),
        CSRF_TTL_SECS,
        ctx.secure,
    );
    Ok((csrf, cookie))
}

fn login_page(
    ctx: &Ctx,
    req: &ValidRequest,
    email: &str,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let (csrf, cookie) = match new_csrf(ctx) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let page = pages::login(&pages::LoginPage {
        app_name: &req.app.name,
        csrf_token: csrf.expose(),
        auth_request: &req.params.to_query(),
        email,
        error,
    });
    Reply::html(status, page).header("Set-Cookie", cookie)
}

fn consent_page(ctx: &Ctx, req: &ValidRequest, session: &Session) -> Reply {
    let (csrf, cookie) = match new_csrf(ctx) {
        Ok(c) => c,
        Err(f) => return error_page(&f),
    };
    let host = url::Url::parse(&req.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| req.redirect_uri.clone());
    let page = pages::consent(&pages::ConsentPage {
        app_name: &req.app.name,
        redirect_host: &host,
        permissions: &consent::describe(&req.scope),
        csrf_token: csrf.expose(),
        auth_request: &req.params.to_query(),
        user_email: &session.claims.email,
    });
    Reply::html(200, page).header("Set-Cookie", cookie)
}

/// The form carried a CSRF token equal to its cookie.
fn csrf_ok(ctx: &Ctx, req: &Request, form: &Params) -> bool {
    let cookie = header(req, "Cookie");
    let from_cookie = cookies::get(cookie.as_deref(), &ctx.cookie_name(CSRF_COOKIE));
    let from_form = form.get("csrf_token").ok().flatten();
    matches!((from_cookie, from_form), (Some(c), Some(f)) if ct_eq(c.as_bytes(), f.as_bytes()))
}

const CSRF_FAILED: &str =
    "the form expired or did not come from this site; return to the application and start again";

/// The authorization request a login or consent form carries, validated afresh: the
/// form's hidden field is as untrusted as the original query.
async fn carried_request(store: &D1Store, form: &Params) -> Result<ValidRequest, AuthorizeError> {
    let params = match form.get("auth_request") {
        Ok(Some(r)) => Params::parse(r),
        Ok(None) => {
            return Err(AuthorizeError::page(Failure::invalid_request(
                "the auth_request field is missing",
            )))
        }
        Err(f) => return Err(AuthorizeError::page(f)),
    };
    authorize::validate(store, params).await
}

async fn session_of(ctx: &Ctx, req: &Request) -> Result<Option<Session>, Failure> {
    let cookie = header(req, "Cookie");
    let id = cookies::get(cookie.as_deref(), &ctx.cookie_name(SESSION_COOKIE));
    login::current_session(&ctx.sessions()?, &SystemClock, id).await
}

/// Whether this user must be asked before `valid.app` gets a code (one D1 read, and only
/// for third-party applications).
async fn consent_needed(
    store: &D1Store,
    valid: &ValidRequest,
    session: &Session,
) -> Result<bool, Failure> {
    let granted = if consent::lookup_needed(&valid.app, &valid.redirect_uri) {
        store
            .consent(&session.user_id, &valid.app.client_id)
            .await?
    } else {
        None
    };
    Ok(consent::required(
        &valid.app,
        &valid.redirect_uri,
        valid.prompt_consent,
        granted.as_deref(),
        &valid.scope,
    ))
}

/// Issues the code and redirects back to the application.
async fn finish(
    ctx: &Ctx,
    store: &D1Store,
    valid: &ValidRequest,
    session: &Session,
    after_post: bool,
) -> Reply {
    match authorize::issue_code(
        store,
        &SystemClock,
        &SystemRandom,
        &ctx.issuer,
        valid,
        session,
    )
    .await
    {
        Ok(location) => Reply::redirect(location, after_post),
        Err(e) => authorize_error(ctx, e),
    }
}

/// `GET /authorize` (query) or `POST /authorize` (form), OpenID Connect Core §3.1.2.1.
pub async fn authorize(ctx: &Ctx, req: &mut Request) -> Reply {
    let params = if req.method() == Method::Post {
        match read_form(req).await {
            Ok(p) => p,
            Err(f) => return error_page(&f),
        }
    } else {
        match query_params(req) {
            Ok(p) => p,
            Err(f) => return error_page(&f),
        }
    };
    let store = match ctx.store() {
        Ok(s) => s,
        Err(f) => return error_page(&f),
    };
    let valid = match authorize::validate(&store, params).await {
        Ok(v) => v,
        Err(e) => return authorize_error(ctx, e),
    };
    let session = match session_of(ctx, req).await {
        Ok(s) => s,
        Err(f) => return redirect_error(ctx, &valid, f),
    };
    let needs_consent = match &session {
        Some(s) => match consent_needed(&store, &valid, s).await {
            Ok(n) => n,
            Err(f) => return redirect_error(ctx, &valid, f),
        },
        None => false,
    };
    match (
        authorize::next(&valid, session.as_ref(), needs_consent, SystemClock.now()),
        &session,
    ) {
        (Next::IssueCode, Some(s)) => finish(ctx, &store, &valid, s, false).await,
        (Next::ShowConsent, Some(s)) => consent_page(ctx, &valid, s),
        (Next::ShowLogin, _) => {
            let hint = valid.login_hint.clone().unwrap_or_default();
            login_page(ctx, &valid, &hint, None, 200)
        }
        (Next::Fail(e), _) => authorize_error(ctx, e),
        // `next` asks for a code or consent only when there is a session.
        (Next::IssueCode | Next::ShowConsent, None) => redirect_error(
            ctx,
            &valid,
            Failure::server("authorize step without a session"),
        ),
    }
}

/// The common start of the login and consent forms: the form, its CSRF token checked, and
/// the authorization request it carries validated afresh.
async fn posted_form(
    ctx: &Ctx,
    req: &mut Request,
) -> Result<(Params, D1Store, ValidRequest), Reply> {
    let form = read_form(req).await.map_err(|f| error_page(&f))?;
    if !csrf_ok(ctx, req, &form) {
        return Err(error_page(&Failure::invalid_request(CSRF_FAILED)));
    }
    let store = ctx.store().map_err(|f| error_page(&f))?;
    let valid = carried_request(&store, &form)
        .await
        .map_err(|e| authorize_error(ctx, e))?;
    Ok((form, store, valid))
}

/// `POST /login`: the login form. Checks CSRF, re-validates the carried authorization
/// request, checks the password, starts a session, then asks for consent or finishes.
pub async fn login(ctx: &Ctx, req: &mut Request) -> Reply {
    let (form, store, valid) = match posted_form(ctx, req).await {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let (email, password) = match (form.get("email"), form.get("password")) {
        (Ok(e), Ok(p)) => (e.unwrap_or(""), p.unwrap_or("")),
        (Err(f), _) | (_, Err(f)) => return error_page(&f),
    };
    let attempt = login::authenticate(
        &store,
        &WebCryptoPbkdf2,
        &SystemClock,
        email,
        password,
        ctx.origin.ip.as_deref(),
    )
    .await;
    if let Some(entry) = login::audit_entry(&attempt, &valid.app, email) {
        ctx.audit.record(entry);
    }
    let user = match attempt {
        Ok(u) => u,
        Err(LoginError::InvalidCredentials(_)) => {
            return login_page(ctx, &valid, email, Some("Invalid email or password."), 401)
        }
        Err(LoginError::Locked(secs, _)) => {
            let minutes = (secs + 59) / 60;
            let message = format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            return login_page(ctx, &valid, email, Some(&message), 429)
                .header("Retry-After", secs.to_string());
        }
        Err(LoginError::Disabled(_)) => {
            let message = "This account is disabled. Ask an administrator to enable it.";
            return login_page(ctx, &valid, email, Some(message), 403);
        }
        Err(LoginError::Failed(f)) => return error_page(&f),
    };
    let kv = match ctx.sessions() {
        Ok(kv) => kv,
        Err(f) => return error_page(&f),
    };
    let (sid, session) = match login::start_session(&kv, &SystemClock, &SystemRandom, &user).await {
        Ok(s) => s,
        Err(f) => return error_page(&f),
    };
    let session_cookie = cookies::set(
        &ctx.cookie_name(SESSION_COOKIE),
        sid.expose(),
        SESSION_TTL_SECS,
        ctx.secure,
    );
    let reply = match consent_needed(&store, &valid, &session).await {
        // The consent page sets a fresh CSRF cookie of its own.
        Ok(true) => {
            return consent_page(ctx, &valid, &session).header("Set-Cookie", session_cookie)
        }
        Ok(false) => finish(ctx, &store, &valid, &session, true).await,
        Err(f) => redirect_error(ctx, &valid, f),
    };
    if reply
        .get_header("Location")
        .is_some_and(|l| l.contains("code="))
    {
        reply.header("Set-Cookie", session_cookie).header(
            "Set-Cookie",
            cookies::set(&ctx.cookie_name(CSRF_COOKIE), "", 0, ctx.secure),
        )
    } else {
        // No code was issued: the session is useless; do not leave it behind.
        let _ = kv.delete_session(&sid.hashed()).await;
        reply
    }
}

/// `POST /consent`: the consent form's decision (OpenID Connect Core §3.1.2.4).
pub async fn consent(ctx: &Ctx, req: &mut Request) -> Reply {
    let (form, store, valid) = match posted_form(ctx, req).await {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let session = match session_of(ctx, req).await {
        Ok(Some(s)) => s,
        // The session ended while the page was open: sign in again.
        Ok(None) => return login_page(ctx, &valid, "", None, 200),
        Err(f) => return redirect_error(ctx, &valid, f),
    };
    match form.get("decision") {
        Ok(Some("allow")) => {
            if let Err(f) = consent::grant(
                &store,
                &SystemClock,
                &session.user_id,
                &valid.app.client_id,
                &valid.scope,
            )
            .await
            {
                return redirect_error(ctx, &valid, f);
            }
            ctx.audit.record(
                Entry::new(Event::ConsentGranted, "Consent given")
                    .app(&valid.app)
                    .user(&session.user_id)
                    .detail("scope", valid.scope.clone()),
            );
            finish(ctx, &store, &valid, &session, true).await
        }
        Ok(Some("deny")) => {
            let AuthorizeError::Redirect(r) = authorize::denied(&valid) else {
                return error_page(&Failure::server("denial without a redirect"));
            };
            Reply::redirect(authorize::error_redirect(&r, &ctx.issuer), true)
        }
        Ok(_) => error_page(&Failure::invalid_request("decision must be allow or deny")),
        Err(f) => error_page(&f),
    }
}

// ---- token and userinfo ----------------------------------------------------------------

/// `POST /token`, RFC 6749 §3.2.
pub async fn token(ctx: &Ctx, req: &mut Request) -> Reply {
    let origin = header(req, "Origin");
    let (app, reply) = match token_inner(ctx, req).await {
        Ok((app, Ok(t))) => (
            app,
            Reply::json(200, &serde_json::to_value(t).unwrap_or(Value::Null))
                .header("Cache-Control", "no-store")
                .header("Pragma", "no-cache"),
        ),
        Ok((app, Err(f))) => (app, Reply::error(&f)),
        Err(f) => (None, Reply::error(&f)),
    };
    let allowed = cors_allowed(ctx, app.as_ref(), origin.as_deref()).await;
    cors::actual(reply, origin.as_deref(), allowed)
}

/// CORS for an actual token or userinfo response: the identified application's origins
/// decide. When the request failed before an application was identified (bad credentials,
/// bad token) the preflight's rule applies, so the allowed page can read the error.
async fn cors_allowed(
    ctx: &Ctx,
    app: Option<&crate::model::Application>,
    origin: Option<&str>,
) -> bool {
    match (app, origin) {
        (_, None) => false,
        (Some(app), Some(o)) => app.allows_origin(o),
        (None, Some(o)) => match ctx.store() {
            Ok(store) => store
                .any_application_allows_origin(o)
                .await
                .unwrap_or(false),
            Err(_) => false,
        },
    }
}

type TokenResult = (
    Option<crate::model::Application>,
    Result<token::TokenResponse, Failure>,
);

async fn token_inner(ctx: &Ctx, req: &mut Request) -> Result<TokenResult, Failure> {
    let params = read_form(req).await?;
    let store = ctx.store()?;
    let signer = ctx.signer(&store)?;
    let authorization = header(req, "Authorization");
    let services = token::Services {
        store: &store,
        signer: &signer,
        clock: &SystemClock,
        rng: &SystemRandom,
        issuer: &ctx.issuer,
        audit: &ctx.audit,
    };
    let out = token::handle(&services, &params, authorization.as_deref()).await;
    Ok((out.app, out.result))
}

/// `GET|POST /userinfo`, OpenID Connect Core §5.3.
pub async fn userinfo(ctx: &Ctx, req: &mut Request) -> Reply {
    let origin = header(req, "Origin");
    let (app, result) = match userinfo_inner(ctx, req).await {
        Ok(out) => (out.app, out.result),
        Err(f) => (None, Err(f)),
    };
    let reply = match result {
        Ok(body) => Reply::json(200, &body).header("Cache-Control", "no-store"),
        Err(f) => Reply::resource_error(&f),
    };
    let allowed = cors_allowed(ctx, app.as_ref(), origin.as_deref()).await;
    cors::actual(reply, origin.as_deref(), allowed)
}

async fn userinfo_inner(ctx: &Ctx, req: &mut Request) -> Result<userinfo::Outcome, Failure> {
    let authorization = header(req, "Authorization");
    let form =
        if req.method() == Method::Post && media_type(req) == "application/x-www-form-urlencoded" {
            read_form(req).await?
        } else {
            Params::default()
        };
    let token =
        userinfo::bearer_token(authorization.as_deref(), form.get("access_token")?)?.to_string();
    let store = ctx.store()?;
    let signer = ctx.signer(&store)?;
    Ok(userinfo::handle(&store, &signer, &SystemClock, &ctx.issuer, &token).await)
}

/// CORS preflight for the token and userinfo endpoints. A preflight carries no client
/// credentials, so it is allowed when any application allows the origin; the actual
/// response then answers for the one application involved.
pub async fn preflight(ctx: &Ctx, req: &Request, methods: &'static str) -> Reply {
    let origin = header(req, "Origin");
    let allowed = match (&origin, ctx.store()) {
        (Some(o), Ok(store)) => store
            .any_application_allows_origin(o)
            .await
            .unwrap_or(false),
        _ => false,
    };
    cors::preflight(origin.as_deref(), allowed, methods)
}

// ---- revocation and introspection -------------------------------------------------------

/// Reads a form and authenticates the client as at the token endpoint.
async fn authenticated_client(
    ctx: &Ctx,
    req: &mut Request,
) -> Result<(D1Store, Params, crate::model::Application), Failure> {
    let params = read_form(req).await?;
    let store = ctx.store()?;
    let authorization = header(req, "Authorization");
    let presented = client_auth::presented(&params, authorization.as_deref())?;
    let app = client_auth::authenticate(&store, &presented, SystemClock.now(), &ctx.audit).await?;
    Ok((store, params, app))
}

/// `POST /revoke`, RFC 7009.
pub async fn revoke(ctx: &Ctx, req: &mut Request) -> Reply {
    let origin = header(req, "Origin");
    let (app, result) = match authenticated_client(ctx, req).await {
        Ok((store, params, app)) => {
            let r = revocation::revoke(&store, &SystemClock, &app, &params).await;
            (Some(app), r)
        }
        Err(f) => (None, Err(f)),
    };
    let reply = match result {
        Ok(()) => Reply::new(200).header("Cache-Control", "no-store"),
        Err(f) => Reply::error(&f),
    };
    let allowed = cors_allowed(ctx, app.as_ref(), origin.as_deref()).await;
    cors::actual(reply, origin.as_deref(), allowed)
}

/// `POST /introspect`, RFC 7662. Server to server: no CORS.
pub async fn introspect(ctx: &Ctx, req: &mut Request) -> Reply {
    let result = async {
        let (store, params, app) = authenticated_client(ctx, req).await?;
        let signer = ctx.signer(&store)?;
        revocation::introspect(&store, &signer, &SystemClock, &ctx.issuer, &app, &params).await
    }
    .await;
    match result {
        Ok(body) => Reply::json(200, &body).header("Cache-Control", "no-store"),
        Err(f) => Reply::error(&f),
    }
}

// ---- logout -------------------------------------------------------------------------------

/// `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0. A POST carrying
/// `logout_request` is the confirmation form; any other request is the relying party's.
pub async fn logout(ctx: &Ctx, req: &mut Request) -> Reply {
    let (params, confirmed) = if req.method() == Method::Post {
        let form = match read_form(req).await {
            Ok(p) => p,
            Err(f) => return error_page(&f),
        };
        match form.get("logout_request") {
            Ok(Some(carried)) => {
                if !csrf_ok(ctx, req, &form) {
                    return error_page(&Failure::invalid_request(CSRF_FAILED));
                }
                (Params::parse(carried), true)
            }
            Ok(None) => (form, false),
            Err(f) => return error_page(&f),
        }
    } else {
        match query_params(req) {
            Ok(p) => (p, false),
            Err(f) => return error_page(&f),
        }
    };
    let store = match ctx.store() {
        Ok(s) => s,
        Err(f) => return error_page(&f),
    };
    let checked = match ctx.signer(&store) {
        Ok(signer) => logout::validate(&store, &signer, &ctx.issuer, &params).await,
        Err(f) => Err(f),
    };
    let request = match checked {
        Ok(r) => r,
        Err(f) => return error_page(&f),
    };
    let session = match session_of(ctx, req).await {
        Ok(s) => s,
        Err(f) => return error_page(&f),
    };
    if !confirmed && logout::needs_confirmation(&request, session.as_ref()) {
        let (csrf, cookie) = match new_csrf(ctx) {
            Ok(c) => c,
            Err(f) => return error_page(&f),
        };
        let page = pages::logout_confirm(
            request.app.as_ref().map(|a| a.name.as_str()),
            csrf.expose(),
            &params.to_query(),
        );
        return Reply::html(200, page).header("Set-Cookie", cookie);
    }
    // KV deletes reach other locations within about a minute; the cleared cookie ends the
    // session in this browser at once (see README, "Logout and KV").
    let cookie = header(req, "Cookie");
    if let Some(id) = cookies::get(cookie.as_deref(), &ctx.cookie_name(SESSION_COOKIE)) {
        let deleted = match ctx.sessions() {
            Ok(kv) => kv
                .delete_session(&crate::crypto::SessionId::new(id).hashed())
                .await
                .map_err(Failure::from),
            Err(f) => Err(f),
        };
        if let Err(f) = deleted {
            return error_page(&f).header("Set-Cookie", clear_session_cookie(ctx));
        }
    }
    if let Some(s) = &session {
        let mut entry = Entry::new(Event::Logout, "Logout").user(&s.user_id);
        if let Some(app) = &request.app {
            entry = entry.app(app);
        }
        ctx.audit.record(entry);
    }
    let reply = match logout::redirect_after(&request) {
        Some(location) => Reply::redirect(location, req.method() == Method::Post),
        None => {
            let back = request
                .app
                .as_ref()
                .and_then(|a| a.home_url.as_deref().map(|u| (a.name.as_str(), u)));
            Reply::html(200, pages::signed_out(back))
        }
    };
    reply.header("Set-Cookie", clear_session_cookie(ctx))
}

fn clear_session_cookie(ctx: &Ctx) -> String {
    cookies::set(&ctx.cookie_name(SESSION_COOKIE), "", 0, ctx.secure)
}

// ---- key rotation ---------------------------------------------------------------------

async fn rotate_keys(ctx: &Ctx, store: &D1Store) -> Result<String, Failure> {
    let secret = ctx
        .secret(KEY_ENCRYPTION_SECRET)
        .ok_or_else(|| Failure::server("the KEY_ENCRYPTION_SECRET secret is not set"))?;
    webcrypto::rotate(store, &secret).await
}

/// The cron trigger: rotates the signing key (see `[triggers]` in wrangler.toml).
pub async fn scheduled(env: Env, cron: &str) {
    let store = match env.d1(DB_BINDING) {
        Ok(db) => D1Store::new(db, Meter::default()),
        Err(e) => {
            crate::oidc::error::log_error(&format!("scheduled: binding {DB_BINDING}: {e}"));
            return;
        }
    };
    let now = SystemClock.now();
    // Every trigger enforces the audit log's retention; the weekly one also rotates keys.
    let days = audit::retention_days(
        env.var(AUDIT_RETENTION_DAYS)
            .ok()
            .map(|v| v.to_string())
            .as_deref(),
    );
    match audit::enforce_retention(&store, now, days).await {
        Ok(n) => worker::console_log!("audit log retention ({days} days): {n} records deleted"),
        Err(f) => crate::oidc::error::log_error(&format!("audit log retention failed: {f}")),
    }
    if cron != KEY_ROTATION_CRON {
        return;
    }
    let result = async {
        let secret = env
            .secret(KEY_ENCRYPTION_SECRET)
            .map(|s| s.to_string())
            .map_err(|_| Failure::server("the KEY_ENCRYPTION_SECRET secret is not set"))?;
        webcrypto::rotate(&store, &secret).await
    }
    .await;
    match result {
        Ok(kid) => {
            worker::console_log!("scheduled key rotation: {kid} now signs");
            let entry = Entry::new(Event::KeyRotated, "Signing keys rotated")
                .detail("current_kid", kid)
                .detail("by", "schedule");
            let id = format!(
                "{:013}00{}",
                js_sys::Date::now() as i64,
                crate::crypto::random_id(&SystemRandom, 10).unwrap_or_default()
            );
            let record = audit::Record::from_entry(entry, id, now, &audit::Origin::default());
            if let Err(e) = store.append_audit(&[record]).await {
                log_audit_failure(&e);
            }
        }
        Err(f) => crate::oidc::error::log_error(&format!("scheduled key rotation failed: {f}")),
    }
}

// ---- dynamic client registration ------------------------------------------------------

/// `/register` (RFC 7591) and `/register/{client_id}` (RFC 7592). Absent unless enabled.
pub async fn register(ctx: &Ctx, req: &mut Request, client_id: Option<&str>) -> Reply {
    if !ctx.registration_enabled() {
        return not_found();
    }
    let result = register_inner(ctx, req, client_id).await;
    match result {
        Ok((status, Some(body))) => Reply::json(status, &body)
            .header("Cache-Control", "no-store")
            .header("Pragma", "no-cache"),
        Ok((status, None)) => Reply::new(status),
        Err(f) => Reply::error(&f),
    }
}

/// The audit record of a dynamic registration action (RFC 7591/7592), from its response:
/// the client id and name only, never the secret or registration access token.
fn registered(event: Event, info: &Value) -> Entry {
    let mut entry = Entry::new(
        event,
        match event {
            Event::ApplicationCreated => "Application registered",
            Event::ApplicationUpdated => "Application registration updated",
            _ => "Application registration deleted",
        },
    )
    .detail("by", "registration");
    if let Some(id) = info["client_id"].as_str() {
        entry = entry.client(id);
    }
    entry.application_name = info["client_name"].as_str().map(str::to_string);
    entry
}

async fn register_inner(
    ctx: &Ctx,
    req: &mut Request,
    client_id: Option<&str>,
) -> Result<(u16, Option<Value>), Failure> {
    let authorization = header(req, "Authorization");
    let method = req.method();
    let store = ctx.store()?;
    match (client_id, method) {
        (None, Method::Post) => {
            // RFC 7591 §3: registration may be gated by an initial access token.
            if let Some(expected) = ctx.secret(REGISTRATION_INITIAL_ACCESS_TOKEN) {
                let presented = userinfo::bearer_token(authorization.as_deref(), None)?;
                if !ct_eq(presented.as_bytes(), expected.as_bytes()) {
                    return Err(Failure::invalid_token(
                        "the initial access token is not valid",
                    ));
                }
            }
            let meta = read_json(req)
                .await
                .map_err(|f| Failure::new(OAuthError::InvalidClientMetadata, f.description))?;
            let info =
                registration::register(&store, &SystemClock, &SystemRandom, &ctx.issuer, &meta)
                    .await?;
            ctx.audit
                .record(registered(Event::ApplicationCreated, &info));
            Ok((201, Some(info)))
        }
        (None, _) => Err(method_not_allowed_failure("POST")),
        (Some(id), m) => {
            let token = userinfo::bearer_token(authorization.as_deref(), None)?.to_string();
            match m {
                Method::Get => Ok((
                    200,
                    Some(registration::read(&store, &ctx.issuer, id, &token).await?),
                )),
                Method::Put => {
                    let meta = read_json(req).await?;
                    let info =
                        registration::update(&store, &SystemClock, &ctx.issuer, id, &token, &meta)
                            .await?;
                    ctx.audit
                        .record(registered(Event::ApplicationUpdated, &info));
                    Ok((200, Some(info)))
                }
                Method::Delete => {
                    registration::delete(&store, id, &token).await?;
                    ctx.audit.record(registered(
                        Event::ApplicationDeleted,
                        &json!({ "client_id": id }),
                    ));
                    Ok((204, None))
                }
                _ => Err(method_not_allowed_failure("GET, PUT, DELETE")),
            }
        }
    }
}

fn method_not_allowed_failure(allowed: &str) -> Failure {
    Failure::invalid_request(format!("method not allowed; use {allowed}"))
}

// ---- management API --------------------------------------------------------------------

/// `GET /api/v1/logs`: the audit log, newest first, as JSON pages or JSON lines.
async fn audit_logs(store: &D1Store, req: &Request) -> Reply {
    let result = async {
        let (query, format) = audit::parse_query(&query_params(req)?)?;
        let (records, next) = audit::page(store, &query).await?;
        Ok::<_, Failure>((format, records, next))
    }
    .await;
    match result {
        Ok((audit::Format::Json, records, next)) => {
            Reply::json(200, &audit::page_json(&records, next.as_deref()))
                .header("Cache-Control", "no-store")
        }
        Ok((audit::Format::Jsonl, records, next)) => {
            let mut reply = Reply::new(200)
                .header("Content-Type", "application/x-ndjson")
                .header("Cache-Control", "no-store");
            // Log shippers page on by following the cursor (RFC 8288 link). The cursor is
            // base64url, so it needs no escaping; the other parameters are kept as sent.
            if let (Some(cursor), Ok(url)) = (next, req.url()) {
                let mut query: Vec<&str> = url
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
                    .collect();
                let pair = format!("cursor={cursor}");
                query.push(&pair);
                let link = format!("<{}?{}>; rel=\"next\"", url.path(), query.join("&"));
                reply = reply.header("Link", link).header("X-Next-Cursor", cursor);
            }
            reply.with_body(audit::page_jsonl(&records))
        }
        Err(f) => Reply::error(&f),
    }
}

/// The management API takes the `ADMIN_TOKEN` secret or a dashboard access token with the
/// `admin` scope (see `dashboard::authenticate`).
async fn admin_check(ctx: &Ctx, req: &Request, store: &D1Store) -> Result<Principal, Failure> {
    let presented = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or_else(|| Failure::missing_token("a Bearer token is required"))?;
    let admin_token = ctx.secret(ADMIN_TOKEN);
    // ADMIN_TOKEN works even where signing is misconfigured (it needs no key).
    if admin_token
        .as_deref()
        .is_some_and(|t| ct_eq(presented.as_bytes(), t.as_bytes()))
    {
        return Ok(Principal::AdminToken);
    }
    let signer = ctx.signer(store)?;
    dashboard::authenticate(
        store,
        &signer,
        &SystemClock,
        &ctx.issuer,
        admin_token.as_deref(),
        &presented,
    )
    .await
}

/// `GET /admin/config`: what the dashboard's script needs to sign in. Creates the
/// dashboard's application on first use, and rewrites it when the issuer changed.
pub async fn admin_config(ctx: &Ctx) -> Reply {
    let result = async {
        let store = ctx.store()?;
        let existing = store.application(dashboard::CLIENT_ID).await?;
        match existing {
            Some(app) if dashboard::is_current(&app, &ctx.issuer) => {}
            Some(app) => {
                let mut fresh = dashboard::application(&ctx.issuer, SystemClock.now());
                fresh.created_at = app.created_at;
                store.update_application(&fresh).await?;
            }
            None => {
                let app = dashboard::application(&ctx.issuer, SystemClock.now());
                // A parallel first request may have inserted it: that is fine.
                if let Err(e) = store.insert_application(&app).await {
                    if store.application(dashboard::CLIENT_ID).await?.is_none() {
                        return Err(Failure::from(e));
                    }
                }
            }
        }
        Ok::<_, Failure>(dashboard::config_json(&ctx.issuer))
    }
    .await;
    match result {
        Ok(body) => Reply::json(200, &body).header("Cache-Control", "no-store"),
        Err(f) => Reply::error(&f),
    }
}

/// `/api/v1/users` and `/api/v1/users/{id}` (consents are handled with the rest); `None`
/// for any other path.
async fn manage_users(
    ctx: &Ctx,
    req: &mut Request,
    store: &D1Store,
    rest: &str,
    by: &str,
) -> Option<Reply> {
    let path = rest.strip_prefix("users")?;
    let id = match path {
        "" => None,
        p if p.len() > 1 && !p[1..].contains('/') && p.starts_with('/') => Some(&p[1..]),
        _ => return None,
    };
    let iterations = password::iterations_from(ctx.settings.password_iterations.as_deref());
    let method = req.method();
    let result: Result<(u16, Value, Option<Entry>), Failure> = match (id, method) {
        (None, Method::Get) => match query_params(req) {
            Ok(q) => users::list_users(store, &q).await.map(|v| (200, v, None)),
            Err(f) => Err(f),
        },
        (None, Method::Post) => match read_json(req).await {
            Ok(body) => users::create_user(
                store,
                &WebCryptoPbkdf2,
                iterations,
                &SystemClock,
                &SystemRandom,
                &body,
            )
            .await
            .map(|v| {
                let entry = management::audit_entry("POST", "users", 201, Some(&v));
                (201, v, entry)
            }),
            Err(f) => Err(f),
        },
        (None, _) => return Some(method_not_allowed("GET, POST")),
        (Some(id), Method::Get) => users::get_user(store, id).await.map(|v| (200, v, None)),
        (Some(id), Method::Patch) => match read_json(req).await {
            Ok(body) => users::update_user(
                store,
                &WebCryptoPbkdf2,
                iterations,
                &SystemClock,
                &SystemRandom,
                id,
                &body,
            )
            .await
            .map(|u| (200, u.view, Some(u.entry))),
            Err(f) => Err(f),
        },
        (Some(_), _) => return Some(method_not_allowed("GET, PATCH")),
    };
    Some(match result {
        Ok((status, view, entry)) => {
            if let Some(entry) = entry {
                ctx.audit.record(entry.detail("by", by));
            }
            Reply::json(status, &view).header("Cache-Control", "no-store")
        }
        Err(f) => Reply::error(&f),
    })
}

async fn read_json(req: &mut Request) -> Result<Value, Failure> {
    if media_type(req) != "application/json" {
        return Err(Failure::invalid_request(
            "the Content-Type must be application/json",
        ));
    }
    let body = read_body(req).await?;
    serde_json::from_str(&body)
        .map_err(|e| Failure::invalid_request(format!("the body is not valid JSON: {e}")))
}

async fn optional_json(req: &mut Request) -> Result<Value, Failure> {
    let empty = header(req, "Content-Length").is_none_or(|l| l.trim() == "0");
    if empty && media_type(req).is_empty() {
        return Ok(json!({}));
    }
    read_json(req).await
}

/// `/api/v1/...`: applications and users, Bearer `ADMIN_TOKEN`.
pub async fn management(ctx: &Ctx, req: &mut Request, rest: &str) -> Reply {
    let store = match ctx.store() {
        Ok(s) => s,
        Err(f) => return Reply::error(&f),
    };
    let principal = match admin_check(ctx, req, &store).await {
        Ok(p) => p,
        Err(f) => return Reply::error(&f),
    };
    let by = match &principal {
        Principal::AdminToken => "admin_token".to_string(),
        Principal::User(id) => format!("user:{id}"),
    };
    let method = req.method();
    // The dashboard's own application is the provider's: changing it could lock
    // administrators out.
    let own_app = format!("applications/{}", dashboard::CLIENT_ID);
    if (rest == own_app || rest.starts_with(&format!("{own_app}/"))) && method != Method::Get {
        return Reply::error(&Failure::invalid_request(
            "the dashboard's application is managed by the provider and cannot be changed",
        ));
    }
    if let Some(reply) = manage_users(ctx, req, &store, rest, &by).await {
        return reply;
    }
    let method_name = method.to_string();
    if rest == "logs" {
        return match method {
            Method::Get => audit_logs(&store, req).await,
            _ => method_not_allowed("GET"),
        };
    }
    let result: Result<(u16, Option<Value>), Failure> = match (rest.split_once('/'), rest) {
        (None, "applications") => match method {
            Method::Get => match query_params(req) {
                Ok(query) => management::list_applications(&store, &query)
                    .await
                    .map(|v| (200, Some(v))),
                Err(f) => Err(f),
            },
            Method::Post => match read_json(req).await {
                Ok(body) => {
                    management::create_application(&store, &SystemClock, &SystemRandom, &body)
                        .await
                        .map(|v| (201, Some(v)))
                }
                Err(f) => Err(f),
            },
            _ => return method_not_allowed("GET, POST"),
        },
        (Some(("applications", rest)), _) if rest.ends_with("/rotate-secret") => {
            let id = rest.trim_end_matches("/rotate-secret");
            match method {
                // The body is optional: none means no grace period.
                Method::Post => match optional_json(req).await {
                    Ok(body) => {
                        management::rotate_secret(&store, &SystemClock, &SystemRandom, id, &body)
                            .await
                            .map(|v| (200, Some(v)))
                    }
                    Err(f) => Err(f),
                },
                _ => return method_not_allowed("POST"),
            }
        }
        (Some(("applications", id)), _) if !id.is_empty() && !id.contains('/') => match method {
            Method::Get => match store.application(id).await {
                Ok(Some(app)) => Ok((200, Some(management::app_json(&app)))),
                Ok(None) => Err(Failure::new(OAuthError::NotFound, "no such application")),
                Err(e) => Err(e.into()),
            },
            Method::Patch => match read_json(req).await {
                Ok(body) => management::update_application(&store, &SystemClock, id, &body)
                    .await
                    .map(|v| (200, Some(v))),
                Err(f) => Err(f),
            },
            Method::Delete => match store.delete_application(id).await {
                Ok(true) => Ok((204, None)),
                Ok(false) => Err(Failure::new(OAuthError::NotFound, "no such application")),
                Err(e) => Err(e.into()),
            },
            _ => return method_not_allowed("GET, PATCH, DELETE"),
        },
        (Some(("users", path)), _) if path.contains("/consents") => {
            let parts: Vec<&str> = path.split('/').collect();
            match (parts.as_slice(), method) {
                ([user, "consents"], Method::Get) => store
                    .list_consents(user)
                    .await
                    .map(|list| (200, Some(json!({ "consents": list }))))
                    .map_err(Failure::from),
                ([_, "consents"], _) => return method_not_allowed("GET"),
                ([user, "consents", client], Method::Delete) => {
                    match store.delete_consent(user, client).await {
                        Ok(true) => Ok((204, None)),
                        Ok(false) => Err(Failure::new(OAuthError::NotFound, "no such consent")),
                        Err(e) => Err(e.into()),
                    }
                }
                ([_, "consents", _], _) => return method_not_allowed("DELETE"),
                _ => Err(Failure::new(
                    OAuthError::NotFound,
                    "no such management resource",
                )),
            }
        }
        (None, "keys") => match method {
            Method::Get => store
                .all_keys()
                .await
                .map(|keys| (200, Some(management::keys_json(&keys))))
                .map_err(Failure::from),
            _ => return method_not_allowed("GET"),
        },
        (Some(("keys", "rotate")), _) => match method {
            Method::Post => match rotate_keys(ctx, &store).await {
                Ok(kid) => Ok((200, Some(json!({ "current_kid": kid })))),
                Err(f) => Err(f),
            },
            _ => return method_not_allowed("POST"),
        },
        _ => Err(Failure::new(
            OAuthError::NotFound,
            "no such management resource",
        )),
    };
    if let Ok((status, body)) = &result {
        if let Some(entry) = management::audit_entry(&method_name, rest, *status, body.as_ref()) {
            ctx.audit.record(entry.detail("by", by.as_str()));
        }
    }
    match result {
        Ok((status, Some(body))) => Reply::json(status, &body).header("Cache-Control", "no-store"),
        Ok((status, None)) => Reply::new(status),
        Err(f) => Reply::error(&f),
    }
}

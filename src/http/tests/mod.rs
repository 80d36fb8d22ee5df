//! The routing table driven natively, as axum's examples test an app with `oneshot`: every
//! route of `route` against the in-memory stores, checking status, headers (CORS,
//! `Cache-Control`, `Allow`, `WWW-Authenticate`, cookies, `Location`, CSP) and error bodies.
//!
//! This file is the harness: the world, the calls, and the browser's part (reading forms
//! and cookies off pages). One file per surface follows.

mod account;
mod authorize;
mod dashboard;
mod discovery;
mod logout;
mod management;
mod registration;
mod selfservice;
mod token;

use std::collections::HashMap;

use futures_executor::block_on;
use serde_json::Value;

use super::{route, Method, Reply, Request};
use crate::crypto::password::hash_password;
use crate::crypto::{AdminToken, ClientSecret};
use crate::model::{AppType, User};
use crate::oidc::services::testing::{Fakes, ISSUER};
use crate::store::memory::MemoryStore;
use crate::store::Store;

const ADMIN: &str = "the-admin-token";
const NOW: i64 = 1_700_000_000;
/// app1's one registered redirect URI (it carries a query of its own).
const REDIRECT: &str = "https://app.example/cb?tenant=1";
/// app1's allowed origin.
const APP_ORIGIN: &str = "https://app.example";
const EVIL_ORIGIN: &str = "https://evil.example";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Over https (`ISSUER`) the cookies carry the `__Host-` prefix.
const SESSION_COOKIE: &str = "__Host-oidc_session";
const CSRF_COOKIE: &str = "__Host-oidc_csrf";
/// The confidential application `with_confidential` adds, and its secret.
const CONF_ID: &str = "conf";
const CONF_SECRET: &str = "s3cret-value";

/// The provider with one SPA (`app1`, redirect `https://app.example/cb?tenant=1`, origin
/// `https://app.example`) and one user, `ada@example.com` / `correct horse`.
fn world() -> Fakes {
    let store = MemoryStore::default();
    let mut app = crate::oidc::testing::app(AppType::Spa);
    app.allowed_origins = vec![APP_ORIGIN.into()];
    app.first_party = true;
    store.apps.borrow_mut().push(app);
    let mut f = Fakes::new(store, NOW);
    f.settings.admin_token = Some(AdminToken::new(ADMIN));
    let hash = block_on(hash_password(
        &f.kdf,
        &f.rng,
        &f.settings.password,
        "correct horse",
    ))
    .unwrap();
    let user = User {
        id: "u1".into(),
        email: "ada@example.com".into(),
        name: Some("Ada".into()),
        email_verified: true,
        password_hash: hash,
        created_at: 1,
        roles: vec![],
        disabled_at: None,
        profile: Default::default(),
        updated_at: 0,
    };
    block_on(f.store.insert_user(&user)).unwrap();
    f
}

/// Adds `conf`, a first-party traditional (confidential) application with a secret and the
/// same redirect URI as `app1`.
fn with_confidential(f: &Fakes) {
    let mut conf = crate::oidc::testing::app(AppType::Traditional);
    conf.client_id = CONF_ID.into();
    conf.name = "Backend".into();
    conf.client_secret_hash = Some(ClientSecret::new(CONF_SECRET).hashed());
    f.store.apps.borrow_mut().push(conf);
}

/// Makes `app1` a third-party application: its users are asked for consent.
fn third_party(f: &Fakes) {
    f.store.apps.borrow_mut()[0].first_party = false;
}

fn call(f: &Fakes, req: Request) -> Reply {
    block_on(route(&f.services(), &req))
}

fn get(path: &str) -> Request {
    Request::new(Method::Get, ISSUER, path)
}

fn form(path: &str, body: &str) -> Request {
    Request::form(ISSUER, path, body)
}

fn body_json(r: &Reply) -> Value {
    serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap()
}

fn body_text(r: &Reply) -> &str {
    r.body.as_deref().unwrap_or("")
}

/// Every value of a header that may repeat (`Set-Cookie`).
fn all_headers<'a>(r: &'a Reply, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    all_headers(r, "Set-Cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The value `Set-Cookie` gives `name`.
fn cookie_value(r: &Reply, name: &str) -> Option<String> {
    let c = set_cookie(r, name)?;
    let value = &c[name.len() + 1..];
    Some(value.split(';').next().unwrap_or("").to_string())
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn basic(id: &str, secret: &str) -> String {
    use base64ct::{Base64, Encoding};
    format!(
        "Basic {}",
        Base64::encode_string(format!("{}:{}", enc(id), enc(secret)).as_bytes())
    )
}

/// The pages escape attribute values; a browser unescapes them before it posts the form.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the hidden input `name` on a page.
fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(unescape(&page[start..end]))
}

/// The redirect target without its query, and the query's parameters.
fn location(r: &Reply) -> (String, HashMap<String, String>) {
    let loc = r.get_header("Location").expect("a Location header");
    let url = url::Url::parse(loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    let mut base = url.clone();
    base.set_query(None);
    (base.to_string(), params)
}

/// `/authorize` for `client_id` with app1's redirect URI, state `st-1`, nonce `n-1` and the
/// RFC 7636 challenge; `extra` is appended as it is (`&prompt=none`).
fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}\
         &scope=openid%20profile%20email%20offline_access&state=st-1&nonce=n-1\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(REDIRECT)
    )
}

/// A page's form as the browser would submit it: its CSRF token and cookie, and the request
/// it carries (`auth_request` or `logout_request`).
struct PageForm {
    csrf_token: String,
    csrf_cookie: String,
    carried_name: &'static str,
    carried: String,
}

impl PageForm {
    fn read(r: &Reply, carried_name: &'static str) -> Self {
        Self::read_with(r, carried_name, CSRF_COOKIE)
    }

    /// As `read`, for a CSRF cookie of another name (plain http has no `__Host-`).
    fn read_with(r: &Reply, carried_name: &'static str, csrf_cookie: &str) -> Self {
        let page = body_text(r);
        Self {
            csrf_token: hidden(page, "csrf_token").expect("a csrf_token field"),
            csrf_cookie: cookie_value(r, csrf_cookie).expect("a CSRF cookie"),
            carried_name,
            carried: hidden(page, carried_name).expect("the carried request"),
        }
    }

    /// The form POSTed to `path` with `fields` added, its CSRF cookie and, when given, the
    /// session cookie.
    fn submit(&self, path: &str, fields: &str, session: Option<&str>) -> Request {
        let body = format!(
            "csrf_token={}&{}={}&{fields}",
            enc(&self.csrf_token),
            self.carried_name,
            enc(&self.carried)
        );
        let mut cookies = format!("{CSRF_COOKIE}={}", self.csrf_cookie);
        if let Some(s) = session {
            cookies.push_str(&format!("; {SESSION_COOKIE}={s}"));
        }
        form(path, &body).with_header("Cookie", &cookies)
    }
}

/// What the adapter does after a response: the request's grants and sessions indexed.
pub(super) fn after_response(f: &Fakes) {
    let (grants, sessions) = f.pending_index.take();
    block_on(crate::oidc::grants::record_index(
        &f.store,
        &f.store,
        &f.sessions,
        &grants,
        &sessions,
        NOW,
    ))
    .unwrap();
}

/// The `href` of the link labelled `label` on a page, as the browser would follow it.
pub(super) fn href(page: &str, label: &str) -> Option<String> {
    let end = page.find(&format!(">{label}</a>"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let close = start + page[start..end].find('"')?;
    Some(unescape(&page[start..close]))
}

fn with_session(req: Request, session: &str) -> Request {
    req.with_header("Cookie", &format!("{SESSION_COOKIE}={session}"))
}

/// Opens `/authorize` for `client_id` without a session and signs in as Ada: the answer to
/// the login form (a 303 with a code, or the consent page).
fn sign_in(f: &Fakes, client_id: &str) -> Reply {
    let page = call(f, get(&authorize_path(client_id, "")));
    assert_eq!(page.status, 200, "{}", body_text(&page));
    let login = PageForm::read(&page, "auth_request");
    log_in_as_ada(f, &login)
}

/// The code of a successful authorization response.
fn code_of(r: &Reply) -> String {
    let (_, params) = location(r);
    params.get("code").expect("a code").clone()
}

/// Redeems a code of app1 (public, PKCE).
fn redeem(f: &Fakes, code: &str) -> Reply {
    call(
        f,
        form(
            "/token",
            &format!(
                "grant_type=authorization_code&client_id=app1&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(code),
                enc(REDIRECT)
            ),
        ),
    )
}

/// A refresh of app1's (public) grant.
fn refresh_grant(f: &Fakes, refresh: &str) -> Reply {
    call(
        f,
        form(
            "/token",
            &format!("grant_type=refresh_token&client_id=app1&refresh_token={refresh}"),
        ),
    )
}

/// Submits a login page's form with Ada's right password.
fn log_in_as_ada(f: &Fakes, login: &PageForm) -> Reply {
    call(
        f,
        login.submit(
            "/login",
            "email=ada%40example.com&password=correct+horse",
            None,
        ),
    )
}

/// The whole code flow for app1: the token response and the session cookie's value.
fn tokens(f: &Fakes) -> (Value, String) {
    let answer = sign_in(f, "app1");
    assert_eq!(answer.status, 303, "{}", body_text(&answer));
    let session = cookie_value(&answer, SESSION_COOKIE).unwrap();
    let r = redeem(f, &code_of(&answer));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    (body_json(&r), session)
}

/// A Bearer request with the admin token.
fn admin(method: Method, path: &str) -> Request {
    Request::new(method, ISSUER, path).with_header("Authorization", &format!("Bearer {ADMIN}"))
}

/// A management API read with the admin token.
fn view(f: &Fakes, path: &str) -> Reply {
    call(f, admin(Method::Get, path))
}

fn admin_json(method: Method, path: &str, body: &Value) -> Request {
    Request::json(method, ISSUER, path, body)
        .with_header("Authorization", &format!("Bearer {ADMIN}"))
}

/// Headers every HTML page carries.
fn assert_page(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", body_text(r));
    assert_eq!(
        r.get_header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let csp = r.get_header("Content-Security-Policy").expect("a CSP");
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.get_header("X-Frame-Options"), Some("DENY"));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
}

/// A JSON error with its code and a description containing `text`.
fn assert_error(r: &Reply, status: u16, error: &str, text: &str) {
    assert_eq!(r.status, status, "{}", body_text(r));
    let body = body_json(r);
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or("");
    assert!(description.contains(text), "{description:?} lacks {text:?}");
}

/// A 405 naming the methods allowed.
fn assert_405(r: &Reply, allow: &str) {
    assert_error(r, 405, "invalid_request", "method not allowed");
    assert_eq!(r.get_header("Allow"), Some(allow));
}

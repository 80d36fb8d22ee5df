//! The authorization endpoint: RFC 6749 §4.1.1-§4.1.2, OpenID Connect Core §3.1.2,
//! RFC 7636 (PKCE) and RFC 9207 (`iss` in the response).

use url::Url;

use super::access;
use super::backchannel;
use super::claims_request;
use super::code::{self, CodeGrant};
use super::consent;
use super::dashboard;
use super::discovery::SCOPES;
use super::grants;
use super::params::Params;
use super::pkce;
use super::services::{Deps, Services};
use crate::crypto;
use crate::error::{Failure, OAuthError};
use crate::model::{Application, GrantType, Session};
use crate::runtime::Clock;
use crate::store::Store;

/// Codes are short-lived (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_TTL_SECS: i64 = 60;

/// Why an authorization request failed, and where the answer goes.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: show a page, never redirect
    /// (RFC 6749 §4.1.2.1, RFC 9700 §4.11). When the client is known, the page links to
    /// its registered home URL, which (unlike the request's URI) was checked at registration.
    Page {
        failure: Failure,
        back_to: Option<HomeLink>,
    },
    /// Everything else goes back to the verified redirect URI.
    Redirect(ErrorRedirect),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HomeLink {
    pub app_name: String,
    pub url: String,
}

impl AuthorizeError {
    pub fn page(failure: Failure) -> Self {
        Self::Page {
            failure,
            back_to: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub failure: Failure,
    pub mode: ResponseMode,
}

/// The one Authentication Context Class Reference this provider claims (OpenID Connect
/// Core §2, `acr`): a password login, level 1 of ISO/IEC 29115 (one factor). Advertised in
/// `acr_values_supported`.
pub const PASSWORD_ACR: &str = "1";

/// How an answer reaches the redirect URI: in its query (RFC 6749 §4.1.2, the default for
/// `code`), or POSTed by an auto-submitting form (OAuth 2.0 Form Post Response Mode §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

impl ResponseMode {
    fn parse(value: Option<&str>) -> Result<Self, Failure> {
        match value {
            None | Some("query") => Ok(Self::Query),
            Some("form_post") => Ok(Self::FormPost),
            Some(other) => Err(Failure::invalid_request(format!(
                "response_mode {other} is not supported: use query or form_post"
            ))),
        }
    }
}

/// An answer for the client at its verified redirect URI, and how it goes there.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl Callback {
    fn new(redirect_uri: &str, mode: ResponseMode, pairs: &[(&'static str, Option<&str>)]) -> Self {
        Self {
            redirect_uri: redirect_uri.to_string(),
            mode,
            params: pairs
                .iter()
                .filter_map(|(k, v)| v.map(|v| (*k, v.to_string())))
                .collect(),
        }
    }

    /// The redirect URI with the parameters appended to its query, keeping any query the
    /// registered URI has (RFC 6749 §3.1.2).
    pub fn location(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            query.append_pair(k, v);
        }
        let query = query.finish();
        // Registered URIs are absolute URLs without a fragment (checked when stored), so a
        // plain join is exact: `?` starts the query unless the URI has one already.
        let sep = match Url::parse(&self.redirect_uri).map(|u| u.query().is_some()) {
            Ok(true) => '&',
            _ => '?',
        };
        format!("{}{sep}{query}", self.redirect_uri)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Use the session when there is one.
    Default,
    /// `prompt=none`: never show a page (OpenID Connect Core §3.1.2.1).
    None,
    /// `prompt=login`: re-authenticate even with a session.
    Login,
}

/// A request whose client, redirect URI and parameters have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    pub app: Application,
    pub redirect_uri: String,
    /// The granted scope: the requested scopes this provider knows, in request order.
    pub scope: String,
    pub response_mode: ResponseMode,
    /// The API the access tokens are for (`access::requested_api`); `None`: userinfo only.
    pub audience: Option<String>,
    /// The `acr` the ID token will carry: `acr_values` (OpenID Connect Core §3.1.2.1) asked
    /// for one this provider can honestly claim (`PASSWORD_ACR`).
    pub acr: Option<String>,
    /// The `claims` parameter, reduced and carried as `claims_request` says.
    pub claims_request: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// `prompt=consent`: ask again even when consent was given before.
    pub prompt_consent: bool,
    /// `max_age`: a login older than this many seconds must be repeated.
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The user an `id_token_hint` names (OpenID Connect Core §3.1.2.1): only their session
    /// answers without a login (`prompt=none` with another user's is `login_required`).
    /// Set by `interaction::validate`, which can verify the hint.
    pub hint_sub: Option<String>,
    /// The client's country (`http::Request::country`), for the application's access rules;
    /// set by the HTTP layer.
    pub country: Option<String>,
    /// The original parameters, carried through the login form.
    pub params: Params,
}

impl ValidRequest {
    pub fn error(&self, failure: Failure) -> AuthorizeError {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            failure,
            mode: self.response_mode,
        })
    }
}

/// What to do with a valid request given the browser's session.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    IssueCode,
    ShowLogin,
    ShowConsent,
    Fail(AuthorizeError),
}

pub async fn validate(store: &impl Store, params: Params) -> Result<ValidRequest, AuthorizeError> {
    let page = AuthorizeError::page;
    let client_id = params.get("client_id").map_err(page)?.ok_or_else(|| {
        page(Failure::invalid_request(
            "the client_id parameter is required",
        ))
    })?;
    let app = store
        .application(client_id)
        .await
        .map_err(|e| page(e.into()))?
        .ok_or_else(|| page(Failure::new(OAuthError::InvalidClient, "unknown client_id")))?;
    let redirect_uri = params.get("redirect_uri").map_err(page)?.ok_or_else(|| {
        page(Failure::invalid_request(
            "the redirect_uri parameter is required",
        ))
    })?;
    if !app.has_redirect_uri(redirect_uri) {
        return Err(AuthorizeError::Page {
            failure: Failure::invalid_request(
                "the redirect_uri is not registered for this application",
            ),
            back_to: app.home_url.clone().map(|url| HomeLink {
                app_name: app.name.clone(),
                url,
            }),
        });
    }
    let redirect_uri = redirect_uri.to_string();
    // From here on the redirect URI is trusted; state is echoed even on errors (§4.1.2.1),
    // unless state itself is the malformed parameter.
    let state = params.get("state").ok().flatten().map(str::to_string);
    // Errors go back by the mode asked for; an unusable mode's own error by the query.
    let response_mode = params.get("response_mode").and_then(ResponseMode::parse);
    let mode = match (params.get("response_mode"), params.get("request")) {
        (Ok(None), Ok(Some(object))) => mode_inside_request_object(object),
        _ => response_mode.clone().unwrap_or_default(),
    };
    let fail = |failure: Failure| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            failure,
            mode,
        })
    };
    params.get("state").map_err(fail)?;
    let response_mode = response_mode.map_err(fail)?;

    if !app.has_grant(GrantType::AuthorizationCode) {
        return Err(fail(Failure::new(
            OAuthError::UnauthorizedClient,
            "this application may not use the authorization code flow",
        )));
    }
    match params.get("response_type").map_err(fail)? {
        None => {
            return Err(fail(Failure::invalid_request(
                "the response_type parameter is required",
            )))
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(Failure::new(
                OAuthError::UnsupportedResponseType,
                "only response_type=code is supported",
            )))
        }
    }
    // Request objects are expanded before this (`request_object::expand`, Core §6); one
    // still here was not, so it is refused rather than ignored.
    if params.get("request").map_err(fail)?.is_some() {
        return Err(fail(Failure::new(
            OAuthError::RequestNotSupported,
            "request objects are not taken here",
        )));
    }
    if params.get("request_uri").map_err(fail)?.is_some() {
        return Err(fail(Failure::new(
            OAuthError::RequestUriNotSupported,
            "request objects by reference are not taken here",
        )));
    }

    let requested = params.get("scope").map_err(fail)?.unwrap_or("");
    if !requested.split(' ').any(|s| s == "openid") {
        return Err(fail(Failure::new(
            OAuthError::InvalidScope,
            "the scope must include openid",
        )));
    }
    // RFC 6749 §3.3: scopes this provider does not offer are left out of the grant.
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split(' ') {
        let offered = SCOPES.contains(&s)
            || (s == dashboard::ADMIN_SCOPE && dashboard::may_request_admin(&app.client_id));
        if offered && !granted.contains(&s) {
            granted.push(s);
        }
    }

    let method = params.get("code_challenge_method").map_err(fail)?;
    let code_challenge = match (params.get("code_challenge").map_err(fail)?, method) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(Failure::invalid_request(
                "code_challenge_method was sent without a code_challenge",
            )))
        }
        (Some(c), Some("S256")) => {
            if !pkce::is_valid_s256_challenge(c) {
                return Err(fail(Failure::invalid_request(
                    "the code_challenge must be 43 base64url characters (S256)",
                )));
            }
            Some(c.to_string())
        }
        // Without a method RFC 7636 §4.3 means `plain`, which this provider refuses.
        (Some(_), _) => {
            return Err(fail(Failure::invalid_request(
                "code_challenge_method must be S256",
            )))
        }
    };
    if code_challenge.is_none() && app.is_public() {
        return Err(fail(Failure::invalid_request(
            "PKCE is required: send a code_challenge with code_challenge_method=S256",
        )));
    }

    let prompt_value = params.get("prompt").map_err(fail)?;
    let prompt = parse_prompt(prompt_value).map_err(fail)?;
    let prompt_consent = prompt_value.is_some_and(|p| p.split(' ').any(|v| v == "consent"));
    let max_age = match params.get("max_age").map_err(fail)? {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(Failure::invalid_request(
                "max_age must be a non-negative integer",
            ))
        })?),
    };
    let nonce = params.get("nonce").map_err(fail)?.map(str::to_string);
    let audience = access::requested_api(&app, &params).map_err(fail)?;
    // Voluntary (§3.1.2.1): values this provider cannot meet are ignored, never an error.
    let acr = params
        .get("acr_values")
        .map_err(fail)?
        .filter(|v| v.split(' ').any(|a| a == PASSWORD_ACR))
        .map(|_| PASSWORD_ACR.to_string());
    let login_hint = params.get("login_hint").map_err(fail)?.map(str::to_string);
    // A third party gets no claim its consent does not cover (the screen names scopes).
    let within = consent::lookup_needed(&app, &redirect_uri).then_some(granted.as_slice());
    let claims_request = match params.get("claims").map_err(fail)? {
        Some(json) => claims_request::parse(json, within).map_err(fail)?,
        None => String::new(),
    };

    Ok(ValidRequest {
        app,
        redirect_uri: redirect_uri.clone(),
        scope: granted.join(" "),
        response_mode,
        audience,
        acr,
        claims_request,
        state: state.clone(),
        nonce,
        code_challenge,
        prompt,
        prompt_consent,
        max_age,
        login_hint,
        hint_sub: None,
        country: None,
        params,
    })
}

/// How a request object that could not be used (`request_object::expand`) is refused: as
/// the rest of the request would be without it while the client or redirect URI is not
/// trusted (an error page), else by redirect to the query's redirect URI with the object's
/// own error (what else the query lacks may have been in the object), in the mode the
/// object asked for if the query names none.
pub async fn refuse(store: &impl Store, params: &Params, failure: Failure) -> AuthorizeError {
    let without = params.without(&["request", "request_uri"]);
    let mut refusal = match validate(store, without).await {
        Ok(valid) => valid.error(failure),
        Err(AuthorizeError::Redirect(mut r)) => {
            r.failure = failure;
            AuthorizeError::Redirect(r)
        }
        Err(page) => return page,
    };
    if let (AuthorizeError::Redirect(r), Ok(None), Ok(Some(object))) = (
        &mut refusal,
        params.get("response_mode"),
        params.get("request"),
    ) {
        r.mode = mode_inside_request_object(object);
    }
    refusal
}

/// The `response_mode` a request object (Core §6.1) carries when the query does not repeat
/// it, read unverified from an object that could not be used, so that its refusal reaches
/// the client the way the client listens (a form_post client never looks at a query). The
/// redirect URI stays the verified one from the query, so an unsigned or forged object can
/// change only the encoding.
fn mode_inside_request_object(object: &str) -> ResponseMode {
    // Read as a Value: its parser is in the build anyway, a struct's would not be.
    let payload = object.split('.').nth(1).and_then(crypto::b64url_decode);
    let claims: Option<serde_json::Value> = payload.and_then(|p| serde_json::from_slice(&p).ok());
    let mode = claims.as_ref().and_then(|c| c.get("response_mode"));
    ResponseMode::parse(mode.and_then(|m| m.as_str())).unwrap_or_default()
}

/// OpenID Connect Core §3.1.2.1: a space-separated list; `none` stands alone.
fn parse_prompt(value: Option<&str>) -> Result<Prompt, Failure> {
    let Some(value) = value else {
        return Ok(Prompt::Default);
    };
    let values: Vec<&str> = value.split(' ').filter(|v| !v.is_empty()).collect();
    if values.contains(&"none") {
        if values.len() > 1 {
            return Err(Failure::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        return Ok(Prompt::None);
    }
    for v in &values {
        if !matches!(*v, "login" | "consent" | "select_account") {
            return Err(Failure::invalid_request(format!(
                "unsupported prompt value: {v}"
            )));
        }
    }
    // consent is carried separately (see `ValidRequest::prompt_consent`); one session means
    // one account, so select_account has nothing to select.
    Ok(if values.contains(&"login") {
        Prompt::Login
    } else {
        Prompt::Default
    })
}

/// The next step given the session, whether consent must be asked for (see
/// `consent::required`) and the time. A session older than `max_age` counts as none
/// (OpenID Connect Core §3.1.2.1).
pub fn next(
    req: &ValidRequest,
    session: Option<&Session>,
    consent_required: bool,
    now: i64,
) -> Next {
    let session = session
        .filter(|s| req.max_age.is_none_or(|max| now - s.auth_time <= max))
        .filter(|s| req.hint_sub.as_ref().is_none_or(|sub| *sub == s.user_id));
    match (req.prompt, session) {
        (Prompt::Login, _) => Next::ShowLogin,
        (Prompt::None, None) => Next::Fail(req.error(Failure::new(
            OAuthError::LoginRequired,
            "the user is not logged in",
        ))),
        (Prompt::Default, None) => Next::ShowLogin,
        (Prompt::None, Some(_)) if consent_required => Next::Fail(req.error(Failure::new(
            OAuthError::ConsentRequired,
            "the user has not consented to this application",
        ))),
        (_, Some(_)) if consent_required => Next::ShowConsent,
        (_, Some(_)) => Next::IssueCode,
    }
}

/// The consent decision posted back from the consent page.
pub fn denied(req: &ValidRequest) -> AuthorizeError {
    req.error(Failure::new(
        OAuthError::AccessDenied,
        "the user denied the request",
    ))
}

/// Issues a code for the session's user and returns the success redirect (RFC 6749
/// §4.1.2 with `iss` from RFC 9207 §2). The code is sealed and self-contained
/// (`oidc::code`): nothing is written, and nothing is read but the session. Disabling a
/// user ends their sessions (`oidc::users`), and a profile change rewrites them, so the
/// session speaks for the user. Only the admin scope (the dashboard's sign-in) reads the
/// user, for the roles.
pub async fn issue_code<D: Deps>(
    sv: &Services<'_, D>,
    req: &ValidRequest,
    session: &Session,
) -> Result<Callback, AuthorizeError> {
    let fail = |f: Failure| req.error(f);
    let scope = if dashboard::has_admin_scope(&req.scope) {
        let user = sv
            .store
            .user_by_id(&session.user_id)
            .await
            .map_err(|e| fail(e.into()))?;
        if user.as_ref().is_none_or(|u| u.is_disabled()) {
            return Err(fail(Failure::new(
                OAuthError::AccessDenied,
                "the account is disabled",
            )));
        }
        dashboard::grantable_scope(&req.scope, user.as_ref())
    } else {
        req.scope.clone()
    };
    let grant = CodeGrant {
        grant_id: grants::new_grant_id(sv.rng).map_err(fail)?,
        client_id: req.app.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        user_id: session.user_id.clone(),
        scope,
        audience: req.audience.clone(),
        acr: req.acr.clone(),
        claims_request: req.claims_request.clone(),
        nonce: req.nonce.clone(),
        sid: backchannel::sid_of(session),
        auth_time: session.auth_time,
        expires_at: sv.clock.now() + CODE_TTL_SECS,
        claims: session.claims.clone(),
    };
    let code = code::seal(sv.sealer, &grant).await.map_err(fail)?;
    backchannel::joined(sv.pending_index, session, &req.app);
    Ok(Callback::new(
        &req.redirect_uri,
        req.response_mode,
        &[
            ("code", Some(code.expose())),
            ("state", req.state.as_deref()),
            ("iss", Some(sv.issuer)),
        ],
    ))
}

/// The error response of RFC 6749 §4.1.2.1 with `iss` (RFC 9207 §2).
pub fn error_callback(e: &ErrorRedirect, issuer: &str) -> Callback {
    Callback::new(
        &e.redirect_uri,
        e.mode,
        &[
            ("error", Some(e.failure.error.as_str())),
            ("error_description", Some(&e.failure.description)),
            ("state", e.state.as_deref()),
            ("iss", Some(issuer)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppType, UserClaims};
    use crate::oidc::testing::app;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn store_with(a: Application) -> MemoryStore {
        let s = MemoryStore::default();
        s.apps.borrow_mut().push(a);
        s
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", "app1"),
            ("redirect_uri", "https://app.example/cb?tenant=1"),
            ("scope", "openid email unknown"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    }

    /// A parameter to replace (`Some`) or drop (`None`) in the good request.
    type Change = (&'static str, Option<&'static str>);

    fn with(changes: &[Change]) -> Params {
        let mut pairs = good();
        for (k, v) in changes {
            pairs.retain(|(pk, _)| pk != k);
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        Params::from_pairs(pairs)
    }

    fn run(store: &MemoryStore, p: Params) -> Result<ValidRequest, AuthorizeError> {
        block_on(validate(store, p))
    }

    fn redirect_error(r: Result<ValidRequest, AuthorizeError>) -> (OAuthError, Option<String>) {
        match r {
            Err(AuthorizeError::Redirect(e)) => (e.failure.error, e.state),
            other => panic!("expected an error redirect, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_validates_and_drops_unknown_scopes() {
        let s = store_with(app(AppType::Spa));
        let req = run(&s, with(&[])).unwrap();
        assert_eq!(req.scope, "openid email");
        assert_eq!(req.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(req.prompt, Prompt::Default);
    }

    #[test]
    fn request_objects_get_the_errors_core_names() {
        let s = store_with(app(AppType::Spa));
        let (e, _) = redirect_error(run(
            &s,
            with(&[("request", Some("eyJhbGciOiJub25lIn0.e30."))]),
        ));
        assert_eq!(e, OAuthError::RequestNotSupported);
        let (e, _) = redirect_error(run(
            &s,
            with(&[("request_uri", Some("https://app.example/req.jwt"))]),
        ));
        assert_eq!(e, OAuthError::RequestUriNotSupported);
    }

    /// The Form Post plan's unsigned-request-object module sends `response_mode=form_post`
    /// only inside the object; its `request_not_supported` must come back by POST.
    #[test]
    fn a_request_objects_response_mode_carries_its_refusal() {
        let s = store_with(app(AppType::Spa));
        let mode_of = |changes: &[Change]| match run(&s, with(changes)) {
            Err(AuthorizeError::Redirect(e)) => {
                assert_eq!(e.failure.error, OAuthError::RequestNotSupported);
                e.mode
            }
            other => panic!("expected an error redirect, got {other:?}"),
        };
        // `with` takes static strings, as the other tests' literals are.
        let object = |payload: &str| -> &'static str {
            let jwt = format!(
                "eyJhbGciOiJub25lIn0.{}.",
                crypto::b64url(payload.as_bytes())
            );
            Box::leak(jwt.into_boxed_str())
        };
        let form_post = object(r#"{"response_mode":"form_post","state":"s"}"#);
        assert_eq!(
            mode_of(&[("request", Some(form_post))]),
            ResponseMode::FormPost
        );
        // The query's own mode wins; an object without one, or garbage, means the default.
        let both = [
            ("request", Some(form_post)),
            ("response_mode", Some("query")),
        ];
        assert_eq!(mode_of(&both), ResponseMode::Query);
        let fragment = object(r#"{"response_mode":"fragment"}"#);
        for bad in [object("{}"), fragment, "not.a.jwt", "x", object("[1]")] {
            assert_eq!(
                mode_of(&[("request", Some(bad))]),
                ResponseMode::Query,
                "{bad}"
            );
        }
    }

    #[test]
    fn untrusted_client_or_redirect_uri_gets_a_page() {
        let s = store_with(app(AppType::Spa));
        for p in [
            with(&[("client_id", Some("nope"))]),
            with(&[("client_id", None)]),
            with(&[("redirect_uri", Some("https://evil.example/cb"))]),
            with(&[("redirect_uri", Some("https://app.example/cb"))]),
            with(&[("redirect_uri", None)]),
        ] {
            assert!(matches!(run(&s, p), Err(AuthorizeError::Page { .. })));
        }
        let mut dup = good();
        dup.push(("redirect_uri", "https://app.example/cb?tenant=1"));
        assert!(matches!(
            run(&s, Params::from_pairs(dup)),
            Err(AuthorizeError::Page { .. })
        ));
    }

    #[test]
    fn a_known_app_with_a_home_url_gets_a_link_back() {
        let mut a = app(AppType::Spa);
        a.home_url = Some("https://app.example/".into());
        let s = store_with(a);
        match run(
            &s,
            with(&[("redirect_uri", Some("https://evil.example/cb"))]),
        ) {
            Err(AuthorizeError::Page {
                back_to: Some(link),
                ..
            }) => {
                assert_eq!(link.url, "https://app.example/");
                assert_eq!(link.app_name, "App");
            }
            other => panic!("{other:?}"),
        }
        match run(&s, with(&[("client_id", Some("ghost"))])) {
            Err(AuthorizeError::Page { back_to: None, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_storage_outage_is_a_page_never_a_redirect() {
        let s = store_with(app(AppType::Spa));
        s.fail.set(true);
        match run(&s, with(&[])) {
            Err(AuthorizeError::Page { failure, .. }) => {
                assert_eq!(failure.error, OAuthError::TemporarilyUnavailable)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_errors_redirect_with_state() {
        let s = store_with(app(AppType::Spa));
        let cases: [(&[Change], OAuthError); 8] = [
            (
                &[("response_type", Some("token"))],
                OAuthError::UnsupportedResponseType,
            ),
            (&[("response_type", None)], OAuthError::InvalidRequest),
            (&[("scope", Some("email"))], OAuthError::InvalidScope),
            (
                &[("code_challenge", None), ("code_challenge_method", None)],
                OAuthError::InvalidRequest,
            ),
            (
                &[("code_challenge_method", Some("plain"))],
                OAuthError::InvalidRequest,
            ),
            (
                &[("code_challenge_method", None)],
                OAuthError::InvalidRequest,
            ),
            (
                &[("code_challenge", Some("short"))],
                OAuthError::InvalidRequest,
            ),
            (
                &[("prompt", Some("none login"))],
                OAuthError::InvalidRequest,
            ),
        ];
        for (changes, expected) in cases {
            let (err, state) = redirect_error(run(&s, with(changes)));
            assert_eq!(err, expected, "{changes:?}");
            assert_eq!(state.as_deref(), Some("s1"));
        }
    }

    #[test]
    fn confidential_clients_may_skip_pkce() {
        let s = store_with(app(AppType::Traditional));
        let req = run(
            &s,
            with(&[("code_challenge", None), ("code_challenge_method", None)]),
        )
        .unwrap();
        assert_eq!(req.code_challenge, None);
    }

    #[test]
    fn session_and_prompt_decide_the_next_step() {
        let s = store_with(app(AppType::Spa));
        let session = Session {
            id_hash: String::new(),
            backchannel: Vec::new(),
            user_id: "u1".into(),
            auth_time: 10,
            expires_at: 1000,
            claims: UserClaims {
                roles: Default::default(),
                email: "a@b.c".into(),
                email_verified: true,
                name: None,
                profile: Default::default(),
                updated_at: None,
            },
        };
        let req = run(&s, with(&[])).unwrap();
        assert_eq!(next(&req, Some(&session), false, 100), Next::IssueCode);
        assert_eq!(next(&req, Some(&session), true, 100), Next::ShowConsent);
        assert_eq!(next(&req, None, true, 100), Next::ShowLogin);
        let login = run(&s, with(&[("prompt", Some("login"))])).unwrap();
        assert_eq!(next(&login, Some(&session), false, 100), Next::ShowLogin);
        let none = run(&s, with(&[("prompt", Some("none"))])).unwrap();
        let error_of = |n: Next| match n {
            Next::Fail(AuthorizeError::Redirect(e)) => e.failure.error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            error_of(next(&none, None, false, 100)),
            OAuthError::LoginRequired
        );
        assert_eq!(
            error_of(next(&none, Some(&session), true, 100)),
            OAuthError::ConsentRequired
        );
        assert_eq!(next(&none, Some(&session), false, 100), Next::IssueCode);
        // auth_time 10: at t=100 the login is 90 s old.
        let fresh = run(&s, with(&[("max_age", Some("90"))])).unwrap();
        assert_eq!(next(&fresh, Some(&session), false, 100), Next::IssueCode);
        let stale = run(&s, with(&[("max_age", Some("89"))])).unwrap();
        assert_eq!(next(&stale, Some(&session), false, 100), Next::ShowLogin);
        let stale_none = run(
            &s,
            with(&[("max_age", Some("0")), ("prompt", Some("none"))]),
        )
        .unwrap();
        assert_eq!(
            error_of(next(&stale_none, Some(&session), false, 100)),
            OAuthError::LoginRequired
        );
        let (err, _) = redirect_error(run(&s, with(&[("max_age", Some("-1"))])));
        assert_eq!(err, OAuthError::InvalidRequest);
        let consent = run(&s, with(&[("prompt", Some("login consent"))])).unwrap();
        assert!(consent.prompt_consent);
        assert_eq!(consent.prompt, Prompt::Login);
        // id_token_hint: only the hinted user's session answers (session is u1's).
        let mut hinted = none.clone();
        hinted.hint_sub = Some("u1".into());
        assert_eq!(next(&hinted, Some(&session), false, 100), Next::IssueCode);
        hinted.hint_sub = Some("u2".into());
        assert_eq!(
            error_of(next(&hinted, Some(&session), false, 100)),
            OAuthError::LoginRequired
        );
        hinted.prompt = Prompt::Default;
        assert_eq!(next(&hinted, Some(&session), false, 100), Next::ShowLogin);
    }

    #[test]
    fn issued_codes_are_sealed_grants_and_the_redirect_keeps_the_query() {
        let s = store_with(app(AppType::Spa));
        s.users
            .borrow_mut()
            .push(crate::oidc::testing::user("u1", "a@b.c"));
        let req = run(&s, with(&[])).unwrap();
        let session = Session {
            id_hash: String::new(),
            backchannel: Vec::new(),
            user_id: "u1".into(),
            auth_time: 10,
            expires_at: 1000,
            claims: UserClaims {
                roles: Default::default(),
                email: "old@b.c".into(),
                email_verified: true,
                name: None,
                profile: Default::default(),
                updated_at: None,
            },
        };
        let f = crate::oidc::services::testing::Fakes::new(s, 100);
        let callback = block_on(issue_code(&f.services(), &req, &session)).unwrap();
        assert_eq!(callback.mode, ResponseMode::Query);
        let url = Url::parse(&callback.location()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "1");
        assert_eq!(q["state"], "s1");
        assert_eq!(q["iss"], "https://id.example");
        let code = crate::crypto::AuthCode::new(q["code"].clone());
        let grant = block_on(code::open(&f.sealer, &code)).unwrap().unwrap();
        assert_eq!(grant.expires_at, 160);
        assert_eq!(grant.auth_time, 10);
        assert_eq!(
            grant.claims.email, "old@b.c",
            "the session speaks for the user"
        );
        assert!(f.store.grants.borrow().is_empty(), "nothing is stored");
        assert!(
            f.store.users.borrow()[0].email != grant.claims.email,
            "no user read"
        );
    }

    #[test]
    fn error_redirects_carry_iss_and_description() {
        let e = ErrorRedirect {
            redirect_uri: "https://app.example/cb".into(),
            state: Some("s 1".into()),
            failure: Failure::new(OAuthError::LoginRequired, "not logged in"),
            mode: ResponseMode::Query,
        };
        let url = Url::parse(&error_callback(&e, "https://id.example").location()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["error"], "login_required");
        assert_eq!(q["error_description"], "not logged in");
        assert_eq!(q["state"], "s 1");
        assert_eq!(q["iss"], "https://id.example");
    }

    #[test]
    fn response_mode_is_query_or_form_post_and_errors_follow_it() {
        let s = store_with(app(AppType::Spa));
        let req = run(&s, with(&[("response_mode", Some("form_post"))])).unwrap();
        assert_eq!(req.response_mode, ResponseMode::FormPost);
        let AuthorizeError::Redirect(r) = req.error(Failure::invalid_request("x")) else {
            panic!("a valid request's errors are redirects")
        };
        assert_eq!(r.mode, ResponseMode::FormPost);
        // A later error of a form_post request is posted too.
        let r = run(
            &s,
            with(&[
                ("response_mode", Some("form_post")),
                ("prompt", Some("bogus")),
            ]),
        );
        assert!(matches!(
            r,
            Err(AuthorizeError::Redirect(ErrorRedirect {
                mode: ResponseMode::FormPost,
                ..
            }))
        ));
        // An unusable mode is reported by the query.
        let r = run(&s, with(&[("response_mode", Some("fragment"))]));
        match r {
            Err(AuthorizeError::Redirect(e)) => {
                assert_eq!(e.mode, ResponseMode::Query);
                assert_eq!(e.failure.error, OAuthError::InvalidRequest);
            }
            other => panic!("{other:?}"),
        }
    }
}

//! The authorize sequence shared by `/authorize`, the login form and the consent form
//! (OpenID Connect Core §3.1.2.1-§3.1.2.5): which step comes next given the session and
//! the stored consent, the sign-in itself, the consent decision, and the code at the end.
//! The HTTP layer only renders what these return.

use super::audit::{Entry, Event};
use super::authorize::{self, AuthorizeError, Callback, HomeLink, Next, Prompt, ValidRequest};
use super::consent;
use super::jwt;
use super::login::{self, LoginError};
use super::params::Params;
use super::request_object;
use super::services::{Deps, Services};
use crate::crypto::SessionId;
use crate::error::{Failure, OAuthError};
use crate::model::access::Who;
use crate::model::Session;
use crate::runtime::Clock;
use crate::store::{SessionStore, Store};

/// What the browser sees next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Back to the application with a code (RFC 6749 §4.1.2).
    Code(Callback),
    ShowLogin,
    ShowConsent,
}

/// Validates an authorization request from the query or a POSTed form (OpenID Connect
/// Core §3.1.2.1-§3.1.2.2).
pub async fn validate<D: Deps>(
    svc: &Services<'_, D>,
    params: Params,
) -> Result<ValidRequest, AuthorizeError> {
    let params = match request_object::expand(svc, &params).await {
        Ok(Some(expanded)) => expanded,
        Ok(None) => params,
        Err(failure) => return Err(authorize::refuse(svc.store, &params, failure).await),
    };
    let mut valid = authorize::validate(svc.store, params).await?;
    let hint = valid
        .params
        .get("id_token_hint")
        .map_err(|f| valid.error(f))?
        .map(str::to_string);
    if let Some(hint) = hint {
        let claims = jwt::id_token_hint(svc.signer, svc.issuer, &hint)
            .await
            .map_err(|f| valid.error(f))?;
        valid.hint_sub = Some(claims.sub);
    }
    Ok(valid)
}

/// The authorization request a login or consent form carries, validated afresh: the
/// form's hidden field is as untrusted as the original query.
pub async fn carried_request<D: Deps>(
    svc: &Services<'_, D>,
    form: &Params,
) -> Result<ValidRequest, AuthorizeError> {
    let params = match form.get("auth_request") {
        Ok(Some(r)) => Params::parse(r),
        Ok(None) => {
            return Err(AuthorizeError::page(Failure::invalid_request(
                "the auth_request field is missing",
            )))
        }
        Err(f) => return Err(AuthorizeError::page(f)),
    };
    validate(svc, params).await
}

/// The live session behind the session cookie's value, if any.
pub async fn session<D: Deps>(
    svc: &Services<'_, D>,
    cookie: Option<&str>,
) -> Result<Option<Session>, Failure> {
    login::current_session(svc.sessions, svc.clock, cookie).await
}

/// Whether this user must be asked before `valid.app` gets a code (one D1 read, and only
/// for third-party applications).
pub async fn consent_needed<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    session: &Session,
) -> Result<bool, Failure> {
    let granted = if consent::lookup_needed(&valid.app, &valid.redirect_uri) {
        svc.store
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

/// Issues the code: the success redirect (RFC 6749 §4.1.2, RFC 9207 §2).
pub async fn finish<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    session: &Session,
) -> Result<Step, AuthorizeError> {
    authorize::issue_code(svc, valid, session)
        .await
        .map(Step::Code)
}

/// `/authorize` with a validated request: log in, ask for consent, or issue the code.
pub async fn authorize<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    session: Option<&Session>,
) -> Result<Step, AuthorizeError> {
    let needs_consent = match session {
        Some(s) => consent_needed(svc, valid, s)
            .await
            .map_err(|f| valid.error(f))?,
        None => false,
    };
    let next = authorize::next(valid, session, needs_consent, svc.clock.now());
    if let (Next::IssueCode | Next::ShowConsent, Some(s)) = (&next, session) {
        check_access(svc, valid, s, false).await?;
    }
    match (next, session) {
        (Next::IssueCode, Some(s)) => finish(svc, valid, s).await,
        (Next::ShowConsent, Some(_)) => Ok(Step::ShowConsent),
        (Next::ShowLogin, _) => Ok(Step::ShowLogin),
        (Next::Fail(e), _) => Err(e),
        // `next` asks for a code or consent only when there is a session.
        (Next::IssueCode | Next::ShowConsent, None) => {
            Err(valid.error(Failure::server("authorize step without a session")))
        }
    }
}

/// The application's access rules (`model::access`) for the signed-in user, read fresh from
/// storage (the nearest D1 replica) for applications that have rules, and only for them;
/// a session started by this very request (`fresh`) was made from that read already.
/// A refusal is a page naming the application, or `access_denied` at the redirect URI
/// for `prompt=none` (nobody is there to read a page); it is audited with the rule.
async fn check_access<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    session: &Session,
    fresh: bool,
) -> Result<(), AuthorizeError> {
    let rules = &valid.app.access_rules;
    if rules.is_open() {
        return Ok(());
    }
    let country = valid.country.as_deref();
    let user = if fresh {
        None
    } else {
        let read = svc.store.user_by_id(&session.user_id).await;
        Some(read.map_err(|e| valid.error(e.into()))?)
    };
    let who = match &user {
        None => Who::from_claims(&session.claims, country),
        Some(user) => Who::of(user.as_ref(), &session.claims, country),
    };
    let Err(refusal) = rules.admits(&who, true) else {
        return Ok(());
    };
    let mut entry = Entry::new(
        Event::AccessRefused,
        "The application's access rules refused the user",
    )
    .app(&valid.app)
    .user(&session.user_id)
    .detail("rule", refusal.as_str());
    if let Some(country) = &valid.country {
        entry = entry.detail("country", country.clone());
    }
    svc.audit.record(entry);
    let failure = Failure::new(
        OAuthError::AccessDenied,
        format!("{}: {}.", valid.app.name, refusal.explain()),
    );
    Err(if valid.prompt == Prompt::None {
        valid.error(failure)
    } else {
        AuthorizeError::Page {
            failure,
            back_to: valid.app.home_url.clone().map(|url| HomeLink {
                app_name: valid.app.name.clone(),
                url,
            }),
        }
    })
}

/// A successful sign-in: the new session and its id (for the cookie).
pub struct SignedIn {
    pub id: SessionId,
    pub session: Session,
}

/// Checks the credentials (with throttling), records the attempt in the audit log and
/// starts a session (OpenID Connect Core §3.1.2.3).
pub async fn sign_in<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    email: &str,
    password: &str,
    client_ip: Option<&str>,
) -> Result<SignedIn, LoginError> {
    let attempt = login::authenticate(
        svc.store,
        svc.throttle,
        svc.kdf,
        &svc.settings.password,
        svc.clock,
        svc.rng,
        email,
        password,
        client_ip,
    )
    .await;
    if let Some(entry) = login::audit_entry(&attempt, &valid.app, email) {
        svc.audit.record(entry);
    }
    let user = attempt?;
    let (id, session) =
        login::start_session(svc.sessions, svc.clock, svc.rng, svc.pending_index, &user).await?;
    Ok(SignedIn { id, session })
}

/// After a sign-in: consent, or the code. When neither a consent page nor a code follows,
/// the new session is deleted: it would be of no use, and must not linger.
pub async fn after_sign_in<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    signed_in: &SignedIn,
) -> Result<Step, AuthorizeError> {
    let step = match check_access(svc, valid, &signed_in.session, true).await {
        Err(refused) => Err(refused),
        Ok(()) => match consent_needed(svc, valid, &signed_in.session).await {
            Ok(true) => return Ok(Step::ShowConsent),
            Ok(false) => finish(svc, valid, &signed_in.session).await,
            Err(f) => Err(valid.error(f)),
        },
    };
    if step.is_err() {
        let id_hash = signed_in.id.hashed();
        let _ = svc.sessions.delete_session(&id_hash).await;
        svc.pending_index.forget_session(&id_hash);
    }
    step
}

/// The consent page's decision (OpenID Connect Core §3.1.2.4): on `allow`, the grant is
/// stored (widening an earlier one) and the code issued; `deny` is `access_denied`.
pub async fn decide_consent<D: Deps>(
    svc: &Services<'_, D>,
    valid: &ValidRequest,
    session: &Session,
    allow: bool,
) -> Result<Step, AuthorizeError> {
    if !allow {
        return Err(authorize::denied(valid));
    }
    check_access(svc, valid, session, false).await?;
    consent::grant(
        svc.store,
        svc.clock,
        &session.user_id,
        &valid.app.client_id,
        &valid.scope,
    )
    .await
    .map_err(|f| valid.error(f))?;
    svc.audit.record(
        Entry::new(Event::ConsentGranted, "Consent given")
            .app(&valid.app)
            .user(&session.user_id)
            .detail("scope", valid.scope.clone()),
    );
    finish(svc, valid, session).await
}

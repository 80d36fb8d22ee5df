//! The token endpoint, `authorization_code` grant: RFC 6749 §4.1.3-§4.1.4 and §5,
//! RFC 7636 §4.5-§4.6, OpenID Connect Core §3.1.3.

use super::audit::{Entry, Event};
use super::client_auth;
use super::client_credentials;
use super::code::{self, CodeGrant};
use super::grants;
pub use super::mint::TokenResponse;
use super::mint::{mint, Subject};
use super::params::Params;
use super::pkce;
use super::refresh;
use super::services::{Deps, Services};
use crate::crypto::AuthCode;
use crate::error::{Failure, OAuthError};
use crate::model::grant::{Grant, GrantAnswer, GrantIndex, GrantOp};
use crate::model::{Application, GrantType};
use crate::runtime::Clock;
use crate::store::GrantStore;

/// The result, plus the authenticated application when there is one: CORS at the token
/// endpoint answers for the application that authenticated, on errors too.
pub struct Outcome {
    pub app: Option<Application>,
    pub result: Result<TokenResponse, Failure>,
}

/// `browser_origin`: the `Origin` of a cross-origin request (a browser's), if any.
pub async fn handle<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    authorization: Option<&str>,
    browser_origin: Option<&str>,
) -> Outcome {
    let app = match client_auth::presented(params, authorization) {
        Ok(p) => client_auth::authenticate(sv, &p).await,
        Err(f) => Err(f),
    };
    let app = match app {
        Ok(app) => app,
        Err(f) => {
            return Outcome {
                app: None,
                result: Err(f),
            }
        }
    };
    // A browser on an origin the application does not allow would never see the tokens
    // (no CORS headers), yet the code would be spent: refuse before anything is consumed.
    let result = match browser_origin {
        Some(o) if !app.allows_origin(o) => Err(Failure::invalid_request(format!(
            "the origin {o} may not call the token endpoint for this application: add it \
             to the application's allowed origins"
        ))),
        _ => grant(sv, params, &app).await,
    };
    Outcome {
        app: Some(app),
        result,
    }
}

async fn grant<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    app: &Application,
) -> Result<TokenResponse, Failure> {
    let grant_type = params.require("grant_type")?;
    let grant = match GrantType::parse(grant_type) {
        Some(g) => g,
        None => {
            return Err(Failure::new(
                OAuthError::UnsupportedGrantType,
                format!("unsupported grant_type: {}", truncate(grant_type)),
            ))
        }
    };
    if !app.has_grant(grant) {
        return Err(Failure::new(
            OAuthError::UnauthorizedClient,
            format!("this application may not use the {} grant", grant.as_str()),
        ));
    }
    let result = match grant {
        GrantType::RefreshToken => refresh::grant(sv, params, app).await,
        GrantType::ClientCredentials => client_credentials::grant(sv, params, app).await,
        GrantType::AuthorizationCode => code_grant(sv, params, app).await,
    };
    if let Ok(t) = &result {
        let mut entry = Entry::new(
            Event::TokenIssued,
            format!("Tokens issued ({})", grant.as_str()),
        )
        .app(app)
        .detail("grant_type", grant.as_str())
        .detail("scope", t.scope.clone())
        .detail("id_token", t.id_token.is_some())
        .detail("refresh_token", t.refresh_token.is_some());
        if let Some(user) = &t.user_id {
            entry = entry.user(user);
        }
        sv.audit.record(entry);
    }
    result
}

/// RFC 6749 §4.1.3. The code is opened and checked here; its single use is decided by its
/// grant's object in one call, which also stores the refresh token when there is one.
async fn code_grant<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    app: &Application,
) -> Result<TokenResponse, Failure> {
    let code = AuthCode::new(params.require("code")?);
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    if verifier.is_some_and(|v| !pkce::is_valid_verifier(v)) {
        return Err(Failure::invalid_request(
            "the code_verifier must be 43-128 characters of [A-Za-z0-9-._~]",
        ));
    }
    let now = sv.clock.now();
    let invalid =
        || Failure::invalid_grant("the authorization code is invalid, expired or already used");
    let code = code::open(sv.sealer, &code).await?.ok_or_else(invalid)?;
    // Refusals before the grant is touched leave the code redeemable.
    if code.expires_at <= now {
        return Err(invalid());
    }
    check_binding(&code, app, redirect_uri, verifier)?;

    let refresh = match refresh::plan(app, &code.scope, now) {
        Some(plan) => Some((grants::new_refresh_token(sv.rng, &code.grant_id)?, plan)),
        None => None,
    };
    let grant = Grant {
        client_id: code.client_id.clone(),
        user_id: code.user_id.clone(),
        scope: code.scope.clone(),
        audience: code.audience.clone(),
        acr: code.acr.clone(),
        sid: code.sid.clone(),
        claims_request: code.claims_request.clone(),
        auth_time: code.auth_time,
        claims: code.claims.clone(),
        created_at: now,
        code_expires_at: code.expires_at,
        refresh: refresh
            .as_ref()
            .map(|(token, plan)| plan.state(token.hashed())),
        revoked_at: None,
        access_expires_at: now + app.token_settings.access_token_ttl,
    };
    let op = GrantOp::Redeem { grant, now };
    match sv.grants.grant(&code.grant_id, &op).await? {
        GrantAnswer::Redeemed => {}
        GrantAnswer::Replayed { user_id } => {
            sv.audit.record(
                Entry::new(
                    Event::CodeReplayed,
                    "An authorization code was presented again; its tokens are revoked",
                )
                .app(app)
                .user(&user_id),
            );
            return Err(Failure::invalid_grant(
                "the authorization code was already used; tokens issued with it are revoked",
            ));
        }
        other => return Err(Failure::server(format!("grant redeem answered {other:?}"))),
    }
    let subject = Subject {
        user_id: &code.user_id,
        scope: &code.scope,
        audience: code.audience.as_deref(),
        acr: code.acr.as_deref(),
        sid: code.sid.as_deref(),
        claims_request: &code.claims_request,
        claims: &code.claims,
        auth_time: code.auth_time,
        nonce: code.nonce.as_deref(),
        grant_id: Some(&code.grant_id),
    };
    // Signing comes after the redemption; if it fails, the redemption is undone so the
    // code can be tried again.
    let mut response = match mint(sv.signer, sv.sealer, sv.rng, sv.issuer, app, &subject, now).await
    {
        Ok(response) => response,
        Err(failure) => {
            if let Err(e) = sv.grants.grant(&code.grant_id, &GrantOp::Undo).await {
                crate::error::log_error(&format!(
                    "token: could not restore a code after a signing failure: {e}"
                ));
            }
            return Err(failure);
        }
    };
    if let Some((token, plan)) = refresh {
        sv.pending_index.push(GrantIndex {
            grant_id: code.grant_id.clone(),
            client_id: code.client_id.clone(),
            user_id: code.user_id.clone(),
            created_at: now,
            expires_at: plan.grant_expires_at,
        });
        response.refresh_token = Some(token.expose().to_string());
    }
    Ok(response)
}

/// The code was issued to this client, for this redirect URI, and the verifier matches its
/// challenge (RFC 6749 §4.1.3, RFC 7636 §4.6).
fn check_binding(
    code: &CodeGrant,
    app: &Application,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), Failure> {
    if code.client_id != app.client_id {
        return Err(Failure::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(Failure::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, verifier) {
        (Some(_), None) => Err(Failure::invalid_grant("the code_verifier is required")),
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(Failure::invalid_grant(
            "a code_verifier was sent but the authorization request had no code_challenge",
        )),
        (Some(challenge), Some(v)) if !pkce::verify(v, challenge) => {
            Err(Failure::invalid_grant("the code_verifier does not match"))
        }
        _ => Ok(()),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::testing::FakeSealer;
    use crate::crypto::ClientSecret;
    use crate::crypto::RefreshToken;
    use crate::model::AppType;
    use crate::model::UserClaims;
    use crate::oidc::audit::{Audit, Event};
    use crate::oidc::jwt;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;
    use jwt_compact::Claims;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const ISS: &str = "https://id.example";

    fn setup(app_type: AppType, challenge: Option<&str>) -> MemoryStore {
        let s = MemoryStore::default();
        let mut app = crate::oidc::testing::app(app_type);
        if app_type.is_confidential() {
            app.client_secret_hash = Some(ClientSecret::new("sec").hashed());
            app.token_endpoint_auth_method = crate::model::TokenAuthMethod::ClientSecretPost;
        }
        s.apps.borrow_mut().push(app);
        CODE.with(|c| {
            *c.borrow_mut() = Some(CodeGrant {
                claims_request: String::new(),
                sid: None,
                grant_id: GRANT.into(),
                client_id: "app1".into(),
                user_id: "u1".into(),
                redirect_uri: "https://app.example/cb?tenant=1".into(),
                scope: "openid email".into(),
                audience: None,
                acr: None,
                nonce: Some("n1".into()),
                code_challenge: challenge.map(str::to_string),
                auth_time: 900,
                claims: UserClaims {
                    roles: Default::default(),
                    email: "ada@example.com".into(),
                    email_verified: true,
                    name: Some("Ada".into()),
                    profile: Default::default(),
                    updated_at: None,
                },
                expires_at: 1_060,
            })
        });
        s
    }

    const GRANT: &str = "grant-of-the-test-code";

    thread_local! {
        /// The grant of the code that `setup` issued; "the-code" in a request body stands
        /// for it, sealed.
        static CODE: std::cell::RefCell<Option<CodeGrant>> = const { std::cell::RefCell::new(None) };
    }

    fn sealed_code() -> String {
        let grant = CODE.with(|c| c.borrow().clone()).expect("setup first");
        block_on(code::seal(&FakeSealer::default(), &grant))
            .unwrap()
            .expose()
            .to_string()
    }

    /// The test grant's object, if the code was redeemed.
    fn stored(store: &MemoryStore) -> Option<crate::model::grant::Grant> {
        store.grants.borrow().get(GRANT).cloned()
    }

    fn exchange(store: &MemoryStore, body: &str, now: i64) -> Result<TokenResponse, Failure> {
        exchange_with(store, &FakeSigner::new(), body, now)
    }

    fn exchange_with(
        store: &MemoryStore,
        signer: &FakeSigner,
        body: &str,
        now: i64,
    ) -> Result<TokenResponse, Failure> {
        run(store, signer, body, now, &Audit::default()).result
    }

    fn run(
        store: &MemoryStore,
        signer: &FakeSigner,
        body: &str,
        now: i64,
        audit: &Audit,
    ) -> Outcome {
        run_from(store, signer, body, now, audit, None)
    }

    fn run_from(
        store: &MemoryStore,
        signer: &FakeSigner,
        body: &str,
        now: i64,
        audit: &Audit,
        origin: Option<&str>,
    ) -> Outcome {
        let clock = FixedClock::at(now);
        let sv = services(store, signer, &clock, ISS, audit);
        let body = body.replace("the-code", &sealed_code());
        let body = body.as_str();
        block_on(handle(&sv, &Params::parse(body), None, origin))
    }

    /// Issue 17: a browser on an origin the application does not allow is refused before
    /// the code is spent, so the code still works from an allowed place.
    #[test]
    fn a_disallowed_browser_origin_is_refused_and_nothing_is_consumed() {
        let (store, signer) = (setup(AppType::Spa, Some(CHALLENGE)), FakeSigner::new());
        store.apps.borrow_mut()[0].allowed_origins = vec!["https://app.example".into()];
        let audit = Audit::default();
        let out = run_from(
            &store,
            &signer,
            GOOD,
            1_010,
            &audit,
            Some("https://evil.example"),
        );
        let e = out.result.unwrap_err();
        assert_eq!(e.error, OAuthError::InvalidRequest);
        assert!(
            e.description.contains("https://evil.example"),
            "{}",
            e.description
        );
        let ok = run_from(
            &store,
            &signer,
            GOOD,
            1_010,
            &audit,
            Some("https://app.example"),
        );
        assert!(ok.result.is_ok(), "the code was not spent");
    }

    const GOOD: &str = "grant_type=authorization_code&code=the-code&client_id=app1\
        &redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftenant%3D1\
        &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn public_client_exchanges_a_code_once() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        let t = exchange(&store, GOOD, 1_010).unwrap();
        assert_eq!(t.token_type, "Bearer");
        assert_eq!(t.scope, "openid email");
        let id: Claims<serde_json::Value> = block_on(jwt::decode_verified(
            &FakeSigner::new(),
            t.id_token.as_deref().unwrap(),
            jwt::ID_TOKEN_TYP,
            1_010,
        ))
        .unwrap();
        assert_eq!(id.custom["aud"], "app1");
        assert_eq!(id.custom["nonce"], "n1");
        assert_eq!(id.custom["auth_time"], 900);
        assert_eq!(
            id.custom["at_hash"],
            jwt::at_hash(&t.access_token, jwt::SigningAlg::Rs256)
        );
        assert_eq!(id.custom["email"], "ada@example.com");
        assert!(id.custom.get("name").is_none(), "no profile scope");
        let again = exchange(&store, GOOD, 1_011).unwrap_err();
        assert_eq!(again.error, OAuthError::InvalidGrant);
        let _ = VERIFIER;
    }

    #[test]
    fn mismatches_are_invalid_grant() {
        for (body, now) in [
            (GOOD.replace("EjXk", "EjXj"), 1_010),
            (GOOD.replace("tenant%3D1", "tenant%3D2"), 1_010),
            (
                GOOD.replace(
                    "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                    "",
                ),
                1_010,
            ),
            (GOOD.replace("the-code", "other-code"), 1_010),
            (GOOD.to_string(), 1_060),
        ] {
            let store = setup(AppType::Spa, Some(CHALLENGE));
            assert_eq!(
                exchange(&store, &body, now).unwrap_err().error,
                OAuthError::InvalidGrant,
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_requests_do_not_spend_the_code() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        for (body, expected) in [
            (
                GOOD.replace("authorization_code", "password"),
                OAuthError::UnsupportedGrantType,
            ),
            (
                GOOD.replace("code_verifier=", "code_verifier=short&x="),
                OAuthError::InvalidRequest,
            ),
            (format!("{GOOD}&code=again"), OAuthError::InvalidRequest),
            (
                GOOD.replace("&redirect_uri=", "&x="),
                OAuthError::InvalidRequest,
            ),
        ] {
            assert_eq!(
                exchange(&store, &body, 1_010).unwrap_err().error,
                expected,
                "{body}"
            );
        }
        assert!(exchange(&store, GOOD, 1_010).is_ok());
    }

    #[test]
    fn verifier_without_challenge_is_a_downgrade() {
        let store = setup(AppType::Traditional, None);
        let body = format!("{}&client_secret=sec", GOOD);
        assert_eq!(
            exchange(&store, &body, 1_010).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        let store = setup(AppType::Traditional, None);
        let body = body.replace(
            "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "",
        );
        assert!(exchange(&store, &body, 1_010).is_ok());
    }

    #[test]
    fn code_of_another_client_is_refused_and_auth_failure_reports_no_app() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        let mut other = crate::oidc::testing::app(AppType::Spa);
        other.client_id = "app2".into();
        store.apps.borrow_mut().push(other);
        let body = GOOD.replace("client_id=app1", "client_id=app2");
        assert_eq!(
            exchange(&store, &body, 1_010).unwrap_err().error,
            OAuthError::InvalidGrant
        );

        let audit = Audit::default();
        let out = run(
            &store,
            &FakeSigner::new(),
            &GOOD.replace("client_id=app1", "client_id=ghost"),
            1_010,
            &audit,
        );
        assert!(out.app.is_none());
        assert_eq!(out.result.unwrap_err().error, OAuthError::InvalidClient);
        let entries = audit.take();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].event, Event::ClientAuthFailed);
        assert_eq!(entries[0].client_id.as_deref(), Some("ghost"));
    }

    #[test]
    fn token_lifetimes_follow_the_application_and_grants_are_enforced() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        store.apps.borrow_mut()[0].token_settings.id_token_ttl = 300;
        store.apps.borrow_mut()[0].token_settings.access_token_ttl = 600;
        let t = exchange(&store, GOOD, 1_010).unwrap();
        assert_eq!(t.expires_in, 600);
        let id: Claims<serde_json::Value> = block_on(jwt::decode_verified(
            &FakeSigner::new(),
            t.id_token.as_deref().unwrap(),
            jwt::ID_TOKEN_TYP,
            1_010,
        ))
        .unwrap();
        assert_eq!(id.expiration.unwrap().timestamp(), 1_310);

        let store = setup(AppType::Spa, Some(CHALLENGE));
        store.apps.borrow_mut()[0].grant_types = vec![GrantType::RefreshToken];
        assert_eq!(
            exchange(&store, GOOD, 1_010).unwrap_err().error,
            OAuthError::UnauthorizedClient
        );
    }

    #[test]
    fn a_failed_check_does_not_spend_the_code() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        let wrong = GOOD.replace("EjXk", "EjXj");
        assert_eq!(
            exchange(&store, &wrong, 1_010).unwrap_err().error,
            OAuthError::InvalidGrant
        );
        assert!(
            exchange(&store, GOOD, 1_011).is_ok(),
            "the right client still redeems it"
        );
    }

    fn with_offline_access(_: &MemoryStore) {
        CODE.with(|c| {
            if let Some(code) = c.borrow_mut().as_mut() {
                code.scope = "openid email offline_access".into();
            }
        });
    }

    #[test]
    fn the_audit_log_sees_issuance_and_replay_but_no_token() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        let audit = Audit::default();
        let t = run(&store, &FakeSigner::new(), GOOD, 1_010, &audit)
            .result
            .unwrap();
        let issued = audit.take();
        assert_eq!(issued.len(), 1);
        let e = &issued[0];
        assert_eq!(e.event, Event::TokenIssued);
        assert_eq!(e.user_id.as_deref(), Some("u1"));
        assert_eq!(e.application_name.as_deref(), Some("App"));
        assert_eq!(e.detail["grant_type"], "authorization_code");
        assert_eq!(e.detail["refresh_token"], true);
        let text = format!("{e:?}");
        let refresh = t.refresh_token.unwrap();
        for secret in [
            t.access_token.as_str(),
            refresh.as_str(),
            "the-code",
            VERIFIER,
        ] {
            assert!(!text.contains(secret));
        }
        assert!(run(&store, &FakeSigner::new(), GOOD, 1_011, &audit)
            .result
            .is_err());
        assert_eq!(audit.events(), [Event::CodeReplayed]);
    }

    #[test]
    fn a_replayed_code_revokes_the_refresh_token_it_gave_out() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        let first = exchange(&store, GOOD, 1_010).unwrap();
        assert!(first.refresh_token.is_some());
        assert_eq!(stored(&store).unwrap().revoked_at, None);
        let replay = exchange(&store, GOOD, 1_020).unwrap_err();
        assert_eq!(replay.error, OAuthError::InvalidGrant);
        assert_eq!(stored(&store).unwrap().revoked_at, Some(1_020));
    }

    #[test]
    fn a_storage_failure_at_redemption_writes_nothing_and_the_code_survives() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        store.fail_on.borrow_mut().push("grant");
        let err = exchange(&store, GOOD, 1_010).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
        assert_eq!(stored(&store), None, "code not spent, nothing recorded");
        store.fail_on.borrow_mut().clear();
        let ok = exchange(&store, GOOD, 1_011).unwrap();
        assert!(ok.refresh_token.is_some());
        assert!(stored(&store).unwrap().refresh.is_some());
    }

    #[test]
    fn a_signing_failure_undoes_the_redemption() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        let signer = FakeSigner::new();
        signer.broken.set(true);
        let err = exchange_with(&store, &signer, GOOD, 1_010).unwrap_err();
        assert_eq!(err.error, OAuthError::ServerError);
        assert_eq!(
            stored(&store),
            None,
            "the redemption and its token are gone"
        );
        signer.broken.set(false);
        let ok = exchange_with(&store, &signer, GOOD, 1_011).unwrap();
        assert!(ok.refresh_token.is_some(), "the client's retry succeeds");
    }

    #[test]
    fn when_the_undo_fails_too_the_code_stays_spent_and_hands_out_nothing() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        let signer = FakeSigner::new();
        signer.broken.set(true);
        store.fail_on.borrow_mut().push("grant.undo");
        assert_eq!(
            exchange_with(&store, &signer, GOOD, 1_010)
                .unwrap_err()
                .error,
            OAuthError::ServerError
        );
        // The refresh token was stored but never given to anyone; a later replay of the
        // code revokes it like any other.
        signer.broken.set(false);
        assert_eq!(
            exchange_with(&store, &signer, GOOD, 1_011)
                .unwrap_err()
                .error,
            OAuthError::InvalidGrant
        );
        assert!(stored(&store).unwrap().revoked_at.is_some());
    }

    #[test]
    fn refresh_tokens_follow_scope_and_grant_and_stored_ones_are_what_is_handed_out() {
        // No offline_access: none stored, none handed out.
        let store = setup(AppType::Spa, Some(CHALLENGE));
        assert!(exchange(&store, GOOD, 1_010)
            .unwrap()
            .refresh_token
            .is_none());
        assert_eq!(stored(&store).unwrap().refresh, None);
        // Always-issue setting: one without offline_access.
        let store = setup(AppType::Spa, Some(CHALLENGE));
        store.apps.borrow_mut()[0]
            .token_settings
            .always_issue_refresh_token = true;
        let t = exchange(&store, GOOD, 1_010).unwrap();
        let handed = RefreshToken::new(t.refresh_token.unwrap());
        assert_eq!(crate::oidc::grants::grant_of(&handed), Some(GRANT));
        let grant = stored(&store).unwrap();
        assert_eq!(
            grant.access_expires_at,
            1_010 + 3600,
            "kept while the access token lives"
        );
        assert_eq!(grant.refresh.unwrap().token_hash, handed.hashed());
        assert_eq!(grant.user_id, "u1");
        assert_eq!(grant.scope, "openid email");
        assert_eq!(grant.claims.email, "ada@example.com");
        // No refresh grant: none, even with offline_access.
        let store = setup(AppType::Spa, Some(CHALLENGE));
        with_offline_access(&store);
        store.apps.borrow_mut()[0].grant_types = vec![GrantType::AuthorizationCode];
        assert!(exchange(&store, GOOD, 1_010)
            .unwrap()
            .refresh_token
            .is_none());
        assert_eq!(stored(&store).unwrap().refresh, None);
    }

    #[test]
    fn storage_outage_is_temporarily_unavailable() {
        let store = setup(AppType::Spa, Some(CHALLENGE));
        store.fail.set(true);
        let err = exchange(&store, GOOD, 1_010).unwrap_err();
        assert_eq!(err.error, OAuthError::TemporarilyUnavailable);
    }
}

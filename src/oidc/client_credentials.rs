//! The client credentials grant (RFC 6749 §4.4) for machine-to-machine applications: an
//! access token for one of the application's allowed APIs, with at most its allowed scopes.
//! No ID token and no refresh token: there is no user, and the client can simply ask again.

use super::access;
use super::jwt::{self, AccessTokenClaims};
use super::mint::TokenResponse;
use super::params::Params;
use super::services::{Deps, Services};
use crate::crypto::random_token;
use crate::error::{Failure, OAuthError};
use crate::model::Application;
use crate::runtime::Clock;

/// The API the token is for (`access::requested_api`); with none named, the only allowed one.
fn audience(app: &Application, params: &Params) -> Result<String, Failure> {
    if let Some(api) = access::requested_api(app, params)? {
        return Ok(api);
    }
    let target = |d: &str| Failure::new(OAuthError::InvalidTarget, d.to_string());
    match app.allowed_audiences.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(target(
            "this application has no allowed_audiences: configure the APIs it may call",
        )),
        _ => Err(target(
            "name the API with the resource or audience parameter",
        )),
    }
}

/// The requested scopes, each allowed; all allowed scopes when none are requested.
fn scope(app: &Application, params: &Params) -> Result<String, Failure> {
    let Some(requested) = params.get("scope")? else {
        return Ok(app.allowed_scopes.join(" "));
    };
    let mut out: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !app.allowed_scopes.iter().any(|a| a == s) {
            return Err(Failure::new(
                OAuthError::InvalidScope,
                format!("this application may not request the scope {s}"),
            ));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out.join(" "))
}

/// `grant_type=client_credentials`, RFC 6749 §4.4.2. The client is already authenticated
/// and has the grant (only confidential types can).
pub async fn grant<D: Deps>(
    sv: &Services<'_, D>,
    params: &Params,
    app: &Application,
) -> Result<TokenResponse, Failure> {
    let Services {
        signer,
        clock,
        rng,
        issuer,
        ..
    } = *sv;
    if app.is_public() {
        return Err(Failure::new(
            OAuthError::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let aud = audience(app, params)?;
    let scope = scope(app, params)?;
    let now = clock.now();
    let claims = jwt::claims(
        AccessTokenClaims {
            roles: Default::default(),
            iss: issuer.to_string(),
            // RFC 9068 §2.2: with no resource owner, the subject is the client.
            sub: app.client_id.clone(),
            aud,
            client_id: app.client_id.clone(),
            scope: scope.clone(),
            jti: random_token::<16>(rng)?,
            gid: None,
            claims: None,
        },
        now,
        app.token_settings.access_token_ttl,
    );
    Ok(TokenResponse {
        access_token: jwt::encode(
            signer,
            jwt::SigningAlg::Rs256,
            jwt::ACCESS_TOKEN_TYP,
            &claims,
        )
        .await?,
        token_type: "Bearer",
        expires_in: app.token_settings.access_token_ttl,
        id_token: None,
        refresh_token: None,
        scope,
        user_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppType;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::services;
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;
    use jwt_compact::Claims;

    fn m2m() -> Application {
        let mut a = crate::oidc::testing::app(AppType::M2m);
        a.redirect_uris.clear();
        a.allowed_audiences = vec!["https://api.example.com".into()];
        a.allowed_scopes = vec!["read:things".into(), "write:things".into()];
        a
    }

    fn run(app: &Application, body: &str) -> Result<TokenResponse, Failure> {
        let (store, signer, clock) = (
            MemoryStore::default(),
            FakeSigner::new(),
            FixedClock::at(100),
        );
        let audit = crate::oidc::audit::Audit::default();
        let sv = services(&store, &signer, &clock, "https://id.example", &audit);
        block_on(grant(&sv, &Params::parse(body), app))
    }

    #[test]
    fn a_token_for_the_allowed_api_without_id_or_refresh_token() {
        let t = run(&m2m(), "grant_type=client_credentials&scope=read:things").unwrap();
        assert!(t.id_token.is_none() && t.refresh_token.is_none());
        assert_eq!(t.scope, "read:things");
        let c: Claims<AccessTokenClaims> = block_on(jwt::decode_verified(
            &FakeSigner::new(),
            &t.access_token,
            jwt::ACCESS_TOKEN_TYP,
            100,
        ))
        .unwrap();
        assert_eq!(c.custom.aud, "https://api.example.com");
        assert_eq!(c.custom.sub, "app1");
        let all = run(&m2m(), "grant_type=client_credentials").unwrap();
        assert_eq!(all.scope, "read:things write:things");
    }

    #[test]
    fn other_apis_and_scopes_are_refused() {
        let app = m2m();
        let err = |b: &str| run(&app, b).unwrap_err().error;
        assert_eq!(
            err("resource=https://other.example.com"),
            OAuthError::InvalidTarget
        );
        assert_eq!(
            err("audience=https://other.example.com"),
            OAuthError::InvalidTarget
        );
        assert_eq!(err("scope=admin"), OAuthError::InvalidScope);
        assert_eq!(
            err("resource=https://api.example.com&audience=https://x.example.com"),
            OAuthError::InvalidRequest
        );
        let mut none = m2m();
        none.allowed_audiences.clear();
        assert_eq!(run(&none, "").unwrap_err().error, OAuthError::InvalidTarget);
        assert!(run(&app, "audience=https://api.example.com").is_ok());
    }
}

//! Minting: the access token (`oidc::access`) and ID token (OpenID Connect Core §2) every grant
//! hands out, and the token response (RFC 6749 §5.1). Shared by the grants, below them.

use serde::Serialize;

use super::access;
use super::claims_request::{names, Target, CLAIM_SCOPES};
use super::jwt::{self, AccessTokenClaims, ProfileClaims, Signer};
use crate::crypto::random_token;
use crate::crypto::seal::Sealer;
use crate::error::Failure;
use crate::model::profile::{PHONE_FIELDS, PROFILE_FIELDS};
use crate::model::{Application, UserClaims};
use crate::runtime::Random;

/// RFC 6749 §5.1 plus the OpenID Connect `id_token`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// The user the tokens speak for (none for client credentials): for the audit log.
    #[serde(skip)]
    pub user_id: Option<String>,
}

/// Whom tokens are minted for, and with what.
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub scope: &'a str,
    /// The API the access token is for; `None`: this provider only (userinfo).
    pub audience: Option<&'a str>,
    /// The ID token's `acr`, if the authorization asked for one.
    pub acr: Option<&'a str>,
    /// The login session's `sid` (Back-Channel Logout 1.0 §2.1), when the tokens come
    /// from one.
    pub sid: Option<&'a str>,
    /// The `claims` parameter's names, as `oidc::claims_request` carries them.
    pub claims_request: &'a str,
    pub claims: &'a UserClaims,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// The grant the tokens belong to (named in the access token, `gid`).
    pub grant_id: Option<&'a str>,
}

/// An access token (`oidc::access`: opaque, for userinfo) and, for `openid`, an ID token
/// (OpenID Connect Core §2), with the application's lifetimes.
pub async fn mint(
    signer: &impl Signer,
    sealer: &impl Sealer,
    rng: &impl Random,
    issuer: &str,
    app: &Application,
    subject: &Subject<'_>,
    now: i64,
) -> Result<TokenResponse, Failure> {
    let scopes: Vec<&str> = subject.scope.split(' ').collect();
    let access = AccessTokenClaims {
        iss: issuer.to_string(),
        sub: subject.user_id.to_string(),
        aud: audience(issuer, subject.audience),
        client_id: app.client_id.clone(),
        scope: subject.scope.to_string(),
        jti: random_token::<16>(rng)?,
        gid: subject.grant_id.map(str::to_string),
        // Only tokens for userinfo (opaque, never read by an API) carry its claim names.
        claims: Some(names(subject.claims_request, Target::Userinfo))
            .filter(|n| !n.is_empty() && subject.audience.is_none())
            .map(str::to_string),
        // An API's token (a JWT the API reads itself) carries the roles the scope asked for.
        roles: (subject.audience.is_some() && scopes.contains(&"roles"))
            .then(|| subject.claims.roles.clone()),
    };
    let ttl = app.token_settings.access_token_ttl;
    let access_token = access::issue(signer, sealer, access, now, ttl).await?;
    let id_alg = app.id_token_signed_response_alg;
    let id_token = if scopes.contains(&"openid") {
        // OpenID Connect Core §2, with the scopes' claims (§5.4). A map rather than a
        // struct with a flattened member: serde's code for that cost Wasm size.
        let asked = names(subject.claims_request, Target::IdToken);
        let mut claims = released_claims(subject.claims, &scopes, asked);
        claims.insert("iss".into(), issuer.into());
        claims.insert("sub".into(), subject.user_id.into());
        claims.insert("aud".into(), app.client_id.as_str().into());
        claims.insert("auth_time".into(), subject.auth_time.into());
        if let Some(acr) = subject.acr {
            claims.insert("acr".into(), acr.into());
        }
        if let Some(sid) = subject.sid {
            claims.insert("sid".into(), sid.into());
        }
        if let Some(nonce) = subject.nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        let at_hash = jwt::at_hash(&access_token, id_alg);
        claims.insert("at_hash".into(), at_hash.into());
        let id = jwt::claims(claims, now, app.token_settings.id_token_ttl);
        Some(jwt::encode(signer, id_alg, jwt::ID_TOKEN_TYP, &id).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: app.token_settings.access_token_ttl,
        id_token,
        refresh_token: None,
        scope: subject.scope.to_string(),
        user_id: Some(subject.user_id.to_string()),
    })
}

/// The access token's `aud`: the API named at the authorization, else this provider. A
/// token is for one audience (as Logto's are): an API's token does not reach userinfo.
fn audience(issuer: &str, api: Option<&str>) -> String {
    api.unwrap_or(issuer).to_string()
}

/// The claims the scopes release, plus the ones asked for by name (`asked`, space-separated;
/// OpenID Connect Core §5.5) that the user has.
pub fn released_claims(claims: &UserClaims, scopes: &[&str], asked: &str) -> ProfileClaims {
    let mut out = profile_claims(claims, scopes);
    if !asked.is_empty() {
        let all = profile_claims(claims, &CLAIM_SCOPES);
        for name in asked.split(' ') {
            if let Some(v) = all.get(name) {
                out.insert(name.to_string(), v.clone());
            }
        }
    }
    out
}

/// Standard claims by scope (OpenID Connect Core §5.4): `email`, `profile` (names, URLs,
/// birthdate, zone, locale, `updated_at`), `address`, `phone`. Unset claims are left out.
pub fn profile_claims(claims: &UserClaims, scopes: &[&str]) -> ProfileClaims {
    let mut out = ProfileClaims::new();
    let asked = |s: &str| scopes.contains(&s);
    let p = &claims.profile;
    if asked("email") {
        out.insert("email".into(), claims.email.as_str().into());
        out.insert("email_verified".into(), claims.email_verified.into());
    }
    let mut copy = |fields: &[&str]| {
        for f in fields {
            if let Some(v) = p.get(f) {
                out.insert(f.to_string(), v.clone());
            }
        }
    };
    if asked("profile") {
        copy(&PROFILE_FIELDS);
    }
    if asked("address") {
        copy(&["address"]);
    }
    if asked("phone") && p.get("phone_number").is_some() {
        copy(&PHONE_FIELDS);
        out.entry("phone_number_verified").or_insert(false.into());
    }
    // Not a standard claim: the user's roles (Auth0 and Logto put them in tokens the same way),
    // always an array, empty for a user without roles.
    if asked("roles") {
        out.insert("roles".into(), claims.roles.clone().into());
    }
    if asked("profile") {
        if let Some(name) = &claims.name {
            out.insert("name".into(), name.as_str().into());
        }
        out.insert("preferred_username".into(), claims.email.as_str().into());
        if let Some(at) = claims.updated_at {
            out.insert("updated_at".into(), at.into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::Profile;
    use serde_json::json;

    #[test]
    fn the_roles_scope_releases_the_roles_as_an_array() {
        let mut claims = crate::oidc::testing::user("u1", "ada@example.com").claims();
        assert_eq!(
            profile_claims(&claims, &["openid", "roles"])["roles"],
            json!([])
        );
        claims.roles = vec!["hr".into(), "admin".into()];
        assert_eq!(
            profile_claims(&claims, &["openid", "roles"])["roles"],
            json!(["hr", "admin"])
        );
        assert!(profile_claims(&claims, &["openid", "profile"])
            .get("roles")
            .is_none());
        let by_name = released_claims(&claims, &["openid"], "roles");
        assert_eq!(
            by_name["roles"],
            json!(["hr", "admin"]),
            "asked for by name (claims parameter)"
        );
    }

    #[test]
    fn each_scope_releases_its_claims_and_unset_ones_are_left_out() {
        let profile: Profile = serde_json::from_value(json!({
            "given_name": "Ada", "birthdate": "1815-12-10", "phone_number": "+44 20 7946 0958",
            "address": {"country": "GB"}
        }))
        .unwrap();
        let claims = UserClaims {
            roles: Default::default(),
            email: "ada@example.com".into(),
            email_verified: true,
            name: Some("Ada Lovelace".into()),
            profile,
            updated_at: Some(1_700),
        };
        let released = |scope: &str| {
            let scopes: Vec<&str> = scope.split(' ').collect();
            serde_json::Value::Object(profile_claims(&claims, &scopes))
        };
        assert_eq!(released("openid"), json!({}));
        assert_eq!(
            released("openid profile"),
            json!({"name": "Ada Lovelace", "preferred_username": "ada@example.com",
                   "given_name": "Ada", "birthdate": "1815-12-10", "updated_at": 1_700})
        );
        assert_eq!(
            released("openid address"),
            json!({"address": {"country": "GB"}})
        );
        assert_eq!(
            released("openid phone"),
            json!({"phone_number": "+44 20 7946 0958", "phone_number_verified": false})
        );
        assert_eq!(
            released("openid email"),
            json!({"email": "ada@example.com", "email_verified": true})
        );
    }
}

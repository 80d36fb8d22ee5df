//! `private_key_jwt`: a client authenticates with a JWT it signed with a key it registered
//! (RFC 7523 §2.2 and §3, OpenID Connect Core §9). The registered keys are checked here
//! too (`check_jwks`), so the rule for what a client key may be has one owner.
//!
//! `client_secret_jwt` (an HMAC under the client secret) cannot be offered: secrets are
//! stored hashed, so the provider has no key to check the MAC with.

use jwt_compact::UntrustedToken;
use serde::Deserialize;
use serde_json::Value;

use super::jwt::{Signer, SigningAlg};
use crate::crypto::{hex, sha256};
use crate::error::Failure;
use crate::model::Application;
use crate::runtime::Outbound;
use crate::store::ThrottleStore;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion may expire: its `jti` is remembered until then.
const MAX_LIFETIME_SECS: i64 = 3600;
/// Clocks disagree: `exp`, `nbf` and `iat` are judged with this much slack.
const SKEW_SECS: i64 = 60;
const MAX_KEYS: usize = 10;
const MAX_JWKS_LEN: usize = 16 * 1024;
const MAX_JTI_LEN: usize = 256;
/// Members of a private or symmetric JWK (RFC 7518 §6.2.2, §6.3.2, §6.4): never registered.
const SECRET_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// A client's JWK Set as registered (RFC 7591 §2 `jwks`): 1 to 10 public RSA, EC or OKP
/// keys, each with the members of its type. Returns the set as compact JSON, as stored.
pub fn check_jwks(v: &Value) -> Result<String, &'static str> {
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("must be a JWK Set: an object with a keys array")?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err("must hold 1 to 10 keys");
    }
    for k in keys {
        let k = k.as_object().ok_or("every key must be an object")?;
        let needs: &[&str] = match k.get("kty").and_then(Value::as_str) {
            Some("RSA") => &["n", "e"],
            Some("EC") => &["crv", "x", "y"],
            Some("OKP") => &["crv", "x"],
            _ => return Err("every key's kty must be RSA, EC or OKP"),
        };
        if needs
            .iter()
            .any(|m| !k.get(*m).is_some_and(Value::is_string))
        {
            return Err("a key lacks a member of its kty");
        }
        if SECRET_MEMBERS.iter().any(|m| k.contains_key(*m)) {
            return Err("must hold public keys only (a private member is present)");
        }
    }
    let text = v.to_string();
    if text.len() > MAX_JWKS_LEN {
        return Err("is too large (16 KB at most)");
    }
    Ok(text)
}

/// The client an assertion names (`sub`, unverified), when the request says no `client_id`
/// (RFC 7523 §3: `sub` is the client_id).
pub fn subject(assertion: &str) -> Option<String> {
    let claims = UntrustedToken::new(assertion)
        .ok()?
        .deserialize_claims_unchecked::<AssertionClaims>()
        .ok()?;
    claims.custom.sub
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Value,
    jti: Option<String>,
}

/// Where an assertion may be addressed: the issuer, or the endpoint that authenticates
/// clients (RFC 7523 §3 item 3; Core §9 names the token endpoint).
fn audience_ok(aud: &Value, issuer: &str) -> bool {
    let ours = |a: &str| {
        a == issuer
            || a.strip_prefix(issuer)
                .is_some_and(|path| matches!(path, "/token" | "/revoke" | "/introspect"))
    };
    match aud {
        Value::String(a) => ours(a),
        Value::Array(list) => list.iter().any(|a| a.as_str().is_some_and(ours)),
        _ => false,
    }
}

/// The keys of `jwks` that may have signed with `alg`: the one named by `kid`, or every
/// key without a conflicting `alg` or `use` when the header names none.
fn candidates(jwks: &str, kid: Option<&str>, alg: SigningAlg) -> Vec<String> {
    let Ok(set) = serde_json::from_str::<Value>(jwks) else {
        return Vec::new();
    };
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    keys.into_iter()
        .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
        .filter(|k| {
            k.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == alg.as_str())
        })
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .map(|k| k.to_string())
        .collect()
}

/// The client's keys: as registered, or fetched from its `jwks_uri` now. Not cached, so a
/// client that rotates its keys is heard at once (OpenID Connect Core §10.1.1). `Err` says
/// why there are none.
async fn client_jwks(app: &Application, outbound: &impl Outbound) -> Result<String, String> {
    match (&app.jwks, &app.jwks_uri) {
        (Some(jwks), _) => Ok(jwks.clone()),
        (None, Some(uri)) => {
            let (status, body) = outbound
                .get(uri, MAX_JWKS_LEN)
                .await
                .map_err(|e| format!("the client's jwks_uri could not be read: {e}"))?;
            if status != 200 {
                return Err(format!("the client's jwks_uri answered {status}"));
            }
            let parsed = serde_json::from_str::<Value>(&body)
                .map_err(|_| "the client's jwks_uri did not answer JSON".to_string())?;
            check_jwks(&parsed).map_err(|why| format!("the client's jwks_uri: the key set {why}"))
        }
        (None, None) => Err("the client has no registered keys".into()),
    }
}

/// `jwt` parsed, when one of `app`'s keys signed it with an algorithm this provider takes
/// (RS256, ES256, EdDSA: never `none` or HMAC). The inner `Err` says what is wrong, for the
/// caller's own error code (a client assertion's, a request object's); the outer one is
/// the provider's own failure.
pub(super) async fn signed_by_client<'t>(
    signer: &impl Signer,
    outbound: &impl Outbound,
    app: &Application,
    jwt: &'t str,
) -> Result<Result<UntrustedToken<'t>, String>, Failure> {
    let Ok(token) = UntrustedToken::new(jwt) else {
        return Ok(Err("is not a JWT".into()));
    };
    let Some(alg) = SigningAlg::parse(token.algorithm()) else {
        return Ok(Err("must be signed with RS256, ES256 or EdDSA".into()));
    };
    let Some((input, _)) = jwt.rsplit_once('.') else {
        return Ok(Err("is not a JWT".into()));
    };
    let jwks = match client_jwks(app, outbound).await {
        Ok(jwks) => jwks,
        Err(why) => return Ok(Err(format!("cannot be checked: {why}"))),
    };
    for key in candidates(&jwks, token.header().key_id.as_deref(), alg) {
        let sig = token.signature_bytes();
        if signer
            .verify_with_jwk(&key, alg, input.as_bytes(), sig)
            .await?
        {
            return Ok(Ok(token));
        }
    }
    Ok(Err("is not signed by a key the client registered".into()))
}

/// Checks `assertion` for `app` (RFC 7523 §3): signed by one of its keys, `iss` and `sub`
/// the client, addressed to this provider, unexpired and not far-lived, and never seen
/// before (its `jti` is counted once in a Durable Object until it expires). Every refusal
/// is `invalid_client`, with what was wrong.
pub async fn verify(
    signer: &impl Signer,
    replay: &impl ThrottleStore,
    outbound: &impl Outbound,
    issuer: &str,
    now: i64,
    app: &Application,
    assertion: &str,
) -> Result<(), Failure> {
    let bad = |why: &'static str| Failure::invalid_client(why);
    let token = match signed_by_client(signer, outbound, app, assertion).await? {
        Ok(token) => token,
        Err(why) => return Err(Failure::invalid_client(format!("client_assertion {why}"))),
    };
    // exp, nbf and iat are jwt-compact's own members of Claims.
    let all = token
        .deserialize_claims_unchecked::<AssertionClaims>()
        .map_err(|_| bad("client_assertion's claims are malformed"))?;
    let seconds = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp());
    let (exp, nbf, iat) = (
        seconds(all.expiration),
        seconds(all.not_before),
        seconds(all.issued_at),
    );
    let claims = all.custom;
    let is_client = |v: &Option<String>| v.as_deref() == Some(app.client_id.as_str());
    if !is_client(&claims.iss) || !is_client(&claims.sub) {
        return Err(bad("client_assertion's iss and sub must be the client_id"));
    }
    if !audience_ok(&claims.aud, issuer) {
        return Err(bad(
            "client_assertion's aud must be the issuer or the token endpoint",
        ));
    }
    let exp = exp.ok_or_else(|| bad("client_assertion has no exp"))?;
    if exp + SKEW_SECS <= now {
        return Err(bad("client_assertion has expired"));
    }
    if exp > now + MAX_LIFETIME_SECS {
        return Err(bad("client_assertion must expire within an hour"));
    }
    if nbf.is_some_and(|t| t > now + SKEW_SECS) || iat.is_some_and(|t| t > now + SKEW_SECS) {
        return Err(bad("client_assertion is not valid yet"));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN);
    let jti = jti.ok_or_else(|| bad("client_assertion needs a jti (1 to 256 characters)"))?;
    // Core §9: the jti is single use. Counted under a hash of client and jti, for as long as
    // the assertion could still be accepted.
    let key = format!(
        "assertion:{}",
        hex(&sha256(format!("{}\0{jti}", app.client_id).as_bytes()))
    );
    let seen = replay
        .record_failure(&key, now, exp - now + SKEW_SECS)
        .await?;
    if seen > 1 {
        return Err(bad(
            "client_assertion was used before (its jti is single use)",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "client_assertion_tests.rs"]
mod tests;

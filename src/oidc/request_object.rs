//! Request objects (OpenID Connect Core §6, RFC 9101): authorization request parameters in a
//! JWT the client signed, by value (`request`) or at a URL (`request_uri`). They must be
//! signed with the client's registered keys (`client_assertion::signed_by_client`); unsigned
//! objects (`alg: none`) are refused, and discovery leaves `none` out of
//! `request_object_signing_alg_values_supported`, as Core §6.1 allows.

use serde_json::Value;

use super::app_settings::outbound_uri_ok;
use super::client_assertion::signed_by_client;
use super::params::Params;
use super::services::{Deps, Services};
use crate::error::{Failure, OAuthError};
use crate::runtime::{Clock, Outbound};
use crate::store::Store;

/// A request object's size limit, fetched or sent.
const MAX_OBJECT_LEN: usize = 16 * 1024;
/// The JWT's own claims (RFC 7519 §4.1): checked, not passed on as parameters; and the two
/// parameters an object must not hold (Core §6.1).
const NOT_PARAMETERS: [&str; 8] = [
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "request",
    "request_uri",
];

fn object_error(why: impl Into<std::borrow::Cow<'static, str>>) -> Failure {
    Failure::new(OAuthError::InvalidRequestObject, why)
}

/// The authorization request with its request object's parameters in place (Core §6.3.3:
/// the object's values win; the query's others stay), or `None` when it has none. The
/// caller sends a failure back as `authorize::refuse` says.
pub async fn expand<D: Deps>(
    svc: &Services<'_, D>,
    params: &Params,
) -> Result<Option<Params>, Failure> {
    let (by_value, by_reference) = (params.get("request")?, params.get("request_uri")?);
    if by_value.is_none() && by_reference.is_none() {
        return Ok(None);
    }
    if by_value.is_some() && by_reference.is_some() {
        return Err(Failure::invalid_request(
            "send request or request_uri, not both",
        ));
    }
    let client_id = params.require("client_id")?;
    let Some(app) = svc.store.application(client_id).await? else {
        return Err(Failure::invalid_client("unknown client_id"));
    };
    // Nothing is fetched for a client that could not have signed what is there.
    if app.jwks.is_none() && app.jwks_uri.is_none() {
        return Err(object_error(
            "this client has registered no keys (jwks or jwks_uri) to sign request objects with",
        ));
    }
    let jwt = match (by_value, by_reference) {
        (Some(object), _) => object.to_string(),
        (None, Some(uri)) => fetch(svc.outbound, uri).await?,
        (None, None) => return Ok(None),
    };
    if jwt.len() > MAX_OBJECT_LEN {
        return Err(object_error(
            "the request object is too large (16 KB at most)",
        ));
    }
    let token = match signed_by_client(svc.signer, svc.outbound, &app, &jwt).await? {
        Ok(token) => token,
        Err(why) => return Err(object_error(format!("the request object {why}"))),
    };
    let claims = token
        .deserialize_claims_unchecked::<serde_json::Map<String, Value>>()
        .map_err(|_| object_error("the request object's claims are malformed"))?;
    let now = svc.clock.now();
    if claims.expiration.is_some_and(|t| t.timestamp() <= now) {
        return Err(object_error("the request object has expired"));
    }
    let object = claims.custom;
    check_identity(&object, client_id, svc.issuer, params)?;
    Ok(Some(merge(params, &object)))
}

/// Core §6.1: `client_id` and `response_type` inside match the query's; `iss`, when sent, is
/// the client and `aud` names this provider (RFC 9101 §4).
fn check_identity(
    object: &serde_json::Map<String, Value>,
    client_id: &str,
    issuer: &str,
    params: &Params,
) -> Result<(), Failure> {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    if object.contains_key("client_id") && text("client_id") != Some(client_id) {
        return Err(object_error(
            "the request object's client_id differs from the query's",
        ));
    }
    if let (Some(inside), Some(outside)) = (text("response_type"), params.get("response_type")?) {
        if inside != outside {
            return Err(object_error(
                "the request object's response_type differs from the query's",
            ));
        }
    }
    if object.contains_key("iss") && text("iss") != Some(client_id) {
        return Err(object_error(
            "the request object's iss must be the client_id",
        ));
    }
    let aud_ok = match object.get("aud") {
        None => true,
        Some(Value::String(a)) => a == issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(issuer)),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(object_error("the request object's aud must be the issuer"));
    }
    if object.contains_key("request") || object.contains_key("request_uri") {
        return Err(object_error(
            "a request object cannot hold request or request_uri",
        ));
    }
    Ok(())
}

/// The query without `request`/`request_uri` and without what the object sets, then the
/// object's members as parameters: strings as they are, numbers (`max_age`) as digits,
/// objects (`claims`) as JSON text.
fn merge(params: &Params, object: &serde_json::Map<String, Value>) -> Params {
    let mut pairs: Vec<(String, String)> = params
        .pairs()
        .filter(|(k, _)| !matches!(*k, "request" | "request_uri") && !object.contains_key(*k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in object {
        if NOT_PARAMETERS.contains(&k.as_str()) {
            continue;
        }
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        pairs.push((k.clone(), value));
    }
    Params::from_pairs(pairs)
}

/// Core §6.2: the object at `request_uri`, fetched now (https, or http on a loopback host
/// for development; the fragment, which only tells versions apart, is not sent).
async fn fetch(outbound: &impl Outbound, uri: &str) -> Result<String, Failure> {
    let bad = |why: String| Failure::new(OAuthError::InvalidRequestUri, why);
    let url = uri.split('#').next().unwrap_or(uri);
    if uri.len() > 512 || !outbound_uri_ok(url) {
        return Err(bad(
            "request_uri must be an absolute https URL (http only on a loopback host), 512 characters at most".into(),
        ));
    }
    let (status, body) = outbound
        .get(url, MAX_OBJECT_LEN)
        .await
        .map_err(|e| bad(format!("request_uri could not be read: {e}")))?;
    if status != 200 {
        return Err(bad(format!("request_uri answered {status}")));
    }
    Ok(body.trim().to_string())
}

#[cfg(test)]
#[path = "request_object_tests.rs"]
mod tests;

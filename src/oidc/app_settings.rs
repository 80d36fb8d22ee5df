//! An application's settings as the management API and dynamic registration send them:
//! each field read, checked against the application's type and normalized. Every problem
//! names its field, and one answer names them all (`Problems`).

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::jwt::SigningAlg;
use crate::error::Failure;
use crate::model::uri_pattern::{parse_origin_pattern, parse_redirect_pattern};
use crate::model::{AppType, Application, GrantType, TokenAuthMethod, TokenSettings};

pub(super) const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_URIS: usize = 100;
const MAX_URI_LEN: usize = 2_000;

pub(super) fn as_object(body: &Value) -> Result<&Map<String, Value>, Failure> {
    body.as_object()
        .ok_or_else(|| Failure::invalid_request("the body must be a JSON object"))
}

/// Collects every problem with a request body, so one answer names every rejected field.
#[derive(Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, field: &str, problem: impl std::fmt::Display) {
        self.0.push(format!("{field}: {problem}"));
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn into_result(self) -> Result<(), Failure> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Failure::invalid_request(self.0.join("; ")))
        }
    }
}

/// Names every field of `obj` that is not in `allowed`.
pub(super) fn check_fields(obj: &Map<String, Value>, allowed: &[&str], p: &mut Problems) {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            p.add(key, "unknown field");
        }
    }
}

pub(super) fn string_field(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    problems: &mut Problems,
) -> Option<Option<String>> {
    match obj.get(field)? {
        Value::Null => Some(None),
        Value::String(s) if s.chars().count() <= max => Some(Some(s.trim().to_string())),
        Value::String(_) => {
            problems.add(field, format!("at most {max} characters"));
            None
        }
        _ => {
            problems.add(field, "must be a string");
            None
        }
    }
}

pub(super) fn bool_field(
    obj: &Map<String, Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<bool> {
    match obj.get(field)? {
        Value::Bool(b) => Some(*b),
        _ => {
            problems.add(field, "must be true or false");
            None
        }
    }
}

fn string_list(
    obj: &Map<String, Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let v = obj.get(field)?;
    match Vec::<String>::deserialize(v) {
        Ok(list) if list.len() <= MAX_URIS => Some(list),
        Ok(_) => {
            problems.add(field, format!("at most {MAX_URIS} entries"));
            None
        }
        Err(_) => {
            problems.add(field, "must be an array of strings");
            None
        }
    }
}

/// Redirect URI patterns (see `uri_pattern`): absolute, no fragment (RFC 6749 §3.1.2);
/// web applications use http(s), native apps may also use a private-use scheme
/// (RFC 8252 §7.1); machine-to-machine applications have none. Stored normalized; wildcard
/// patterns are accepted with a warning.
fn redirect_patterns(
    field: &str,
    uris: Vec<String>,
    app_type: AppType,
    p: &mut Problems,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    if app_type == AppType::M2m && !uris.is_empty() {
        p.add(
            field,
            "machine-to-machine applications have no redirect URIs",
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(uris.len());
    for uri in uris {
        if uri.len() > MAX_URI_LEN {
            p.add(field, "URI too long");
            continue;
        }
        match parse_redirect_pattern(&uri, app_type == AppType::Native) {
            Ok(pattern) => {
                if let Some(w) = pattern.warning() {
                    warnings.push(format!("{field}: {}: {w}", pattern.as_str()));
                }
                out.push(pattern.as_str().to_string());
            }
            Err(why) => p.add(field, format!("{uri}: {why}")),
        }
    }
    out
}

/// Origins as a browser sends them (`scheme://host[:port]`), or a one-label wildcard.
fn origin_patterns(field: &str, origins: Vec<String>, p: &mut Problems) -> Vec<String> {
    let mut out = Vec::with_capacity(origins.len());
    for o in origins {
        match parse_origin_pattern(&o) {
            Ok(pattern) => out.push(pattern.as_str().to_string()),
            Err(why) => p.add(field, format!("{o}: {why}")),
        }
    }
    out
}

/// An absolute http(s) URL without user information: what every URL setting starts from.
fn web_url(value: &str) -> Option<Url> {
    Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.username().is_empty())
}

fn check_url(field: &str, value: &str, problems: &mut Problems) -> bool {
    let ok = web_url(value).is_some();
    if !ok {
        problems.add(field, "must be an absolute http(s) URL");
    }
    ok
}

/// `jwks` / `jwks_uri` (RFC 7591 §2), which `private_key_jwt` needs one of. `null` clears.
fn client_keys(app: &mut Application, obj: &Map<String, Value>, p: &mut Problems) {
    match obj.get("jwks") {
        None => {}
        Some(Value::Null) => app.jwks = None,
        Some(v) => match super::client_assertion::check_jwks(v) {
            Ok(text) => app.jwks = Some(text),
            Err(why) => p.add("jwks", why),
        },
    }
    if let Some(uri) = string_field(obj, "jwks_uri", MAX_URI_LEN, p) {
        match uri.filter(|u| !u.is_empty()) {
            Some(u) if outbound_uri_ok(&u) => app.jwks_uri = Some(u),
            Some(_) => p.add(
                "jwks_uri",
                "must be an absolute https URL without a fragment (http only on a loopback host)",
            ),
            None => app.jwks_uri = None,
        }
    }
    if app.jwks.is_some() && app.jwks_uri.is_some() {
        // RFC 7591 §2: the two MUST NOT both be present.
        p.add("jwks", "give jwks or jwks_uri, not both");
    }
    let no_keys = app.jwks.is_none() && app.jwks_uri.is_none();
    if app.token_endpoint_auth_method == TokenAuthMethod::PrivateKeyJwt && no_keys {
        p.add(
            "jwks",
            "private_key_jwt needs the client's public keys (jwks or jwks_uri)",
        );
    }
}

fn is_https_url(uri: &str) -> bool {
    web_url(uri).is_some_and(|u| u.scheme() == "https")
}

/// Where the provider itself sends requests (Back-Channel Logout 1.0 §2.2, a client's
/// `jwks_uri`): absolute, no fragment, https; http only where nothing leaves the machine
/// (a loopback host, for development).
pub(super) fn outbound_uri_ok(uri: &str) -> bool {
    web_url(uri).is_some_and(|u| {
        u.fragment().is_none()
            && (u.scheme() == "https" || super::consent::is_loopback_redirect(uri))
    })
}

/// Settings that create and PATCH share. Read-only fields (`client_id`, `type`, secrets,
/// timestamps) are refused by name.
const SETTINGS: &[&str] = &[
    "name",
    "description",
    "home_url",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "cors_from_redirect_uris",
    "first_party",
    "allow_signup",
    "grant_types",
    "token_endpoint_auth_method",
    "token_settings",
    "allowed_audiences",
    "allowed_scopes",
    "id_token_signed_response_alg",
    "access_rules",
];

/// Settings that RFC 7591 §2, OpenID Connect Dynamic Client Registration §2 and
/// Back-Channel Logout 1.0 §2.2 name as the management API does: registration passes them
/// through as they are (and they are settable like `SETTINGS`).
pub(super) const SHARED_METADATA: [&str; 8] = [
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "jwks",
    "jwks_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "userinfo_signed_response_alg",
];

/// Applies the settings present in `obj` to `app`, checking each against the app's type.
/// Returns warnings about accepted but risky settings (wildcard redirect URIs).
pub(crate) fn apply_settings(
    app: &mut Application,
    obj: &Map<String, Value>,
    creating: bool,
) -> Result<Vec<String>, Failure> {
    let mut p = Problems::default();
    let mut warnings = Vec::new();
    for key in obj.keys() {
        let settable = SETTINGS.contains(&key.as_str())
            || SHARED_METADATA.contains(&key.as_str())
            || (creating && key == "type");
        if !settable {
            p.add(key, "unknown or read-only field");
        }
    }
    if let Some(name) = string_field(obj, "name", MAX_NAME, &mut p) {
        match name {
            Some(n) if !n.is_empty() => app.name = n,
            _ => p.add("name", "must not be empty"),
        }
    }
    if let Some(d) = string_field(obj, "description", MAX_DESCRIPTION, &mut p) {
        app.description = d.unwrap_or_default();
    }
    if let Some(home) = string_field(obj, "home_url", MAX_URI_LEN, &mut p) {
        match home.filter(|h| !h.is_empty()) {
            Some(h) if check_url("home_url", &h, &mut p) => app.home_url = Some(h),
            Some(_) => {}
            None => app.home_url = None,
        }
    }
    if let Some(uris) = string_list(obj, "redirect_uris", &mut p) {
        app.redirect_uris =
            redirect_patterns("redirect_uris", uris, app.app_type, &mut p, &mut warnings);
    }
    if let Some(uris) = string_list(obj, "post_logout_redirect_uris", &mut p) {
        app.post_logout_redirect_uris = redirect_patterns(
            "post_logout_redirect_uris",
            uris,
            app.app_type,
            &mut p,
            &mut warnings,
        );
    }
    if let Some(origins) = string_list(obj, "allowed_origins", &mut p) {
        app.allowed_origins = origin_patterns("allowed_origins", origins, &mut p);
    }
    if let Some(b) = bool_field(obj, "cors_from_redirect_uris", &mut p) {
        app.cors_from_redirect_uris = b;
    }
    if let Some(b) = bool_field(obj, "allow_signup", &mut p) {
        app.allow_signup = b;
    }
    if let Some(b) = bool_field(obj, "first_party", &mut p) {
        app.first_party = b;
    }
    if let Some(grants) = string_list(obj, "grant_types", &mut p) {
        let mut parsed = Vec::new();
        for g in &grants {
            match GrantType::parse(g) {
                Some(g) if app.app_type.allowed_grants().contains(&g) => {
                    if !parsed.contains(&g) {
                        parsed.push(g)
                    }
                }
                Some(_) => p.add(
                    "grant_types",
                    format!(
                        "{g} is not allowed for a {} application",
                        app.app_type.as_str()
                    ),
                ),
                None => p.add("grant_types", format!("unknown grant type {g}")),
            }
        }
        if grants.is_empty() {
            p.add("grant_types", "at least one grant type is required");
        }
        app.grant_types = parsed;
    }
    if let Some(method) = string_field(obj, "token_endpoint_auth_method", 64, &mut p) {
        match method.as_deref().and_then(TokenAuthMethod::parse) {
            Some(m) if (m == TokenAuthMethod::None) != app.app_type.is_confidential() => {
                app.token_endpoint_auth_method = m
            }
            Some(m) => p.add(
                "token_endpoint_auth_method",
                format!(
                    "{} does not fit a {} application",
                    m.as_str(),
                    app.app_type.as_str()
                ),
            ),
            None => p.add(
                "token_endpoint_auth_method",
                "one of none, client_secret_basic, client_secret_post, private_key_jwt",
            ),
        }
    }
    client_keys(app, obj, &mut p);
    match obj.get("access_rules") {
        None => {}
        Some(Value::Null) => app.access_rules = Default::default(),
        Some(v) => match crate::model::access::AccessRules::from_json(v) {
            Ok(rules) => app.access_rules = rules,
            Err((path, why)) => p.add(&path, why),
        },
    }
    if let Some(alg) = string_field(obj, "id_token_signed_response_alg", 16, &mut p) {
        match alg.as_deref().map(SigningAlg::parse) {
            Some(Some(a)) => app.id_token_signed_response_alg = a,
            _ => p.add("id_token_signed_response_alg", "one of RS256, ES256, EdDSA"),
        }
    }
    if let Some(uri) = string_field(obj, "backchannel_logout_uri", MAX_URI_LEN, &mut p) {
        match uri.filter(|u| !u.is_empty()) {
            Some(u) if outbound_uri_ok(&u) => app.backchannel_logout_uri = Some(u),
            Some(_) => p.add(
                "backchannel_logout_uri",
                "must be an absolute https URL without a fragment (http only on a loopback host)",
            ),
            None => app.backchannel_logout_uri = None,
        }
    }
    if let Some(b) = bool_field(obj, "backchannel_logout_session_required", &mut p) {
        app.backchannel_logout_session_required = b;
    }
    // RFC 7591 §2: shown to users, so https (a page served over https may not show an http
    // image, and an http link would leave it).
    for (field, slot) in [
        ("logo_uri", &mut app.logo_uri),
        ("policy_uri", &mut app.policy_uri),
        ("tos_uri", &mut app.tos_uri),
    ] {
        if let Some(uri) = string_field(obj, field, MAX_URI_LEN, &mut p) {
            match uri.filter(|u| !u.is_empty()) {
                Some(u) if is_https_url(&u) => *slot = Some(u),
                Some(_) => p.add(field, "must be an absolute https URL"),
                None => *slot = None,
            }
        }
    }
    if let Some(alg) = string_field(obj, "userinfo_signed_response_alg", 16, &mut p) {
        match alg.as_deref().map(SigningAlg::parse) {
            None => app.userinfo_signed_response_alg = None,
            Some(Some(a)) => app.userinfo_signed_response_alg = Some(a),
            Some(None) => p.add(
                "userinfo_signed_response_alg",
                "one of RS256, ES256, EdDSA, or null for plain JSON",
            ),
        }
    }
    if let Some(audiences) = string_list(obj, "allowed_audiences", &mut p) {
        // RFC 8707 §2: a resource is an absolute URI without a fragment.
        for a in &audiences {
            let ok = Url::parse(a).is_ok_and(|u| u.fragment().is_none()) && a.len() <= MAX_URI_LEN;
            if !ok {
                p.add(
                    "allowed_audiences",
                    format!("not an absolute URI without fragment: {a}"),
                );
            }
        }
        app.allowed_audiences = audiences;
    }
    if let Some(scopes) = string_list(obj, "allowed_scopes", &mut p) {
        // RFC 6749 §3.3: scope tokens are printable ASCII without space, quote or backslash.
        for sc in &scopes {
            let ok = !sc.is_empty()
                && sc.len() <= 128
                && sc
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
            if !ok {
                p.add("allowed_scopes", format!("not a scope token: {sc}"));
            }
        }
        app.allowed_scopes = scopes;
    }
    if let Some(ts) = obj.get("token_settings") {
        // A partial object: unnamed settings keep their current values.
        let mut merged = serde_json::to_value(app.token_settings).unwrap_or(Value::Null);
        match (ts.as_object(), merged.as_object_mut()) {
            (Some(patch), Some(current)) => {
                // Each member checked by name first, so a problem is told by its path and
                // in plain words, never in the JSON parser's.
                let before = p.len();
                for (k, v) in patch {
                    let path = ["token_settings.", k].concat();
                    let ok = match k.as_str() {
                        "id_token_ttl" | "access_token_ttl" | "refresh_token_ttl_days" => {
                            v.as_i64().is_some() || {
                                p.add(&path, "must be a whole number");
                                false
                            }
                        }
                        "always_issue_refresh_token" | "rotate_refresh_token" => {
                            v.is_boolean() || {
                                p.add(&path, "must be true or false");
                                false
                            }
                        }
                        _ => {
                            p.add(&path, "unknown setting");
                            false
                        }
                    };
                    if ok {
                        current.insert(k.clone(), v.clone());
                    }
                }
                // The members are well-typed by now, so the parse cannot fail on them.
                let parsed = serde_json::from_value::<TokenSettings>(merged);
                match parsed {
                    _ if p.len() > before => {}
                    Ok(settings) => match settings.check() {
                        Ok(()) => app.token_settings = settings,
                        Err((field, why)) => p.add(field, why),
                    },
                    Err(_) => p.add("token_settings", "not a valid set of token settings"),
                }
            }
            _ => p.add("token_settings", "must be an object"),
        }
    }
    p.into_result()?;
    Ok(warnings)
}

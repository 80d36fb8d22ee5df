//! Redirect-URI patterns (and post-logout redirect URIs): `*`, web patterns with their
//! wildcards, and private-use schemes for native apps.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::screen::{check_chars, is_scheme, parse_web_candidate, web_scheme};
use super::{parse_web_pattern, OriginPattern, WebPattern};

/// Shown for subdomain and path wildcards.
pub const WILDCARD_WARNING: &str =
    "wildcard redirect URIs are less secure than exact ones (RFC 9700 §4.1.3)";

/// Shown for the full wildcard `*`.
pub const FULL_WILDCARD_WARNING: &str =
    "the wildcard `*` accepts a redirect to any http or https site, so anyone can obtain \
     codes and tokens for this application; use it only for local development \
     (RFC 9700 §4.1.3)";

/// A validated redirect-URI (or post-logout redirect URI) pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedirectPattern {
    /// The normalized registered text, rebuilt from `kind` so equal patterns print equally.
    text: String,
    kind: RedirectKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RedirectKind {
    /// `*`.
    Any,
    Web(WebPattern),
    /// A private-use scheme URI; `text` is its normalized serialization.
    PrivateScheme,
}

/// Validates a redirect-URI pattern when it is registered.
///
/// `allow_private_scheme` admits private-use schemes such as `com.example.app:/callback`
/// (RFC 8252 §7.1), which should only be possible for native applications; such patterns
/// are always exact. The error is a sentence meant for the person registering the URI.
pub fn parse_redirect_pattern(
    s: &str,
    allow_private_scheme: bool,
) -> Result<RedirectPattern, String> {
    if s == "*" {
        return Ok(RedirectPattern {
            text: "*".into(),
            kind: RedirectKind::Any,
        });
    }
    check_chars(s)?;
    let scheme = s
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| is_scheme(scheme))
        .ok_or("must be an absolute URI such as https://app.example.com/callback")?;
    if web_scheme(scheme).is_some() {
        let web = parse_web_pattern(s)?;
        return Ok(RedirectPattern {
            text: web.to_string(),
            kind: RedirectKind::Web(web),
        });
    }
    if !allow_private_scheme {
        return Err("must be http or https".into());
    }
    parse_private_pattern(s).map(|text| RedirectPattern {
        text,
        kind: RedirectKind::PrivateScheme,
    })
}

impl RedirectPattern {
    /// Whether `candidate`, a `redirect_uri` (or `post_logout_redirect_uri`) from a
    /// request, is allowed by this pattern.
    ///
    /// `loopback_any_port` lets a pattern for `http://127.0.0.1/...` or `http://[::1]/...`
    /// match any port (RFC 8252 §7.3), which only native clients should get.
    pub fn matches(&self, candidate: &str, loopback_any_port: bool) -> bool {
        match &self.kind {
            RedirectKind::Any => parse_web_candidate(candidate).is_some(),
            RedirectKind::Web(web) => parse_web_candidate(candidate)
                .is_some_and(|(_, url)| web.matches(&url, loopback_any_port)),
            RedirectKind::PrivateScheme => {
                parse_private_candidate(candidate).is_some_and(|url| url.as_str() == self.text)
            }
        }
    }

    /// Why an administrator should think twice about this pattern, if there is a reason.
    pub fn warning(&self) -> Option<&'static str> {
        match &self.kind {
            RedirectKind::Any => Some(FULL_WILDCARD_WARNING),
            RedirectKind::Web(web) if web.is_wildcard() => Some(WILDCARD_WARNING),
            RedirectKind::Web(_) | RedirectKind::PrivateScheme => None,
        }
    }

    /// Whether this pattern accepts more than one URI (ignoring loopback ports).
    pub fn is_wildcard(&self) -> bool {
        match &self.kind {
            RedirectKind::Any => true,
            RedirectKind::Web(web) => web.is_wildcard(),
            RedirectKind::PrivateScheme => false,
        }
    }

    /// The origin a browser on a page behind this redirect URI sends, for the "allowed
    /// origins are the redirect URIs" setting.
    ///
    /// `*` gives `None`: a development shortcut for redirects must not silently turn into
    /// "any site may call the token endpoint from a browser". Private-use schemes give
    /// `None` because they have no web origin (RFC 6454 §4 makes them opaque).
    pub fn origin_pattern(&self) -> Option<OriginPattern> {
        match &self.kind {
            RedirectKind::Web(web) => Some(OriginPattern {
                text: web.origin.to_string(),
                parts: web.origin.clone(),
            }),
            RedirectKind::Any | RedirectKind::PrivateScheme => None,
        }
    }

    /// The registered pattern in normalized form (lowercase scheme and host, no default
    /// port, `/` for an empty path).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for RedirectPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for RedirectPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Deserializing admits private-use schemes: stored patterns were already checked against
/// the application type when they were registered, and reading them back must not fail.
impl<'de> Deserialize<'de> for RedirectPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        parse_redirect_pattern(&s, true).map_err(serde::de::Error::custom)
    }
}

fn parse_private_pattern(s: &str) -> Result<String, String> {
    if s.contains('#') {
        return Err("fragment not allowed (RFC 6749 §3.1.2)".into());
    }
    if s.contains('*') {
        return Err("wildcards are not allowed with private-use URI schemes".into());
    }
    let url = Url::parse(s).map_err(|e| format!("not a valid URI: {e}"))?;
    // RFC 8252 §7.1: a reverse domain name the developer controls. This also keeps out
    // `javascript:`, `data:`, `file:` and friends, none of which contain a dot.
    if !url.scheme().contains('.') {
        return Err(
            "must be http or https, or a private-use URI scheme that is a reverse \
                    domain name such as com.example.app (RFC 8252 §7.1)"
                .into(),
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user information not allowed".into());
    }
    if !is_canonical_private(s, &url) {
        return Err(format!("must be written in its normalized form: {url}"));
    }
    Ok(url.into())
}

/// Private-use scheme candidates are compared as normalized strings; requiring the raw
/// text to already be normalized refuses dot segments and any other spelling trick.
fn parse_private_candidate(s: &str) -> Option<Url> {
    if check_chars(s).is_err() || s.contains('#') {
        return None;
    }
    let url = Url::parse(s).ok()?;
    let ok = web_scheme(url.scheme()).is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && is_canonical_private(s, &url);
    ok.then_some(url)
}

/// Whether `s` is already `url`'s serialization, up to the case of the scheme.
fn is_canonical_private(s: &str, url: &Url) -> bool {
    match (s.split_once(':'), url.as_str().split_once(':')) {
        (Some((raw_scheme, raw_rest)), Some((scheme, rest))) => {
            raw_scheme.eq_ignore_ascii_case(scheme) && raw_rest == rest
        }
        _ => false,
    }
}

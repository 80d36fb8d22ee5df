//! CORS origin patterns: `scheme://host[:port]`, the host's first label possibly `*`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::screen::{check_chars, parse_web_candidate, split_hierarchical};
use super::{parse_web_pattern, OriginParts};

/// A validated CORS origin pattern: `scheme://host[:port]` or `scheme://*.host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    pub(super) text: String,
    pub(super) parts: OriginParts,
}

/// Validates a CORS origin pattern: `scheme://host[:port]` with an optional trailing `/`,
/// or the same with `*.` as the host's first label.
pub fn parse_origin_pattern(s: &str) -> Result<OriginPattern, String> {
    if s == "*" {
        return Err("`*` (any origin) is not allowed; list the origins, \
                    or use a wildcard such as https://*.example.com"
            .into());
    }
    check_chars(s)?;
    let raw = split_hierarchical(s)
        .ok_or("must be an origin such as https://app.example.com (scheme://host[:port])")?;
    if raw.fragment.is_some() || raw.query.is_some() || !matches!(raw.path, "" | "/") {
        return Err(
            "an origin is only scheme://host[:port], without path, query or fragment".into(),
        );
    }
    let web = parse_web_pattern(s)?;
    Ok(OriginPattern {
        text: web.origin.to_string(),
        parts: web.origin,
    })
}

impl OriginPattern {
    /// Whether a browser's `Origin` header value (RFC 6454 §7) is allowed. The opaque
    /// origin `null` never is: sandboxed frames and `file:` pages all share it.
    pub fn matches(&self, origin_header: &str) -> bool {
        parse_web_candidate(origin_header).is_some_and(|(raw, url)| {
            raw.path.is_empty() && raw.query.is_none() && self.parts.matches(&url, false)
        })
    }

    /// The registered origin in RFC 6454 §6.2 ASCII form, with `*.` kept for a wildcard.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for OriginPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_origin_pattern(s)
    }
}

impl Serialize for OriginPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for OriginPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        parse_origin_pattern(&s).map_err(serde::de::Error::custom)
    }
}

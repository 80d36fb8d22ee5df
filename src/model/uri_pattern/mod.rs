//! Registered redirect-URI patterns and CORS origin patterns.
//!
//! RFC 6749 §3.1.2 requires redirect URIs to be absolute and fragment-free, and RFC 9700
//! §4.1.3 asks for exact string matching, because every looser comparison has been used to
//! steal codes and tokens. Hosted identity providers nevertheless offer wildcards, so this
//! module supports a small, fixed set of them and treats everything else as an exact match:
//!
//! * exact: `https://app.example.com/callback?x=1`;
//! * trailing path wildcard: `https://app.example.com/path/*`, any path below `/path/`;
//! * subdomain wildcard: `https://*.example.com/callback`, one DNS label in place of `*`;
//! * both at once: `https://*.example.com/path/*`;
//! * full wildcard: `*`, any `http` or `https` URI (for development only);
//! * private-use schemes for native apps (RFC 8252 §7.1), exact only.
//!
//! Loopback IP redirects (`http://127.0.0.1/cb`, `http://[::1]/cb`) may match any port
//! (RFC 8252 §7.3, §8.4) when the caller allows it. `localhost` is deliberately *not*
//! treated as loopback: RFC 8252 §8.3 says it is NOT RECOMMENDED because the name can be
//! resolved elsewhere, so `http://localhost:3000/cb` is an ordinary exact pattern whose
//! port must match.
//!
//! Candidates are compared after parsing and normalizing them with the `url` crate, so
//! case in scheme and host and an explicit default port do not matter. Before that, the raw
//! candidate is screened for the tricks that make a parser and a browser (or a proxy, or
//! the client's own router) disagree about where a URI points; anything suspicious never
//! matches, even when the normalized form would have.
//!
//! Here: the shapes shared by both kinds of pattern, and the parsing of a web pattern.
//! `redirect` has redirect-URI patterns, `origin` CORS origin patterns, and `screen` the
//! splitting and screening of raw text that both rely on.

use std::fmt;

use url::{Host, Url};

mod origin;
mod redirect;
mod screen;

pub use origin::{parse_origin_pattern, OriginPattern};
pub use redirect::{
    parse_redirect_pattern, RedirectPattern, FULL_WILDCARD_WARNING, WILDCARD_WARNING,
};
use screen::{
    check_chars, has_empty_label, is_dns_label, path_is_suspicious, split_hierarchical,
    split_host_port, web_scheme,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WebPattern {
    origin: OriginParts,
    path: PathPattern,
    /// Compared only with an exact path: RFC 6749 §3.1.2 lets a registered redirect URI
    /// carry a query, which then has to be sent unchanged.
    query: Option<String>,
    /// An `http` pattern whose host is a loopback IP literal (RFC 8252 §7.3).
    loopback: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum PathPattern {
    Exact(String),
    /// Always ends with `/`, so `/path/*` cannot reach `/pathology`.
    Prefix(String),
}

/// An origin (RFC 6454 §4): scheme, host and port, where the host may be a wildcard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct OriginParts {
    scheme: WebScheme,
    host: HostPattern,
    /// Default ports are filled in so `https://a.com:443` and `https://a.com` are the same
    /// origin (RFC 6454 §4 step 4).
    port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum WebScheme {
    Http,
    Https,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum HostPattern {
    /// The host as the `url` crate serializes it (lowercase ASCII, IPv6 in brackets).
    Exact(String),
    /// `*.suffix`: `suffix` is at least two valid DNS labels, without the leading dot.
    Subdomain(String),
}

impl WebPattern {
    fn is_wildcard(&self) -> bool {
        matches!(self.origin.host, HostPattern::Subdomain(_))
            || matches!(self.path, PathPattern::Prefix(_))
    }

    fn matches(&self, url: &Url, loopback_any_port: bool) -> bool {
        let path_ok = match &self.path {
            PathPattern::Exact(path) => url.path() == path && url.query() == self.query.as_deref(),
            PathPattern::Prefix(prefix) => url.path().starts_with(prefix.as_str()),
        };
        path_ok && self.origin.matches(url, self.loopback && loopback_any_port)
    }
}

impl OriginParts {
    fn matches(&self, url: &Url, any_port: bool) -> bool {
        web_scheme(url.scheme()) == Some(self.scheme)
            && url.host_str().is_some_and(|host| self.host.matches(host))
            && (any_port || url.port_or_known_default() == Some(self.port))
    }
}

impl HostPattern {
    /// `host` must already be the `url` crate's serialization of a screened candidate.
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(exact) => host == exact,
            HostPattern::Subdomain(suffix) => host
                .strip_suffix(suffix.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(is_dns_label),
        }
    }
}

impl WebScheme {
    fn as_str(self) -> &'static str {
        match self {
            WebScheme::Http => "http",
            WebScheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            WebScheme::Http => 80,
            WebScheme::Https => 443,
        }
    }
}

impl fmt::Display for OriginParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str("://")?;
        match &self.host {
            HostPattern::Exact(host) => f.write_str(host)?,
            HostPattern::Subdomain(suffix) => write!(f, "*.{suffix}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Renders exactly what `Url::as_str` gives for an exact pattern, so stored text, the
/// normalized candidate and a re-parse of the text all agree.
impl fmt::Display for WebPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        match &self.path {
            PathPattern::Exact(path) => {
                f.write_str(path)?;
                if let Some(query) = &self.query {
                    write!(f, "?{query}")?;
                }
                Ok(())
            }
            PathPattern::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// Stands in for the `*` label while the `url` crate validates the rest of the host, so
/// validation does not depend on whether the parser happens to accept `*` in a host.
const PLACEHOLDER_LABEL: &str = "x";

fn parse_web_pattern(s: &str) -> Result<WebPattern, String> {
    check_chars(s)?;
    if s.contains('#') {
        return Err("fragment not allowed (RFC 6749 §3.1.2)".into());
    }
    let raw = split_hierarchical(s)
        .ok_or("must be an absolute URI such as https://app.example.com/callback")?;
    let scheme = web_scheme(raw.scheme).ok_or("must be http or https")?;
    if raw.authority.contains('@') {
        return Err("user information not allowed".into());
    }

    let (host_wildcard, authority) = match raw.authority.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw.authority),
    };
    if authority.contains('*') {
        return Err(
            "wildcard only allowed as the whole first label of the host, \
                    as in https://*.example.com/callback"
                .into(),
        );
    }
    let (path_wildcard, path) = match raw.path.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') => (true, prefix),
        _ => (false, raw.path),
    };
    if path.contains('*') || raw.query.is_some_and(|q| q.contains('*')) {
        return Err("wildcard only allowed as the last path segment, \
                    as in https://app.example.com/path/*"
            .into());
    }
    if path_wildcard && raw.query.is_some() {
        return Err("a path wildcard must end the pattern; it already allows any query".into());
    }
    if path_is_suspicious(path) {
        return Err(
            "dot segments and percent-encoded dots, slashes, backslashes, \
                    percent signs or control characters are not allowed in the path"
                .into(),
        );
    }
    let (raw_host, _) = split_host_port(authority).ok_or("invalid host or port")?;
    if raw_host.is_empty() {
        return Err("missing host".into());
    }

    let placeholder = if host_wildcard {
        format!("{PLACEHOLDER_LABEL}.")
    } else {
        String::new()
    };
    let query = raw.query.map(|q| format!("?{q}")).unwrap_or_default();
    let rebuilt = format!("{}://{placeholder}{authority}{path}{query}", raw.scheme);
    // The build's IDNA takes ASCII only (idna_adapter 1.0, for size: Cargo.toml), so an
    // international name is asked for in the form it is compared in anyway.
    if !authority.is_ascii() {
        return Err(
            "host names must be ASCII: write an international domain name in its \
                    xn-- (Punycode) form"
                .into(),
        );
    }
    let url = Url::parse(&rebuilt).map_err(|e| format!("not a valid URI: {e}"))?;

    let host = url.host_str().ok_or("missing host")?;
    let Some(canonical) = host.strip_prefix(placeholder.as_str()) else {
        return Err("invalid host".into());
    };
    // Candidates are only accepted when their host is already canonical (see
    // `parse_web_candidate`), so a pattern written any other way could never match.
    if !raw_host.eq_ignore_ascii_case(canonical) {
        return Err(format!(
            "the host must be written in its canonical ASCII form: {canonical}"
        ));
    }
    if has_empty_label(&url) {
        return Err("the host must not contain empty labels (a doubled or trailing dot)".into());
    }
    let host = if host_wildcard {
        if !matches!(url.host(), Some(Host::Domain(_))) {
            return Err("a wildcard host must be a domain name".into());
        }
        let labels: Vec<&str> = canonical.split('.').collect();
        if labels.len() < 2 || !labels.iter().all(|label| is_dns_label(label)) {
            return Err("a wildcard must be followed by at least two DNS labels, \
                        as in *.example.com, never directly by a top-level domain"
                .into());
        }
        HostPattern::Subdomain(canonical.to_string())
    } else {
        HostPattern::Exact(canonical.to_string())
    };
    let port = url.port_or_known_default().ok_or("invalid port")?;
    let loopback = scheme == WebScheme::Http
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
    let path = if path_wildcard {
        PathPattern::Prefix(url.path().to_string())
    } else {
        PathPattern::Exact(url.path().to_string())
    };
    Ok(WebPattern {
        origin: OriginParts { scheme, host, port },
        path,
        query: url.query().map(str::to_string),
        loopback,
    })
}

#[cfg(test)]
mod tests;

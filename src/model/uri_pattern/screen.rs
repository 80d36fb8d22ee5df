//! The raw text of patterns and candidates, split and screened before (and beside) the
//! `url` crate's parsing, so what we compare is what other software would see.

use url::{Host, Url};

use super::WebScheme;

/// The raw components of a `scheme://authority/path?query#fragment` string, before any
/// normalization, so the checks see what the client really sent.
pub(super) struct Raw<'a> {
    pub(super) scheme: &'a str,
    pub(super) authority: &'a str,
    pub(super) path: &'a str,
    pub(super) query: Option<&'a str>,
    pub(super) fragment: Option<&'a str>,
}

/// Splits the way the `url` crate does for special schemes once backslashes, which it
/// treats as `/`, have been refused: the authority ends at the first `/`, `?` or `#`.
/// Requiring the literal `://` refuses `https:evil.com` and `https:/evil.com`, which the
/// `url` crate quietly repairs.
pub(super) fn split_hierarchical(s: &str) -> Option<Raw<'_>> {
    let (scheme, rest) = s.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    Some(Raw {
        scheme,
        authority,
        path,
        query,
        fragment,
    })
}

/// `(host, port)` of a raw authority without userinfo; the host keeps IPv6 brackets,
/// like `Url::host_str`.
pub(super) fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        if rest.is_empty() {
            Some((host, None))
        } else {
            rest.strip_prefix(':').map(|port| (host, Some(port)))
        }
    } else {
        Some(match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        })
    }
}

/// Screens a request's `http`/`https` URI (or `Origin` header) and parses it.
///
/// Everything refused here is something the `url` crate would have silently repaired or
/// reinterpreted, which is exactly where a browser, a proxy or the client's router may
/// disagree with us about the destination (RFC 9700 §4.1.3; the attacks are in §4.1.1
/// and in the OAuth security literature on redirect-URI validation).
pub(super) fn parse_web_candidate(s: &str) -> Option<(Raw<'_>, Url)> {
    // Tabs and newlines are stripped by the URL parser, leading and trailing spaces
    // trimmed, and backslashes turned into `/`; a fragment is never allowed in a redirect
    // URI (RFC 6749 §3.1.2) and has no place in an origin.
    if check_chars(s).is_err() || s.contains('#') {
        return None;
    }
    let raw = split_hierarchical(s)?;
    let scheme = web_scheme(raw.scheme)?;
    // `https://app.example.com@evil.com/` goes to evil.com; userinfo is never needed.
    if raw.authority.contains('@') || path_is_suspicious(raw.path) {
        return None;
    }
    let (raw_host, _) = split_host_port(raw.authority)?;
    let url = Url::parse(s).ok()?;
    if web_scheme(url.scheme()) != Some(scheme)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    // Percent-encoded hosts, IDNA mappings (full-width letters, Unicode dots), IPv4 in hex
    // or decimal and non-compressed IPv6 all reach the same parsed host by different
    // spellings. Only the canonical spelling (up to ASCII case) is accepted, so what other
    // software sees is what we compared.
    if !raw_host.eq_ignore_ascii_case(url.host_str()?) || has_empty_label(&url) {
        return None;
    }
    Some((raw, url))
}

pub(super) fn check_chars(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err("must not contain whitespace, control characters or backslashes".into());
    }
    // RFC 6749 §3.1.2 asks for an RFC 3986 URI, where `%` always starts an escape
    // (§2.1). A stray `%` is decoded differently, or not at all, by different software.
    let bytes = s.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err("a % must start a percent-encoded byte such as %20 (RFC 3986 §2.1)".into());
    }
    Ok(())
}

/// A trailing dot makes a different origin for browsers (RFC 6454 §4 compares hosts as
/// strings) and a doubled dot is no DNS name at all; URL parsers accept both.
pub(super) fn has_empty_label(url: &Url) -> bool {
    matches!(url.host(), Some(Host::Domain(domain)) if domain.split('.').any(str::is_empty))
}

/// Whether a raw path could be read as escaping its directory by some component between
/// us and the final handler.
///
/// `.` and `..` segments are resolved by the `url` crate, so the normalized path would
/// look harmless while the raw text climbs out of a `/path/*` prefix. Encoded dots are
/// decoded into dot segments by some servers; encoded `/` and `\` become separators in
/// others; `%25` enables double decoding (`%252e`); encoded control characters have no
/// business in a redirect path.
pub(super) fn path_is_suspicious(path: &str) -> bool {
    if path.split('/').any(|segment| matches!(segment, "." | "..")) {
        return true;
    }
    path.as_bytes().windows(3).any(|w| match w {
        [b'%', hi, lo] => match (hex_value(*hi), hex_value(*lo)) {
            (Some(hi), Some(lo)) => {
                let byte = hi * 16 + lo;
                byte < 0x20 || matches!(byte, b'.' | b'/' | b'\\' | b'%' | 0x7f)
            }
            _ => false,
        },
        _ => false,
    })
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 §3.1.
pub(super) fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

pub(super) fn web_scheme(s: &str) -> Option<WebScheme> {
    if s.eq_ignore_ascii_case("http") {
        Some(WebScheme::Http)
    } else if s.eq_ignore_ascii_case("https") {
        Some(WebScheme::Https)
    } else {
        None
    }
}

/// A host name label in the preferred syntax of RFC 1035 §2.3.1 as relaxed by RFC 1123
/// §2.1 (may start with a digit), lowercase because the `url` crate lowercases hosts.
/// Underscores and empty labels are refused although URL parsers accept them.
pub(super) fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

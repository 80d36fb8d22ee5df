//! Per-application CORS (Fetch standard, CORS protocol). An origin gets
//! `Access-Control-Allow-Origin` only when an application allows it; everyone else gets no
//! CORS headers at all, so the browser withholds the response.

use super::reply::Reply;

/// Headers a browser may send cross-origin to the token and userinfo endpoints.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// How long a browser may cache a preflight answer.
const MAX_AGE: &str = "600";

/// Decorates an actual (non-preflight) response.
pub fn actual(reply: Reply, origin: Option<&str>, allowed: bool) -> Reply {
    // The answer depends on Origin, so caches must key on it.
    let reply = reply.header("Vary", "Origin");
    match origin {
        Some(o) if allowed => reply
            .header("Access-Control-Allow-Origin", o)
            .header("Access-Control-Expose-Headers", "WWW-Authenticate"),
        _ => reply,
    }
}

/// Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`).
pub fn preflight(origin: Option<&str>, allowed: bool, methods: &'static str) -> Reply {
    let reply = Reply::new(204).header("Vary", "Origin");
    match origin {
        Some(o) if allowed => reply
            .header("Access-Control-Allow-Origin", o)
            .header("Access-Control-Allow-Methods", methods)
            .header("Access-Control-Allow-Headers", ALLOW_HEADERS)
            .header("Access-Control-Max-Age", MAX_AGE),
        _ => reply,
    }
}

/// Discovery and JWKS are public documents: any origin may read them.
pub fn public(reply: Reply) -> Reply {
    reply.header("Access-Control-Allow-Origin", "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_origins_get_headers() {
        let r = actual(Reply::new(200), Some("https://a.example"), true);
        assert_eq!(
            r.get_header("Access-Control-Allow-Origin"),
            Some("https://a.example")
        );
        let r = actual(Reply::new(200), Some("https://evil.example"), false);
        assert_eq!(r.get_header("Access-Control-Allow-Origin"), None);
        assert_eq!(r.get_header("Vary"), Some("Origin"));
        let p = preflight(Some("https://evil.example"), false, "POST");
        assert_eq!(p.status, 204);
        assert!(p.get_header("Access-Control-Allow-Methods").is_none());
        let p = preflight(Some("https://a.example"), true, "POST");
        assert_eq!(p.get_header("Access-Control-Allow-Methods"), Some("POST"));
    }
}

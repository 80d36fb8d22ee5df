//! Cookies for the login session and the login form's CSRF token (RFC 6265bis).

/// On https the `__Host-` prefix pins a cookie to this host, path `/`, and `Secure`, so a
/// sibling subdomain cannot plant or overwrite it.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

pub fn get<'a>(cookie_header: Option<&'a str>, name: &str) -> Option<&'a str> {
    cookie_header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// `HttpOnly` (no script reads it) and `SameSite=Lax` (sent on the top-level navigation back
/// from a client, not on cross-site subrequests).
pub fn set(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_build() {
        let h = Some("a=1; session=xyz; __Host-session=abc");
        assert_eq!(get(h, "session"), Some("xyz"));
        assert_eq!(get(h, "__Host-session"), Some("abc"));
        assert_eq!(get(h, "missing"), None);
        assert_eq!(get(None, "a"), None);
        let c = set(&name("session", true), "v", 60, true);
        assert_eq!(
            c,
            "__Host-session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set(&name("session", false), "v", 60, false).contains("Secure"));
    }
}

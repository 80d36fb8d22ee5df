//! A response as plain data, so handlers can be read (and tested) without the runtime.

use serde_json::Value;

use crate::error::{Failure, OAuthError};

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn json(status: u16, value: &Value) -> Self {
        Self::json_text(status, value.to_string())
    }

    /// JSON that is already serialized (a cached document).
    pub fn json_text(status: u16, body: String) -> Self {
        Self::new(status)
            .header("Content-Type", "application/json")
            .with_body(body)
    }

    pub fn html(status: u16, page: String) -> Self {
        Self::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            // The pages need no script and must never be framed (clickjacking on the login
            // form); the referrer would leak the authorization request.
            .header(
                "Content-Security-Policy",
                format!(
                    "default-src 'none'; style-src {}; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
                    super::pages::style_csp_source()
                ),
            )
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "no-referrer")
            .header("X-Content-Type-Options", "nosniff")
            .with_body(page)
    }

    /// A page that runs the provider's own scripts (`script-src 'self'`: files under
    /// `public/`, never inline script).
    pub fn html_with_script(status: u16, page: String) -> Self {
        let mut reply = Self::html(status, page);
        for (name, value) in &mut reply.headers {
            if *name == "Content-Security-Policy" {
                value.push_str("; script-src 'self'");
            }
        }
        reply
    }

    /// Lets a page show images from `origin` too (an application's logo), besides its own.
    pub fn allow_images_from(mut self, origin: &str) -> Self {
        for (name, value) in &mut self.headers {
            if *name == "Content-Security-Policy" {
                *value = value.replace(
                    "img-src 'self' data:",
                    &format!("img-src 'self' data: {origin}"),
                );
            }
        }
        self
    }

    /// 303 after a POST (so the browser does not re-post), 302 after a GET.
    pub fn redirect(location: String, after_post: bool) -> Self {
        Self::new(if after_post { 303 } else { 302 })
            .header("Location", location)
            .header("Cache-Control", "no-store")
            .header("Referrer-Policy", "no-referrer")
    }

    /// RFC 6749 §5.2 JSON error. `invalid_client` carries `WWW-Authenticate` (401);
    /// bearer errors carry RFC 6750 §3's challenge.
    pub fn error(f: &Failure) -> Self {
        let mut r = Self::json(f.status(), &f.to_json()).header("Cache-Control", "no-store");
        match f.error {
            OAuthError::InvalidClient => {
                r = r.header(
                    "WWW-Authenticate",
                    r#"Basic realm="token", charset="UTF-8""#,
                );
            }
            OAuthError::InvalidToken if f.no_credentials => {
                r = r.header("WWW-Authenticate", "Bearer");
            }
            OAuthError::InvalidToken | OAuthError::InsufficientScope => {
                r = r.header("WWW-Authenticate", bearer_challenge(f));
            }
            _ => {}
        }
        r
    }

    /// An error from a protected resource (RFC 6750 §3): every failure carries the Bearer
    /// challenge, `invalid_request` included.
    pub fn resource_error(f: &Failure) -> Self {
        let r = Self::error(f);
        if r.get_header("WWW-Authenticate").is_some() || f.status() >= 500 {
            return r;
        }
        r.header("WWW-Authenticate", bearer_challenge(f))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The answer to a HEAD request (RFC 9110 §9.3.2): the GET's status and headers, no body.
    pub fn without_body(mut self) -> Self {
        self.body = None;
        self
    }

    pub fn with_body(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn bearer_challenge(f: &Failure) -> String {
    format!(
        r#"Bearer error="{}", error_description="{}""#,
        f.error.as_str(),
        f.description.replace(['"', '\\'], "'")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_with_challenge() {
        let r = Reply::error(&Failure::invalid_client("nope"));
        assert_eq!(r.status, 401);
        assert!(r
            .get_header("WWW-Authenticate")
            .unwrap()
            .starts_with("Basic"));
        assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    }

    #[test]
    fn bearer_errors_escape_quotes() {
        let r = Reply::error(&Failure::invalid_token(r#"bad "token""#));
        assert_eq!(
            r.get_header("WWW-Authenticate"),
            Some(r#"Bearer error="invalid_token", error_description="bad 'token'""#)
        );
    }

    #[test]
    fn a_request_without_credentials_gets_a_bare_challenge() {
        let r = Reply::error(&Failure::missing_token("an access token is required"));
        assert_eq!(r.status, 401);
        assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
    }

    #[test]
    fn a_resource_error_always_challenges() {
        let r = Reply::resource_error(&Failure::invalid_request("the token is repeated"));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.get_header("WWW-Authenticate"),
            Some(r#"Bearer error="invalid_request", error_description="the token is repeated""#)
        );
        let r = Reply::resource_error(&Failure::missing_token("none"));
        assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"));
        let r = Reply::resource_error(&Failure::server("boom"));
        assert_eq!(r.get_header("WWW-Authenticate"), None);
    }
}

//! One plain request type, so the whole routing table compiles and is tested natively. Only
//! the wasm adapter builds it from the runtime's request; tests build it with the helpers here.

use serde_json::{json, Value};

use super::MAX_BODY_BYTES;
use crate::error::Failure;
use crate::oidc::params::Params;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(m: &str) -> Self {
        match m.to_ascii_uppercase().as_str() {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// The body as the adapter could read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Longer than `MAX_BODY_BYTES` (by `Content-Length` or by what arrived).
    TooLarge,
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path, percent-encoded as it arrived.
    pub path: String,
    /// The query without `?`, percent-encoded as it arrived.
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// `scheme://host[:port]` of the URL the request arrived at.
    pub origin: String,
    /// The client's address: Cloudflare's `CF-Connecting-IP`, which clients cannot forge.
    pub client_ip: Option<String>,
    /// The client's country as Cloudflare reports it (`request.cf.country`, ISO 3166-1
    /// alpha-2), for applications' access rules.
    pub country: Option<String>,
}

impl Request {
    /// A request to `url_path` (`/path?query`) at `origin`, with no headers or body.
    pub fn new(method: Method, origin: &str, url_path: &str) -> Self {
        let (path, query) = url_path.split_once('?').unwrap_or((url_path, ""));
        Self {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
            origin: origin.trim_end_matches('/').to_string(),
            client_ip: None,
            country: None,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        self.body = if body.len() > MAX_BODY_BYTES {
            Body::TooLarge
        } else {
            Body::Bytes(body)
        };
        self
    }

    /// A form POST (`application/x-www-form-urlencoded`).
    pub fn form(origin: &str, path: &str, body: &str) -> Self {
        Self::new(Method::Post, origin, path)
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(body)
    }

    /// A JSON request.
    pub fn json(method: Method, origin: &str, path: &str, body: &Value) -> Self {
        Self::new(method, origin, path)
            .with_header("Content-Type", "application/json")
            .with_body(body.to_string())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the browser talks https to us (decides `Secure` and `__Host-` cookies).
    pub fn https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// The `Content-Type` without parameters, lower case.
    pub fn media_type(&self) -> String {
        self.header("Content-Type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The `User-Agent`, for the audit log.
    pub fn user_agent(&self) -> Option<&str> {
        self.header("User-Agent")
    }

    /// RFC 6749 §3.1: the query component, strictly decoded.
    pub fn query_params(&self) -> Result<Params, Failure> {
        Params::from_wire(&self.query)
    }

    pub fn body_text(&self) -> Result<&str, Failure> {
        match &self.body {
            Body::Bytes(b) => std::str::from_utf8(b)
                .map_err(|_| Failure::invalid_request("the body is not UTF-8")),
            Body::TooLarge => Err(Failure::invalid_request(format!(
                "the body exceeds {MAX_BODY_BYTES} bytes"
            ))),
            Body::Unreadable => Err(Failure::invalid_request("the body could not be read")),
        }
    }

    /// RFC 6749 §4.1.3 and §3.2: parameters come form-encoded.
    pub fn form_params(&self) -> Result<Params, Failure> {
        if self.media_type() != "application/x-www-form-urlencoded" {
            return Err(Failure::invalid_request(
                "the Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        Params::from_wire(self.body_text()?)
    }

    pub fn json_body(&self) -> Result<Value, Failure> {
        if self.media_type() != "application/json" {
            return Err(Failure::invalid_request(
                "the Content-Type must be application/json",
            ));
        }
        serde_json::from_str(self.body_text()?)
            .map_err(|e| Failure::invalid_request(format!("the body is not valid JSON: {e}")))
    }

    /// A JSON body that may be absent (`{}` then).
    pub fn optional_json_body(&self) -> Result<Value, Failure> {
        let empty = matches!(&self.body, Body::Bytes(b) if b.is_empty());
        if empty && self.media_type().is_empty() {
            return Ok(json!({}));
        }
        self.json_body()
    }

    /// The value of a `Bearer` `Authorization` header, trimmed.
    pub fn bearer(&self) -> Option<&str> {
        self.header("Authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OAuthError;

    #[test]
    fn splits_the_url_and_reads_headers_case_insensitively() {
        let r = Request::new(Method::Get, "https://id.example/", "/authorize?a=1&b=2")
            .with_header("X-Thing", "v");
        assert_eq!(r.path, "/authorize");
        assert_eq!(r.query, "a=1&b=2");
        assert_eq!(r.origin, "https://id.example");
        assert_eq!(r.header("x-thing"), Some("v"));
        assert!(r.https());
    }

    #[test]
    fn bodies_are_checked_before_parsing() {
        let big = Request::form("http://x", "/token", &"a".repeat(MAX_BODY_BYTES + 1));
        assert_eq!(big.body, Body::TooLarge);
        assert!(big
            .form_params()
            .unwrap_err()
            .description
            .contains("exceeds"));
        let wrong = Request::new(Method::Post, "http://x", "/token").with_body("a=1");
        assert_eq!(
            wrong.form_params().unwrap_err().error,
            OAuthError::InvalidRequest
        );
        let bad = Request::new(Method::Post, "http://x", "/t")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(vec![0xff, 0xfe]);
        assert!(bad.form_params().unwrap_err().description.contains("UTF-8"));
        let empty = Request::new(Method::Post, "http://x", "/t");
        assert_eq!(empty.optional_json_body().unwrap(), json!({}));
    }
}

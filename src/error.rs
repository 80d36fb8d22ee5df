//! The one definition of every error code this provider puts on the wire, and its HTTP status.
//!
//! Codes come from RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID Connect Core §3.1.2.6,
//! RFC 7591 §3.2.2, RFC 7009 §2.2.1 and RFC 8707 §2; `not_found` and `conflict` are the management API's own.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    InsufficientScope,
    InvalidRedirectUri,
    InvalidClientMetadata,
    UnsupportedTokenType,
    InvalidTarget,
    /// OpenID Connect Core §3.1.2.6: `request` sent to an OP that does not take it.
    RequestNotSupported,
    /// The same for `request_uri`.
    RequestUriNotSupported,
    /// Core §3.1.2.6: a request object that is not acceptable (unsigned, badly signed, wrong).
    InvalidRequestObject,
    /// Core §3.1.2.6: a `request_uri` that cannot be read or holds no usable object.
    InvalidRequestUri,
    NotFound,
    Conflict,
}

impl OAuthError {
    pub const ALL: [OAuthError; 25] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::UnsupportedResponseType,
        Self::InvalidScope,
        Self::AccessDenied,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::LoginRequired,
        Self::ConsentRequired,
        Self::InteractionRequired,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::InvalidRedirectUri,
        Self::InvalidClientMetadata,
        Self::UnsupportedTokenType,
        Self::InvalidTarget,
        Self::RequestNotSupported,
        Self::RequestUriNotSupported,
        Self::InvalidRequestObject,
        Self::InvalidRequestUri,
        Self::NotFound,
        Self::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidTarget => "invalid_target",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == code)
    }

    /// The status for a JSON error response (RFC 6749 §5.2: 400, except `invalid_client`
    /// which is 401 when the client tried to authenticate; RFC 6750 §3.1 for bearer errors).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope | Self::AccessDenied => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with the description a client sees. Internal details never go in the
/// description: `Failure::server` logs them and returns a generic text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: OAuthError,
    pub description: Cow<'static, str>,
    /// RFC 6750 §3.1: a request that carried no credentials at all gets a bare
    /// `WWW-Authenticate: Bearer` challenge, without an error code.
    pub no_credentials: bool,
}

impl Failure {
    pub fn new(error: OAuthError, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error,
            description: description.into(),
            no_credentials: false,
        }
    }

    /// `invalid_token` for a request that presented no token (RFC 6750 §3.1).
    pub fn missing_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            no_credentials: true,
            ..Self::new(OAuthError::InvalidToken, description)
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthError::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthError::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthError::InvalidGrant, description)
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthError::InvalidToken, description)
    }

    /// An internal failure: the detail is logged, the client only learns that it happened.
    pub fn server(detail: impl std::fmt::Display) -> Self {
        log_error(&format!("server_error: {detail}"));
        Self::new(OAuthError::ServerError, "internal error")
    }

    /// Storage or a platform service was unreachable: worth retrying (RFC 6749 §4.1.2.1).
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        log_error(&format!("temporarily_unavailable: {detail}"));
        Self::new(
            OAuthError::TemporarilyUnavailable,
            "the service is temporarily unavailable, try again",
        )
    }

    pub fn status(&self) -> u16 {
        self.error.status()
    }

    /// The JSON body of RFC 6749 §5.2.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.error.as_str(),
            "error_description": self.description,
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

/// The log sink: the console in workerd (Workers Logs), stderr natively.
#[cfg(target_arch = "wasm32")]
mod console {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console, js_name = error)]
        pub fn error(message: &str);
        #[wasm_bindgen(js_namespace = console, js_name = log)]
        pub fn log(message: &str);
    }
}

pub fn log_error(message: &str) {
    #[cfg(target_arch = "wasm32")]
    console::error(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

pub fn log_info(message: &str) {
    #[cfg(target_arch = "wasm32")]
    console::log(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for e in OAuthError::ALL {
            assert_eq!(OAuthError::from_code(e.as_str()), Some(e));
        }
        assert_eq!(OAuthError::from_code("nope"), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = OAuthError::ALL.iter().map(|e| e.as_str()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), OAuthError::ALL.len());
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(OAuthError::InvalidClient.status(), 401);
        assert_eq!(OAuthError::InvalidGrant.status(), 400);
        assert_eq!(OAuthError::InvalidToken.status(), 401);
        assert_eq!(OAuthError::ServerError.status(), 500);
        assert_eq!(OAuthError::TemporarilyUnavailable.status(), 503);
    }

    #[test]
    fn server_errors_hide_details() {
        let f = Failure::server("D1_ERROR: no such table: secrets_table");
        assert_eq!(f.error, OAuthError::ServerError);
        assert!(!f.to_json().to_string().contains("secrets_table"));
    }
}

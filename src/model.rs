//! The records the provider keeps: applications, users, codes, sessions, keys.

use serde::{Deserialize, Serialize};

/// The four application types users know from Auth0 and Logto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// A backend / regular web app: confidential, has a secret.
    Traditional,
    /// A single-page app: public, PKCE required.
    Spa,
    /// A mobile or desktop app: public, PKCE required.
    Native,
    /// Machine to machine: confidential, client credentials only.
    M2m,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traditional => "traditional",
            Self::Spa => "spa",
            Self::Native => "native",
            Self::M2m => "m2m",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Traditional, Self::Spa, Self::Native, Self::M2m]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// Confidential clients can keep a secret (RFC 6749 §2.1).
    pub fn is_confidential(self) -> bool {
        matches!(self, Self::Traditional | Self::M2m)
    }

    pub fn default_auth_method(self) -> TokenAuthMethod {
        if self.is_confidential() {
            TokenAuthMethod::ClientSecretBasic
        } else {
            TokenAuthMethod::None
        }
    }
}

/// How a client authenticates at the token endpoint (OpenID Connect Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::ClientSecretBasic, Self::ClientSecretPost]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub app_type: AppType,
    /// Hex SHA-256 of the client secret; `None` for public clients.
    pub client_secret_hash: Option<String>,
    pub token_endpoint_auth_method: TokenAuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Application {
    pub fn is_public(&self) -> bool {
        !self.app_type.is_confidential()
    }

    /// Exact string comparison (RFC 9700 §4.1.1, OpenID Connect Core §3.1.2.1).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether a browser at `origin` may read this application's token and userinfo
    /// responses. Origins are compared as serialized by the browser (scheme://host[:port]).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The stable subject identifier (`sub`).
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub email_verified: bool,
    pub password_hash: String,
    pub created_at: i64,
}

impl User {
    pub fn claims(&self) -> UserClaims {
        UserClaims {
            email: self.email.clone(),
            email_verified: self.email_verified,
            name: self.name.clone(),
        }
    }
}

/// The user's profile claims as of login, carried in the session and the code so the token
/// exchange needs no user lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserClaims {
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// A login session (kept in KV under the hash of its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub claims: UserClaims,
}

/// An issued authorization code, stored under the hash of the code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// The S256 challenge (RFC 7636 §4.2); `None` when a confidential client sent none.
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub claims: UserClaims,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A signing key as stored: public JWK in the clear, private key encrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub private_key_enc: String,
    pub created_at: i64,
}

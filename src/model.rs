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

/// OAuth grant types an application may use (RFC 6749 §4, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AuthorizationCode,
            Self::RefreshToken,
            Self::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

impl AppType {
    /// What each type may use: browsers and devices act for a user, daemons only for
    /// themselves (as in Auth0 and Logto).
    pub fn allowed_grants(self) -> &'static [GrantType] {
        use GrantType::*;
        match self {
            Self::Traditional => &[AuthorizationCode, RefreshToken, ClientCredentials],
            Self::Spa | Self::Native => &[AuthorizationCode, RefreshToken],
            Self::M2m => &[ClientCredentials],
        }
    }

    pub fn default_grants(self) -> Vec<GrantType> {
        use GrantType::*;
        match self {
            Self::M2m => vec![ClientCredentials],
            _ => vec![AuthorizationCode, RefreshToken],
        }
    }
}

/// Token lifetimes and refresh behaviour, with Auth0/Logto's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Seconds until an ID token expires (its `exp`).
    pub id_token_ttl: i64,
    pub access_token_ttl: i64,
    pub always_issue_refresh_token: bool,
    pub rotate_refresh_token: bool,
    pub refresh_token_ttl_days: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            id_token_ttl: 3600,
            access_token_ttl: 3600,
            always_issue_refresh_token: false,
            rotate_refresh_token: true,
            refresh_token_ttl_days: 14,
        }
    }
}

impl TokenSettings {
    /// The bounds each setting must stay in: a field name and the problem.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if !(60..=86_400).contains(&self.id_token_ttl) {
            return Err(("token_settings.id_token_ttl", "60 to 86400 seconds"));
        }
        if !(60..=86_400).contains(&self.access_token_ttl) {
            return Err(("token_settings.access_token_ttl", "60 to 86400 seconds"));
        }
        if !(1..=365).contains(&self.refresh_token_ttl_days) {
            return Err(("token_settings.refresh_token_ttl_days", "1 to 365 days"));
        }
        Ok(())
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
    /// The secret replaced by the last rotation, valid until `previous_secret_expires_at`
    /// so a backend can roll without downtime.
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub token_endpoint_auth_method: TokenAuthMethod,
    pub grant_types: Vec<GrantType>,
    /// Where the provider links back when no specific URI applies.
    pub home_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Also allow the origins of the redirect URIs (the "same as redirect URIs" toggle).
    pub cors_from_redirect_uris: bool,
    /// First-party applications skip the consent screen.
    pub first_party: bool,
    pub token_settings: TokenSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Application {
    /// A new application of `app_type` with its type's defaults.
    pub fn new(client_id: String, name: String, app_type: AppType, now: i64) -> Self {
        Self {
            client_id,
            name,
            description: String::new(),
            app_type,
            client_secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            token_endpoint_auth_method: app_type.default_auth_method(),
            grant_types: app_type.default_grants(),
            home_url: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            cors_from_redirect_uris: false,
            first_party: true,
            token_settings: TokenSettings::default(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_public(&self) -> bool {
        !self.app_type.is_confidential()
    }

    pub fn has_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Exact string comparison (RFC 9700 §4.1.1, OpenID Connect Core §3.1.2.1).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether a browser at `origin` may read this application's token and userinfo
    /// responses. Origins are compared as serialized by the browser (scheme://host[:port]).
    pub fn allows_origin(&self, origin: &str) -> bool {
        let listed = self
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin));
        listed
            || (self.cors_from_redirect_uris
                && self.redirect_uris.iter().any(|r| {
                    url::Url::parse(r)
                        .map(|u| {
                            u.origin()
                                .ascii_serialization()
                                .eq_ignore_ascii_case(origin)
                        })
                        .unwrap_or(false)
                }))
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

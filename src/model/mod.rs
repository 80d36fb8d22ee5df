//! The records the provider keeps: applications, users, codes, sessions, keys.

use serde::{Deserialize, Serialize};

pub mod access;
pub mod audit;
pub mod grant;
pub mod html;
pub mod profile;
mod signing;
pub mod uri_pattern;

pub use signing::SigningAlg;
use uri_pattern::{parse_origin_pattern, parse_redirect_pattern};

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
    /// A JWT signed with the client's registered key (RFC 7523 §2.2, Core §9).
    PrivateKeyJwt,
}

impl TokenAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::None,
            Self::ClientSecretBasic,
            Self::ClientSecretPost,
            Self::PrivateKeyJwt,
        ]
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
    /// The login page offers sign-up for this application (when the deployment has it on,
    /// `SIGNUP_ENABLED`); an application for existing users only hides it.
    pub allow_signup: bool,
    pub token_settings: TokenSettings,
    /// The JWS algorithm of this application's ID tokens (OpenID Connect Dynamic Client
    /// Registration §2); access tokens are always RS256.
    pub id_token_signed_response_alg: SigningAlg,
    /// APIs (`aud` values, RFC 8707 resource identifiers) this application may get
    /// `client_credentials` tokens for, and the scopes it may get there.
    pub allowed_audiences: Vec<String>,
    pub allowed_scopes: Vec<String>,
    /// Where logout tokens are POSTed when a session this application signed in to ends
    /// (OpenID Connect Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// The application needs `sid` in logout tokens (§2.2); this provider always sends it.
    pub backchannel_logout_session_required: bool,
    /// Branding on the login and consent pages (RFC 7591 §2 `logo_uri`, `policy_uri`,
    /// `tos_uri`): a logo (https) and links to the application's policy and terms.
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Userinfo answers as a JWT signed with this algorithm (OpenID Connect Dynamic Client
    /// Registration §2); `None`: plain JSON.
    pub userinfo_signed_response_alg: Option<SigningAlg>,
    /// The client's public keys for `private_key_jwt` (RFC 7591 §2 `jwks`): a JWK Set as
    /// JSON text, checked when set.
    pub jwks: Option<String>,
    /// Where the client publishes them instead (RFC 7591 §2 `jwks_uri`), fetched when needed.
    pub jwks_uri: Option<String>,
    /// Who may use the application (roles, countries, email domains); open by default.
    pub access_rules: access::AccessRules,
    /// Hash of the RFC 7592 registration access token; only for clients that registered
    /// themselves at `/register`.
    pub registration_token_hash: Option<String>,
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
            allow_signup: true,
            token_settings: TokenSettings::default(),
            id_token_signed_response_alg: SigningAlg::Rs256,
            allowed_audiences: Vec::new(),
            allowed_scopes: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            userinfo_signed_response_alg: None,
            jwks: None,
            jwks_uri: None,
            access_rules: access::AccessRules::default(),
            registration_token_hash: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_public(&self) -> bool {
        !self.app_type.is_confidential()
    }

    /// Whether the application authenticates with a client secret (RFC 6749 §2.3.1); a
    /// `private_key_jwt` client has keys instead and is issued none (RFC 7591 §3.2.1).
    pub fn uses_secret(&self) -> bool {
        matches!(
            self.token_endpoint_auth_method,
            TokenAuthMethod::ClientSecretBasic | TokenAuthMethod::ClientSecretPost
        )
    }

    pub fn has_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `uri` is one of this application's redirect URIs: exact, or within a
    /// wildcard pattern the application registered (RFC 9700 §4.1.3 prefers exact; wildcards
    /// are the administrator's explicit choice). Native apps' loopback redirects match on any
    /// port (RFC 8252 §7.3).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        uri_matches(&self.redirect_uris, uri, self.app_type == AppType::Native)
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        uri_matches(
            &self.post_logout_redirect_uris,
            uri,
            self.app_type == AppType::Native,
        )
    }

    /// Whether a browser at `origin` may read this application's token and userinfo
    /// responses: a listed origin pattern, or (with the toggle) a redirect URI's origin.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let listed = self.allowed_origins.iter().any(|o| {
            parse_origin_pattern(o)
                .map(|p| p.matches(origin))
                .unwrap_or(false)
        });
        listed
            || (self.cors_from_redirect_uris
                && self.redirect_uris.iter().any(|r| {
                    parse_redirect_pattern(r, true)
                        .ok()
                        .and_then(|p| p.origin_pattern())
                        .is_some_and(|o| o.matches(origin))
                }))
    }
}

/// Stored patterns were validated on the way in; one that no longer parses matches nothing.
fn uri_matches(patterns: &[String], uri: &str, loopback_any_port: bool) -> bool {
    patterns.iter().any(|p| {
        parse_redirect_pattern(p, true)
            .map(|p| p.matches(uri, loopback_any_port))
            .unwrap_or(false)
    })
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
    /// Roles granted to the user; only `ADMIN_ROLE` means anything today.
    pub roles: Vec<String>,
    /// When an administrator disabled the account: it cannot log in, and sessions,
    /// codes and refresh tokens stop working.
    pub disabled_at: Option<i64>,
    /// The standard claims beyond email and name (OpenID Connect Core §5.1).
    pub profile: profile::Profile,
    /// When the claims last changed (`updated_at`, §5.1); 0 for never since creation.
    pub updated_at: i64,
}

/// The role that may use the dashboard and get the `admin` scope.
pub const ADMIN_ROLE: &str = "admin";

impl User {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == ADMIN_ROLE)
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn claims(&self) -> UserClaims {
        UserClaims {
            email: self.email.clone(),
            email_verified: self.email_verified,
            name: self.name.clone(),
            profile: self.profile.clone(),
            updated_at: Some(self.updated_at.max(self.created_at)),
            roles: self.roles.clone(),
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
    #[serde(default, skip_serializing_if = "profile::Profile::is_empty")]
    pub profile: profile::Profile,
    /// `updated_at` (§5.1); absent in snapshots taken before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// The user's roles, released by the `roles` scope; absent in older snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// A login session (kept in KV under the hash of its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub claims: UserClaims,
    /// The hash of the session's cookie value: its KV key. Known once read, never stored;
    /// the session's public `sid` is derived from it (`oidc::backchannel::sid_of`).
    #[serde(skip)]
    pub id_hash: String,
    /// The applications with a back-channel logout URI that got a code in this session:
    /// each gets a logout token when it ends (Back-Channel Logout 1.0 §2.4). Recorded after
    /// the answer that gave the code; a set that only grows, so KV's last write winning
    /// can at worst drop an entry written in the same minute from another location.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "bc")]
    pub backchannel: Vec<String>,
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
    /// When it was redeemed; a second redemption is a replay.
    pub consumed_at: Option<i64>,
    /// The refresh-token grant its redemption started, revoked if the code is replayed.
    pub grant_id: Option<String>,
}

/// A refresh token, stored under its hash. Tokens of one grant (a user's authorization of
/// an application for a scope) share `grant_id`; rotation chains them, reuse revokes them all.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub claims: UserClaims,
    pub created_at: i64,
    pub expires_at: i64,
    /// No token of the grant lives past this (one year from the grant).
    pub grant_expires_at: i64,
    /// Set when the token was rotated out: presenting it again is reuse.
    pub consumed_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Failed logins counted under one key (an account or a client IP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

/// A user's remembered consent to one application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Published, not signing yet.
    Next,
    /// Signing.
    Current,
    /// Published while tokens it signed may live, then only kept.
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

/// A signing key as stored: public JWK in the clear, private key encrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub status: KeyStatus,
    pub public_jwk: String,
    pub private_key_enc: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(app_type: AppType, redirects: &[&str], origins: &[&str]) -> Application {
        let mut a = Application::new("c".into(), "n".into(), app_type, 0);
        a.redirect_uris = redirects.iter().map(|s| s.to_string()).collect();
        a.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        a
    }

    #[test]
    fn wildcard_redirects_match_only_their_shape() {
        let a = app(
            AppType::Spa,
            &["https://*.example.com/cb", "https://host.com/path/*"],
            &[],
        );
        assert!(a.has_redirect_uri("https://tenant.example.com/cb"));
        assert!(a.has_redirect_uri("https://host.com/path/deep/er?x=1"));
        for bad in [
            "https://a.b.example.com/cb",
            "https://example.com/cb",
            "https://tenant.example.com/cb/x",
            "https://host.com/path",
            "https://host.com/path/../admin",
            "https://host.com/path/%2e%2e/admin",
            "https://host.com@evil.com/path/x",
            "https://host.com/path/x#frag",
            "https://host.com.evil.com/path/x",
        ] {
            assert!(!a.has_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_float_for_native_apps_only() {
        let native = app(AppType::Native, &["http://127.0.0.1/cb"], &[]);
        assert!(native.has_redirect_uri("http://127.0.0.1:51234/cb"));
        let spa = app(AppType::Spa, &["http://127.0.0.1/cb"], &[]);
        assert!(!spa.has_redirect_uri("http://127.0.0.1:51234/cb"));
        assert!(spa.has_redirect_uri("http://127.0.0.1/cb"));
    }

    #[test]
    fn origins_from_patterns_and_the_toggle() {
        let mut a = app(
            AppType::Spa,
            &["https://app.example.net/cb"],
            &["https://*.example.org"],
        );
        assert!(a.allows_origin("https://x.example.org"));
        assert!(!a.allows_origin("https://example.org"));
        assert!(!a.allows_origin("https://x.y.example.org"));
        assert!(!a.allows_origin("null"));
        assert!(!a.allows_origin("https://app.example.net"));
        a.cors_from_redirect_uris = true;
        assert!(a.allows_origin("https://app.example.net"));
        assert!(!a.allows_origin("http://app.example.net"));
    }

    #[test]
    fn a_full_wildcard_redirect_never_means_any_origin() {
        let mut a = app(AppType::Spa, &["*"], &[]);
        a.cors_from_redirect_uris = true;
        assert!(a.has_redirect_uri("https://anything.example/cb"));
        assert!(!a.has_redirect_uri("javascript:alert(1)"));
        assert!(!a.allows_origin("https://anything.example"));
    }
}

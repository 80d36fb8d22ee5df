//! Protocol logic, plain Rust: every entry point takes the one services bundle
//! (`services::Services`) and plain values, never the Workers runtime, so it all runs
//! natively under `cargo test`. One file per endpoint or grant.

pub mod access;
pub mod account;
pub mod app_settings;
pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod claims_request;
pub mod client_assertion;
pub mod client_auth;
pub mod client_credentials;
pub mod code;
pub mod consent;
pub mod cursor;
pub mod dashboard;
pub mod discovery;
pub mod grants;
pub mod interaction;
pub mod jwt;
pub mod keys;
pub mod links;
pub mod login;
pub mod logout;
pub mod mail;
pub mod management;
pub mod mint;
pub mod params;
pub mod password_rules;
pub mod pkce;
pub mod profile;
pub mod refresh;
pub mod registration;
pub mod request_object;
pub mod reset;
pub mod revocation;
pub mod roles;
pub mod schedule;
pub mod services;
pub mod signup;
pub mod stats;
pub mod throttle;
pub mod token;
pub mod userinfo;
pub mod users;

#[cfg(test)]
pub mod testing {
    use crate::model::{AppType, Application, User};

    /// An application registered with one redirect URI that carries a query.
    pub fn app(app_type: AppType) -> Application {
        let mut app = Application::new("app1".into(), "App".into(), app_type, 0);
        app.redirect_uris = vec!["https://app.example/cb?tenant=1".into()];
        app
    }

    /// Stores a grant of `client_id` to user `u1` whose refresh token (returned) was issued
    /// at t=0 and lives 14 days.
    pub fn grant_with_token(
        store: &crate::store::memory::MemoryStore,
        client_id: &str,
        rng: &crate::runtime::testing::CountingRandom,
    ) -> String {
        use crate::model::grant::{Grant, RefreshState};
        let id = super::grants::new_grant_id(rng).unwrap();
        let token = super::grants::new_refresh_token(rng, &id).unwrap();
        let grant = Grant {
            claims_request: String::new(),
            sid: None,
            client_id: client_id.into(),
            user_id: "u1".into(),
            scope: "openid offline_access".into(),
            audience: None,
            acr: None,
            auth_time: 0,
            claims: user("u1", "a@b.c").claims(),
            created_at: 0,
            code_expires_at: 60,
            refresh: Some(RefreshState {
                token_hash: token.hashed(),
                created_at: 0,
                expires_at: 14 * 24 * 3600,
                grant_expires_at: 365 * 24 * 3600,
                spent: vec![],
            }),
            revoked_at: None,
            access_expires_at: 0,
        };
        store.grants.borrow_mut().insert(id, grant);
        token.expose().to_string()
    }

    /// An enabled user without a password.
    pub fn user(id: &str, email: &str) -> User {
        User {
            id: id.into(),
            email: email.into(),
            name: None,
            email_verified: true,
            password_hash: String::new(),
            created_at: 0,
            roles: vec![],
            disabled_at: None,
            profile: Default::default(),
            updated_at: 0,
        }
    }
}

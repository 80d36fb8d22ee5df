//! Protocol logic, plain Rust: every entry point takes the one services bundle
//! (`services::Services`) and plain values, never the Workers runtime, so it all runs
//! natively under `cargo test`. One file per endpoint or grant.

pub mod app_settings;
pub mod audit;
pub mod authorize;
pub mod client_auth;
pub mod client_credentials;
pub mod consent;
pub mod cursor;
pub mod dashboard;
pub mod discovery;
pub mod interaction;
pub mod jwt;
pub mod keys;
pub mod login;
pub mod logout;
pub mod management;
pub mod mint;
pub mod params;
pub mod pkce;
pub mod refresh;
pub mod registration;
pub mod revocation;
pub mod schedule;
pub mod services;
pub mod throttle;
pub mod token;
pub mod userinfo;
pub mod users;

#[cfg(test)]
pub mod testing {
    use crate::model::{AppType, Application};

    /// An application registered with one redirect URI that carries a query.
    pub fn app(app_type: AppType) -> Application {
        let mut app = Application::new("app1".into(), "App".into(), app_type, 0);
        app.redirect_uris = vec!["https://app.example/cb?tenant=1".into()];
        app
    }
}

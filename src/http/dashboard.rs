//! `GET /admin/config`: what the dashboard's script (public/admin/) needs to sign in.

use super::{cors, no_store, Reply};
use crate::oidc::dashboard;
use crate::oidc::services::{Deps, Services};

/// Creates the dashboard's application on first use, and rewrites it when the issuer
/// changed.
pub async fn config<D: Deps>(svc: &Services<'_, D>) -> Reply {
    match dashboard::ensure_application(svc).await {
        Ok(written) => {
            if written {
                cors::applications_changed();
            }
            no_store(200, &dashboard::config_json(svc.issuer))
        }
        Err(f) => Reply::error(&f),
    }
}

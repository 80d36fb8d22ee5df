//! The cron triggers (`[triggers]` in wrangler.toml): every trigger enforces the audit
//! log's retention and forgets ended grants from the index; the weekly one also rotates
//! the signing keys.

use super::audit::{self, Entry, Event};
use super::jwt::Signer;
use super::services::{Deps, Services};
use crate::error::{log_error, log_info};
use crate::runtime::Clock;
use crate::store::Store;

/// The weekly trigger in wrangler.toml that rotates signing keys; the daily one only
/// enforces the audit log's retention.
pub const KEY_ROTATION_CRON: &str = "17 3 * * 1";

/// Runs the trigger `cron`. Failures are logged: nobody waits for the answer.
pub async fn run<D: Deps>(svc: &Services<'_, D>, cron: &str) {
    let days = svc.settings.audit_retention_days;
    match audit::enforce_retention(svc.store, svc.clock.now(), days).await {
        Ok(n) => log_info(&format!(
            "audit log retention ({days} days): {n} records deleted"
        )),
        Err(f) => log_error(&format!("audit log retention failed: {f}")),
    }
    match svc.store.purge_grant_index(svc.clock.now()).await {
        Ok(n) => log_info(&format!("grant index: {n} ended grants forgotten")),
        Err(e) => log_error(&format!("grant index purge failed: {e}")),
    }
    if cron != KEY_ROTATION_CRON {
        return;
    }
    match svc.signer.rotate(None).await {
        Ok(kid) => {
            log_info(&format!("scheduled key rotation: {kid} now signs"));
            svc.audit.record(
                Entry::new(Event::KeyRotated, "Signing keys rotated")
                    .detail("current_kid", kid)
                    .detail("by", "schedule"),
            );
        }
        Err(f) => log_error(&format!("scheduled key rotation failed: {f}")),
    }
}

//! `/api/v1/...`: the management API (applications, users, consents, keys, the audit log).
//! Every call is authenticated first (`ADMIN_TOKEN` or a dashboard token with the `admin`
//! scope); the router then picks the operation. Changes are recorded in the audit log with
//! who acted (`detail.by`).

use serde_json::Value;

use super::{cors, no_store, Reply, Request};
use crate::error::{Failure, OAuthError};
use crate::oidc::audit::{self, Entry};
use crate::oidc::dashboard::{self, Principal};
use crate::oidc::management::{self, Done};
use crate::oidc::services::{Deps, Services};
use crate::oidc::{roles, users};

/// The caller, or the error to answer with.
pub async fn principal<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Result<Principal, Reply> {
    dashboard::authenticate(svc, req.bearer())
        .await
        .map_err(|f| Reply::error(&f))
}

/// The built-in applications (the dashboard's, the account page's) are the provider's:
/// changing them could lock people out.
pub fn refuse_own_application() -> Reply {
    Reply::error(&Failure::invalid_request(
        "this application is built into the provider and cannot be changed",
    ))
}

pub fn no_such_resource() -> Reply {
    Reply::error(&Failure::new(
        OAuthError::NotFound,
        "no such management resource",
    ))
}

/// A read: the view as JSON.
pub fn view(result: Result<Value, Failure>) -> Reply {
    match result {
        Ok(v) => no_store(200, &v),
        Err(f) => Reply::error(&f),
    }
}

/// A change: records its audit entry with who acted, and answers with `status`.
pub fn done<D: Deps>(
    svc: &Services<'_, D>,
    by: &Principal,
    status: u16,
    result: Result<Done, Failure>,
) -> Reply {
    match result {
        Ok(Done { view, entry }) => {
            record(svc, by, entry);
            no_store(status, &view)
        }
        Err(f) => Reply::error(&f),
    }
}

/// A deletion: 204 and its audit entry.
pub fn deleted<D: Deps>(
    svc: &Services<'_, D>,
    by: &Principal,
    result: Result<Entry, Failure>,
) -> Reply {
    match result {
        Ok(entry) => {
            record(svc, by, entry);
            Reply::new(204)
        }
        Err(f) => Reply::error(&f),
    }
}

fn record<D: Deps>(svc: &Services<'_, D>, by: &Principal, entry: Entry) {
    svc.audit.record(entry.detail("by", by.by()));
}

pub async fn list_applications<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    view(async { management::list_applications(svc, &req.query_params()?).await }.await)
}

pub async fn create_application<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    by: &Principal,
) -> Reply {
    let result = async { management::create_application(svc, &req.json_body()?).await }.await;
    cors::applications_changed();
    done(svc, by, 201, result)
}

pub async fn update_application<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    by: &Principal,
    id: &str,
) -> Reply {
    let result = async { management::update_application(svc, id, &req.json_body()?).await }.await;
    cors::applications_changed();
    done(svc, by, 200, result)
}

pub async fn delete_application<D: Deps>(svc: &Services<'_, D>, by: &Principal, id: &str) -> Reply {
    let result = management::delete_application(svc, id).await;
    cors::applications_changed();
    deleted(svc, by, result)
}

/// The body is optional: none means no grace period.
pub async fn rotate_secret<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    by: &Principal,
    id: &str,
) -> Reply {
    let result =
        async { management::rotate_secret(svc, id, &req.optional_json_body()?).await }.await;
    done(svc, by, 200, result)
}

pub async fn list_users<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    view(async { users::list_users(svc, &req.query_params()?).await }.await)
}

pub async fn create_user<D: Deps>(svc: &Services<'_, D>, req: &Request, by: &Principal) -> Reply {
    let result = async { users::create_user(svc, &req.json_body()?).await }.await;
    done(svc, by, 201, result)
}

pub async fn update_user<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    by: &Principal,
    id: &str,
) -> Reply {
    let result = async { users::update_user(svc, id, &req.json_body()?).await }.await;
    done(svc, by, 200, result)
}

pub async fn create_role<D: Deps>(svc: &Services<'_, D>, req: &Request, by: &Principal) -> Reply {
    let result = async { roles::create_role(svc, &req.json_body()?).await }.await;
    done(svc, by, 201, result)
}

/// A rename changes access rules: the isolate's CORS answers are not affected (they hold
/// origins only), its application cache is dropped by the store.
pub async fn update_role<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    by: &Principal,
    name: &str,
) -> Reply {
    let result = async { roles::update_role(svc, name, &req.json_body()?).await }.await;
    done(svc, by, 200, result)
}

/// `GET /api/v1/logs`: the audit log, newest first, as JSON pages or JSON lines.
pub async fn logs<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let result = async { audit::list(svc, &req.query_params()?).await }.await;
    match result {
        Ok((audit::Format::Json, records, next)) => {
            no_store(200, &audit::page_json(&records, next.as_deref()))
        }
        Ok((audit::Format::Jsonl, records, next)) => {
            let mut reply = Reply::new(200)
                .header("Content-Type", "application/x-ndjson")
                .header("Cache-Control", "no-store");
            // Log shippers page on by following the cursor (RFC 8288 link). The cursor is
            // base64url, so it needs no escaping; the other parameters are kept as sent.
            if let Some(cursor) = next {
                let mut query: Vec<&str> = req
                    .query
                    .split('&')
                    .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
                    .collect();
                let pair = format!("cursor={cursor}");
                query.push(&pair);
                let link = format!("<{}?{}>; rel=\"next\"", req.path, query.join("&"));
                reply = reply.header("Link", link).header("X-Next-Cursor", cursor);
            }
            reply.with_body(audit::page_jsonl(&records))
        }
        Err(f) => Reply::error(&f),
    }
}

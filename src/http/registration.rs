//! `/register` (RFC 7591) and `/register/{client_id}` (RFC 7592). Absent unless enabled.

use serde_json::Value;

use super::{cors, wrong_method, Method, Reply, Request};
use crate::error::{Failure, OAuthError};
use crate::oidc::registration;
use crate::oidc::services::{Deps, Services};
use crate::oidc::userinfo::bearer_token;

fn answer(result: Result<(u16, Option<Value>), Failure>) -> Reply {
    match result {
        Ok((status, Some(body))) => Reply::json(status, &body)
            .header("Cache-Control", "no-store")
            .header("Pragma", "no-cache"),
        Ok((status, None)) => Reply::new(status),
        Err(f) => Reply::error(&f),
    }
}

/// `POST /register`.
pub async fn collection<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    answer(register(svc, req).await)
}

async fn register<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
) -> Result<(u16, Option<Value>), Failure> {
    if req.method != Method::Post {
        return Err(wrong_method("POST"));
    }
    // RFC 7591 §3: registration may be gated by an initial access token.
    if let Some(expected) = &svc.settings.registration_token {
        let presented = bearer_token(req.header("Authorization"), None)?;
        if crate::crypto::InitialAccessToken::new(presented) != *expected {
            return Err(Failure::invalid_token(
                "the initial access token is not valid",
            ));
        }
    }
    let meta = req
        .json_body()
        .map_err(|f| Failure::new(OAuthError::InvalidClientMetadata, f.description))?;
    let info = registration::register(svc, &meta).await?;
    cors::applications_changed();
    Ok((201, Some(info)))
}

/// `GET|PUT|DELETE /register/{client_id}` with the registration access token.
pub async fn client<D: Deps>(svc: &Services<'_, D>, req: &Request, id: &str) -> Reply {
    answer(manage(svc, req, id).await)
}

async fn manage<D: Deps>(
    svc: &Services<'_, D>,
    req: &Request,
    id: &str,
) -> Result<(u16, Option<Value>), Failure> {
    let token = bearer_token(req.header("Authorization"), None)?;
    match req.method {
        Method::Get => Ok((200, Some(registration::read(svc, id, token).await?))),
        Method::Put => {
            let meta = req.json_body()?;
            let info = registration::update(svc, id, token, &meta).await?;
            cors::applications_changed();
            Ok((200, Some(info)))
        }
        Method::Delete => {
            registration::delete(svc, id, token).await?;
            cors::applications_changed();
            Ok((204, None))
        }
        _ => Err(wrong_method("GET, PUT, DELETE")),
    }
}

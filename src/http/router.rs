//! The whole routing table, second-level routes included: a plain function of the services
//! and a plain request, so it compiles and is tested natively (see the tests below).

use super::management::{self as m, no_such_resource, refuse_own_application};
use super::{
    account, authorize, dashboard, discovery, logout, method_not_allowed, not_found, registration,
    selfservice as own, token, userinfo, Method, Reply, Request,
};
use crate::oidc::services::{Deps, Services};

use Method::{Delete, Get, Head, Options, Patch, Post};

pub async fn route<D: Deps>(svc: &Services<'_, D>, req: &Request) -> Reply {
    let method = req.method;
    match req.path.as_str() {
        "/.well-known/openid-configuration" => match method {
            Get => discovery::discovery(svc),
            Head => discovery::discovery(svc).without_body(),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/.well-known/jwks.json" => match method {
            Get => discovery::jwks(svc).await,
            Head => discovery::jwks(svc).await.without_body(),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/authorize" => match method {
            Get | Post => authorize::authorize(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/login" => match method {
            Post => authorize::login(svc, req).await,
            _ => method_not_allowed("POST"),
        },
        "/consent" => match method {
            Post => authorize::consent(svc, req).await,
            _ => method_not_allowed("POST"),
        },
        "/signup" => match method {
            Get => own::signup_page(svc, req).await,
            Post => own::signup(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/signup/confirm" => match method {
            Get => own::signup_confirm_page(svc, req).await,
            Post => own::signup_confirm(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/reset" => match method {
            Get => own::reset_page(svc, req).await,
            Post => own::reset(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/reset/confirm" => match method {
            Get => own::reset_confirm_page(svc, req).await,
            Post => own::reset_confirm(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/account" => match method {
            Get => account::show(svc, req).await,
            _ => method_not_allowed("GET"),
        },
        "/account/profile" | "/account/password" | "/account/email" | "/account/revoke"
        | "/account/signout" => match method {
            Post => match req.path.as_str() {
                "/account/profile" => account::profile(svc, req).await,
                "/account/password" => account::password(svc, req).await,
                "/account/email" => account::email(svc, req).await,
                "/account/revoke" => account::revoke(svc, req).await,
                _ => account::sign_out_everywhere(svc, req).await,
            },
            _ => method_not_allowed("POST"),
        },
        "/account/email/confirm" => match method {
            Get => account::email_confirm_page(svc, req).await,
            Post => account::email_confirm(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        "/token" => match method {
            Post => token::token(svc, req).await,
            Options => token::preflight(svc, req, "POST").await,
            _ => method_not_allowed("POST"),
        },
        "/userinfo" => match method {
            Get | Post => userinfo::userinfo(svc, req).await,
            Options => token::preflight(svc, req, "GET, POST").await,
            _ => method_not_allowed("GET, POST"),
        },
        "/revoke" => match method {
            Post => token::revoke(svc, req).await,
            Options => token::preflight(svc, req, "POST").await,
            _ => method_not_allowed("POST"),
        },
        "/introspect" => match method {
            Post => token::introspect(svc, req).await,
            _ => method_not_allowed("POST"),
        },
        "/logout" => match method {
            Get | Post => logout::logout(svc, req).await,
            _ => method_not_allowed("GET, POST"),
        },
        // RFC 7591 and RFC 7592: absent unless registration is enabled.
        "/register" if svc.settings.registration_enabled => {
            registration::collection(svc, req).await
        }
        "/admin/config" => match method {
            Get => dashboard::config(svc).await,
            _ => method_not_allowed("GET"),
        },
        path => {
            if let Some(id) = path.strip_prefix("/register/") {
                if svc.settings.registration_enabled {
                    return registration::client(svc, req, id).await;
                }
            } else if let Some(rest) = path.strip_prefix("/api/v1/") {
                return api(svc, req, rest).await;
            }
            not_found()
        }
    }
}

/// `/api/v1/{rest}`: authenticated first, then routed.
async fn api<D: Deps>(svc: &Services<'_, D>, req: &Request, rest: &str) -> Reply {
    let by = match m::principal(svc, req).await {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let method = req.method;
    let segments: Vec<&str> = rest.split('/').collect();
    if let ["applications", id, ..] = segments.as_slice() {
        if method != Get && crate::oidc::consent::is_builtin(id) {
            return refuse_own_application();
        }
    }
    if segments.iter().any(|s| s.is_empty()) {
        return no_such_resource();
    }
    match (segments.as_slice(), method) {
        (["applications"], Get) => m::list_applications(svc, req).await,
        (["applications"], Post) => m::create_application(svc, req, &by).await,
        (["applications"], _) => method_not_allowed("GET, POST"),
        (["applications", id], Get) => {
            m::view(crate::oidc::management::get_application(svc, id).await)
        }
        (["applications", id], Patch) => m::update_application(svc, req, &by, id).await,
        (["applications", id], Delete) => m::delete_application(svc, &by, id).await,
        (["applications", _], _) => method_not_allowed("GET, PATCH, DELETE"),
        (["applications", id, "rotate-secret"], Post) => m::rotate_secret(svc, req, &by, id).await,
        (["applications", _, "rotate-secret"], _) => method_not_allowed("POST"),
        (["users"], Get) => m::list_users(svc, req).await,
        (["users"], Post) => m::create_user(svc, req, &by).await,
        (["users"], _) => method_not_allowed("GET, POST"),
        (["users", id], Get) => m::view(crate::oidc::users::get_user(svc, id).await),
        (["users", id], Patch) => m::update_user(svc, req, &by, id).await,
        (["users", _], _) => method_not_allowed("GET, PATCH"),
        (["users", user, "consents"], Get) => {
            m::view(crate::oidc::management::list_consents(svc, user).await)
        }
        (["users", _, "consents"], _) => method_not_allowed("GET"),
        (["users", user, "consents", client], Delete) => m::deleted(
            svc,
            &by,
            crate::oidc::management::revoke_consent(svc, user, client).await,
        ),
        (["users", _, "consents", _], _) => method_not_allowed("DELETE"),
        (["roles"], Get) => m::view(crate::oidc::roles::list_roles(svc).await),
        (["roles"], Post) => m::create_role(svc, req, &by).await,
        (["roles"], _) => method_not_allowed("GET, POST"),
        (["roles", name], Get) => m::view(crate::oidc::roles::get_role(svc, name).await),
        (["roles", name], Patch) => m::update_role(svc, req, &by, name).await,
        (["roles", name], Delete) => {
            m::deleted(svc, &by, crate::oidc::roles::delete_role(svc, name).await)
        }
        (["roles", _], _) => method_not_allowed("GET, PATCH, DELETE"),
        (["stats", "active-users"], Get) => m::view(
            async { crate::oidc::stats::active_users(svc, &req.query_params()?).await }.await,
        ),
        (["stats", "active-users"], _) => method_not_allowed("GET"),
        (["logs"], Get) => m::logs(svc, req).await,
        (["logs"], _) => method_not_allowed("GET"),
        (["keys"], Get) => m::view(crate::oidc::management::list_keys(svc).await),
        (["keys"], _) => method_not_allowed("GET"),
        (["keys", "rotate"], Post) => m::done(
            svc,
            &by,
            200,
            async {
                let body = req.optional_json_body()?;
                crate::oidc::management::rotate_keys(svc, &body).await
            }
            .await,
        ),
        (["keys", "rotate"], _) => method_not_allowed("POST"),
        _ => no_such_resource(),
    }
}

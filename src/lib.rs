//! An OpenID Connect provider for Cloudflare Workers. This file is the entry point and the
//! routing table only; see `oidc` for the protocol, `store` for storage, `http` for the glue.

pub mod crypto;
pub mod http;
pub mod model;
pub mod oidc;
pub mod runtime;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::{
        event, Context, Env, Method, Request, Response, Result, ScheduleContext, ScheduledEvent,
    };

    use crate::http::handlers::{self as h, Ctx};
    use crate::http::Reply;

    #[event(fetch)]
    async fn fetch(mut req: Request, env: Env, wctx: Context) -> Result<Response> {
        let ctx = match Ctx::new(&req, env) {
            Ok(ctx) => ctx,
            Err(f) => return h::into_response(Reply::error(&f)),
        };
        let path = req.path();
        let method = req.method();
        let reply = match (path.as_str(), method) {
            ("/.well-known/openid-configuration", Method::Get) => h::discovery(&ctx),
            ("/.well-known/openid-configuration", _) => h::method_not_allowed("GET"),
            ("/.well-known/jwks.json", Method::Get) => h::jwks(&ctx).await,
            ("/.well-known/jwks.json", _) => h::method_not_allowed("GET"),
            ("/authorize", Method::Get | Method::Post) => h::authorize(&ctx, &mut req).await,
            ("/authorize", _) => h::method_not_allowed("GET, POST"),
            ("/login", Method::Post) => h::login(&ctx, &mut req).await,
            ("/login", _) => h::method_not_allowed("POST"),
            ("/consent", Method::Post) => h::consent(&ctx, &mut req).await,
            ("/consent", _) => h::method_not_allowed("POST"),
            ("/token", Method::Post) => h::token(&ctx, &mut req).await,
            ("/token", Method::Options) => h::preflight(&ctx, &req, "POST").await,
            ("/token", _) => h::method_not_allowed("POST"),
            ("/userinfo", Method::Get | Method::Post) => h::userinfo(&ctx, &mut req).await,
            ("/userinfo", Method::Options) => h::preflight(&ctx, &req, "GET, POST").await,
            ("/userinfo", _) => h::method_not_allowed("GET, POST"),
            ("/revoke", Method::Post) => h::revoke(&ctx, &mut req).await,
            ("/revoke", Method::Options) => h::preflight(&ctx, &req, "POST").await,
            ("/revoke", _) => h::method_not_allowed("POST"),
            ("/introspect", Method::Post) => h::introspect(&ctx, &mut req).await,
            ("/introspect", _) => h::method_not_allowed("POST"),
            ("/logout", Method::Get | Method::Post) => h::logout(&ctx, &mut req).await,
            ("/logout", _) => h::method_not_allowed("GET, POST"),
            ("/register", _) => h::register(&ctx, &mut req, None).await,
            (p, _) if p.starts_with("/register/") => {
                let id = p.trim_start_matches("/register/").to_string();
                h::register(&ctx, &mut req, Some(&id)).await
            }
            ("/admin/config", Method::Get) => h::admin_config(&ctx).await,
            ("/admin/config", _) => h::method_not_allowed("GET"),
            (p, _) if p.starts_with("/api/v1/") => {
                let rest = p.trim_start_matches("/api/v1/").to_string();
                h::management(&ctx, &mut req, &rest).await
            }
            _ => h::not_found(),
        };
        ctx.flush_audit(&wctx);
        h::into_response(ctx.metered(reply))
    }

    #[event(scheduled)]
    async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        h::scheduled(env, &event.cron()).await;
    }
}

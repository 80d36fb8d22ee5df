//! An OpenID Connect provider for Cloudflare Workers. The layers, top to bottom (see
//! docs/architecture.md): `wasm` (the adapter, the only code that sees the Workers
//! runtime's request), `http` (plain request in, `Reply` out; the routing table), `oidc`
//! (the protocol over one services bundle), `store` and `crypto`, and the ground floor:
//! `model`, `error`, `runtime`.

pub mod crypto;
pub mod error;
pub mod http;
pub mod model;
pub mod oidc;
pub mod runtime;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod outbound;
#[cfg(target_arch = "wasm32")]
mod wasm;

//! Mapping between HTTP and the protocol logic. `reply`, `cookies`, `cors` and `pages`
//! are plain Rust; `handlers` is the workerd glue.

pub mod cookies;
pub mod cors;
#[cfg(target_arch = "wasm32")]
pub mod handlers;
pub mod pages;
pub mod reply;

pub use reply::Reply;

/// Bodies larger than this are refused before parsing: no OAuth request comes close.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

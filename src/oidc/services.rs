//! The one bundle every protocol entry point takes, as oxide-auth's `Endpoint` does:
//! storage, keys, password hashing, time, randomness, the issuer, the deployment's settings
//! and the request's audit log. The wasm adapter fills it with D1, KV and WebCrypto; tests
//! fill it with the in-memory fakes (`testing::Fakes`).

use super::audit::Audit;
use super::jwt::Signer;
use super::mail::Outbox;
use crate::crypto::password::Pbkdf2;
use crate::crypto::seal::Sealer;
use crate::model::grant::PendingIndex;
use crate::runtime::{Clock, Outbound, Random};
use crate::store::{GrantStore, SessionStore, Store, ThrottleStore};

/// The concrete types behind a `Services`: one implementation per platform.
pub trait Deps {
    type Store: Store;
    type Sessions: SessionStore;
    type Throttle: ThrottleStore;
    type Grants: GrantStore;
    type Signer: Signer;
    type Sealer: Sealer;
    type Kdf: Pbkdf2;
    type Clock: Clock;
    type Rng: Random;
    type Outbound: Outbound;
}

pub struct Services<'a, D: Deps> {
    pub store: &'a D::Store,
    /// Login sessions (KV).
    pub sessions: &'a D::Sessions,
    /// Failed-login counters (a Durable Object per counter on Workers).
    pub throttle: &'a D::Throttle,
    /// Grants: codes' single use and refresh-token families (a Durable Object per grant).
    pub grants: &'a D::Grants,
    pub signer: &'a D::Signer,
    /// Seals authorization codes (`oidc::code`).
    pub sealer: &'a D::Sealer,
    pub kdf: &'a D::Kdf,
    pub clock: &'a D::Clock,
    pub rng: &'a D::Rng,
    /// The provider's own HTTP requests made while answering (clients' `jwks_uri`).
    pub outbound: &'a D::Outbound,
    /// The issuer identifier (OpenID Connect Discovery §3), without a trailing slash.
    pub issuer: &'a str,
    pub settings: &'a Settings,
    /// What this request did, stored after the response.
    pub audit: &'a Audit,
    /// Grants this request started, recorded in D1's index after the response.
    pub pending_index: &'a PendingIndex,
    /// Mail this request sends, handed to the transport after the response.
    pub outbox: &'a Outbox,
}

/// The deployment's settings, read once per isolate by the adapter (a new value is a new
/// deployment, hence a new isolate).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The `ISSUER` var; unset means the request's origin.
    pub issuer: Option<String>,
    /// Dynamic client registration (RFC 7591) is off unless `REGISTRATION_ENABLED` says so.
    pub registration_enabled: bool,
    /// RFC 7591 §3: registration gated by an initial access token, when set.
    pub registration_token: Option<crate::crypto::InitialAccessToken>,
    /// The `ADMIN_TOKEN` secret: a Bearer token for the management API.
    pub admin_token: Option<crate::crypto::AdminToken>,
    /// How passwords are hashed: the PBKDF2 work factor (`PASSWORD_ITERATIONS`) and the
    /// pepper (derived from `KEY_ENCRYPTION_SECRET`).
    pub password: crate::crypto::password::PasswordPolicy,
    /// Days the audit log keeps records (`AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: i64,
    /// Adds `X-Storage-Calls` to every answer (`STORAGE_METER`, for the benchmark).
    pub storage_meter: bool,
    /// People may create their own accounts from the login page (`SIGNUP_ENABLED`), where
    /// the application allows it and mail can confirm their address.
    pub signup_enabled: bool,
    /// A mail transport is set up (`MAIL_TRANSPORT`): sign-up and password reset need one.
    pub mail_enabled: bool,
}

impl Settings {
    /// The issuer for a request that arrived at `request_origin` (scheme://host[:port]).
    pub fn issuer_for(&self, request_origin: &str) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| request_origin.trim_end_matches('/').to_string())
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::crypto::password::testing::FakeKdf;
    use crate::crypto::seal::testing::FakeSealer;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::runtime::testing::{CountingRandom, FakeOutbound, FixedClock};
    use crate::store::memory::{MemorySessions, MemoryStore};

    pub const ISSUER: &str = "https://id.example";

    /// The in-memory platform.
    pub struct FakeDeps;

    impl Deps for FakeDeps {
        type Store = MemoryStore;
        type Sessions = MemorySessions;
        type Throttle = MemoryStore;
        type Grants = MemoryStore;
        type Signer = FakeSigner;
        type Sealer = FakeSealer;
        type Kdf = FakeKdf;
        type Clock = FixedClock;
        type Rng = CountingRandom;
        type Outbound = FakeOutbound;
    }

    /// Services over the given fakes; the rest (sessions, KDF, random source, settings) is
    /// fresh and lives for the test process (tests only).
    pub fn services<'a>(
        store: &'a MemoryStore,
        signer: &'a FakeSigner,
        clock: &'a FixedClock,
        issuer: &'a str,
        audit: &'a Audit,
    ) -> Services<'a, FakeDeps> {
        services_with_rng(
            store,
            signer,
            clock,
            Box::leak(Box::default()),
            issuer,
            audit,
        )
    }

    /// As `services`, with a random source shared across calls (so tokens differ).
    pub fn services_with_rng<'a>(
        store: &'a MemoryStore,
        signer: &'a FakeSigner,
        clock: &'a FixedClock,
        rng: &'a CountingRandom,
        issuer: &'a str,
        audit: &'a Audit,
    ) -> Services<'a, FakeDeps> {
        Services {
            store,
            throttle: store,
            grants: store,
            sessions: Box::leak(Box::default()),
            signer,
            sealer: Box::leak(Box::default()),
            kdf: Box::leak(Box::default()),
            clock,
            rng,
            outbound: Box::leak(Box::default()),
            issuer,
            settings: Box::leak(Box::new(test_settings())),
            audit,
            pending_index: Box::leak(Box::default()),
            outbox: Box::leak(Box::default()),
        }
    }

    pub fn test_settings() -> Settings {
        Settings {
            password: crate::crypto::password::PasswordPolicy {
                iterations: 10_000,
                pepper: Some(crate::crypto::password::Pepper::from_secret("test secret")),
            },
            audit_retention_days: 30,
            ..Settings::default()
        }
    }

    /// Everything a `Services` borrows, owned in one place for a test.
    pub struct Fakes {
        pub store: MemoryStore,
        pub sessions: MemorySessions,
        pub signer: FakeSigner,
        pub sealer: FakeSealer,
        pub kdf: FakeKdf,
        pub clock: FixedClock,
        pub rng: CountingRandom,
        pub outbound: FakeOutbound,
        pub issuer: String,
        pub settings: Settings,
        pub audit: Audit,
        pub pending_index: PendingIndex,
        pub outbox: Outbox,
    }

    impl Fakes {
        pub fn new(store: MemoryStore, now: i64) -> Self {
            Self {
                store,
                sessions: MemorySessions::default(),
                signer: FakeSigner::new(),
                sealer: FakeSealer::default(),
                kdf: FakeKdf::default(),
                clock: FixedClock::at(now),
                rng: CountingRandom::default(),
                outbound: FakeOutbound::default(),
                issuer: ISSUER.to_string(),
                settings: test_settings(),
                audit: Audit::default(),
                pending_index: PendingIndex::default(),
                outbox: Outbox::default(),
            }
        }

        pub fn services(&self) -> Services<'_, FakeDeps> {
            Services {
                store: &self.store,
                throttle: &self.store,
                grants: &self.store,
                sessions: &self.sessions,
                signer: &self.signer,
                sealer: &self.sealer,
                kdf: &self.kdf,
                clock: &self.clock,
                rng: &self.rng,
                outbound: &self.outbound,
                issuer: &self.issuer,
                settings: &self.settings,
                audit: &self.audit,
                pending_index: &self.pending_index,
                outbox: &self.outbox,
            }
        }
    }
}

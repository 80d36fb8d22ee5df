//! JWT parsing and verification, and HTTP Basic client credentials: arbitrary input never
//! panics and never verifies (the signer below knows no key).
#![no_main]

use edge_oidc::oidc::client_auth;
use edge_oidc::error::Failure;
use edge_oidc::oidc::jwt::{self, Signer, SigningAlg};
use edge_oidc::oidc::params::Params;
use libfuzzer_sys::fuzz_target;

struct NoKeys;

impl Signer for NoKeys {
    async fn kid(&self, _alg: SigningAlg) -> Result<String, Failure> {
        Ok("none".into())
    }
    async fn sign(&self, _alg: SigningAlg, _input: &[u8]) -> Result<Vec<u8>, Failure> {
        Ok(Vec::new())
    }
    async fn verify(&self, _: &str, _: SigningAlg, _: &[u8], _: &[u8]) -> Result<bool, Failure> {
        Ok(false)
    }
    async fn jwks(&self) -> Result<String, Failure> {
        Ok(r#"{"keys":[]}"#.into())
    }
    async fn rotate(&self) -> Result<String, Failure> {
        Ok("none".into())
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for typ in [jwt::ID_TOKEN_TYP, jwt::ACCESS_TOKEN_TYP] {
        let hint =
            futures_executor::block_on(jwt::decode_hint::<serde_json::Value>(&NoKeys, &text, typ));
        assert!(hint.is_err(), "an unsigned token verified");
        let now = futures_executor::block_on(jwt::decode_verified::<serde_json::Value>(
            &NoKeys, &text, typ, 0,
        ));
        assert!(now.is_err(), "an unsigned token verified");
    }
    let _ = client_auth::presented(&Params::default(), Some(&text));
});

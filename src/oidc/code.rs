//! Authorization codes (RFC 6749 §4.1.2, §10.5): self-contained and sealed. A code carries
//! its whole grant (client, redirect URI, PKCE challenge, user, scope, nonce, `auth_time`,
//! expiry) under AES-GCM (`crypto::seal`), so `/authorize` stores nothing. Single use is
//! the grant object's job at the token endpoint (`model::grant`): the code's `grant_id`
//! addresses it.

use serde::{Deserialize, Serialize};

use crate::crypto::seal::Sealer;
use crate::crypto::AuthCode;
use crate::error::Failure;
use crate::model::UserClaims;

/// The additional data codes are sealed with: nothing sealed for another use opens as a code.
const PURPOSE: &str = "authorization_code v1";

/// What a code says. Short member names keep the code (a URL parameter) short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The grant object its redemption creates (and a replay finds).
    #[serde(rename = "g")]
    pub grant_id: String,
    #[serde(rename = "c")]
    pub client_id: String,
    #[serde(rename = "r")]
    pub redirect_uri: String,
    /// The S256 challenge (RFC 7636 §4.2); `None` when a confidential client sent none.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "s")]
    pub scope: String,
    /// The API the access tokens are for (RFC 8707 `resource`, Auth0's `audience`).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The login's `acr`, when `acr_values` asked for one.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The `claims` parameter's standard claims (`oidc::claims_request`).
    #[serde(rename = "q", default, skip_serializing_if = "String::is_empty")]
    pub claims_request: String,
    /// The login session's `sid` (Back-Channel Logout 1.0 §2.1).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "t")]
    pub auth_time: i64,
    #[serde(rename = "x")]
    pub expires_at: i64,
    #[serde(rename = "m")]
    pub claims: UserClaims,
}

pub async fn seal(sealer: &impl Sealer, grant: &CodeGrant) -> Result<AuthCode, Failure> {
    let json = serde_json::to_vec(grant).map_err(Failure::server)?;
    Ok(AuthCode::new(sealer.seal(PURPOSE, &json).await?))
}

/// The code's grant, or `None` when it is not a code this provider issued (whatever its
/// age: the caller checks the expiry).
pub async fn open(sealer: &impl Sealer, code: &AuthCode) -> Result<Option<CodeGrant>, Failure> {
    // A real code is a few hundred characters; refuse to decrypt anything far larger.
    if code.expose().len() > 4096 {
        return Ok(None);
    }
    Ok(sealer
        .open(PURPOSE, code.expose())
        .await?
        .and_then(|plain| serde_json::from_slice(&plain).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::testing::FakeSealer;
    use futures_executor::block_on;

    fn grant() -> CodeGrant {
        CodeGrant {
            claims_request: String::new(),
            sid: None,
            grant_id: "g1".into(),
            client_id: "app1".into(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            user_id: "u1".into(),
            scope: "openid email".into(),
            audience: None,
            acr: None,
            nonce: None,
            auth_time: 900,
            expires_at: 1_060,
            claims: UserClaims {
                roles: Default::default(),
                email: "ada@example.com".into(),
                email_verified: true,
                name: Some("Ada".into()),
                profile: Default::default(),
                updated_at: None,
            },
        }
    }

    #[test]
    fn a_sealed_code_opens_to_its_grant_and_nothing_else_opens() {
        let sealer = FakeSealer::default();
        let code = block_on(seal(&sealer, &grant())).unwrap();
        assert!(
            !code.expose().contains("app1"),
            "the contents are not readable"
        );
        assert_eq!(block_on(open(&sealer, &code)).unwrap(), Some(grant()));

        let mut bytes = code.expose().as_bytes().to_vec();
        bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
        let altered = AuthCode::new(String::from_utf8(bytes).unwrap());
        assert_eq!(block_on(open(&sealer, &altered)).unwrap(), None);
        for junk in ["", "abc", "not a code!", &"A".repeat(5000)] {
            assert_eq!(block_on(open(&sealer, &AuthCode::new(junk))).unwrap(), None);
        }
        let other = FakeSealer {
            key: b"another secret".to_vec(),
        };
        assert_eq!(block_on(open(&other, &code)).unwrap(), None);
        let foreign = block_on(other.seal(PURPOSE, b"{}")).unwrap();
        assert_eq!(
            block_on(open(&sealer, &AuthCode::new(foreign))).unwrap(),
            None
        );
    }
}

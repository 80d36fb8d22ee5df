//! OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 metadata.

use serde_json::{json, Value};

pub const SCOPES: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "roles",
    "offline_access",
];

/// `registration`: whether dynamic client registration is on (RFC 8414 §2 lists the
/// endpoint only when there is one).
pub fn document(issuer: &str, registration: bool) -> Value {
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{issuer}/logout"),
        // Back-Channel Logout 1.0 §2.1: logout tokens, always with sid.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        // RFC 8414 §2: what private_key_jwt assertions may be signed with.
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "at_hash",
            "email", "email_verified", "name", "preferred_username",
            "given_name", "family_name", "middle_name", "nickname", "profile", "picture",
            "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
            "address", "phone_number", "phone_number_verified", "roles"
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": [super::authorize::PASSWORD_ACR],
        "claims_parameter_supported": true,
        // Per application (`userinfo_signed_response_alg`); JSON otherwise.
        "userinfo_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        // Core §6 (`request_object`): signed by the client's keys; `none` is left out, so
        // unsigned objects are refused (Core §6.1 lets the OP require signing).
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
    });
    if registration {
        doc["registration_endpoint"] = json!(format!("{issuer}/register"));
    }
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints_hang_off_the_issuer() {
        let d = super::document("https://id.example", false);
        assert!(d.get("registration_endpoint").is_none());
        assert_eq!(
            super::document("https://id.example", true)["registration_endpoint"],
            "https://id.example/register"
        );
        assert_eq!(d["issuer"], "https://id.example");
        assert_eq!(d["token_endpoint"], "https://id.example/token");
        assert_eq!(
            d["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    }
}

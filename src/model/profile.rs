//! A user's standard claims beyond email and name (OpenID Connect Core §5.1), released by
//! the `profile`, `address` and `phone` scopes (§5.4).
//!
//! Kept as the claims' own JSON object, checked member by member where it comes in (the
//! management API, `oidc::profile`): a typed struct of twenty optional members cost 15 KB
//! of Wasm for its serde code, where this reuses `serde_json::Value`'s, already in the build.
//! An empty profile costs nothing in sessions, grants and codes (it is left out).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The claims by name: text claims are non-empty strings, `phone_number_verified` a boolean,
/// `address` an object of `ADDRESS_FIELDS` strings (§5.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Profile(pub Map<String, Value>);

/// The text claims the `profile` scope releases (with `name`, `preferred_username` and
/// `updated_at`, kept elsewhere); `URL_FIELDS` of them are absolute URLs.
pub const PROFILE_FIELDS: [&str; 11] = [
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
];

pub const URL_FIELDS: [&str; 3] = ["profile", "picture", "website"];

/// The `phone` scope's claims.
pub const PHONE_FIELDS: [&str; 2] = ["phone_number", "phone_number_verified"];

/// The members of `address` (§5.1.1).
pub const ADDRESS_FIELDS: [&str; 6] = [
    "formatted",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

impl Profile {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, claim: &str) -> Option<&Value> {
        self.0.get(claim)
    }
}

/// §5.1 `birthdate`: `YYYY-MM-DD`, a year alone, or `0000-MM-DD` when the year is withheld.
pub fn is_birthdate(s: &str) -> bool {
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let in_range = |p: &str, max: u32| p.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => {
            digits(y, 4) && digits(m, 2) && digits(d, 2) && in_range(m, 12) && in_range(d, 31)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_profile_serializes_to_nothing_and_round_trips() {
        assert_eq!(serde_json::to_string(&Profile::default()).unwrap(), "{}");
        let p: Profile =
            serde_json::from_str(r#"{"given_name":"Ada","address":{"country":"GB"}}"#).unwrap();
        assert_eq!(p.get("given_name"), Some(&Value::from("Ada")));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"address":{"country":"GB"},"given_name":"Ada"}"#
        );
    }

    #[test]
    fn birthdates_as_core_spells_them() {
        for ok in ["1815-12-10", "1815", "0000-12-10"] {
            assert!(is_birthdate(ok), "{ok}");
        }
        for bad in [
            "1815-13-10",
            "10/12/1815",
            "1815-12",
            "",
            "18150-12-10",
            "1815-00-10",
        ] {
            assert!(!is_birthdate(bad), "{bad}");
        }
    }
}

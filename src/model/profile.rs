//! A user's standard claims beyond email and name (OpenID Connect Core §5.1), released by
//! the `profile`, `address` and `phone` scopes (§5.4). Every member is optional; an empty
//! profile costs nothing in sessions, grants and codes (it is left out when serialized).

use serde::{Deserialize, Serialize};

/// §5.1.1: the postal address, each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The address's members by name, for validation and display.
pub const ADDRESS_FIELDS: [&str; 6] = [
    "formatted",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

impl Address {
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "formatted" => &mut self.formatted,
            "street_address" => &mut self.street_address,
            "locality" => &mut self.locality,
            "region" => &mut self.region,
            "postal_code" => &mut self.postal_code,
            "country" => &mut self.country,
            _ => return None,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// §5.1's claims other than `sub`, `name`, `email`, `email_verified` and `updated_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The URL of the user's profile page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`, `YYYY` or `0000-MM-DD` (§5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phone_number_verified: bool,
    #[serde(default, skip_serializing_if = "Address::is_empty")]
    pub address: Address,
}

/// The profile's string members by name; `URL_FIELDS` of them are absolute URLs.
pub const PROFILE_FIELDS: [&str; 12] = [
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
    "phone_number",
];

pub const URL_FIELDS: [&str; 3] = ["profile", "picture", "website"];

impl Profile {
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "given_name" => &mut self.given_name,
            "family_name" => &mut self.family_name,
            "middle_name" => &mut self.middle_name,
            "nickname" => &mut self.nickname,
            "profile" => &mut self.profile,
            "picture" => &mut self.picture,
            "website" => &mut self.website,
            "gender" => &mut self.gender,
            "birthdate" => &mut self.birthdate,
            "zoneinfo" => &mut self.zoneinfo,
            "locale" => &mut self.locale,
            "phone_number" => &mut self.phone_number,
            _ => return None,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// §5.1 `birthdate`: `YYYY-MM-DD`, a year alone, or `0000-MM-DD` when the year is withheld.
pub fn is_birthdate(s: &str) -> bool {
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => {
            let in_range =
                |p: &str, max: u32| p.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
            digits(y, 4) && digits(m, 2) && digits(d, 2) && in_range(m, 12) && in_range(d, 31)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_profile_serializes_to_nothing() {
        assert_eq!(serde_json::to_string(&Profile::default()).unwrap(), "{}");
        let mut p = Profile::default();
        *p.address.field_mut("country").unwrap() = Some("NZ".into());
        p.phone_number_verified = true;
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"address": {"country": "NZ"}, "phone_number_verified": true})
        );
        assert!(PROFILE_FIELDS.iter().all(|f| p.field_mut(f).is_some()));
        assert!(ADDRESS_FIELDS
            .iter()
            .all(|f| p.address.field_mut(f).is_some()));
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

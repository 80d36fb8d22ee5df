//! The `claims` authorization request parameter (OpenID Connect Core §5.5): individual
//! standard claims asked for the ID token or for userinfo, beyond what the scopes release.
//!
//! Reduced at `/authorize` to the names this provider serves, and carried in the code, the
//! grant and the opaque access token as one short string, `"<id_token names>|<userinfo
//! names>"` (space-separated), so nothing else of the JSON is kept. Every claim here is
//! voluntary in effect: `essential` is accepted and, as §5.5.1 allows, not an error when the
//! user has no value; `value`/`values` are not enforced.

use serde_json::Value;

use crate::error::Failure;
use crate::model::profile::{PHONE_FIELDS, PROFILE_FIELDS};

/// The scope that releases a standard claim (§5.4), or `None` for a claim this provider
/// does not serve through either way.
pub fn scope_of(claim: &str) -> Option<&'static str> {
    match claim {
        "email" | "email_verified" => Some("email"),
        "address" => Some("address"),
        c if PHONE_FIELDS.contains(&c) => Some("phone"),
        "name" | "preferred_username" | "updated_at" => Some("profile"),
        c if PROFILE_FIELDS.contains(&c) => Some("profile"),
        _ => None,
    }
}

/// Every scope that releases claims: what the full set of a user's claims is read with.
pub const CLAIM_SCOPES: [&str; 5] = ["email", "profile", "address", "phone", "roles"];

/// Where a requested claim goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    IdToken,
    Userinfo,
}

/// Parses the parameter into the carried form. `within`: for an application that needs the
/// user's consent, the consented scopes, outside of which nothing is released (the consent
/// screen names scopes, not claims); `None` for a first-party application.
pub fn parse(json: &str, within: Option<&[&str]>) -> Result<String, Failure> {
    let bad = |why: &str| Failure::invalid_request(format!("claims: {why}"));
    let value: Value = serde_json::from_str(json).map_err(|_| bad("not a JSON object"))?;
    let request = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
    let mut lists = [String::new(), String::new()];
    for (i, member) in ["id_token", "userinfo"].into_iter().enumerate() {
        let Some(wanted) = request.get(member) else {
            continue;
        };
        let wanted = wanted
            .as_object()
            .ok_or_else(|| bad(&format!("{member} must be an object")))?;
        for (name, spec) in wanted {
            if !(spec.is_null() || spec.is_object()) {
                return Err(bad(&format!("{member}.{name} must be null or an object")));
            }
            let released = scope_of(name).is_some_and(|s| within.is_none_or(|w| w.contains(&s)));
            let list = &mut lists[i];
            if released && !list.split(' ').any(|n| n == name) {
                if !list.is_empty() {
                    list.push(' ');
                }
                list.push_str(name);
            }
        }
    }
    let [id_token, userinfo] = lists;
    if id_token.is_empty() && userinfo.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("{id_token}|{userinfo}"))
}

/// The claim names carried for `target` (space-separated; empty when none).
pub fn names(carried: &str, target: Target) -> &str {
    let (id_token, userinfo) = carried.split_once('|').unwrap_or(("", ""));
    match target {
        Target::IdToken => id_token,
        Target::Userinfo => userinfo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_claims_are_kept_per_target_and_the_rest_ignored() {
        let carried = parse(
            r#"{"userinfo": {"name": {"essential": true}, "email": null, "x-custom": null},
                "id_token": {"auth_time": {"essential": true}, "phone_number": null,
                             "given_name": {"value": "Ada"}},
                "other": 1}"#,
            None,
        )
        .unwrap();
        // In name order (serde_json's maps are sorted).
        assert_eq!(carried, "given_name phone_number|email name");
        assert_eq!(names(&carried, Target::IdToken), "given_name phone_number");
        assert_eq!(names(&carried, Target::Userinfo), "email name");
        assert_eq!(parse(r#"{"userinfo": {"sub": null}}"#, None).unwrap(), "");
        assert_eq!(names("", Target::Userinfo), "");
    }

    #[test]
    fn consent_bounds_what_a_third_party_gets() {
        let asked = r#"{"userinfo": {"name": null, "email": null, "address": null}}"#;
        let carried = parse(asked, Some(&["openid", "email"])).unwrap();
        assert_eq!(names(&carried, Target::Userinfo), "email");
    }

    #[test]
    fn malformed_requests_are_invalid_request() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"userinfo": []}"#,
            r#"{"id_token": {"name": true}}"#,
            r#"{"userinfo": {"name": "x"}}"#,
        ] {
            let e = parse(bad, None).unwrap_err();
            assert_eq!(e.error, crate::error::OAuthError::InvalidRequest, "{bad}");
            assert!(
                e.description.starts_with("claims: "),
                "{bad}: {}",
                e.description
            );
        }
    }
}

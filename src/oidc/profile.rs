//! A user's standard claims (`model::profile`) as the management API takes them: the
//! `profile` member of a user, an object of OpenID Connect Core §5.1 claims, every value
//! checked and every problem named by its path (`profile.birthdate: ...`).

use serde_json::{Map, Value};

use super::app_settings::Problems;
use crate::model::profile::{is_birthdate, Profile, ADDRESS_FIELDS, PROFILE_FIELDS, URL_FIELDS};

/// Longest text claim, in characters.
const MAX_TEXT: usize = 256;
/// Longest URL claim (`profile`, `picture`, `website`).
const MAX_URL: usize = 2048;

/// The `profile` member of a management request, if present: it replaces the whole profile
/// (a member left out is cleared). `None` also when it has problems (recorded in `p`).
pub(super) fn profile_field(obj: &Map<String, Value>, p: &mut Problems) -> Option<Profile> {
    let value = obj.get("profile")?;
    let Some(members) = value.as_object() else {
        p.add(
            "profile",
            "must be an object of standard claims (OpenID Connect Core §5.1)",
        );
        return None;
    };
    let before = p.len();
    let mut out = Map::new();
    for (name, v) in members {
        let path = ["profile.", name].concat();
        let kept = match name.as_str() {
            "phone_number_verified" => match v {
                Value::Bool(true) => Some(Value::Bool(true)),
                Value::Bool(false) | Value::Null => None,
                _ => {
                    p.add(&path, "must be true or false");
                    None
                }
            },
            "address" => address(v, p),
            "phone_number" => claim(name, v, &path, p).map(Value::String),
            n if PROFILE_FIELDS.contains(&n) => claim(name, v, &path, p).map(Value::String),
            _ => {
                p.add(&path, "not a standard claim this provider keeps");
                None
            }
        };
        if let Some(v) = kept {
            out.insert(name.clone(), v);
        }
    }
    (p.len() == before).then_some(Profile(out))
}

fn address(v: &Value, p: &mut Problems) -> Option<Value> {
    let members = match v {
        Value::Null => return None,
        Value::Object(m) => m,
        _ => {
            p.add(
                "profile.address",
                "must be an object (formatted, street_address, locality, region, postal_code, country)",
            );
            return None;
        }
    };
    let mut out = Map::new();
    for (name, v) in members {
        let path = ["profile.address.", name].concat();
        if !ADDRESS_FIELDS.contains(&name.as_str()) {
            p.add(
                &path,
                "one of formatted, street_address, locality, region, postal_code, country",
            );
        } else if let Some(s) = claim(name, v, &path, p) {
            out.insert(name.clone(), Value::String(s));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// One text claim: a string (trimmed; empty clears it) or null, within its limits and form.
fn claim(name: &str, v: &Value, path: &str, p: &mut Problems) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.trim(),
        _ => {
            p.add(path, "must be a string or null");
            return None;
        }
    };
    if s.is_empty() {
        return None;
    }
    let is_url = URL_FIELDS.contains(&name);
    let max = if is_url { MAX_URL } else { MAX_TEXT };
    if s.chars().count() > max {
        p.add(path, "too long (at most 256 characters, 2048 for URLs)");
        return None;
    }
    let problem = match name {
        _ if is_url => (!(s.starts_with("https://") || s.starts_with("http://"))
            || s.contains(char::is_whitespace))
        .then_some("an absolute http(s) URL"),
        "birthdate" => (!is_birthdate(s)).then_some("YYYY-MM-DD, YYYY, or 0000-MM-DD"),
        "phone_number" => (!s
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().;=x".contains(&b)))
        .then_some("digits, with + ( ) - and spaces (E.164 recommended: +64 21 555 0100)"),
        _ => None,
    };
    match problem {
        Some(problem) => {
            p.add(path, problem);
            None
        }
        None => Some(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Option<Profile>, String> {
        let mut p = Problems::default();
        let out = profile_field(v.as_object().unwrap(), &mut p);
        p.into_result()
            .map(|_| out)
            .map_err(|f| f.description.to_string())
    }

    #[test]
    fn standard_claims_are_taken_and_blank_ones_cleared() {
        let p = parse(json!({"profile": {
            "given_name": " Ada ", "family_name": "Lovelace", "nickname": "",
            "birthdate": "1815-12-10", "locale": "en-GB", "zoneinfo": "Europe/London",
            "picture": "https://example.com/ada.png", "phone_number": "+44 20 7946 0958",
            "phone_number_verified": true,
            "address": {"locality": "London", "country": "GB"}
        }}))
        .unwrap()
        .unwrap();
        assert_eq!(p.get("given_name"), Some(&json!("Ada")));
        assert_eq!(p.get("nickname"), None, "blank: left out");
        assert_eq!(p.get("phone_number_verified"), Some(&json!(true)));
        assert_eq!(
            p.get("address"),
            Some(&json!({"locality": "London", "country": "GB"}))
        );
        assert_eq!(
            parse(json!({"name": "x"})).unwrap(),
            None,
            "absent: unchanged"
        );
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let e = parse(json!({"profile": {
            "birthdate": "10/12/1815", "picture": "javascript:alert(1)", "shoe_size": "9",
            "phone_number_verified": "yes", "address": {"planet": "Earth"}, "gender": 3,
            "phone_number": "call me"
        }}))
        .unwrap_err();
        for path in [
            "profile.birthdate: YYYY-MM-DD",
            "profile.picture: an absolute http(s) URL",
            "profile.shoe_size: not a standard claim",
            "profile.phone_number_verified: must be true or false",
            "profile.address.planet: one of formatted",
            "profile.gender: must be a string or null",
            "profile.phone_number: digits",
        ] {
            assert!(e.contains(path), "{path} in {e}");
        }
        let e = parse(json!({"profile": "Ada"})).unwrap_err();
        assert!(e.starts_with("profile: must be an object"), "{e}");
    }
}

//! Who may use an application: Auth0's "only HR officials can access application X" and
//! "only US-based users can access application Y", Logto's app-level access control.
//! Every list that is set must admit the user; an empty list admits everyone.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessRules {
    /// The user needs any one of these roles.
    pub roles: Vec<String>,
    /// The request comes from one of these countries (ISO 3166-1 alpha-2, as Cloudflare
    /// reports the client's country). Checked when the user signs in to the application,
    /// not at refresh: a server refreshing for the user is elsewhere.
    pub countries: Vec<String>,
    /// The user's email address is at one of these domains (lower case, exact).
    pub email_domains: Vec<String>,
}

/// Whom a rule is checked for.
pub struct Who<'a> {
    pub roles: &'a [String],
    pub email: &'a str,
    /// `None` at refresh (not checked), or when the runtime did not say.
    pub country: Option<&'a str>,
}

impl<'a> Who<'a> {
    /// The user as storage has them now, or, when the account is gone, as `known` (a
    /// session's or grant's snapshot) without roles.
    pub fn of(
        user: Option<&'a super::User>,
        known: &'a super::UserClaims,
        country: Option<&'a str>,
    ) -> Self {
        Self {
            roles: user.map_or(&[][..], |u| u.roles.as_slice()),
            email: user.map_or(known.email.as_str(), |u| u.email.as_str()),
            country,
        }
    }

    /// A snapshot taken from storage a moment ago (a session just started at sign-in).
    pub fn from_claims(claims: &'a super::UserClaims, country: Option<&'a str>) -> Self {
        Self {
            roles: &claims.roles,
            email: &claims.email,
            country,
        }
    }
}

/// The rule that refused, in words a refused person can read (and the audit log keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Role,
    Country,
    EmailDomain,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Country => "country",
            Self::EmailDomain => "email_domain",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Self::Role => "your account does not have a role this application requires",
            Self::Country => "this application is not available in your country",
            Self::EmailDomain => {
                "this application is not available to accounts at your email domain"
            }
        }
    }
}

/// At most this many entries per list.
const MAX_ENTRIES: usize = 50;

impl AccessRules {
    /// The rules as the management API sends them: an object with any of the three lists.
    /// A problem is told as (path, what is expected).
    pub fn from_json(v: &serde_json::Value) -> Result<Self, (String, &'static str)> {
        let obj = v
            .as_object()
            .ok_or(("access_rules".to_string(), "must be an object"))?;
        let mut rules = Self::default();
        for (key, value) in obj {
            let path = format!("access_rules.{key}");
            let (list, valid, expected): (&mut Vec<String>, fn(&str) -> bool, &'static str) =
                match key.as_str() {
                    "roles" => (
                        &mut rules.roles,
                        is_role_name,
                        "a list of role names (letters, digits, - _ . :)",
                    ),
                    "countries" => (
                        &mut rules.countries,
                        is_country,
                        "a list of two-letter country codes (ISO 3166-1 alpha-2)",
                    ),
                    "email_domains" => (
                        &mut rules.email_domains,
                        is_domain,
                        "a list of domain names (example.com)",
                    ),
                    _ => return Err((path, "unknown rule: roles, countries or email_domains")),
                };
            let items = value
                .as_array()
                .filter(|a| a.len() <= MAX_ENTRIES)
                .ok_or((path.clone(), expected))?;
            for item in items {
                match item.as_str() {
                    Some(s) if valid(s) => {
                        let s = if key == "countries" {
                            s.to_ascii_uppercase()
                        } else {
                            s.to_ascii_lowercase()
                        };
                        let s = if key == "roles" {
                            item.as_str().unwrap_or_default().to_string()
                        } else {
                            s
                        };
                        if !list.contains(&s) {
                            list.push(s);
                        }
                    }
                    _ => return Err((path, expected)),
                }
            }
        }
        Ok(rules)
    }

    pub fn is_open(&self) -> bool {
        self.roles.is_empty() && self.countries.is_empty() && self.email_domains.is_empty()
    }

    /// Whether the rules admit `who`; `check_country` false skips the country (refresh).
    pub fn admits(&self, who: &Who<'_>, check_country: bool) -> Result<(), Refusal> {
        if !self.roles.is_empty() && !who.roles.iter().any(|r| self.roles.contains(r)) {
            return Err(Refusal::Role);
        }
        if check_country
            && !self.countries.is_empty()
            && !who
                .country
                .is_some_and(|c| self.countries.iter().any(|a| a.eq_ignore_ascii_case(c)))
        {
            return Err(Refusal::Country);
        }
        let domain = who.email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !self.email_domains.is_empty()
            && !self
                .email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
        {
            return Err(Refusal::EmailDomain);
        }
        Ok(())
    }
}

/// A role (the `roles` table, migration 0011). Users hold roles by name and access rules
/// name them; renaming or deleting one changes both (`Store::rename_role`,
/// `Store::delete_role`). `admin` (`model::ADMIN_ROLE`) always exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

/// A role and what uses it, for the management API's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUse {
    pub role: Role,
    /// How many users hold it.
    pub users: i64,
    /// The client ids of the applications whose access rules name it.
    pub applications: Vec<String>,
}

/// A user's space-separated role list with `old` replaced by `new` (or removed, `None`):
/// the Rust side of the SQL that `Store::rename_role` and `Store::delete_role` run.
pub fn replace_role(roles: &[String], old: &str, new: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(roles.len());
    for r in roles {
        let r = if r == old { new } else { Some(r.as_str()) };
        if let Some(r) = r.filter(|r| !out.iter().any(|o| o == r)) {
            out.push(r.to_string());
        }
    }
    out
}

/// Role names as the management API takes them for users (`admin`, `hr-officer`).
pub fn is_role_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(roles: &[&str], countries: &[&str], domains: &[&str]) -> AccessRules {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        AccessRules {
            roles: own(roles),
            countries: own(countries),
            email_domains: own(domains),
        }
    }

    #[test]
    fn every_set_list_must_admit_and_empty_lists_admit_everyone() {
        let hr = vec!["hr".to_string()];
        let who = |roles: &'static [String], email, country| Who {
            roles,
            email,
            country,
        };
        let none: &[String] = &[];
        assert!(AccessRules::default()
            .admits(&who(none, "a@x.com", None), true)
            .is_ok());
        let r = rules(&["hr", "legal"], &["US"], &["corp.example"]);
        let hr: &'static [String] = Box::leak(hr.into_boxed_slice());
        assert_eq!(
            r.admits(&who(hr, "a@corp.example", Some("us")), true),
            Ok(())
        );
        assert_eq!(
            r.admits(&who(none, "a@corp.example", Some("US")), true),
            Err(Refusal::Role)
        );
        assert_eq!(
            r.admits(&who(hr, "a@corp.example", Some("FR")), true),
            Err(Refusal::Country)
        );
        assert_eq!(
            r.admits(&who(hr, "a@corp.example", None), true),
            Err(Refusal::Country)
        );
        assert_eq!(
            r.admits(&who(hr, "a@corp.example", None), false),
            Ok(()),
            "refresh skips the country"
        );
        assert_eq!(
            r.admits(&who(hr, "a@evil.example", Some("US")), true),
            Err(Refusal::EmailDomain)
        );
        assert_eq!(
            r.admits(&who(hr, "a@sub.corp.example", Some("US")), true),
            Err(Refusal::EmailDomain)
        );
        assert!(!r.is_open() && AccessRules::default().is_open());
    }

    #[test]
    fn the_management_api_form_is_checked_and_named_by_path() {
        let ok = AccessRules::from_json(&serde_json::json!({
            "roles": ["hr", "hr"], "countries": ["us", "FR"], "email_domains": ["Corp.Example"]
        }))
        .unwrap();
        assert_eq!(ok, rules(&["hr"], &["US", "FR"], &["corp.example"]));
        for (bad, path) in [
            (serde_json::json!([]), "access_rules"),
            (serde_json::json!({"roles": "hr"}), "access_rules.roles"),
            (
                serde_json::json!({"roles": ["has space"]}),
                "access_rules.roles",
            ),
            (
                serde_json::json!({"countries": ["USA"]}),
                "access_rules.countries",
            ),
            (
                serde_json::json!({"email_domains": ["@corp"]}),
                "access_rules.email_domains",
            ),
            (serde_json::json!({"teams": []}), "access_rules.teams"),
        ] {
            assert_eq!(AccessRules::from_json(&bad).unwrap_err().0, path, "{bad}");
        }
    }
}

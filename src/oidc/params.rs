//! Form and query parameters with the rules of RFC 6749 §3.1 and §3.2: a parameter sent
//! without a value is treated as omitted, and none may be repeated.

use super::error::Failure;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` (a query string or a form body).
    pub fn parse(encoded: &str) -> Self {
        Self(
            url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`, `None` when absent or empty; `invalid_request` when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Failure> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(Failure::invalid_request(format!(
                        "the {name} parameter is repeated"
                    )));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    pub fn require(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)?
            .ok_or_else(|| Failure::invalid_request(format!("the {name} parameter is required")))
    }

    /// Re-encodes the parameters (to carry an authorization request through the login form).
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::error::OAuthError;

    #[test]
    fn empty_values_are_absent_and_repeats_are_refused() {
        let p = Params::parse("a=1&b=&c=x%20y&c=z&d=");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), None);
        assert_eq!(p.get("missing").unwrap(), None);
        assert_eq!(p.get("c").unwrap_err().error, OAuthError::InvalidRequest);
        assert!(p
            .require("d")
            .unwrap_err()
            .description
            .contains("d parameter"));
    }

    #[test]
    fn query_round_trip() {
        let p =
            Params::parse("scope=openid+email&redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1");
        let again = Params::parse(&p.to_query());
        assert_eq!(again.get("scope").unwrap(), Some("openid email"));
        assert_eq!(
            again.get("redirect_uri").unwrap(),
            Some("https://a.example/cb?x=1")
        );
    }

    #[test]
    fn malformed_encoding_does_not_panic() {
        let p = Params::parse("a=%zz&%=&&=&b=%E2%28%A1");
        assert_eq!(p.get("a").unwrap(), Some("%zz"));
        assert!(p.get("b").unwrap().is_some());
    }
}

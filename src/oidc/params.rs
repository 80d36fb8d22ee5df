//! Form and query parameters with the rules of RFC 6749 §3.1 and §3.2: a parameter sent
//! without a value is treated as omitted, and none may be repeated.

use crate::error::Failure;

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

    /// Parses parameters as they arrive from a client, refusing what `parse` would silently
    /// repair: a `%` not followed by two hex digits, and escapes that decode to invalid UTF-8
    /// (RFC 6749 Appendix B: the octets are UTF-8). Both answer `invalid_request`, so a
    /// mangled `redirect_uri` or `code_verifier` is named as such rather than compared after
    /// lossy replacement.
    pub fn from_wire(encoded: &str) -> Result<Self, Failure> {
        let mut pairs = Vec::new();
        for part in encoded.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(k).map_err(|e| {
                Failure::invalid_request(format!("a parameter name {}", e.description))
            })?;
            let value = decode(v).map_err(|e| {
                Failure::invalid_request(format!("the {} parameter {}", name, e.description))
            })?;
            pairs.push((name, value));
        }
        Ok(Self(pairs))
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

    /// The parameters without any of `names` (the rest in order).
    pub fn without(&self, names: &[&str]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Every pair, in order (repeats included).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Re-encodes the parameters (to carry an authorization request through the login form).
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }
}

fn decode(s: &str) -> Result<String, Failure> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Failure::invalid_request("has a malformed percent-escape"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Failure::invalid_request("is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OAuthError;

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
    fn from_wire_decodes_like_parse_when_well_formed() {
        let q = "scope=openid+email&redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1&n=%C3%A9&&e=";
        assert_eq!(Params::from_wire(q).unwrap(), Params::parse(q));
    }

    #[test]
    fn from_wire_refuses_broken_escapes_and_bad_utf8() {
        for bad in [
            "a=%zz",
            "a=%4",
            "a=%",
            "a=%+f",
            "b=%E2%28%A1",
            "%FF=1",
            "a=%C3",
        ] {
            let e = Params::from_wire(bad).unwrap_err();
            assert_eq!(e.error, OAuthError::InvalidRequest, "{bad}");
        }
        let e = Params::from_wire("redirect_uri=%FF").unwrap_err();
        assert_eq!(
            e.description,
            "the redirect_uri parameter is not valid UTF-8"
        );
    }

    #[test]
    fn malformed_encoding_does_not_panic() {
        let p = Params::parse("a=%zz&%=&&=&b=%E2%28%A1");
        assert_eq!(p.get("a").unwrap(), Some("%zz"));
        assert!(p.get("b").unwrap().is_some());
    }
}

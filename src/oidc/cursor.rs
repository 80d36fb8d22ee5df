//! The one opaque paging cursor of every list (applications, users, the audit log): the
//! last row's `(created_at, id)`, base64url-encoded so clients treat it as opaque.

use crate::crypto::{b64url, b64url_decode};

pub fn encode(created_at: i64, id: &str) -> String {
    b64url(format!("{created_at}:{id}").as_bytes())
}

/// `None` for anything `encode` did not make.
pub fn decode(c: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(b64url_decode(c)?).ok()?;
    let (t, id) = raw.split_once(':')?;
    Some((t.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let c = encode(1_700_000_000, "abc:def");
        assert_eq!(decode(&c), Some((1_700_000_000, "abc:def".to_string())));
        assert_eq!(decode("not a cursor!"), None);
        assert_eq!(decode(&b64url(b"x:y")), None);
    }
}

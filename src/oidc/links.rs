//! The links mailed for sign-up and password reset (issue 18): what a link stands for,
//! sealed into the link itself (`crypto::seal`, AES-GCM under a key from
//! `KEY_ENCRYPTION_SECRET`, the purpose bound as additional data), so nothing is stored
//! until it is used. Each is short-lived and works once, and the once is decided by D1's
//! single primary, as strongly as a code's: a sign-up link by the users' unique email (its
//! account can be made once), a reset link by the password hash it names (the new password
//! replaces that hash only while it is still there, `Store::replace_password_hash`).

use serde::{Deserialize, Serialize};

use crate::crypto::seal::Sealer;
use crate::crypto::{hex, sha256};
use crate::error::Failure;

/// What a link is for; bound into the seal, so one cannot stand in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Signup,
    Reset,
    /// A new address for an account (the account page).
    EmailChange,
}

impl Purpose {
    fn seal_purpose(self) -> &'static str {
        match self {
            Self::Signup => "link:signup",
            Self::Reset => "link:reset",
            Self::EmailChange => "link:email",
        }
    }
}

/// A link's content. Field names are short: the link is a URL in a mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The address the link was sent to.
    #[serde(rename = "e")]
    pub email: String,
    /// Reset, email change: the account.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Sign-up: the name given.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Reset: `fingerprint` of the password hash the link may replace. Email change: of
    /// the address it replaces.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The authorization request the person came from (its query), to go on with it.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub auth_request: Option<String>,
    #[serde(rename = "x")]
    pub expires_at: i64,
}

/// A short, one-way stand-in for a password hash, so a reset link names the hash it may
/// replace without carrying it.
pub fn fingerprint(password_hash: &str) -> String {
    hex(&sha256(password_hash.as_bytes())[..12])
}

pub async fn seal(sealer: &impl Sealer, purpose: Purpose, link: &Link) -> Result<String, Failure> {
    let plain = serde_json::to_vec(link).map_err(|e| Failure::server(format!("link: {e}")))?;
    sealer.seal(purpose.seal_purpose(), &plain).await
}

/// The link's content, or `None` when the token is not one of this provider's links for
/// `purpose` or has expired (the two look the same to the person holding it).
pub async fn open(
    sealer: &impl Sealer,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> Result<Option<Link>, Failure> {
    if token.is_empty() || token.len() > 4096 {
        return Ok(None);
    }
    let Some(plain) = sealer.open(purpose.seal_purpose(), token).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Link>(&plain)
        .ok()
        .filter(|l| l.expires_at > now))
}

/// A link that names an account (reset, email change), with that account, while it works:
/// not expired, the account enabled, and `current(user)` still the fingerprint the link
/// names (the password hash, the address), so any change since kills the link.
pub async fn open_for_user<D: super::services::Deps>(
    svc: &super::services::Services<'_, D>,
    purpose: Purpose,
    token: &str,
    current: fn(&crate::model::User) -> &str,
) -> Result<Option<(Link, crate::model::User)>, Failure> {
    use crate::runtime::Clock;
    use crate::store::Store;
    let Some(link) = open(svc.sealer, purpose, token, svc.clock.now()).await? else {
        return Ok(None);
    };
    let Some(user_id) = link.user_id.as_deref() else {
        return Ok(None);
    };
    let user = svc.store.user_by_id(user_id).await?;
    Ok(user
        .filter(|u| !u.is_disabled())
        .filter(|u| link.replaces.as_deref() == Some(fingerprint(current(u)).as_str()))
        .map(|u| (link, u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::testing::FakeSealer;
    use futures_executor::block_on;

    fn link() -> Link {
        Link {
            email: "a@example.com".into(),
            user_id: Some("u1".into()),
            name: None,
            replaces: Some(fingerprint("old hash")),
            auth_request: Some("client_id=app1&state=x".into()),
            expires_at: 100,
        }
    }

    #[test]
    fn a_link_opens_for_its_purpose_until_it_expires() {
        let sealer = FakeSealer::default();
        let token = block_on(seal(&sealer, Purpose::Reset, &link())).unwrap();
        assert!(token.len() < 400, "fits a mail: {}", token.len());
        assert_eq!(
            block_on(open(&sealer, Purpose::Reset, &token, 99)).unwrap(),
            Some(link())
        );
        assert_eq!(
            block_on(open(&sealer, Purpose::Reset, &token, 100)).unwrap(),
            None
        );
        assert_eq!(
            block_on(open(&sealer, Purpose::Signup, &token, 1)).unwrap(),
            None
        );
        let mut altered = token.clone();
        altered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        assert_eq!(
            block_on(open(&sealer, Purpose::Reset, &altered, 1)).unwrap(),
            None
        );
        assert_eq!(
            block_on(open(&sealer, Purpose::Reset, "", 1)).unwrap(),
            None
        );
    }

    #[test]
    fn a_fingerprint_names_a_hash_without_carrying_it() {
        assert_eq!(fingerprint("h1"), fingerprint("h1"));
        assert_ne!(fingerprint("h1"), fingerprint("h2"));
        assert_eq!(fingerprint("h1").len(), 24);
    }
}

//! Client authentication at the token endpoint: RFC 6749 §2.3.1 (`client_secret_basic`,
//! `client_secret_post`), `private_key_jwt` (RFC 7523 §2.2, checked in `client_assertion`)
//! and public clients (`none`, OpenID Connect Core §9).

use super::audit::{Entry, Event};
use super::client_assertion::{self, ASSERTION_TYPE};
use super::params::Params;
use super::services::{Deps, Services};
use crate::crypto::{b64url_decode, ClientSecret};
use crate::error::{Failure, OAuthError};
use crate::model::{Application, TokenAuthMethod};
use crate::runtime::Clock;
use crate::store::Store;

/// Credentials as presented, before they are checked.
#[derive(Debug)]
pub struct Presented {
    pub client_id: String,
    pub method: TokenAuthMethod,
    pub secret: Option<ClientSecret>,
    /// A `client_assertion` (private_key_jwt), not yet verified.
    pub assertion: Option<String>,
}

pub fn presented(params: &Params, authorization: Option<&str>) -> Result<Presented, Failure> {
    let basic = match authorization {
        Some(h) => parse_basic(h)?,
        None => None,
    };
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    match (
        params.get("client_assertion_type")?,
        params.get("client_assertion")?,
    ) {
        (None, None) => {}
        (Some(kind), Some(assertion)) => {
            if basic.is_some() || body_secret.is_some() {
                return Err(Failure::invalid_request(
                    "use one client authentication method per request",
                ));
            }
            if kind != ASSERTION_TYPE {
                return Err(Failure::invalid_client(format!(
                    "client_assertion_type must be {ASSERTION_TYPE}"
                )));
            }
            // RFC 7523 §3: sub names the client; client_id in the body is optional.
            let client_id = match body_id {
                Some(id) => id.to_string(),
                None => client_assertion::subject(assertion).ok_or_else(|| {
                    Failure::invalid_client("client_assertion names no client (sub)")
                })?,
            };
            return Ok(Presented {
                client_id,
                method: TokenAuthMethod::PrivateKeyJwt,
                secret: None,
                assertion: Some(assertion.to_string()),
            });
        }
        _ => {
            return Err(Failure::invalid_request(
                "client_assertion and client_assertion_type come together",
            ))
        }
    }
    match basic {
        Some((id, secret)) => {
            // RFC 6749 §2.3: a client uses one authentication method per request.
            if body_secret.is_some() {
                return Err(Failure::invalid_request(
                    "use either HTTP Basic or client_secret in the body, not both",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(Failure::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            Ok(Presented {
                client_id: id,
                method: TokenAuthMethod::ClientSecretBasic,
                secret: Some(ClientSecret::new(secret)),
                assertion: None,
            })
        }
        None => {
            let client_id = body_id
                .ok_or_else(|| Failure::invalid_client("client authentication is required"))?
                .to_string();
            Ok(match body_secret {
                Some(secret) => Presented {
                    client_id,
                    method: TokenAuthMethod::ClientSecretPost,
                    secret: Some(ClientSecret::new(secret)),
                    assertion: None,
                },
                None => Presented {
                    client_id,
                    method: TokenAuthMethod::None,
                    secret: None,
                    assertion: None,
                },
            })
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn parse_basic(header: &str) -> Result<Option<(String, String)>, Failure> {
    let Some((scheme, value)) = header.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || Failure::invalid_client("malformed HTTP Basic credentials");
    let decoded = standard_b64_decode(value.trim()).ok_or_else(malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id);
    let secret = form_decode(secret);
    if id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

fn standard_b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(s)
        .ok()
        .or_else(|| b64url_decode(s.trim_end_matches('=')))
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Reads the credentials from the form and the `Authorization` header and checks them
/// (RFC 6749 §2.3.1), as the token, revocation and introspection endpoints do.
pub async fn authenticate_request<D: Deps>(
    svc: &Services<'_, D>,
    params: &Params,
    authorization: Option<&str>,
) -> Result<Application, Failure> {
    authenticate(svc, &presented(params, authorization)?).await
}

/// Checks the presented credentials against the registered application. Every failure is
/// `invalid_client`, with no hint whether the client or the secret was wrong.
/// During a rotation's grace period the previous secret is accepted too.
/// A refusal is noted in the audit log (a storage failure is not: it says nothing about
/// the client).
pub async fn authenticate<D: Deps>(
    svc: &Services<'_, D>,
    p: &Presented,
) -> Result<Application, Failure> {
    let audit = svc.audit;
    let result = check(svc, p, svc.clock.now()).await;
    if let Err(f) = &result {
        if f.error == OAuthError::InvalidClient {
            audit.record(
                Entry::new(Event::ClientAuthFailed, "Client authentication failed")
                    .client(&p.client_id)
                    .detail("method", p.method.as_str())
                    .detail("reason", f.description.clone()),
            );
        }
    }
    result
}

async fn check<D: Deps>(
    svc: &Services<'_, D>,
    p: &Presented,
    now: i64,
) -> Result<Application, Failure> {
    let refuse = || Failure::invalid_client("client authentication failed");
    let app = svc
        .store
        .application(&p.client_id)
        .await?
        .ok_or_else(refuse)?;
    if app.token_endpoint_auth_method != p.method {
        return Err(Failure::new(
            OAuthError::InvalidClient,
            format!(
                "this application authenticates with {}",
                app.token_endpoint_auth_method.as_str()
            ),
        ));
    }
    if let Some(assertion) = &p.assertion {
        let (signer, replay, outbound) = (svc.signer, svc.throttle, svc.outbound);
        client_assertion::verify(signer, replay, outbound, svc.issuer, now, &app, assertion)
            .await?;
        return Ok(app);
    }
    match (&p.secret, &app.client_secret_hash) {
        (None, None) if app.is_public() => Ok(app),
        (Some(secret), Some(hash)) if secret.matches_hash(hash) => Ok(app),
        (Some(secret), Some(_))
            if app.previous_secret_expires_at.is_some_and(|t| now < t)
                && app
                    .previous_secret_hash
                    .as_deref()
                    .is_some_and(|h| secret.matches_hash(h)) =>
        {
            Ok(app)
        }
        _ => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppType;
    use crate::oidc::audit::Audit;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::{services, ISSUER};
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use base64ct::{Base64, Encoding};
    use futures_executor::block_on;

    fn store() -> MemoryStore {
        let s = MemoryStore::default();
        let mut conf = crate::oidc::testing::app(AppType::Traditional);
        conf.client_id = "conf".into();
        conf.client_secret_hash = Some(ClientSecret::new("s3cret:+/").hashed());
        s.apps.borrow_mut().push(conf);
        let mut public = crate::oidc::testing::app(AppType::Spa);
        public.client_id = "pub".into();
        s.apps.borrow_mut().push(public);
        s
    }

    fn basic(id: &str, secret: &str) -> String {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            Base64::encode_string(format!("{}:{}", enc(id), enc(secret)).as_bytes())
        )
    }

    fn authn(s: &MemoryStore, p: &Presented, now: i64) -> Result<Application, Failure> {
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(now), Audit::default());
        block_on(authenticate(
            &services(s, &signer, &clock, ISSUER, &audit),
            p,
        ))
    }

    fn auth(params: &str, header: Option<&str>) -> Result<Application, Failure> {
        let p = presented(&Params::parse(params), header)?;
        authn(&store(), &p, 1_000)
    }

    #[test]
    fn basic_with_encoded_secret_works() {
        let app = auth("", Some(&basic("conf", "s3cret:+/"))).unwrap();
        assert_eq!(app.client_id, "conf");
    }

    #[test]
    fn wrong_secret_unknown_client_and_wrong_method_are_invalid_client() {
        for (params, header) in [
            ("", Some(basic("conf", "nope"))),
            ("", Some(basic("ghost", "x"))),
            ("client_id=conf&client_secret=s3cret%3A%2B%2F", None),
            ("client_id=conf", None),
            ("client_id=pub&client_secret=x", None),
            ("", None),
            ("", Some("Basic !!!".to_string())),
        ] {
            let err = auth(params, header.as_deref()).unwrap_err();
            assert_eq!(err.error, OAuthError::InvalidClient, "{params} {header:?}");
        }
    }

    #[test]
    fn public_clients_identify_without_secret() {
        assert_eq!(auth("client_id=pub", None).unwrap().client_id, "pub");
    }

    #[test]
    fn previous_secret_works_only_during_its_grace_period() {
        let s = store();
        {
            let mut apps = s.apps.borrow_mut();
            let conf = apps.iter_mut().find(|a| a.client_id == "conf").unwrap();
            conf.previous_secret_hash = Some(ClientSecret::new("old").hashed());
            conf.previous_secret_expires_at = Some(2_000);
        }
        let p = presented(&Params::default(), Some(&basic("conf", "old"))).unwrap();
        assert!(authn(&s, &p, 1_999).is_ok());
        assert_eq!(
            authn(&s, &p, 2_000).unwrap_err().error,
            OAuthError::InvalidClient
        );
        let current = presented(&Params::default(), Some(&basic("conf", "s3cret:+/"))).unwrap();
        assert!(authn(&s, &current, 5_000).is_ok());
    }

    // RFC 7523 §2.2: the assertion names the client by its sub when client_id is absent,
    // and it is the one method of its request.
    #[test]
    fn a_client_assertion_is_private_key_jwt() {
        let header = crate::crypto::b64url(br#"{"alg":"RS256"}"#);
        let claims = crate::crypto::b64url(br#"{"sub":"conf"}"#);
        let form = format!(
            "client_assertion_type={}&client_assertion={header}.{claims}.c2ln",
            url::form_urlencoded::byte_serialize(ASSERTION_TYPE.as_bytes()).collect::<String>()
        );
        let p = presented(&Params::parse(&form), None).unwrap();
        assert_eq!(
            (p.client_id.as_str(), p.method),
            ("conf", TokenAuthMethod::PrivateKeyJwt)
        );
        let mixed = presented(&Params::parse(&form), Some(&basic("conf", "s3cret:+/")));
        assert_eq!(mixed.unwrap_err().error, OAuthError::InvalidRequest);
        let alone = presented(&Params::parse("client_assertion=e30.e30.c2ln"), None);
        assert_eq!(alone.unwrap_err().error, OAuthError::InvalidRequest);
        // A secret-based client cannot switch to an assertion.
        let err = authn(&store(), &p, 1_000).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidClient);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let err = auth("client_secret=x", Some(&basic("conf", "s3cret:+/"))).unwrap_err();
        assert_eq!(err.error, OAuthError::InvalidRequest);
    }
}

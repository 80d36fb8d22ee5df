//! OpenID Connect Back-Channel Logout 1.0: when a login session ends, every application
//! with a `backchannel_logout_uri` that got a code in it receives a logout token, POSTed
//! from here rather than through the browser.
//!
//! Which applications those are is kept in the session itself (KV): `/authorize` adds the
//! application after its answer has gone, so a login redirect waits for nothing more. The
//! tokens are signed and sent after the logout's answer (`ctx.waitUntil` in the adapter):
//! the user is never kept waiting for a relying party, and one that is down changes
//! nothing for the others. A failed delivery is logged and not retried (§2.6 lets the RP
//! fall back on its own session lifetime).

use serde_json::{Map, Value};

use super::jwt::{self, Signer};
use crate::crypto::random_token;
use crate::error::{log_error, Failure};
use crate::model::grant::{EndedSession, PendingIndex};
use crate::model::{Application, Session};
use crate::runtime::{Clock, Outbound, Random};
use crate::store::{SessionStore, Store};

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The logout token's JWT `typ` (§2.4, recommended for explicit typing, RFC 8725 §3.11).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// Seconds a logout token is valid: enough for delivery and clock skew, short against
/// replay (§2.4: "SHOULD be short").
const LOGOUT_TOKEN_TTL: i64 = 120;
/// Applications told per ended session. Each costs an RSA signature (about 1 ms of CPU)
/// and a subrequest after the response, both of which the runtime limits per request;
/// later ones in the same session are not recorded.
pub const MAX_APPS_PER_SESSION: usize = 8;

/// Records, after the answer, that `app` got a code in `session`, if it listens for
/// logouts and is not recorded yet.
pub fn joined(pending: &PendingIndex, session: &Session, app: &Application) {
    let listens = app.backchannel_logout_uri.is_some();
    let known = session.backchannel.contains(&app.client_id);
    if !listens || known || session.id_hash.is_empty() {
        return;
    }
    if session.backchannel.len() >= MAX_APPS_PER_SESSION {
        log_error("back-channel logout: a session reached its limit of applications");
        return;
    }
    pending.push_session_join(&session.id_hash, &app.client_id);
}

/// Adds each joined application to its session in KV, after the answer. The session is
/// read again first, so an application recorded since this request read it is kept (two
/// SSO sign-ins in a row); only two writes in the same instant can still lose one.
pub async fn record_joins(
    sessions: &impl SessionStore,
    clock: &impl Clock,
    joins: &[(String, String)],
) -> Result<(), Failure> {
    for (id_hash, client_id) in joins {
        let Some(mut s) = sessions.session(id_hash).await? else {
            continue;
        };
        let ttl = s.expires_at - clock.now();
        if ttl <= 0 || s.backchannel.contains(client_id) {
            continue;
        }
        s.backchannel.push(client_id.clone());
        sessions.put_session(id_hash, &s, ttl as u64).await?;
    }
    Ok(())
}

/// The session's `sid` (§2.1), in ID and logout tokens: derived from the hash its KV key is
/// made of (`crypto::session_sid`), never stored, so sessions older than it have one too.
/// `None` for a session not read from storage.
pub fn sid_of(session: &Session) -> Option<String> {
    Some(&session.id_hash)
        .filter(|h| !h.is_empty())
        .map(|h| crate::crypto::session_sid(h))
}

/// Queues logout tokens for the applications of a session that just ended.
pub fn ended(pending: &PendingIndex, session: &Session) {
    let Some(sid) = sid_of(session).filter(|_| !session.backchannel.is_empty()) else {
        return;
    };
    pending.push_logout(EndedSession {
        sid,
        user_id: session.user_id.clone(),
        client_ids: session.backchannel.clone(),
    });
}

/// A logout token (§2.4): iss, aud, iat, exp, jti, sub, sid and the event; never a
/// `nonce`. Signed as the application's ID tokens are, so it verifies the same way.
pub async fn logout_token(
    signer: &impl Signer,
    rng: &impl Random,
    issuer: &str,
    app: &Application,
    ended: &EndedSession,
    now: i64,
) -> Result<String, Failure> {
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("aud".into(), app.client_id.as_str().into());
    claims.insert("sub".into(), ended.user_id.as_str().into());
    claims.insert("sid".into(), ended.sid.as_str().into());
    claims.insert("jti".into(), random_token::<16>(rng)?.into());
    let mut events = Map::new();
    events.insert(EVENT.into(), Value::Object(Map::new()));
    claims.insert("events".into(), Value::Object(events));
    // A map, as `mint` signs: one instantiation of the signing path serves both.
    let claims = jwt::claims(claims, now, LOGOUT_TOKEN_TTL);
    let alg = app.id_token_signed_response_alg;
    jwt::encode(signer, alg, LOGOUT_TOKEN_TYP, &claims).await
}

/// The services delivery needs, after the response: no request, no audit log.
pub struct Delivery<'a, S, G, R, C, O> {
    pub store: &'a S,
    pub signer: &'a G,
    pub rng: &'a R,
    pub clock: &'a C,
    pub outbound: &'a O,
    pub issuer: &'a str,
}

impl<S: Store, G: Signer, R: Random, C: Clock, O: Outbound> Delivery<'_, S, G, R, C, O> {
    /// POSTs `logout_token=…` to each ended session's applications (§2.5), one after the
    /// other; returns how many answered 200. An application deleted or without a URI since
    /// is skipped; a failure is logged and does not stop the rest.
    pub async fn deliver(&self, ended: &[EndedSession]) -> usize {
        let mut delivered = 0;
        for session in ended {
            for client_id in session.client_ids.iter().take(MAX_APPS_PER_SESSION) {
                match self.deliver_one(session, client_id).await {
                    Ok(true) => delivered += 1,
                    Ok(false) => {}
                    Err(why) => {
                        log_error(&format!("back-channel logout to {client_id} failed: {why}"))
                    }
                }
            }
        }
        delivered
    }

    async fn deliver_one(&self, session: &EndedSession, client_id: &str) -> Result<bool, String> {
        let app = self
            .store
            .application(client_id)
            .await
            .map_err(|e| e.to_string())?;
        let Some((app, uri)) = app.and_then(|a| a.backchannel_logout_uri.clone().map(|u| (a, u)))
        else {
            return Ok(false);
        };
        let now = self.clock.now();
        let token = logout_token(self.signer, self.rng, self.issuer, &app, session, now)
            .await
            .map_err(|f| f.description)?;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &token)
            .finish();
        match self.outbound.post_form(&uri, &body).await? {
            200 => Ok(true),
            status => Err(format!("{uri} answered {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppType;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::runtime::testing::{CountingRandom, FixedClock};
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;
    use serde_json::json;
    use std::cell::RefCell;

    const ISSUER: &str = "https://id.example";

    /// Records every POST; answers with the status its URL's last path segment names.
    #[derive(Default)]
    struct Recorder(RefCell<Vec<(String, String)>>);

    impl Outbound for Recorder {
        async fn post_form(&self, url: &str, body: &str) -> Result<u16, String> {
            self.0.borrow_mut().push((url.into(), body.into()));
            url.rsplit('/')
                .next()
                .unwrap_or("")
                .parse()
                .map_err(|_| "refused".into())
        }
        async fn get(&self, _url: &str, _max: usize) -> Result<(u16, String), String> {
            Err("not used".into())
        }
    }

    fn app(id: &str, uri: Option<&str>) -> Application {
        let mut a = Application::new(id.into(), id.into(), AppType::Traditional, 0);
        a.backchannel_logout_uri = uri.map(str::to_string);
        a
    }

    fn session(backchannel: &[&str]) -> Session {
        Session {
            user_id: "u1".into(),
            auth_time: 0,
            expires_at: 100,
            claims: crate::model::UserClaims {
                roles: Default::default(),
                email: "ada@example.com".into(),
                email_verified: true,
                name: None,
                profile: Default::default(),
                updated_at: None,
            },
            id_hash: "hash-1".into(),
            backchannel: backchannel.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_listening_application_joins_its_session_once() {
        let pending = PendingIndex::default();
        joined(&pending, &session(&[]), &app("a", None));
        assert!(
            pending.take_session_work().0.is_empty(),
            "no URI, no record"
        );
        joined(
            &pending,
            &session(&["a"]),
            &app("a", Some("https://a.example/bc")),
        );
        assert!(pending.take_session_work().0.is_empty(), "already recorded");
        joined(
            &pending,
            &session(&["a"]),
            &app("b", Some("https://b.example/bc")),
        );
        let (joins, _) = pending.take_session_work();
        assert_eq!(joins, [("hash-1".to_string(), "b".to_string())]);
        let full: Vec<String> = (0..MAX_APPS_PER_SESSION).map(|i| format!("c{i}")).collect();
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        joined(
            &pending,
            &session(&full),
            &app("z", Some("https://z.example/bc")),
        );
        assert!(pending.take_session_work().0.is_empty(), "the cap holds");
    }

    /// Two sign-ins in a row, each answered before the first's record is written: the
    /// second request read the session without the first application, yet both are kept.
    #[test]
    fn joins_merge_into_the_session_as_stored_now() {
        use crate::store::memory::MemorySessions;
        let sessions = MemorySessions::default();
        let clock = FixedClock::at(10);
        block_on(sessions.put_session("hash-1", &session(&[]), 90)).unwrap();
        let joins = |c: &str| vec![("hash-1".to_string(), c.to_string())];
        block_on(record_joins(&sessions, &clock, &joins("a"))).unwrap();
        block_on(record_joins(&sessions, &clock, &joins("b"))).unwrap();
        block_on(record_joins(&sessions, &clock, &joins("a"))).unwrap();
        let stored = block_on(sessions.session("hash-1")).unwrap().unwrap();
        assert_eq!(stored.backchannel, ["a", "b"]);
        // A session gone (logged out) or expired is not brought back.
        block_on(record_joins(
            &sessions,
            &clock,
            &[("gone".into(), "a".into())],
        ))
        .unwrap();
        assert!(block_on(sessions.session("gone")).unwrap().is_none());
        clock.advance(1_000);
        block_on(record_joins(&sessions, &clock, &joins("c"))).unwrap();
        let stored = block_on(sessions.session("hash-1")).unwrap().unwrap();
        assert_eq!(stored.backchannel, ["a", "b"]);
    }

    #[test]
    fn only_sessions_with_listeners_queue_a_logout() {
        let pending = PendingIndex::default();
        ended(&pending, &session(&[]));
        assert!(pending.take_session_work().1.is_empty());
        ended(&pending, &session(&["a", "b"]));
        let (_, logouts) = pending.take_session_work();
        let want = EndedSession {
            sid: crate::crypto::session_sid("hash-1"),
            user_id: "u1".into(),
            client_ids: vec!["a".into(), "b".into()],
        };
        assert_eq!(logouts, [want]);
    }

    #[test]
    fn the_logout_token_has_the_claims_of_section_2_4_and_no_nonce() {
        let (signer, rng) = (FakeSigner::new(), CountingRandom::new());
        let ended = EndedSession {
            sid: "sid-1".into(),
            user_id: "u1".into(),
            client_ids: vec!["a".into()],
        };
        let a = app("a", Some("https://a.example/bc"));
        let token = block_on(logout_token(&signer, &rng, ISSUER, &a, &ended, 1_000)).unwrap();
        let part = |i: usize| -> Value {
            let seg = token.split('.').nth(i).unwrap();
            serde_json::from_slice(&crate::crypto::b64url_decode(seg).unwrap()).unwrap()
        };
        assert_eq!(part(0)["typ"], LOGOUT_TOKEN_TYP);
        let c = part(1);
        assert_eq!(c["iss"], ISSUER);
        assert_eq!(c["aud"], "a");
        assert_eq!(c["sub"], "u1");
        assert_eq!(c["sid"], "sid-1");
        assert_eq!(c["iat"], 1_000);
        assert_eq!(c["exp"], 1_000 + LOGOUT_TOKEN_TTL);
        assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 22));
        assert_eq!(c["events"], json!({ EVENT: {} }));
        assert!(c.get("nonce").is_none());
        let again = block_on(logout_token(&signer, &rng, ISSUER, &a, &ended, 1_000)).unwrap();
        assert_ne!(token, again, "each token has its own jti");
    }

    #[test]
    fn delivery_posts_to_each_listener_and_survives_failures() {
        let store = MemoryStore::default();
        store.apps.borrow_mut().extend([
            app("ok", Some("https://ok.example/200")),
            app("down", Some("https://down.example/503")),
            app("quiet", None),
        ]);
        let (signer, rng, clock, out) = (
            FakeSigner::new(),
            CountingRandom::new(),
            FixedClock::at(1_000),
            Recorder::default(),
        );
        let delivery = Delivery {
            store: &store,
            signer: &signer,
            rng: &rng,
            clock: &clock,
            outbound: &out,
            issuer: ISSUER,
        };
        let ended = EndedSession {
            sid: "sid-1".into(),
            user_id: "u1".into(),
            client_ids: ["down", "gone", "quiet", "ok"].map(String::from).to_vec(),
        };
        assert_eq!(block_on(delivery.deliver(&[ended])), 1);
        let posts = out.0.borrow();
        let urls: Vec<&str> = posts.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(urls, ["https://down.example/503", "https://ok.example/200"]);
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(posts[1].1.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "logout_token");
        assert_eq!(fields[0].1.split('.').count(), 3);
    }
}

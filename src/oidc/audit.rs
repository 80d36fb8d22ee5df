//! The audit log: what happened to which application and user, as Auth0's and Logto's logs
//! show it. Protocol code records entries into the request's `Audit`; the HTTP layer adds
//! the time, address and user agent and stores them after the response has gone
//! (`ctx.wait_until`), so logging never delays or fails a request.
//!
//! An entry holds identifiers and reasons only: never a secret, password, code or token.
//! Descriptions are built from fixed text and identifiers, and `detail` from values that
//! are not secret (grant types, reasons, scopes).

use std::cell::RefCell;

use serde_json::{json, Map, Value};

use super::error::Failure;
use super::params::Params;
use crate::crypto::{b64url, b64url_decode};
use crate::model::Application;
use crate::store::Store;

/// How long records are kept unless `AUDIT_RETENTION_DAYS` says otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
const MAX_USER_AGENT: usize = 400;
const MAX_DETAIL_BYTES: usize = 2_000;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1_000;

macro_rules! events {
    ($($variant:ident => $wire:literal,)+) => {
        /// The kinds of record; the wire names are what `GET /api/v1/logs?event=` takes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Event { $($variant,)+ }

        impl Event {
            pub const ALL: &'static [Event] = &[$(Event::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(Event::$variant => $wire,)+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some(Event::$variant),)+ _ => None }
            }
        }
    };
}

events! {
    LoginSucceeded => "login.succeeded",
    LoginFailed => "login.failed",
    Logout => "logout",
    ConsentGranted => "consent.granted",
    ConsentRevoked => "consent.revoked",
    TokenIssued => "token.issued",
    RefreshTokenReused => "refresh_token.reused",
    CodeReplayed => "code.replayed",
    ClientAuthFailed => "client_auth.failed",
    ApplicationCreated => "application.created",
    ApplicationUpdated => "application.updated",
    ApplicationDeleted => "application.deleted",
    SecretRotated => "application.secret_rotated",
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    UserDisabled => "user.disabled",
    KeyRotated => "key.rotated",
}

/// Why a login failed, as the log shows it (the user only ever sees one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownUser,
    WrongPassword,
    /// The account's failure counter is locked.
    Locked,
    /// The client address's failure counter is locked.
    Throttled,
    Disabled,
}

impl LoginFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::Disabled => "disabled",
        }
    }
}

/// One thing that happened, as protocol code knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub event: Event,
    pub description: String,
    pub client_id: Option<String>,
    pub application_name: Option<String>,
    pub user_id: Option<String>,
    pub detail: Map<String, Value>,
}

impl Entry {
    pub fn new(event: Event, description: impl Into<String>) -> Self {
        Self {
            event,
            description: description.into(),
            client_id: None,
            application_name: None,
            user_id: None,
            detail: Map::new(),
        }
    }

    pub fn app(mut self, app: &Application) -> Self {
        self.client_id = Some(app.client_id.clone());
        self.application_name = Some(app.name.clone());
        self
    }

    /// For a client id that may name no application (a failed authentication).
    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.chars().take(200).collect());
        self
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_string());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
}

/// The entries of one request. A `RefCell`: an isolate runs one task at a time.
#[derive(Debug, Default)]
pub struct Audit(RefCell<Vec<Entry>>);

impl Audit {
    pub fn record(&self, entry: Entry) {
        self.0.borrow_mut().push(entry);
    }

    pub fn take(&self) -> Vec<Entry> {
        std::mem::take(&mut self.0.borrow_mut())
    }

    #[cfg(test)]
    pub fn events(&self) -> Vec<Event> {
        self.0.borrow().iter().map(|e| e.event).collect()
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub event: String,
    pub description: String,
    pub client_id: Option<String>,
    pub application_name: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Value,
}

/// Where a request came from: `CF-Connecting-IP` and `User-Agent`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Record {
    pub fn from_entry(entry: Entry, id: String, now: i64, origin: &Origin) -> Self {
        let mut detail = Value::Object(entry.detail);
        if detail.to_string().len() > MAX_DETAIL_BYTES {
            detail = json!({ "truncated": true });
        }
        Self {
            id,
            created_at: now,
            event: entry.event.as_str().to_string(),
            description: entry.description,
            client_id: entry.client_id,
            application_name: entry.application_name,
            user_id: entry.user_id,
            ip: origin.ip.clone(),
            user_agent: origin
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            detail,
        }
    }

    /// The API's view: the record with its time also as RFC 3339. Built by hand rather than
    /// derived: a derived `Serialize` into a `Value` costs the Wasm several KB.
    pub fn to_json(&self) -> Value {
        let time = chrono::DateTime::from_timestamp(self.created_at, 0).map(|t| {
            use chrono::{Datelike, Timelike};
            // chrono's formatting needs its `alloc` feature; this is the one place we print.
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        });
        json!({
            "id": self.id,
            "time": time,
            "created_at": self.created_at,
            "event": self.event,
            "description": self.description,
            "client_id": self.client_id,
            "application_name": self.application_name,
            "user_id": self.user_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "detail": self.detail,
        })
    }
}

/// Filters and position of `GET /api/v1/logs`, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub event: Option<Event>,
    /// Inclusive, unix seconds.
    pub since: Option<i64>,
    /// Exclusive, unix seconds.
    pub until: Option<i64>,
    /// Continue after this `(created_at, id)`, going back in time.
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

impl LogQuery {
    pub fn matches(&self, r: &Record) -> bool {
        self.client_id
            .as_ref()
            .is_none_or(|c| r.client_id.as_ref() == Some(c))
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| r.user_id.as_ref() == Some(u))
            && self.event.is_none_or(|e| r.event == e.as_str())
            && self.since.is_none_or(|t| r.created_at >= t)
            && self.until.is_none_or(|t| r.created_at < t)
            && self
                .before
                .as_ref()
                .is_none_or(|(t, id)| (r.created_at, &r.id) < (*t, id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// JSON lines (one record per line) for log tools.
    Jsonl,
}

/// A time as unix seconds or an RFC 3339 UTC time (`2026-11-23T10:00:00Z`). A hand parser
/// of the one form instead of chrono's general one: the Wasm stays under its size budget.
fn parse_time(field: &str, v: &str) -> Result<i64, Failure> {
    if let Ok(n) = v.parse::<i64>() {
        return Ok(n);
    }
    let bad = || {
        Failure::invalid_request(format!(
            "{field} must be unix seconds or an RFC 3339 UTC time like 2026-11-23T10:00:00Z"
        ))
    };
    let b = v.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T' || *c == b't',
            13 | 16 => *c == b':',
            19 => *c == b'Z' || *c == b'z',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| v[r].parse::<u32>().map_err(|_| bad());
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(bad)
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    b64url(format!("{created_at}.{id}").as_bytes())
}

fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(b64url_decode(c)?).ok()?;
    let (t, id) = raw.split_once('.')?;
    Some((t.parse().ok()?, id.to_string()))
}

/// Reads the query string of `GET /api/v1/logs`.
pub fn parse_query(params: &Params) -> Result<(LogQuery, Format), Failure> {
    let text = |name: &str| -> Result<Option<String>, Failure> {
        Ok(params
            .get(name)?
            .filter(|v| !v.is_empty())
            .map(str::to_string))
    };
    let event = match params.get("event")? {
        None | Some("") => None,
        Some(e) => Some(Event::parse(e).ok_or_else(|| {
            Failure::invalid_request(format!(
                "event must be one of: {}",
                Event::ALL
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
    };
    let since = text("since")?
        .map(|v| parse_time("since", &v))
        .transpose()?;
    let until = text("until")?
        .map(|v| parse_time("until", &v))
        .transpose()?;
    let before = match text("cursor")? {
        None => None,
        Some(c) => Some(
            decode_cursor(&c)
                .ok_or_else(|| Failure::invalid_request("cursor is not one this API gave out"))?,
        ),
    };
    let format = match params.get("format")? {
        None | Some("json") => Format::Json,
        Some("jsonl") => Format::Jsonl,
        Some(_) => return Err(Failure::invalid_request("format must be json or jsonl")),
    };
    let limit = match params.get("limit")? {
        None => DEFAULT_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(Failure::invalid_request(format!(
                    "limit must be 1 to {MAX_PAGE}"
                )))
            }
        },
    };
    Ok((
        LogQuery {
            client_id: text("client_id")?,
            user_id: text("user_id")?,
            event,
            since,
            until,
            before,
            limit,
        },
        format,
    ))
}

/// A page of records and the cursor for the next one, if there may be more.
pub async fn page(
    store: &impl Store,
    query: &LogQuery,
) -> Result<(Vec<Record>, Option<String>), Failure> {
    // One extra row says whether another page exists without a count query.
    let mut probe = query.clone();
    probe.limit = query.limit + 1;
    let mut records = store.audit_records(&probe).await?;
    let more = records.len() > query.limit;
    records.truncate(query.limit);
    let next = if more {
        records.last().map(|r| encode_cursor(r.created_at, &r.id))
    } else {
        None
    };
    Ok((records, next))
}

/// The JSON body of a page.
pub fn page_json(records: &[Record], next: Option<&str>) -> Value {
    json!({
        "logs": records.iter().map(Record::to_json).collect::<Vec<_>>(),
        "next_cursor": next,
    })
}

/// The JSON-lines body of a page.
pub fn page_jsonl(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_json().to_string());
        out.push('\n');
    }
    out
}

/// The retention setting: whole days, at least one.
pub fn retention_days(var: Option<&str>) -> i64 {
    var.and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|d| *d >= 1)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// Deletes records older than the retention; returns how many went.
pub async fn enforce_retention(
    store: &impl Store,
    now: i64,
    retention_days: i64,
) -> Result<u64, Failure> {
    Ok(store.purge_audit(now - retention_days * 24 * 3600).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    #[test]
    fn every_event_round_trips_and_names_are_unique() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.as_str()), Some(*e));
        }
        let mut names: Vec<_> = Event::ALL.iter().map(|e| e.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Event::ALL.len());
        assert_eq!(Event::parse("login"), None);
    }

    fn record(n: i64, event: Event, client: &str) -> Record {
        Record::from_entry(
            Entry::new(event, "x").client(client).user("u1"),
            format!("id{n:03}"),
            1_000 + n / 3,
            &Origin::default(),
        )
    }

    #[test]
    fn pages_go_newest_first_without_gaps_or_repeats_and_filters_apply() {
        let store = MemoryStore::default();
        let all: Vec<Record> = (0..25)
            .map(|n| {
                let event = if n % 2 == 0 {
                    Event::LoginFailed
                } else {
                    Event::TokenIssued
                };
                record(n, event, if n % 5 == 0 { "b" } else { "a" })
            })
            .collect();
        block_on(store.append_audit(&all)).unwrap();

        let mut seen = Vec::new();
        let mut query = LogQuery {
            limit: 4,
            ..LogQuery::default()
        };
        loop {
            let (page, next) = block_on(page(&store, &query)).unwrap();
            seen.extend(page.iter().map(|r| r.id.clone()));
            match next {
                Some(c) => query.before = decode_cursor(&c),
                None => break,
            }
        }
        let mut expected: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
        expected.reverse();
        assert_eq!(seen, expected);

        let params = Params::parse("event=login.failed&client_id=b&since=1001&limit=10");
        let (q, format) = parse_query(&params).unwrap();
        assert_eq!(format, Format::Json);
        let (page, next) = block_on(page(&store, &q)).unwrap();
        assert!(next.is_none());
        let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["id020", "id010"]);
    }

    #[test]
    fn bad_queries_are_invalid_request() {
        for q in [
            "event=nope",
            "limit=0",
            "limit=1001",
            "since=yesterday",
            "since=2026-02-30T00:00:00Z",
            "until=2026-01-01T00:00:00+01:00",
            "cursor=%%%",
            "cursor=bm90LWEtY3Vyc29y",
            "format=xml",
        ] {
            let err = parse_query(&Params::parse(q)).unwrap_err();
            assert_eq!(
                err.error,
                crate::oidc::error::OAuthError::InvalidRequest,
                "{q}"
            );
        }
        let (q, format) =
            parse_query(&Params::parse("since=2026-01-01T00:00:00Z&format=jsonl")).unwrap();
        assert_eq!(q.since, Some(1_767_225_600));
        assert_eq!(format, Format::Jsonl);
    }

    #[test]
    fn retention_deletes_only_older_records() {
        let store = MemoryStore::default();
        block_on(store.append_audit(&[
            record(0, Event::Logout, "a"),
            record(30, Event::Logout, "a"),
        ]))
        .unwrap();
        // Records at 1000 and 1010; keep one day back from 1000 + 1 day + 5 s.
        let gone = block_on(enforce_retention(&store, 1_005 + 24 * 3600, 1)).unwrap();
        assert_eq!(gone, 1);
        assert_eq!(store.audit.borrow().len(), 1);
        assert_eq!(store.audit.borrow()[0].created_at, 1_010);
        assert_eq!(retention_days(None), 30);
        assert_eq!(retention_days(Some("0")), 30);
        assert_eq!(retention_days(Some(" 7 ")), 7);
    }

    #[test]
    fn records_bound_user_agent_and_detail() {
        let origin = Origin {
            ip: Some("203.0.113.9".into()),
            user_agent: Some("x".repeat(5_000)),
        };
        let big = Entry::new(Event::Logout, "bye").detail("blob", "y".repeat(5_000));
        let r = Record::from_entry(big, "id".into(), 0, &origin);
        assert_eq!(r.user_agent.as_ref().unwrap().len(), MAX_USER_AGENT);
        assert_eq!(r.detail, json!({ "truncated": true }));
        assert_eq!(r.to_json()["time"], "1970-01-01T00:00:00Z");
    }
}

//! The audit log's vocabulary: events, the entries protocol code records during a request,
//! and the stored records. Shared by the protocol (`oidc::audit`) and the stores, so it
//! lives on the ground floor.
//!
//! An entry holds identifiers and reasons only: never a secret, password, code or token.

use std::cell::RefCell;

use serde_json::{json, Map, Value};

use crate::model::Application;

pub(crate) const MAX_USER_AGENT: usize = 400;
const MAX_DETAIL_BYTES: usize = 2_000;

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
    AccessRefused => "login.access_refused",
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
    Signup => "signup",
    EmailVerified => "email.verified",
    PasswordResetRequested => "password.reset_requested",
    PasswordChanged => "password.changed",
    SessionsRevoked => "sessions.revoked",
    RoleCreated => "role.created",
    RoleUpdated => "role.updated",
    RoleDeleted => "role.deleted",
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

/// The events that make a user active for an application (Auth0's "active users": logged
/// in to it, or had tokens issued or refreshed for it). Counted from the audit log, so the
/// login path never reads or writes anything for the count.
pub const ACTIVE_EVENTS: [Event; 2] = [Event::LoginSucceeded, Event::TokenIssued];

/// The buckets active users are counted in (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// SQLite's `strftime` format for the bucket (the D1 store groups by it).
    pub fn sql_format(self) -> &'static str {
        match self {
            Self::Day => "%Y-%m-%d",
            Self::Month => "%Y-%m",
        }
    }

    /// The bucket of a time, as `sql_format` writes it ("2026-12-03", "2026-12").
    pub fn bucket(self, unix: i64) -> String {
        use chrono::Datelike;
        let Some(t) = chrono::DateTime::from_timestamp(unix, 0) else {
            return String::new();
        };
        match self {
            Self::Day => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
            Self::Month => format!("{:04}-{:02}", t.year(), t.month()),
        }
    }
}

/// What `Store::active_users` counts: records in `[since, until)` (unix seconds), by
/// `period`, of one application or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveQuery<'a> {
    pub period: Period,
    pub since: i64,
    pub until: i64,
    pub client_id: Option<&'a str>,
}

/// Distinct active users of one application in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUsers {
    pub client_id: String,
    pub period: String,
    pub users: i64,
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

/// The records of one request's entries, stored after its response. Ids start with the time
/// in milliseconds and the entry's position, then a random suffix, so records sort as they
/// happened.
pub fn records(entries: Vec<Entry>, millis: i64, suffix: &str, origin: &Origin) -> Vec<Record> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let id = format!("{millis:013}{i:02}{suffix}");
            Record::from_entry(entry, id, millis / 1000, origin)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Event;

    /// The dashboard's event filter (public/admin/logs.js) offers every event, and only
    /// those: its list is written by hand.
    #[test]
    fn the_dashboard_filter_lists_every_event() {
        let js = include_str!("../../public/admin/logs.js");
        let start = js.find("const EVENTS = [").expect("the EVENTS list");
        let list = &js[start..start + js[start..].find("];").expect("its end")];
        let mut offered: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        offered.sort_unstable();
        let mut known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        known.sort_unstable();
        assert_eq!(offered, known);
    }
}

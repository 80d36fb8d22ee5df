//! The audit log: what happened to which application and user, as Auth0's and Logto's logs
//! show it. Protocol code records entries into the request's `Audit`; the HTTP layer adds
//! the time, address and user agent and stores them after the response has gone
//! (`ctx.wait_until`), so logging never delays or fails a request.
//!
//! An entry holds identifiers and reasons only: never a secret, password, code or token.
//! Descriptions are built from fixed text and identifiers, and `detail` from values that
//! are not secret (grant types, reasons, scopes).

use serde_json::{json, Value};

use super::params::Params;
use super::services::{Deps, Services};
use crate::error::Failure;
pub use crate::model::audit::*;
use crate::store::Store;

/// How long records are kept unless `AUDIT_RETENTION_DAYS` says otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1_000;

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
            super::cursor::decode(&c)
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
/// `GET /api/v1/logs`: the query string read, and one page of records, newest first, with
/// the cursor of the next page.
pub async fn list<D: Deps>(
    svc: &Services<'_, D>,
    params: &Params,
) -> Result<(Format, Vec<Record>, Option<String>), Failure> {
    let (query, format) = parse_query(params)?;
    let (records, next) = page(svc.store, &query).await?;
    Ok((format, records, next))
}

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
        records
            .last()
            .map(|r| super::cursor::encode(r.created_at, &r.id))
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
    use crate::model::audit::MAX_USER_AGENT;
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
                Some(c) => query.before = crate::oidc::cursor::decode(&c),
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
            assert_eq!(err.error, crate::error::OAuthError::InvalidRequest, "{q}");
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

//! `GET /api/v1/stats/active-users`: distinct users per application per day or month, as
//! Auth0's "active users" counts them (issue 17). Read from the audit log's login and token
//! records (`model::audit::ACTIVE_EVENTS`), so the login path pays nothing for the count.

use serde_json::{json, Value};

use super::params::Params;
use super::services::{Deps, Services};
use crate::error::Failure;
use crate::model::audit::{ActiveQuery, Period};
use crate::runtime::Clock;
use crate::store::Store;

const DAY: i64 = 86_400;

pub async fn active_users<D: Deps>(svc: &Services<'_, D>, q: &Params) -> Result<Value, Failure> {
    let period = match q.get("period")? {
        None => Period::Day,
        Some(p) => {
            Period::parse(p).ok_or_else(|| Failure::invalid_request("period: day or month"))?
        }
    };
    let int = |name: &'static str| -> Result<Option<i64>, Failure> {
        match q.get(name)? {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| Failure::invalid_request(format!("{name}: a time in unix seconds"))),
        }
    };
    let now = svc.clock.now();
    let until = int("until")?.unwrap_or(now + 1);
    // The default window: the last 30 days by day, the last 12 months by month.
    let window = match period {
        Period::Day => 30 * DAY,
        Period::Month => 365 * DAY,
    };
    let since = int("since")?.unwrap_or(until - window);
    if since >= until {
        return Err(Failure::invalid_request("since: must be before until"));
    }
    let query = ActiveQuery {
        period,
        since,
        until,
        client_id: q.get("client_id")?,
    };
    let rows = svc.store.active_users(&query).await?;
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "client_id": r.client_id, "period": r.period, "active_users": r.users }))
        .collect();
    Ok(json!({
        "period": period.as_str(),
        "since": since,
        "until": until,
        "rows": rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::Record;
    use crate::oidc::audit::Audit;
    use crate::oidc::jwt::testing::FakeSigner;
    use crate::oidc::services::testing::{services, ISSUER};
    use crate::runtime::testing::FixedClock;
    use crate::store::memory::MemoryStore;
    use futures_executor::block_on;

    fn record(id: &str, at: i64, user: &str) -> Record {
        Record {
            id: id.into(),
            created_at: at,
            event: "token.issued".into(),
            description: String::new(),
            client_id: Some("app1".into()),
            application_name: None,
            user_id: Some(user.into()),
            ip: None,
            user_agent: None,
            detail: json!({}),
        }
    }

    #[test]
    fn counts_by_day_by_default_and_checks_its_parameters() {
        let store = MemoryStore::default();
        let now = 1_800_000_000; // 2027-01-15T08:00:00Z
        store.audit.borrow_mut().extend([
            record("1", now - 10, "u1"),
            record("2", now - 5, "u2"),
            record("3", now - 40 * DAY, "u3"),
        ]);
        let (signer, clock, audit) = (FakeSigner::new(), FixedClock::at(now), Audit::default());
        let svc = services(&store, &signer, &clock, ISSUER, &audit);
        let ask = |q: &str| block_on(active_users(&svc, &Params::parse(q)));
        let v = ask("").unwrap();
        assert_eq!(v["period"], "day");
        assert_eq!(
            v["rows"],
            json!([{"client_id": "app1", "period": "2027-01-15", "active_users": 2}])
        );
        let v = ask("period=month").unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), 2, "{v}");
        for bad in ["period=week", "since=yesterday", "since=10&until=5"] {
            let e = ask(bad).unwrap_err();
            assert_eq!(e.error, crate::error::OAuthError::InvalidRequest, "{bad}");
        }
    }
}

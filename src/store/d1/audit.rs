//! `audit_log`.

use super::{changes, int, opt_int, opt_text, text, D1Store};
use crate::model::audit::{ActiveQuery, ActiveUsers, LogQuery, Record, ACTIVE_EVENTS};
use crate::store::StoreResult;

pub(super) async fn append_audit(d1: &D1Store, records: &[Record]) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let statements = records
        .iter()
        .map(|r| {
            d1.member(
                "INSERT OR IGNORE INTO audit_log (id, created_at, event, description, client_id, \
                 application_name, user_id, ip, user_agent, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &[
                    text(&r.id),
                    int(r.created_at),
                    text(&r.event),
                    text(&r.description),
                    opt_text(r.client_id.as_deref()),
                    opt_text(r.application_name.as_deref()),
                    opt_text(r.user_id.as_deref()),
                    opt_text(r.ip.as_deref()),
                    opt_text(r.user_agent.as_deref()),
                    text(&r.detail.to_string()),
                ],
            )
        })
        .collect::<StoreResult<Vec<_>>>()?;
    d1.batch(statements).await?;
    Ok(())
}

pub(super) async fn audit_records(d1: &D1Store, q: &LogQuery) -> StoreResult<Vec<Record>> {
    // Every filter is a bound parameter that may be NULL, so the text never varies.
    // Rows as JSON values rather than a derived row type: one deserializer the Wasm
    // already has, instead of a new one (size budget of issue 6).
    let rows: Vec<serde_json::Value> = d1
        .read_all(
            "SELECT id, created_at, event, description, client_id, application_name, user_id, \
             ip, user_agent, detail FROM audit_log \
             WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR user_id = ?2) \
             AND (?3 IS NULL OR event = ?3) AND (?4 IS NULL OR created_at >= ?4) \
             AND (?5 IS NULL OR created_at < ?5) \
             AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7)) \
             ORDER BY created_at DESC, id DESC LIMIT ?8",
            &[
                opt_text(q.client_id.as_deref()),
                opt_text(q.user_id.as_deref()),
                opt_text(q.event.map(|e| e.as_str())),
                opt_int(q.since),
                opt_int(q.until),
                opt_int(q.before.as_ref().map(|(t, _)| *t)),
                opt_text(q.before.as_ref().map(|(_, id)| id.as_str())),
                int(q.limit as i64),
            ],
        )
        .await?;
    let text = |row: &serde_json::Value, k: &str| row[k].as_str().map(str::to_string);
    Ok(rows
        .iter()
        .map(|r| Record {
            id: text(r, "id").unwrap_or_default(),
            created_at: r["created_at"].as_i64().unwrap_or(0),
            event: text(r, "event").unwrap_or_default(),
            description: text(r, "description").unwrap_or_default(),
            client_id: text(r, "client_id"),
            application_name: text(r, "application_name"),
            user_id: text(r, "user_id"),
            ip: text(r, "ip"),
            user_agent: text(r, "user_agent"),
            detail: r["detail"]
                .as_str()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

/// `Store::active_users`: one grouped read (a replica may answer), using the
/// `audit_log_client` index when one application is asked for.
pub(super) async fn active_users(
    d1: &D1Store,
    q: &ActiveQuery<'_>,
) -> StoreResult<Vec<ActiveUsers>> {
    let [a, b] = ACTIVE_EVENTS.map(|e| text(e.as_str()));
    let rows: Vec<serde_json::Value> = d1
        .read_all(
            "SELECT client_id, strftime(?1, created_at, 'unixepoch') AS period, \
             COUNT(DISTINCT user_id) AS users FROM audit_log \
             WHERE created_at >= ?2 AND created_at < ?3 AND (?4 IS NULL OR client_id = ?4) \
             AND client_id IS NOT NULL AND user_id IS NOT NULL AND event IN (?5, ?6) \
             GROUP BY period, client_id ORDER BY period, client_id",
            &[
                text(q.period.sql_format()),
                int(q.since),
                int(q.until),
                opt_text(q.client_id),
                a,
                b,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ActiveUsers {
            client_id: r["client_id"].as_str().unwrap_or_default().to_string(),
            period: r["period"].as_str().unwrap_or_default().to_string(),
            users: r["users"].as_i64().unwrap_or(0),
        })
        .collect())
}

pub(super) async fn purge_audit(d1: &D1Store, before: i64) -> StoreResult<u64> {
    let result = d1
        .exec(
            "DELETE FROM audit_log WHERE created_at < ?1",
            &[int(before)],
        )
        .await?;
    Ok(changes(&result) as u64)
}

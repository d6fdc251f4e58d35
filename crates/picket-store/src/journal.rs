//! The event journal: every security-relevant action, in the shape the campaign detector reads.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError};

/// An event to journal. `data` holds the kind's own fields (see the campaign-detection issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// The kind, e.g. `project.create`.
    pub kind: String,
    /// The account concerned, if any.
    pub user: Option<String>,
    /// The client address, if known.
    pub ip: Option<String>,
    /// The kind's own fields, a JSON object.
    pub data: serde_json::Value,
}

impl Event {
    /// An event of `kind` at `time_ms` about `user`, with `data` as its fields.
    pub fn new(
        kind: &str,
        time_ms: i64,
        user: Option<&str>,
        ip: Option<&str>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            time_ms,
            kind: kind.to_owned(),
            user: user.map(str::to_owned),
            ip: ip.map(str::to_owned),
            data,
        }
    }

    /// The event as one JSON line of the exported stream: `time` (RFC 3339, UTC), `kind`, `user`,
    /// `ip`, then the kind's own fields.
    pub fn to_json_line(&self) -> String {
        let mut object = serde_json::Map::new();
        object.insert("time".into(), rfc3339(self.time_ms).into());
        object.insert("kind".into(), self.kind.clone().into());
        if let Some(user) = &self.user {
            object.insert("user".into(), user.clone().into());
        }
        if let Some(ip) = &self.ip {
            object.insert("ip".into(), ip.clone().into());
        }
        if let serde_json::Value::Object(fields) = &self.data {
            for (key, value) in fields {
                object.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        serde_json::Value::Object(object).to_string()
    }
}

/// Milliseconds since the epoch as RFC 3339 in UTC with millisecond precision.
pub fn rfc3339(time_ms: i64) -> String {
    let secs = time_ms.div_euclid(1000);
    let millis = time_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = picket_formats::time::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) async fn append(
    tx: &mut Transaction<'_, Any>,
    events: &[Event],
) -> Result<(), StoreError> {
    for event in events {
        sqlx::query(
            "INSERT INTO events (time, kind, user_name, ip, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.time_ms)
        .bind(&event.kind)
        .bind(&event.user)
        .bind(&event.ip)
        .bind(event.data.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Appends events to the journal, in one transaction.
    pub async fn append_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The id of the newest event (0 when the journal is empty): a cheap "anything changed?".
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events")
            .fetch_one(&self.pool)
            .await?
            .get("id"))
    }

    /// Events at or after `since_ms`, in journal order.
    pub async fn events_since(&self, since_ms: i64) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT time, kind, user_name, ip, data FROM events WHERE time >= $1 ORDER BY time, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.get("data");
                Ok(Event {
                    time_ms: r.get("time"),
                    kind: r.get("kind"),
                    user: r.get("user_name"),
                    ip: r.get("ip"),
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::Database(format!("event data: {e}")))?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_749_600_000_123), "2025-06-11T00:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_json_line_puts_the_common_fields_first() {
        let e = Event::new(
            "project.create",
            0,
            Some("alice"),
            Some("127.0.0.1"),
            serde_json::json!({"project": "demo", "time": "ignored"}),
        );
        assert_eq!(
            e.to_json_line(),
            r#"{"time":"1970-01-01T00:00:00.000Z","kind":"project.create","user":"alice","ip":"127.0.0.1","project":"demo"}"#
        );
    }
}

//! SQLite: terminal sessions.

use super::SqliteStore;
use crate::store::{from_millis, to_millis, NewTerminalSession, StoreError, StoreResult, TerminalEnd, TerminalStore};
use async_trait::async_trait;
use chrono::Utc;
use opsdesk_app::model::{PersonRef, TerminalSession};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

fn session_from_row(row: &SqliteRow) -> StoreResult<TerminalSession> {
    let scope: String = row.try_get("scope")?;
    let started_by = match row.try_get::<Option<String>, _>("started_by")? {
        Some(id) => Some(PersonRef { id, email: row.try_get("person_email")?, name: row.try_get("person_name")? }),
        None => None,
    };
    let size = |column: &str| -> StoreResult<u16> { Ok(u16::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0)) };
    Ok(TerminalSession {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        scope: serde_json::from_str(&scope)
            .map_err(|e| StoreError::Corrupt(format!("terminal_sessions.scope: {e}")))?,
        instance_id: row.try_get("instance_id")?,
        started_by,
        started_at: from_millis(row.try_get("started_at")?),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(from_millis),
        exit_code: row.try_get::<Option<i64>, _>("exit_code")?.and_then(|c| i32::try_from(c).ok()),
        end_reason: row.try_get("end_reason")?,
        live: false,
        share_context: row.try_get("share_context")?,
        cols: size("cols")?,
        rows: size("rows")?,
        integrated: row.try_get("integrated")?,
        recording_bytes: u64::try_from(row.try_get::<i64, _>("recording_bytes")?).unwrap_or(0),
    })
}

#[async_trait]
impl TerminalStore for SqliteStore {
    async fn create_terminal_session(&self, session: NewTerminalSession<'_>) -> StoreResult<()> {
        let scope = serde_json::to_string(session.scope).expect("a scope serialises");
        sqlx::query(
            "insert into terminal_sessions (id, ticket_id, instance_id, scope, started_by, started_at, \
             share_context, cols, rows) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(session.id)
        .bind(session.ticket_id)
        .bind(session.instance_id)
        .bind(scope)
        .bind(session.started_by)
        .bind(to_millis(session.started_at))
        .bind(session.share_context)
        .bind(i64::from(session.cols))
        .bind(i64::from(session.rows))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_terminal_session(&self, id: &str, end: TerminalEnd<'_>) -> StoreResult<()> {
        sqlx::query(
            "update terminal_sessions set ended_at = ?, exit_code = ?, end_reason = ?, integrated = ?, \
             recording_bytes = ?, cols = ?, rows = ? where id = ? and ended_at is null",
        )
        .bind(to_millis(end.ended_at))
        .bind(end.exit_code)
        .bind(end.reason)
        .bind(end.integrated)
        .bind(i64::try_from(end.recording_bytes).unwrap_or(i64::MAX))
        .bind(i64::from(end.cols))
        .bind(i64::from(end.rows))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_terminal_share(&self, id: &str, share_context: bool) -> StoreResult<()> {
        sqlx::query("update terminal_sessions set share_context = ? where id = ?")
            .bind(share_context)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn terminal_sessions(&self, ticket_id: &str) -> StoreResult<Vec<TerminalSession>> {
        let rows = sqlx::query(
            "select s.*, u.email as person_email, u.name as person_name \
             from terminal_sessions s left join users u on u.id = s.started_by \
             where s.ticket_id = ? order by s.started_at, s.id",
        )
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    async fn end_orphaned_terminal_sessions(&self, reason: &str) -> StoreResult<u64> {
        let done = sqlx::query("update terminal_sessions set ended_at = ?, end_reason = ? where ended_at is null")
            .bind(to_millis(Utc::now()))
            .bind(reason)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

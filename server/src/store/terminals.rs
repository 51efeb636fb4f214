//! Persistence of terminal sessions (their output lives in recordings).

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsdesk_app::model::TerminalSession;

/// A session to record as started.
#[derive(Clone, Debug)]
pub struct NewTerminalSession<'a> {
    pub id: &'a str,
    pub ticket_id: &'a str,
    pub instance_id: &'a str,
    pub scope: &'a opsdesk_app::model::TerminalScope,
    pub started_by: &'a str,
    pub started_at: DateTime<Utc>,
    pub share_context: bool,
    pub cols: u16,
    pub rows: u16,
}

/// How a session ended.
#[derive(Clone, Debug)]
pub struct TerminalEnd<'a> {
    pub ended_at: DateTime<Utc>,
    pub exit_code: Option<i32>,
    pub reason: &'a str,
    pub integrated: bool,
    pub recording_bytes: u64,
    pub cols: u16,
    pub rows: u16,
}

#[async_trait]
pub trait TerminalStore {
    async fn create_terminal_session(&self, session: NewTerminalSession<'_>) -> StoreResult<()>;
    async fn end_terminal_session(&self, id: &str, end: TerminalEnd<'_>) -> StoreResult<()>;
    async fn set_terminal_share(&self, id: &str, share_context: bool) -> StoreResult<()>;
    /// A ticket's sessions, oldest first, as stored (`live` is false: the
    /// caller knows which are running).
    async fn terminal_sessions(&self, ticket_id: &str) -> StoreResult<Vec<TerminalSession>>;
    /// Sessions a previous server process left open: marked ended with `reason`.
    async fn end_orphaned_terminal_sessions(&self, reason: &str) -> StoreResult<u64>;
}

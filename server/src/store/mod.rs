//! Persistence. `Store` is the small interface the rest of the server uses;
//! each backend (today SQLite, PostgreSQL planned) implements it in its own
//! module with its own migrations folder, chosen by the database URL's scheme.

mod accounts;
mod agents;
mod projects;
mod settings;
mod sqlite;
mod terminals;
mod tickets;

use crate::live::Hub;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use opsdesk_app::error::AppError;
use opsdesk_app::model::Role;
use std::sync::Arc;

pub use accounts::{AccountStore, NewToken, NewUser, UserRecord};
pub use agents::{AgentRecord, AgentStore, NewAgentRecord};
pub use projects::{NewStageTicket, OpenedStage, PlanText, ProjectRecord, ProjectStore, StageOpening, StageTicket};
pub use settings::{OrgLlmSettings, SettingsStore};
pub use sqlite::SqliteStore;
pub use terminals::{NewTerminalSession, TerminalEnd, TerminalStore};
pub use tickets::*;

/// Errors from a backend, before they reach a boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the text says which value clashed.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value the code cannot read (e.g. an unknown role).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Shorthand for backend results.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => AppError::conflict(message),
            other => AppError::internal(other),
        }
    }
}

/// The persistence interface: one trait per area, one implementation per
/// backend. Every method that reads or changes org data takes the org id, so
/// no query can cross orgs by accident.
#[async_trait]
pub trait Store:
    AccountStore + AgentStore + ProjectStore + SettingsStore + TerminalStore + TicketStore + Send + Sync + 'static
{
    /// Applies this backend's pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// The shared handle to whichever backend is configured.
pub type SharedStore = Arc<dyn Store>;

/// Opens the backend named by `database_url`'s scheme and migrates it.
/// Committed timeline entries are handed to `hub` for live watchers.
pub async fn connect(database_url: &str, hub: Arc<Hub>) -> anyhow::Result<SharedStore> {
    let store: SharedStore = if database_url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(database_url, hub).await?)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        anyhow::bail!("the PostgreSQL backend is planned but not built yet; use a sqlite: URL");
    } else {
        anyhow::bail!("unsupported database URL `{database_url}`: expected sqlite:<path>");
    };
    store.migrate().await?;
    Ok(store)
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Timestamps are stored as Unix milliseconds.
pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub(crate) fn from_millis(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).single().unwrap_or_default()
}

/// Parses a stored role name.
pub(crate) fn parse_role(value: &str) -> StoreResult<Role> {
    value.parse().map_err(StoreError::Corrupt)
}

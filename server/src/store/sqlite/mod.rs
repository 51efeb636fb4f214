//! The embedded SQLite backend: one file under the data directory, WAL mode,
//! foreign keys on, a busy timeout so that concurrent writers wait instead of
//! failing.

mod accounts;
mod agents;
mod projects;
mod settings;
mod terminals;
mod tickets;

use super::{Store, StoreError, StoreResult};
use crate::live::Hub;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long a writer waits for the lock before giving up: long enough for any
/// burst of writes we expect, short enough to surface a stuck transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite serialises writers anyway; a few connections serve concurrent readers.
const MAX_CONNECTIONS: u32 = 8;
/// Page cache per connection, in KiB (SQLite's default is 2 MiB): searches
/// and duplicate lookups reread the same full-text pages.
const CACHE_KIB: i64 = 32 * 1024;
/// Reads go through a memory map of up to this many bytes instead of copying
/// pages out of the OS cache.
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Told about every committed timeline entry.
    hub: Arc<Hub>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite:data/opsdesk.db`.
    pub async fn connect(url: &str, hub: Arc<Hub>) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", (-CACHE_KIB).to_string())
            .pragma("mmap_size", MMAP_BYTES.to_string());
        let pool = SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        Ok(SqliteStore { pool, hub })
    }
}

/// Maps a unique-constraint failure to a readable conflict.
pub(super) fn conflict_on_unique(error: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Database(error),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }
}

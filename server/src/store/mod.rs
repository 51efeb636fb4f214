//! Persistence. `Store` is the small interface the rest of the server uses;
//! each backend (today SQLite, PostgreSQL planned) implements it in its own
//! module with its own migrations folder, chosen by the database URL's scheme.

mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use opsdesk_app::error::AppError;
use opsdesk_app::model::{ApiTokenView, Me, OrgView, Role, UserView};
use std::sync::Arc;

pub use sqlite::SqliteStore;

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

/// A user with what only the server may see.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: UserView,
    pub org_id: String,
    pub password_hash: Option<String>,
}

/// What creating a user needs.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    pub org_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// What creating an API token needs; `token_hash` is the secret's SHA-256.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
}

/// The persistence interface. Every method that reads or changes org data
/// takes the org id, so no query can cross orgs by accident.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies this backend's pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// The org with this slug, if any.
    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<OrgView>>;
    /// The org with this slug, created with `name` if missing.
    async fn ensure_org(&self, slug: &str, name: &str) -> StoreResult<OrgView>;
    /// How many users exist across all orgs (zero on a fresh install).
    async fn count_users(&self) -> StoreResult<i64>;

    /// The user with this (lowercased) email, in whatever org.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// Adds a user; a taken email is a `Conflict`.
    async fn create_user(&self, user: NewUser<'_>) -> StoreResult<UserRecord>;
    /// Sets a user's role and, when given, password hash.
    async fn update_user(
        &self,
        org_id: &str,
        user_id: &str,
        role: Role,
        password_hash: Option<&str>,
    ) -> StoreResult<()>;
    /// The users of an org, by email.
    async fn list_users(&self, org_id: &str) -> StoreResult<Vec<UserView>>;

    /// Records a browser session.
    async fn create_session(&self, user_id: &str, token_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<()>;
    /// The caller behind an unexpired session.
    async fn session_caller(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Me>>;
    /// Ends a session (no error if it is already gone).
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Records an API token.
    async fn create_api_token(&self, token: NewToken<'_>) -> StoreResult<ApiTokenView>;
    /// The caller behind an unrevoked token; marks it used.
    async fn token_caller(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Me>>;
    /// An org's tokens, newest first; only `user_id`'s when given.
    async fn list_api_tokens(&self, org_id: &str, user_id: Option<&str>) -> StoreResult<Vec<ApiTokenView>>;
    /// Revokes a token of the org (and of `user_id` when given); false when
    /// there is no such unrevoked token.
    async fn revoke_api_token(
        &self,
        org_id: &str,
        token_id: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The shared handle to whichever backend is configured.
pub type SharedStore = Arc<dyn Store>;

/// Opens the backend named by `database_url`'s scheme and migrates it.
pub async fn connect(database_url: &str) -> anyhow::Result<SharedStore> {
    let store: SharedStore = if database_url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(database_url).await?)
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

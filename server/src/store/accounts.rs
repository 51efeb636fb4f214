//! Persistence of orgs, people, browser sessions and API tokens.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsdesk_app::model::{ApiTokenView, Me, OrgView, Role, UserView};

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

/// Orgs, people, sessions and API tokens.
#[async_trait]
pub trait AccountStore {
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

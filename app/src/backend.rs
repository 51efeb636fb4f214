//! What the server functions need from the server (`ssr` only). The `server`
//! crate implements this trait on its state and provides it as Leptos
//! context; `app` cannot depend on `server`, so this is the seam between them.

use crate::error::AppResult;
use crate::model::{ApiTokenView, Me, NewApiToken, Role, UserView};
use std::sync::Arc;

/// The server side of every server function, always called with the
/// authenticated caller the request carried.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Checks a password and opens a browser session; answers the
    /// `Set-Cookie` header value that carries it.
    async fn sign_in(&self, email: &str, password: &str) -> AppResult<http::HeaderValue>;

    /// Ends the session carried by `headers` (if any); answers the
    /// `Set-Cookie` header value that clears the cookie.
    async fn sign_out(&self, headers: &http::HeaderMap) -> AppResult<http::HeaderValue>;

    /// The people in the caller's org.
    async fn list_users(&self, me: &Me) -> AppResult<Vec<UserView>>;

    /// Adds a person who signs in with a password (admins only).
    async fn create_user(&self, me: &Me, email: &str, name: &str, role: Role, password: &str) -> AppResult<UserView>;

    /// API tokens of the caller's org (admins) or the caller's own (others).
    async fn list_tokens(&self, me: &Me) -> AppResult<Vec<ApiTokenView>>;

    /// Creates an API token acting as the caller.
    async fn create_token(&self, me: &Me, name: &str) -> AppResult<NewApiToken>;

    /// Revokes a token: the caller's own, or any in the org for admins.
    async fn revoke_token(&self, me: &Me, token_id: &str) -> AppResult<()>;
}

/// The shared handle provided as Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

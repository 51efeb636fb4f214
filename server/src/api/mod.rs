//! The REST API under `/api`: token or session authenticated, JSON in and
//! out, every failure in the one error format. Unknown routes and methods
//! answer in that format too.

mod agents;
mod conversation;
mod json;
mod live;
mod me;
pub mod openapi;
mod projects;
mod terminal;
pub mod terminal_socket;
pub mod tickets;

pub use json::{from_value, ApiJson};

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use opsdesk_app::error::{AppError, ErrorCode};

/// The largest JSON body any endpoint accepts; uploads have their own limit.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The `/api` router (to be nested at `/api`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me::me))
        .route("/v1/users", get(me::list_users).post(me::create_user))
        .route("/v1/tokens", get(me::list_tokens).post(me::create_token))
        .route("/v1/tokens/{token_id}", delete(me::revoke_token))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/org/instances", get(me::list_instances).post(me::create_instance))
        .route("/v1/org/agents", get(agents::list).post(agents::create))
        .route(
            "/v1/org/llm",
            get(agents::llm_settings).put(agents::set_llm_settings).delete(agents::clear_llm_settings),
        )
        .nest("/v1/org/support/tickets", tickets::router())
        .nest("/v1/org/projects", projects::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
}

/// Built-in agents over the agent protocol, mounted at `/agents`.
pub fn builtin_agents_router() -> Router<AppState> {
    Router::new()
        .route("/{slug}/api/sendMessage", post(agents::send_message))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
}

/// The same ticket and project routes for browser sessions, mounted at `/org`.
pub fn session_router() -> Router<AppState> {
    Router::new()
        .nest("/support/tickets", tickets::router())
        .nest("/projects", projects::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
}

pub(crate) async fn unknown_route(uri: http::Uri) -> AppError {
    AppError::new(ErrorCode::NotFound, format!("no API route {}", uri.path()))
}

pub(crate) async fn method_not_allowed(method: http::Method, uri: http::Uri) -> AppError {
    AppError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {}", uri.path()))
}

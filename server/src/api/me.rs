//! Org endpoints: who am I, the org's people, API tokens, instances.

use super::ApiJson;
use crate::accounts::{self, UserInput};
use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use opsdesk_app::error::AppResult;
use opsdesk_app::model::{ApiTokenView, InstanceView, Me, NewApiToken, NewInstance, Permission, Role, UserView};
use serde::Deserialize;

/// `GET /api/v1/me`: `{user, org, role}` of the caller.
pub async fn me(Caller(me): Caller) -> Json<Me> {
    Json(me)
}

/// `GET /api/v1/users`: the people in the caller's org.
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<UserView>>> {
    Ok(Json(accounts::list_users(&state, &caller.0).await?))
}

/// Body of `POST /api/v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    #[serde(default)]
    name: String,
    role: Role,
    password: Option<String>,
}

/// `POST /api/v1/users` (admins): adds a person; 201 with the user.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUser>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    let me = caller.require(Permission::Administer)?;
    let input = UserInput { email: &body.email, name: &body.name, role: body.role, password: body.password.as_deref() };
    Ok((StatusCode::CREATED, Json(accounts::create_user(&state, me, input).await?)))
}

/// `GET /api/v1/tokens`: the org's tokens (admins) or the caller's own.
pub async fn list_tokens(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<Vec<ApiTokenView>>> {
    Ok(Json(accounts::list_tokens(state.store.as_ref(), &me).await?))
}

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[serde(default)]
    name: String,
}

/// `POST /api/v1/tokens`: a new token acting as the caller; 201 with its
/// secret, shown this once.
pub async fn create_token(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> AppResult<(StatusCode, Json<NewApiToken>)> {
    Ok((StatusCode::CREATED, Json(accounts::create_token(state.store.as_ref(), &me, &body.name).await?)))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token; 204.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(token_id): Path<String>,
) -> AppResult<StatusCode> {
    accounts::revoke_token(state.store.as_ref(), &me, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/org/instances`: the org's instances (context key names only).
pub async fn list_instances(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<Vec<InstanceView>>> {
    Ok(Json(crate::instances::list(&state, &me).await?))
}

/// `POST /api/v1/org/instances` (admins): `{name, summary?, platform_context?, terminal?}`; 201.
pub async fn create_instance(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<NewInstance>,
) -> AppResult<(StatusCode, Json<InstanceView>)> {
    Ok((StatusCode::CREATED, Json(crate::instances::create(&state, &me, body).await?)))
}

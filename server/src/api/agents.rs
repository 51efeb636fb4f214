//! The agent registry (`/api/v1/org/agents`) and the built-in agents served
//! over the agent protocol (`/agents/{slug}/api/sendMessage`).

use super::ApiJson;
use crate::agents::{self, llm, runbook};
use crate::auth::Caller;
use crate::llm::settings;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    AgentKind, AgentView, LlmSettingsView, NewAgent, Permission, SendMessageRequest, SendMessageResponse,
    UpdateLlmSettings,
};

/// `GET /api/v1/org/agents`.
pub async fn list(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<Vec<AgentView>>> {
    Ok(Json(agents::list(&state, &me).await?))
}

/// `POST /api/v1/org/agents` (admins): registers a custom agent; 201.
pub async fn create(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<NewAgent>,
) -> AppResult<(StatusCode, Json<AgentView>)> {
    Ok((StatusCode::CREATED, Json(agents::create(&state, &me, body).await?)))
}

/// `POST /agents/{slug}/api/sendMessage`: a built-in agent over the protocol.
/// It runs approved commands on the ticket's instance, so callers need the
/// operator role; `thread_id` must name a ticket of their org.
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(request): ApiJson<SendMessageRequest>,
) -> AppResult<Json<SendMessageResponse>> {
    let me = caller.require(Permission::Operate)?;
    let agent = state.store.agent(&me.org.id, &slug).await?.filter(|a| a.view.kind == AgentKind::Builtin);
    let Some(agent) = agent else { return Err(AppError::not_found("built-in agent")) };
    match agent.view.backend.as_deref() {
        Some("runbook") if slug == runbook::SLUG => Ok(Json(runbook::answer(&state, &me.org.id, request).await?)),
        Some(llm::BACKEND) => Ok(Json(llm::answer(&state, &me.org.id, &agent, request).await?)),
        _ => Err(AppError::not_found("built-in agent")),
    }
}

/// `GET /api/v1/org/llm`: the model endpoint in force (never its key).
pub async fn llm_settings(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<LlmSettingsView>> {
    Ok(Json(settings::view(&state, &me).await?))
}

/// `PUT /api/v1/org/llm` (admins): the org's own model endpoint.
pub async fn set_llm_settings(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<UpdateLlmSettings>,
) -> AppResult<Json<LlmSettingsView>> {
    Ok(Json(settings::update(&state, &me, body).await?))
}

/// `DELETE /api/v1/org/llm` (admins): back to the server's endpoint.
pub async fn clear_llm_settings(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<LlmSettingsView>> {
    Ok(Json(settings::clear(&state, &me).await?))
}

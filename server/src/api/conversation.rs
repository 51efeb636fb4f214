//! The conversation endpoints under `.../tickets/{ticket_id}`: messages,
//! command decisions, retry, assigned agents, the long-poll of events, the
//! canvas directory's files, and the live websocket.

use super::ApiJson;
use crate::auth::Caller;
use crate::conversation;
use crate::state::AppState;
use crate::tickets;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    AssignAgents, CanvasFile, CommandAction, DecideCommand, EventsPage, MessageAccepted, PostMessage, TicketDetail,
    TimelineEntry,
};
use serde::Deserialize;

pub async fn post_message(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> AppResult<(StatusCode, Json<MessageAccepted>)> {
    Ok((StatusCode::ACCEPTED, Json(conversation::post_message(&state, &me, &ticket_id, body).await?)))
}

pub async fn retry(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<(StatusCode, Json<MessageAccepted>)> {
    Ok((StatusCode::ACCEPTED, Json(conversation::retry(&state, &me, &ticket_id).await?)))
}

/// 200 with the decision; 202 for `execute`, whose output follows on the timeline.
pub async fn decide(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, cmd_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecideCommand>,
) -> AppResult<(StatusCode, Json<TimelineEntry>)> {
    let status = if body.action == CommandAction::Execute { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(conversation::decide(&state, &me, &ticket_id, &cmd_id, body).await?)))
}

pub async fn assign(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    ApiJson(body): ApiJson<AssignAgents>,
) -> AppResult<Json<TicketDetail>> {
    Ok(Json(conversation::assign(&state, &me, &ticket_id, body).await?))
}

/// Query of the events long-poll.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    wait: Option<String>,
}

pub async fn events(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    Query(query): Query<EventsQuery>,
) -> AppResult<Json<EventsPage>> {
    let after = match query.after.as_deref() {
        None | Some("") => 0,
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|a| *a >= 0)
            .ok_or_else(|| AppError::invalid_field("after", "after must be a seq (a whole number, 0 or more)"))?,
    };
    let wait = match query.wait.as_deref() {
        None | Some("") => 0,
        Some(value) => value
            .parse::<u64>()
            .ok()
            .filter(|w| *w <= 60)
            .ok_or_else(|| AppError::invalid_field("wait", "wait must be 0 to 60 seconds"))?,
    };
    Ok(Json(conversation::events(&state, &me, &ticket_id, after, wait).await?))
}

pub async fn files(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<Json<Vec<CanvasFile>>> {
    Ok(Json(conversation::files(&state, &me, &ticket_id).await?))
}

/// Query of a file download.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    #[serde(default)]
    download: Option<String>,
}

/// A canvas file: text is shown as plain text (never as HTML); anything
/// else, or `?download=1`, is a download.
pub async fn file(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, path)): Path<(String, String)>,
    Query(query): Query<FileQuery>,
) -> AppResult<Response> {
    let bytes = conversation::file(&state, &me, &ticket_id, &path).await?;
    let text = std::str::from_utf8(&bytes).is_ok();
    let download = query.download.is_some_and(|d| d != "0") || !text;
    let name = path.rsplit('/').next().unwrap_or("file");
    let disposition = if download { crate::attachments::content_disposition(name) } else { "inline".to_owned() };
    let content_type = if text { "text/plain; charset=utf-8" } else { "application/octet-stream" };
    super::tickets::file_response(content_type, &disposition, bytes)
}

/// Checks the ticket exists in the caller's org before a websocket upgrade.
pub async fn live(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> AppResult<Response> {
    crate::auth::require(&me, opsdesk_app::model::Permission::Read)?;
    let ticket = tickets::find(&state, &me, &ticket_id).await?;
    Ok(super::live::upgrade(state, me, ticket.id, upgrade))
}

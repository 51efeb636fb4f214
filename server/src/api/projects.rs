//! The projects REST API, mounted twice like the tickets one:
//! `/api/v1/org/projects` for tokens and `/org/projects` for browser
//! sessions. Handlers parse and answer; `crate::projects` decides.

use super::{from_value, ApiJson};
use crate::auth::Caller;
use crate::projects;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    ApproveProject, DraftPlan, NewProject, PlanDraft, PlanTemplate, Project, ProjectSummary, UpdateProject,
};

/// The project routes, relative to where they are mounted.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/templates", get(templates))
        .route("/draft", post(draft))
        .route("/{project_id}", get(show).patch(update))
        .route("/{project_id}/approve", post(approve))
        .route("/{project_id}/stages/{stage}/start", post(start_stage))
}

async fn list(State(state): State<AppState>, Caller(me): Caller) -> AppResult<Json<Vec<ProjectSummary>>> {
    Ok(Json(projects::list(&state, &me).await?))
}

async fn create(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<NewProject>,
) -> AppResult<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(projects::create(&state, &me, body).await?)))
}

async fn templates(Caller(me): Caller) -> AppResult<Json<Vec<PlanTemplate>>> {
    Ok(Json(projects::templates(&me)?))
}

async fn draft(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<DraftPlan>,
) -> AppResult<Json<PlanDraft>> {
    Ok(Json(projects::draft(&state, &me, body).await?))
}

async fn show(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(project_id): Path<String>,
) -> AppResult<Json<Project>> {
    Ok(Json(projects::get(&state, &me, &project_id).await?))
}

async fn update(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(project_id): Path<String>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> AppResult<Json<Project>> {
    Ok(Json(projects::update(&state, &me, &project_id, body).await?))
}

/// The body is optional: an empty request approves the current revision.
async fn approve(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(project_id): Path<String>,
    body: Bytes,
) -> AppResult<Json<Project>> {
    let body: ApproveProject = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveProject::default()
    } else {
        let value = serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("the body is not valid JSON: {e}")))?;
        from_value(value)?
    };
    Ok(Json(projects::approve(&state, &me, &project_id, body).await?))
}

async fn start_stage(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((project_id, stage)): Path<(String, String)>,
) -> AppResult<Json<Project>> {
    // Anything but a stage number names no stage.
    let stage: u32 = stage.parse().map_err(|_| AppError::not_found("stage"))?;
    Ok(Json(projects::start_stage(&state, &me, &project_id, stage).await?))
}

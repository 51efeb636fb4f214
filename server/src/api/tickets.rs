//! The tickets REST API of `seeds/support-tickets.txt`, mounted twice:
//! `/api/v1/org/support/tickets` for tokens and `/org/support/tickets` for
//! browser sessions. Handlers parse and answer; `crate::tickets` decides.

use super::{conversation, terminal, ApiJson};
use crate::attachments;
use crate::auth::{AuthMethod, Caller};
use crate::state::AppState;
use crate::tickets;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Extension, Json, Router};
use opsdesk_app::error::{AppError, AppResult, ErrorCode};
use opsdesk_app::model::{
    Attachment, CloseTicket, CreateTicket, FollowTicket, NewComment, Review, ReviewRequest, Source, TicketDetail,
    TicketFilter, TicketPage, TimelineEntry, UpdateTicket,
};

/// The ticket routes, relative to where they are mounted.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/review", post(review))
        .route("/{ticket_id}", get(show).patch(update).delete(remove))
        .route("/{ticket_id}/comments", post(comment))
        .route("/{ticket_id}/close", post(close))
        .route("/{ticket_id}/follow", post(follow))
        // Uploads enforce their own, configurable limit while streaming.
        .route("/{ticket_id}/attachments", post(upload).layer(DefaultBodyLimit::disable()))
        .route("/{ticket_id}/attachments/{attachment_id}", get(download))
        .route("/{ticket_id}/messages", post(conversation::post_message))
        .route("/{ticket_id}/retry", post(conversation::retry))
        .route("/{ticket_id}/commands/{cmd_id}", post(conversation::decide))
        .route("/{ticket_id}/agents", put(conversation::assign))
        .route("/{ticket_id}/events", get(conversation::events))
        .route("/{ticket_id}/files", get(conversation::files))
        .route("/{ticket_id}/files/{*path}", get(conversation::file))
        .route("/{ticket_id}/live", get(conversation::live))
        .route("/{ticket_id}/terminals", get(terminal::list).post(terminal::open))
        .route("/{ticket_id}/terminals/scopes", get(terminal::scopes))
        .route("/{ticket_id}/terminals/{session_id}", patch(terminal::update).delete(terminal::end))
        .route("/{ticket_id}/terminals/{session_id}/recording", get(terminal::recording))
        .route("/{ticket_id}/terminals/{session_id}/live", get(terminal::live))
}

async fn review(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> AppResult<Json<Review>> {
    Ok(Json(tickets::review(&state, &me, body).await?))
}

async fn create(
    State(state): State<AppState>,
    Caller(me): Caller,
    method: Option<Extension<AuthMethod>>,
    ApiJson(body): ApiJson<CreateTicket>,
) -> AppResult<(StatusCode, Json<TicketDetail>)> {
    let source = match method.map(|m| m.0) {
        Some(AuthMethod::Session) => Source::Portal,
        _ => Source::Api,
    };
    Ok((StatusCode::CREATED, Json(tickets::create(&state, &me, body, source).await?)))
}

/// Reads the list's query: `status` may repeat (or hold a comma list).
fn parse_filter(query: Option<&str>) -> AppResult<TicketFilter> {
    let mut filter = TicketFilter::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "status" => {
                for status in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    filter.status.push(status.parse().map_err(|e: String| AppError::invalid_field("status", e))?);
                }
            }
            "cluster_id" => filter.cluster_id = Some(value.into_owned()).filter(|v| !v.is_empty()),
            "q" => filter.q = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            "page" => {
                filter.page = Some(
                    value.parse().map_err(|_| AppError::invalid_field("page", "page must be a positive integer"))?,
                )
            }
            "page_size" => {
                filter.page_size = Some(
                    value
                        .parse()
                        .map_err(|_| AppError::invalid_field("page_size", "page_size must be a positive integer"))?,
                )
            }
            _ => {}
        }
    }
    Ok(filter)
}

async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
    RawQuery(query): RawQuery,
) -> AppResult<Json<TicketPage>> {
    let filter = parse_filter(query.as_deref())?;
    Ok(Json(tickets::list(&state, &me, filter).await?))
}

async fn show(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<Json<TicketDetail>> {
    Ok(Json(tickets::get(&state, &me, &ticket_id).await?))
}

async fn update(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> AppResult<Json<TicketDetail>> {
    Ok(Json(tickets::update(&state, &me, &ticket_id, body).await?))
}

async fn remove(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<StatusCode> {
    tickets::delete(&state, &me, &ticket_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn comment(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> AppResult<(StatusCode, Json<TimelineEntry>)> {
    Ok((StatusCode::CREATED, Json(tickets::comment(&state, &me, &ticket_id, body).await?)))
}

/// An empty body is as good as `{}` for actions whose body is optional.
fn optional_body<T: serde::de::DeserializeOwned + Default>(
    body: Result<axum::body::Bytes, BytesRejection>,
) -> AppResult<T> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(ErrorCode::PayloadTooLarge, "the body is larger than this endpoint accepts")
        } else {
            AppError::bad_request(format!("the body could not be read: {}", rejection.body_text()))
        }
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value = serde_json::from_slice(&body)
        .map_err(|e| AppError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?;
    super::from_value(value)
}

async fn close(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> AppResult<Json<TicketDetail>> {
    let body: CloseTicket = optional_body(body)?;
    Ok(Json(tickets::close(&state, &me, &ticket_id, body).await?))
}

async fn follow(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> AppResult<Json<TicketDetail>> {
    let body: FollowTicket = optional_body(body)?;
    Ok(Json(tickets::follow(&state, &me, &ticket_id, body).await?))
}

async fn upload(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, Json<Attachment>)> {
    let mut multipart = multipart.map_err(|e| {
        AppError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send the file as multipart/form-data in a `file` field ({e})"),
        )
    })?;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| AppError::bad_request(format!("the multipart body could not be read: {e}")))?
            .ok_or_else(|| AppError::invalid_field("file", "a `file` field is required"))?;
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("attachment").to_owned();
        let chunks = Box::pin(futures_util::stream::unfold(field, |mut field| async move {
            field.chunk().await.transpose().map(|chunk| (chunk, field))
        }));
        let attachment = tickets::attach(&state, &me, &ticket_id, &filename, chunks).await?;
        return Ok((StatusCode::CREATED, Json(attachment)));
    }
}

async fn download(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, attachment_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let (attachment, path) = tickets::attachment(&state, &me, &ticket_id, &attachment_id).await?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
    file_response(&attachment.content_type, &attachments::content_disposition(&attachment.filename), bytes)
}

/// A stored file's answer (attachments, canvas files): never rendered as a
/// page, whatever its bytes say.
pub(super) fn file_response(content_type: &str, disposition: &str, bytes: Vec<u8>) -> AppResult<Response> {
    let content_type = HeaderValue::from_str(content_type).map_err(AppError::internal)?;
    let disposition = HeaderValue::from_str(disposition).map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            // No sniffing into HTML, and a sandbox if a browser tries.
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        Body::from(bytes),
    )
        .into_response())
}

//! A JSON extractor whose every rejection speaks the API's error format:
//! wrong content type (415), oversized body (413), malformed JSON (400),
//! JSON of the wrong shape (422, naming the field). Bodies must be JSON
//! objects: serde would otherwise read a struct from an array.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use opsdesk_app::error::{AppError, ErrorCode};
use serde::de::DeserializeOwned;

/// `axum::Json`, with rejections in the API's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await.map_err(json_rejection)?;
        from_value(value).map(ApiJson)
    }
}

/// Reads a request type from a JSON value that must be an object; a 422
/// names the field that does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::new(ErrorCode::ValidationFailed, "the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let at_root = path == "." || path.is_empty();
        // A missing field is reported at its object: name the field itself.
        let missing = message.starts_with("missing field `").then(|| named_field(&message)).flatten();
        let field = match missing {
            Some(name) if !at_root => Some(format!("{path}.{name}")),
            _ if at_root => field_of(&message),
            _ => Some(path),
        };
        match field {
            Some(field) => AppError::invalid_field(&field, message),
            None => AppError::new(ErrorCode::ValidationFailed, message),
        }
    })
}

/// Maps axum's JSON rejections onto the error format.
pub fn json_rejection(rejection: JsonRejection) -> AppError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            AppError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {}", strip_prefix(&detail)))
        }
        JsonRejection::JsonDataError(_) => {
            let message = strip_prefix(&detail);
            match field_of(message) {
                Some(field) => AppError::invalid_field(&field, message.to_owned()),
                None => AppError::new(ErrorCode::ValidationFailed, message.to_owned()),
            }
        }
        JsonRejection::BytesRejection(_) if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::new(ErrorCode::PayloadTooLarge, "the body is larger than this endpoint accepts")
        }
        _ => AppError::bad_request(format!("the body could not be read: {detail}")),
    }
}

/// axum prefixes serde's message with its own sentence; keep serde's part.
fn strip_prefix(detail: &str) -> &str {
    detail.split_once("type: ").or_else(|| detail.split_once("JSON: ")).map_or(detail, |(_, rest)| rest)
}

/// The field a serde message is about: "missing field `x`", "unknown field
/// `x`", or a `path.to.field: ...` prefix from serde_path_to_error.
fn field_of(message: &str) -> Option<String> {
    if let Some(name) = named_field(message) {
        return Some(name);
    }
    let (path, _) = message.split_once(": ")?;
    let looks_like_path = !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || "_.[]".contains(c));
    looks_like_path.then(|| path.to_owned())
}

/// The field of a "missing field `x`" or "unknown field `x`" message.
fn named_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|marker| message.split_once(marker))
        .and_then(|(_, rest)| rest.split('`').next().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::{field_of, from_value};
    use serde_json::json;

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(field_of("missing field `email` at line 1 column 2").as_deref(), Some("email"));
        assert_eq!(field_of("role: unknown variant `root`, expected one of").as_deref(), Some("role"));
        assert_eq!(field_of("invalid type: integer `1`, expected a string"), None);
    }

    #[test]
    fn nested_missing_and_unknown_fields_are_named_with_their_path() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Task {
            title: String,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Plan {
            tasks: Vec<Task>,
        }
        let fields = |value| from_value::<Plan>(value).unwrap_err().fields.into_keys().collect::<Vec<_>>();
        assert_eq!(fields(json!({ "tasks": [{ "title": "a" }, {}] })), ["tasks[1].title"]);
        assert_eq!(fields(json!({ "tasks": [{ "title": "a", "titel": "b" }] })), ["tasks[0].titel"]);
        assert_eq!(fields(json!({ "tasks": [{ "title": 1 }] })), ["tasks[0].title"]);
        assert_eq!(fields(json!({})), ["tasks"]);
    }
}

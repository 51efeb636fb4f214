//! The one error type at every boundary the outside sees: the REST API, the
//! server functions and the UI. Serialised as
//! `{"error": {"code": "...", "message": "...", "fields": {...}}}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stable, machine-readable error code; each maps to one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::InvalidJson => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ValidationFailed => 422,
            ErrorCode::Internal => 500,
        }
    }
}

/// An error a person or a script can act on. Internal causes are logged on the
/// server and never carried here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages for validation errors, keyed by the field's name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Structured extras for some codes (e.g. the allowed next statuses of a 409).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Shorthand for results at the API boundary.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error with a code and a message for the caller.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into(), fields: BTreeMap::new(), details: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// Not found, or not visible to the caller's org: the two are never told apart.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// A 422 naming one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::new(ErrorCode::ValidationFailed, format!("{field}: {message}"));
        error.fields.insert(field.to_owned(), message);
        error
    }

    /// A 422 naming several fields; `None` when the list is empty.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Option<Self> {
        if fields.is_empty() {
            return None;
        }
        let summary =
            fields.iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>().join("; ");
        Some(AppError { code: ErrorCode::ValidationFailed, message: summary, fields, details: None })
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Logs `cause` on the server and answers a generic 500 that leaks nothing.
    #[track_caller]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        #[cfg(feature = "ssr")]
        tracing::error!(location = %std::panic::Location::caller(), "internal error: {cause}");
        #[cfg(not(feature = "ssr"))]
        let _ = cause;
        Self::new(ErrorCode::Internal, "internal error; the server log has the details")
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Request(message) | E::Response(message) => {
                AppError::new(ErrorCode::Internal, format!("could not reach the server: {message}"))
            }
            E::Args(message) | E::Deserialization(message) | E::MissingArg(message) => AppError::bad_request(message),
            E::Registration(message) | E::UnsupportedRequestMethod(message) => AppError::not_found(&message),
            other => AppError::internal(other),
        }
    }
}

/// Lets `?` turn framework errors (e.g. from `leptos_axum::extract`) into ours.
impl From<leptos::server_fn::error::ServerFnErrorErr> for AppError {
    fn from(error: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        <AppError as leptos::server_fn::error::FromServerFnError>::from_server_fn_error(error)
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(serde_json::json!({ "error": self }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_the_documented_shape() {
        let error = AppError::invalid_field("email", "email is required");
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "validation_failed");
        assert_eq!(json["fields"]["email"], "email is required");
        assert_eq!(error.status(), 422);
        assert!(AppError::invalid_fields(BTreeMap::new()).is_none());
    }
}

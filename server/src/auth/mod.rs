//! Who is calling, and may they. One middleware, [`authenticate`], resolves
//! the caller once per request (API token, else session cookie) and enforces
//! the Origin rule for browser requests; handlers take [`Caller`].

pub mod secrets;

use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{Me, Permission};

/// The browser session cookie's name.
pub const SESSION_COOKIE: &str = "opsdesk_session";
/// How long a browser session lasts after sign-in.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::days(14);

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    Token,
}

/// Resolves the caller and inserts `Me` and `AuthMethod` into the request's
/// extensions; refuses bad tokens and cross-origin browser writes.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Static assets need no identity: skip the database round trip.
    if request.uri().path().starts_with("/pkg/") {
        return next.run(request).await;
    }
    let method = match resolve_caller(&state, request.headers()).await {
        Ok(Some((me, method))) => {
            request.extensions_mut().insert(me);
            request.extensions_mut().insert(method);
            Some(method)
        }
        Ok(None) => None,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = check_origin(&request, method, state.config.public_origin.as_deref()) {
        return error.into_response();
    }
    next.run(request).await
}

/// The caller behind the request's bearer token or session cookie, if any.
/// A bearer token that does not check out is an error, never anonymous.
async fn resolve_caller(state: &AppState, headers: &HeaderMap) -> AppResult<Option<(Me, AuthMethod)>> {
    let now = Utc::now();
    if let Some(authorization) = headers.get(AUTHORIZATION) {
        let secret = authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| AppError::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        return match state.store.token_caller(&secrets::secret_hash(secret), now).await? {
            Some(me) => Ok(Some((me, AuthMethod::Token))),
            None => Err(AppError::unauthenticated("the API token is unknown or has been revoked")),
        };
    }
    let Some(secret) = session_secret(headers) else {
        return Ok(None);
    };
    // An unknown or expired cookie is simply anonymous: pages send the person to sign in.
    Ok(state.store.session_caller(&secrets::secret_hash(secret), now).await?.map(|me| (me, AuthMethod::Session)))
}

/// Browser requests that change state, and websocket upgrades, must come from
/// this server's own pages: their `Origin` must name this host. A request
/// authenticated by cookie must carry an `Origin` at all (browsers always do).
fn check_origin(request: &Request, method: Option<AuthMethod>, public_origin: Option<&str>) -> AppResult<()> {
    let headers = request.headers();
    let is_upgrade = headers.get(UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let is_write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !is_upgrade && !is_write {
        return Ok(());
    }
    match headers.get(ORIGIN) {
        Some(origin) => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| request.uri().authority().map(|a| a.as_str()));
            if origin_is_allowed(origin, host, public_origin) {
                Ok(())
            } else {
                Err(AppError::forbidden("cross-origin request refused: its Origin is not this server"))
            }
        }
        None if method == Some(AuthMethod::Session) => {
            Err(AppError::forbidden("a browser request that changes state must carry an Origin header"))
        }
        None => Ok(()),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is this server: the request's own
/// host, or the configured public origin behind a proxy.
fn origin_is_allowed(origin: &HeaderValue, host: Option<&str>, public_origin: Option<&str>) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if public_origin.is_some_and(|public| public.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

/// The session secret from the request's `Cookie` headers.
pub fn session_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that carries a new session.
pub fn session_cookie(secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_TTL.num_seconds()
    );
    HeaderValue::from_str(&value).expect("hex secrets make a valid header value")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .expect("static header value")
}

/// The authenticated caller, for handlers that need one (401 otherwise).
#[derive(Clone, Debug)]
pub struct Caller(pub Me);

impl Caller {
    /// The caller, if their role grants `permission` (403 otherwise).
    pub fn require(&self, permission: Permission) -> AppResult<&Me> {
        require(&self.0, permission)?;
        Ok(&self.0)
    }
}

/// Checks that `me`'s role grants `permission`.
pub fn require(me: &Me, permission: Permission) -> AppResult<()> {
    if me.can(permission) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("your role ({}) does not allow this", me.role)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Me>().cloned().map(Caller).ok_or_else(|| {
            AppError::unauthenticated("sign in, or send an API token as `Authorization: Bearer <token>`")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_name_this_host() {
        let origin = HeaderValue::from_static("http://127.0.0.1:3000");
        assert!(origin_is_allowed(&origin, Some("127.0.0.1:3000"), None));
        assert!(!origin_is_allowed(&origin, Some("127.0.0.1:4000"), None));
        assert!(!origin_is_allowed(&HeaderValue::from_static("null"), Some("127.0.0.1:3000"), None));
        let proxied = HeaderValue::from_static("https://desk.example.com");
        assert!(origin_is_allowed(&proxied, Some("127.0.0.1:3000"), Some("https://desk.example.com/")));
        assert!(!origin_is_allowed(&proxied, Some("127.0.0.1:3000"), None));
    }

    #[test]
    fn session_secret_is_read_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark; opsdesk_session=abc123; x=y"));
        assert_eq!(session_secret(&headers), Some("abc123"));
        headers.insert(COOKIE, HeaderValue::from_static("opsdesk_session="));
        assert_eq!(session_secret(&headers), None);
    }
}

//! People and credentials: sign-in and sign-out, users, API tokens. The web
//! pages, the REST API and the admin CLI all come through here, so each rule
//! (validation, roles, hashing) lives in one place.

use crate::auth::{self, secrets};
use crate::state::AppState;
use crate::store::{NewToken, NewUser, Store};
use chrono::Utc;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    validate_email, validate_password, ApiTokenView, Me, NewApiToken, Permission, Role, UserView,
};
use std::collections::BTreeMap;

/// The longest display name or token name accepted.
const MAX_NAME_LEN: usize = 100;

/// Lowercases and trims an email so that lookups match however it was typed.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Hashes off the async runtime: argon2 is deliberately slow.
async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

/// Checks a password and opens a session; answers the session cookie.
pub async fn sign_in(state: &AppState, email: &str, password: &str) -> AppResult<(Me, http::HeaderValue)> {
    let record = state.store.user_by_email(&normalize_email(email)).await?;
    let stored = record.as_ref().and_then(|r| r.password_hash.clone());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || secrets::verify_password(stored.as_deref(), &password))
        .await
        .map_err(AppError::internal)?;
    let Some(record) = record.filter(|_| matches) else {
        return Err(AppError::unauthenticated("wrong email or password"));
    };
    let (secret, hash) = secrets::new_session_secret();
    state.store.create_session(&record.user.id, &hash, Utc::now() + auth::SESSION_TTL).await?;
    let me = state
        .store
        .session_caller(&hash, Utc::now())
        .await?
        .ok_or_else(|| AppError::internal("a session just created could not be read back"))?;
    tracing::info!(user = %me.user.email, org = %me.org.slug, "signed in");
    Ok((me, auth::session_cookie(&secret, state.config.secure_cookies)))
}

/// Ends the session in `headers`, if any; answers the cookie that clears it.
pub async fn sign_out(state: &AppState, headers: &http::HeaderMap) -> AppResult<http::HeaderValue> {
    if let Some(secret) = auth::session_secret(headers) {
        state.store.delete_session(&secrets::secret_hash(secret)).await?;
    }
    Ok(auth::clear_session_cookie(state.config.secure_cookies))
}

/// What adding or updating a person needs.
#[derive(Clone, Debug)]
pub struct UserInput<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// `None` creates a user that only acts through API tokens.
    pub password: Option<&'a str>,
}

/// Validates a new person's fields; a 422 names every bad field.
fn validate_user(input: &UserInput<'_>) -> AppResult<()> {
    let mut fields = BTreeMap::new();
    if let Err(message) = validate_email(input.email) {
        fields.insert("email".to_owned(), message);
    }
    if input.name.chars().count() > MAX_NAME_LEN {
        fields.insert("name".to_owned(), format!("name is longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(Err(message)) = input.password.map(validate_password) {
        fields.insert("password".to_owned(), message);
    }
    AppError::invalid_fields(fields).map_or(Ok(()), Err)
}

/// A display name from an email when none is given: the part before `@`.
fn display_name(input: &UserInput<'_>) -> String {
    let name = input.name.trim();
    if name.is_empty() {
        input.email.trim().split('@').next().unwrap_or_default().to_owned()
    } else {
        name.to_owned()
    }
}

/// Adds a person to the caller's org (admins only).
pub async fn create_user(state: &AppState, me: &Me, input: UserInput<'_>) -> AppResult<UserView> {
    auth::require(me, Permission::Administer)?;
    validate_user(&input)?;
    let password_hash = match input.password {
        Some(password) => Some(hash_password(password.to_owned()).await?),
        None => None,
    };
    let email = normalize_email(input.email);
    let record = state
        .store
        .create_user(NewUser {
            org_id: &me.org.id,
            email: &email,
            name: &display_name(&input),
            role: input.role,
            password_hash: password_hash.as_deref(),
        })
        .await?;
    tracing::info!(by = %me.user.email, user = %record.user.email, role = %record.user.role, "user created");
    Ok(record.user)
}

/// The people in the caller's org.
pub async fn list_users(state: &AppState, me: &Me) -> AppResult<Vec<UserView>> {
    auth::require(me, Permission::Read)?;
    Ok(state.store.list_users(&me.org.id).await?)
}

/// For scripted set-ups (the admin CLI and the demo): makes sure the org and
/// the person exist with this role (and password, when given) and answers
/// them as a caller. An email that belongs to another org is a conflict.
pub async fn ensure_user(store: &dyn Store, org_slug: &str, input: UserInput<'_>) -> AppResult<Me> {
    validate_slug(org_slug)?;
    validate_user(&input)?;
    let org = store.ensure_org(org_slug, org_slug).await?;
    crate::instances::ensure_local(store, &org.id).await?;
    crate::agents::ensure_builtins(store, &org.id).await?;
    let email = normalize_email(input.email);
    let password_hash = match input.password {
        Some(password) => Some(hash_password(password.to_owned()).await?),
        None => None,
    };
    let user = match store.user_by_email(&email).await? {
        Some(existing) if existing.org_id != org.id => {
            return Err(AppError::conflict(format!("{email} already belongs to another org")));
        }
        Some(existing) => {
            store.update_user(&org.id, &existing.user.id, input.role, password_hash.as_deref()).await?;
            UserView { role: input.role, ..existing.user }
        }
        None => {
            store
                .create_user(NewUser {
                    org_id: &org.id,
                    email: &email,
                    name: &display_name(&input),
                    role: input.role,
                    password_hash: password_hash.as_deref(),
                })
                .await?
                .user
        }
    };
    Ok(Me { role: user.role, user, org })
}

/// Org slugs appear in URLs and ticket ids: lowercase letters, digits, dashes.
pub fn validate_slug(slug: &str) -> AppResult<()> {
    if is_slug(slug, 32) {
        Ok(())
    } else {
        Err(AppError::invalid_field("org", "org slug must be 2 to 32 lowercase letters, digits or dashes"))
    }
}

/// The slug rule of orgs and agents: 2 to `max_len` lowercase letters,
/// digits and inner dashes.
pub fn is_slug(value: &str, max_len: usize) -> bool {
    (2..=max_len).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// Creates an API token that acts as `me`; the secret is in the answer only.
pub async fn create_token(store: &dyn Store, me: &Me, name: &str) -> AppResult<NewApiToken> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::invalid_field("name", format!("name is longer than {MAX_NAME_LEN} characters")));
    }
    let name = if name.is_empty() { "API token" } else { name };
    let (secret, token_hash) = secrets::new_api_token_secret();
    let token = store
        .create_api_token(NewToken { org_id: &me.org.id, user_id: &me.user.id, name, token_hash: &token_hash })
        .await?;
    tracing::info!(user = %me.user.email, token = %token.id, "API token created");
    Ok(NewApiToken { token, secret })
}

/// Tokens the caller may see: all of the org's for admins, else their own.
pub async fn list_tokens(store: &dyn Store, me: &Me) -> AppResult<Vec<ApiTokenView>> {
    let only_user = (!me.can(Permission::Administer)).then_some(me.user.id.as_str());
    Ok(store.list_api_tokens(&me.org.id, only_user).await?)
}

/// Revokes one of the caller's tokens (any of the org's for admins).
pub async fn revoke_token(store: &dyn Store, me: &Me, token_id: &str) -> AppResult<()> {
    let only_user = (!me.can(Permission::Administer)).then_some(me.user.id.as_str());
    if store.revoke_api_token(&me.org.id, token_id, only_user, Utc::now()).await? {
        tracing::info!(by = %me.user.email, token = %token_id, "API token revoked");
        Ok(())
    } else {
        Err(AppError::not_found("API token"))
    }
}

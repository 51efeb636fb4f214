//! Which model endpoint an org uses: its own (Admin → Model, or
//! `PUT /api/v1/org/llm`), else the server's `OPSDESK_LLM_*` settings, else
//! none — then the LLM agents say so and the review stays offline.

use super::LlmConfig;
use crate::auth;
use crate::state::AppState;
use crate::store::OrgLlmSettings;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{LlmSettingsView, LlmSource, Me, Permission, UpdateLlmSettings};
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest model name and API key accepted.
const MAX_MODEL_CHARS: usize = 200;
const MAX_KEY_CHARS: usize = 4_096;
/// Extra attempts after a failed call to the model.
const RETRIES: u32 = 2;
/// How long a call may take when the server sets nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The server-wide endpoint from flags or environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLlm {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
}

/// The endpoint in force for the org, if any.
pub async fn for_org(state: &AppState, org_id: &str) -> AppResult<Option<LlmConfig>> {
    let timeout = state.config.llm_timeout;
    if let Some(own) = state.store.llm_settings(org_id).await? {
        return Ok(Some(LlmConfig {
            base_url: own.base_url,
            model: own.model,
            api_key: own.api_key,
            timeout,
            retries: RETRIES,
        }));
    }
    Ok(state.config.llm.as_ref().map(|server| LlmConfig {
        base_url: server.base_url.clone(),
        model: server.model.clone(),
        api_key: server.api_key.clone(),
        timeout,
        retries: RETRIES,
    }))
}

/// `GET /api/v1/org/llm`: what is in force, never the key.
pub async fn view(state: &AppState, me: &Me) -> AppResult<LlmSettingsView> {
    auth::require(me, Permission::Read)?;
    if let Some(own) = state.store.llm_settings(&me.org.id).await? {
        return Ok(LlmSettingsView {
            source: LlmSource::Org,
            base_url: Some(own.base_url),
            model: Some(own.model),
            api_key_set: own.api_key.is_some(),
        });
    }
    Ok(match &state.config.llm {
        Some(server) => LlmSettingsView {
            source: LlmSource::Server,
            base_url: Some(server.base_url.clone()),
            model: Some(server.model.clone()),
            api_key_set: server.api_key.is_some(),
        },
        None => LlmSettingsView { source: LlmSource::None, base_url: None, model: None, api_key_set: false },
    })
}

/// `PUT /api/v1/org/llm` (admins): the org's own endpoint.
pub async fn update(state: &AppState, me: &Me, body: UpdateLlmSettings) -> AppResult<LlmSettingsView> {
    auth::require(me, Permission::Administer)?;
    let mut fields = BTreeMap::new();
    let base_url = body.base_url.trim().trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&base_url) {
        // Credentials and queries in the URL would end up in error messages and logs.
        Ok(url) if url.username() != "" || url.password().is_some() || url.query().is_some() => {
            fields.insert(
                "base_url".to_owned(),
                "base_url must not carry credentials or a query: put the key in api_key".to_owned(),
            );
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => {
            fields.insert(
                "base_url".to_owned(),
                "base_url must be an http(s) URL, e.g. http://127.0.0.1:11434/v1".to_owned(),
            );
        }
    }
    let model = body.model.trim().to_owned();
    if model.is_empty() || model.chars().count() > MAX_MODEL_CHARS {
        fields.insert("model".to_owned(), format!("model must be 1 to {MAX_MODEL_CHARS} characters"));
    }
    if body.api_key.as_ref().is_some_and(|k| k.chars().count() > MAX_KEY_CHARS) {
        fields.insert("api_key".to_owned(), format!("api_key is longer than {MAX_KEY_CHARS} characters"));
    }
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    let stored = state.store.llm_settings(&me.org.id).await?;
    // A kept key goes only to the endpoint it was given for: pointing the
    // org at another host needs the key again.
    let same_origin = |stored: &str| {
        let origin = |url: &str| reqwest::Url::parse(url).ok().map(|u| u.origin().ascii_serialization());
        origin(stored).is_some() && origin(stored) == origin(&base_url)
    };
    let api_key = match body.api_key.map(|k| k.trim().to_owned()) {
        Some(key) if key.is_empty() => None,
        Some(key) => Some(key),
        None => stored.filter(|s| same_origin(&s.base_url)).and_then(|s| s.api_key),
    };
    let settings = OrgLlmSettings { base_url, model, api_key };
    state.store.set_llm_settings(&me.org.id, Some(&settings), &me.user.id).await?;
    tracing::info!(org = %me.org.slug, by = %me.user.email, model = %settings.model, "model endpoint set");
    view(state, me).await
}

/// `DELETE /api/v1/org/llm` (admins): back to the server's endpoint (or none).
pub async fn clear(state: &AppState, me: &Me) -> AppResult<LlmSettingsView> {
    auth::require(me, Permission::Administer)?;
    state.store.set_llm_settings(&me.org.id, None, &me.user.id).await?;
    view(state, me).await
}

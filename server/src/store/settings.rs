//! Persistence of per-org settings: the org's model endpoint.

use super::StoreResult;
use async_trait::async_trait;

/// An org's model endpoint as stored (with its secret key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgLlmSettings {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
}

#[async_trait]
pub trait SettingsStore {
    /// The org's own model endpoint, if it set one.
    async fn llm_settings(&self, org_id: &str) -> StoreResult<Option<OrgLlmSettings>>;
    /// Sets (`Some`) or removes (`None`) the org's model endpoint.
    async fn set_llm_settings(&self, org_id: &str, settings: Option<&OrgLlmSettings>, by: &str) -> StoreResult<()>;
}

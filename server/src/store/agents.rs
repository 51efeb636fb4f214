//! Persistence of the org's agent registry.

use super::StoreResult;
use async_trait::async_trait;
use opsdesk_app::model::{AgentKind, AgentView};
use std::collections::BTreeMap;

/// An agent as the server sees it: the view plus its header values.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRecord {
    pub view: AgentView,
    pub org_id: String,
    /// Sent with every request to a custom agent; never shown to anyone.
    pub headers: BTreeMap<String, String>,
}

/// An agent to add (`id` is assigned).
#[derive(Clone, Debug)]
pub struct NewAgentRecord {
    pub org_id: String,
    pub slug: String,
    pub name: String,
    pub kind: AgentKind,
    pub backend: Option<String>,
    pub description: String,
    pub prompt_suggestions: Vec<String>,
    pub endpoint_url: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub timeout_secs: u32,
    pub instance_ids: Vec<String>,
}

/// The agent registry.
#[async_trait]
pub trait AgentStore {
    /// The org's agents, built-ins first, then by name.
    async fn agents(&self, org_id: &str) -> StoreResult<Vec<AgentRecord>>;
    /// One agent of the org, by id or slug.
    async fn agent(&self, org_id: &str, id_or_slug: &str) -> StoreResult<Option<AgentRecord>>;
    /// Adds an agent; a slug the org already uses is a `Conflict`.
    async fn create_agent(&self, agent: NewAgentRecord) -> StoreResult<AgentRecord>;
    /// Adds the agent unless the org already has its slug (built-ins at start-up).
    async fn ensure_agent(&self, agent: NewAgentRecord) -> StoreResult<()>;
    /// Every org's id (to seed built-ins into orgs made before they existed).
    async fn org_ids(&self) -> StoreResult<Vec<String>>;
}

//! Agents: the registry (built-in and custom), the agent protocol of
//! `seeds/agent-api.txt` (what the helpdesk sends to `POST {endpoint}/api/sendMessage`
//! and what an agent answers), and the conversation API's bodies.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

wire_enum! {
    /// Where an agent runs.
    AgentKind {
        /// In the opsdesk process, also reachable at `/agents/{slug}/api/sendMessage`.
        Builtin = "builtin",
        /// An HTTP endpoint the org registered.
        Custom = "custom",
    }
}

wire_enum! {
    /// What a person decides about a proposed command.
    CommandAction {
        /// Queue it: the next message tells the agent to run it (`execute: true`).
        Approve = "approve",
        /// Refuse it: the next message says so (`execute: false`, `rejection_reason`).
        Reject = "reject",
        /// Leave it unanswered: nothing is sent.
        Ignore = "ignore",
        /// Run it now; its output reaches the agent with the next message.
        Execute = "execute",
    }
}

wire_enum! {
    /// Who ran a command.
    RanBy { Agent = "agent", Person = "person" }
}

/// An agent as named on timeline entries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// An agent as the registry lists it. Header values (which may hold
/// credentials) are never shown, only their names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub kind: AgentKind,
    /// For built-ins, what answers (`runbook`, later `llm`).
    pub backend: Option<String>,
    /// Its domain, for people choosing an agent.
    pub description: String,
    pub prompt_suggestions: Vec<String>,
    /// For custom agents, the base URL (`/api/sendMessage` is appended).
    pub endpoint_url: Option<String>,
    pub header_names: Vec<String>,
    pub timeout_secs: u32,
    /// The instances it may serve; empty means every instance.
    pub instance_ids: Vec<String>,
}

impl AgentView {
    /// The reference written on timeline entries.
    pub fn to_ref(&self) -> AgentRef {
        AgentRef { id: self.id.clone(), slug: self.slug.clone(), name: self.name.clone() }
    }

    /// Whether it may work on (and receive the secrets of) this instance.
    pub fn serves(&self, instance_id: &str) -> bool {
        self.instance_ids.is_empty() || self.instance_ids.iter().any(|i| i == instance_id)
    }
}

/// Limits of the agent registry.
pub const MAX_AGENT_NAME_CHARS: usize = 64;
pub const MAX_AGENT_DESCRIPTION_CHARS: usize = 2_000;
pub const MAX_PROMPT_SUGGESTIONS: usize = 12;
pub const MAX_AGENT_TIMEOUT_SECS: u32 = 600;
pub const DEFAULT_AGENT_TIMEOUT_SECS: u32 = 60;

/// Body of `POST /api/v1/org/agents`: registers a custom agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub name: String,
    /// Lowercase letters, digits and dashes; unique in the org.
    pub slug: String,
    #[serde(default)]
    pub description: String,
    /// `http(s)://host[:port][/base]`; requests go to `{endpoint_url}/api/sendMessage`.
    pub endpoint_url: String,
    /// Sent with every request (e.g. `Authorization`); never shown again.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub timeout_secs: Option<u32>,
    #[serde(default)]
    pub prompt_suggestions: Option<Vec<String>>,
    /// Instances it may serve; absent or empty means every instance.
    #[serde(default)]
    pub instance_ids: Option<Vec<String>>,
}

/// Body of `PUT .../tickets/{ticket_id}/agents`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignAgents {
    /// Ids or slugs; the first is the default recipient of messages.
    pub agent_ids: Vec<String>,
}

/// A decision on a pending command, sent with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDecision {
    pub cmd_id: String,
    pub action: CommandAction,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST .../tickets/{ticket_id}/messages`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// May be empty for a pure approval or rejection.
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub decisions: Vec<CommandDecision>,
    /// Which assigned agent gets it (id or slug); the first assigned by default.
    #[serde(default)]
    pub agent_id: Option<String>,
}

/// Body of `POST .../tickets/{ticket_id}/commands/{cmd_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideCommand {
    pub action: CommandAction,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Answer of `POST .../messages` (202): the committed message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageAccepted {
    pub seq: i64,
    pub agent: AgentRef,
    /// Whether a turn was already running, so this one waits its turn.
    pub queued: bool,
}

/// Answer of `GET .../tickets/{ticket_id}/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub entries: Vec<crate::model::TimelineEntry>,
    /// The highest seq the ticket has; pass it as `after` next time.
    pub last_seq: i64,
}

/// A file in a ticket's canvas directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanvasFile {
    /// Relative to the canvas directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub modified_at: chrono::DateTime<chrono::Utc>,
}

// --- the agent protocol (seeds/agent-api.txt) ---------------------------

wire_enum! {
    /// Who speaks in a protocol message.
    ProtocolRole { User = "user", Assistant = "assistant" }
}

/// `POST {endpoint}/api/sendMessage`'s body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// The whole conversation, oldest first; the last one is the current turn.
    pub messages: Vec<ProtocolMessage>,
    /// Stable for the ticket; the agent echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolMessage {
    pub role: ProtocolRole,
    pub content: String,
    /// The instance's context; only on user messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_context: Option<serde_json::Value>,
    #[serde(default)]
    pub data: MessageData,
    /// RFC 3339 with microseconds, as in the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// Structured data of a message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageData {
    #[serde(default)]
    pub cmds: Vec<ProtocolCommand>,
    #[serde(default)]
    pub executed_cmds: Vec<ExecutedCommand>,
    #[serde(default)]
    pub url_configs: Vec<UrlConfig>,
    /// An extension: files an agent writes to the canvas directory without a
    /// command (helper scripts, manifests, notes). Absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<AgentFile>,
}

wire_enum! {
    /// How much a proposed command could change or break, as its agent judges it.
    Risk {
        /// Reads only.
        Low = "low",
        /// Changes something that is easy to undo.
        Medium = "medium",
        /// Changes something that is hard to undo, or could take a service down.
        High = "high",
    }
}

/// A command: proposed by an agent (`execute: false`), or answered by a
/// person (`execute: true` approved, `false` with a reason rejected).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolCommand {
    pub command: String,
    pub execute: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<AgentFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// An extension agents may send with a proposal: why this command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// An extension agents may send with a proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
}

/// A file to create (relative to the canvas directory) before a command runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFile {
    pub file_path: String,
    pub file_content: String,
}

/// A command someone ran, with what it printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedCommand {
    pub command: String,
    pub output: String,
}

/// A link for the person to open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlConfig {
    pub url: String,
    #[serde(default)]
    pub description: String,
}

/// What an agent answers. `content` is required; everything else may be
/// absent. Optional extras (`reasoning`) are kept when present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendMessageResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ProtocolRole>,
    pub content: String,
    #[serde(default)]
    pub data: MessageData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

/// Limits applied to what agents answer (larger answers are refused, not cut).
pub const MAX_AGENT_CONTENT_CHARS: usize = 100_000;
pub const MAX_AGENT_COMMANDS: usize = 20;
pub const MAX_COMMAND_CHARS: usize = 10_000;
pub const MAX_AGENT_FILES: usize = 20;
pub const MAX_AGENT_FILE_BYTES: usize = 1024 * 1024;
pub const MAX_AGENT_LINKS: usize = 20;
/// Longest message a person may send an agent.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// The `backend` of the built-in agents that use the org's model.
pub const LLM_BACKEND: &str = "llm";

wire_enum! {
    /// Where the model endpoint in force comes from.
    LlmSource {
        /// Set for this org in Admin → Model (or the API).
        Org = "org",
        /// The server's `OPSDESK_LLM_*` settings.
        Server = "server",
        /// None configured: the LLM agents say so, the review is offline.
        None = "none",
    }
}

/// `GET /api/v1/org/llm`: the model endpoint in force for the org. The API
/// key is never shown, only whether one is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmSettingsView {
    pub source: LlmSource,
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key_set: bool,
}

/// `PUT /api/v1/org/llm` (admins): the org's own model endpoint. `api_key`
/// left out keeps the stored one; an empty string removes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateLlmSettings {
    pub base_url: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

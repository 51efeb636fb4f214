//! Agents: the org's registry (built-in and custom), the protocol client
//! that calls them ([`client`]), and the built-in runbook agent ([`runbook`]).
//! Conversations themselves live in [`crate::conversation`].

pub mod client;
pub mod llm;
pub mod runbook;

use crate::auth;
use crate::canvas;
use crate::conversation::{self, COMMAND_TIMEOUT, OUTPUT_CAP};
use crate::instances;
use crate::state::AppState;
use crate::store::{AgentRecord, InstanceRecord, NewAgentRecord, Store, StoreResult, TicketRef};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    AgentKind, AgentView, ExecutedCommand, Me, NewAgent, Permission, ProtocolMessage, ProtocolRole, SendMessageRequest,
    Ticket, DEFAULT_AGENT_TIMEOUT_SECS, MAX_AGENT_DESCRIPTION_CHARS, MAX_AGENT_NAME_CHARS, MAX_AGENT_TIMEOUT_SECS,
    MAX_PROMPT_SUGGESTIONS,
};
use std::collections::BTreeMap;

/// Longest prompt suggestion accepted.
const MAX_SUGGESTION_CHARS: usize = 300;
/// Most headers a custom agent may have.
const MAX_HEADERS: usize = 20;

/// The built-in agents every org has: the runbook, then the LLM ones.
fn builtins(org_id: &str) -> Vec<NewAgentRecord> {
    let mut all = vec![runbook_record(org_id)];
    all.extend(llm::builtins(org_id));
    all
}

fn runbook_record(org_id: &str) -> NewAgentRecord {
    NewAgentRecord {
        org_id: org_id.to_owned(),
        slug: runbook::SLUG.to_owned(),
        name: "Runbook: Linux hosts & containers".to_owned(),
        kind: AgentKind::Builtin,
        backend: Some("runbook".to_owned()),
        description: "Works through proven runbooks for Linux hosts, containers and (where kubectl is present) \
                      Kubernetes: disk, memory and OOM kills, crash loops, services, connectivity, DNS and \
                      certificates. Proposes read-only diagnostics first and explains what the outputs show. \
                      Needs no network and no model."
            .to_owned(),
        prompt_suggestions: vec![
            "The disk on this host is filling up; find what is using the space.".to_owned(),
            "A process keeps getting killed; check for memory pressure and OOM kills.".to_owned(),
            "The web service stopped answering on port 8080.".to_owned(),
            "Check whether the TLS certificate of example.com is about to expire.".to_owned(),
            "Pods in my namespace keep restarting (CrashLoopBackOff).".to_owned(),
        ],
        endpoint_url: None,
        headers: BTreeMap::new(),
        timeout_secs: runbook::TIMEOUT_SECS,
        instance_ids: Vec::new(),
    }
}

/// What a built-in agent's turn works on: the ticket the request's
/// `thread_id` names, and its instance.
pub struct TurnContext {
    pub ticket: Ticket,
    pub instance: InstanceRecord,
}

impl TurnContext {
    /// Checks the request (a thread of the org, ending with the person's
    /// message) and finds its ticket and instance.
    pub async fn read(state: &AppState, org_id: &str, request: &SendMessageRequest) -> AppResult<TurnContext> {
        let thread_id = request
            .thread_id
            .as_deref()
            .ok_or_else(|| AppError::invalid_field("thread_id", "thread_id is required"))?;
        let ticket = state
            .store
            .ticket(org_id, &TicketRef::Id(thread_id.to_owned()))
            .await?
            .ok_or_else(|| AppError::invalid_field("thread_id", "no ticket with this id in your org"))?;
        let current =
            request.messages.last().ok_or_else(|| AppError::invalid_field("messages", "messages is empty"))?;
        if current.role != ProtocolRole::User {
            return Err(AppError::invalid_field("messages", "the last message must be the user's"));
        }
        let instance = conversation::instance_or_local(state, org_id, ticket.cluster_id.as_deref()).await?;
        Ok(TurnContext { ticket, instance })
    }

    /// The person's message of this turn ([`TurnContext::read`] checked it exists).
    pub fn current<'a>(&self, request: &'a SendMessageRequest) -> &'a ProtocolMessage {
        request.messages.last().expect("checked by TurnContext::read")
    }
}

/// Runs the commands the person approved in this turn on the ticket's
/// instance, in its canvas directory (time-out, output cap); `prepare` turns
/// an approved command into what actually runs (e.g. filling placeholders).
/// Answers what ran, under the command as approved.
pub async fn run_approved(
    state: &AppState,
    turn: &TurnContext,
    request: &SendMessageRequest,
    prepare: impl Fn(&str) -> String,
) -> AppResult<Vec<ExecutedCommand>> {
    let approved: Vec<&str> =
        turn.current(request).data.cmds.iter().filter(|c| c.execute).map(|c| c.command.as_str()).collect();
    let mut ran = Vec::new();
    if approved.is_empty() {
        return Ok(ran);
    }
    let dir = canvas::ensure(&state.config.data_dir, &turn.ticket.id).map_err(AppError::internal)?;
    for command in approved {
        let runs = prepare(command);
        let output = match instances::run_command(&turn.instance, &dir, &runs, COMMAND_TIMEOUT, OUTPUT_CAP).await {
            Ok(run) => {
                let mut output = run.output;
                if let Some(code) = run.exit_code.filter(|c| *c != 0) {
                    output.push_str(&format!("\n[exit status {code}]"));
                }
                output
            }
            Err(reason) => format!("[not run: {reason}]"),
        };
        ran.push(ExecutedCommand { command: command.to_owned(), output });
    }
    Ok(ran)
}

/// Makes sure the org has the built-in agents (new orgs, and orgs made
/// before a built-in existed).
pub async fn ensure_builtins(store: &dyn Store, org_id: &str) -> StoreResult<()> {
    for agent in builtins(org_id) {
        store.ensure_agent(agent).await?;
    }
    Ok(())
}

/// [`ensure_builtins`] for every org, at start-up.
pub async fn ensure_builtins_everywhere(store: &dyn Store) -> StoreResult<()> {
    for org_id in store.org_ids().await? {
        ensure_builtins(store, &org_id).await?;
    }
    Ok(())
}

/// The org's agents.
pub async fn list(state: &AppState, me: &Me) -> AppResult<Vec<AgentView>> {
    auth::require(me, Permission::Read)?;
    Ok(state.store.agents(&me.org.id).await?.into_iter().map(|a| a.view).collect())
}

/// One agent of the org by id or slug; `field` names it in the 422 otherwise.
pub async fn find(state: &AppState, me: &Me, id_or_slug: &str, field: &str) -> AppResult<AgentRecord> {
    state
        .store
        .agent(&me.org.id, id_or_slug.trim())
        .await?
        .ok_or_else(|| AppError::invalid_field(field, format!("no agent `{id_or_slug}` in your org")))
}

/// Registers a custom agent (admins).
pub async fn create(state: &AppState, me: &Me, body: NewAgent) -> AppResult<AgentView> {
    auth::require(me, Permission::Administer)?;
    let mut fields = BTreeMap::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_AGENT_NAME_CHARS {
        fields.insert("name".into(), format!("name must be 1 to {MAX_AGENT_NAME_CHARS} characters"));
    }
    let slug = body.slug.trim().to_owned();
    if !crate::accounts::is_slug(&slug, 40) {
        fields.insert("slug".into(), "slug must be 2 to 40 lowercase letters, digits or inner dashes".into());
    }
    let description = body.description.trim().to_owned();
    if description.chars().count() > MAX_AGENT_DESCRIPTION_CHARS {
        fields.insert(
            "description".into(),
            format!("description is longer than {MAX_AGENT_DESCRIPTION_CHARS} characters"),
        );
    }
    let endpoint_url = body.endpoint_url.trim().trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&endpoint_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.query().is_none() => {}
        _ => {
            fields.insert("endpoint_url".into(), "endpoint_url must be an http(s) URL without a query".into());
        }
    }
    let headers = body.headers.unwrap_or_default();
    let headers_ok = headers.len() <= MAX_HEADERS
        && headers.iter().all(|(name, value)| {
            http::HeaderName::from_bytes(name.as_bytes()).is_ok() && http::HeaderValue::from_str(value).is_ok()
        });
    if !headers_ok {
        fields.insert(
            "headers".into(),
            format!("headers must be at most {MAX_HEADERS} valid HTTP header names and values"),
        );
    }
    let timeout_secs = body.timeout_secs.unwrap_or(DEFAULT_AGENT_TIMEOUT_SECS);
    if !(1..=MAX_AGENT_TIMEOUT_SECS).contains(&timeout_secs) {
        fields.insert("timeout_secs".into(), format!("timeout_secs must be between 1 and {MAX_AGENT_TIMEOUT_SECS}"));
    }
    let prompt_suggestions: Vec<String> = body
        .prompt_suggestions
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if prompt_suggestions.len() > MAX_PROMPT_SUGGESTIONS
        || prompt_suggestions.iter().any(|s| s.chars().count() > MAX_SUGGESTION_CHARS)
    {
        fields.insert(
            "prompt_suggestions".into(),
            format!("at most {MAX_PROMPT_SUGGESTIONS} suggestions of at most {MAX_SUGGESTION_CHARS} characters"),
        );
    }
    let mut instance_ids = body.instance_ids.unwrap_or_default();
    instance_ids.sort();
    instance_ids.dedup();
    for instance_id in &instance_ids {
        if state.store.instance(&me.org.id, instance_id).await?.is_none() {
            fields.insert("instance_ids".into(), format!("no instance `{instance_id}` in your org"));
            break;
        }
    }
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    let record = state
        .store
        .create_agent(NewAgentRecord {
            org_id: me.org.id.clone(),
            slug,
            name,
            kind: AgentKind::Custom,
            backend: None,
            description,
            prompt_suggestions,
            endpoint_url: Some(endpoint_url),
            headers,
            timeout_secs,
            instance_ids,
        })
        .await?;
    // Header values may be credentials: log the agent, never them.
    tracing::info!(by = %me.user.email, agent = %record.view.slug, "custom agent registered");
    Ok(record.view)
}

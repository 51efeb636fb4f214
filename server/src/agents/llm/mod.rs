//! The built-in LLM agents (`backend: "llm"`): Kubernetes operations,
//! observability, deployment troubleshooting and Linux hosts, each a system
//! prompt over the org's OpenAI-compatible model endpoint. They speak the
//! agent protocol like every agent: the helpdesk hands them the request in
//! process (they are also served at `/agents/{slug}/api/sendMessage`).
//!
//! A turn: run the commands the person approved (placeholders filled with
//! the instance's context), write the conversation out for the model
//! ([`prompt`]: redacted, outputs budgeted), stream its answer to the
//! ticket's watchers, turn its tool calls into proposals, links and files
//! ([`tools`]), give it one chance to repair refused calls, and answer.

mod prompt;
pub mod redact;
mod tools;

use super::{run_approved, TurnContext};
use crate::canvas;
use crate::llm::{self, ChatMessage, Completion, Delta, LlmConfig};
use crate::state::AppState;
use crate::store::{AgentRecord, NewAgentRecord, NewEntry, TicketChanges};
use opsdesk_app::error::{AppError, AppResult, ErrorCode};
use opsdesk_app::model::{
    AgentKind, AgentRef, MessageData, ProtocolRole, SendMessageRequest, SendMessageResponse, TimelineEvent,
};
use redact::Redactor;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The backend name of these built-ins.
pub const BACKEND: &str = opsdesk_app::model::LLM_BACKEND;
/// A turn may run approved commands and then wait for the model (with retries).
pub const TIMEOUT_SECS: u32 = 600;
/// Least time between two streamed drafts sent to watchers.
const DRAFT_INTERVAL: Duration = Duration::from_millis(30);
/// Time kept back at the end of a turn to answer before the helpdesk gives up on it.
const TURN_MARGIN: Duration = Duration::from_secs(15);
/// Repair rounds when the model's tool calls were refused.
const REPAIR_ROUNDS: usize = 1;

/// One built-in LLM agent.
pub struct Specialty {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The system prompt's paragraph on what it knows and how it thinks.
    pub focus: &'static str,
    pub suggestions: &'static [&'static str],
}

/// The built-in LLM agents.
pub const SPECIALTIES: [Specialty; 4] = [
    Specialty {
        slug: "llm-kubernetes",
        name: "Kubernetes operations (LLM)",
        description: "Pods, deployments, nodes, networking and storage in Kubernetes clusters, with kubectl. \
                      Uses the org's language model.",
        focus: "You are an expert in operating Kubernetes: pods and their restarts and exit codes, events, \
                deployments and rollouts, services, ingress and DNS, nodes and their pressure conditions, \
                persistent volumes, RBAC and quotas. You use kubectl (get, describe, logs --previous, events \
                sorted by time, top) and read what it prints closely.",
        suggestions: &[
            "Pods in my namespace keep restarting; find out why.",
            "A deployment rollout is stuck; what is holding it?",
            "A node went NotReady; what happened to it?",
        ],
    },
    Specialty {
        slug: "llm-observability",
        name: "Observability (LLM)",
        description: "Logs, metrics, alerts and dashboards: finds what changed and where errors come from. \
                      Uses the org's language model.",
        focus: "You are an expert in observability: you read logs (journalctl, kubectl logs, application \
                logs), metrics and alerts, correlate them in time, find the first error and what changed \
                before it, and point to the dashboards and queries that show it.",
        suggestions: &[
            "Error rates went up at 14:05; find what changed.",
            "An alert fires for high latency on the API; where does it come from?",
        ],
    },
    Specialty {
        slug: "llm-deployments",
        name: "Deployment troubleshooting (LLM)",
        description: "Failed and slow releases: images, configuration, migrations, health checks and rollbacks. \
                      Uses the org's language model.",
        focus: "You are an expert in deployments: container images and registries, configuration and \
                secrets, health and readiness checks, database migrations, Helm releases and rollbacks, CI/CD \
                pipelines. You find which step of a release failed and why, and how to roll back safely.",
        suggestions: &[
            "The new release fails its readiness check; why?",
            "Helm upgrade failed halfway; how do we get back to a good state?",
        ],
    },
    Specialty {
        slug: "llm-linux",
        name: "Linux hosts (LLM)",
        description: "Linux servers: disks, memory, CPU, services, networking, certificates and packages. \
                      Uses the org's language model.",
        focus: "You are an expert Linux systems engineer: disks and inodes, memory and the OOM killer, CPU \
                and load, systemd services and journald, networking (ss, ip, DNS, firewalls), TLS \
                certificates, packages and kernels. You use standard tools (df, du, free, dmesg, ss, \
                systemctl, journalctl, openssl) and read their output closely.",
        suggestions: &[
            "The disk on this host is filling up; find what is using it.",
            "The web service stopped answering on port 8080.",
        ],
    },
];

/// The registry records of the LLM built-ins for an org.
pub fn builtins(org_id: &str) -> Vec<NewAgentRecord> {
    SPECIALTIES
        .iter()
        .map(|s| NewAgentRecord {
            org_id: org_id.to_owned(),
            slug: s.slug.to_owned(),
            name: s.name.to_owned(),
            kind: AgentKind::Builtin,
            backend: Some(BACKEND.to_owned()),
            description: s.description.to_owned(),
            prompt_suggestions: s.suggestions.iter().map(|t| (*t).to_owned()).collect(),
            endpoint_url: None,
            headers: BTreeMap::new(),
            timeout_secs: TIMEOUT_SECS,
            instance_ids: Vec::new(),
        })
        .collect()
}

/// What the agent says when the org has no model endpoint.
pub fn no_model_message() -> String {
    "No language model is configured, so I cannot work on this yet. An admin can set an OpenAI-compatible \
     endpoint (Ollama, vLLM, llama.cpp, LiteLLM, OpenAI …) under Admin → Model, or the server's operator can \
     set `OPSDESK_LLM_BASE_URL` and `OPSDESK_LLM_MODEL` (and `OPSDESK_LLM_API_KEY`). Meanwhile the Runbook \
     agent works without a model."
        .to_owned()
}

/// Answers one protocol request as the agent `agent`.
pub async fn answer(
    state: &AppState,
    org_id: &str,
    agent: &AgentRecord,
    request: SendMessageRequest,
) -> AppResult<SendMessageResponse> {
    let specialty = SPECIALTIES.iter().find(|s| s.slug == agent.view.slug).unwrap_or(&SPECIALTIES[3]);
    // The helpdesk gives the whole turn TIMEOUT_SECS; the model gets what
    // the commands leave, so the turn answers (with their runs) in time.
    let deadline = Instant::now() + Duration::from_secs(u64::from(TIMEOUT_SECS)) - TURN_MARGIN;
    let turn = TurnContext::read(state, org_id, &request).await?;
    let reply = |content: String, data: MessageData, reasoning: Option<String>| SendMessageResponse {
        role: Some(ProtocolRole::Assistant),
        content,
        data,
        thread_id: request.thread_id.clone(),
        reasoning,
    };
    let current = turn.current(&request);
    let redactor = Redactor::merged(&turn.instance.platform_context, current.platform_context.as_ref());
    // What people asked for runs whatever the model does next; secrets
    // filled into a command never come back in what people read.
    let mut ran = run_approved(state, &turn, &request, |command| redactor.expand(command)).await?;
    for run in &mut ran {
        run.output = redactor.conceal_secrets(&run.output);
    }
    let Some(config) = llm::settings::for_org(state, org_id).await? else {
        let data = MessageData { executed_cmds: ran, ..MessageData::default() };
        return Ok(reply(no_model_message(), data, None));
    };

    // Outputs too long for the model are kept whole in the canvas directory.
    let dir = canvas::dir(&state.config.data_dir, &turn.ticket.id);
    let mut kept = 0usize;
    let mut budget_for = |command: &str, output: &str| {
        let safe = redactor.redact(output);
        let path = (safe.chars().count() > prompt::OUTPUT_BUDGET_CHARS).then(|| {
            kept += 1;
            format!("outputs/{}-{}.txt", chrono::Utc::now().format("%Y%m%d-%H%M%S"), slug_of(command, kept))
        });
        let kept_as = path.filter(|p| canvas::write_file(&dir, p, output).is_ok());
        prompt::budget(&safe, kept_as.as_deref())
    };
    let mut messages = prompt::messages(specialty, &turn.instance.name, &request, &ran, &redactor, &mut budget_for);
    let earlier = prompt::earlier_commands(&request);

    let streamer = DraftStreamer::new(state, &turn.ticket.id, agent.view.to_ref());
    let mut outcome = tools::Outcome::default();
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut notes = Vec::new();
    for round in 0..=REPAIR_ROUNDS {
        let left = deadline.saturating_duration_since(Instant::now());
        let call = tokio::time::timeout(left, complete(state, &config, &messages, &streamer));
        let answered = call.await.unwrap_or_else(|_| {
            Err(AppError::new(ErrorCode::Internal, "the model ran out of the turn's time".to_owned()))
        });
        let completion = match answered {
            Ok(completion) => completion,
            // Nothing done yet: the turn fails, and a retry asks again.
            Err(error) if round == 0 && ran.is_empty() => return Err(error),
            // Commands ran (a retry must not run them again), or a first
            // answer exists: answer with what there is, and say why it stops.
            Err(error) => {
                append_text(
                    &mut content,
                    &format!("> The model failed: {}. Send a message to have it go on.", error.message),
                );
                break;
            }
        };
        note_retries(state, &turn.ticket.id, &completion).await;
        notes.extend(completion.repairs.iter().map(|r| format!("repaired: {r}")));
        append_text(&mut content, &completion.content);
        append_text(&mut reasoning, &completion.reasoning);
        let refused_before = outcome.refused.len();
        tools::read_calls(&completion.tool_calls, &earlier, &mut outcome);
        let refused: Vec<(String, String)> = outcome.refused[refused_before..].to_vec();
        if refused.is_empty() || round == REPAIR_ROUNDS {
            break;
        }
        // One more round: the model sees which calls were refused and why.
        messages.push(ChatMessage {
            tool_calls: completion.tool_calls.clone(),
            ..ChatMessage::assistant(completion.content)
        });
        for call in &completion.tool_calls {
            let result = match refused.iter().find(|(id, _)| *id == call.id) {
                Some((_, reason)) => format!("refused: {reason}. Call the tool again, corrected, or leave it out."),
                None => "accepted".to_owned(),
            };
            messages.push(ChatMessage::tool(&call.id, &result));
        }
        outcome.refused.truncate(refused_before);
    }
    notes.extend(outcome.repaired.iter().cloned());

    if content.trim().is_empty() {
        content = match outcome.cmds.len() {
            0 => "I have nothing to add yet; tell me more about the problem.".to_owned(),
            _ => "I propose these commands:".to_owned(),
        };
    }
    if !outcome.refused.is_empty() {
        let reasons: Vec<String> = outcome.refused.iter().map(|(_, r)| format!("- {r}")).collect();
        content.push_str(&format!(
            "\n\n> opsdesk refused {} of the model's tool calls:\n> {}",
            outcome.refused.len(),
            reasons.join("\n> ")
        ));
    }
    if !notes.is_empty() {
        append_text(&mut reasoning, &format!("Notes from opsdesk:\n{}", notes.join("\n")));
    }
    let data = MessageData { cmds: outcome.cmds, executed_cmds: ran, url_configs: outcome.links, files: outcome.files };
    Ok(reply(content, data, Some(reasoning).filter(|r| !r.trim().is_empty())))
}

/// One call to the model, streaming its text to the ticket's watchers.
async fn complete(
    state: &AppState,
    config: &LlmConfig,
    messages: &[ChatMessage],
    streamer: &DraftStreamer<'_>,
) -> AppResult<Completion> {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut on_delta = |delta: Delta| {
        match delta {
            Delta::Content(piece) => text.push_str(&piece),
            Delta::Reasoning(piece) => thinking.push_str(&piece),
        }
        streamer.send(&text, &thinking, false);
    };
    let result = llm::chat(&state.http, config, messages, &tools::specs(), true, &mut on_delta).await;
    streamer.send(&text, &thinking, true);
    result.map_err(|error| AppError::new(ErrorCode::Internal, error.to_string()))
}

/// Retries that eventually worked still leave a trace on the ticket.
async fn note_retries(state: &AppState, ticket_id: &str, completion: &Completion) {
    if completion.retried.is_empty() {
        return;
    }
    let body = format!("The model endpoint failed and was retried: {}.", completion.retried.join("; "));
    let entry = NewEntry::system(TimelineEvent::Comment { body });
    if let Err(error) = state.store.append(ticket_id, TicketChanges::default(), vec![entry]).await {
        tracing::warn!(ticket = %ticket_id, "cannot record the model's retries: {error}");
    }
}

fn append_text(to: &mut String, more: &str) {
    let more = more.trim();
    if more.is_empty() {
        return;
    }
    if !to.is_empty() {
        to.push_str("\n\n");
    }
    to.push_str(more);
}

/// A file name from a command's first words: `df -h /var` → `df-h-var`.
fn slug_of(command: &str, n: usize) -> String {
    let slug: String = command
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join("-");
    format!("{n}-{}", if slug.is_empty() { "output".to_owned() } else { slug })
}

/// Sends the answer so far to the ticket's watchers, at most every
/// [`DRAFT_INTERVAL`] (and always the last one).
struct DraftStreamer<'a> {
    state: &'a AppState,
    ticket_id: &'a str,
    agent: AgentRef,
    last: std::sync::Mutex<Option<Instant>>,
}

impl<'a> DraftStreamer<'a> {
    fn new(state: &'a AppState, ticket_id: &'a str, agent: AgentRef) -> DraftStreamer<'a> {
        DraftStreamer { state, ticket_id, agent, last: std::sync::Mutex::new(None) }
    }

    fn send(&self, text: &str, reasoning: &str, last: bool) {
        let mut sent = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if !last && sent.is_some_and(|at| at.elapsed() < DRAFT_INTERVAL) {
            return;
        }
        if text.is_empty() && reasoning.is_empty() {
            return;
        }
        *sent = Some(Instant::now());
        self.state.hub.draft(self.ticket_id, &self.agent, text, reasoning);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specialties_are_distinct_and_described() {
        let mut slugs: Vec<&str> = SPECIALTIES.iter().map(|s| s.slug).collect();
        slugs.dedup();
        assert_eq!(slugs.len(), 4);
        assert!(SPECIALTIES.iter().all(|s| !s.focus.is_empty() && !s.suggestions.is_empty()));
    }

    #[test]
    fn output_files_are_named_after_their_command() {
        assert_eq!(slug_of("df -h /var", 1), "1-df-h-var");
        assert_eq!(slug_of("journalctl -u nginx --since '1 hour ago'", 2), "2-journalctl-u-nginx-since");
        assert_eq!(slug_of("$$$", 3), "3-output");
    }
}

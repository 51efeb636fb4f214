//! The built-in runbook agent: no network, no model. It speaks the agent
//! protocol like any other agent: the helpdesk hands it the request in
//! process, and it is served over HTTP at `/agents/runbook/api/sendMessage`.
//!
//! This half does the work on the host: it finds the ticket by `thread_id`,
//! runs the commands the person approved (time-out, output cap, in the
//! ticket's canvas directory, on the ticket's instance) and then lets the
//! [`brain`] read the conversation and the outputs to decide what to say
//! and propose next.

mod brain;

use crate::canvas;
use crate::conversation::{self, COMMAND_TIMEOUT, OUTPUT_CAP};
use crate::instances;
use crate::state::AppState;
use crate::store::TicketRef;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{ExecutedCommand, ProtocolRole, SendMessageRequest, SendMessageResponse};

/// The built-in's slug in every org.
pub const SLUG: &str = "runbook";
/// A turn may run several approved commands, each up to [`COMMAND_TIMEOUT`].
pub const TIMEOUT_SECS: u32 = 300;

/// Answers one protocol request for the org.
pub async fn answer(state: &AppState, org_id: &str, request: SendMessageRequest) -> AppResult<SendMessageResponse> {
    let thread_id =
        request.thread_id.as_deref().ok_or_else(|| AppError::invalid_field("thread_id", "thread_id is required"))?;
    let ticket = state
        .store
        .ticket(org_id, &TicketRef::Id(thread_id.to_owned()))
        .await?
        .ok_or_else(|| AppError::invalid_field("thread_id", "no ticket with this id in your org"))?;
    let current = request.messages.last().ok_or_else(|| AppError::invalid_field("messages", "messages is empty"))?;
    if current.role != ProtocolRole::User {
        return Err(AppError::invalid_field("messages", "the last message must be the user's"));
    }
    let instance = conversation::instance_or_local(state, org_id, ticket.cluster_id.as_deref()).await?;

    let approved: Vec<&str> = current.data.cmds.iter().filter(|c| c.execute).map(|c| c.command.as_str()).collect();
    let mut ran = Vec::new();
    if !approved.is_empty() {
        let dir = canvas::ensure(&state.config.data_dir, &ticket.id).map_err(AppError::internal)?;
        for command in approved {
            let output = match instances::run_command(&instance, &dir, command, COMMAND_TIMEOUT, OUTPUT_CAP).await {
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
    }

    let facts = host_facts(&instance, current.platform_context.as_ref()).await;
    Ok(brain::respond(&request, &ran, &facts))
}

/// What the instance offers: for the local one, what is on PATH here; for
/// others, probed through their command prefix.
async fn host_facts(instance: &crate::store::InstanceRecord, context: Option<&serde_json::Value>) -> brain::HostFacts {
    let probe = "for t in kubectl docker systemctl journalctl; do command -v $t >/dev/null 2>&1 && echo $t; done";
    let found =
        match instances::run_command(instance, &std::env::temp_dir(), probe, std::time::Duration::from_secs(10), 4096)
            .await
        {
            Ok(run) => run.output,
            Err(_) => String::new(),
        };
    let has = |tool: &str| found.lines().any(|l| l.trim() == tool);
    brain::HostFacts {
        has_kubectl: has("kubectl"),
        has_docker: has("docker"),
        has_systemctl: has("systemctl"),
        has_journalctl: has("journalctl"),
        kube_namespace: context.and_then(|c| c.get("k8s_namespace")).and_then(|n| n.as_str()).map(str::to_owned),
    }
}

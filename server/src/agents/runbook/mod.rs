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

use crate::instances;
use crate::state::AppState;
use opsdesk_app::error::AppResult;
use opsdesk_app::model::{SendMessageRequest, SendMessageResponse};

/// The built-in's slug in every org.
pub const SLUG: &str = "runbook";
/// A turn may run several approved commands, each up to [`crate::conversation::COMMAND_TIMEOUT`].
pub const TIMEOUT_SECS: u32 = 300;

/// Answers one protocol request for the org.
pub async fn answer(state: &AppState, org_id: &str, request: SendMessageRequest) -> AppResult<SendMessageResponse> {
    let turn = super::TurnContext::read(state, org_id, &request).await?;
    let ran = super::run_approved(state, &turn, &request, str::to_owned).await?;
    let current = turn.current(&request);
    let facts = host_facts(&turn.instance, current.platform_context.as_ref()).await;
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

//! The agent protocol as a client: sends a [`SendMessageRequest`] to an
//! agent and validates what comes back. Custom agents are called over HTTP at
//! `POST {endpoint_url}/api/sendMessage`; built-in ones get the very same
//! JSON bytes in-process (they are also served over HTTP at
//! `/agents/{slug}/api/sendMessage`), and both answers go through the same
//! parsing and validation.

use super::{llm, runbook};
use crate::state::AppState;
use crate::store::AgentRecord;
use futures_util::StreamExt;
use opsdesk_app::model::{
    AgentKind, SendMessageRequest, SendMessageResponse, MAX_AGENT_COMMANDS, MAX_AGENT_CONTENT_CHARS, MAX_AGENT_FILES,
    MAX_AGENT_FILE_BYTES, MAX_AGENT_LINKS, MAX_COMMAND_CHARS,
};
use std::time::Duration;

/// Largest answer body read from an agent.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Longest reasoning text kept.
const MAX_REASONING_CHARS: usize = 50_000;
/// Longest explanation of a proposed command kept.
const MAX_EXPLANATION_CHARS: usize = 2_000;
/// Longest link description kept.
const MAX_LINK_DESCRIPTION_CHARS: usize = 500;

/// Why a turn failed, in words for the timeline.
pub type Failure = String;

/// Calls the agent and answers its validated response.
pub async fn send(
    state: &AppState,
    org_id: &str,
    agent: &AgentRecord,
    request: &SendMessageRequest,
) -> Result<SendMessageResponse, Failure> {
    let body = serde_json::to_vec(request).map_err(|e| format!("cannot encode the request: {e}"))?;
    let timeout = Duration::from_secs(u64::from(agent.view.timeout_secs.max(1)));
    let answer = match agent.view.kind {
        AgentKind::Builtin => tokio::time::timeout(timeout, builtin(state, org_id, agent, &body)).await,
        AgentKind::Custom => tokio::time::timeout(timeout, http(state, agent, body)).await,
    };
    let bytes = answer.map_err(|_| format!("the agent did not answer within {} s", timeout.as_secs()))??;
    parse(&bytes, request.thread_id.as_deref())
}

/// A built-in agent, handed the request's bytes as if over HTTP.
async fn builtin(state: &AppState, org_id: &str, agent: &AgentRecord, body: &[u8]) -> Result<Vec<u8>, Failure> {
    let request: SendMessageRequest = serde_json::from_slice(body).map_err(|e| format!("bad request: {e}"))?;
    let response = match agent.view.backend.as_deref() {
        Some("runbook") => runbook::answer(state, org_id, request).await.map_err(|e| e.message)?,
        Some(llm::BACKEND) => llm::answer(state, org_id, agent, request).await.map_err(|e| e.message)?,
        other => return Err(format!("built-in backend {other:?} is not available in this build")),
    };
    serde_json::to_vec(&response).map_err(|e| format!("cannot encode the answer: {e}"))
}

/// A custom agent over HTTP.
async fn http(state: &AppState, agent: &AgentRecord, body: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let base = agent.view.endpoint_url.as_deref().ok_or("the agent has no endpoint URL")?;
    let url = format!("{}/api/sendMessage", base.trim_end_matches('/'));
    let mut request = state.http.post(&url).header(http::header::CONTENT_TYPE, "application/json").body(body);
    for (name, value) in &agent.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| describe_transport_error(&url, &e))?;
    let status = response.status();
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the answer from {url} broke off: {e}"))?;
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!("the answer is larger than {} MiB", MAX_ANSWER_BYTES / (1024 * 1024)));
        }
        bytes.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes);
        let text: String = text.chars().take(300).collect();
        return Err(format!("the agent answered HTTP {status}: {}", text.trim()));
    }
    Ok(bytes)
}

/// A transport error in words (never with header values).
fn describe_transport_error(url: &str, error: &reqwest::Error) -> Failure {
    if error.is_connect() {
        format!("cannot reach the agent at {url} (connection failed)")
    } else if error.is_timeout() {
        format!("the agent at {url} timed out")
    } else {
        format!("the request to {url} failed: {error}")
    }
}

/// Parses and validates an answer: JSON, the protocol's shape, the limits,
/// links that are http(s), files with usable paths, the same thread.
pub fn parse(bytes: &[u8], thread_id: Option<&str>) -> Result<SendMessageResponse, Failure> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| {
        let start: String = String::from_utf8_lossy(bytes).chars().take(80).collect();
        format!("the agent's answer is not JSON (it starts with {start:?})")
    })?;
    if !value.is_object() {
        return Err("the agent's answer is not a JSON object".into());
    }
    let mut answer: SendMessageResponse = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("the agent's answer does not follow the protocol at `{path}`: {}", e.inner())
    })?;
    if let (Some(ours), Some(theirs)) = (thread_id, answer.thread_id.as_deref()) {
        if ours != theirs {
            return Err(format!("the agent answered for another thread ({theirs})"));
        }
    }
    if answer.content.chars().count() > MAX_AGENT_CONTENT_CHARS {
        return Err(format!("the answer's content is longer than {MAX_AGENT_CONTENT_CHARS} characters"));
    }
    let data = &mut answer.data;
    if data.cmds.len() > MAX_AGENT_COMMANDS {
        return Err(format!("the agent proposed {} commands (at most {MAX_AGENT_COMMANDS})", data.cmds.len()));
    }
    for command in &data.cmds {
        if command.command.trim().is_empty() || command.command.chars().count() > MAX_COMMAND_CHARS {
            return Err(format!("a proposed command is empty or longer than {MAX_COMMAND_CHARS} characters"));
        }
        if command.files.len() > MAX_AGENT_FILES {
            return Err(format!("a command comes with more than {MAX_AGENT_FILES} files"));
        }
        if command.files.iter().any(|f| f.file_content.len() > MAX_AGENT_FILE_BYTES) {
            return Err(format!("a file is larger than {} KiB", MAX_AGENT_FILE_BYTES / 1024));
        }
    }
    if data.files.len() > MAX_AGENT_FILES {
        return Err(format!("the agent sent more than {MAX_AGENT_FILES} files"));
    }
    if data.files.iter().any(|f| f.file_content.len() > MAX_AGENT_FILE_BYTES) {
        return Err(format!("a file is larger than {} KiB", MAX_AGENT_FILE_BYTES / 1024));
    }
    for command in &mut data.cmds {
        if let Some(explanation) = &mut command.explanation {
            if explanation.chars().count() > MAX_EXPLANATION_CHARS {
                *explanation = explanation.chars().take(MAX_EXPLANATION_CHARS).collect();
            }
        }
    }
    if data.executed_cmds.len() > MAX_AGENT_COMMANDS {
        return Err(format!("the agent reported more than {MAX_AGENT_COMMANDS} executed commands"));
    }
    if data.url_configs.len() > MAX_AGENT_LINKS {
        return Err(format!("the agent sent more than {MAX_AGENT_LINKS} links"));
    }
    for link in &data.url_configs {
        match reqwest::Url::parse(&link.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => return Err(format!("the link {:?} is not an http(s) URL", link.url)),
        }
    }
    for link in &mut data.url_configs {
        if link.description.chars().count() > MAX_LINK_DESCRIPTION_CHARS {
            link.description = link.description.chars().take(MAX_LINK_DESCRIPTION_CHARS).collect();
        }
    }
    if let Some(reasoning) = &mut answer.reasoning {
        if reasoning.chars().count() > MAX_REASONING_CHARS {
            *reasoning = reasoning.chars().take(MAX_REASONING_CHARS).collect();
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn answers_are_validated() {
        let ok = parse(br#"{"content":"hi","data":{"cmds":[{"command":"ls","execute":false}]}}"#, None).unwrap();
        assert_eq!(ok.data.cmds[0].command, "ls");
        assert!(parse(b"<html>", None).unwrap_err().contains("not JSON"));
        assert!(parse(br#"{"data":{}}"#, None).unwrap_err().contains("content"));
        assert!(parse(br#"{"content":"x","data":{"cmds":[{"command":"ls"}]}}"#, None)
            .unwrap_err()
            .contains("data.cmds[0]"));
        let js = br#"{"content":"x","data":{"url_configs":[{"url":"javascript:alert(1)","description":"d"}]}}"#;
        assert!(parse(js, None).unwrap_err().contains("http(s)"));
        assert!(parse(br#"{"content":"x","thread_id":"b"}"#, Some("a")).unwrap_err().contains("another thread"));
        let extra = parse(br#"{"content":"x","reasoning":"because","confidence":0.9}"#, Some("a")).unwrap();
        assert_eq!(extra.reasoning.as_deref(), Some("because"));
    }
}

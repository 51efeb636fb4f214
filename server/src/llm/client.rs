//! The chat-completions call: one request to `{base_url}/chat/completions`,
//! retried on what is worth retrying, its answer read by
//! [`super::answer::AnswerReader`] whether it streams or not.
//!
//! The API key goes only into the `Authorization` header: it is kept out of
//! `Debug`, logs and error messages (a server that echoes it back has it
//! replaced).

use super::answer::{cut_chars, error_message, AnswerReader};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Largest answer read (all of a stream's events count).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Most of an error body kept in [`LlmError::Http`].
const ERROR_BODY_CHARS: usize = 300;
/// Most of an error body read at all.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The wait before the first retry; each next one doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait before a retry, from the backoff or a `Retry-After` header.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// Low, so that agents act predictably.
const TEMPERATURE: f64 = 0.2;
/// What a server's echo of the API key is replaced with.
const REDACTED_KEY: &str = "[api key]";

/// Where and how to call the model.
#[derive(Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// e.g. "http://127.0.0.1:11434/v1": the client POSTs to
    /// "{base_url}/chat/completions" (or to `base_url` itself when it already
    /// ends with "/chat/completions").
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set and not blank; never
    /// logged or put in error messages.
    pub api_key: Option<String>,
    /// Per attempt, for the whole request including a streamed body.
    pub timeout: Duration,
    /// Extra attempts after the first, for transport errors, timeouts,
    /// HTTP 429 and 5xx.
    pub retries: u32,
}

/// By hand, so that printing a config never prints its key.
impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| REDACTED_KEY))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

impl LlmConfig {
    /// The key to send, if there is one worth sending.
    fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref().map(str::trim).filter(|key| !key.is_empty())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
    /// On assistant messages: the tool calls it made (sent back as OpenAI
    /// `tool_calls`, with `function.arguments` as a JSON string).
    pub tool_calls: Vec<ToolCall>,
    /// On tool messages: which call this answers.
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn plain(role: ChatRole, content: String) -> Self {
        Self { role, content, tool_calls: Vec::new(), tool_call_id: None }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self::plain(ChatRole::System, content.into())
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::plain(ChatRole::User, content.into())
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::plain(ChatRole::Assistant, content.into())
    }

    /// The result of the tool call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { tool_call_id: Some(call_id.into()), ..Self::plain(ChatRole::Tool, content.into()) }
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON Schema object.
    pub parameters: Value,
}

/// A tool call the model made.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// The server's id, or a made-up `call_<n>` when it sent none (or a duplicate).
    pub id: String,
    pub name: String,
    /// The arguments as a JSON object, or why they could not be read (kept
    /// so the caller can tell the model and the person).
    pub arguments: Result<Map<String, Value>, String>,
}

/// The model's answer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Completion {
    /// The visible answer, without a leading `<think>…</think>` block.
    pub content: String,
    /// From `reasoning_content` / `reasoning` fields and `<think>` blocks.
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    /// Quirks that were repaired, in words, each once.
    pub repairs: Vec<String>,
    /// Earlier attempts that failed and were retried, in words.
    pub retried: Vec<String>,
}

/// A piece of the answer as it arrives.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    Content(String),
    Reasoning(String),
}

/// Why a call failed. The last field of each variant is how many attempts
/// were made; the message says so when there was more than one.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No whole answer within the timeout (in seconds, rounded up).
    #[error("the model did not answer within {0} s{after}", after = after_attempts(.1))]
    Timeout(u64, u32),
    /// An HTTP error, or an error with a status reported inside a 200 answer;
    /// `body` is the error's message (or the body), at most 300 characters.
    #[error("the model endpoint answered HTTP {status}: {body}{after}", after = after_attempts(.attempts))]
    Http { status: u16, body: String, attempts: u32 },
    #[error("cannot reach the model endpoint: {0}{after}", after = after_attempts(.1))]
    Transport(String, u32),
    #[error("the model's answer could not be read: {0}{after}", after = after_attempts(.1))]
    Malformed(String, u32),
}

fn after_attempts(attempts: &u32) -> String {
    if *attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl LlmError {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::Malformed(message.into(), 1)
    }

    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Timeout(_, attempts)
            | Self::Transport(_, attempts)
            | Self::Malformed(_, attempts)
            | Self::Http { attempts, .. } => *attempts,
        }
    }

    /// Whether another attempt might succeed: transport errors, timeouts,
    /// HTTP 429 and 5xx; not other 4xx, nor answers that could not be read.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(..) | Self::Transport(..) => true,
            Self::Http { status, .. } => *status == 429 || (500..=599).contains(status),
            Self::Malformed(..) => false,
        }
    }

    fn with_attempts(mut self, count: u32) -> Self {
        match &mut self {
            Self::Timeout(_, attempts)
            | Self::Transport(_, attempts)
            | Self::Malformed(_, attempts)
            | Self::Http { attempts, .. } => *attempts = count,
        }
        self
    }

    /// The error as it leaves this module: without the key, the body cut short.
    fn finished(self, api_key: Option<&str>) -> Self {
        match self {
            Self::Http { status, body, attempts } => {
                Self::Http { status, body: cut_chars(redact(&body, api_key).trim(), ERROR_BODY_CHARS), attempts }
            }
            Self::Transport(message, attempts) => Self::Transport(redact(&message, api_key), attempts),
            Self::Malformed(message, attempts) => Self::Malformed(redact(&message, api_key), attempts),
            timeout @ Self::Timeout(..) => timeout,
        }
    }

    /// The failure in a few words, for [`Completion::retried`].
    fn summary(&self) -> String {
        match self {
            Self::Timeout(seconds, _) => format!("no answer within {seconds} s"),
            Self::Http { status, .. } => {
                match reqwest::StatusCode::from_u16(*status).ok().and_then(|s| s.canonical_reason()) {
                    Some(reason) => format!("HTTP {status} {reason}"),
                    None => format!("HTTP {status}"),
                }
            }
            Self::Transport(message, _) => format!("cannot reach the model endpoint: {message}"),
            Self::Malformed(message, _) => format!("unreadable answer: {message}"),
        }
    }
}

/// Replaces the key wherever a server echoed it.
fn redact(text: &str, api_key: Option<&str>) -> String {
    match api_key {
        Some(key) if text.contains(key) => text.replace(key, REDACTED_KEY),
        _ => text.to_owned(),
    }
}

/// Sends the conversation with the tools (none: no `tools` field) and
/// answers the completion.
///
/// `stream: true` asks for SSE and calls `on_delta` with each piece of
/// content and reasoning as it arrives; a plain JSON answer (which servers
/// may send anyway) comes to `on_delta` whole. Each attempt gets
/// `config.timeout`. An attempt that already passed text to `on_delta` is
/// not retried, since the caller has shown it.
pub async fn chat(
    http: &reqwest::Client,
    config: &LlmConfig,
    messages: &[ChatMessage],
    tools: &[ToolSpec],
    stream: bool,
    on_delta: &mut (dyn FnMut(Delta) + Send),
) -> Result<Completion, LlmError> {
    let url = endpoint_url(&config.base_url);
    let body = bytes::Bytes::from(request_body(&config.model, messages, tools, stream).to_string());
    let attempts_allowed = config.retries.saturating_add(1);
    let mut retried = Vec::new();
    let mut attempt_number = 1;
    loop {
        let mut delivered = false;
        let answer = send_once(http, config, &url, &body, stream, on_delta, &mut delivered);
        let failure = match tokio::time::timeout(config.timeout, answer).await {
            Ok(Ok(mut completion)) => {
                completion.retried = retried;
                return Ok(completion);
            }
            Ok(Err(failure)) => failure,
            Err(_elapsed) => AttemptFailure::from(LlmError::Timeout(whole_seconds(config.timeout), 1)),
        };
        if attempt_number >= attempts_allowed || delivered || !failure.error.is_retryable() {
            return Err(failure.error.with_attempts(attempt_number).finished(config.api_key()));
        }
        let wait = retry_wait(attempt_number - 1, failure.retry_after);
        let summary = redact(&failure.error.summary(), config.api_key());
        let note = format!("attempt {attempt_number}: {summary}; retried after {} s", wait.as_secs_f64());
        tracing::warn!(model = %config.model, "model call failed: {note}");
        retried.push(note);
        tokio::time::sleep(wait).await;
        attempt_number += 1;
    }
}

/// A failed attempt, with the server's `Retry-After` when it sent one.
#[derive(Debug)]
struct AttemptFailure {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl From<LlmError> for AttemptFailure {
    fn from(error: LlmError) -> Self {
        Self { error, retry_after: None }
    }
}

/// One request and its answer. Sets `delivered` once text went to `on_delta`.
async fn send_once(
    http: &reqwest::Client,
    config: &LlmConfig,
    url: &str,
    body: &bytes::Bytes,
    stream: bool,
    on_delta: &mut (dyn FnMut(Delta) + Send),
    delivered: &mut bool,
) -> Result<Completion, AttemptFailure> {
    let accept = if stream { "text/event-stream, application/json" } else { "application/json" };
    let mut request = http.post(url).header(CONTENT_TYPE, "application/json").header(ACCEPT, accept).body(body.clone());
    if let Some(key) = config.api_key() {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.map_err(|error| LlmError::Transport(describe_transport_error(&error), 1))?;
    let status = response.status();
    if !status.is_success() {
        let wait_hint = retry_after(response.headers());
        let message = describe_error_body(&read_error_body(response).await);
        let error = LlmError::Http { status: status.as_u16(), body: message, attempts: 1 };
        return Err(AttemptFailure { error, retry_after: wait_hint });
    }
    let mut forward = |delta: Delta| {
        *delivered = true;
        on_delta(delta);
    };
    let mut reader = AnswerReader::new(stream);
    let mut received = 0usize;
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            LlmError::Transport(format!("the answer broke off: {}", describe_transport_error(&error)), 1)
        })?;
        received += chunk.len();
        if received > MAX_ANSWER_BYTES {
            let limit = MAX_ANSWER_BYTES / (1024 * 1024);
            return Err(LlmError::malformed(format!("the answer is larger than {limit} MiB")).into());
        }
        reader.feed(&chunk, &mut forward)?;
        if reader.is_done() {
            break; // some servers keep the connection open after [DONE]
        }
    }
    Ok(reader.finish(&mut forward)?)
}

/// Where to POST: `{base_url}/chat/completions`, or `base_url` itself when
/// it already names that endpoint.
pub fn endpoint_url(base_url: &str) -> String {
    let base = base_url.trim().trim_end_matches('/');
    if base.ends_with("/chat/completions") {
        base.to_owned()
    } else {
        format!("{base}/chat/completions")
    }
}

/// The request's JSON body.
fn request_body(model: &str, messages: &[ChatMessage], tools: &[ToolSpec], stream: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": messages.iter().map(message_json).collect::<Vec<_>>(),
        "stream": stream,
        "temperature": TEMPERATURE,
    });
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools.iter().map(tool_json).collect());
        body["tool_choice"] = json!("auto");
    }
    body
}

fn message_json(message: &ChatMessage) -> Value {
    // `content` is always a string: some servers refuse null beside tool calls.
    let mut entry = json!({ "role": message.role, "content": message.content });
    if !message.tool_calls.is_empty() {
        let calls = message.tool_calls.iter().map(|call| {
            json!({
                "id": call.id,
                "type": "function",
                "function": { "name": call.name, "arguments": arguments_text(&call.arguments) },
            })
        });
        entry["tool_calls"] = Value::Array(calls.collect());
    }
    if let Some(call_id) = &message.tool_call_id {
        entry["tool_call_id"] = json!(call_id);
    }
    entry
}

/// Arguments as the JSON string servers expect. Arguments that could not be
/// read go back as `{}`: the history must stay valid JSON for strict
/// servers, and the tool message that answers the call says what was wrong.
fn arguments_text(arguments: &Result<Map<String, Value>, String>) -> String {
    match arguments {
        Ok(object) => serde_json::to_string(object).unwrap_or_else(|_| "{}".to_owned()),
        Err(_) => "{}".to_owned(),
    }
}

fn tool_json(tool: &ToolSpec) -> Value {
    // Some servers refuse a tool without a parameters schema.
    let parameters =
        if tool.parameters.is_null() { json!({"type": "object", "properties": {}}) } else { tool.parameters.clone() };
    json!({
        "type": "function",
        "function": { "name": tool.name, "description": tool.description, "parameters": parameters },
    })
}

/// A timeout in whole seconds, rounded up (a 200 ms timeout is "1 s", not "0 s").
fn whole_seconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// How long to wait before the next attempt: the server's `Retry-After`, or
/// 500 ms doubled for each earlier retry; at most 10 s either way.
fn retry_wait(earlier_retries: u32, retry_after: Option<Duration>) -> Duration {
    let backoff = || FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(earlier_retries));
    retry_after.unwrap_or_else(backoff).min(MAX_RETRY_WAIT)
}

/// A `Retry-After` header in seconds (an HTTP date is ignored: the backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_WAIT.as_secs_f64())))
}

/// The start of an error body; the rest is never shown.
async fn read_error_body(response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        let room = MAX_ERROR_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    body
}

/// An error body in words: the message of a JSON error, or the text itself
/// (cut and redacted later, in [`LlmError::finished`]).
fn describe_error_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(no body)".to_owned();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => error_message(&value),
        _ => text.to_owned(),
    }
}

/// A transport error with its causes (reqwest's own message is terse, the
/// cause says e.g. "Connection refused"). It never holds header values.
fn describe_transport_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = std::error::Error::source(cause);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use axum::routing::post;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    const KEY: &str = "sk-test-0123456789";

    fn config(base_url: &str) -> LlmConfig {
        LlmConfig {
            base_url: base_url.to_owned(),
            model: "test-model".into(),
            api_key: Some(KEY.into()),
            timeout: Duration::from_secs(5),
            retries: 2,
        }
    }

    /// Serves `router` on a free local port; answers a base URL for it (with
    /// a trailing slash, which the client must trim).
    async fn serve(router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{address}/v1/")
    }

    /// A client that ignores proxy settings of the machine running the tests.
    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    fn chat_answer(content: &str) -> Value {
        json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
    }

    #[test]
    fn endpoint_urls() {
        assert_eq!(endpoint_url("http://127.0.0.1:11434/v1"), "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(endpoint_url("http://127.0.0.1:11434/v1/"), "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(endpoint_url(" https://api.example/v1// "), "https://api.example/v1/chat/completions");
        assert_eq!(endpoint_url("http://h/v1/chat/completions"), "http://h/v1/chat/completions");
        assert_eq!(endpoint_url("http://h/v1/chat/completions/"), "http://h/v1/chat/completions");
    }

    #[test]
    fn the_request_body() {
        let call = |id: &str, arguments| ToolCall { id: id.into(), name: "lookup".into(), arguments };
        let mut assistant = ChatMessage::assistant("");
        assistant.tool_calls = vec![
            call("call_1", Ok(json!({"q": "disk"}).as_object().unwrap().clone())),
            call("call_2", Err("not valid JSON".into())),
        ];
        let messages = [
            ChatMessage::system("be brief"),
            ChatMessage::user("why is it slow?"),
            assistant,
            ChatMessage::tool("call_1", "93% full"),
        ];
        let tool = ToolSpec {
            name: "lookup".into(),
            description: "Looks things up.".into(),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        };
        let body = request_body("m", &messages, std::slice::from_ref(&tool), true);
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "why is it slow?"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"disk\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
                    ]},
                    {"role": "tool", "content": "93% full", "tool_call_id": "call_1"},
                ],
                "tools": [{"type": "function", "function": {
                    "name": "lookup", "description": "Looks things up.",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                }}],
                "tool_choice": "auto",
                "stream": true,
                "temperature": 0.2,
            })
        );
        let body = request_body("m", &messages[..1], &[], false);
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
        assert_eq!(body["stream"], json!(false));
    }

    #[test]
    fn which_failures_are_retried() {
        let http = |status| LlmError::Http { status, body: String::new(), attempts: 1 };
        assert!(LlmError::Timeout(5, 1).is_retryable());
        assert!(LlmError::Transport("refused".into(), 1).is_retryable());
        assert!(http(429).is_retryable());
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(401).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(!LlmError::malformed("x").is_retryable());
    }

    #[test]
    fn retry_waits() {
        assert_eq!(retry_wait(0, None), Duration::from_millis(500));
        assert_eq!(retry_wait(1, None), Duration::from_secs(1));
        assert_eq!(retry_wait(3, None), Duration::from_secs(4));
        assert_eq!(retry_wait(10, None), Duration::from_secs(10));
        assert_eq!(retry_wait(u32::MAX, None), Duration::from_secs(10));
        assert_eq!(retry_wait(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(retry_wait(0, Some(Duration::ZERO)), Duration::ZERO);

        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(10)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn errors_say_how_many_attempts_and_never_the_key() {
        assert_eq!(LlmError::Timeout(1, 1).to_string(), "the model did not answer within 1 s");
        assert_eq!(LlmError::Timeout(1, 3).to_string(), "the model did not answer within 1 s (after 3 attempts)");
        let error = LlmError::Http { status: 401, body: format!("Incorrect API key provided: {KEY}"), attempts: 1 };
        let error = error.with_attempts(2).finished(Some(KEY));
        assert_eq!(error.attempts(), 2);
        assert_eq!(
            error.to_string(),
            "the model endpoint answered HTTP 401: Incorrect API key provided: [api key] (after 2 attempts)"
        );
        let long = LlmError::Http { status: 500, body: "x".repeat(5000), attempts: 1 }.finished(None);
        assert!(matches!(long, LlmError::Http { body, .. } if body.chars().count() == ERROR_BODY_CHARS));

        assert_eq!(describe_error_body(br#"{"error":{"message":"rate limited","type":"requests"}}"#), "rate limited");
        assert_eq!(describe_error_body(b"  Bad Gateway \n"), "Bad Gateway");
        assert_eq!(describe_error_body(b""), "(no body)");

        assert_eq!(whole_seconds(Duration::from_millis(200)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
        assert_eq!(
            LlmError::Http { status: 503, body: String::new(), attempts: 1 }.summary(),
            "HTTP 503 Service Unavailable"
        );

        let printed = format!("{:?}", config("http://h/v1"));
        assert!(!printed.contains(KEY) && printed.contains("[api key]"), "{printed}");
    }

    /// (a) A stream in several network chunks, cut mid-event.
    #[tokio::test]
    async fn a_streamed_answer_over_http() {
        let events = [
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "<thi"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "nk>checking</think>\n\nHel"}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "lo"}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\":"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"disk\"}"}}]},
                "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}}),
        ];
        let mut stream = String::from(": keep-alive\r\n\r\n");
        for event in &events {
            stream.push_str(&format!("data: {event}\r\n\r\n"));
        }
        stream.push_str("data: [DONE]\r\n\r\n");
        let chunks: Vec<bytes::Bytes> = stream.as_bytes().chunks(37).map(bytes::Bytes::copy_from_slice).collect();

        // The request's Authorization header and body, as the endpoint saw them.
        type Seen = Arc<Mutex<Option<(Option<String>, Value)>>>;
        let seen: Seen = Arc::default();
        let handler = {
            let seen = seen.clone();
            move |headers: http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let (seen, chunks) = (seen.clone(), chunks.clone());
                async move {
                    let authorization =
                        headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    *seen.lock().unwrap() = Some((authorization, body));
                    let chunks = futures_util::stream::iter(chunks).then(|chunk| async move {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        Ok::<_, std::convert::Infallible>(chunk)
                    });
                    let body = axum::body::Body::from_stream(chunks);
                    ([(http::header::CONTENT_TYPE, "text/event-stream")], body).into_response()
                }
            }
        };
        let base_url = serve(axum::Router::new().route("/v1/chat/completions", post(handler))).await;
        let tool =
            ToolSpec { name: "lookup".into(), description: "Looks up.".into(), parameters: json!({"type": "object"}) };
        let mut deltas = Vec::new();
        let completion =
            chat(&client(), &config(&base_url), &[ChatMessage::user("hi")], &[tool], true, &mut |delta: Delta| {
                deltas.push(delta)
            })
            .await
            .unwrap();

        assert_eq!(completion.content, "Hello");
        assert_eq!(completion.reasoning, "checking");
        assert_eq!(completion.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            completion.tool_calls,
            vec![ToolCall {
                id: "call_a".into(),
                name: "lookup".into(),
                arguments: Ok(json!({"q": "disk"}).as_object().unwrap().clone()),
            }]
        );
        assert!(completion.retried.is_empty());
        assert_eq!(
            deltas,
            vec![Delta::Reasoning("checking".into()), Delta::Content("Hel".into()), Delta::Content("lo".into())]
        );
        let (authorization, body) = seen.lock().unwrap().clone().unwrap();
        assert_eq!(authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["stream"], true);
        assert_eq!(body["tool_choice"], "auto");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
    }

    /// (b) A 503, then a plain JSON answer although a stream was asked for.
    #[tokio::test]
    async fn a_503_is_retried() {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = {
            let calls = calls.clone();
            move || {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call == 0 {
                        (http::StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response()
                    } else {
                        axum::Json(chat_answer("fine")).into_response()
                    }
                }
            }
        };
        let base_url = serve(axum::Router::new().route("/v1/chat/completions", post(handler))).await;
        let mut deltas = Vec::new();
        let completion =
            chat(&client(), &config(&base_url), &[ChatMessage::user("hi")], &[], true, &mut |delta: Delta| {
                deltas.push(delta)
            })
            .await
            .unwrap();
        assert_eq!(completion.content, "fine");
        assert_eq!(completion.retried, vec!["attempt 1: HTTP 503 Service Unavailable; retried after 0.5 s".to_owned()]);
        assert_eq!(deltas, vec![Delta::Content("fine".into())]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Other 4xx are final at once; the key the server echoed is not repeated.
    #[tokio::test]
    async fn a_401_is_not_retried() {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = {
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let body = json!({"error": {"message": format!("Incorrect API key provided: {KEY}.")}});
                    (http::StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
                }
            }
        };
        let base_url = serve(axum::Router::new().route("/v1/chat/completions", post(handler))).await;
        let error = chat(&client(), &config(&base_url), &[ChatMessage::user("hi")], &[], false, &mut |_: Delta| {})
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(error.to_string(), "the model endpoint answered HTTP 401: Incorrect API key provided: [api key].");
    }

    /// (c) A slow answer runs into the timeout, on every attempt.
    #[tokio::test]
    async fn a_slow_answer_times_out() {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = {
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    axum::Json(chat_answer("late")).into_response()
                }
            }
        };
        let base_url = serve(axum::Router::new().route("/v1/chat/completions", post(handler))).await;
        let config = LlmConfig { timeout: Duration::from_millis(200), retries: 1, ..config(&base_url) };
        let error =
            chat(&client(), &config, &[ChatMessage::user("hi")], &[], false, &mut |_: Delta| {}).await.unwrap_err();
        assert!(matches!(error, LlmError::Timeout(1, 2)), "{error:?}");
        assert_eq!(error.to_string(), "the model did not answer within 1 s (after 2 attempts)");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A stream that stalls after passing on text is not retried: the
    /// caller has shown that text already.
    #[tokio::test]
    async fn a_stream_that_stalls_after_text_is_not_retried() {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = {
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let first =
                        format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": "partial"}}]}));
                    let chunks = futures_util::stream::iter([first, String::new()]).then(|chunk| async move {
                        if chunk.is_empty() {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        Ok::<_, std::convert::Infallible>(chunk)
                    });
                    ([(http::header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::from_stream(chunks))
                        .into_response()
                }
            }
        };
        let base_url = serve(axum::Router::new().route("/v1/chat/completions", post(handler))).await;
        let config = LlmConfig { timeout: Duration::from_millis(300), retries: 2, ..config(&base_url) };
        let mut deltas = Vec::new();
        let error =
            chat(&client(), &config, &[ChatMessage::user("hi")], &[], true, &mut |delta: Delta| deltas.push(delta))
                .await
                .unwrap_err();
        assert!(matches!(error, LlmError::Timeout(1, 1)), "{error:?}");
        assert_eq!(deltas, vec![Delta::Content("partial".into())]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_transport_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let config = LlmConfig { retries: 0, ..config(&format!("http://{address}/v1")) };
        let error =
            chat(&client(), &config, &[ChatMessage::user("hi")], &[], false, &mut |_: Delta| {}).await.unwrap_err();
        assert!(matches!(error, LlmError::Transport(_, 1)), "{error:?}");
        assert!(!error.to_string().contains(KEY));
    }
}

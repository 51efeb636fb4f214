//! An OpenAI-compatible model endpoint served over real HTTP by the test
//! itself: `POST /v1/chat/completions` records every request and answers
//! from a script, as plain JSON or as a server-sent-event stream.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the model answers next.
pub enum Reply {
    /// A whole chat completion body.
    Json(Value),
    /// These `data:` payloads as an SSE stream, `gap` apart, then `[DONE]`.
    Stream(Vec<Value>, Duration),
    /// This status and body.
    Status(u16, &'static str),
    /// Nothing for this long, then this completion.
    Slow(Duration, Value),
}

/// Agents' requests (they carry `tools`) are answered from `replies`; the
/// others (reviews, plan drafts) from `reviews`, else with a valid review.
#[derive(Default)]
pub struct Script {
    pub replies: VecDeque<Reply>,
    pub requests: Vec<Value>,
    pub reviews: VecDeque<Reply>,
    pub review_requests: Vec<Value>,
}

pub type Shared = Arc<Mutex<Script>>;

/// Queues replies to agents.
pub fn script(replies: Vec<Reply>) -> Shared {
    Arc::new(Mutex::new(Script { replies: replies.into(), ..Script::default() }))
}

/// A review the schema accepts.
pub const REVIEW: &str = "{\"summary\": \"A host problem.\", \"severity\": \"medium\", \"category\": \"technical\", \
                          \"findings\": [], \"questions\": []}";

/// A completion whose text is `json`.
pub fn review(json: &str) -> Value {
    completion(json, &[])
}

async fn complete(State(script): State<Shared>, Json(body): Json<Value>) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        if body.get("tools").is_some() {
            script.requests.push(body);
            script.replies.pop_front()
        } else {
            script.review_requests.push(body);
            Some(script.reviews.pop_front().unwrap_or_else(|| Reply::Json(review(REVIEW))))
        }
    };
    match reply {
        Some(Reply::Json(value)) => Json(value).into_response(),
        Some(Reply::Status(code, text)) => (axum::http::StatusCode::from_u16(code).unwrap(), text).into_response(),
        Some(Reply::Slow(pause, value)) => {
            tokio::time::sleep(pause).await;
            Json(value).into_response()
        }
        Some(Reply::Stream(events, gap)) => {
            let stream = async_stream(events, gap);
            Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(stream)).unwrap()
        }
        None => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}

/// The SSE bytes, one event per `gap`.
fn async_stream(
    events: Vec<Value>,
    gap: Duration,
) -> impl futures_util::Stream<Item = Result<String, std::convert::Infallible>> {
    let mut chunks: Vec<String> = events.into_iter().map(|e| format!("data: {e}\n\n")).collect();
    chunks.push("data: [DONE]\n\n".to_owned());
    futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
        let next = rest.next()?;
        tokio::time::sleep(gap).await;
        Some((Ok(next), rest))
    })
}

/// Serves the scripted model on a free port; answers its base URL (`…/v1`).
pub async fn serve_model(script: Shared) -> String {
    let app = Router::new().route("/v1/chat/completions", post(complete)).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

/// A non-streamed completion with this text and these tool calls
/// (`(id, name, arguments as a JSON string)`).
pub fn completion(content: &str, calls: &[(&str, &str, Value)]) -> Value {
    let tool_calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, arguments)| {
            json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments.to_string() } })
        })
        .collect();
    let mut message = json!({ "role": "assistant", "content": content });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({ "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{ "index": 0, "message": message, "finish_reason": "stop" }] })
}

/// A streamed chunk carrying `delta`.
pub fn chunk(delta: Value) -> Value {
    json!({ "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test-model",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": null }] })
}

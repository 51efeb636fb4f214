//! A custom agent served over real HTTP by the test itself: it records
//! every request and answers from a script.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the scripted agent answers next.
pub enum Answer {
    /// This JSON, with `"thread_id": "$THREAD"` replaced by the request's.
    Json(Value),
    /// This status and text body.
    Status(u16, &'static str),
    /// After a pause.
    Slow(Duration, Value),
}

#[derive(Default)]
pub struct Script {
    pub answers: VecDeque<Answer>,
    pub requests: Vec<(HeaderMap, Value)>,
}

pub type Shared = Arc<Mutex<Script>>;

async fn send_message(State(script): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let answer = {
        let mut script = script.lock().unwrap();
        script.requests.push((headers, body.clone()));
        script.answers.pop_front()
    };
    let fill = |mut value: Value| {
        if value.get("thread_id") == Some(&json!("$THREAD")) {
            value["thread_id"] = body["thread_id"].clone();
        }
        value
    };
    match answer {
        Some(Answer::Json(value)) => Json(fill(value)).into_response(),
        Some(Answer::Status(code, text)) => (axum::http::StatusCode::from_u16(code).unwrap(), text).into_response(),
        Some(Answer::Slow(pause, value)) => {
            tokio::time::sleep(pause).await;
            Json(fill(value)).into_response()
        }
        None => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}

/// Serves the scripted agent on a free port; answers its base URL.
pub async fn serve_agent(script: Shared) -> String {
    let app = Router::new().route("/agent/api/sendMessage", post(send_message)).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/agent")
}

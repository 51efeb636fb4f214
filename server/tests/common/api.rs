//! The token API as tests call it: JSON in, `(status, JSON)` out, and the
//! timeline's long poll.

use super::{client, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

pub const TICKETS: &str = "/api/v1/org/support/tickets";

/// A server and the token a test acts with.
pub struct Api {
    pub server: TestServer,
    pub token: String,
}

impl Api {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = client().request(method, self.server.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Long-polls the timeline after `after` until an entry satisfies
    /// `matches`; answers every entry seen, up to the end of that page
    /// (entries committed with it come along).
    pub async fn wait_until(&self, ticket: &str, after: i64, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        let mut cursor = after;
        for _ in 0..30 {
            let (status, page) = self.get(&format!("{TICKETS}/{ticket}/events?after={cursor}&wait=10")).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            cursor = page["last_seq"].as_i64().unwrap();
            let entries = page["entries"].as_array().unwrap();
            seen.extend(entries.iter().cloned());
            if entries.iter().any(&matches) {
                return seen;
            }
        }
        panic!("no matching entry after seq {after}; saw {seen:#?}");
    }

    /// [`Api::wait_until`] an entry of `kind`.
    pub async fn wait_for(&self, ticket: &str, after: i64, kind: &str) -> Vec<Value> {
        self.wait_until(ticket, after, |e| e["kind"] == kind).await
    }
}

//! A client for OpenAI-compatible chat completions (Ollama, vLLM, llama.cpp
//! server, LiteLLM, OpenAI) that tolerates the ways their answers differ:
//! [`chat`] sends a conversation and answers a [`Completion`], streamed or
//! not, with what it had to repair noted in words.
//!
//! - [`client`]: the types, the request, retries and timeouts.
//! - `answer`: reading an answer (JSON or SSE) into a completion, repairing
//!   tool calls and moving `<think>` blocks to the reasoning.
//! - [`sse`]: server-sent events framing.
//! - [`settings`]: which endpoint an org uses.

mod answer;
pub mod client;
pub mod settings;
pub mod sse;

pub use client::{chat, ChatMessage, ChatRole, Completion, Delta, LlmConfig, LlmError, ToolCall, ToolSpec};

/// The JSON object in a model's text answer (code fences, words around it
/// allowed), for the callers that ask for JSON instead of tool calls.
pub fn json_object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    answer::parse_arguments(text, &mut Vec::new())
}

/// A configuration for calls a person waits on (the review, a plan draft):
/// a short time-out and no retries, so a hung endpoint falls back quickly.
pub fn interactive(config: &LlmConfig) -> LlmConfig {
    LlmConfig { timeout: config.timeout.min(INTERACTIVE_TIMEOUT), retries: 0, ..config.clone() }
}

/// The longest a person waits for the model before the fallback.
const INTERACTIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

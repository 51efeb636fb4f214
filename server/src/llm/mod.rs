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

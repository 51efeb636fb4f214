//! Reading a chat-completions answer, streamed or whole, into a
//! [`Completion`], and repairing on the way what compatible servers and the
//! models behind them get wrong. No network here: [`AnswerReader`] takes the
//! body's bytes as they come, so all of this is tested on byte chunks.
//!
//! Every repair is noted in words in [`Completion::repairs`], so a caller can
//! tell a flaky server or model from a flaky agent.

use super::client::{Completion, Delta, LlmError, ToolCall};
use super::sse::SseDecoder;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Longest excerpt of unreadable text quoted in a message.
const EXCERPT_CHARS: usize = 120;
const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

// What was repaired, in words (each noted once per completion).
const ARGUMENTS_AS_OBJECT: &str = "tool arguments came as an object, not a JSON string";
const ARGUMENTS_DOUBLE_ENCODED: &str = "tool arguments came as a JSON string inside a JSON string";
const ARGUMENTS_NULL: &str = "tool arguments came as null and were read as {}";
const ARGUMENTS_FENCED: &str = "tool arguments were wrapped in a ``` code fence";
const ARGUMENTS_TEXT_BEFORE: &str = "tool arguments had text before the JSON object";
const ARGUMENTS_TEXT_AFTER: &str = "tool arguments had text after the JSON object";
const CALL_ID_MISSING: &str = "a tool call came without an id; one was made up";
const CALL_ID_DUPLICATE: &str = "two tool calls came with the same id; one was made up";
const CALLS_SHARED_AN_INDEX: &str = "several tool calls were streamed at the same index and were told apart";
const LEGACY_FUNCTION_CALL: &str = "the answer used the legacy `function_call` instead of `tool_calls`";
const CONTENT_AS_PARTS: &str = "the content came as a list of parts, not a string";
const THINK_MOVED: &str = "a <think> block at the start of the content was moved to the reasoning";
const THINK_UNCLOSED: &str = "a <think> block was never closed";
const PLAIN_JSON_FOR_STREAM: &str = "a stream was asked for but the answer came as plain JSON";
const EVENTS_RUN_TOGETHER: &str = "stream events were not separated by blank lines";
const STREAM_CUT_SHORT: &str = "the stream ended without [DONE] or a finish reason";

/// Notes a repair once.
fn note(repairs: &mut Vec<String>, what: &str) {
    if !repairs.iter().any(|repair| repair == what) {
        repairs.push(what.to_owned());
    }
}

/// The first `max` characters of `text`, with an ellipsis when it was longer.
pub(crate) fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn excerpt(text: &str) -> String {
    cut_chars(text, EXCERPT_CHARS)
}

/// What the body turned out to be (whatever its Content-Type said).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyShape {
    /// One JSON answer (it starts with `{`).
    Json,
    /// Server-sent events (anything else).
    EventStream,
}

/// Reads a successful answer's body, chunk by chunk, into a completion.
#[derive(Debug)]
pub(crate) struct AnswerReader {
    stream_requested: bool,
    shape: Option<BodyShape>,
    /// A plain JSON answer, kept whole until the end.
    json: Vec<u8>,
    sse: SseDecoder,
    /// `data: [DONE]` was read: the rest of the body is not looked at.
    done: bool,
    assembler: Assembler,
}

impl AnswerReader {
    pub(crate) fn new(stream_requested: bool) -> Self {
        Self {
            stream_requested,
            shape: None,
            json: Vec::new(),
            sse: SseDecoder::new(),
            done: false,
            assembler: Assembler::default(),
        }
    }

    /// Reads the next bytes of the body, passing on text as it completes.
    /// Fails on an error the server reported inside the stream, or an
    /// event that is not JSON.
    pub(crate) fn feed(&mut self, bytes: &[u8], on_delta: &mut dyn FnMut(Delta)) -> Result<(), LlmError> {
        if self.done {
            return Ok(());
        }
        let shape = match self.shape {
            Some(shape) => shape,
            None => match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
                None => return Ok(()), // leading whitespace decides nothing
                Some(b'{') => BodyShape::Json,
                Some(_) => BodyShape::EventStream,
            },
        };
        self.shape = Some(shape);
        match shape {
            BodyShape::Json => self.json.extend_from_slice(bytes),
            BodyShape::EventStream => {
                for data in self.sse.feed(bytes) {
                    self.event(&data, on_delta)?;
                    if self.done {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the stream said it is complete (`[DONE]`), so reading can stop.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The body has ended: the completion.
    pub(crate) fn finish(mut self, on_delta: &mut dyn FnMut(Delta)) -> Result<Completion, LlmError> {
        match self.shape {
            None => Err(LlmError::malformed("the answer was empty")),
            Some(BodyShape::Json) => {
                let value: Value = serde_json::from_slice(&self.json).map_err(|error| {
                    let start = String::from_utf8_lossy(&self.json);
                    LlmError::malformed(format!(
                        "the answer is not JSON ({error}); it starts with {:?}",
                        excerpt(&start)
                    ))
                })?;
                self.assembler.push(&value, true, on_delta)?;
                if self.stream_requested {
                    self.assembler.note(PLAIN_JSON_FOR_STREAM);
                }
                self.assembler.finish(on_delta)
            }
            Some(BodyShape::EventStream) => {
                if !self.done {
                    for data in self.sse.finish() {
                        self.event(&data, on_delta)?;
                        if self.done {
                            break;
                        }
                    }
                }
                if !self.done && self.assembler.finish_reason.is_none() && self.assembler.saw_choice {
                    self.assembler.note(STREAM_CUT_SHORT);
                }
                self.assembler.finish(on_delta)
            }
        }
    }

    /// One event's data: a JSON chunk, `[DONE]`, or (from servers that
    /// forget the blank lines) several chunks on lines of their own.
    fn event(&mut self, data: &str, on_delta: &mut dyn FnMut(Delta)) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let error = match serde_json::from_str::<Value>(data) {
            Ok(chunk) => return self.assembler.push(&chunk, false, on_delta),
            Err(error) => error,
        };
        let lines: Vec<&str> = data.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
        if lines.len() < 2 {
            return Err(LlmError::malformed(format!("a stream event is not JSON ({error}): {:?}", excerpt(data))));
        }
        self.assembler.note(EVENTS_RUN_TOGETHER);
        for line in lines {
            if line == "[DONE]" {
                self.done = true;
                return Ok(());
            }
            let chunk: Value = serde_json::from_str(line).map_err(|error| {
                LlmError::malformed(format!("a stream event is not JSON ({error}): {:?}", excerpt(line)))
            })?;
            self.assembler.push(&chunk, false, on_delta)?;
        }
        Ok(())
    }
}

/// Builds a completion from streamed chunks (`choices[0].delta`) or from a
/// whole answer (`choices[0].message`), which carry the same fields.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    think: ThinkSplitter,
    content: String,
    reasoning: String,
    calls: Vec<PartialCall>,
    /// From the legacy `function_call` field; used only when no `tool_calls` came.
    legacy_call: Option<PartialCall>,
    finish_reason: Option<String>,
    repairs: Vec<String>,
    /// Whether any choice came at all (usage-only chunks have none).
    saw_choice: bool,
}

impl Assembler {
    fn note(&mut self, what: &str) {
        note(&mut self.repairs, what);
    }

    /// Takes in one chunk (`whole == false`) or a whole answer (`whole == true`).
    pub(crate) fn push(&mut self, value: &Value, whole: bool, on_delta: &mut dyn FnMut(Delta)) -> Result<(), LlmError> {
        if let Some(error) = reported_error(value) {
            return Err(error);
        }
        let choices = match value.get("choices") {
            Some(Value::Array(choices)) => choices,
            None | Some(Value::Null) if !whole => return Ok(()), // e.g. a usage-only chunk
            None | Some(Value::Null) => return Err(LlmError::malformed("the answer has no `choices`")),
            Some(_) => return Err(LlmError::malformed("the answer's `choices` is not a list")),
        };
        for choice in choices {
            // We ask for one choice; a server that sends more gets its first read.
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            self.saw_choice = true;
            let (first, second) = if whole { ("message", "delta") } else { ("delta", "message") };
            let part = choice.get(first).filter(|part| part.is_object());
            match part.or_else(|| choice.get(second).filter(|part| part.is_object())) {
                Some(part) => self.push_part(part, whole, on_delta),
                // Completion-style servers put the text on the choice itself.
                None => {
                    if let Some(text) = choice.get("text").and_then(Value::as_str) {
                        self.push_content(text, on_delta);
                    }
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str).filter(|r| !r.is_empty()) {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        Ok(())
    }

    fn push_part(&mut self, part: &Value, whole: bool, on_delta: &mut dyn FnMut(Delta)) {
        // vLLM and DeepSeek say `reasoning_content`, OpenRouter and Ollama
        // `reasoning`; newer vLLM sends both with the same text.
        let reasoning = non_empty_str(part, "reasoning_content").or_else(|| non_empty_str(part, "reasoning"));
        if let Some(reasoning) = reasoning {
            self.emit(Delta::Reasoning(reasoning.to_owned()), on_delta);
        }
        match part.get("content") {
            Some(Value::String(text)) => self.push_content(text, on_delta),
            Some(Value::Array(parts)) => {
                let text: String = parts
                    .iter()
                    .filter_map(|part| part.get("text").and_then(Value::as_str).or_else(|| part.as_str()))
                    .collect();
                self.note(CONTENT_AS_PARTS);
                self.push_content(&text, on_delta);
            }
            _ => {} // null or absent, e.g. beside tool calls
        }
        if let Some(calls) = part.get("tool_calls").and_then(Value::as_array) {
            for (position, call) in calls.iter().enumerate() {
                // In a whole message each entry is a call of its own.
                let position = position as u64;
                let index =
                    if whole { position } else { call.get("index").and_then(Value::as_u64).unwrap_or(position) };
                self.push_tool_call(index, call);
            }
        }
        if let Some(function) = part.get("function_call").filter(|function| function.is_object()) {
            let name = function.get("name").and_then(Value::as_str).unwrap_or("");
            let call = self.legacy_call.get_or_insert_with(PartialCall::default);
            if call.absorb("", name, function.get("arguments")) {
                self.note(ARGUMENTS_AS_OBJECT);
            }
        }
    }

    fn push_content(&mut self, text: &str, on_delta: &mut dyn FnMut(Delta)) {
        let mut pieces = Vec::new();
        self.think.feed(text, &mut pieces);
        for piece in pieces {
            self.emit(piece, on_delta);
        }
    }

    fn emit(&mut self, delta: Delta, on_delta: &mut dyn FnMut(Delta)) {
        match &delta {
            Delta::Content(text) | Delta::Reasoning(text) if text.is_empty() => return,
            Delta::Content(text) => self.content.push_str(text),
            Delta::Reasoning(text) => self.reasoning.push_str(text),
        }
        on_delta(delta);
    }

    fn push_tool_call(&mut self, index: u64, delta: &Value) {
        let id = delta.get("id").and_then(Value::as_str).unwrap_or("");
        let function = delta.get("function");
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or("");
        let arguments = function.and_then(|f| f.get("arguments"));
        let current = self.calls.iter().rposition(|call| call.index == index);
        let continued = current.filter(|&at| self.calls[at].is_continued_by(id, name));
        if current.is_some() && continued.is_none() {
            self.note(CALLS_SHARED_AN_INDEX);
        }
        let at = match continued {
            Some(at) => at,
            None => {
                self.calls.push(PartialCall { index, ..PartialCall::default() });
                self.calls.len() - 1
            }
        };
        if self.calls[at].absorb(id, name, arguments) {
            self.note(ARGUMENTS_AS_OBJECT);
        }
    }

    /// The stream or answer has ended: the completion.
    pub(crate) fn finish(mut self, on_delta: &mut dyn FnMut(Delta)) -> Result<Completion, LlmError> {
        let mut pieces = Vec::new();
        self.think.finish(&mut pieces);
        for piece in pieces {
            self.emit(piece, on_delta);
        }
        if self.think.opened {
            self.note(THINK_MOVED);
            if !self.think.closed {
                self.note(THINK_UNCLOSED);
            }
        }
        if !self.saw_choice {
            return Err(LlmError::malformed("the answer has no choices"));
        }
        let mut partials: Vec<PartialCall> =
            std::mem::take(&mut self.calls).into_iter().filter(|call| !call.is_empty()).collect();
        if partials.is_empty() {
            if let Some(legacy) = self.legacy_call.take().filter(|call| !call.is_empty()) {
                self.note(LEGACY_FUNCTION_CALL);
                partials.push(legacy);
            }
        }
        let tool_calls = self.finish_calls(partials);
        Ok(Completion {
            content: self.content,
            reasoning: self.reasoning,
            tool_calls,
            finish_reason: self.finish_reason,
            repairs: self.repairs,
            retried: Vec::new(),
        })
    }

    /// Gives every call a unique id (keeping the server's where it can) and
    /// reads its arguments.
    fn finish_calls(&mut self, partials: Vec<PartialCall>) -> Vec<ToolCall> {
        let server_ids: HashSet<String> =
            partials.iter().filter(|call| !call.id.is_empty()).map(|call| call.id.clone()).collect();
        let mut used: HashSet<String> = HashSet::new();
        let mut next_number = 1u32;
        let mut calls = Vec::with_capacity(partials.len());
        for partial in partials {
            let id = if !partial.id.is_empty() && !used.contains(&partial.id) {
                partial.id.clone()
            } else {
                self.note(if partial.id.is_empty() { CALL_ID_MISSING } else { CALL_ID_DUPLICATE });
                loop {
                    let candidate = format!("call_{next_number}");
                    next_number += 1;
                    if !server_ids.contains(&candidate) && !used.contains(&candidate) {
                        break candidate;
                    }
                }
            };
            used.insert(id.clone());
            let arguments = parse_arguments(&partial.arguments, &mut self.repairs);
            calls.push(ToolCall { id, name: partial.name.trim().to_owned(), arguments });
        }
        calls
    }
}

/// A tool call as it is being streamed.
#[derive(Debug, Default)]
struct PartialCall {
    /// The server's `index` (the position, in a whole message).
    index: u64,
    id: String,
    name: String,
    /// The arguments text so far.
    arguments: String,
}

impl PartialCall {
    fn is_empty(&self) -> bool {
        self.id.is_empty() && self.name.is_empty() && self.arguments.trim().is_empty()
    }

    /// Whether a delta at this call's index goes on with it, or starts the
    /// next call (some servers stream every call at index 0): a new id starts
    /// one, and so does a name once this call has a name and some arguments,
    /// unless that is the same name repeated while the arguments are still
    /// incomplete.
    fn is_continued_by(&self, id: &str, name: &str) -> bool {
        if !id.is_empty() && !self.id.is_empty() {
            return id == self.id;
        }
        if name.is_empty() || self.name.is_empty() || self.arguments.trim().is_empty() {
            return true;
        }
        name == self.name && !is_complete_json(&self.arguments)
    }

    /// Takes in a delta's pieces; answers whether the arguments came as a
    /// JSON object rather than a string.
    fn absorb(&mut self, id: &str, name: &str, arguments: Option<&Value>) -> bool {
        if self.id.is_empty() {
            self.id = id.to_owned();
        }
        // A different name before any arguments is the rest of the name.
        if !name.is_empty() && name != self.name && self.arguments.is_empty() {
            self.name.push_str(name);
        }
        match arguments {
            None | Some(Value::Null) => false,
            Some(Value::String(piece)) => {
                self.arguments.push_str(piece);
                false
            }
            Some(other) => {
                self.arguments.push_str(&other.to_string());
                other.is_object()
            }
        }
    }
}

fn is_complete_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text.trim()).is_ok()
}

fn non_empty_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// Reads a tool call's arguments text as a JSON object, repairing what
/// models commonly wrap around it; when it cannot, answers why (with an
/// excerpt), for the caller to tell the model and the person.
pub(crate) fn parse_arguments(text: &str, repairs: &mut Vec<String>) -> Result<Map<String, Value>, String> {
    let mut text = text.trim();
    if let Some(inner) = strip_code_fence(text) {
        note(repairs, ARGUMENTS_FENCED);
        text = inner.trim();
    }
    if text.is_empty() {
        return Ok(Map::new());
    }
    let error = match serde_json::from_str::<Value>(text) {
        Ok(value) => return object_from(value, repairs),
        Err(error) => error,
    };
    if let Some(start) = text.find('{') {
        let rest = &text[start..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Map<String, Value>>();
        if let Some(Ok(object)) = values.next() {
            if start > 0 {
                note(repairs, ARGUMENTS_TEXT_BEFORE);
            }
            if values.byte_offset() < rest.len() {
                note(repairs, ARGUMENTS_TEXT_AFTER);
            }
            return Ok(object);
        }
    }
    Err(format!("the arguments are not valid JSON ({error}): {:?}", excerpt(text)))
}

fn object_from(value: Value, repairs: &mut Vec<String>) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(object) => Ok(object),
        Value::Null => {
            note(repairs, ARGUMENTS_NULL);
            Ok(Map::new())
        }
        Value::String(inner) => match serde_json::from_str::<Value>(inner.trim()) {
            Ok(Value::Object(object)) => {
                note(repairs, ARGUMENTS_DOUBLE_ENCODED);
                Ok(object)
            }
            _ => Err(format!("the arguments are a JSON string, not an object: {:?}", excerpt(&inner))),
        },
        Value::Array(_) => Err("the arguments are a JSON array, not an object".to_owned()),
        Value::Bool(_) | Value::Number(_) => Err(format!("the arguments are {value}, not a JSON object")),
    }
}

/// The inside of a ```` ```json … ``` ```` fence, when `text` starts with one.
fn strip_code_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    // The info string (`json`) runs to the end of the fence's line.
    let body = match rest.find('\n') {
        Some(newline) => &rest[newline + 1..],
        None => rest.trim_start_matches(|c: char| c.is_ascii_alphabetic()),
    };
    Some(match body.find("```") {
        Some(end) => &body[..end],
        None => body,
    })
}

/// The error a server reported in a body or a stream event, if any:
/// `{"error": …}` (OpenAI, LiteLLM, llama.cpp) or `{"object": "error", …}` (vLLM).
fn reported_error(value: &Value) -> Option<LlmError> {
    let error = match value.get("error") {
        Some(error) if !error.is_null() => error,
        _ if value.get("object").and_then(Value::as_str) == Some("error") => value,
        _ => return None,
    };
    let message = error_message(error);
    let status = ["code", "status"]
        .iter()
        .filter_map(|key| error.get(*key))
        .find_map(|code| code.as_u64().or_else(|| code.as_str()?.trim().parse::<u64>().ok()))
        .filter(|code| (400..=599).contains(code));
    Some(match status {
        Some(status) => LlmError::Http { status: status as u16, body: message, attempts: 1 },
        None => LlmError::malformed(format!("the server reported an error: {message}")),
    })
}

/// The human part of an error object or body: its `message`, a nested
/// `error`'s, FastAPI's `detail`, or else the whole thing.
pub(crate) fn error_message(error: &Value) -> String {
    match error {
        Value::String(text) => text.clone(),
        Value::Object(fields) => {
            if let Some(message) = fields.get("message").and_then(Value::as_str) {
                message.to_owned()
            } else if let Some(nested) = fields.get("error").filter(|nested| !nested.is_null()) {
                error_message(nested)
            } else if let Some(detail) = fields.get("detail") {
                match detail {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                }
            } else {
                error.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Where the content is, relative to a leading `<think>` block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ThinkState {
    /// Nothing but whitespace yet: a `<think>` may still come.
    #[default]
    Start,
    /// Inside `<think>`: text is reasoning until `</think>`.
    Thinking,
    /// Right after `</think>`: whitespace before the answer is dropped.
    AfterThinking,
    /// The answer: passed on as it comes.
    Content,
}

/// Moves a `<think>…</think>` block at the start of the content to the
/// reasoning (models served without a reasoning parser put it there), also
/// when the tags are split across chunks. Only text that might still be
/// part of a tag is held back.
#[derive(Debug, Default)]
struct ThinkSplitter {
    state: ThinkState,
    /// Text not passed on yet.
    pending: String,
    opened: bool,
    closed: bool,
}

impl ThinkSplitter {
    fn feed(&mut self, text: &str, out: &mut Vec<Delta>) {
        self.pending.push_str(text);
        loop {
            match self.state {
                ThinkState::Start => {
                    let trimmed = self.pending.trim_start();
                    if let Some(rest) = trimmed.strip_prefix(THINK_OPEN) {
                        self.pending = rest.to_owned();
                        self.opened = true;
                        self.state = ThinkState::Thinking;
                    } else if trimmed.is_empty() || THINK_OPEN.starts_with(trimmed) {
                        return; // wait: this may still become `<think>`
                    } else {
                        self.state = ThinkState::Content;
                    }
                }
                ThinkState::Thinking => {
                    if let Some(end) = self.pending.find(THINK_CLOSE) {
                        let rest = self.pending.split_off(end + THINK_CLOSE.len());
                        self.pending.truncate(end);
                        let reasoning = std::mem::replace(&mut self.pending, rest);
                        if !reasoning.is_empty() {
                            out.push(Delta::Reasoning(reasoning));
                        }
                        self.closed = true;
                        self.state = ThinkState::AfterThinking;
                    } else {
                        let ready = self.pending.len() - partial_tag_len(&self.pending, THINK_CLOSE);
                        if ready > 0 {
                            out.push(Delta::Reasoning(self.pending.drain(..ready).collect()));
                        }
                        return;
                    }
                }
                ThinkState::AfterThinking => {
                    let trimmed = self.pending.trim_start();
                    if trimmed.is_empty() {
                        self.pending.clear();
                        return;
                    }
                    self.pending = trimmed.to_owned();
                    self.state = ThinkState::Content;
                }
                ThinkState::Content => {
                    if !self.pending.is_empty() {
                        out.push(Delta::Content(std::mem::take(&mut self.pending)));
                    }
                    return;
                }
            }
        }
    }

    /// The content has ended: passes on what was held back.
    fn finish(&mut self, out: &mut Vec<Delta>) {
        let rest = std::mem::take(&mut self.pending);
        if rest.is_empty() {
            return;
        }
        match self.state {
            ThinkState::Start | ThinkState::Content => out.push(Delta::Content(rest)),
            ThinkState::Thinking => out.push(Delta::Reasoning(rest)),
            ThinkState::AfterThinking => {}
        }
    }
}

/// How many bytes at the end of `text` could be the start of `tag`.
fn partial_tag_len(text: &str, tag: &str) -> usize {
    (1..tag.len()).rev().find(|&len| text.ends_with(&tag[..len])).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads a body given in chunks; answers the result and the deltas passed on.
    fn read_chunks(chunks: &[&str], stream_requested: bool) -> (Result<Completion, LlmError>, Vec<Delta>) {
        let mut deltas = Vec::new();
        let result = {
            let mut on_delta = |delta: Delta| deltas.push(delta);
            let mut reader = AnswerReader::new(stream_requested);
            let mut outcome = Ok(());
            for chunk in chunks {
                outcome = reader.feed(chunk.as_bytes(), &mut on_delta);
                if outcome.is_err() || reader.is_done() {
                    break;
                }
            }
            outcome.and_then(|()| reader.finish(&mut on_delta))
        };
        (result, deltas)
    }

    /// An SSE body with one event per JSON chunk.
    fn sse(chunks: &[Value]) -> String {
        chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).collect()
    }

    fn delta(delta: Value) -> Value {
        json!({"choices": [{"index": 0, "delta": delta}]})
    }

    fn streamed(chunks: &[Value]) -> Completion {
        let body = sse(chunks) + "data: [DONE]\n\n";
        read_chunks(&[&body], true).0.unwrap()
    }

    fn whole(message: Value) -> Completion {
        let body = json!({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).to_string();
        read_chunks(&[&body], false).0.unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn has(completion: &Completion, repair: &str) -> bool {
        completion.repairs.iter().any(|r| r == repair)
    }

    #[test]
    fn a_plain_json_answer() {
        let completion = whole(json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{"id": "call_x", "type": "function",
                            "function": {"name": "lookup", "arguments": "{\"q\":\"disk\"}"}}]
        }));
        assert_eq!(completion.content, "");
        assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            completion.tool_calls,
            vec![ToolCall { id: "call_x".into(), name: "lookup".into(), arguments: Ok(object(json!({"q": "disk"}))) }]
        );
        assert!(completion.repairs.is_empty(), "{:?}", completion.repairs);
    }

    #[test]
    fn quirk_1_arguments_as_an_object() {
        let message = json!({"content": "", "tool_calls": [
            {"id": "a", "function": {"name": "lookup", "arguments": {"q": "disk"}}}]});
        let completion = whole(message);
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"q": "disk"}))));
        assert!(has(&completion, ARGUMENTS_AS_OBJECT));

        let completion = streamed(&[
            delta(json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "lookup"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": {"q": "disk"}}}]})),
        ]);
        assert_eq!(completion.tool_calls[0].name, "lookup");
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"q": "disk"}))));
        assert_eq!(completion.repairs, vec![ARGUMENTS_AS_OBJECT.to_owned()]);
    }

    #[test]
    fn quirk_2_missing_or_empty_ids_are_made_up_and_unique() {
        let completion = whole(json!({"tool_calls": [
            {"function": {"name": "a", "arguments": "{}"}},
            {"id": "", "function": {"name": "b", "arguments": "{}"}},
            {"id": "call_2", "function": {"name": "c", "arguments": "{}"}},
            {"id": "call_2", "function": {"name": "d", "arguments": "{}"}},
        ]}));
        let ids: Vec<&str> = completion.tool_calls.iter().map(|call| call.id.as_str()).collect();
        // call_2 is the server's, so the made-up ones skip it.
        assert_eq!(ids, vec!["call_1", "call_3", "call_2", "call_4"]);
        assert!(has(&completion, CALL_ID_MISSING));
        assert!(has(&completion, CALL_ID_DUPLICATE));

        let completion = streamed(&[
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "a", "arguments": "{}"}}]})),
            delta(json!({"tool_calls": [{"index": 1, "function": {"name": "b", "arguments": "{}"}}]})),
        ]);
        let ids: Vec<&str> = completion.tool_calls.iter().map(|call| call.id.as_str()).collect();
        assert_eq!(ids, vec!["call_1", "call_2"]);
    }

    #[test]
    fn quirk_3_calls_that_reuse_index_0_are_told_apart() {
        // By a new id.
        let completion = streamed(&[
            delta(
                json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "one", "arguments": "{\"x\":"}}]}),
            ),
            delta(json!({"tool_calls": [{"index": 0, "id": "a", "function": {"arguments": "1}"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "two", "arguments": "{}"}}]})),
        ]);
        let calls: Vec<(&str, &str)> = completion.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
        assert_eq!(calls, vec![("a", "one"), ("b", "two")]);
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"x": 1}))));
        assert!(has(&completion, CALLS_SHARED_AN_INDEX));

        // By a name after a named call with arguments, without ids.
        let completion = streamed(&[
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "one", "arguments": "{\"x\":1}"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "one", "arguments": "{\"x\":2}"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "two"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"y\":3}"}}]})),
        ]);
        let calls: Vec<(&str, &str)> = completion.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
        assert_eq!(calls, vec![("call_1", "one"), ("call_2", "one"), ("call_3", "two")]);
        assert_eq!(completion.tool_calls[1].arguments, Ok(object(json!({"x": 2}))));
        assert_eq!(completion.tool_calls[2].arguments, Ok(object(json!({"y": 3}))));

        // A name repeated while the arguments are incomplete goes on with the call.
        let completion = streamed(&[
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "one", "arguments": "{\"x\":"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"name": "one", "arguments": "5}"}}]})),
        ]);
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"x": 5}))));

        // The same id repeated on every piece is one call.
        let completion = streamed(&[
            delta(json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "one", "arguments": "{"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "one", "arguments": "}"}}]})),
        ]);
        assert_eq!(completion.tool_calls.len(), 1);
        assert!(completion.repairs.is_empty(), "{:?}", completion.repairs);
    }

    #[test]
    fn quirk_4_arguments_in_pieces_across_many_chunks() {
        let pieces = ["{\"", "path", "\": \"/var/", "log\", \"li", "nes\": 2", "0}"];
        let mut chunks = vec![delta(
            json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function", "function": {"name": "tail", "arguments": ""}}]}),
        )];
        for piece in pieces {
            chunks.push(delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})));
        }
        let completion = streamed(&chunks);
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"path": "/var/log", "lines": 20}))));
        assert!(completion.repairs.is_empty(), "{:?}", completion.repairs);
    }

    #[test]
    fn quirk_4_arguments_repaired_or_refused() {
        let mut repairs = Vec::new();
        assert_eq!(parse_arguments("", &mut repairs), Ok(Map::new()));
        assert_eq!(parse_arguments("  \n", &mut repairs), Ok(Map::new()));
        assert!(repairs.is_empty());

        let expected = Ok(object(json!({"a": 1})));
        let mut repairs = Vec::new();
        assert_eq!(parse_arguments("```json\n{\"a\": 1}\n```", &mut repairs), expected);
        assert_eq!(parse_arguments("```{\"a\": 1}```", &mut repairs), expected);
        assert_eq!(repairs, vec![ARGUMENTS_FENCED.to_owned()]);

        let mut repairs = Vec::new();
        assert_eq!(parse_arguments("{\"a\": 1} I hope this helps!", &mut repairs), expected);
        assert_eq!(repairs, vec![ARGUMENTS_TEXT_AFTER.to_owned()]);

        let mut repairs = Vec::new();
        assert_eq!(parse_arguments("Arguments: {\"a\": 1}", &mut repairs), expected);
        assert_eq!(repairs, vec![ARGUMENTS_TEXT_BEFORE.to_owned()]);

        let mut repairs = Vec::new();
        assert_eq!(parse_arguments("\"{\\\"a\\\": 1}\"", &mut repairs), expected);
        assert_eq!(parse_arguments("null", &mut repairs), Ok(Map::new()));
        assert_eq!(repairs, vec![ARGUMENTS_DOUBLE_ENCODED.to_owned(), ARGUMENTS_NULL.to_owned()]);

        let mut repairs = Vec::new();
        let broken = parse_arguments("{\"a\": 1", &mut repairs).unwrap_err();
        assert!(broken.contains("not valid JSON") && broken.contains("{\\\"a\\\": 1"), "{broken}");
        assert!(parse_arguments("[1, 2]", &mut repairs).unwrap_err().contains("array"));
        assert!(parse_arguments("42", &mut repairs).unwrap_err().contains("42"));
        assert!(parse_arguments("just words", &mut repairs).is_err());
        assert!(repairs.is_empty());
    }

    #[test]
    fn quirk_4_invalid_arguments_are_kept_as_an_error_not_a_failure() {
        let completion = streamed(&[
            delta(
                json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "one", "arguments": "{\"x\": "}}]}),
            ),
            delta(
                json!({"content": "", "tool_calls": [{"index": 1, "id": "b", "function": {"name": "two", "arguments": ""}}]}),
            ),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ]);
        assert!(completion.tool_calls[0].arguments.as_ref().unwrap_err().contains("not valid JSON"));
        assert_eq!(completion.tool_calls[1].arguments, Ok(Map::new()));
        assert_eq!(completion.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn quirk_5_null_content_and_reasoning_fields() {
        let completion = whole(json!({"role": "assistant", "content": null, "reasoning_content": "because"}));
        assert_eq!((completion.content.as_str(), completion.reasoning.as_str()), ("", "because"));
        let completion = whole(json!({"content": "hi", "reasoning": "thought"}));
        assert_eq!((completion.content.as_str(), completion.reasoning.as_str()), ("hi", "thought"));
        // Newer vLLM sends both with the same text: it is read once.
        let completion = whole(json!({"content": "hi", "reasoning": "same", "reasoning_content": "same"}));
        assert_eq!(completion.reasoning, "same");

        let (result, deltas) = read_chunks(
            &[&sse(&[
                delta(json!({"role": "assistant", "content": null, "reasoning_content": "let me"})),
                delta(json!({"content": null, "reasoning": " see"})),
                delta(json!({"content": "Yes."})),
            ])],
            true,
        );
        let completion = result.unwrap();
        assert_eq!((completion.content.as_str(), completion.reasoning.as_str()), ("Yes.", "let me see"));
        assert_eq!(
            deltas,
            vec![Delta::Reasoning("let me".into()), Delta::Reasoning(" see".into()), Delta::Content("Yes.".into())]
        );
        // No [DONE] and no finish reason: still an answer, with a note.
        assert!(has(&completion, STREAM_CUT_SHORT));
    }

    #[test]
    fn quirk_5_think_blocks_move_to_the_reasoning() {
        let completion = whole(json!({"content": "<think>\nthe disk is full\n</think>\n\nClean /tmp."}));
        assert_eq!(completion.content, "Clean /tmp.");
        assert_eq!(completion.reasoning, "\nthe disk is full\n");
        assert!(has(&completion, THINK_MOVED));

        let completion = whole(json!({"content": "  <think>x</think>"}));
        assert_eq!((completion.content.as_str(), completion.reasoning.as_str()), ("", "x"));

        let completion = whole(json!({"content": "<thinking is fun>"}));
        assert_eq!(completion.content, "<thinking is fun>");
        let completion = whole(json!({"content": "Use <think> tags"}));
        assert_eq!(completion.content, "Use <think> tags");
        let completion = whole(json!({"content": "<thi"}));
        assert_eq!(completion.content, "<thi");
        assert!(completion.repairs.is_empty());

        let completion = whole(json!({"content": "<think>never closed"}));
        assert_eq!((completion.content.as_str(), completion.reasoning.as_str()), ("", "never closed"));
        assert!(has(&completion, THINK_UNCLOSED));
    }

    #[test]
    fn quirk_5_think_blocks_split_anywhere_across_chunks() {
        let text = "<think>a < b </thi nk>?</think>\n\nThe answer </think> stays.";
        for first in 0..=text.len() {
            for second in first..=text.len() {
                let pieces = [&text[..first], &text[first..second], &text[second..]];
                let chunks: Vec<Value> = pieces.iter().map(|piece| delta(json!({"content": piece}))).collect();
                let completion = streamed(&chunks);
                assert_eq!(completion.reasoning, "a < b </thi nk>?", "split at {first} and {second}");
                assert_eq!(completion.content, "The answer </think> stays.", "split at {first} and {second}");
            }
        }
    }

    #[test]
    fn quirk_5_reasoning_is_passed_on_as_it_comes() {
        let mut splitter = ThinkSplitter::default();
        let mut out = Vec::new();
        splitter.feed("<think>one ", &mut out);
        splitter.feed("two </", &mut out);
        splitter.feed("think>Three", &mut out);
        splitter.finish(&mut out);
        assert_eq!(
            out,
            vec![Delta::Reasoning("one ".into()), Delta::Reasoning("two ".into()), Delta::Content("Three".into())]
        );
    }

    #[test]
    fn quirk_6_sse_framing() {
        let chunk_a = delta(json!({"content": "Hel"}));
        let chunk_b = delta(json!({"content": "lo"}));
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}});
        let done = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        let body = format!(
            ": keep-alive\r\n\r\ndata:{chunk_a}\r\n\r\n: ping\n\ndata: {chunk_b}\n\ndata: {done}\n\ndata: {usage}\n\ndata: [DONE]\n\ndata: {{not read}}\n\n"
        );
        let expected = read_chunks(&[&body], true);
        let completion = expected.0.as_ref().unwrap();
        assert_eq!(completion.content, "Hello");
        assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
        assert!(completion.repairs.is_empty(), "{:?}", completion.repairs);
        assert_eq!(expected.1, vec![Delta::Content("Hel".into()), Delta::Content("lo".into())]);
        for cut in 0..body.len() {
            let (result, deltas) = read_chunks(&[&body[..cut], &body[cut..]], true);
            assert_eq!(result.unwrap(), *completion, "cut at {cut}");
            assert_eq!(deltas, expected.1, "cut at {cut}");
        }
    }

    #[test]
    fn quirk_6_streams_that_just_end_or_run_together() {
        let body = format!("data: {}\n\ndata: {}", delta(json!({"content": "a"})), delta(json!({"content": "b"})));
        assert_eq!(read_chunks(&[&body], true).0.unwrap().content, "ab");

        let body = format!(
            "data: {}\ndata: {}\ndata: [DONE]\n\n",
            delta(json!({"content": "a"})),
            delta(json!({"content": "b"}))
        );
        let completion = read_chunks(&[&body], true).0.unwrap();
        assert_eq!(completion.content, "ab");
        assert!(has(&completion, EVENTS_RUN_TOGETHER));

        let only_usage = "data: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n";
        assert!(matches!(read_chunks(&[only_usage], true).0, Err(LlmError::Malformed(..))));
        assert!(
            matches!(read_chunks(&["data: {oops\n\n"], true).0, Err(LlmError::Malformed(m, 1)) if m.contains("not JSON"))
        );
        assert!(matches!(read_chunks(&["", "  "], true).0, Err(LlmError::Malformed(m, _)) if m.contains("empty")));
    }

    #[test]
    fn quirk_6_errors_inside_the_stream() {
        let body = format!(
            "data: {}\n\ndata: {}\n\n",
            delta(json!({"content": "par"})),
            json!({"error": {"message": "model overloaded", "type": "server_error", "code": 503}})
        );
        let (result, deltas) = read_chunks(&[&body], true);
        match result {
            Err(LlmError::Http { status: 503, body, .. }) => assert_eq!(body, "model overloaded"),
            other => panic!("{other:?}"),
        }
        assert_eq!(deltas, vec![Delta::Content("par".into())]);

        let body = "data: {\"error\":{\"message\":\"context too long\",\"code\":\"context_length_exceeded\"}}\n\n";
        assert!(
            matches!(read_chunks(&[body], true).0, Err(LlmError::Malformed(m, _)) if m.contains("context too long"))
        );
        let body = "data: {\"error\":\"bad things\"}\n\n";
        assert!(matches!(read_chunks(&[body], true).0, Err(LlmError::Malformed(m, _)) if m.contains("bad things")));
        let vllm = json!({"object": "error", "message": "too many tokens", "type": "BadRequestError", "code": 400});
        assert!(matches!(read_chunks(&[&format!("data: {vllm}\n\n")], true).0,
            Err(LlmError::Http { status: 400, body, .. }) if body == "too many tokens"));
        // The same in a plain JSON body that came with HTTP 200.
        assert!(matches!(read_chunks(&[&vllm.to_string()], false).0, Err(LlmError::Http { status: 400, .. })));
    }

    #[test]
    fn quirk_7_plain_json_when_a_stream_was_asked_for() {
        let body = json!({
            "id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "All good."}, "finish_reason": "stop"}],
        })
        .to_string();
        let (half, rest) = body.split_at(17);
        let (result, deltas) = read_chunks(&["\n", half, rest], true);
        let completion = result.unwrap();
        assert_eq!(completion.content, "All good.");
        assert_eq!(deltas, vec![Delta::Content("All good.".into())]);
        assert_eq!(completion.repairs, vec![PLAIN_JSON_FOR_STREAM.to_owned()]);
        assert!(read_chunks(&[&body], false).0.unwrap().repairs.is_empty());

        assert!(
            matches!(read_chunks(&["{\"choices\": [{"], false).0, Err(LlmError::Malformed(m, _)) if m.contains("not JSON"))
        );
        assert!(
            matches!(read_chunks(&["{\"id\": 1}"], false).0, Err(LlmError::Malformed(m, _)) if m.contains("choices"))
        );
        assert!(matches!(read_chunks(&["{\"choices\": []}"], false).0, Err(LlmError::Malformed(..))));
    }

    #[test]
    fn quirk_8_legacy_function_call() {
        let completion =
            whole(json!({"content": null, "function_call": {"name": "lookup", "arguments": "{\"q\": \"disk\"}"}}));
        assert_eq!(
            completion.tool_calls,
            vec![ToolCall { id: "call_1".into(), name: "lookup".into(), arguments: Ok(object(json!({"q": "disk"}))) }]
        );
        assert!(has(&completion, LEGACY_FUNCTION_CALL));

        let completion = streamed(&[
            delta(json!({"function_call": {"name": "lookup", "arguments": ""}})),
            delta(json!({"function_call": {"arguments": "{\"q\":"}})),
            delta(json!({"function_call": {"arguments": "1}"}})),
        ]);
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].arguments, Ok(object(json!({"q": 1}))));

        // Servers that send both: `tool_calls` wins.
        let completion = whole(json!({
            "function_call": {"name": "lookup", "arguments": "{}"},
            "tool_calls": [{"id": "t", "function": {"name": "lookup", "arguments": "{}"}}],
        }));
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.tool_calls[0].id, "t");
        assert!(!has(&completion, LEGACY_FUNCTION_CALL));
    }

    #[test]
    fn content_as_a_list_of_parts() {
        let completion = whole(json!({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}));
        assert_eq!(completion.content, "ab");
        assert!(has(&completion, CONTENT_AS_PARTS));
    }

    #[test]
    fn error_messages_are_found_in_common_shapes() {
        assert_eq!(error_message(&json!({"error": {"message": "m1"}})), "m1");
        assert_eq!(error_message(&json!({"message": "m2", "object": "error"})), "m2");
        assert_eq!(error_message(&json!({"detail": "m3"})), "m3");
        assert_eq!(error_message(&json!({"error": "m4"})), "m4");
        assert_eq!(error_message(&json!({"other": 1})), "{\"other\":1}");
    }

    #[test]
    fn cutting_keeps_whole_characters() {
        assert_eq!(cut_chars("héllo", 10), "héllo");
        assert_eq!(cut_chars("héllo", 3), "hé…");
        assert_eq!(cut_chars(&"x".repeat(400), 300).chars().count(), 300);
    }
}

//! The shared terminal: sessions on a ticket, their websocket frames, and
//! how a command typed in a terminal is recorded on the timeline.
//!
//! The websocket carries the terminal's bytes as binary frames both ways
//! (output to watchers, keystrokes from people who may type) and these JSON
//! text frames for everything else.

use super::PersonRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a terminal's shell runs on the ticket's instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminalScope {
    /// The instance's own shell (administrator access to the instance).
    #[default]
    Shell,
    /// A shell inside one of the instance's containers.
    Container { name: String },
}

impl TerminalScope {
    /// A short label for people: "admin terminal" or "container web-1".
    pub fn label(&self) -> String {
        match self {
            TerminalScope::Shell => "admin terminal".into(),
            TerminalScope::Container { name } => format!("container {name}"),
        }
    }
}

/// `POST .../tickets/{ticket_id}/terminals`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenTerminal {
    #[serde(default)]
    pub scope: TerminalScope,
}

/// `PATCH .../tickets/{ticket_id}/terminals/{session_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTerminal {
    /// Whether the commands typed in this session reach the agents.
    pub share_context: bool,
}

/// A terminal session on a ticket, live or ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TerminalSession {
    pub id: String,
    pub ticket_id: String,
    pub scope: TerminalScope,
    pub instance_id: String,
    pub started_by: Option<PersonRef>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The shell's exit code; `None` while live or when it was killed.
    pub exit_code: Option<i32>,
    /// Why it ended ("the shell exited", "the ticket was resolved", ...).
    pub end_reason: Option<String>,
    pub live: bool,
    /// Commands typed here go to the agents with the next message.
    pub share_context: bool,
    pub cols: u16,
    pub rows: u16,
    /// Whether the shell reports its commands (shell integration marks).
    pub integrated: bool,
    /// Size of the asciicast recording so far.
    pub recording_bytes: u64,
}

/// A place a terminal can be opened, as offered to people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopeChoice {
    pub scope: TerminalScope,
    pub label: String,
}

/// `GET .../tickets/{ticket_id}/terminals/scopes`: where a terminal can open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TerminalScopes {
    pub instance_id: String,
    pub instance_name: String,
    pub scopes: Vec<ScopeChoice>,
    /// Why containers could not be listed, if they could not.
    pub containers_error: Option<String>,
}

/// How a command typed in a terminal was recorded (on `command_ran`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TerminalRun {
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Whether the session shared it with the agents.
    pub shared: bool,
}

/// Server → browser text frames of the terminal websocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TermServerFrame {
    /// First frame: the session, and whether this watcher may type.
    Hello { session: Box<TerminalSession>, can_type: bool },
    /// Clear the terminal, size it, and draw the next binary frame (the
    /// current screen); the stream continues from byte `offset`.
    Reset { offset: u64, cols: u16, rows: u16 },
    /// The terminal's size changed.
    Size { cols: u16, rows: u16 },
    /// The session's context sharing was switched.
    Shared { share_context: bool },
    /// The session ended; the socket closes after this.
    Ended { exit_code: Option<i32>, reason: String },
}

/// Browser → server text frames of the terminal websocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TermClientFrame {
    /// Every stream byte before `offset` has been drawn: send more.
    Ack { offset: u64 },
    /// Size the terminal (people who may type only); values are clamped.
    Resize { cols: u32, rows: u32 },
}

/// Bytes the server lets a watcher have in flight before its acks catch up.
pub const TERMINAL_ACK_WINDOW: u64 = 1024 * 1024;

/// One event of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct CastEvent {
    /// Seconds since the start.
    pub time: f64,
    /// `"o"`, `"i"`, `"r"` or `"m"` (others are passed through for the caller to ignore).
    pub code: String,
    pub data: String,
}

/// Parses an asciicast v2 recording into its header (as JSON) and events. Blank lines are skipped; errors name the
/// 1-based line.
pub fn parse_asciicast(text: &str) -> Result<(Value, Vec<CastEvent>), String> {
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line)).filter(|(_, line)| !line.trim().is_empty());
    let Some((n, first)) = lines.next() else { return Err("empty recording: no header".into()) };
    let header: Value = serde_json::from_str(first).map_err(|e| format!("line {n}: header is not JSON: {e}"))?;
    if !header.is_object() {
        return Err(format!("line {n}: header is not a JSON object"));
    }
    if header.get("version").and_then(Value::as_u64) != Some(2) {
        return Err(format!("line {n}: not an asciicast v2 header"));
    }
    let events = lines
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line).map_err(|e| format!("line {n}: not JSON: {e}"))?;
            match value.as_array().map(Vec::as_slice) {
                Some([Value::Number(time), Value::String(code), Value::String(data)]) => {
                    match time.as_f64().filter(|t| t.is_finite() && *t >= 0.0) {
                        Some(time) => Ok(CastEvent { time, code: code.clone(), data: data.clone() }),
                        None => Err(format!("line {n}: bad event time")),
                    }
                }
                _ => Err(format!("line {n}: expected [time, code, data]")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((header, events))
}

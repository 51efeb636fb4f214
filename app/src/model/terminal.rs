//! The shared terminal: sessions on a ticket, their websocket frames, and
//! how a command typed in a terminal is recorded on the timeline.
//!
//! The websocket carries the terminal's bytes as binary frames both ways
//! (output to watchers, keystrokes from people who may type) and these JSON
//! text frames for everything else.

use super::PersonRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// A short label for people: "shell" or "container web-1".
    pub fn label(&self) -> String {
        match self {
            TerminalScope::Shell => "shell".into(),
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
    Hello { session: TerminalSession, can_type: bool },
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

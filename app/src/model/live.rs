//! The Canvas's live protocol: JSON text frames over the ticket's websocket
//! (`GET /org/support/tickets/{id}/live`, or under `/api/v1` with a token).
//! The client says where it is; the server sends every timeline entry after
//! that seq, then each new one as it is committed, plus who is watching and
//! what agents are doing. After a reconnect the client resumes from the last
//! seq it saw, so nothing is lost and nothing is shown twice.

use super::{AgentRef, PersonRef, TimelineEntry};
use serde::{Deserialize, Serialize};

/// Browser → server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Send everything after `after`, then keep sending.
    Resume { after: i64 },
}

/// Server → browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Committed timeline entries, in seq order, without gaps after the resume point.
    Entries { entries: Vec<TimelineEntry> },
    /// Everyone watching the ticket now (one per person).
    Watchers { watchers: Vec<PersonRef> },
    /// An agent started or finished a turn.
    Activity { agent: AgentRef, activity: AgentActivity },
    /// The answer an agent is writing, so far (models that stream). The
    /// committed `agent_reply` entry replaces it.
    Draft { agent: AgentRef, text: String, reasoning: String },
    /// The ticket was deleted; the socket closes.
    Deleted,
}

/// What an agent is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentActivity {
    /// A turn is running.
    Working,
    /// No turn is running.
    Idle,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_by_type() {
        let frame: ClientFrame = serde_json::from_str(r#"{"type":"resume","after":7}"#).unwrap();
        assert_eq!(frame, ClientFrame::Resume { after: 7 });
        let json = serde_json::to_value(ServerFrame::Watchers { watchers: vec![] }).unwrap();
        assert_eq!(json, serde_json::json!({"type": "watchers", "watchers": []}));
    }
}

//! Tickets, their timeline, the AI review and attachments.

use super::{AgentRef, CommandAction, RanBy, Risk, TerminalRun, TerminalScope, UrlConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What kind of request a ticket is.
    Category {
        /// How-to questions and technical problems.
        Technical = "technical",
        /// Something is broken or behaving incorrectly.
        Bug = "bug",
        /// A capability someone would like to see.
        FeatureRequest = "feature_request",
        /// Access, organisation and user issues.
        Account = "account",
        /// Invoices, plans and payment.
        Billing = "billing",
        /// Anything else.
        Other = "other",
    }
}

wire_enum! {
    /// How bad it is.
    Severity { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
}

wire_enum! {
    /// Where a ticket is in its lifecycle.
    Status {
        /// Created and undergoing AI review.
        PendingReview = "pending_review",
        /// Filed and awaiting triage.
        Open = "open",
        /// Being assessed by the team.
        Triaging = "triaging",
        /// Actively being worked on.
        InProgress = "in_progress",
        /// Waiting on a reply from the person who raised it.
        WaitingCustomer = "waiting_customer",
        /// A resolution has been provided.
        Resolved = "resolved",
        /// Closed.
        Closed = "closed",
    }
}

wire_enum! {
    /// How a ticket was raised.
    Source { Portal = "portal", Api = "api", Cli = "cli", Agent = "agent", Slack = "slack", Project = "project" }
}

wire_enum! {
    /// The outcome of the AI review.
    ReviewStatus { Pending = "pending", Passed = "passed", Flagged = "flagged" }
}

wire_enum! {
    /// Who wrote a comment.
    AuthorType { User = "user", Team = "team", Ai = "ai", System = "system" }
}

/// Tickets are technical unless said otherwise (the seed's default).
#[allow(clippy::derivable_impls)] // the enum is declared by `wire_enum!`
impl Default for Category {
    fn default() -> Self {
        Category::Technical
    }
}

impl Status {
    /// The statuses this one may move to. The one lifecycle rule, enforced
    /// by the server and offered by the UI.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            PendingReview => &[Open, Closed],
            Open => &[Triaging, InProgress, WaitingCustomer, Resolved, Closed],
            Triaging => &[Open, InProgress, WaitingCustomer, Resolved, Closed],
            InProgress => &[Open, Triaging, WaitingCustomer, Resolved, Closed],
            WaitingCustomer => &[Open, Triaging, InProgress, Resolved, Closed],
            Resolved => &[Open, InProgress, Closed],
            Closed => &[Open],
        }
    }

    /// Whether moving to `to` is allowed.
    pub fn can_move_to(self, to: Status) -> bool {
        self.next().contains(&to)
    }

    /// Resolved and closed tickets are done: their canvas directory goes.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }

    /// A label for people ("In progress").
    pub fn label(self) -> &'static str {
        match self {
            Status::PendingReview => "Pending review",
            Status::Open => "Open",
            Status::Triaging => "Triaging",
            Status::InProgress => "In progress",
            Status::WaitingCustomer => "Waiting on customer",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
        }
    }
}

impl Category {
    /// A label for people ("Feature request").
    pub fn label(self) -> &'static str {
        match self {
            Category::Technical => "Technical",
            Category::Bug => "Bug",
            Category::FeatureRequest => "Feature request",
            Category::Account => "Account",
            Category::Billing => "Billing",
            Category::Other => "Other",
        }
    }
}

/// Longest subject accepted.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest comment accepted.
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// A person as shown next to what they did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub id: String,
    pub email: String,
    pub name: String,
}

impl PersonRef {
    /// How the UI names the person: the name, else the email.
    pub fn display(&self) -> String {
        if self.name.is_empty() {
            self.email.clone()
        } else {
            self.name.clone()
        }
    }
}

/// A ticket without its timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The human id, `<ORG>-<N>`; every API path accepts it.
    pub ticket_id: String,
    /// The internal id (also accepted in paths).
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    pub status: Status,
    pub source: Source,
    /// The instance the ticket is about, if any.
    pub cluster_id: Option<String>,
    pub ai_summary: Option<String>,
    pub ai_review_status: ReviewStatus,
    /// Human id of the ticket this one duplicates, when linked.
    pub duplicate_of: Option<String>,
    pub created_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Highest timeline `seq` so far.
    pub last_seq: i64,
    pub comment_count: i64,
    pub attachment_count: i64,
    /// The project whose plan opened this ticket, if any.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The project stage (from 1) that opened it.
    #[serde(default)]
    pub stage: Option<u32>,
}

/// A file size as people read it: "512 B", "1.5 KiB", "5.0 MiB".
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An uploaded file on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    /// The type detected from the content, not the name.
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
}

/// One entry of a ticket's append-only timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Position in the ticket's timeline, from 1, without gaps.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub author_type: AuthorType,
    pub author: Option<PersonRef>,
    #[serde(flatten)]
    pub event: TimelineEvent,
}

/// What happened, by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// The ticket was raised.
    Created { source: Source },
    /// A comment.
    Comment { body: String },
    /// The status moved.
    StatusChanged { from: Status, to: Status, reason: Option<String> },
    /// Severity, category or subject changed.
    FieldChanged { field: String, from: String, to: String },
    /// The AI review's outcome at filing time.
    Reviewed { status: ReviewStatus, summary: String, reviewer: String, notes: Vec<String> },
    /// Answers to the review's clarifying questions.
    Clarified { answers: Vec<ClarificationAnswer> },
    /// A file was attached.
    Attached { attachment: Attachment },
    /// Someone follows the ticket (e.g. instead of filing a duplicate).
    Followed,
    /// The ticket was linked as a duplicate of another.
    DuplicateLinked { of: String },
    /// The instance's context, attached at creation.
    InstanceContext { instance_id: String, name: String, summary: String },
    /// The agents working the ticket now (the first gets messages by default).
    AgentsAssigned { agents: Vec<AgentRef> },
    /// A person's message to an agent; its turn runs in the background.
    Message { agent: AgentRef, content: String },
    /// An agent's answer to the person's messages up to `in_reply_to`.
    /// `delivered` lists the decision and command-output entries it was sent.
    AgentReply {
        agent: AgentRef,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
        #[serde(default)]
        links: Vec<UrlConfig>,
        in_reply_to: i64,
        #[serde(default)]
        delivered: Vec<i64>,
        /// The commands it proposed (`CommandProposed` entries of the same turn).
        #[serde(default)]
        proposed: Vec<String>,
        /// The commands it ran itself (`CommandRan` entries of the same turn).
        #[serde(default)]
        ran: Vec<String>,
    },
    /// An agent's turn failed; the messages stay pending until a retry.
    AgentFailed { agent: AgentRef, reason: String, in_reply_to: i64 },
    /// An agent proposed a command (`files` were written to the canvas directory).
    CommandProposed {
        cmd_id: String,
        agent: AgentRef,
        command: String,
        #[serde(default)]
        files: Vec<String>,
        /// Why the agent proposes it, when it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        risk: Option<Risk>,
    },
    /// A person decided about a proposed command.
    CommandDecided {
        cmd_id: String,
        action: CommandAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A command ran; `output` may be cut at the output cap (`truncated`).
    CommandRan {
        /// The proposal it ran, or a fresh id for commands an agent ran unasked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cmd_id: Option<String>,
        command: String,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        ran_by: RanBy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentRef>,
        #[serde(default)]
        truncated: bool,
        /// Set when a person typed it in a ticket terminal.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminal: Option<TerminalRun>,
    },
    /// A person opened a terminal on the ticket.
    TerminalOpened { session_id: String, scope: TerminalScope, instance: String },
    /// A terminal's context sharing with agents was switched.
    TerminalShared { session_id: String, share_context: bool },
    /// A terminal session ended; its recording is complete.
    TerminalClosed {
        session_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        reason: String,
    },
    /// An agent wrote a file in the canvas directory.
    FileWritten { path: String, size: u64, agent: AgentRef },
    /// An agent's file was refused (outside the canvas directory, too big, ...).
    FileRefused { path: String, reason: String, agent: AgentRef },
}

/// A ticket with everything on it: `GET .../tickets/{ticket_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// The comment entries of the timeline, oldest first.
    pub comments: Vec<TimelineEntry>,
    pub attachments: Vec<Attachment>,
    /// The whole timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Whether the caller follows this ticket.
    pub following: bool,
    /// The agents assigned now; the first gets messages by default.
    pub agents: Vec<AgentRef>,
}

/// Input of the AI review: `POST .../tickets/review`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub subject: String,
    pub description: String,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub cluster_id: Option<String>,
}

/// How serious a quality finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingLevel {
    Info,
    Warning,
}

/// Something the review noticed about the ticket's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable code, e.g. `too_short`, `no_error_text`, `no_environment`.
    pub code: String,
    pub level: FindingLevel,
    pub message: String,
}

/// A question whose answer would make the ticket actionable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClarifyingQuestion {
    /// Stable id to answer it by (the finding's code).
    pub id: String,
    pub question: String,
}

/// An answer to a clarifying question, given at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClarificationAnswer {
    pub question_id: String,
    pub answer: String,
}

/// A likely duplicate among the org's tickets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicateCandidate {
    pub ticket_id: String,
    pub subject: String,
    pub status: Status,
    /// Similarity in [0, 1]; higher is more alike.
    pub score: f64,
}

/// The review's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub review_id: String,
    pub status: ReviewStatus,
    /// Why the review flagged the ticket, when it did.
    pub flag_reason: Option<String>,
    pub summary: String,
    pub severity: Severity,
    pub category: Category,
    pub findings: Vec<Finding>,
    pub questions: Vec<ClarifyingQuestion>,
    /// Ranked, most similar first.
    pub duplicates: Vec<DuplicateCandidate>,
    /// Which reviewer answered (`offline`, or an LLM's name).
    pub reviewer: String,
}

/// Pagination of a list answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    pub total_pages: u32,
    pub total_count: u64,
}

/// `GET .../tickets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketPage {
    pub result: Vec<Ticket>,
    pub pagination: Pagination,
}

/// Filters of the ticket list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFilter {
    #[serde(default)]
    pub status: Vec<Status>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub page_size: Option<u32>,
}

/// Default and largest page sizes of the ticket list.
pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(Category::FeatureRequest.as_str(), "feature_request");
        assert!("urgent".parse::<Severity>().unwrap_err().contains("low, medium, high, critical"));
    }

    #[test]
    fn the_lifecycle_allows_reopening_but_not_skipping_review() {
        assert!(Status::Open.can_move_to(Status::InProgress));
        assert!(Status::Closed.can_move_to(Status::Open));
        assert!(!Status::Closed.can_move_to(Status::Resolved));
        assert!(!Status::Open.can_move_to(Status::PendingReview));
        assert!(Status::ALL.iter().all(|s| !s.can_move_to(*s)));
    }

    #[test]
    fn timeline_entries_are_tagged_by_kind() {
        let entry = TimelineEntry {
            seq: 3,
            at: DateTime::<Utc>::UNIX_EPOCH,
            author_type: AuthorType::System,
            author: None,
            event: TimelineEvent::StatusChanged { from: Status::Open, to: Status::Closed, reason: None },
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["kind"], "status_changed");
        assert_eq!(json["to"], "closed");
        assert_eq!(serde_json::from_value::<TimelineEntry>(json).unwrap(), entry);
    }
}

/// Body of `POST .../tickets`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// Required unless `review_id` names a review (whose subject is then used).
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// A review from `POST .../tickets/review`; its suggestions fill what is not given.
    #[serde(default)]
    pub review_id: Option<String>,
    /// Files the ticket even though the review flagged it.
    #[serde(default)]
    pub acknowledged: Option<bool>,
    #[serde(default)]
    pub clarification_answers: Option<Vec<ClarificationAnswer>>,
    /// `portal`, `api` or `cli`; defaults to how the caller authenticated.
    #[serde(default)]
    pub source: Option<Source>,
    /// The agent to work the ticket (id or slug); `message` is its first turn.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Same as `cluster_id` (the instance the ticket is about).
    #[serde(default)]
    pub instance_id: Option<String>,
    /// The first message to the agent; the subject is derived from it when absent.
    #[serde(default)]
    pub message: Option<String>,
}

/// Body of `PATCH .../tickets/{ticket_id}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub subject: Option<String>,
    /// Marks this ticket as a duplicate of another (its human id).
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// Why, recorded with a status change.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST .../tickets/{ticket_id}/comments`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
    /// `user` (default) or `team` (operators answering for the team).
    #[serde(default)]
    pub author_type: Option<AuthorType>,
}

/// Body of `POST .../tickets/{ticket_id}/close`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseTicket {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST .../tickets/{ticket_id}/follow`: follow instead of filing,
/// keeping what the person wrote as a comment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowTicket {
    #[serde(default)]
    pub comment: Option<String>,
}

/// An instance as people see it: never the values of its `platform_context`,
/// which may hold credentials, only their names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub builtin: bool,
    /// The keys of `platform_context`, so people know what agents receive.
    pub context_keys: Vec<String>,
}

/// Longest instance name accepted.
pub const MAX_INSTANCE_NAME_CHARS: usize = 64;
/// Longest instance summary accepted.
pub const MAX_INSTANCE_SUMMARY_CHARS: usize = 2_000;

/// Body of `POST /api/v1/org/instances`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstance {
    pub name: String,
    /// Non-secret context attached to tickets about this instance.
    #[serde(default)]
    pub summary: Option<String>,
    /// What agents allowed on this instance receive with every user message
    /// (a JSON object; may hold credentials).
    #[serde(default)]
    pub platform_context: Option<serde_json::Value>,
    /// How to open shells there (a JSON object; used by the terminal).
    #[serde(default)]
    pub terminal: Option<serde_json::Value>,
}

//! Persistence of tickets, their timelines, attachments, reviews, followers
//! and the instances tickets are about.

use super::StoreResult;
use async_trait::async_trait;
use opsdesk_app::model::{
    Attachment, AuthorType, Category, ReviewStatus, Severity, Source, Status, Ticket, TicketFilter, TimelineEntry,
    TimelineEvent,
};
use std::collections::HashMap;

/// How a path names a ticket: its human id (`ACME-12`) or its internal id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketRef {
    Number(i64),
    Id(String),
}

impl TicketRef {
    /// Reads a path segment: `<ORG>-<N>` names ticket N of the caller's org
    /// (whatever the prefix says: another org's prefix finds nothing there).
    pub fn parse(org_slug: &str, value: &str) -> Option<TicketRef> {
        if let Some((prefix, number)) = value.rsplit_once('-') {
            if prefix.eq_ignore_ascii_case(org_slug) {
                if let Ok(number) = number.parse::<i64>() {
                    return Some(TicketRef::Number(number));
                }
            }
        }
        uuid_like(value).then(|| TicketRef::Id(value.to_owned()))
    }
}

fn uuid_like(value: &str) -> bool {
    value.len() == 36 && value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// An instance as the server sees it (with its secret context).
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub summary: String,
    pub platform_context: serde_json::Value,
    pub terminal: serde_json::Value,
    pub builtin: bool,
}

/// A timeline entry to append; `seq` and time are assigned on commit.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub author_type: AuthorType,
    pub author_id: Option<String>,
    pub event: TimelineEvent,
}

impl NewEntry {
    /// An entry written by the system.
    pub fn system(event: TimelineEvent) -> NewEntry {
        NewEntry { author_type: AuthorType::System, author_id: None, event }
    }

    /// An entry written by a person.
    pub fn by(author_type: AuthorType, user_id: &str, event: TimelineEvent) -> NewEntry {
        NewEntry { author_type, author_id: Some(user_id.to_owned()), event }
    }
}

/// A ticket to create.
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub org_id: String,
    /// Upper-cased org slug, the prefix of the human id.
    pub key_prefix: String,
    pub subject: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    pub status: Status,
    pub source: Source,
    pub cluster_id: Option<String>,
    pub ai_summary: Option<String>,
    pub ai_review_status: ReviewStatus,
    pub duplicate_of: Option<String>,
    pub created_by: Option<String>,
    /// Normalised duplicate-search terms, space separated.
    pub terms: String,
}

/// Column changes applied together with timeline entries.
#[derive(Clone, Debug, Default)]
pub struct TicketChanges {
    /// `(expected current, new)`: applied only if the status is still the expected one.
    pub status: Option<(Status, Status)>,
    pub severity: Option<Severity>,
    pub category: Option<Category>,
    pub subject: Option<String>,
    pub duplicate_of: Option<String>,
    /// New normalised terms (when the subject changed).
    pub terms: Option<String>,
}

/// A file's metadata to record on a ticket.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
}

/// Why an append did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendRefused {
    /// The status moved meanwhile; the caller re-reads and decides again.
    StatusMoved(Status),
    /// The ticket reached its attachment limit.
    AttachmentLimit,
}

/// A duplicate-search candidate: a ticket and its stored terms.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub ticket_key: String,
    pub subject: String,
    pub status: Status,
    pub terms: String,
}

/// Tickets and everything on them.
#[async_trait]
pub trait TicketStore {
    /// The org's instances, built-in first.
    async fn instances(&self, org_id: &str) -> StoreResult<Vec<InstanceRecord>>;
    /// One instance of the org.
    async fn instance(&self, org_id: &str, instance_id: &str) -> StoreResult<Option<InstanceRecord>>;
    /// Adds an instance; a name the org already uses is a `Conflict`.
    async fn create_instance(
        &self,
        org_id: &str,
        name: &str,
        summary: &str,
        platform_context: &serde_json::Value,
        terminal: &serde_json::Value,
    ) -> StoreResult<InstanceRecord>;
    /// Makes sure the org has its built-in `local` instance.
    async fn ensure_local_instance(&self, org_id: &str, summary: &str) -> StoreResult<InstanceRecord>;

    /// Creates a ticket (numbered in the org) with its first timeline entries.
    async fn create_ticket(&self, ticket: NewTicket, entries: Vec<NewEntry>) -> StoreResult<Ticket>;
    /// A ticket of the org.
    async fn ticket(&self, org_id: &str, ticket: &TicketRef) -> StoreResult<Option<Ticket>>;
    /// A page of the org's tickets, newest first, and the total count.
    async fn list_tickets(
        &self,
        org_id: &str,
        filter: &TicketFilter,
        page: u32,
        page_size: u32,
    ) -> StoreResult<(Vec<Ticket>, u64)>;
    /// Timeline entries with `seq > after`, oldest first.
    async fn timeline(&self, ticket_id: &str, after: i64) -> StoreResult<Vec<TimelineEntry>>;
    /// Applies `changes` and appends `entries` atomically; answers the new entries.
    async fn append(
        &self,
        ticket_id: &str,
        changes: TicketChanges,
        entries: Vec<NewEntry>,
    ) -> StoreResult<Result<Vec<TimelineEntry>, AppendRefused>>;
    /// Deletes a ticket with its timeline and attachments rows; answers the
    /// attachment hashes it held.
    async fn delete_ticket(&self, org_id: &str, ticket_id: &str) -> StoreResult<Vec<String>>;

    /// Records an attachment and its timeline entry, unless the ticket already has `limit`.
    async fn add_attachment(
        &self,
        ticket_id: &str,
        attachment: NewAttachment,
        limit: u32,
    ) -> StoreResult<Result<Attachment, AppendRefused>>;
    /// The ticket's attachments, oldest first.
    async fn attachments(&self, ticket_id: &str) -> StoreResult<Vec<Attachment>>;
    /// One attachment of the ticket.
    async fn attachment(&self, ticket_id: &str, attachment_id: &str) -> StoreResult<Option<Attachment>>;
    /// Whether any attachment row still points at these bytes.
    async fn attachment_blob_in_use(&self, sha256: &str) -> StoreResult<bool>;

    /// Stores a review's request and result.
    async fn save_review(
        &self,
        org_id: &str,
        user_id: &str,
        review_id: &str,
        request: &str,
        result: &str,
    ) -> StoreResult<()>;
    /// A stored review of the org: `(request, result)` JSON.
    async fn review(&self, org_id: &str, review_id: &str) -> StoreResult<Option<(String, String)>>;

    /// Adds a follower (idempotent).
    async fn follow(&self, ticket_id: &str, user_id: &str) -> StoreResult<()>;
    /// Whether the user follows the ticket.
    async fn is_following(&self, ticket_id: &str, user_id: &str) -> StoreResult<bool>;

    /// Up to `limit` tickets of the org whose terms best match any of `terms`.
    async fn duplicate_candidates(&self, org_id: &str, terms: &[String], limit: u32) -> StoreResult<Vec<Candidate>>;
    /// How many tickets contain each term, and how many tickets there are.
    async fn term_frequencies(&self, terms: &[String]) -> StoreResult<(HashMap<String, i64>, i64)>;
}

//! What the server functions need from the server (`ssr` only). The `server`
//! crate implements this trait on its state and provides it as Leptos
//! context; `app` cannot depend on `server`, so this is the seam between them.

use crate::error::AppResult;
use crate::model::{
    AgentView, ApiTokenView, ApproveProject, AssignAgents, CanvasFile, CreateTicket, DecideCommand, DraftPlan,
    FollowTicket, InstanceView, LlmSettingsView, Me, MessageAccepted, NewAgent, NewApiToken, NewComment, NewInstance,
    NewProject, OpenTerminal, PlanDraft, PlanTemplate, PostMessage, Project, ProjectSummary, Review, ReviewRequest,
    Role, TerminalScopes, TerminalSession, TicketDetail, TicketFilter, TicketPage, TimelineEntry, UpdateLlmSettings,
    UpdateProject, UpdateTerminal, UpdateTicket, UserView,
};
use std::sync::Arc;

/// The server side of every server function, always called with the
/// authenticated caller the request carried.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Checks a password and opens a browser session; answers the
    /// `Set-Cookie` header value that carries it.
    async fn sign_in(&self, email: &str, password: &str) -> AppResult<http::HeaderValue>;

    /// Ends the session carried by `headers` (if any); answers the
    /// `Set-Cookie` header value that clears the cookie.
    async fn sign_out(&self, headers: &http::HeaderMap) -> AppResult<http::HeaderValue>;

    /// The people in the caller's org.
    async fn list_users(&self, me: &Me) -> AppResult<Vec<UserView>>;

    /// Adds a person who signs in with a password (admins only).
    async fn create_user(&self, me: &Me, email: &str, name: &str, role: Role, password: &str) -> AppResult<UserView>;

    /// API tokens of the caller's org (admins) or the caller's own (others).
    async fn list_tokens(&self, me: &Me) -> AppResult<Vec<ApiTokenView>>;

    /// Creates an API token acting as the caller.
    async fn create_token(&self, me: &Me, name: &str) -> AppResult<NewApiToken>;

    /// Revokes a token: the caller's own, or any in the org for admins.
    async fn revoke_token(&self, me: &Me, token_id: &str) -> AppResult<()>;

    /// The org's instances (without their secret context).
    async fn instances(&self, me: &Me) -> AppResult<Vec<InstanceView>>;
    /// Adds an instance (admins).
    async fn create_instance(&self, me: &Me, body: NewInstance) -> AppResult<InstanceView>;
    /// The AI review of a draft ticket.
    async fn review_ticket(&self, me: &Me, request: ReviewRequest) -> AppResult<Review>;
    /// Raises a ticket from the portal.
    async fn create_ticket(&self, me: &Me, body: CreateTicket) -> AppResult<TicketDetail>;
    /// A page of the org's tickets.
    async fn list_tickets(&self, me: &Me, filter: TicketFilter) -> AppResult<TicketPage>;
    /// A ticket with its timeline.
    async fn ticket(&self, me: &Me, ticket_id: &str) -> AppResult<TicketDetail>;
    /// Changes status, severity, category or subject.
    async fn update_ticket(&self, me: &Me, ticket_id: &str, body: UpdateTicket) -> AppResult<TicketDetail>;
    /// Adds a comment.
    async fn comment(&self, me: &Me, ticket_id: &str, body: NewComment) -> AppResult<TimelineEntry>;
    /// Follows a ticket, optionally leaving a comment.
    async fn follow(&self, me: &Me, ticket_id: &str, body: FollowTicket) -> AppResult<TicketDetail>;
    /// Deletes a ticket (admins).
    async fn delete_ticket(&self, me: &Me, ticket_id: &str) -> AppResult<()>;
    /// The org's agents.
    async fn agents(&self, me: &Me) -> AppResult<Vec<AgentView>>;
    /// Registers a custom agent (admins).
    async fn create_agent(&self, me: &Me, body: NewAgent) -> AppResult<AgentView>;
    /// Sets the agents working a ticket.
    async fn assign_agents(&self, me: &Me, ticket_id: &str, body: AssignAgents) -> AppResult<TicketDetail>;
    /// Sends a message to an agent on a ticket.
    async fn post_message(&self, me: &Me, ticket_id: &str, body: PostMessage) -> AppResult<MessageAccepted>;
    /// Decides about (or executes) a proposed command.
    async fn decide_command(
        &self,
        me: &Me,
        ticket_id: &str,
        cmd_id: &str,
        body: DecideCommand,
    ) -> AppResult<TimelineEntry>;
    /// Runs the pending agent turn again.
    async fn retry_turn(&self, me: &Me, ticket_id: &str) -> AppResult<MessageAccepted>;
    /// The files of the ticket's canvas directory.
    async fn canvas_files(&self, me: &Me, ticket_id: &str) -> AppResult<Vec<CanvasFile>>;
    /// The ticket's terminal sessions, live and ended.
    async fn terminals(&self, me: &Me, ticket_id: &str) -> AppResult<Vec<TerminalSession>>;
    /// Where a terminal can open on the ticket's instance.
    async fn terminal_scopes(&self, me: &Me, ticket_id: &str) -> AppResult<TerminalScopes>;
    /// Opens a terminal on the ticket.
    async fn open_terminal(&self, me: &Me, ticket_id: &str, body: OpenTerminal) -> AppResult<TerminalSession>;
    /// Switches a session's context sharing with agents.
    async fn update_terminal(
        &self,
        me: &Me,
        ticket_id: &str,
        session_id: &str,
        body: UpdateTerminal,
    ) -> AppResult<TerminalSession>;
    /// Ends a live session.
    async fn end_terminal(&self, me: &Me, ticket_id: &str, session_id: &str) -> AppResult<TerminalSession>;
    /// The org's projects with their progress.
    async fn projects(&self, me: &Me) -> AppResult<Vec<ProjectSummary>>;
    /// A project with its plan, stages and history.
    async fn project(&self, me: &Me, project_id: &str) -> AppResult<Project>;
    /// Creates a draft project.
    async fn create_project(&self, me: &Me, body: NewProject) -> AppResult<Project>;
    /// Saves a new revision of the plan.
    async fn update_project(&self, me: &Me, project_id: &str, body: UpdateProject) -> AppResult<Project>;
    /// Approves the plan (operators).
    async fn approve_project(&self, me: &Me, project_id: &str, body: ApproveProject) -> AppResult<Project>;
    /// Opens a stage early (operators).
    async fn start_project_stage(&self, me: &Me, project_id: &str, stage: u32) -> AppResult<Project>;
    /// The plan templates.
    async fn project_templates(&self, me: &Me) -> AppResult<Vec<PlanTemplate>>;
    /// A plan drafted from a goal.
    async fn draft_plan(&self, me: &Me, body: DraftPlan) -> AppResult<PlanDraft>;
    /// The model endpoint in force for the org.
    async fn llm_settings(&self, me: &Me) -> AppResult<LlmSettingsView>;
    /// Sets the org's own model endpoint (admins).
    async fn set_llm_settings(&self, me: &Me, body: UpdateLlmSettings) -> AppResult<LlmSettingsView>;
    /// Removes the org's own model endpoint (admins).
    async fn clear_llm_settings(&self, me: &Me) -> AppResult<LlmSettingsView>;
}

/// The shared handle provided as Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

//! Server functions: page data and mutations for the UI. Each one
//! authenticates from the request the middleware already resolved and calls
//! the server through [`crate::backend::Backend`]. They live under `/rpc`
//! because `/api` is the REST API's.

use crate::error::AppError;
use crate::model::{
    AgentView, ApiTokenView, AssignAgents, CanvasFile, CreateTicket, DecideCommand, DraftPlan, FollowTicket,
    InstanceView, LlmSettingsView, Me, MessageAccepted, NewAgent, NewApiToken, NewComment, NewInstance, NewProject,
    OpenTerminal, PlanDraft, PlanTemplate, PostMessage, Project, ProjectSummary, Review, ReviewRequest, Role,
    TerminalScopes, TerminalSession, TicketDetail, TicketFilter, TicketPage, TimelineEntry, UpdateLlmSettings,
    UpdateTicket, UserView,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Helpers only the server half of a server function uses.
    use crate::backend::SharedBackend;
    use crate::error::{AppError, AppResult};
    use crate::model::Me;
    use leptos::prelude::use_context;

    /// The caller the auth middleware put on the request, if signed in.
    pub fn current_caller() -> Option<Me> {
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<Me>().cloned())
    }

    /// The signed-in caller, or a 401.
    pub fn caller() -> AppResult<Me> {
        current_caller().ok_or_else(|| AppError::unauthenticated("your session has ended; sign in again"))
    }

    /// The server's implementation of the backend seam.
    pub fn backend() -> AppResult<SharedBackend> {
        use_context::<SharedBackend>().ok_or_else(|| AppError::internal("the backend was not provided as context"))
    }

    /// Sets a response header on the server function's answer.
    pub fn set_response_header(name: http::HeaderName, value: http::HeaderValue) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(name, value);
        }
    }

    /// Answers with the error's own HTTP status (not the default 500), so
    /// scripts and logs see a 401 as a 401.
    pub fn answer<T>(result: AppResult<T>) -> AppResult<T> {
        if let (Err(error), Some(response)) = (&result, use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(status) = http::StatusCode::from_u16(error.status()) {
                response.set_status(status);
            }
        }
        result
    }

    /// Where to go after signing in: a same-site path only (no open redirects).
    pub fn safe_next(next: Option<&str>) -> String {
        match next {
            Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_owned(),
            _ => "/tickets".to_owned(),
        }
    }
}

/// The signed-in caller, or `None`.
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    Ok(ssr::current_caller())
}

/// Checks the password, sets the session cookie and goes to `next`.
#[server(prefix = "/rpc", endpoint = "sign-in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    ssr::answer(
        async {
            let cookie = ssr::backend()?.sign_in(&email, &password).await?;
            ssr::set_response_header(http::header::SET_COOKIE, cookie);
            leptos_axum::redirect(&ssr::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Ends the session and goes to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    ssr::answer(
        async {
            let headers: http::HeaderMap = leptos_axum::extract().await?;
            let cookie = ssr::backend()?.sign_out(&headers).await?;
            ssr::set_response_header(http::header::SET_COOKIE, cookie);
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

/// The people in the caller's org.
#[server(prefix = "/rpc", endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    ssr::answer(async { ssr::backend()?.list_users(&ssr::caller()?).await }.await)
}

/// Adds a person who signs in with a password (admins).
#[server(prefix = "/rpc", endpoint = "users/create")]
pub async fn create_user(email: String, name: String, role: Role, password: String) -> Result<UserView, AppError> {
    ssr::answer(async { ssr::backend()?.create_user(&ssr::caller()?, &email, &name, role, &password).await }.await)
}

/// API tokens the caller may see.
#[server(prefix = "/rpc", endpoint = "tokens")]
pub async fn list_tokens() -> Result<Vec<ApiTokenView>, AppError> {
    ssr::answer(async { ssr::backend()?.list_tokens(&ssr::caller()?).await }.await)
}

/// A new API token for the caller; its secret is in this answer only.
#[server(prefix = "/rpc", endpoint = "tokens/create")]
pub async fn create_token(name: String) -> Result<NewApiToken, AppError> {
    ssr::answer(async { ssr::backend()?.create_token(&ssr::caller()?, &name).await }.await)
}

/// Revokes an API token.
#[server(prefix = "/rpc", endpoint = "tokens/revoke")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    ssr::answer(async { ssr::backend()?.revoke_token(&ssr::caller()?, &token_id).await }.await)
}

/// The org's instances, for pickers.
#[server(prefix = "/rpc", endpoint = "instances")]
pub async fn list_instances() -> Result<Vec<InstanceView>, AppError> {
    ssr::answer(async { ssr::backend()?.instances(&ssr::caller()?).await }.await)
}

/// Adds an instance (admins).
#[server(prefix = "/rpc", endpoint = "instances/create", input = Json)]
pub async fn add_instance(body: NewInstance) -> Result<InstanceView, AppError> {
    ssr::answer(async { ssr::backend()?.create_instance(&ssr::caller()?, body).await }.await)
}

/// The AI review of a draft ticket.
#[server(prefix = "/rpc", endpoint = "tickets/review", input = Json)]
pub async fn review_ticket(request: ReviewRequest) -> Result<Review, AppError> {
    ssr::answer(async { ssr::backend()?.review_ticket(&ssr::caller()?, request).await }.await)
}

/// Raises a ticket from the portal.
#[server(prefix = "/rpc", endpoint = "tickets/create", input = Json)]
pub async fn raise_ticket(body: CreateTicket) -> Result<TicketDetail, AppError> {
    ssr::answer(async { ssr::backend()?.create_ticket(&ssr::caller()?, body).await }.await)
}

/// A page of the org's tickets.
#[server(prefix = "/rpc", endpoint = "tickets/list", input = Json)]
pub async fn list_tickets(filter: TicketFilter) -> Result<TicketPage, AppError> {
    ssr::answer(async { ssr::backend()?.list_tickets(&ssr::caller()?, filter).await }.await)
}

/// A ticket with its timeline.
#[server(prefix = "/rpc", endpoint = "tickets/get")]
pub async fn get_ticket(ticket_id: String) -> Result<TicketDetail, AppError> {
    ssr::answer(async { ssr::backend()?.ticket(&ssr::caller()?, &ticket_id).await }.await)
}

/// Changes a ticket's status, severity, category or subject.
#[server(prefix = "/rpc", endpoint = "tickets/update", input = Json)]
pub async fn edit_ticket(ticket_id: String, body: UpdateTicket) -> Result<TicketDetail, AppError> {
    ssr::answer(async { ssr::backend()?.update_ticket(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Adds a comment to a ticket.
#[server(prefix = "/rpc", endpoint = "tickets/comment", input = Json)]
pub async fn comment_ticket(ticket_id: String, body: NewComment) -> Result<TimelineEntry, AppError> {
    ssr::answer(async { ssr::backend()?.comment(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Follows a ticket, optionally leaving a comment.
#[server(prefix = "/rpc", endpoint = "tickets/follow", input = Json)]
pub async fn watch_ticket(ticket_id: String, body: FollowTicket) -> Result<TicketDetail, AppError> {
    ssr::answer(async { ssr::backend()?.follow(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Deletes a ticket (admins).
#[server(prefix = "/rpc", endpoint = "tickets/delete")]
pub async fn remove_ticket(ticket_id: String) -> Result<(), AppError> {
    ssr::answer(async { ssr::backend()?.delete_ticket(&ssr::caller()?, &ticket_id).await }.await)
}

/// The org's agents, for pickers and the admin page.
#[server(prefix = "/rpc", endpoint = "agents")]
pub async fn list_agents() -> Result<Vec<AgentView>, AppError> {
    ssr::answer(async { ssr::backend()?.agents(&ssr::caller()?).await }.await)
}

/// Registers a custom agent (admins).
#[server(prefix = "/rpc", endpoint = "agents/create", input = Json)]
pub async fn add_agent(body: NewAgent) -> Result<AgentView, AppError> {
    ssr::answer(async { ssr::backend()?.create_agent(&ssr::caller()?, body).await }.await)
}

/// Sets the agents working a ticket.
#[server(prefix = "/rpc", endpoint = "tickets/agents", input = Json)]
pub async fn set_ticket_agents(ticket_id: String, body: AssignAgents) -> Result<TicketDetail, AppError> {
    ssr::answer(async { ssr::backend()?.assign_agents(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Sends a message to an agent; its answer arrives on the live timeline.
#[server(prefix = "/rpc", endpoint = "tickets/message", input = Json)]
pub async fn send_message(ticket_id: String, body: PostMessage) -> Result<MessageAccepted, AppError> {
    ssr::answer(async { ssr::backend()?.post_message(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Approves, rejects, ignores or executes a proposed command.
#[server(prefix = "/rpc", endpoint = "tickets/command", input = Json)]
pub async fn decide_on_command(
    ticket_id: String,
    cmd_id: String,
    body: DecideCommand,
) -> Result<TimelineEntry, AppError> {
    ssr::answer(async { ssr::backend()?.decide_command(&ssr::caller()?, &ticket_id, &cmd_id, body).await }.await)
}

/// Runs the pending agent turn again after a failure.
#[server(prefix = "/rpc", endpoint = "tickets/retry")]
pub async fn retry_turn(ticket_id: String) -> Result<MessageAccepted, AppError> {
    ssr::answer(async { ssr::backend()?.retry_turn(&ssr::caller()?, &ticket_id).await }.await)
}

/// The files of a ticket's canvas directory.
#[server(prefix = "/rpc", endpoint = "tickets/files")]
pub async fn canvas_files(ticket_id: String) -> Result<Vec<CanvasFile>, AppError> {
    ssr::answer(async { ssr::backend()?.canvas_files(&ssr::caller()?, &ticket_id).await }.await)
}

/// A ticket's terminal sessions, live and ended.
#[server(prefix = "/rpc", endpoint = "tickets/terminals")]
pub async fn ticket_terminals(ticket_id: String) -> Result<Vec<TerminalSession>, AppError> {
    ssr::answer(async { ssr::backend()?.terminals(&ssr::caller()?, &ticket_id).await }.await)
}

/// Where a terminal can open on the ticket's instance (operators).
#[server(prefix = "/rpc", endpoint = "tickets/terminals/scopes")]
pub async fn ticket_terminal_scopes(ticket_id: String) -> Result<TerminalScopes, AppError> {
    ssr::answer(async { ssr::backend()?.terminal_scopes(&ssr::caller()?, &ticket_id).await }.await)
}

/// Opens a terminal on the ticket (operators).
#[server(prefix = "/rpc", endpoint = "tickets/terminals/open", input = Json)]
pub async fn open_ticket_terminal(ticket_id: String, body: OpenTerminal) -> Result<TerminalSession, AppError> {
    ssr::answer(async { ssr::backend()?.open_terminal(&ssr::caller()?, &ticket_id, body).await }.await)
}

/// Switches whether a session's commands reach the agents (operators).
#[server(prefix = "/rpc", endpoint = "tickets/terminals/share", input = Json)]
pub async fn share_terminal(
    ticket_id: String,
    session_id: String,
    share_context: bool,
) -> Result<TerminalSession, AppError> {
    let body = crate::model::UpdateTerminal { share_context };
    ssr::answer(async { ssr::backend()?.update_terminal(&ssr::caller()?, &ticket_id, &session_id, body).await }.await)
}

/// Ends a live session (operators).
#[server(prefix = "/rpc", endpoint = "tickets/terminals/end")]
pub async fn end_terminal(ticket_id: String, session_id: String) -> Result<TerminalSession, AppError> {
    ssr::answer(async { ssr::backend()?.end_terminal(&ssr::caller()?, &ticket_id, &session_id).await }.await)
}

/// The org's projects with their progress.
#[server(prefix = "/rpc", endpoint = "projects")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    ssr::answer(async { ssr::backend()?.projects(&ssr::caller()?).await }.await)
}

/// A project with its plan, stages, tickets and history.
#[server(prefix = "/rpc", endpoint = "projects/show")]
pub async fn show_project(project_id: String) -> Result<Project, AppError> {
    ssr::answer(async { ssr::backend()?.project(&ssr::caller()?, &project_id).await }.await)
}

/// Creates a project as a draft.
#[server(prefix = "/rpc", endpoint = "projects/create", input = Json)]
pub async fn create_project(body: NewProject) -> Result<Project, AppError> {
    ssr::answer(async { ssr::backend()?.create_project(&ssr::caller()?, body).await }.await)
}

/// Saves a new revision of a project's plan.
#[server(prefix = "/rpc", endpoint = "projects/update", input = Json)]
pub async fn save_project_plan(project_id: String, body: crate::model::UpdateProject) -> Result<Project, AppError> {
    ssr::answer(async { ssr::backend()?.update_project(&ssr::caller()?, &project_id, body).await }.await)
}

/// Approves the plan's revision `revision` (operators); the first approval opens stage 1.
#[server(prefix = "/rpc", endpoint = "projects/approve")]
pub async fn approve_plan(project_id: String, revision: i64) -> Result<Project, AppError> {
    let body = crate::model::ApproveProject { revision: Some(revision) };
    ssr::answer(async { ssr::backend()?.approve_project(&ssr::caller()?, &project_id, body).await }.await)
}

/// Opens a stage before the one before it is done (operators).
#[server(prefix = "/rpc", endpoint = "projects/start-stage")]
pub async fn start_project_stage(project_id: String, stage: u32) -> Result<Project, AppError> {
    ssr::answer(async { ssr::backend()?.start_project_stage(&ssr::caller()?, &project_id, stage).await }.await)
}

/// The plan templates a draft can start from.
#[server(prefix = "/rpc", endpoint = "projects/templates")]
pub async fn project_templates() -> Result<Vec<PlanTemplate>, AppError> {
    ssr::answer(async { ssr::backend()?.project_templates(&ssr::caller()?).await }.await)
}

/// A plan drafted from a goal, to edit before creating.
#[server(prefix = "/rpc", endpoint = "projects/draft", input = Json)]
pub async fn draft_project_plan(body: DraftPlan) -> Result<PlanDraft, AppError> {
    ssr::answer(async { ssr::backend()?.draft_plan(&ssr::caller()?, body).await }.await)
}

/// The model endpoint in force for the org (never its key).
#[server(prefix = "/rpc", endpoint = "llm")]
pub async fn llm_settings() -> Result<LlmSettingsView, AppError> {
    ssr::answer(async { ssr::backend()?.llm_settings(&ssr::caller()?).await }.await)
}

/// Sets the org's own model endpoint (admins).
#[server(prefix = "/rpc", endpoint = "llm/set", input = Json)]
pub async fn set_llm_settings(body: UpdateLlmSettings) -> Result<LlmSettingsView, AppError> {
    ssr::answer(async { ssr::backend()?.set_llm_settings(&ssr::caller()?, body).await }.await)
}

/// Goes back to the server's model endpoint (admins).
#[server(prefix = "/rpc", endpoint = "llm/clear")]
pub async fn clear_llm_settings() -> Result<LlmSettingsView, AppError> {
    ssr::answer(async { ssr::backend()?.clear_llm_settings(&ssr::caller()?).await }.await)
}

//! The server's side of the UI seam: [`Backend`] on [`AppState`], delegating
//! to the same services the REST API uses.

use crate::accounts::{self, UserInput};
use crate::conversation;
use crate::projects;
use crate::state::AppState;
use crate::terminal;
use crate::tickets;
use opsdesk_app::backend::Backend;
use opsdesk_app::error::AppResult;
use opsdesk_app::model::{
    AgentView, ApiTokenView, ApproveProject, AssignAgents, CanvasFile, CreateTicket, DecideCommand, DraftPlan,
    FollowTicket, InstanceView, LlmSettingsView, Me, MessageAccepted, NewAgent, NewApiToken, NewComment, NewInstance,
    NewProject, OpenTerminal, PlanDraft, PlanTemplate, PostMessage, Project, ProjectSummary, Review, ReviewRequest,
    Role, Source, TerminalScopes, TerminalSession, TicketDetail, TicketFilter, TicketPage, TimelineEntry,
    UpdateLlmSettings, UpdateProject, UpdateTerminal, UpdateTicket, UserView,
};

#[async_trait::async_trait]
impl Backend for AppState {
    async fn sign_in(&self, email: &str, password: &str) -> AppResult<http::HeaderValue> {
        accounts::sign_in(self, email, password).await.map(|(_, cookie)| cookie)
    }

    async fn sign_out(&self, headers: &http::HeaderMap) -> AppResult<http::HeaderValue> {
        accounts::sign_out(self, headers).await
    }

    async fn list_users(&self, me: &Me) -> AppResult<Vec<UserView>> {
        accounts::list_users(self, me).await
    }

    async fn create_user(&self, me: &Me, email: &str, name: &str, role: Role, password: &str) -> AppResult<UserView> {
        accounts::create_user(self, me, UserInput { email, name, role, password: Some(password) }).await
    }

    async fn list_tokens(&self, me: &Me) -> AppResult<Vec<ApiTokenView>> {
        accounts::list_tokens(self.store.as_ref(), me).await
    }

    async fn create_token(&self, me: &Me, name: &str) -> AppResult<NewApiToken> {
        accounts::create_token(self.store.as_ref(), me, name).await
    }

    async fn revoke_token(&self, me: &Me, token_id: &str) -> AppResult<()> {
        accounts::revoke_token(self.store.as_ref(), me, token_id).await
    }

    async fn instances(&self, me: &Me) -> AppResult<Vec<InstanceView>> {
        crate::instances::list(self, me).await
    }

    async fn review_ticket(&self, me: &Me, request: ReviewRequest) -> AppResult<Review> {
        tickets::review(self, me, request).await
    }

    async fn create_ticket(&self, me: &Me, body: CreateTicket) -> AppResult<TicketDetail> {
        tickets::create(self, me, body, Source::Portal).await
    }

    async fn list_tickets(&self, me: &Me, filter: TicketFilter) -> AppResult<TicketPage> {
        tickets::list(self, me, filter).await
    }

    async fn ticket(&self, me: &Me, ticket_id: &str) -> AppResult<TicketDetail> {
        tickets::get(self, me, ticket_id).await
    }

    async fn update_ticket(&self, me: &Me, ticket_id: &str, body: UpdateTicket) -> AppResult<TicketDetail> {
        tickets::update(self, me, ticket_id, body).await
    }

    async fn comment(&self, me: &Me, ticket_id: &str, body: NewComment) -> AppResult<TimelineEntry> {
        tickets::comment(self, me, ticket_id, body).await
    }

    async fn follow(&self, me: &Me, ticket_id: &str, body: FollowTicket) -> AppResult<TicketDetail> {
        tickets::follow(self, me, ticket_id, body).await
    }

    async fn create_instance(&self, me: &Me, body: NewInstance) -> AppResult<InstanceView> {
        crate::instances::create(self, me, body).await
    }

    async fn delete_ticket(&self, me: &Me, ticket_id: &str) -> AppResult<()> {
        tickets::delete(self, me, ticket_id).await
    }

    async fn agents(&self, me: &Me) -> AppResult<Vec<AgentView>> {
        crate::agents::list(self, me).await
    }

    async fn create_agent(&self, me: &Me, body: NewAgent) -> AppResult<AgentView> {
        crate::agents::create(self, me, body).await
    }

    async fn assign_agents(&self, me: &Me, ticket_id: &str, body: AssignAgents) -> AppResult<TicketDetail> {
        conversation::assign(self, me, ticket_id, body).await
    }

    async fn post_message(&self, me: &Me, ticket_id: &str, body: PostMessage) -> AppResult<MessageAccepted> {
        conversation::post_message(self, me, ticket_id, body).await
    }

    async fn decide_command(
        &self,
        me: &Me,
        ticket_id: &str,
        cmd_id: &str,
        body: DecideCommand,
    ) -> AppResult<TimelineEntry> {
        conversation::decide(self, me, ticket_id, cmd_id, body).await
    }

    async fn retry_turn(&self, me: &Me, ticket_id: &str) -> AppResult<MessageAccepted> {
        conversation::retry(self, me, ticket_id).await
    }

    async fn canvas_files(&self, me: &Me, ticket_id: &str) -> AppResult<Vec<CanvasFile>> {
        conversation::files(self, me, ticket_id).await
    }

    async fn terminals(&self, me: &Me, ticket_id: &str) -> AppResult<Vec<TerminalSession>> {
        terminal::list(self, me, ticket_id).await
    }

    async fn terminal_scopes(&self, me: &Me, ticket_id: &str) -> AppResult<TerminalScopes> {
        terminal::scopes(self, me, ticket_id).await
    }

    async fn open_terminal(&self, me: &Me, ticket_id: &str, body: OpenTerminal) -> AppResult<TerminalSession> {
        terminal::open(self, me, ticket_id, body).await
    }

    async fn update_terminal(
        &self,
        me: &Me,
        ticket_id: &str,
        session_id: &str,
        body: UpdateTerminal,
    ) -> AppResult<TerminalSession> {
        terminal::update(self, me, ticket_id, session_id, body).await
    }

    async fn end_terminal(&self, me: &Me, ticket_id: &str, session_id: &str) -> AppResult<TerminalSession> {
        terminal::end(self, me, ticket_id, session_id).await
    }

    async fn projects(&self, me: &Me) -> AppResult<Vec<ProjectSummary>> {
        projects::list(self, me).await
    }

    async fn project(&self, me: &Me, project_id: &str) -> AppResult<Project> {
        projects::get(self, me, project_id).await
    }

    async fn create_project(&self, me: &Me, body: NewProject) -> AppResult<Project> {
        projects::create(self, me, body).await
    }

    async fn update_project(&self, me: &Me, project_id: &str, body: UpdateProject) -> AppResult<Project> {
        projects::update(self, me, project_id, body).await
    }

    async fn approve_project(&self, me: &Me, project_id: &str, body: ApproveProject) -> AppResult<Project> {
        projects::approve(self, me, project_id, body).await
    }

    async fn start_project_stage(&self, me: &Me, project_id: &str, stage: u32) -> AppResult<Project> {
        projects::start_stage(self, me, project_id, stage).await
    }

    async fn project_templates(&self, me: &Me) -> AppResult<Vec<PlanTemplate>> {
        projects::templates(me)
    }

    async fn draft_plan(&self, me: &Me, body: DraftPlan) -> AppResult<PlanDraft> {
        projects::draft(self, me, body).await
    }

    async fn llm_settings(&self, me: &Me) -> AppResult<LlmSettingsView> {
        crate::llm::settings::view(self, me).await
    }

    async fn set_llm_settings(&self, me: &Me, body: UpdateLlmSettings) -> AppResult<LlmSettingsView> {
        crate::llm::settings::update(self, me, body).await
    }

    async fn clear_llm_settings(&self, me: &Me) -> AppResult<LlmSettingsView> {
        crate::llm::settings::clear(self, me).await
    }
}

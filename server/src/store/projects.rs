//! Persistence of projects: their plan revisions, the stages that opened,
//! and the tickets those stages opened.

use super::{NewEntry, NewTicket, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsdesk_app::model::{PersonRef, PlanRevision, PlanStage, ProjectTicket, Ticket};

/// A project as stored, with its latest revision and the approved one.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectRecord {
    pub id: String,
    pub org_id: String,
    pub latest: PlanRevision,
    /// The revision stages open from; `None` while a draft.
    pub approved: Option<PlanRevision>,
    pub approved_by: Option<PersonRef>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stage that has opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedStage {
    pub project_id: String,
    /// From 1.
    pub stage: u32,
    pub revision: i64,
    pub opened_by: Option<PersonRef>,
    pub opened_at: DateTime<Utc>,
    pub early: bool,
}

/// A ticket a stage opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTicket {
    pub project_id: String,
    pub stage: u32,
    pub ticket: ProjectTicket,
}

/// A ticket to open for a task, with its first timeline entries.
#[derive(Clone, Debug)]
pub struct NewStageTicket {
    pub ticket: NewTicket,
    pub entries: Vec<NewEntry>,
    /// The task's position in its stage, from 0.
    pub task: u32,
}

/// A stage to open.
#[derive(Clone, Debug)]
pub struct StageOpening<'a> {
    pub project_id: &'a str,
    /// From 1.
    pub stage: u32,
    /// The plan revision its tasks come from.
    pub revision: i64,
    pub opened_by: &'a str,
    pub early: bool,
    pub tickets: Vec<NewStageTicket>,
}

/// A plan's words, as one revision stores them.
#[derive(Clone, Copy, Debug)]
pub struct PlanText<'a> {
    pub title: &'a str,
    pub goal: &'a str,
    pub stages: &'a [PlanStage],
}

/// Projects and their stages.
#[async_trait]
pub trait ProjectStore {
    /// Creates a project with its first revision; answers its id.
    async fn create_project(&self, org_id: &str, author_id: &str, plan: PlanText<'_>) -> StoreResult<String>;
    /// One project of the org.
    async fn project(&self, org_id: &str, project_id: &str) -> StoreResult<Option<ProjectRecord>>;
    /// The org's projects, newest first.
    async fn projects(&self, org_id: &str) -> StoreResult<Vec<ProjectRecord>>;
    /// Every revision of a project's plan, newest first.
    async fn project_revisions(&self, project_id: &str) -> StoreResult<Vec<PlanRevision>>;
    /// Adds revision `expected + 1`, unless the latest is no longer `expected`
    /// (someone else edited meanwhile): then nothing changes and it answers false.
    async fn revise_project(
        &self,
        project_id: &str,
        expected: i64,
        author_id: &str,
        plan: PlanText<'_>,
    ) -> StoreResult<bool>;
    /// Marks `revision` approved if it is still the latest and not approved
    /// yet; answers whether it changed anything.
    async fn approve_project(&self, project_id: &str, revision: i64, by: &str) -> StoreResult<bool>;
    /// The stages that opened, of one project or (`None`) of every project of the org.
    async fn opened_stages(&self, org_id: &str, project_id: Option<&str>) -> StoreResult<Vec<OpenedStage>>;
    /// The tickets stages opened, of one project or of every project of the org.
    async fn stage_tickets(&self, org_id: &str, project_id: Option<&str>) -> StoreResult<Vec<StageTicket>>;
    /// Opens a stage and its tickets in one transaction, once: answers `None`
    /// (and changes nothing) when the stage has opened already or the stage
    /// before it has not.
    async fn open_stage(&self, opening: StageOpening<'_>) -> StoreResult<Option<Vec<Ticket>>>;
}

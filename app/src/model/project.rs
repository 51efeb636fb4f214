//! Projects: a goal and an implementation plan of ordered stages, each a list
//! of tasks. Approving the plan opens one ticket per task of the first stage;
//! each later stage opens when every ticket of the one before is resolved or
//! closed, or when a person starts it early. Every edit of the plan is a new
//! revision; stages open from the latest approved one.

use super::{PersonRef, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest project title (the same as a ticket subject: tasks become tickets).
pub const MAX_PROJECT_TITLE_CHARS: usize = 200;
/// Longest goal.
pub const MAX_GOAL_CHARS: usize = 10_000;
/// Longest stage name.
pub const MAX_STAGE_NAME_CHARS: usize = 200;
/// Longest acceptance criteria of one task.
pub const MAX_CRITERIA_CHARS: usize = 5_000;
/// Most stages in a plan.
pub const MAX_STAGES: usize = 20;
/// Most tasks in one stage.
pub const MAX_TASKS_PER_STAGE: usize = 30;

wire_enum! {
    /// Where a project is.
    ProjectStatus {
        /// The plan is being written; nothing is open.
        Draft = "draft",
        /// Approved: its stages are opening tickets.
        Active = "active",
        /// Every stage has opened and every ticket is resolved or closed.
        Done = "done",
    }
}

wire_enum! {
    /// Where one stage of an approved plan is.
    StageState {
        /// Not opened yet: it waits for the stage before it.
        Waiting = "waiting",
        /// Its tickets are open; some are not resolved or closed yet.
        Open = "open",
        /// Every ticket it opened is resolved or closed.
        Done = "done",
    }
}

/// One task of a stage; it becomes one ticket when its stage opens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTask {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub acceptance_criteria: String,
    /// The agent that works the ticket (id or slug on input; stored as the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The instance the ticket is about (id or name on input; stored as the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// One stage: tasks that run in parallel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStage {
    pub name: String,
    pub tasks: Vec<PlanTask>,
}

/// `POST /api/v1/org/projects`: a new project, as a draft.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub title: String,
    pub goal: String,
    pub stages: Vec<PlanStage>,
}

/// `PATCH /api/v1/org/projects/{id}`: a new revision of the plan. Fields left
/// out keep their value; `revision`, when given, must be the current one (so
/// two editors never overwrite each other unknowingly).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<PlanStage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// `POST .../{id}/approve`: approves the current revision; `revision`, when
/// given, must be the current one (approve what you read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveProject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// A project in the list: its progress without its plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub status: ProjectStatus,
    /// The latest revision of the plan.
    pub revision: i64,
    /// The revision stages open from; none while a draft.
    pub approved_revision: Option<i64>,
    pub stage_count: u32,
    /// How many stages have opened their tickets.
    pub opened_stages: u32,
    /// Tickets resolved or closed, of all the plan's tasks (opened or not).
    pub tasks_done: u32,
    pub tasks_total: u32,
    /// `tasks_done` as a whole percentage of `tasks_total`.
    pub progress: u8,
    pub created_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket a stage opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTicket {
    /// The human id (`ACME-12`).
    pub ticket_id: String,
    pub subject: String,
    pub status: Status,
    /// The task's position in its stage, from 0.
    pub task: u32,
}

/// One stage as it stands: the tickets it opened, or the tasks it will open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    /// From 1.
    pub number: u32,
    pub name: String,
    pub state: StageState,
    /// The tasks: of the revision it opened from, else of the approved (or latest) one.
    pub tasks: Vec<PlanTask>,
    pub tickets: Vec<ProjectTicket>,
    pub opened_at: Option<DateTime<Utc>>,
    pub opened_by: Option<PersonRef>,
    /// Opened by a person before the stage before it was done.
    pub early: bool,
    /// The plan revision its tickets were opened from.
    pub opened_revision: Option<i64>,
}

/// One revision of the plan: the history of edits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRevision {
    pub revision: i64,
    pub title: String,
    pub goal: String,
    pub stages: Vec<PlanStage>,
    pub author: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
}

/// A project with its plan, its stages' tickets and the plan's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub status: ProjectStatus,
    pub revision: i64,
    pub approved_revision: Option<i64>,
    pub approved_by: Option<PersonRef>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The latest revision's plan.
    pub stages: Vec<PlanStage>,
    /// Each stage of the approved plan (or of the draft) with its tickets.
    pub stage_progress: Vec<StageView>,
    pub opened_stages: u32,
    pub tasks_done: u32,
    pub tasks_total: u32,
    pub progress: u8,
    /// Every revision, newest first.
    pub revisions: Vec<PlanRevision>,
    pub created_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Project {
    /// The stage a person may start now: the first one not opened, once the
    /// plan is approved.
    pub fn next_stage(&self) -> Option<&StageView> {
        self.approved_revision?;
        self.stage_progress.iter().find(|s| s.state == StageState::Waiting)
    }

    /// Whether the latest revision still waits for approval.
    pub fn has_unapproved_changes(&self) -> bool {
        self.approved_revision.is_some_and(|approved| approved < self.revision)
    }
}

/// `done` of `total` as a whole percentage, rounded down (100 only when all are done).
pub fn progress_percent(done: u32, total: u32) -> u8 {
    if total == 0 {
        return 0;
    }
    (u64::from(done.min(total)) * 100 / u64::from(total)) as u8
}

/// A plan template an agent-less draft starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTemplate {
    pub key: String,
    pub name: String,
    pub description: String,
}

/// `POST /api/v1/org/projects/draft`: a plan drafted from a goal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftPlan {
    pub goal: String,
    /// A template key; by default the one that fits the goal best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Put on every task (id or slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Put on every task (id or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// A drafted plan, to edit and create; nothing is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDraft {
    pub title: String,
    pub goal: String,
    pub stages: Vec<PlanStage>,
    /// Who drafted it: `llm:<model>`, or `template:<key>` (with why, when the
    /// model's draft was not usable).
    pub drafted_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_rounded_down_and_bounded() {
        assert_eq!(progress_percent(0, 0), 0);
        assert_eq!(progress_percent(0, 3), 0);
        assert_eq!(progress_percent(1, 3), 33);
        assert_eq!(progress_percent(2, 3), 66);
        assert_eq!(progress_percent(199, 200), 99);
        assert_eq!(progress_percent(3, 3), 100);
        assert_eq!(progress_percent(5, 3), 100);
    }

    #[test]
    fn tasks_read_with_only_a_title() {
        let task: PlanTask = serde_json::from_str(r#"{"title":"Drain node-1"}"#).unwrap();
        assert_eq!(task, PlanTask { title: "Drain node-1".into(), ..Default::default() });
        let back = serde_json::to_value(&task).unwrap();
        assert!(back.get("agent_id").is_none(), "{back}");
    }
}

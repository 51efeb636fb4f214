//! Projects: the rules. A project's plan is written (by hand or drafted from
//! a template), revised, approved; approval opens one ticket per task of the
//! first stage, and each later stage opens when every ticket of the stage
//! before is resolved or closed, or when a person starts it early. Stages
//! open from the latest approved revision; tickets already opened are never
//! touched by later edits. The REST API (token and session), the pages and
//! the CLI all come through here.

mod drafting;
pub mod templates;

use crate::auth;
use crate::conversation;
use crate::review::{self, offline};
use crate::state::AppState;
use crate::store::{
    NewEntry, NewStageTicket, NewTicket, OpenedStage, PlanText, ProjectRecord, StageOpening, StageTicket, TicketChanges,
};
use crate::tickets::{check_len, check_text};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    progress_percent, ApproveProject, AuthorType, DraftPlan, Me, NewProject, Permission, PlanDraft, PlanRevision,
    PlanStage, PlanTask, PlanTemplate, Project, ProjectStatus, ProjectSummary, ProjectTicket, ReviewStatus, Source,
    StageState, StageView, Status, Ticket, TimelineEvent, UpdateProject, MAX_CRITERIA_CHARS, MAX_DESCRIPTION_CHARS,
    MAX_GOAL_CHARS, MAX_PROJECT_TITLE_CHARS, MAX_STAGES, MAX_STAGE_NAME_CHARS, MAX_SUBJECT_CHARS, MAX_TASKS_PER_STAGE,
};
use std::collections::{BTreeMap, HashMap};

/// `GET /api/v1/org/projects`: every project with its progress, newest first.
pub async fn list(state: &AppState, me: &Me) -> AppResult<Vec<ProjectSummary>> {
    auth::require(me, Permission::Read)?;
    let records = state.store.projects(&me.org.id).await?;
    let opened = state.store.opened_stages(&me.org.id, None).await?;
    let tickets = state.store.stage_tickets(&me.org.id, None).await?;
    // Grouped once: filtering per project would read every ticket once per project.
    let mut opened_of: HashMap<&str, Vec<&OpenedStage>> = HashMap::new();
    for stage in &opened {
        opened_of.entry(stage.project_id.as_str()).or_default().push(stage);
    }
    let mut tickets_of: HashMap<&str, Vec<&StageTicket>> = HashMap::new();
    for ticket in &tickets {
        tickets_of.entry(ticket.project_id.as_str()).or_default().push(ticket);
    }
    Ok(records
        .iter()
        .map(|record| {
            let opened = opened_of.get(record.id.as_str()).map_or(&[][..], Vec::as_slice);
            let tickets = tickets_of.get(record.id.as_str()).map_or(&[][..], Vec::as_slice);
            summarize(record, &Standing::new(record, opened, tickets, &[]))
        })
        .collect())
}

/// `GET /api/v1/org/projects/{id}`.
pub async fn get(state: &AppState, me: &Me, project_id: &str) -> AppResult<Project> {
    auth::require(me, Permission::Read)?;
    let record = find(state, me, project_id).await?;
    view(state, &record).await
}

/// `POST /api/v1/org/projects`: a new draft.
pub async fn create(state: &AppState, me: &Me, body: NewProject) -> AppResult<Project> {
    auth::require(me, Permission::Write)?;
    let plan = check_plan(state, me, &body.title, &body.goal, body.stages).await?;
    let id = state.store.create_project(&me.org.id, &me.user.id, plan.text()).await?;
    tracing::info!(project = %id, by = %me.user.email, "project created");
    get(state, me, &id).await
}

/// `PATCH /api/v1/org/projects/{id}`: a new revision of the plan (nothing
/// happens when nothing changed). Tickets already opened stay as they are.
pub async fn update(state: &AppState, me: &Me, project_id: &str, body: UpdateProject) -> AppResult<Project> {
    auth::require(me, Permission::Write)?;
    let record = find(state, me, project_id).await?;
    let current = &record.latest;
    if let Some(expected) = body.revision.filter(|r| *r != current.revision) {
        return Err(stale(expected, current.revision));
    }
    let title = body.title.unwrap_or_else(|| current.title.clone());
    let goal = body.goal.unwrap_or_else(|| current.goal.clone());
    let stages = body.stages.unwrap_or_else(|| current.stages.clone());
    let plan = check_plan(state, me, &title, &goal, stages).await?;
    if plan.title == current.title && plan.goal == current.goal && plan.stages == current.stages {
        return view(state, &record).await;
    }
    let saved = state.store.revise_project(&record.id, current.revision, &me.user.id, plan.text()).await?;
    if !saved {
        return Err(AppError::conflict("the plan changed while saving; reload it and edit again"));
    }
    get(state, me, &record.id).await
}

/// `POST .../{id}/approve`: approves the latest revision; the first approval
/// opens stage 1. Approving an approved revision again opens nothing.
pub async fn approve(state: &AppState, me: &Me, project_id: &str, body: ApproveProject) -> AppResult<Project> {
    auth::require(me, Permission::Operate)?;
    let record = find(state, me, project_id).await?;
    if let Some(expected) = body.revision.filter(|r| *r != record.latest.revision) {
        return Err(stale(expected, record.latest.revision));
    }
    let revision = record.latest.revision;
    if state.store.approve_project(&record.id, revision, &me.user.id).await? {
        tracing::info!(project = %record.id, revision, by = %me.user.email, "plan approved");
        let approved = find(state, me, project_id).await?;
        // The approval stands even if opening the stage fails: it can be started by hand.
        if let Err(error) = advance(state, me, &approved).await {
            tracing::warn!(project = %record.id, "the first stage did not open: {}", error.message);
        }
    } else {
        // Not approved now: approved already, or someone saved a newer revision meanwhile.
        let now = find(state, me, project_id).await?;
        if now.approved.as_ref().map(|a| a.revision) != Some(revision) {
            return Err(stale(revision, now.latest.revision));
        }
    }
    get(state, me, project_id).await
}

/// `POST .../{id}/stages/{n}/start`: opens stage `n` now, before the stage
/// before it is done. Starting a stage that is open already opens nothing.
pub async fn start_stage(state: &AppState, me: &Me, project_id: &str, stage: u32) -> AppResult<Project> {
    auth::require(me, Permission::Operate)?;
    let record = find(state, me, project_id).await?;
    let Some(approved) = record.approved.clone() else {
        return Err(AppError::conflict("the plan is not approved yet: approve it first"));
    };
    let opened = state.store.opened_stages(&me.org.id, Some(&record.id)).await?;
    let opened_count = opened.len() as u32;
    let known = (approved.stages.len() as u32).max(opened_count);
    if stage == 0 || stage > known {
        return Err(AppError::not_found("stage"));
    }
    if stage <= opened_count {
        return get(state, me, project_id).await;
    }
    if stage != opened_count + 1 {
        return Err(AppError::conflict(format!("stage {} opens before stage {stage}", opened_count + 1)));
    }
    let tickets = state.store.stage_tickets(&me.org.id, Some(&record.id)).await?;
    let early = tickets.iter().any(|t| t.stage == opened_count && !t.ticket.status.is_done());
    open_stage(state, me, &record, &approved, stage, early).await?;
    get(state, me, project_id).await
}

/// Called after one of a project's tickets was resolved, closed or deleted:
/// opens the next stage when every ticket of the current one is done.
/// Failures are logged; the next stage can still be started by hand.
pub async fn ticket_finished(state: &AppState, me: &Me, project_id: &str) {
    let result = async {
        let Some(record) = state.store.project(&me.org.id, project_id).await? else { return Ok(()) };
        advance(state, me, &record).await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(project = %project_id, "the next stage did not open: {error}");
    }
}

/// `GET /api/v1/org/projects/templates`.
pub fn templates(me: &Me) -> AppResult<Vec<PlanTemplate>> {
    auth::require(me, Permission::Read)?;
    Ok(templates::ALL.iter().map(templates::Template::describe).collect())
}

/// `POST /api/v1/org/projects/draft`: a plan drafted from the goal, to edit;
/// nothing is stored.
pub async fn draft(state: &AppState, me: &Me, body: DraftPlan) -> AppResult<PlanDraft> {
    auth::require(me, Permission::Write)?;
    let goal = body.goal.trim();
    let mut fields = BTreeMap::new();
    check_len(&mut fields, "goal", goal, 1, MAX_GOAL_CHARS);
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    let chosen = body.template.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let template = match chosen {
        Some(key) => templates::by_key(key).ok_or_else(|| {
            let keys: Vec<&str> = templates::ALL.iter().map(|t| t.key).collect();
            AppError::invalid_field("template", format!("no template `{key}`: expected one of {}", keys.join(", ")))
        })?,
        None => templates::best_for(goal),
    };
    let agent_id = match body.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(agent) => Some(crate::agents::find(state, me, agent, "agent_id").await?.view.id),
        None => None,
    };
    let instance_id =
        match body.instance_id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            Some(instance) => Some(find_instance(state, me, instance).await?.ok_or_else(|| {
                AppError::invalid_field("instance_id", format!("no instance `{instance}` in your org"))
            })?),
            None => None,
        };
    // Without a chosen template, the org's model drafts when there is one;
    // a draft it gets wrong gives way to the template, saying why.
    let model = match chosen {
        Some(_) => None,
        None => crate::llm::settings::for_org(state, &me.org.id).await?,
    };
    let mut drafted_by = format!("template:{}", template.key);
    let mut drafted = (crate::tickets::subject_from_message(goal), template.stages());
    if let Some(config) = model {
        match drafting::draft(&state.http, &config, goal).await {
            Ok(plan) => {
                drafted = plan;
                drafted_by = format!("llm:{}", config.model);
            }
            Err(error) => {
                let reason: String = format!("{error:#}").chars().take(200).collect();
                drafted_by.push_str(&format!(" (the model's draft was not usable: {reason})"));
            }
        }
    }
    let (title, mut stages) = drafted;
    for task in stages.iter_mut().flat_map(|s| s.tasks.iter_mut()) {
        task.agent_id.clone_from(&agent_id);
        task.instance_id.clone_from(&instance_id);
    }
    Ok(PlanDraft { title, goal: goal.to_owned(), stages, drafted_by })
}

/// The project a path names in the caller's org, or 404.
async fn find(state: &AppState, me: &Me, project_id: &str) -> AppResult<ProjectRecord> {
    state.store.project(&me.org.id, project_id.trim()).await?.ok_or_else(|| AppError::not_found("project"))
}

fn stale(expected: i64, current: i64) -> AppError {
    AppError::conflict(format!(
        "the plan is at revision {current}, not {expected}: someone changed it since you read it; reload it"
    ))
}

/// An instance of the org by id or name; answers its id.
async fn find_instance(state: &AppState, me: &Me, id_or_name: &str) -> AppResult<Option<String>> {
    if let Some(instance) = state.store.instance(&me.org.id, id_or_name).await? {
        return Ok(Some(instance.id));
    }
    let instances = state.store.instances(&me.org.id).await?;
    Ok(instances.into_iter().find(|i| i.name.eq_ignore_ascii_case(id_or_name)).map(|i| i.id))
}

/// A plan that passed its checks: trimmed text, agents and instances as ids.
struct CheckedPlan {
    title: String,
    goal: String,
    stages: Vec<PlanStage>,
}

impl CheckedPlan {
    fn text(&self) -> PlanText<'_> {
        PlanText { title: &self.title, goal: &self.goal, stages: &self.stages }
    }
}

/// Checks a whole plan and answers one 422 naming every bad field
/// (`stages[0].tasks[1].title`); agents and instances are resolved to ids.
async fn check_plan(
    state: &AppState,
    me: &Me,
    title: &str,
    goal: &str,
    stages: Vec<PlanStage>,
) -> AppResult<CheckedPlan> {
    let mut fields = BTreeMap::new();
    check_len(&mut fields, "title", title, 1, MAX_PROJECT_TITLE_CHARS);
    check_len(&mut fields, "goal", goal, 1, MAX_GOAL_CHARS);
    if stages.is_empty() {
        fields.insert("stages".to_owned(), "a plan needs at least one stage".to_owned());
    } else if stages.len() > MAX_STAGES {
        fields.insert("stages".to_owned(), format!("a plan has at most {MAX_STAGES} stages ({})", stages.len()));
    }
    let local = crate::instances::ensure_local(state.store.as_ref(), &me.org.id).await?;
    let mut checked = Vec::with_capacity(stages.len());
    for (s, stage) in stages.into_iter().enumerate() {
        let at = format!("stages[{s}]");
        check_text(&mut fields, &format!("{at}.name"), "the stage's name", &stage.name, 1, MAX_STAGE_NAME_CHARS);
        if stage.tasks.is_empty() {
            fields.insert(format!("{at}.tasks"), "a stage needs at least one task".to_owned());
        } else if stage.tasks.len() > MAX_TASKS_PER_STAGE {
            fields.insert(
                format!("{at}.tasks"),
                format!("a stage has at most {MAX_TASKS_PER_STAGE} tasks ({})", stage.tasks.len()),
            );
        }
        let mut tasks = Vec::with_capacity(stage.tasks.len());
        for (t, task) in stage.tasks.into_iter().enumerate() {
            let at = format!("{at}.tasks[{t}]");
            // A task becomes a ticket: its title is the subject.
            let (title, description, criteria) =
                (format!("{at}.title"), format!("{at}.description"), format!("{at}.acceptance_criteria"));
            check_text(&mut fields, &title, "the task's title", &task.title, 1, MAX_SUBJECT_CHARS);
            check_text(&mut fields, &description, "the description", &task.description, 0, MAX_DESCRIPTION_CHARS);
            check_text(
                &mut fields,
                &criteria,
                "the acceptance criteria",
                &task.acceptance_criteria,
                0,
                MAX_CRITERIA_CHARS,
            );
            let instance_id = match task.instance_id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                Some(wanted) => match find_instance(state, me, wanted).await? {
                    Some(id) => Some(id),
                    None => {
                        fields.insert(format!("{at}.instance_id"), format!("no instance `{wanted}` in your org"));
                        None
                    }
                },
                None => None,
            };
            let agent_id = match task.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                Some(wanted) => match state.store.agent(&me.org.id, wanted).await? {
                    Some(agent) => {
                        let on = instance_id.as_deref().unwrap_or(&local.id);
                        if !agent.view.serves(on) {
                            fields.insert(
                                format!("{at}.agent_id"),
                                format!("{} may not work on the task's instance", agent.view.name),
                            );
                        }
                        Some(agent.view.id)
                    }
                    None => {
                        fields.insert(format!("{at}.agent_id"), format!("no agent `{wanted}` in your org"));
                        None
                    }
                },
                None => None,
            };
            tasks.push(PlanTask {
                title: task.title.trim().to_owned(),
                description: task.description.trim().to_owned(),
                acceptance_criteria: task.acceptance_criteria.trim().to_owned(),
                agent_id,
                instance_id,
            });
        }
        checked.push(PlanStage { name: stage.name.trim().to_owned(), tasks });
    }
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    Ok(CheckedPlan { title: title.trim().to_owned(), goal: goal.trim().to_owned(), stages: checked })
}

/// Opens the next stage if the plan is approved and the current stage is
/// done (or none has opened yet).
async fn advance(state: &AppState, me: &Me, record: &ProjectRecord) -> AppResult<()> {
    let Some(approved) = &record.approved else { return Ok(()) };
    let opened = state.store.opened_stages(&record.org_id, Some(&record.id)).await?.len() as u32;
    if opened as usize >= approved.stages.len() {
        return Ok(());
    }
    if opened > 0 {
        let tickets = state.store.stage_tickets(&record.org_id, Some(&record.id)).await?;
        if tickets.iter().any(|t| t.stage == opened && !t.ticket.status.is_done()) {
            return Ok(());
        }
    }
    open_stage(state, me, record, approved, opened + 1, false).await
}

/// Opens stage `number` of `plan`: one ticket per task, each carrying the
/// plan; tasks with an agent start their first turn at once. Opening is
/// once-only in the store, so racing callers open it once between them.
async fn open_stage(
    state: &AppState,
    me: &Me,
    record: &ProjectRecord,
    plan: &PlanRevision,
    number: u32,
    early: bool,
) -> AppResult<()> {
    let stage = plan.stages.get(number as usize - 1).ok_or_else(|| AppError::not_found("stage"))?;
    let mut tickets = Vec::with_capacity(stage.tasks.len());
    for (index, task) in stage.tasks.iter().enumerate() {
        tickets.push(task_ticket(state, me, plan, number, index, task).await?);
    }
    let opening = StageOpening {
        project_id: &record.id,
        stage: number,
        revision: plan.revision,
        opened_by: &me.user.id,
        early,
        tickets,
    };
    let Some(opened) = state.store.open_stage(opening).await? else {
        return Ok(());
    };
    tracing::info!(project = %record.id, stage = number, tickets = opened.len(), early, "project stage opened");
    for (index, (ticket, task)) in opened.iter().zip(&stage.tasks).enumerate() {
        if let Some(agent_id) = &task.agent_id {
            start_agent(state, me, ticket, agent_id, &task_message(plan, number, index)).await;
        }
    }
    Ok(())
}

/// The ticket for one task, with its first entries.
async fn task_ticket(
    state: &AppState,
    me: &Me,
    plan: &PlanRevision,
    stage: u32,
    index: usize,
    task: &PlanTask,
) -> AppResult<NewStageTicket> {
    let stage_name = &plan.stages[stage as usize - 1].name;
    let mut description = task.description.clone();
    if !task.acceptance_criteria.is_empty() {
        description.push_str(&format!("\n\nAcceptance criteria:\n{}", task.acceptance_criteria));
    }
    description.push_str(&format!(
        "\n\nPart of the project \"{}\", stage {stage} of {}: {stage_name}.\nGoal: {}",
        plan.title,
        plan.stages.len(),
        plan.goal
    ));
    let description = description.trim().to_owned();
    let analysis = offline::analyse(&task.title, &description, None);
    let instance = match &task.instance_id {
        Some(id) => state.store.instance(&me.org.id, id).await?,
        None => None,
    };
    let mut entries =
        vec![NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::Created { source: Source::Project })];
    if let Some(instance) = &instance {
        entries.push(NewEntry::system(TimelineEvent::InstanceContext {
            instance_id: instance.id.clone(),
            name: instance.name.clone(),
            summary: instance.summary.clone(),
        }));
    }
    entries.push(NewEntry::system(TimelineEvent::StatusChanged {
        from: Status::PendingReview,
        to: Status::Open,
        reason: Some(format!("opened by stage {stage} of the project \"{}\"", plan.title)),
    }));
    Ok(NewStageTicket {
        ticket: NewTicket {
            org_id: me.org.id.clone(),
            key_prefix: me.org.slug.to_uppercase(),
            terms: review::stored_terms(&task.title, &description),
            subject: task.title.clone(),
            description,
            category: analysis.category,
            severity: analysis.severity,
            status: Status::Open,
            source: Source::Project,
            cluster_id: instance.map(|i| i.id),
            ai_summary: Some(analysis.summary).filter(|s| !s.is_empty()),
            // The plan's approval is the review of its tasks.
            ai_review_status: ReviewStatus::Passed,
            duplicate_of: None,
            created_by: Some(me.user.id.clone()),
        },
        entries,
        task: index as u32,
    })
}

/// The first message to a task's agent: the task, and the approved plan it
/// belongs to, so the agent knows what comes before and after.
fn task_message(plan: &PlanRevision, stage: u32, index: usize) -> String {
    let task = &plan.stages[stage as usize - 1].tasks[index];
    let mut text = format!("{}\n", task.title);
    if !task.description.is_empty() {
        text.push_str(&format!("\n{}\n", task.description));
    }
    if !task.acceptance_criteria.is_empty() {
        text.push_str(&format!("\nAcceptance criteria:\n{}\n", task.acceptance_criteria));
    }
    text.push_str(&format!(
        "\nThis task is part of the project \"{}\". Goal: {}\nThe approved plan (revision {}):\n",
        plan.title, plan.goal, plan.revision
    ));
    for (s, each) in plan.stages.iter().enumerate() {
        text.push_str(&format!("Stage {}: {}\n", s + 1, each.name));
        for (t, other) in each.tasks.iter().enumerate() {
            let this = s as u32 + 1 == stage && t == index;
            text.push_str(&format!("  - {}{}\n", other.title, if this { "  ← this ticket" } else { "" }));
        }
    }
    text.push_str("Work on this task only: the others have their own tickets.");
    text
}

/// Assigns the task's agent and sends it the task; a failure leaves a
/// system comment on the ticket instead of failing the stage.
async fn start_agent(state: &AppState, me: &Me, ticket: &Ticket, agent_id: &str, message: &str) {
    let started = async {
        let on = conversation::instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
        let agent = conversation::agent_on_instance(state, me, agent_id, "agent_id", &on).await?;
        conversation::start(state, me, ticket, agent.view.to_ref(), Some(message.to_owned())).await
    }
    .await;
    if let Err(error) = started {
        tracing::warn!(ticket = %ticket.ticket_id, "the task's agent did not start: {}", error.message);
        let note = NewEntry::system(TimelineEvent::Comment {
            body: format!("The task's agent could not start: {}. Assign an agent to work this ticket.", error.message),
        });
        if let Err(error) = state.store.append(&ticket.id, TicketChanges::default(), vec![note]).await {
            tracing::warn!(ticket = %ticket.ticket_id, "cannot record that the agent did not start: {error}");
        }
    }
}

/// Everything a project view is computed from.
struct Standing<'a> {
    /// Stages open from this plan: the approved one, else the latest.
    plan: &'a PlanRevision,
    opened: Vec<&'a OpenedStage>,
    tickets: Vec<&'a StageTicket>,
    revisions: &'a [PlanRevision],
}

impl<'a> Standing<'a> {
    fn new(
        record: &'a ProjectRecord,
        opened: &[&'a OpenedStage],
        tickets: &[&'a StageTicket],
        revisions: &'a [PlanRevision],
    ) -> Standing<'a> {
        Standing {
            plan: record.approved.as_ref().unwrap_or(&record.latest),
            opened: opened.to_vec(),
            tickets: tickets.to_vec(),
            revisions,
        }
    }

    fn stage_count(&self) -> u32 {
        (self.plan.stages.len() as u32).max(self.opened.len() as u32)
    }

    fn tickets_of(&self, stage: u32) -> Vec<ProjectTicket> {
        self.tickets.iter().filter(|t| t.stage == stage).map(|t| t.ticket.clone()).collect()
    }

    /// Tickets done, and the total: tickets of opened stages plus tasks of the others.
    fn counts(&self) -> (u32, u32) {
        let done = self.tickets.iter().filter(|t| t.ticket.status.is_done()).count() as u32;
        let waiting: usize = (self.opened.len()..self.plan.stages.len()).map(|s| self.plan.stages[s].tasks.len()).sum();
        (done, self.tickets.len() as u32 + waiting as u32)
    }

    fn status(&self, approved: bool) -> ProjectStatus {
        let (done, total) = self.counts();
        match approved {
            false => ProjectStatus::Draft,
            true if self.opened.len() >= self.plan.stages.len() && done == total => ProjectStatus::Done,
            true => ProjectStatus::Active,
        }
    }

    fn stages(&self) -> Vec<StageView> {
        (1..=self.stage_count())
            .map(|number| {
                let opened = self.opened.iter().find(|s| s.stage == number);
                // An opened stage shows the revision its tickets came from.
                let from =
                    opened.and_then(|o| self.revisions.iter().find(|r| r.revision == o.revision)).unwrap_or(self.plan);
                let plan_stage = from.stages.get(number as usize - 1).cloned().unwrap_or_default();
                let tickets = self.tickets_of(number);
                let state = match opened {
                    None => StageState::Waiting,
                    Some(_) if tickets.iter().all(|t| t.status.is_done()) => StageState::Done,
                    Some(_) => StageState::Open,
                };
                StageView {
                    number,
                    name: plan_stage.name,
                    state,
                    tasks: plan_stage.tasks,
                    tickets,
                    opened_at: opened.map(|o| o.opened_at),
                    opened_by: opened.and_then(|o| o.opened_by.clone()),
                    early: opened.is_some_and(|o| o.early),
                    opened_revision: opened.map(|o| o.revision),
                }
            })
            .collect()
    }
}

fn summarize(record: &ProjectRecord, standing: &Standing<'_>) -> ProjectSummary {
    let (done, total) = standing.counts();
    ProjectSummary {
        id: record.id.clone(),
        title: record.latest.title.clone(),
        goal: record.latest.goal.clone(),
        status: standing.status(record.approved.is_some()),
        revision: record.latest.revision,
        approved_revision: record.approved.as_ref().map(|r| r.revision),
        stage_count: standing.stage_count(),
        opened_stages: standing.opened.len() as u32,
        tasks_done: done,
        tasks_total: total,
        progress: progress_percent(done, total),
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// The whole project: plan, stages with their tickets, history.
async fn view(state: &AppState, record: &ProjectRecord) -> AppResult<Project> {
    let opened = state.store.opened_stages(&record.org_id, Some(&record.id)).await?;
    let tickets = state.store.stage_tickets(&record.org_id, Some(&record.id)).await?;
    let revisions = state.store.project_revisions(&record.id).await?;
    let opened: Vec<&OpenedStage> = opened.iter().collect();
    let tickets: Vec<&StageTicket> = tickets.iter().collect();
    let standing = Standing::new(record, &opened, &tickets, &revisions);
    let summary = summarize(record, &standing);
    Ok(Project {
        id: summary.id,
        title: summary.title,
        goal: summary.goal,
        status: summary.status,
        revision: summary.revision,
        approved_revision: summary.approved_revision,
        approved_by: record.approved_by.clone(),
        approved_at: record.approved_at,
        stages: record.latest.stages.clone(),
        stage_progress: standing.stages(),
        opened_stages: summary.opened_stages,
        tasks_done: summary.tasks_done,
        tasks_total: summary.tasks_total,
        progress: summary.progress,
        revisions: revisions.clone(),
        created_by: summary.created_by,
        created_at: summary.created_at,
        updated_at: summary.updated_at,
    })
}

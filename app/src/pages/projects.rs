//! Projects: the list with progress (`/projects`), a new plan written by hand
//! or drafted from a template (`/projects/new`), and a project's page
//! (`/projects/:id`): its stages with their tickets, progress, the plan (to
//! edit and approve) and the plan's history.

use super::badges::StatusBadge;
use super::layout::caller_can;
use super::{format_time, ErrorNote};
use crate::api::{
    approve_plan, create_project, draft_project_plan, list_agents, list_instances, list_projects, project_templates,
    save_project_plan, show_project, start_project_stage,
};
use crate::error::AppError;
use crate::model::{
    AgentView, DraftPlan, InstanceView, NewProject, Permission, PlanStage, PlanTask, Project, ProjectStatus,
    StageState, StageView, UpdateProject,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::collections::BTreeMap;

/// A project's status as a badge.
#[component]
fn ProjectStatusBadge(status: ProjectStatus) -> impl IntoView {
    let label = match status {
        ProjectStatus::Draft => "Draft",
        ProjectStatus::Active => "Active",
        ProjectStatus::Done => "Done",
    };
    view! { <span class=format!("badge project-{status}")>{label}</span> }
}

/// Progress as a bar with its figures.
#[component]
fn Progress(progress: u8, done: u32, total: u32) -> impl IntoView {
    view! {
        <span class="progress" title=format!("{done} of {total} tasks resolved or closed")>
            <progress max="100" value=progress.to_string() aria-label="Progress"></progress>
            <span class="progress-figures">{format!("{progress}% · {done}/{total}")}</span>
        </span>
    }
}

/// `/projects`: every project with its progress.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    let can_write = caller_can(Permission::Write);
    view! {
        <Title text="Projects"/>
        <div class="page-head">
            <h1>"Projects"</h1>
            <Show when=can_write>
                <a class="button button-primary" href="/projects/new">"New project"</a>
            </Show>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <section class="empty-state">
                            <h2>"No projects yet"</h2>
                            <p>
                                "A project is a goal and a plan of stages, each a set of tasks. Approving the plan "
                                "opens one ticket per task of the first stage; each next stage opens when the one "
                                "before is done."
                            </p>
                            <Show when=can_write>
                                <p><a class="button button-primary" href="/projects/new">"Plan a project"</a></p>
                            </Show>
                        </section>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="table projects">
                            <thead><tr><th>"Project"</th><th>"Status"</th><th>"Progress"</th><th>"Stages"</th><th class="wide-only">"Updated"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|project| {
                                    let href = format!("/projects/{}", project.id);
                                    view! {
                                        <tr>
                                            <td class="subject"><A href=href>{project.title}</A></td>
                                            <td><ProjectStatusBadge status=project.status/></td>
                                            <td><Progress progress=project.progress done=project.tasks_done total=project.tasks_total/></td>
                                            <td class="muted">{format!("{} of {} opened", project.opened_stages, project.stage_count)}</td>
                                            <td class="wide-only muted">{format_time(&project.updated_at)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One task's fields while editing.
#[derive(Clone, Copy)]
struct TaskFields {
    key: u64,
    title: RwSignal<String>,
    description: RwSignal<String>,
    criteria: RwSignal<String>,
    agent: RwSignal<String>,
    instance: RwSignal<String>,
}

/// One stage's fields while editing.
#[derive(Clone, Copy)]
struct StageFields {
    key: u64,
    name: RwSignal<String>,
    tasks: RwSignal<Vec<TaskFields>>,
}

/// The plan being edited: stages of tasks, each field its own signal, so
/// typing redraws one input and adding or removing redraws one list.
#[derive(Clone, Copy)]
struct PlanEditor {
    stages: RwSignal<Vec<StageFields>>,
    next_key: StoredValue<u64>,
}

impl PlanEditor {
    fn new(stages: &[PlanStage]) -> PlanEditor {
        let editor = PlanEditor { stages: RwSignal::new(Vec::new()), next_key: StoredValue::new(0) };
        editor.load(stages);
        editor
    }

    fn key(&self) -> u64 {
        self.next_key.update_value(|k| *k += 1);
        self.next_key.get_value()
    }

    fn task(&self, task: &PlanTask) -> TaskFields {
        TaskFields {
            key: self.key(),
            title: RwSignal::new(task.title.clone()),
            description: RwSignal::new(task.description.clone()),
            criteria: RwSignal::new(task.acceptance_criteria.clone()),
            agent: RwSignal::new(task.agent_id.clone().unwrap_or_default()),
            instance: RwSignal::new(task.instance_id.clone().unwrap_or_default()),
        }
    }

    fn stage(&self, stage: &PlanStage) -> StageFields {
        let tasks = if stage.tasks.is_empty() { vec![PlanTask::default()] } else { stage.tasks.clone() };
        StageFields {
            key: self.key(),
            name: RwSignal::new(stage.name.clone()),
            tasks: RwSignal::new(tasks.iter().map(|t| self.task(t)).collect()),
        }
    }

    /// Replaces the whole plan (a draft or a saved revision).
    fn load(&self, stages: &[PlanStage]) {
        let stages = if stages.is_empty() { vec![PlanStage::default()] } else { stages.to_vec() };
        let fields = stages.iter().map(|s| self.stage(s)).collect();
        self.stages.set(fields);
    }

    fn add_stage(&self) {
        let stage = self.stage(&PlanStage::default());
        self.stages.update(|s| s.push(stage));
    }

    fn add_task(&self, stage: StageFields) {
        let task = self.task(&PlanTask::default());
        stage.tasks.update(|t| t.push(task));
    }

    /// The plan as the API takes it.
    fn plan(&self) -> Vec<PlanStage> {
        let text = |s: RwSignal<String>| s.get_untracked();
        let id = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        self.stages
            .get_untracked()
            .into_iter()
            .map(|stage| PlanStage {
                name: text(stage.name),
                tasks: stage
                    .tasks
                    .get_untracked()
                    .into_iter()
                    .map(|task| PlanTask {
                        title: text(task.title),
                        description: text(task.description),
                        acceptance_criteria: text(task.criteria),
                        agent_id: id(task.agent),
                        instance_id: id(task.instance),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The positions of a stage and a task now (they move as others are removed).
    fn stage_index(&self, key: u64) -> Option<usize> {
        self.stages.with(|s| s.iter().position(|stage| stage.key == key))
    }
}

/// The agents and instances tasks can name.
type Choices = (Vec<AgentView>, Vec<InstanceView>);

/// Loads the choices before the editor renders, so that server and browser
/// draw the same options.
fn choices_resource() -> Resource<Result<Choices, AppError>> {
    Resource::new(|| (), |_| async { Ok::<_, AppError>((list_agents().await?, list_instances().await?)) })
}

/// The message a 422 gave a field, if any.
fn field_error(
    errors: RwSignal<BTreeMap<String, String>>,
    field: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        let field = field()?;
        errors
            .with(|e| e.get(&field).cloned())
            .map(|message| view! { <span class="field-error" role="alert">{message}</span> })
    }
}

/// The stages-and-tasks editor, with the agents and instances to choose from.
#[component]
fn PlanFields(editor: PlanEditor, errors: RwSignal<BTreeMap<String, String>>, choices: Choices) -> impl IntoView {
    let choices = StoredValue::new(choices);
    let stage_error = move |key: u64, suffix: &'static str| {
        field_error(errors, move || editor.stage_index(key).map(|i| format!("stages[{i}]{suffix}")))
    };
    view! {
        <div class="plan-editor">
            {move || errors.with(|e| e.get("stages").cloned()).map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <ol class="plan-stages">
                <For each=move || editor.stages.get() key=|stage| stage.key let:stage>
                    <li class="plan-stage">
                        <div class="plan-stage-head">
                            <label class="grow">
                                {move || format!("Stage {} name", editor.stage_index(stage.key).map_or(0, |i| i + 1))}
                                <input type="text" required maxlength="200" placeholder="e.g. Prepare"
                                    prop:value=move || stage.name.get()
                                    on:input=move |ev| stage.name.set(event_target_value(&ev))/>
                                {stage_error(stage.key, ".name")}
                            </label>
                            <button type="button" class="link-button" aria-label="Remove stage"
                                disabled=move || editor.stages.with(|s| s.len() <= 1)
                                on:click=move |_| editor.stages.update(|s| s.retain(|x| x.key != stage.key))>
                                "Remove stage"
                            </button>
                        </div>
                        {stage_error(stage.key, ".tasks")}
                        <ul class="plan-tasks">
                            <For each=move || stage.tasks.get() key=|task| task.key let:task>
                                <TaskEditor editor stage task errors choices/>
                            </For>
                        </ul>
                        <button type="button" class="button" on:click=move |_| editor.add_task(stage)>"Add task"</button>
                    </li>
                </For>
            </ol>
            <button type="button" class="button" on:click=move |_| editor.add_stage()>"Add stage"</button>
        </div>
    }
}

/// One task's inputs.
#[component]
fn TaskEditor(
    editor: PlanEditor,
    stage: StageFields,
    task: TaskFields,
    errors: RwSignal<BTreeMap<String, String>>,
    choices: StoredValue<Choices>,
) -> impl IntoView {
    let at = move || {
        let s = editor.stage_index(stage.key)?;
        let t = stage.tasks.with(|tasks| tasks.iter().position(|x| x.key == task.key))?;
        Some(format!("stages[{s}].tasks[{t}]"))
    };
    let error = move |field: &'static str| field_error(errors, move || at().map(|at| format!("{at}.{field}")));
    view! {
        <li class="plan-task">
            <div class="form-row">
                <label class="grow">
                    "Task"
                    <input type="text" required maxlength="200" placeholder="What is to be done"
                        prop:value=move || task.title.get() on:input=move |ev| task.title.set(event_target_value(&ev))/>
                    {error("title")}
                </label>
                <button type="button" class="link-button" aria-label="Remove task"
                    disabled=move || stage.tasks.with(|t| t.len() <= 1)
                    on:click=move |_| stage.tasks.update(|t| t.retain(|x| x.key != task.key))>
                    "Remove"
                </button>
            </div>
            <label>
                "Description"
                <textarea rows="2" prop:value=move || task.description.get()
                    on:input=move |ev| task.description.set(event_target_value(&ev))></textarea>
                {error("description")}
            </label>
            <label>
                "Acceptance criteria"
                <textarea rows="2" placeholder="How we know it is done" prop:value=move || task.criteria.get()
                    on:input=move |ev| task.criteria.set(event_target_value(&ev))></textarea>
                {error("acceptance_criteria")}
            </label>
            <div class="form-row">
                <IdSelect label="Agent" none="No agent" value=task.agent
                    options=choices.get_value().0.into_iter().map(|a| (a.id, a.name)).collect()/>
                <IdSelect label="Instance" none="No instance" value=task.instance
                    options=choices.get_value().1.into_iter().map(|i| (i.id, i.name)).collect()/>
            </div>
            {error("agent_id")}
            {error("instance_id")}
        </li>
    }
}

/// A choice of one id among `options` (id, name), or none.
#[component]
fn IdSelect(
    label: &'static str,
    none: &'static str,
    value: RwSignal<String>,
    options: Vec<(String, String)>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="">{none}</option>
                {options.into_iter().map(|(id, name)| {
                    let selected = value.get_untracked() == id;
                    view! { <option value=id selected=selected>{name}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// A failed save: its field messages go next to the fields, the rest above the button.
fn show_failure(error: AppError, errors: RwSignal<BTreeMap<String, String>>, general: RwSignal<Option<AppError>>) {
    errors.set(error.fields.clone());
    general.set(Some(error));
}

/// `/projects/new`: a plan written by hand or drafted from a template.
#[component]
pub fn NewProjectPage() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let goal = RwSignal::new(String::new());
    let template = RwSignal::new(String::new());
    let editor = PlanEditor::new(&[]);
    let errors = RwSignal::new(BTreeMap::new());
    let general = RwSignal::new(None::<AppError>);
    let drafted_by = RwSignal::new(None::<String>);

    let draft = Action::new(move |_: &()| {
        let body = DraftPlan {
            goal: goal.get_untracked(),
            template: Some(template.get_untracked()).filter(|t| !t.is_empty()),
            agent_id: None,
            instance_id: None,
        };
        draft_project_plan(body)
    });
    Effect::new(move || match draft.value().get() {
        Some(Ok(plan)) => {
            if title.get_untracked().trim().is_empty() {
                title.set(plan.title);
            }
            editor.load(&plan.stages);
            drafted_by.set(Some(plan.drafted_by));
            errors.set(BTreeMap::new());
            general.set(None);
        }
        Some(Err(error)) => show_failure(error, errors, general),
        None => {}
    });

    let navigate = use_navigate();
    let create = Action::new(move |_: &()| {
        let body = NewProject { title: title.get_untracked(), goal: goal.get_untracked(), stages: editor.plan() };
        create_project(body)
    });
    Effect::new(move || match create.value().get() {
        Some(Ok(project)) => navigate(&format!("/projects/{}", project.id), Default::default()),
        Some(Err(error)) => show_failure(error, errors, general),
        None => {}
    });

    // Templates, agents and instances load before the form renders, so the
    // server and the browser draw the same options.
    let loaded = Resource::new(
        || (),
        |_| async { Ok::<_, AppError>((project_templates().await?, list_agents().await?, list_instances().await?)) },
    );
    view! {
        <Title text="New project"/>
        <div class="page-head"><h1>"New project"</h1></div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (templates, agents, instances) = match loaded.await {
                    Ok(loaded) => loaded,
                    Err(error) => return view! { <ErrorNote error/> }.into_any(),
                };
                view! {
                    <form class="form project-form" on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                        <label>
                            "Title"
                            <input type="text" name="title" required maxlength="200" placeholder="e.g. Upgrade prod to Kubernetes 1.30"
                                prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                            {field_error(errors, || Some("title".to_owned()))}
                        </label>
                        <label>
                            "Goal"
                            <textarea name="goal" rows="3" required placeholder="What the project achieves, and why"
                                prop:value=move || goal.get() on:input=move |ev| goal.set(event_target_value(&ev))></textarea>
                            {field_error(errors, || Some("goal".to_owned()))}
                        </label>
                        <div class="form-row draft-row">
                            <label>
                                "Draft the plan from"
                                <select name="template" on:change=move |ev| template.set(event_target_value(&ev))>
                                    <option value="">"automatic: the org's model, else the template that fits the goal"</option>
                                    {templates.into_iter().map(|t| view! {
                                        <option value=t.key title=t.description>{t.name}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button type="button" class="button" disabled=move || goal.with(|g| g.trim().is_empty()) || draft.pending().get()
                                on:click=move |_| { draft.dispatch(()); }>
                                "Draft plan"
                            </button>
                        </div>
                        {move || drafted_by.get().map(|by| view! {
                            <p class="muted">{draft_note(&by)}</p>
                        })}
                        <h2>"Plan"</h2>
                        <PlanFields editor errors choices=(agents, instances)/>
                        {move || general.get().map(|error| view! { <ErrorNote error/> })}
                        <div class="form-actions">
                            <button type="submit" class="button button-primary" disabled=move || create.pending().get()>"Create project"</button>
                            <a class="link-button" href="/projects">"Cancel"</a>
                        </div>
                        <p class="muted">"A new project is a draft: nothing opens until an operator approves its plan."</p>
                    </form>
                }.into_any()
            })}
        </Transition>
    }
}

/// Who drafted the plan, in words.
fn draft_note(drafted_by: &str) -> String {
    if let Some(model) = drafted_by.strip_prefix("llm:") {
        return format!("Drafted by the model {model}: check it, edit it to fit, then create the project.");
    }
    // `template:<key>`, with why the model's draft was not used when it was asked.
    let rest = drafted_by.trim_start_matches("template:");
    let (key, why) = rest.split_once(" (").map_or((rest, None), |(key, why)| (key, Some(why.trim_end_matches(')'))));
    let why = why.map(|why| format!(" ({why}; the template was used instead)")).unwrap_or_default();
    format!("Drafted from the {key} template{why}: edit it to fit, then create the project.")
}

/// `/projects/:id`.
#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = move || params.read().get("id").unwrap_or_default();
    // Bumped after every change, to reload the project.
    let version = RwSignal::new(0u32);
    let project = Resource::new(move || (project_id(), version.get()), |(id, _)| show_project(id));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the project…"</p> }>
            {move || Suspend::new(async move {
                match project.await {
                    Err(error) => view! {
                        <Title text="Project"/>
                        <ErrorNote error/>
                        <p><a href="/projects">"Back to projects"</a></p>
                    }.into_any(),
                    Ok(project) => view! { <ProjectView project version/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectView(project: Project, version: RwSignal<u32>) -> impl IntoView {
    let can_write = caller_can(Permission::Write);
    let can_operate = caller_can(Permission::Operate);
    let editing = RwSignal::new(false);
    let id = project.id.clone();
    let revision = project.revision;
    let needs_approval = project.approved_revision != Some(project.revision);
    let next_stage = project.next_stage().map(|s| s.number);

    let approve = Action::new({
        let id = id.clone();
        move |_: &()| approve_plan(id.clone(), revision)
    });
    let start = Action::new({
        let id = id.clone();
        move |stage: &u32| start_project_stage(id.clone(), *stage)
    });
    Effect::new(move || {
        if matches!(approve.value().get(), Some(Ok(_))) || matches!(start.value().get(), Some(Ok(_))) {
            version.update(|v| *v += 1);
        }
    });

    let approval_note = match (project.approved_revision, needs_approval) {
        (None, _) => "Draft: approving the plan opens stage 1's tickets.".to_owned(),
        (Some(approved), true) => format!(
            "Revision {revision} is not approved yet: stages still open from revision {approved}. Tickets already opened stay as they are."
        ),
        (Some(approved), false) => format!(
            "Revision {approved} approved{}{}.",
            project.approved_by.as_ref().map(|p| format!(" by {}", p.display())).unwrap_or_default(),
            project.approved_at.map(|at| format!(" on {}", format_time(&at))).unwrap_or_default()
        ),
    };
    let stages_for_edit = project.stages.clone();
    let (title, goal) = (project.title.clone(), project.goal.clone());
    view! {
        <Title text=project.title.clone()/>
        <div class="page-head">
            <div>
                <p class="muted"><a href="/projects">"Projects"</a></p>
                <h1>{project.title.clone()}</h1>
            </div>
            <div class="badges">
                <ProjectStatusBadge status=project.status/>
                <Progress progress=project.progress done=project.tasks_done total=project.tasks_total/>
            </div>
        </div>
        <section class="panel">
            <p class="goal">{project.goal.clone()}</p>
            <p class="muted">{approval_note}</p>
            <div class="form-actions">
                <Show when=move || can_operate() && needs_approval>
                    <button class="button button-primary" disabled=move || approve.pending().get()
                        on:click=move |_| { approve.dispatch(()); }>
                        {format!("Approve revision {revision}")}
                    </button>
                </Show>
                {next_stage.map(|stage| view! {
                    <Show when=move || can_operate()>
                        <button class="button" disabled=move || start.pending().get()
                            on:click=move |_| { start.dispatch(stage); }>
                            {format!("Start stage {stage} now")}
                        </button>
                    </Show>
                })}
                <Show when=move || can_write() && !editing.get()>
                    <button class="button" on:click=move |_| editing.set(true)>"Edit plan"</button>
                </Show>
            </div>
            {move || approve.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            {move || start.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
        </section>
        <Show when=move || editing.get()>
            <EditPlan id=id.clone() revision title=title.clone() goal=goal.clone() stages=stages_for_edit.clone() editing version/>
        </Show>
        <h2>"Stages"</h2>
        <ol class="stages">
            {project.stage_progress.iter().cloned().map(|stage| view! { <Stage stage/> }).collect_view()}
        </ol>
        <h2>"Plan history"</h2>
        <ol class="revisions" reversed>
            {project.revisions.iter().map(|r| {
                let approved = project.approved_revision == Some(r.revision);
                let stages = r.stages.iter().map(|s| format!("{} ({} task{})", s.name, s.tasks.len(), if s.tasks.len() == 1 { "" } else { "s" })).collect::<Vec<_>>().join(" → ");
                // The latest revision opens when it still waits for approval: it is the plan under review.
                let open = r.revision == project.revision && !approved;
                view! {
                    <li>
                        <details open=open>
                            <summary>
                                <strong>{format!("Revision {}", r.revision)}</strong>
                                {approved.then(|| view! { " "<span class="badge passed">"approved"</span> })}
                                <span class="muted">{format!(" · {} · {}", r.author.as_ref().map(|p| p.display()).unwrap_or_else(|| "someone".into()), format_time(&r.created_at))}</span>
                                <div class="muted">{format!("{}: {stages}", r.title)}</div>
                            </summary>
                            <ol class="revision-plan">
                                {r.stages.iter().map(|stage| view! {
                                    <li>
                                        <strong>{stage.name.clone()}</strong>
                                        <ul>
                                            {stage.tasks.iter().map(|task| view! {
                                                <li>
                                                    {task.title.clone()}
                                                    {(!task.acceptance_criteria.is_empty()).then(|| view! { <span class="muted">{format!(" — done when: {}", task.acceptance_criteria)}</span> })}
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }).collect_view()}
                            </ol>
                        </details>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// One stage: its tickets once opened, else the tasks it will open.
#[component]
fn Stage(stage: StageView) -> impl IntoView {
    let state = match stage.state {
        StageState::Waiting => "waiting",
        StageState::Open => "open",
        StageState::Done => "done",
    };
    let opened = stage.opened_at.map(|at| {
        let by = stage.opened_by.as_ref().map(|p| format!(" by {}", p.display())).unwrap_or_default();
        let early = if stage.early { ", started early" } else { "" };
        format!("opened {}{by}{early}", format_time(&at))
    });
    view! {
        <li class=format!("stage stage-{state}") data-stage=stage.number>
            <h3>
                {format!("Stage {} · {}", stage.number, stage.name)}
                " "<span class=format!("badge stage-state-{state}")>{state}</span>
            </h3>
            {opened.map(|text| view! { <p class="muted">{text}</p> })}
            {if stage.tickets.is_empty() && stage.opened_at.is_none() {
                view! {
                    <ul class="stage-tasks">
                        {stage.tasks.into_iter().map(|task| view! {
                            <li>
                                <strong>{task.title}</strong>
                                {(!task.description.is_empty()).then(|| view! { <div>{task.description}</div> })}
                                {(!task.acceptance_criteria.is_empty()).then(|| view! { <div class="muted">{format!("Done when: {}", task.acceptance_criteria)}</div> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            } else {
                view! {
                    <table class="table tickets">
                        <tbody>
                            {stage.tickets.into_iter().map(|ticket| {
                                let href = format!("/tickets/{}", ticket.ticket_id);
                                view! {
                                    <tr>
                                        <td class="mono"><A href=href.clone()>{ticket.ticket_id.clone()}</A></td>
                                        <td class="subject"><A href=href>{ticket.subject}</A></td>
                                        <td><StatusBadge status=ticket.status/></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </li>
    }
}

/// Editing the plan: saving makes a new revision.
#[component]
fn EditPlan(
    id: String,
    revision: i64,
    title: String,
    goal: String,
    stages: Vec<PlanStage>,
    editing: RwSignal<bool>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let title = RwSignal::new(title);
    let goal = RwSignal::new(goal);
    let editor = PlanEditor::new(&stages);
    let errors = RwSignal::new(BTreeMap::new());
    let general = RwSignal::new(None::<AppError>);
    let choices = choices_resource();
    let save = Action::new(move |_: &()| {
        let body = UpdateProject {
            title: Some(title.get_untracked()),
            goal: Some(goal.get_untracked()),
            stages: Some(editor.plan()),
            revision: Some(revision),
        };
        save_project_plan(id.clone(), body)
    });
    Effect::new(move || match save.value().get() {
        Some(Ok(_)) => {
            editing.set(false);
            version.update(|v| *v += 1);
        }
        Some(Err(error)) => show_failure(error, errors, general),
        None => {}
    });
    view! {
        <form class="form panel project-form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
            <h2>"Edit the plan"</h2>
            <label>
                "Title"
                <input type="text" required maxlength="200" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                {field_error(errors, || Some("title".to_owned()))}
            </label>
            <label>
                "Goal"
                <textarea rows="3" required prop:value=move || goal.get() on:input=move |ev| goal.set(event_target_value(&ev))></textarea>
                {field_error(errors, || Some("goal".to_owned()))}
            </label>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match choices.await {
                        Ok(choices) => view! { <PlanFields editor errors choices/> }.into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })}
            </Transition>
            {move || general.get().map(|error| view! { <ErrorNote error/> })}
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || save.pending().get()>"Save as a new revision"</button>
                <button type="button" class="link-button" on:click=move |_| editing.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}

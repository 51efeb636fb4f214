//! `opsdesk projects …`: projects from the command line, a client of the
//! REST API (`/api/v1/org/projects`) authenticated with an API token.
//!
//! It is a sibling of `opsdesk tickets` and shares its machinery (see
//! [`super::tickets`]): the same `--server`/`--token`/`--config` resolution,
//! HTTP client, `--json` output, error printing and exit codes (2 for a 4xx
//! answer, 1 for anything else that failed), tables and terminal-safe text.

use super::tickets::{
    decode, emit, format_rows, format_table, id_segment, indent, load_settings, multiline, one_line, pad, person,
    print_raw, read_stdin, relative_time, report_api_failure, short_person, stamp, terminal_columns, Api, ApiFailure,
    ClientArgs,
};
use anyhow::Context;
use chrono::{DateTime, Local, TimeZone, Utc};
use clap::{Args, Subcommand};
use opsdesk_app::model::{
    ApproveProject, NewProject, PersonRef, PlanStage, PlanTask, Project, ProjectSummary, ProjectTicket, StageState,
    StageView,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the project endpoints live under the server's URL.
const PROJECTS_PATH: [&str; 4] = ["api", "v1", "org", "projects"];

// --- the command line -------------------------------------------------------

/// `opsdesk projects [OPTIONS] <COMMAND>`: what the `projects` subcommand parses.
#[derive(Debug, Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: ProjectsCommand,
}

/// `opsdesk projects …`.
#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List projects, newest first.
    #[command(visible_alias = "ls")]
    List,
    /// Show a project: its goal, each stage's tickets (or the tasks it will
    /// open) and the plan's revisions.
    Show {
        /// The project's id, as `opsdesk projects list` prints it.
        project_id: String,
    },
    /// Create a project (a draft) from a plan file.
    Create {
        /// The plan: JSON with `title`, `goal` and `stages`, each with a `name`
        /// and `tasks` (`title`, `description`, `acceptance_criteria`, and
        /// optionally `agent_id` and `instance_id`); `-` reads it from standard input.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
        /// The title, instead of the file's.
        #[arg(long)]
        title: Option<String>,
        /// The goal, instead of the file's.
        #[arg(long)]
        goal: Option<String>,
        /// Approve the plan right away, which opens the first stage's tickets.
        #[arg(long)]
        approve: bool,
    },
    /// Approve the plan's latest revision; opens the tickets of the stage it unblocks.
    Approve {
        /// The project's id, as `opsdesk projects list` prints it.
        project_id: String,
        /// Approve only if this is still the latest revision (approve what you read).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
        revision: Option<i64>,
    },
}

// --- running ----------------------------------------------------------------

/// Runs one `projects` subcommand; failures end like the `tickets` ones.
pub async fn run(args: ClientArgs, command: ProjectsCommand) -> anyhow::Result<ExitCode> {
    let api = Api::at(load_settings(&args)?, &PROJECTS_PATH)?;
    report_api_failure(execute(&api, args.json, command).await)
}

async fn execute(api: &Api, json: bool, command: ProjectsCommand) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    match command {
        ProjectsCommand::List => {
            let body = api.get(&[], &[]).await?;
            if json {
                return print_raw(&body);
            }
            let projects: Vec<ProjectSummary> = decode(&body, "a project list")?;
            emit(&format_project_list(&projects, now, &Local, terminal_columns()))?;
        }
        ProjectsCommand::Show { project_id } => {
            let body = api.get(&[project_segment(&project_id)?], &[]).await?;
            if json {
                return print_raw(&body);
            }
            let project: Project = decode(&body, "a project")?;
            emit(&format_project_detail(&project, now, &Local))?;
        }
        ProjectsCommand::Create { file, title, goal, approve } => {
            let request = new_project(read_plan(&file)?, title, goal);
            let body = api.post_json(&[], &request).await?;
            if json && !approve {
                return print_raw(&body);
            }
            let created: Project = decode(&body, "a project")?;
            if !json {
                let web_url = api.web_url(&["projects", &created.id]);
                emit(&format_created(&created, &web_url, approve))?;
            }
            if approve {
                // Approve exactly the revision just created; say how to retry if it fails.
                let approved = approve_and_report(api, json, &created.id, &created, Some(created.revision)).await;
                return approved.map_err(|error| with_created_hint(error, &created.id));
            }
        }
        ProjectsCommand::Approve { project_id, revision } => {
            let segment = project_segment(&project_id)?;
            // What was open before tells what this approval opened.
            let before: Project = decode(&api.get(&[segment], &[]).await?, "a project")?;
            return approve_and_report(api, json, segment, &before, revision).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Approves the project and prints what opened, judged against `before`
/// (the project as it was just before); `--json` prints the server's answer.
async fn approve_and_report(
    api: &Api,
    json: bool,
    segment: &str,
    before: &Project,
    revision: Option<i64>,
) -> anyhow::Result<ExitCode> {
    let body = api.post_json(&[segment, "approve"], &ApproveProject { revision }).await?;
    if json {
        return print_raw(&body);
    }
    let after: Project = decode(&body, "a project")?;
    emit(&format_approval(before, &after))?;
    Ok(ExitCode::SUCCESS)
}

/// The project exists even though approving it failed: say so, and how to retry.
fn with_created_hint(error: anyhow::Error, project_id: &str) -> anyhow::Error {
    let retry = format!("`opsdesk projects approve {}`", one_line(project_id));
    match error.downcast::<ApiFailure>() {
        Ok(mut failure) => {
            failure.hint = Some(format!("the project was created as a draft; approve it with {retry}"));
            failure.into()
        }
        Err(other) => other.context(format!("the project was created as a draft but not approved; retry with {retry}")),
    }
}

/// A project id as a path segment.
fn project_segment(project_id: &str) -> anyhow::Result<&str> {
    id_segment(project_id, "a project id (`opsdesk projects list` shows them)")
}

// --- the plan file ----------------------------------------------------------

/// A plan file: the body of `POST …/projects`, except that the title and the
/// goal may come from `--title` and `--goal` instead. Unknown keys are
/// refused, so a misspelt one is not silently dropped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    goal: Option<String>,
    stages: Vec<PlanStage>,
}

/// Reads the plan from a file, or from standard input for `-`.
fn read_plan(path: &Path) -> anyhow::Result<PlanFile> {
    let (text, source) = if path.as_os_str() == "-" {
        (read_stdin("plan")?, "standard input".to_owned())
    } else {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the plan from {}", path.display()))?;
        (text, path.display().to_string())
    };
    parse_plan(&text, &source)
}

fn parse_plan(text: &str, source: &str) -> anyhow::Result<PlanFile> {
    serde_json::from_str(text).with_context(|| {
        format!("{source} is not a project plan (JSON with `title`, `goal` and `stages` of named lists of `tasks`)")
    })
}

/// The flags win over the file; what neither gives is left for the server to refuse.
fn new_project(plan: PlanFile, title: Option<String>, goal: Option<String>) -> NewProject {
    NewProject {
        title: title.or(plan.title).unwrap_or_default(),
        goal: goal.or(plan.goal).unwrap_or_default(),
        stages: plan.stages,
    }
}

// --- human output -----------------------------------------------------------

/// `2 stages`, `1 task`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The id comes first and whole (the server accepts no shorter form); the
/// title comes last, cut to the terminal like a ticket's subject.
fn format_project_list<Tz: TimeZone>(
    projects: &[ProjectSummary],
    now: DateTime<Utc>,
    tz: &Tz,
    columns: Option<usize>,
) -> String
where
    Tz::Offset: fmt::Display,
{
    if projects.is_empty() {
        return "no projects (create one with `opsdesk projects create --file plan.json`)\n".to_owned();
    }
    let rows = projects
        .iter()
        .map(|p| {
            vec![
                one_line(&p.id),
                p.status.as_str().to_owned(),
                format!("{}% {}/{}", p.progress, p.tasks_done, p.tasks_total),
                format!("{}/{}", p.opened_stages, p.stage_count),
                relative_time(p.updated_at, now, tz),
                one_line(&p.title),
            ]
        })
        .collect::<Vec<_>>();
    let mut out = format_table(&["ID", "STATUS", "PROGRESS", "STAGE", "UPDATED", "TITLE"], &rows, columns);
    out.push_str(&counted(projects.len(), "project"));
    out.push('\n');
    out
}

fn format_project_detail<Tz: TimeZone>(project: &Project, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let p = project;
    let mut out = format!("{}  {}\n", one_line(&p.id), one_line(&p.title));
    let mut field = |label: &str, value: String| out.push_str(&format!("  {}{value}\n", pad(label, 11)));
    field("status", p.status.as_str().to_owned());
    field("progress", format!("{}% ({} of {} tasks done)", p.progress, p.tasks_done, p.tasks_total));
    field("stages", format!("{} of {} opened", p.opened_stages, p.stage_progress.len()));
    field("revision", revision_state(p));
    field("created", format!("{}{}", stamp(&p.created_at, tz), by(p.created_by.as_ref())));
    if let Some(approved_at) = &p.approved_at {
        field("approved", format!("{}{}", stamp(approved_at, tz), by(p.approved_by.as_ref())));
    }
    field("updated", stamp(&p.updated_at, tz));
    let goal = multiline(p.goal.trim_end());
    if !goal.is_empty() {
        out.push('\n');
        out.push_str(&indent(&goal, "  "));
    }
    if p.stage_progress.is_empty() {
        out.push_str("\nno stages yet\n");
    }
    for stage in &p.stage_progress {
        out.push('\n');
        out.push_str(&format_stage(stage));
    }
    out.push_str(&format!("\nRevisions ({})\n", p.revisions.len()));
    let rows = p
        .revisions
        .iter()
        .map(|r| {
            let author = r.author.as_ref().map_or_else(|| "unknown".to_owned(), short_person);
            let mut row = vec![format!("#{}", r.revision), author, relative_time(r.created_at, now, tz)];
            if p.approved_revision == Some(r.revision) {
                row.push("approved".to_owned());
            }
            row
        })
        .collect::<Vec<_>>();
    out.push_str(&indent(&format_rows(&rows), "  "));
    out
}

/// ` by Ada <ada@acme.test>`, or nothing when nobody is known.
fn by(who: Option<&PersonRef>) -> String {
    who.map(|p| format!(" by {}", person(p))).unwrap_or_default()
}

/// The latest revision and whether stages open from it.
fn revision_state(project: &Project) -> String {
    match project.approved_revision {
        None => format!("{} (not approved yet)", project.revision),
        Some(approved) if project.has_unapproved_changes() => {
            format!("{} (approved {approved}; changes waiting for approval)", project.revision)
        }
        Some(_) => format!("{} (approved)", project.revision),
    }
}

/// `Stage 1 · name · open`, then the tickets it opened, or, while it waits,
/// the tasks it will open.
fn format_stage(stage: &StageView) -> String {
    let mut out = format!("Stage {} · {} · {}", stage.number, one_line(&stage.name), stage.state);
    if stage.early {
        out.push_str(" (started early)");
    }
    out.push('\n');
    if stage.state == StageState::Waiting {
        out.push_str(&format_tasks(&stage.tasks));
    } else if stage.tickets.is_empty() {
        out.push_str("  no tickets\n");
    } else {
        out.push_str(&format_tickets(stage.tickets.iter()));
    }
    out
}

/// `ACME-1  open  subject`, one line per ticket, indented.
fn format_tickets<'a>(tickets: impl IntoIterator<Item = &'a ProjectTicket>) -> String {
    let rows = tickets
        .into_iter()
        .map(|t| vec![one_line(&t.ticket_id), t.status.as_str().to_owned(), one_line(&t.subject)])
        .collect::<Vec<_>>();
    indent(&format_rows(&rows), "  ")
}

/// `1.  title  agent runbook, instance local`, one line per task, indented.
fn format_tasks(tasks: &[PlanTask]) -> String {
    if tasks.is_empty() {
        return "  no tasks\n".to_owned();
    }
    let rows = tasks
        .iter()
        .enumerate()
        .map(|(index, task)| vec![format!("{}.", index + 1), one_line(&task.title), assignment(task)])
        .collect::<Vec<_>>();
    indent(&format_rows(&rows), "  ")
}

/// Who will work the task's ticket and where, when the plan says.
fn assignment(task: &PlanTask) -> String {
    let given = |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(one_line);
    let mut parts = Vec::new();
    if let Some(agent) = given(&task.agent_id) {
        parts.push(format!("agent {agent}"));
    }
    if let Some(instance) = given(&task.instance_id) {
        parts.push(format!("instance {instance}"));
    }
    parts.join(", ")
}

/// One line naming the new project; unless it is being approved at once,
/// what it holds and what to do next.
fn format_created(project: &Project, web_url: &str, approving: bool) -> String {
    let id = one_line(&project.id);
    let mut out = format!("created {id}: {}\n", one_line(&project.title));
    if approving {
        return out;
    }
    let tasks = project.stages.iter().map(|s| s.tasks.len()).sum::<usize>();
    out.push_str(&format!(
        "  {}, {}, {}\n  approve it with `opsdesk projects approve {id}`\n  \
         see it with `opsdesk projects show {id}` or at {web_url}\n",
        project.status,
        counted(project.stages.len(), "stage"),
        counted(tasks, "task"),
    ));
    out
}

/// What an approval opened in one stage.
struct Opening<'a> {
    stage: &'a StageView,
    /// The stage was waiting before; else it was open and gained tickets.
    newly_opened: bool,
    /// The tickets that were not there before.
    tickets: Vec<&'a ProjectTicket>,
}

/// Stages that opened, or gained tickets, between `before` and `after`.
fn openings<'a>(before: &Project, after: &'a Project) -> Vec<Opening<'a>> {
    after
        .stage_progress
        .iter()
        .filter_map(|stage| {
            let earlier = before.stage_progress.iter().find(|s| s.number == stage.number);
            let known = earlier
                .map(|s| s.tickets.iter().map(|t| t.ticket_id.as_str()).collect::<BTreeSet<&str>>())
                .unwrap_or_default();
            let tickets = stage.tickets.iter().filter(|t| !known.contains(t.ticket_id.as_str())).collect::<Vec<_>>();
            let was_waiting = earlier.is_none_or(|s| s.state == StageState::Waiting);
            let newly_opened = was_waiting && stage.state != StageState::Waiting;
            (newly_opened || !tickets.is_empty()).then_some(Opening { stage, newly_opened, tickets })
        })
        .collect()
}

/// Which stage opened and its tickets, or that approving again changed nothing.
fn format_approval(before: &Project, after: &Project) -> String {
    let approved = after.approved_revision.unwrap_or(after.revision);
    let opened = openings(before, after);
    if opened.is_empty() && before.approved_revision == after.approved_revision {
        return format!("already approved at revision {approved}; nothing opened\n");
    }
    let mut out = format!("approved revision {approved} of {}: {}\n", one_line(&after.id), one_line(&after.title));
    if opened.is_empty() {
        let still_open = after.stage_progress.iter().find(|s| s.state == StageState::Open);
        out.push_str(&match still_open {
            Some(stage) => {
                format!("nothing new opened: stage {} · {} is still open\n", stage.number, one_line(&stage.name))
            }
            None => "nothing opened\n".to_owned(),
        });
    }
    for opening in opened {
        let stage = opening.stage;
        let name = one_line(&stage.name);
        if opening.newly_opened {
            let tickets = counted(opening.tickets.len(), "ticket");
            out.push_str(&format!("opened stage {} · {name}: {tickets}\n", stage.number));
        } else {
            let tickets = counted(opening.tickets.len(), "more ticket");
            out.push_str(&format!("stage {} · {name}: {tickets}\n", stage.number));
        }
        out.push_str(&format_tickets(opening.tickets.iter().copied()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tickets::{parse_server, Settings};
    use super::*;
    use clap::{CommandFactory, Parser};
    use opsdesk_app::model::{PlanRevision, ProjectStatus, Status};

    /// `opsdesk projects` as its own program, as `cli/mod.rs` mounts it.
    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        projects: ProjectsArgs,
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn ada() -> PersonRef {
        PersonRef { id: "u1".into(), email: "ada@acme.test".into(), name: "Ada".into() }
    }

    fn task(title: &str) -> PlanTask {
        PlanTask { title: title.to_owned(), ..PlanTask::default() }
    }

    fn ticket(number: u32, status: Status, subject: &str) -> ProjectTicket {
        ProjectTicket { ticket_id: format!("ACME-{number}"), subject: subject.to_owned(), status, task: number - 1 }
    }

    fn summary(id: &str, title: &str) -> ProjectSummary {
        ProjectSummary {
            id: id.to_owned(),
            title: title.to_owned(),
            goal: "Run 1.30 everywhere".to_owned(),
            status: ProjectStatus::Active,
            revision: 2,
            approved_revision: Some(1),
            stage_count: 3,
            opened_stages: 1,
            tasks_done: 2,
            tasks_total: 5,
            progress: 40,
            created_by: Some(ada()),
            created_at: at("2024-05-01T12:00:00Z"),
            updated_at: at("2024-05-01T13:30:00Z"),
        }
    }

    fn stage(
        number: u32,
        name: &str,
        state: StageState,
        tasks: Vec<PlanTask>,
        tickets: Vec<ProjectTicket>,
    ) -> StageView {
        let opened = state != StageState::Waiting;
        StageView {
            number,
            name: name.to_owned(),
            state,
            tasks,
            tickets,
            opened_at: opened.then(|| at("2024-05-01T12:10:00Z")),
            opened_by: opened.then(ada),
            early: false,
            opened_revision: opened.then_some(1),
        }
    }

    fn revision(number: i64, created_at: &str) -> PlanRevision {
        PlanRevision {
            revision: number,
            title: "Upgrade Kubernetes to 1.30".into(),
            goal: "Run 1.30 everywhere".into(),
            stages: vec![],
            author: Some(ada()),
            created_at: at(created_at),
        }
    }

    /// A draft of two stages: two tasks to drain, two to upgrade.
    fn draft() -> Project {
        let mut control_plane = task("Upgrade the control plane");
        control_plane.agent_id = Some("runbook".into());
        control_plane.instance_id = Some("local".into());
        let drain = vec![task("Drain node-1"), task("Drain node-2")];
        let upgrade = vec![control_plane, task("Upgrade the workers")];
        Project {
            id: "0190f1c2-aaaa".into(),
            title: "Upgrade Kubernetes to 1.30".into(),
            goal: "Run 1.30 everywhere.\nNo downtime.".into(),
            status: ProjectStatus::Draft,
            revision: 1,
            approved_revision: None,
            approved_by: None,
            approved_at: None,
            stages: vec![
                PlanStage { name: "Drain".into(), tasks: drain.clone() },
                PlanStage { name: "Upgrade".into(), tasks: upgrade.clone() },
            ],
            stage_progress: vec![
                stage(1, "Drain", StageState::Waiting, drain, vec![]),
                stage(2, "Upgrade", StageState::Waiting, upgrade, vec![]),
            ],
            opened_stages: 0,
            tasks_done: 0,
            tasks_total: 4,
            progress: 0,
            revisions: vec![revision(1, "2024-05-01T12:00:00Z")],
            created_by: Some(ada()),
            created_at: at("2024-05-01T12:00:00Z"),
            updated_at: at("2024-05-01T12:00:00Z"),
        }
    }

    /// The draft once revision 1 was approved: stage 1 opened two tickets.
    fn approved() -> Project {
        let mut project = draft();
        project.status = ProjectStatus::Active;
        project.approved_revision = Some(1);
        project.approved_by = Some(ada());
        project.approved_at = Some(at("2024-05-01T12:10:00Z"));
        project.opened_stages = 1;
        project.stage_progress[0].state = StageState::Open;
        project.stage_progress[0].opened_at = Some(at("2024-05-01T12:10:00Z"));
        project.stage_progress[0].opened_revision = Some(1);
        project.stage_progress[0].tickets =
            vec![ticket(1, Status::Open, "Drain node-1"), ticket(2, Status::Open, "Drain node-2")];
        project
    }

    // --- the command line ---

    #[test]
    fn the_command_line_is_well_formed() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn create_reads_a_file_with_optional_overrides() {
        let cli = TestCli::try_parse_from([
            "projects",
            "create",
            "--file",
            "plan.json",
            "--title",
            "Upgrade",
            "--approve",
            "--json",
            "--server",
            "http://desk:3000",
        ])
        .unwrap();
        assert!(cli.projects.client.json);
        assert_eq!(cli.projects.client.server.as_deref(), Some("http://desk:3000"));
        match cli.projects.command {
            ProjectsCommand::Create { file, title, goal, approve } => {
                assert_eq!(file, PathBuf::from("plan.json"));
                assert_eq!(title.as_deref(), Some("Upgrade"));
                assert_eq!(goal, None);
                assert!(approve);
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(TestCli::try_parse_from(["projects", "create"]).is_err(), "--file is required");
        assert!(TestCli::try_parse_from(["projects", "create", "--file", "-"]).is_ok());
    }

    #[test]
    fn approve_takes_an_id_and_an_optional_revision() {
        let cli = TestCli::try_parse_from(["projects", "approve", "0190f1c2-aaaa", "--revision", "3"]).unwrap();
        match cli.projects.command {
            ProjectsCommand::Approve { project_id, revision } => {
                assert_eq!((project_id.as_str(), revision), ("0190f1c2-aaaa", Some(3)));
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(TestCli::try_parse_from(["projects", "approve"]).is_err());
        assert!(TestCli::try_parse_from(["projects", "approve", "p", "--revision", "0"]).is_err());
        assert!(TestCli::try_parse_from(["projects", "show"]).is_err());
        assert!(matches!(TestCli::try_parse_from(["projects", "ls"]).unwrap().projects.command, ProjectsCommand::List));
    }

    #[test]
    fn urls_lead_to_the_project_endpoints() {
        let settings = Settings { server: parse_server("http://desk/ops/").unwrap(), token: "t".into() };
        let api = Api::at(settings, &PROJECTS_PATH).unwrap();
        assert_eq!(api.endpoint(&[]).as_str(), "http://desk/ops/api/v1/org/projects");
        assert_eq!(api.endpoint(&["p/1", "approve"]).as_str(), "http://desk/ops/api/v1/org/projects/p%2F1/approve");
        assert!(project_segment("..").is_err());
        assert_eq!(project_segment(" p1 ").unwrap(), "p1");
    }

    // --- the plan file ---

    #[test]
    fn the_flags_override_the_plan_file() {
        let text = r#"{"title": "From the file", "goal": "Keep it", "stages": [
            {"name": "Prepare", "tasks": [{"title": "Back up", "instance_id": "local"}]}]}"#;
        let plan = parse_plan(text, "plan.json").unwrap();
        let request = new_project(plan, Some("From the flag".into()), None);
        assert_eq!(request.title, "From the flag");
        assert_eq!(request.goal, "Keep it");
        assert_eq!(request.stages[0].tasks[0].instance_id.as_deref(), Some("local"));
        // The file may leave the title and the goal to the flags.
        let bare = parse_plan(r#"{"stages": []}"#, "-").unwrap();
        let request = new_project(bare, Some("T".into()), Some("G".into()));
        assert_eq!((request.title.as_str(), request.goal.as_str()), ("T", "G"));
    }

    #[test]
    fn a_misspelt_plan_is_refused_naming_its_source() {
        let error = parse_plan(r#"{"title": "x", "goal": "y", "stage": []}"#, "plan.json").unwrap_err();
        let message = format!("{error:#}");
        assert!(message.starts_with("plan.json is not a project plan"), "{message}");
        assert!(message.contains("stage"), "{message}");
        assert!(parse_plan("not json", "standard input").is_err());
    }

    // --- tables and text ---

    #[test]
    fn the_list_shows_progress_and_stages_with_whole_ids() {
        let now = at("2024-05-01T14:00:00Z");
        let mut second = summary("0190f1c2-bbbb", "Rotate TLS\ncertificates");
        second.status = ProjectStatus::Draft;
        second.approved_revision = None;
        second.stage_count = 1;
        second.opened_stages = 0;
        second.tasks_done = 0;
        second.tasks_total = 2;
        second.progress = 0;
        second.updated_at = at("2024-04-01T10:00:00Z");
        let projects = vec![summary("0190f1c2-aaaa", "Upgrade Kubernetes to 1.30"), second];
        let text = format_project_list(&projects, now, &Utc, None);
        let lines = text.lines().collect::<Vec<_>>();
        assert_eq!(lines[0], "ID             STATUS  PROGRESS  STAGE  UPDATED     TITLE");
        assert_eq!(lines[1], "0190f1c2-aaaa  active  40% 2/5   1/3    30m ago     Upgrade Kubernetes to 1.30");
        assert_eq!(lines[2], "0190f1c2-bbbb  draft   0% 0/2    0/1    2024-04-01  Rotate TLS certificates");
        assert_eq!(lines[3], "2 projects");
        assert_eq!(lines.len(), 4);
        assert!(format_project_list(&[], now, &Utc, None).starts_with("no projects"));
        assert!(format_project_list(&projects[..1], now, &Utc, None).ends_with("\n1 project\n"));
    }

    #[test]
    fn show_lists_open_stages_tickets_waiting_stages_tasks_and_the_revisions() {
        let now = at("2024-05-01T14:00:00Z");
        let mut project = approved();
        project.revision = 2;
        project.revisions.insert(0, revision(2, "2024-05-01T13:30:00Z"));
        project.stage_progress[0].tickets[0].status = Status::Resolved;
        project.stage_progress[0].early = true;
        project.tasks_done = 1;
        project.progress = 25;
        let text = format_project_detail(&project, now, &Utc);
        let expected = [
            "0190f1c2-aaaa  Upgrade Kubernetes to 1.30",
            "  status     active",
            "  progress   25% (1 of 4 tasks done)",
            "  stages     1 of 2 opened",
            "  revision   2 (approved 1; changes waiting for approval)",
            "  created    2024-05-01 12:00 by Ada <ada@acme.test>",
            "  approved   2024-05-01 12:10 by Ada <ada@acme.test>",
            "  Run 1.30 everywhere.",
            "  No downtime.",
            "Stage 1 · Drain · open (started early)",
            "  ACME-1  resolved  Drain node-1",
            "  ACME-2  open      Drain node-2",
            "Stage 2 · Upgrade · waiting",
            "  1.  Upgrade the control plane  agent runbook, instance local",
            "  2.  Upgrade the workers",
            "Revisions (2)",
            "  #2  Ada  30m ago",
            "  #1  Ada  2h ago   approved",
        ];
        let lines = text.lines().collect::<Vec<_>>();
        for line in expected {
            assert!(lines.contains(&line), "missing {line:?} in\n{text}");
        }
        let draft = format_project_detail(&draft(), now, &Utc);
        assert!(draft.contains("  revision   1 (not approved yet)\n"), "{draft}");
        assert!(draft.contains("Stage 1 · Drain · waiting\n  1.  Drain node-1\n"), "{draft}");
        assert!(!draft.contains("approved  "), "{draft}");
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let mut project = approved();
        project.title = "Upgrade\x1b[2J".into();
        project.goal = "line one\r\nline two\x1b[31m".into();
        project.stage_progress[0].name = "Drain\nnow".into();
        project.stage_progress[0].tickets[0].subject = "Drain\x07 node-1".into();
        project.stage_progress[1].tasks[0].agent_id = Some("run\x1bbook".into());
        let text = format_project_detail(&project, at("2024-05-01T14:00:00Z"), &Utc);
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("  line one\n  line two[31m\n"), "{text}");
        assert!(text.contains("Stage 1 · Drain now · open"), "{text}");
        let list = format_project_list(&[summary("p\x1b1", "t\x1b")], at("2024-05-01T14:00:00Z"), &Utc, None);
        assert!(!list.contains('\x1b'), "{list:?}");
    }

    #[test]
    fn approving_names_the_stage_and_the_tickets_it_opened() {
        let text = format_approval(&draft(), &approved());
        assert_eq!(
            text,
            "approved revision 1 of 0190f1c2-aaaa: Upgrade Kubernetes to 1.30\n\
             opened stage 1 · Drain: 2 tickets\n  ACME-1  open  Drain node-1\n  ACME-2  open  Drain node-2\n"
        );
        // Approving the approved revision again opens nothing.
        assert_eq!(format_approval(&approved(), &approved()), "already approved at revision 1; nothing opened\n");
    }

    #[test]
    fn approving_a_new_revision_says_what_it_added_or_that_it_added_nothing() {
        let mut before = approved();
        before.revision = 2;
        let mut after = before.clone();
        after.approved_revision = Some(2);
        assert_eq!(
            format_approval(&before, &after),
            "approved revision 2 of 0190f1c2-aaaa: Upgrade Kubernetes to 1.30\n\
             nothing new opened: stage 1 · Drain is still open\n"
        );
        after.stage_progress[0].tickets.push(ticket(3, Status::Open, "Drain node-3"));
        assert_eq!(
            format_approval(&before, &after),
            "approved revision 2 of 0190f1c2-aaaa: Upgrade Kubernetes to 1.30\n\
             stage 1 · Drain: 1 more ticket\n  ACME-3  open  Drain node-3\n"
        );
    }

    #[test]
    fn confirmations_say_what_was_created_and_what_to_do_next() {
        let web_url = "http://desk/projects/0190f1c2-aaaa";
        let text = format_created(&draft(), web_url, false);
        assert_eq!(
            text,
            "created 0190f1c2-aaaa: Upgrade Kubernetes to 1.30\n  draft, 2 stages, 4 tasks\n  \
             approve it with `opsdesk projects approve 0190f1c2-aaaa`\n  \
             see it with `opsdesk projects show 0190f1c2-aaaa` or at http://desk/projects/0190f1c2-aaaa\n"
        );
        let approving = format_created(&draft(), web_url, true);
        assert_eq!(approving, "created 0190f1c2-aaaa: Upgrade Kubernetes to 1.30\n");
        assert_eq!(counted(1, "stage"), "1 stage");
        assert_eq!(counted(0, "task"), "0 tasks");
    }

    #[test]
    fn a_failed_approval_after_create_says_the_draft_exists() {
        let status = reqwest::StatusCode::FORBIDDEN;
        let error = opsdesk_app::error::AppError::new(opsdesk_app::error::ErrorCode::Forbidden, "operators only");
        let failure = ApiFailure { status, error, hint: None };
        let hinted = with_created_hint(failure.into(), "p1").downcast::<ApiFailure>().unwrap();
        assert_eq!(
            hinted.hint.as_deref(),
            Some("the project was created as a draft; approve it with `opsdesk projects approve p1`")
        );
        let other = with_created_hint(anyhow::anyhow!("connection reset"), "p1");
        assert!(format!("{other:#}").contains("opsdesk projects approve p1"), "{other:#}");
    }
}

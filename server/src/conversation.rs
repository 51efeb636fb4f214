//! Conversations with agents on a ticket: assigning agents, a person's
//! messages and decisions, running a proposed command now, and the agent
//! turns that run in the background, one at a time per ticket.
//!
//! Everything is on the timeline first. A message is committed (and
//! acknowledged with 202) before its agent is called; the turn worker then
//! rebuilds the protocol request from the timeline ([`build_request`]),
//! calls the agent and commits its validated answer, or a visible failure
//! that answers nothing, so a retry or the next message sends it all again.

use crate::agents::llm::redact::Redactor;
use crate::agents::{self, client};
use crate::auth;
use crate::canvas;
use crate::instances;
use crate::state::AppState;
use crate::store::{AgentRecord, AppendRefused, InstanceRecord, NewEntry, TicketChanges, TicketRef};
use crate::tickets;
use chrono::SecondsFormat;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    assigned_agents, command_cards, next_turn, undelivered_for, AgentActivity, AgentFile, AgentRef, AssignAgents,
    AuthorType, CanvasFile, CommandAction, DecideCommand, EventsPage, ExecutedCommand, Me, MessageAccepted,
    MessageData, Permission, PostMessage, ProtocolCommand, ProtocolMessage, ProtocolRole, RanBy, SendMessageRequest,
    SendMessageResponse, Ticket, TicketDetail, TimelineEntry, TimelineEvent, MAX_MESSAGE_CHARS,
};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// Most agents on one ticket.
const MAX_ASSIGNED_AGENTS: usize = 8;
/// Output kept per command run (the rest is cut, and the entry says so).
pub const OUTPUT_CAP: usize = 64 * 1024;
/// How long a command run from a card may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest long-poll wait.
const MAX_WAIT_SECS: u64 = 60;

/// Which tickets have a turn worker, and whether it must look again.
#[derive(Default)]
pub struct Turns {
    running: Mutex<HashMap<String, bool>>,
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts the ticket's turn worker, or asks the running one to look again
/// when it is done (so a message sent mid-turn is queued, never lost).
/// Answers whether a turn was already running.
pub fn kick(state: &AppState, org_id: &str, ticket_id: &str) -> bool {
    {
        let mut running = state.turns.lock();
        if let Some(again) = running.get_mut(ticket_id) {
            *again = true;
            return true;
        }
        running.insert(ticket_id.to_owned(), false);
    }
    let (state, org_id, ticket_id) = (state.clone(), org_id.to_owned(), ticket_id.to_owned());
    tokio::spawn(async move {
        loop {
            run_turns(&state, &org_id, &ticket_id).await;
            let mut running = state.turns.lock();
            match running.get_mut(&ticket_id) {
                Some(again) if *again => *again = false,
                _ => {
                    running.remove(&ticket_id);
                    break;
                }
            }
        }
    });
    false
}

/// Answers pending messages turn by turn until none is left or one fails.
async fn run_turns(state: &AppState, org_id: &str, ticket_id: &str) {
    loop {
        match run_one_turn(state, org_id, ticket_id).await {
            Ok(true) => continue,
            Ok(false) => return,
            Err(error) => {
                tracing::error!(ticket = ticket_id, "agent turn: {error}");
                return;
            }
        }
    }
}

/// Runs the next turn, if any; `Ok(true)` when it was answered.
async fn run_one_turn(state: &AppState, org_id: &str, ticket_id: &str) -> AppResult<bool> {
    let turn_started = std::time::Instant::now();
    let Some(ticket) = state.store.ticket(org_id, &TicketRef::Id(ticket_id.to_owned())).await? else {
        return Ok(false);
    };
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    let Some((agent_ref, messages)) = next_turn(&timeline) else { return Ok(false) };
    let in_reply_to = *messages.last().expect("a turn has messages");
    let fail = |reason: String| NewEntry {
        author_type: AuthorType::System,
        author_id: None,
        event: TimelineEvent::AgentFailed { agent: agent_ref.clone(), reason, in_reply_to },
    };
    let Some(agent) = state.store.agent(org_id, &agent_ref.id).await? else {
        append(state, &ticket.id, vec![fail("this agent no longer exists; assign another one".into())]).await?;
        return Ok(false);
    };
    let instance = instance_or_local(state, org_id, ticket.cluster_id.as_deref()).await?;
    if !agent.view.serves(&instance.id) {
        let reason = format!("{} may not work on instance {}", agent.view.name, instance.name);
        append(state, &ticket.id, vec![fail(reason)]).await?;
        return Ok(false);
    }
    let delivered = undelivered_for(&timeline, &agent.view.id);
    let request = build_request(&ticket, &timeline, &instance, &delivered, in_reply_to);
    let prepared = turn_started.elapsed();
    let call_started = std::time::Instant::now();
    state.hub.activity(&ticket.id, &agent_ref, AgentActivity::Working);
    let result = client::send(state, org_id, &agent, &request).await;
    state.hub.activity(&ticket.id, &agent_ref, AgentActivity::Idle);
    let call = call_started.elapsed();
    let answered = match result {
        Ok(answer) => {
            let commit_started = std::time::Instant::now();
            let entries = answer_entries(state, &ticket, &timeline, &agent, answer, in_reply_to, delivered);
            append(state, &ticket.id, entries).await?;
            // What the helpdesk itself spent, around the agent call (which
            // includes encoding, the HTTP hop and validating the answer).
            tracing::info!(
                ticket = %ticket.ticket_id,
                agent = %agent.view.slug,
                prepare_us = prepared.as_micros() as u64,
                call_us = call.as_micros() as u64,
                commit_us = commit_started.elapsed().as_micros() as u64,
                "agent answered"
            );
            true
        }
        Err(reason) => {
            tracing::warn!(ticket = %ticket.ticket_id, agent = %agent.view.slug, "agent turn failed: {reason}");
            append(state, &ticket.id, vec![fail(reason)]).await?;
            false
        }
    };
    Ok(answered)
}

async fn append(state: &AppState, ticket_id: &str, entries: Vec<NewEntry>) -> AppResult<Vec<TimelineEntry>> {
    match state.store.append(ticket_id, TicketChanges::default(), entries).await? {
        Ok(entries) => Ok(entries),
        Err(AppendRefused::StatusMoved(_) | AppendRefused::AttachmentLimit) => {
            Err(AppError::internal("an append without conditions was refused"))
        }
    }
}

/// The instance a ticket is (or will be) about: the named one, or the
/// org's `local` one when none is named (or it is gone).
pub(crate) async fn instance_or_local(
    state: &AppState,
    org_id: &str,
    instance_id: Option<&str>,
) -> AppResult<InstanceRecord> {
    if let Some(instance_id) = instance_id {
        if let Some(instance) = state.store.instance(org_id, instance_id).await? {
            return Ok(instance);
        }
    }
    Ok(instances::ensure_local(state.store.as_ref(), org_id).await?)
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The protocol request for a turn: the whole conversation as a flat list,
/// the instance's `platform_context` on user messages, and on each user
/// message the decisions and command outputs its turn carried. The current
/// turn's (`delivering`) ride on its last message, `in_reply_to`.
pub fn build_request(
    ticket: &Ticket,
    timeline: &[TimelineEntry],
    instance: &InstanceRecord,
    delivering: &[i64],
    in_reply_to: i64,
) -> SendMessageRequest {
    let by_seq: HashMap<i64, &TimelineEntry> = timeline.iter().map(|e| (e.seq, e)).collect();
    let commands: HashMap<&str, &str> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::CommandProposed { cmd_id, command, .. } => Some((cmd_id.as_str(), command.as_str())),
            _ => None,
        })
        .collect();
    let runs: HashMap<&str, &TimelineEntry> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::CommandRan { cmd_id: Some(cmd_id), ran_by: RanBy::Agent, .. } => Some((cmd_id.as_str(), e)),
            _ => None,
        })
        .collect();
    // Which earlier user message carried what: the reply to it says.
    let mut carried: HashMap<i64, &[i64]> = timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::AgentReply { in_reply_to, delivered, .. } => Some((*in_reply_to, delivered.as_slice())),
            _ => None,
        })
        .collect();
    carried.insert(in_reply_to, delivering);

    let data_for = |seqs: &[i64]| {
        let mut data = MessageData::default();
        for entry in seqs.iter().filter_map(|s| by_seq.get(s)) {
            match &entry.event {
                TimelineEvent::CommandDecided { cmd_id, action, reason } => {
                    let Some(command) = commands.get(cmd_id.as_str()) else { continue };
                    data.cmds.push(ProtocolCommand {
                        command: (*command).to_owned(),
                        execute: *action == CommandAction::Approve,
                        files: Vec::new(),
                        rejection_reason: reason.clone().filter(|_| *action == CommandAction::Reject),
                        explanation: None,
                        risk: None,
                    });
                }
                TimelineEvent::CommandRan { command, output, .. } => {
                    data.executed_cmds.push(ExecutedCommand { command: command.clone(), output: output.clone() })
                }
                _ => {}
            }
        }
        data
    };

    let context = instance.platform_context.clone();
    let mut messages = Vec::new();
    for entry in timeline.iter().filter(|e| e.seq <= in_reply_to) {
        match &entry.event {
            TimelineEvent::Message { content, .. } => messages.push(ProtocolMessage {
                role: ProtocolRole::User,
                content: content.clone(),
                platform_context: Some(context.clone()),
                data: data_for(carried.get(&entry.seq).copied().unwrap_or_default()),
                timestamp: Some(timestamp(entry.at)),
            }),
            TimelineEvent::AgentReply { content, links, proposed, ran, .. } => {
                let mut data = MessageData { url_configs: links.clone(), ..MessageData::default() };
                for cmd_id in proposed {
                    if let Some(command) = commands.get(cmd_id.as_str()) {
                        data.cmds.push(ProtocolCommand {
                            command: (*command).to_owned(),
                            execute: false,
                            files: Vec::new(),
                            rejection_reason: None,
                            explanation: None,
                            risk: None,
                        });
                    }
                }
                for cmd_id in ran {
                    if let Some(TimelineEvent::CommandRan { command, output, .. }) =
                        runs.get(cmd_id.as_str()).map(|e| &e.event)
                    {
                        data.executed_cmds.push(ExecutedCommand { command: command.clone(), output: output.clone() });
                    }
                }
                messages.push(ProtocolMessage {
                    role: ProtocolRole::Assistant,
                    content: content.clone(),
                    platform_context: None,
                    data,
                    timestamp: Some(timestamp(entry.at)),
                });
            }
            _ => {}
        }
    }
    SendMessageRequest { messages, thread_id: Some(ticket.id.clone()) }
}

/// The timeline entries of a validated answer: the commands the agent ran,
/// its reply, the files it wrote (or why not) and the commands it proposes.
fn answer_entries(
    state: &AppState,
    ticket: &Ticket,
    timeline: &[TimelineEntry],
    agent: &AgentRecord,
    answer: SendMessageResponse,
    in_reply_to: i64,
    delivered: Vec<i64>,
) -> Vec<NewEntry> {
    let agent_ref = agent.view.to_ref();
    let ai = |event| NewEntry { author_type: AuthorType::Ai, author_id: None, event };
    // The approvals this turn carried, so a run can be matched to its card.
    let approved: HashMap<String, String> = command_cards(timeline)
        .into_iter()
        .filter(|card| card.decision.as_ref().is_some_and(|d| delivered.contains(&d.seq)))
        .map(|card| (card.command, card.cmd_id))
        .collect();
    let mut entries = Vec::new();
    let mut ran = Vec::new();
    for executed in answer.data.executed_cmds {
        let cmd_id = approved.get(&executed.command).cloned().unwrap_or_else(crate::store::new_id);
        let (output, truncated) = cap_output(executed.output);
        ran.push(cmd_id.clone());
        entries.push(ai(TimelineEvent::CommandRan {
            terminal: None,
            cmd_id: Some(cmd_id),
            command: executed.command,
            output,
            exit_code: None,
            ran_by: RanBy::Agent,
            agent: Some(agent_ref.clone()),
            truncated,
        }));
    }
    let mut files_and_proposals = Vec::new();
    let mut proposed = Vec::new();
    let root = canvas::dir(&state.config.data_dir, &ticket.id);
    // Writes a file the agent sent into the canvas directory; answers its
    // path when written, and records either outcome.
    let write = |file: AgentFile, entries: &mut Vec<NewEntry>| {
        let AgentFile { file_path, file_content } = file;
        let result = if ticket.status.is_done() {
            Err("the ticket is resolved or closed, so it has no canvas directory".to_owned())
        } else {
            canvas::write_file(&root, &file_path, &file_content)
        };
        match result {
            Ok(size) => {
                entries.push(ai(TimelineEvent::FileWritten {
                    path: file_path.clone(),
                    size,
                    agent: agent_ref.clone(),
                }));
                Some(file_path)
            }
            Err(reason) => {
                entries.push(ai(TimelineEvent::FileRefused { path: file_path, reason, agent: agent_ref.clone() }));
                None
            }
        }
    };
    for file in answer.data.files {
        write(file, &mut files_and_proposals);
    }
    for command in answer.data.cmds {
        let cmd_id = crate::store::new_id();
        let written: Vec<String> =
            command.files.into_iter().filter_map(|file| write(file, &mut files_and_proposals)).collect();
        proposed.push(cmd_id.clone());
        files_and_proposals.push(ai(TimelineEvent::CommandProposed {
            cmd_id,
            agent: agent_ref.clone(),
            command: command.command.trim().to_owned(),
            files: written,
            explanation: command.explanation.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
            risk: command.risk,
        }));
    }
    entries.push(ai(TimelineEvent::AgentReply {
        agent: agent_ref.clone(),
        content: answer.content,
        reasoning: answer.reasoning.filter(|r| !r.trim().is_empty()),
        links: answer.data.url_configs,
        in_reply_to,
        delivered,
        proposed,
        ran,
    }));
    entries.extend(files_and_proposals);
    entries
}

/// Cuts an output at [`OUTPUT_CAP`] bytes (on a character boundary).
fn cap_output(mut output: String) -> (String, bool) {
    if output.len() <= OUTPUT_CAP {
        return (output, false);
    }
    let mut cut = OUTPUT_CAP;
    while !output.is_char_boundary(cut) {
        cut -= 1;
    }
    output.truncate(cut);
    (output, true)
}

/// Resolves an agent (id or slug) that may work on `instance`; `field`
/// names it in the 422 otherwise.
pub(crate) async fn agent_on_instance(
    state: &AppState,
    me: &Me,
    id_or_slug: &str,
    field: &str,
    instance: &InstanceRecord,
) -> AppResult<AgentRecord> {
    let agent = agents::find(state, me, id_or_slug, field).await?;
    if !agent.view.serves(&instance.id) {
        return Err(AppError::invalid_field(
            field,
            format!("{} may not work on instance {}", agent.view.name, instance.name),
        ));
    }
    Ok(agent)
}

/// `PUT .../tickets/{ticket_id}/agents`: the agents working the ticket.
pub async fn assign(state: &AppState, me: &Me, ticket_id: &str, body: AssignAgents) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Write)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    if body.agent_ids.len() > MAX_ASSIGNED_AGENTS {
        return Err(AppError::invalid_field("agent_ids", format!("at most {MAX_ASSIGNED_AGENTS} agents")));
    }
    let instance = instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
    let mut agents = Vec::new();
    for id in &body.agent_ids {
        let agent = agent_on_instance(state, me, id, "agent_ids", &instance).await?.view.to_ref();
        if !agents.contains(&agent) {
            agents.push(agent);
        }
    }
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    if assigned_agents(&timeline) != agents {
        let entry = NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::AgentsAssigned { agents });
        append(state, &ticket.id, vec![entry]).await?;
    }
    tickets::get(state, me, &ticket.id).await
}

/// Refuses work on resolved and closed tickets.
pub(crate) fn require_active(ticket: &Ticket) -> AppResult<()> {
    if ticket.status.is_done() {
        return Err(AppError::conflict(format!(
            "{} is {}: reopen it to work on it",
            ticket.ticket_id,
            ticket.status.label().to_lowercase()
        )));
    }
    Ok(())
}

/// `POST .../tickets/{ticket_id}/messages`: commits the message (with the
/// decisions it carries) and starts or queues the agent's turn.
pub async fn post_message(state: &AppState, me: &Me, ticket_id: &str, body: PostMessage) -> AppResult<MessageAccepted> {
    auth::require(me, Permission::Write)?;
    if !body.decisions.is_empty() {
        auth::require(me, Permission::Operate)?;
    }
    let ticket = tickets::find(state, me, ticket_id).await?;
    require_active(&ticket)?;
    let content = body.content.trim().to_owned();
    if content.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AppError::invalid_field(
            "content",
            format!("content is longer than {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    let assigned = assigned_agents(&timeline);
    let agent = match body.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(wanted) => assigned
            .iter()
            .find(|a| a.id == wanted || a.slug == wanted)
            .cloned()
            .ok_or_else(|| AppError::invalid_field("agent_id", "this agent is not assigned to the ticket"))?,
        None => assigned
            .first()
            .cloned()
            .ok_or_else(|| AppError::invalid_field("agent_id", "no agent is assigned to this ticket yet"))?,
    };
    let cards = command_cards(&timeline);
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for decision in body.decisions {
        let field = "decisions";
        if decision.action == CommandAction::Execute {
            return Err(AppError::invalid_field(
                field,
                "execute is not a message decision: use the command's endpoint",
            ));
        }
        let Some(card) = cards.iter().find(|c| c.cmd_id == decision.cmd_id) else {
            return Err(AppError::invalid_field(field, format!("no command `{}` on this ticket", decision.cmd_id)));
        };
        if !card.open_for_decision() || !seen.insert(card.cmd_id.clone()) {
            return Err(AppError::invalid_field(
                field,
                format!("command `{}` was already decided and sent", card.cmd_id),
            ));
        }
        entries.push(NewEntry::by(
            AuthorType::User,
            &me.user.id,
            TimelineEvent::CommandDecided {
                cmd_id: card.cmd_id.clone(),
                action: decision.action,
                reason: tickets::clean_reason(decision.reason)?,
            },
        ));
    }
    let carries_something = !entries.is_empty() || !undelivered_for(&timeline, &agent.id).is_empty();
    if content.is_empty() && !carries_something {
        return Err(AppError::invalid_field("content", "write a message, or decide on a command first"));
    }
    entries.push(NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::Message { agent: agent.clone(), content }));
    let committed = append(state, &ticket.id, entries).await?;
    let seq = committed.last().map(|e| e.seq).unwrap_or_default();
    let queued = kick(state, &me.org.id, &ticket.id);
    Ok(MessageAccepted { seq, agent, queued })
}

/// `POST .../tickets/{ticket_id}/retry`: runs the pending turn again after a failure.
pub async fn retry(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<MessageAccepted> {
    auth::require(me, Permission::Write)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    require_active(&ticket)?;
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    let Some((agent, messages)) = next_turn(&timeline) else {
        return Err(AppError::conflict("no message is waiting for an answer"));
    };
    let queued = kick(state, &me.org.id, &ticket.id);
    Ok(MessageAccepted { seq: *messages.last().unwrap_or(&0), agent, queued })
}

/// `POST .../tickets/{ticket_id}/commands/{cmd_id}`: approve, reject or
/// ignore a proposed command, or execute it now. Answers the decision entry.
pub async fn decide(
    state: &AppState,
    me: &Me,
    ticket_id: &str,
    cmd_id: &str,
    body: DecideCommand,
) -> AppResult<TimelineEntry> {
    auth::require(me, Permission::Operate)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    require_active(&ticket)?;
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    let card = command_cards(&timeline)
        .into_iter()
        .find(|c| c.cmd_id == cmd_id)
        .ok_or_else(|| AppError::not_found("command"))?;
    if body.action != CommandAction::Execute && !card.open_for_decision() {
        return Err(AppError::conflict("this command's decision was already sent to the agent"));
    }
    let reason = tickets::clean_reason(body.reason)?;
    if body.action == CommandAction::Execute {
        refuse_secrets_in_terminal(state, me, &ticket, &card.command).await?;
    }
    let entry = NewEntry::by(
        AuthorType::User,
        &me.user.id,
        TimelineEvent::CommandDecided { cmd_id: card.cmd_id.clone(), action: body.action, reason },
    );
    let decision = append(state, &ticket.id, vec![entry]).await?.remove(0);
    if body.action == CommandAction::Execute {
        execute(state, me, &ticket, &card.cmd_id, &card.command).await?;
    }
    Ok(decision)
}

/// Whether Execute types into the ticket's terminal (else it runs directly).
fn types_into_terminal(instance: &InstanceRecord) -> bool {
    instance.builtin || instance.terminal.get("shell").is_some()
}

/// Watchers see the terminal: a command that uses a secret of the
/// instance's context is never typed into it.
async fn refuse_secrets_in_terminal(state: &AppState, me: &Me, ticket: &Ticket, command: &str) -> AppResult<()> {
    let instance = instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
    let context = Redactor::new(Some(&instance.platform_context));
    let secrets = context.secret_placeholders(command);
    if !types_into_terminal(&instance) || secrets.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = secrets.iter().map(|key| format!("`{{{{{key}}}}}`")).collect();
    Err(AppError::conflict(format!(
        "this command uses the instance's secret {}, which is never typed into a watched terminal: approve it \
         instead, and the agent runs it",
        names.join(", ")
    )))
}

/// Executes a card's command for a person: typed into the ticket's
/// terminal when its instance has one (the block is captured from there);
/// run directly on instances that only take commands (`command_prefix`).
async fn execute(state: &AppState, me: &Me, ticket: &Ticket, cmd_id: &str, command: &str) -> AppResult<()> {
    let instance = instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
    // Agents may write `{{key}}` for the instance's context values (see agents::llm::redact).
    let context = Redactor::new(Some(&instance.platform_context));
    if types_into_terminal(&instance) {
        crate::terminal::execute_card(state, me, ticket, cmd_id, &context.expand_public(command)).await?;
        return Ok(());
    }
    let (state, ticket_id, user_id) = (state.clone(), ticket.id.clone(), me.user.id.clone());
    let (cmd_id, command, runs) = (cmd_id.to_owned(), command.to_owned(), context.expand(command));
    tokio::spawn(async move {
        let result = match canvas::ensure(&state.config.data_dir, &ticket_id) {
            Ok(dir) => instances::run_command(&instance, &dir, &runs, COMMAND_TIMEOUT, OUTPUT_CAP).await,
            Err(error) => Err(format!("cannot create the canvas directory: {error}")),
        };
        let (output, exit_code, truncated) = match result {
            // Secrets filled into the command never come back to people.
            Ok(run) => (context.conceal_secrets(&run.output), run.exit_code, run.truncated),
            Err(reason) => (format!("[not run: {reason}]"), None, false),
        };
        let ran = TimelineEvent::CommandRan {
            cmd_id: Some(cmd_id),
            command,
            output,
            exit_code,
            ran_by: RanBy::Person,
            agent: None,
            truncated,
            terminal: None,
        };
        if let Err(error) = append(&state, &ticket_id, vec![NewEntry::by(AuthorType::User, &user_id, ran)]).await {
            tracing::error!(ticket = %ticket_id, "cannot record a command's run: {error}");
        }
    });
    Ok(())
}

/// `GET .../tickets/{ticket_id}/events?after=&wait=`: the entries after
/// `after`, waiting up to `wait` seconds for one when there are none yet.
pub async fn events(state: &AppState, me: &Me, ticket_id: &str, after: i64, wait: u64) -> AppResult<EventsPage> {
    auth::require(me, Permission::Read)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    // Subscribe before reading, so a commit in between still wakes us.
    let mut wake = state.hub.subscribe(&ticket.id);
    let mut entries = state.store.timeline(&ticket.id, after).await?;
    if entries.is_empty() && wait > 0 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.min(MAX_WAIT_SECS));
        loop {
            match tokio::time::timeout_at(deadline, wake.recv()).await {
                Err(_) => break,
                Ok(Ok(crate::live::LiveEvent::Other(_))) => continue,
                Ok(Ok(crate::live::LiveEvent::Deleted(_))) => break,
                Ok(_) => {
                    entries = state.store.timeline(&ticket.id, after).await?;
                    if !entries.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    let last_seq = entries.last().map_or(ticket.last_seq.max(after), |e| e.seq);
    Ok(EventsPage { entries, last_seq })
}

/// `GET .../tickets/{ticket_id}/files`: the canvas directory's files.
pub async fn files(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<Vec<CanvasFile>> {
    auth::require(me, Permission::Read)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    let root = canvas::dir(&state.config.data_dir, &ticket.id);
    tokio::task::spawn_blocking(move || canvas::list(&root)).await.map_err(AppError::internal)
}

/// Largest canvas file served.
const MAX_SERVED_FILE: u64 = 16 * 1024 * 1024;

/// `GET .../tickets/{ticket_id}/files/{path}`: one file's bytes.
pub async fn file(state: &AppState, me: &Me, ticket_id: &str, path: &str) -> AppResult<Vec<u8>> {
    auth::require(me, Permission::Read)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    let root = canvas::dir(&state.config.data_dir, &ticket.id);
    let path = path.to_owned();
    let read = tokio::task::spawn_blocking(move || canvas::read_file(&root, &path, MAX_SERVED_FILE))
        .await
        .map_err(AppError::internal)?;
    match read {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(AppError::not_found("file")),
        Err(reason) => Err(AppError::bad_request(reason)),
    }
}

/// The first turn of a ticket raised with an agent: assign it and send the message.
pub async fn start(
    state: &AppState,
    me: &Me,
    ticket: &Ticket,
    agent: AgentRef,
    message: Option<String>,
) -> AppResult<()> {
    let mut entries = vec![NewEntry::by(
        AuthorType::User,
        &me.user.id,
        TimelineEvent::AgentsAssigned { agents: vec![agent.clone()] },
    )];
    let message = message.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    if let Some(content) = &message {
        entries.push(NewEntry::by(
            AuthorType::User,
            &me.user.id,
            TimelineEvent::Message { agent, content: content.clone() },
        ));
    }
    append(state, &ticket.id, entries).await?;
    if message.is_some() {
        kick(state, &me.org.id, &ticket.id);
    }
    Ok(())
}

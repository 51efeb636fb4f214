//! `/tickets/{id}`: the Canvas, one ticket at its shareable URL. The
//! conversation with its agents (messages, reasoning, command cards with
//! Approve / Reject / Ignore / Execute, outputs, links, files), team comments
//! and system entries, live over the ticket's websocket for everyone
//! watching; the agents, status and triage controls, the canvas directory's
//! files and the attachments beside it.

use super::badges::{SeverityBadge, StatusBadge};
use super::layout::caller_can;
use super::{format_time, ErrorNote};
use crate::api::{
    canvas_files, comment_ticket, decide_on_command, edit_ticket, get_ticket, list_agents, retry_turn, send_message,
    set_ticket_agents, watch_ticket,
};
use crate::error::AppError;
use crate::model::{
    assigned_agents, command_cards, human_size, next_turn, AgentActivity, AgentRef, AssignAgents, AuthorType, Category,
    CommandAction, CommandCard, DecideCommand, FollowTicket, NewComment, Permission, PersonRef, PostMessage, RanBy,
    Risk, ServerFrame, Severity, Status, TicketDetail, TimelineEntry, TimelineEvent, UpdateTicket, MAX_COMMENT_CHARS,
    MAX_MESSAGE_CHARS,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The ticket page.
#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let ticket_id = move || params.read().get("id").unwrap_or_default();
    // Bumped after every change this page makes, to reload the ticket.
    let version = RwSignal::new(0u32);
    let ticket = Resource::new(move || (ticket_id(), version.get()), |(id, _)| get_ticket(id));

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading ticket…"</p> }>
            {move || Suspend::new(async move {
                match ticket.await {
                    Ok(detail) => view! { <TicketView detail version/> }.into_any(),
                    Err(error) => view! {
                        <Title text="Ticket"/>
                        <ErrorNote error/>
                        <p><a href="/tickets">"Back to tickets"</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The live state of an open Canvas: the timeline as the websocket grows it,
/// who is watching, which agents are working.
#[derive(Clone, Copy)]
struct Live {
    entries: RwSignal<Vec<TimelineEntry>>,
    watchers: RwSignal<Vec<PersonRef>>,
    working: RwSignal<Vec<AgentRef>>,
    /// What streaming agents have written so far: (agent, text, reasoning).
    drafts: RwSignal<Vec<(AgentRef, String, String)>>,
    online: RwSignal<bool>,
    deleted: RwSignal<bool>,
}

impl Live {
    /// Applies a frame from the server; entries are appended in seq order, once.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn apply(self, frame: ServerFrame) {
        match frame {
            ServerFrame::Entries { entries } => {
                // A committed reply replaces its agent's draft.
                let replied: Vec<String> = entries
                    .iter()
                    .filter_map(|e| match &e.event {
                        TimelineEvent::AgentReply { agent, .. } | TimelineEvent::AgentFailed { agent, .. } => {
                            Some(agent.id.clone())
                        }
                        _ => None,
                    })
                    .collect();
                if !replied.is_empty() {
                    self.drafts.update(|drafts| drafts.retain(|(agent, _, _)| !replied.contains(&agent.id)));
                }
                self.entries.update(|held| {
                    for entry in entries {
                        if held.last().is_none_or(|last| entry.seq > last.seq) {
                            held.push(entry);
                        }
                    }
                })
            }
            ServerFrame::Watchers { watchers } => self.watchers.set(watchers),
            ServerFrame::Activity { agent, activity } => {
                if activity == AgentActivity::Idle {
                    self.drafts.update(|drafts| drafts.retain(|(a, _, _)| a.id != agent.id));
                }
                self.working.update(|working| {
                    working.retain(|a| a.id != agent.id);
                    if activity == AgentActivity::Working {
                        working.push(agent);
                    }
                })
            }
            ServerFrame::Draft { agent, text, reasoning } => {
                self.drafts.update(|drafts| match drafts.iter_mut().find(|(a, _, _)| a.id == agent.id) {
                    Some(draft) => *draft = (agent, text, reasoning),
                    None => drafts.push((agent, text, reasoning)),
                })
            }
            ServerFrame::Deleted => self.deleted.set(true),
        }
    }
}

#[component]
fn TicketView(detail: TicketDetail, version: RwSignal<u32>) -> impl IntoView {
    let ticket = detail.ticket.clone();
    let can_operate = caller_can(Permission::Operate);
    let can_write = caller_can(Permission::Write);
    let live = Live {
        entries: RwSignal::new(detail.timeline.clone()),
        watchers: RwSignal::new(Vec::new()),
        working: RwSignal::new(Vec::new()),
        drafts: RwSignal::new(Vec::new()),
        online: RwSignal::new(false),
        deleted: RwSignal::new(false),
    };
    #[cfg(feature = "hydrate")]
    {
        let handlers = crate::browser::LiveHandlers {
            last_seq: Box::new(move || live.entries.with_untracked(|e| e.last().map_or(0, |last| last.seq))),
            on_frame: Box::new(move |frame| live.apply(frame)),
            on_online: Box::new(move |online| live.online.set(online)),
        };
        let socket = send_wrapper::SendWrapper::new(crate::browser::open_live(&ticket.ticket_id, handlers));
        on_cleanup(move || drop(socket));
    }
    let initial_status = ticket.status;
    let status = Memo::new(move |_| {
        live.entries.with(|entries| {
            entries
                .iter()
                .rev()
                .find_map(|e| match e.event {
                    TimelineEvent::StatusChanged { to, .. } => Some(to),
                    _ => None,
                })
                .unwrap_or(initial_status)
        })
    });
    let cards = Memo::new(move |_| live.entries.with(|entries| command_cards(entries)));
    let assigned = Memo::new(move |_| live.entries.with(|entries| assigned_agents(entries)));
    // The failure a Retry answers: the latest one, while its messages still wait.
    let retryable = Memo::new(move |_| {
        live.entries.with(|entries| {
            next_turn(entries)?;
            entries.iter().rev().find(|e| matches!(e.event, TimelineEvent::AgentFailed { .. })).map(|e| e.seq)
        })
    });
    let id = ticket.ticket_id.clone();
    let follow = Action::new(move |_: &()| watch_ticket(id.clone(), FollowTicket::default()));
    Effect::new(move || {
        if let Some(Ok(_)) = follow.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let (comment_id, controls_id) = (ticket.ticket_id.clone(), ticket.ticket_id.clone());
    let canvas = Canvas {
        ticket_id: ticket.ticket_id.clone(),
        cards,
        retryable,
        can_operate: Signal::derive(can_operate),
        can_write: Signal::derive(can_write),
    };
    provide_context(canvas.clone());
    view! {
        <Title text=format!("{} {}", ticket.ticket_id, ticket.subject)/>
        <div class="ticket-head">
            <div class="ticket-title">
                <span class="mono muted">{ticket.ticket_id.clone()}</span>
                <h1>{ticket.subject.clone()}</h1>
                <SwitchTicket/>
            </div>
            <div class="badges">
                {move || view! { <StatusBadge status=status.get()/> }}
                <SeverityBadge severity=ticket.severity/>
                <span class="badge">{ticket.category.label()}</span>
                <span class="badge">{format!("via {}", ticket.source)}</span>
                {ticket.project_id.clone().map(|project| view! {
                    <a class="badge project-link" href=format!("/projects/{project}")>
                        {ticket.stage.map_or_else(|| "project".to_owned(), |stage| format!("project · stage {stage}"))}
                    </a>
                })}
                {(!detail.following).then(|| view! {
                    <button class="button button-quiet" on:click=move |_| { follow.dispatch(()); }>"Follow"</button>
                })}
                {detail.following.then(|| view! { <span class="badge">"following"</span> })}
                <span class="live-state" data-online=move || live.online.get().to_string()>
                    {move || if live.online.get() { "● live" } else { "○ connecting…" }}
                </span>
            </div>
            <p class="watchers" aria-label="Watching now">
                {move || {
                    let names: Vec<String> = live.watchers.get().into_iter().map(|p| p.display()).collect();
                    if names.is_empty() { String::new() } else { format!("Watching now: {}", names.join(", ")) }
                }}
            </p>
            {move || live.deleted.get().then(|| view! { <p class="notice notice-warn">"This ticket was deleted. "<a href="/tickets">"Back to tickets"</a></p> })}
            {ticket.duplicate_of.clone().map(|of| view! {
                <p class="notice notice-warn">"Duplicate of "<a href=format!("/tickets/{of}")>{of.clone()}</a></p>
            })}
            <p class="muted meta">
                {ticket.created_by.as_ref().map(|p| format!("Raised by {} · ", p.name)).unwrap_or_default()}
                {format!("{} · updated {}", format_time(&ticket.created_at), format_time(&ticket.updated_at))}
            </p>
        </div>
        <div class="ticket-layout">
            <div class="ticket-main">
                {ticket.ai_summary.clone().map(|summary| view! {
                    <section class="panel ai-summary"><h2>"AI summary"</h2><p>{summary}</p></section>
                })}
                <section class="panel">
                    <h2>"Description"</h2>
                    {if ticket.description.trim().is_empty() {
                        view! { <p class="muted">"No description."</p> }.into_any()
                    } else {
                        view! { <p class="prewrap">{ticket.description.clone()}</p> }.into_any()
                    }}
                </section>
                <section class="panel" aria-label="Conversation">
                    <h2>"Conversation"</h2>
                    <ol class="timeline">
                        <For each=move || live.entries.get() key=|entry| entry.seq let:entry>
                            <Entry entry/>
                        </For>
                    </ol>
                    {move || live.drafts.get().into_iter().map(|(agent, text, reasoning)| view! {
                        <div class="entry entry-agent-reply draft" aria-live="polite">
                            <div class="entry-head"><strong>{agent.name}</strong>" "<span class="muted">"writing…"</span></div>
                            {(!reasoning.is_empty()).then(|| view! {
                                <details class="reasoning" open><summary>"Reasoning"</summary><p class="prewrap">{reasoning}</p></details>
                            })}
                            <p class="prewrap">{text}</p>
                        </div>
                    }).collect_view()}
                    {move || {
                        let working: Vec<String> = live.working.get().into_iter().map(|a| a.name).collect();
                        (!working.is_empty()).then(|| view! { <p class="agent-working" role="status">{format!("{} is working…", working.join(", "))}</p> })
                    }}
                    <Show when=can_write>
                        <Composer assigned/>
                        <CommentBox ticket_id=comment_id.clone() version can_operate/>
                    </Show>
                </section>
                <super::terminal::TerminalPanel ticket_id=ticket.ticket_id.clone() entries=live.entries
                    can_operate=Signal::derive(can_operate) active=Signal::derive(move || !status.get().is_done())/>
            </div>
            <aside class="ticket-side">
                <AgentsPanel assigned/>
                <Show when=can_operate>
                    <Controls detail_status=ticket.status severity=ticket.severity category=ticket.category ticket_id=controls_id.clone() version/>
                </Show>
                <CanvasFiles entries=live.entries/>
                <Attachments ticket_id=ticket.ticket_id.clone() attachments=detail.attachments version can_write/>
            </aside>
        </div>
    }
    .into_any()
}

/// What every part of an open Canvas shares.
#[derive(Clone)]
struct Canvas {
    ticket_id: String,
    cards: Memo<Vec<CommandCard>>,
    /// The seq of the failure a Retry would answer, if any.
    retryable: Memo<Option<i64>>,
    can_operate: Signal<bool>,
    can_write: Signal<bool>,
}

/// Open another ticket by its id, or search by words of its title.
#[component]
fn SwitchTicket() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let navigate = leptos_router::hooks::use_navigate();
    view! {
        <form class="switch-ticket" role="search" on:submit=move |ev| {
            ev.prevent_default();
            let text = query.get_untracked().trim().to_owned();
            if text.is_empty() { return; }
            let looks_like_id = text.rsplit_once('-').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let target = if looks_like_id {
                format!("/tickets/{}", text.to_uppercase())
            } else {
                format!("/tickets?q={}", crate::url::percent_encode(&text, b""))
            };
            navigate(&target, Default::default());
        }>
            <input type="search" aria-label="Switch ticket" placeholder="Switch: ID or title words"
                prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
        </form>
    }
}

/// Who wrote an entry.
fn author_label(entry: &TimelineEntry) -> String {
    match (&entry.author, entry.author_type, &entry.event) {
        (Some(person), AuthorType::Team, _) => format!("{} (team)", person.name),
        (Some(person), _, _) => {
            if person.name.is_empty() {
                person.email.clone()
            } else {
                person.name.clone()
            }
        }
        (None, _, TimelineEvent::AgentReply { agent, .. } | TimelineEvent::CommandProposed { agent, .. }) => {
            agent.name.clone()
        }
        (None, _, TimelineEvent::FileWritten { agent, .. } | TimelineEvent::FileRefused { agent, .. }) => {
            agent.name.clone()
        }
        (None, _, TimelineEvent::CommandRan { agent: Some(agent), .. }) => agent.name.clone(),
        (None, AuthorType::Ai, _) => "AI review".to_owned(),
        (None, _, _) => "opsdesk".to_owned(),
    }
}

/// The session route of a canvas file (`download` asks for a download).
fn canvas_file_url(ticket_id: &str, path: &str, download: bool) -> String {
    let path = crate::url::percent_encode(path, b"/");
    format!("/org/support/tickets/{ticket_id}/files/{path}{}", if download { "?download=1" } else { "" })
}

/// One timeline entry, by kind.
#[component]
fn Entry(entry: TimelineEntry) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let who = author_label(&entry);
    let kind = match &entry.event {
        TimelineEvent::Message { .. } => "message",
        TimelineEvent::AgentReply { .. } => "agent-reply",
        TimelineEvent::CommandProposed { .. } => "command",
        TimelineEvent::CommandRan { .. } => "output",
        TimelineEvent::AgentFailed { .. } | TimelineEvent::FileRefused { .. } => "failure",
        _ => "event",
    };
    let class = format!("entry entry-{} entry-{kind}", entry.author_type);
    let body = match entry.event {
        TimelineEvent::Created { source } => view! { <p>{format!("raised this ticket (via {source})")}</p> }.into_any(),
        TimelineEvent::Comment { body } => view! { <p class="prewrap comment">{body}</p> }.into_any(),
        TimelineEvent::StatusChanged { from, to, reason } => view! {
            <p>"moved it from " <StatusBadge status=from/> " to " <StatusBadge status=to/>
                {reason.map(|r| view! { <span class="muted">{format!(" — {r}")}</span> })}</p>
        }.into_any(),
        TimelineEvent::FieldChanged { field, from, to } => view! { <p>{format!("changed {field} from {from} to {to}")}</p> }.into_any(),
        TimelineEvent::Reviewed { status, summary, reviewer, notes } => view! {
            <p>{format!("review {} ({reviewer}): {summary}", if status == crate::model::ReviewStatus::Flagged { "flagged this ticket" } else { "passed" })}</p>
            {(!notes.is_empty()).then(|| view! { <ul class="notes">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul> })}
        }.into_any(),
        TimelineEvent::Clarified { answers } => view! {
            <p>"answered the review's questions:"</p>
            <ul class="notes">{answers.into_iter().map(|a| view! { <li>{a.answer}</li> }).collect_view()}</ul>
        }.into_any(),
        TimelineEvent::Attached { attachment } => view! {
            <p>"attached "<a href=download_url(&ticket_id, &attachment.id) download>{attachment.filename.clone()}</a>
               <span class="muted">{format!(" ({}, {})", attachment.content_type, human_size(attachment.size))}</span></p>
        }.into_any(),
        TimelineEvent::Followed => view! { <p>"follows this ticket"</p> }.into_any(),
        TimelineEvent::DuplicateLinked { of } => view! { <p>"linked this as a duplicate of "<a href=format!("/tickets/{of}")>{of.clone()}</a></p> }.into_any(),
        TimelineEvent::InstanceContext { name, summary, .. } => view! {
            <p>{format!("attached the context of instance {name}: ")}<span class="muted">{summary}</span></p>
        }.into_any(),
        TimelineEvent::AgentsAssigned { agents } => {
            let names: Vec<String> = agents.into_iter().map(|a| a.name).collect();
            view! { <p>{if names.is_empty() { "removed every agent".to_owned() } else { format!("assigned {}", names.join(", ")) }}</p> }.into_any()
        }
        TimelineEvent::Message { agent, content } => view! {
            <p class="muted to">{format!("to {}", agent.name)}</p>
            {if content.is_empty() {
                view! { <p class="muted">"(sent the decisions on the commands)"</p> }.into_any()
            } else {
                view! { <p class="prewrap">{content}</p> }.into_any()
            }}
        }.into_any(),
        TimelineEvent::AgentReply { content, reasoning, links, .. } => view! {
            <super::markdown::Markdown text=content/>
            {reasoning.map(|reasoning| view! {
                <details class="reasoning"><summary>"Reasoning"</summary><p class="prewrap">{reasoning}</p></details>
            })}
            {(!links.is_empty()).then(|| view! {
                <ul class="links">
                    {links.into_iter().map(|link| {
                        let label = if link.description.is_empty() { link.url.clone() } else { link.description.clone() };
                        view! { <li><a href=link.url.clone() target="_blank" rel="noopener noreferrer">{label}</a><span class="muted mono">{format!(" {}", link.url)}</span></li> }
                    }).collect_view()}
                </ul>
            })}
        }.into_any(),
        TimelineEvent::AgentFailed { agent, reason, .. } => view! {
            <p>{format!("{} could not answer: {reason}", agent.name)}</p>
            <RetryButton failure_seq=entry.seq/>
        }.into_any(),
        TimelineEvent::CommandDecided { cmd_id, action, reason } => {
            let command = canvas.cards.with_untracked(|cards| cards.iter().find(|c| c.cmd_id == cmd_id).map(|c| c.command.clone()));
            let verb = match action {
                CommandAction::Approve => "approved",
                CommandAction::Reject => "rejected",
                CommandAction::Ignore => "ignored",
                CommandAction::Execute => "executed",
            };
            view! {
                <p>{format!("{verb} ")}<code>{command.unwrap_or(cmd_id)}</code>
                    {reason.map(|r| view! { <span class="muted">{format!(" — {r}")}</span> })}</p>
            }.into_any()
        }
        TimelineEvent::CommandProposed { cmd_id, command, files, explanation, risk, .. } => {
            view! { <CommandCardView cmd_id command files explanation risk/> }.into_any()
        }
        TimelineEvent::CommandRan { command, output, exit_code, ran_by, truncated, terminal, .. } => {
            let status = match exit_code { Some(code) => format!("exit {code}"), None => "no exit status".to_owned() };
            let by = match (&ran_by, &terminal) {
                (RanBy::Agent, _) => "the agent ran".to_owned(),
                (RanBy::Person, Some(run)) => {
                    let seconds = (run.ended_at - run.started_at).num_milliseconds() as f64 / 1000.0;
                    format!("ran in the terminal ({seconds:.1} s)")
                }
                (RanBy::Person, None) => "ran".to_owned(),
            };
            let shared = terminal.as_ref().map(|run| run.shared);
            view! {
                <p class="muted">{format!("{by} · {status}{}", if truncated { " · output cut at 64 KiB" } else { "" })}
                    {shared.map(|shared| view! {
                        <span class=if shared { "badge badge-shared" } else { "badge badge-private" }>
                            {if shared { "shared with agents" } else { "not shared" }}
                        </span>
                    })}
                </p>
                <pre class="output"><code>{format!("$ {command}\n{output}")}</code></pre>
            }.into_any()
        }
        TimelineEvent::TerminalOpened { scope, instance, .. } => view! {
            <p>{format!("opened a terminal: {} on {instance}", scope.label())}</p>
        }.into_any(),
        TimelineEvent::TerminalShared { share_context, .. } => view! {
            <p>{if share_context { "started sharing the terminal's commands with the agents" } else { "stopped sharing the terminal's commands with the agents" }}</p>
        }.into_any(),
        TimelineEvent::TerminalClosed { reason, .. } => view! {
            <p>{format!("terminal ended: {reason}; its recording is kept")}</p>
        }.into_any(),
        TimelineEvent::FileWritten { path, size, .. } => view! {
            <p>"wrote "<a href=canvas_file_url(&ticket_id, &path, false) target="_blank" rel="noopener">{path.clone()}</a>
               <span class="muted">{format!(" ({}) · ", human_size(size as i64))}</span>
               <a href=canvas_file_url(&ticket_id, &path, true) download>"download"</a></p>
        }.into_any(),
        TimelineEvent::FileRefused { path, reason, .. } => view! {
            <p>{format!("file {path} was refused: {reason}")}</p>
        }.into_any(),
    };
    view! {
        <li class=class data-seq=entry.seq>
            <div class="entry-meta"><strong>{who}</strong><span class="muted">{format!(" · #{} · {}", entry.seq, format_time(&entry.at))}</span></div>
            <div class="entry-body">{body}</div>
        </li>
    }
}

/// Retry on the latest failed turn, while its messages still wait for an answer.
#[component]
fn RetryButton(failure_seq: i64) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let retry = Action::new(move |_: &()| retry_turn(ticket_id.clone()));
    let retryable = canvas.retryable;
    let can_write = canvas.can_write;
    view! {
        <Show when=move || retryable.get() == Some(failure_seq) && can_write.get()>
            <button class="button" on:click=move |_| { retry.dispatch(()); } disabled=move || retry.pending().get()>"Retry"</button>
        </Show>
        {move || retry.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
    }
}

/// A proposed command: its state live, and the decisions for operators.
#[component]
fn CommandCardView(
    cmd_id: String,
    command: String,
    files: Vec<String>,
    explanation: Option<String>,
    risk: Option<Risk>,
) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let card = {
        let cmd_id = cmd_id.clone();
        Memo::new(move |_| canvas.cards.with(|cards| cards.iter().find(|c| c.cmd_id == cmd_id).cloned()))
    };
    let decide = {
        let (ticket_id, cmd_id) = (ticket_id.clone(), cmd_id.clone());
        Action::new(move |body: &DecideCommand| decide_on_command(ticket_id.clone(), cmd_id.clone(), body.clone()))
    };
    let rejecting = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let open = move || card.get().is_some_and(|c| c.open_for_decision());
    let can_operate = canvas.can_operate;
    let act = move |action: CommandAction| {
        decide.dispatch(DecideCommand { action, reason: None });
    };
    view! {
        <div class="command-card" data-cmd=cmd_id.clone()>
            <pre class="command"><code>{format!("$ {command}")}</code></pre>
            {(explanation.is_some() || risk.is_some()).then(|| view! {
                <p class="command-why">
                    {risk.map(|risk| view! { <span class=format!("badge risk-{risk}")>{format!("{risk} risk")}</span>" " })}
                    {explanation.clone()}
                </p>
            })}
            {(!files.is_empty()).then(|| view! {
                <p class="muted">"with files: "
                    {files.iter().map(|path| view! { <a href=canvas_file_url(&ticket_id, path, false) target="_blank" rel="noopener">{path.clone()}</a>" " }).collect_view()}
                </p>
            })}
            <p class="command-state" data-state=move || card.get().map(|c| c.state_label()).unwrap_or_default()>
                {move || card.get().map(|c| {
                    let reason = c.decision.as_ref().and_then(|d| d.reason.clone()).map(|r| format!(" ({r})")).unwrap_or_default();
                    format!("{}{reason}", c.state_label())
                })}
            </p>
            <Show when=move || can_operate.get()>
                <div class="actions">
                    <Show when=open>
                        <button class="button button-primary" on:click=move |_| act(CommandAction::Approve) disabled=move || decide.pending().get()>"Approve"</button>
                        <button class="button" on:click=move |_| rejecting.update(|r| *r = !*r)>"Reject"</button>
                        <button class="button button-quiet" on:click=move |_| act(CommandAction::Ignore) disabled=move || decide.pending().get()>"Ignore"</button>
                    </Show>
                    <button class="button" on:click=move |_| act(CommandAction::Execute) disabled=move || decide.pending().get()>"Execute"</button>
                </div>
                <Show when=move || rejecting.get() && open()>
                    <form class="form reject" on:submit=move |ev| {
                        ev.prevent_default();
                        let why = Some(reason.get_untracked()).filter(|r| !r.trim().is_empty());
                        decide.dispatch(DecideCommand { action: CommandAction::Reject, reason: why });
                        rejecting.set(false);
                    }>
                        <label>"Why (optional, the agent sees it)"
                            <input type="text" placeholder="e.g. avoid describe commands" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" class="button">"Reject command"</button>
                    </form>
                </Show>
            </Show>
            {move || decide.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
        </div>
    }
}

/// Writing to an agent: which one, the message, and what goes with it.
#[component]
fn Composer(assigned: Memo<Vec<AgentRef>>) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let content = RwSignal::new(String::new());
    let chosen = RwSignal::new(Option::<String>::None);
    let send = Action::new(move |body: &PostMessage| send_message(ticket_id.clone(), body.clone()));
    Effect::new(move || {
        if let Some(Ok(_)) = send.value().get() {
            content.set(String::new());
        }
    });
    let cards = canvas.cards;
    // Decisions go to the agent that proposed the command: count the recipient's.
    let recipient = move || chosen.get().or_else(|| assigned.with(|a| a.first().map(|a| a.id.clone())));
    let queued = move || {
        let recipient = recipient();
        cards.with(|cards| {
            cards
                .iter()
                .filter(|c| Some(&c.agent.id) == recipient.as_ref())
                .filter(|c| {
                    c.decision.as_ref().is_some_and(|d| {
                        !d.delivered && matches!(d.action, CommandAction::Approve | CommandAction::Reject)
                    })
                })
                .count()
        })
    };
    view! {
        <form class="form composer" aria-label="Message to agent" on:submit=move |ev| {
            ev.prevent_default();
            send.dispatch(PostMessage { content: content.get_untracked(), decisions: Vec::new(), agent_id: chosen.get_untracked() });
        }>
            {move || {
                let agents = assigned.get();
                if agents.is_empty() {
                    view! { <p class="muted">"No agent works this ticket yet: add one under Agents."</p> }.into_any()
                } else {
                    view! {
                        <label>"To"
                            <select name="agent" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                                {agents.into_iter().map(|a| view! { <option value=a.id.clone()>{a.name.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                    }.into_any()
                }
            }}
            <label>"Message to agent"
                <textarea rows="3" name="message" maxlength=MAX_MESSAGE_CHARS.to_string()
                    placeholder="Describe what you see, answer the agent, or just send the decisions"
                    prop:value=content on:input=move |ev| content.set(event_target_value(&ev))></textarea>
            </label>
            {move || send.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            <div class="actions">
                <button type="submit" class="button button-primary" disabled=move || send.pending().get() || assigned.with(Vec::is_empty)>"Send"</button>
                {move || {
                    let n = queued();
                    (n > 0).then(|| view! { <span class="hint">{format!("{n} command decision{} will go with it", if n == 1 { "" } else { "s" })}</span> })
                }}
            </div>
        </form>
    }
}

/// The agents working the ticket: add, remove, make default.
#[component]
fn AgentsPanel(assigned: Memo<Vec<AgentRef>>) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let can_write = canvas.can_write;
    let agents = Resource::new(|| (), |_| list_agents());
    let assign = Action::new(move |ids: &Vec<String>| {
        set_ticket_agents(ticket_id.clone(), AssignAgents { agent_ids: ids.clone() })
    });
    let adding = RwSignal::new(String::new());
    let ids = move || assigned.get().into_iter().map(|a| a.id).collect::<Vec<String>>();
    view! {
        <section class="panel agents" aria-label="Agents">
            <h2>"Agents"</h2>
            <ul class="agent-list">
                {move || assigned.get().into_iter().enumerate().map(|(index, agent)| {
                    let (remove_id, first_id) = (agent.id.clone(), agent.id.clone());
                    view! {
                        <li>
                            <strong>{agent.name.clone()}</strong>
                            {(index == 0).then(|| view! { <span class="badge">"default"</span> })}
                            <Show when=move || can_write.get()>
                                {(index > 0).then(|| {
                                    let first_id = first_id.clone();
                                    view! { <button class="link-button" on:click=move |_| {
                                        let mut next = ids();
                                        next.retain(|i| *i != first_id);
                                        next.insert(0, first_id.clone());
                                        assign.dispatch(next);
                                    }>"make default"</button> }
                                })}
                                {
                                    let remove_id = remove_id.clone();
                                    view! { <button class="link-button" on:click=move |_| {
                                        let mut next = ids();
                                        next.retain(|i| *i != remove_id);
                                        assign.dispatch(next);
                                    }>"remove"</button> }
                                }
                            </Show>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || can_write.get()>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let all = agents.await.unwrap_or_default();
                        view! {
                            <form class="form inline" on:submit=move |ev| {
                                ev.prevent_default();
                                let wanted = adding.get_untracked();
                                if wanted.is_empty() { return; }
                                let mut next = ids();
                                if !next.contains(&wanted) { next.push(wanted); }
                                assign.dispatch(next);
                            }>
                                <select aria-label="Agent to add" on:change=move |ev| adding.set(event_target_value(&ev))>
                                    <option value="">"Add an agent…"</option>
                                    {all.into_iter().map(|a| view! { <option value=a.id.clone()>{a.name.clone()}</option> }).collect_view()}
                                </select>
                                <button type="submit" class="button">"Add"</button>
                            </form>
                        }
                    })}
                </Transition>
            </Show>
            {move || assign.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
        </section>
    }
}

/// The canvas directory's files: view in a new tab or download. Reloaded
/// when the timeline says a file was written or a command ran.
#[component]
fn CanvasFiles(entries: RwSignal<Vec<TimelineEntry>>) -> impl IntoView {
    let canvas = expect_context::<Canvas>();
    let ticket_id = canvas.ticket_id.clone();
    let changes = Memo::new(move |_| {
        entries.with(|e| {
            e.iter()
                .filter(|e| {
                    matches!(
                        e.event,
                        TimelineEvent::FileWritten { .. }
                            | TimelineEvent::CommandRan { .. }
                            | TimelineEvent::StatusChanged { .. }
                    )
                })
                .count()
        })
    });
    let files = {
        let ticket_id = ticket_id.clone();
        Resource::new(move || changes.get(), move |_| canvas_files(ticket_id.clone()))
    };
    view! {
        <section class="panel canvas-files" aria-label="Canvas files">
            <h2>"Canvas files"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let ticket_id = ticket_id.clone();
                    Suspend::new(async move {
                        match files.await {
                            Ok(files) if files.is_empty() => view! { <p class="empty-inline">"No files. Agents' files land here; the directory goes when the ticket is resolved or closed."</p> }.into_any(),
                            Ok(files) => view! {
                                <ul class="files">
                                    {files.into_iter().map(|f| view! {
                                        <li>
                                            <a href=canvas_file_url(&ticket_id, &f.path, false) target="_blank" rel="noopener">{f.path.clone()}</a>
                                            <span class="muted">{format!(" {} · ", human_size(f.size as i64))}</span>
                                            <a href=canvas_file_url(&ticket_id, &f.path, true) download>"download"</a>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Err(error) => view! { <ErrorNote error/> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// The session route that serves an attachment as a download.
fn download_url(ticket_id: &str, attachment_id: &str) -> String {
    format!("/org/support/tickets/{ticket_id}/attachments/{attachment_id}")
}

/// Adding a comment.
#[component]
fn CommentBox(
    ticket_id: String,
    version: RwSignal<u32>,
    can_operate: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let body = RwSignal::new(String::new());
    let as_team = RwSignal::new(false);
    let post = Action::new(move |comment: &NewComment| comment_ticket(ticket_id.clone(), comment.clone()));
    Effect::new(move || {
        if let Some(Ok(_)) = post.value().get() {
            body.set(String::new());
            version.update(|v| *v += 1);
        }
    });
    view! {
        <form class="form comment-box" on:submit=move |ev| {
            ev.prevent_default();
            let author_type = if as_team.get_untracked() { Some(AuthorType::Team) } else { None };
            post.dispatch(NewComment { body: body.get_untracked(), author_type });
        }>
            <label>
                "Comment"
                <textarea rows="3" name="body" maxlength=MAX_COMMENT_CHARS.to_string() required
                    prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
            </label>
            {move || post.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            <div class="actions">
                <button type="submit" class="button button-primary" disabled=move || post.pending().get()>"Comment"</button>
                <Show when=can_operate>
                    <label class="check"><input type="checkbox" on:change=move |ev| as_team.set(event_target_checked(&ev))/>"Answer for the team"</label>
                </Show>
            </div>
        </form>
    }
    .into_any()
}

/// Status, severity and category, for operators.
#[component]
fn Controls(
    ticket_id: String,
    detail_status: Status,
    severity: Severity,
    category: Category,
    version: RwSignal<u32>,
) -> impl IntoView {
    let save = Action::new(move |body: &UpdateTicket| edit_ticket(ticket_id.clone(), body.clone()));
    Effect::new(move || {
        if let Some(Ok(_)) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let next = RwSignal::new(detail_status.next().first().copied());
    let reason = RwSignal::new(String::new());
    let original = RwSignal::new(String::new());
    view! {
        <section class="panel controls" aria-label="Ticket controls">
            <h2>"Status"</h2>
            <p><StatusBadge status=detail_status/></p>
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                let reason = Some(reason.get_untracked()).filter(|r| !r.trim().is_empty());
                save.dispatch(UpdateTicket { status: next.get_untracked(), reason, ..Default::default() });
            }>
                <label>
                    "Move to"
                    <select name="status" on:change=move |ev| next.set(event_target_value(&ev).parse().ok())>
                        {detail_status.next().iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Reason"<input type="text" name="reason" placeholder="optional" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/></label>
                <button type="submit" class="button" disabled=move || save.pending().get()>"Change status"</button>
            </form>
            <h2>"Triage"</h2>
            <div class="form">
                <label>
                    "Severity"
                    <select on:change=move |ev| { if let Ok(s) = event_target_value(&ev).parse::<Severity>() {
                        save.dispatch(UpdateTicket { severity: Some(s), ..Default::default() });
                    } }>
                        {Severity::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == severity>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Category"
                    <select on:change=move |ev| { if let Ok(c) = event_target_value(&ev).parse::<Category>() {
                        save.dispatch(UpdateTicket { category: Some(c), ..Default::default() });
                    } }>
                        {Category::ALL.iter().map(|c| view! { <option value=c.as_str() selected=*c == category>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <h2>"Duplicate"</h2>
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(UpdateTicket { duplicate_of: Some(original.get_untracked()), ..Default::default() });
            }>
                <label>
                    "Duplicate of"
                    <input type="text" name="duplicate_of" placeholder="e.g. ACME-12" required
                        prop:value=original on:input=move |ev| original.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="button" disabled=move || save.pending().get()>"Link"</button>
            </form>
            {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
        </section>
    }
    .into_any()
}

/// The ticket's files: download, and upload for writers.
#[component]
fn Attachments(
    ticket_id: String,
    attachments: Vec<crate::model::Attachment>,
    version: RwSignal<u32>,
    can_write: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let error = RwSignal::new(Option::<AppError>::None);
    let uploading = RwSignal::new(false);
    let action = format!("/org/support/tickets/{ticket_id}/attachments");
    let on_submit = {
        let action = action.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else {
                    return;
                };
                let action = action.clone();
                uploading.set(true);
                leptos::task::spawn_local(async move {
                    let result = crate::browser::post_form(&action, &form).await;
                    uploading.set(false);
                    match result {
                        Ok(()) => {
                            error.set(None);
                            form.reset();
                            version.update(|v| *v += 1);
                        }
                        Err(e) => error.set(Some(e)),
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&action, version, uploading, error);
        }
    };
    view! {
        <section class="panel attachments" aria-label="Attachments">
            <h2>"Attachments"</h2>
            {if attachments.is_empty() {
                view! { <p class="empty-inline">"No files yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="files">
                        {attachments.into_iter().map(|a| view! {
                            <li>
                                <a href=download_url(&ticket_id, &a.id) download>{a.filename.clone()}</a>
                                <span class="muted">{format!(" {}", human_size(a.size))}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <Show when=can_write>
                <form class="form upload" method="post" enctype="multipart/form-data" action=action.clone() on:submit=on_submit.clone()>
                    <input type="file" name="file" required aria-label="File to attach"/>
                    <button type="submit" class="button" disabled=move || uploading.get()>
                        {move || if uploading.get() { "Uploading…" } else { "Attach" }}
                    </button>
                    <span class="hint">"Logs, text, YAML/JSON, PNG/JPEG, gzip/tar."</span>
                </form>
            </Show>
            {move || error.get().map(|error| view! { <ErrorNote error/> })}
        </section>
    }
    .into_any()
}

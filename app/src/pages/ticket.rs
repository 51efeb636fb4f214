//! `/tickets/{id}`: one ticket at its shareable URL: status and fields, the
//! AI summary, the description, the timeline, comments, attachments.

use super::badges::{SeverityBadge, StatusBadge};
use super::layout::caller_can;
use super::{format_time, ErrorNote};
use crate::api::{comment_ticket, edit_ticket, get_ticket, watch_ticket};
use crate::error::AppError;
use crate::model::{
    human_size, AuthorType, Category, FollowTicket, NewComment, Permission, Severity, Status, TicketDetail,
    TimelineEntry, TimelineEvent, UpdateTicket, MAX_COMMENT_CHARS,
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

#[component]
fn TicketView(detail: TicketDetail, version: RwSignal<u32>) -> impl IntoView {
    let ticket = detail.ticket.clone();
    let can_operate = caller_can(Permission::Operate);
    let can_write = caller_can(Permission::Write);
    let id = ticket.ticket_id.clone();
    let comment_id = ticket.ticket_id.clone();
    let controls_id = ticket.ticket_id.clone();
    let follow = Action::new(move |_: &()| watch_ticket(id.clone(), FollowTicket::default()));
    Effect::new(move || {
        if let Some(Ok(_)) = follow.value().get() {
            version.update(|v| *v += 1);
        }
    });
    view! {
        <Title text=format!("{} {}", ticket.ticket_id, ticket.subject)/>
        <div class="ticket-head">
            <div class="ticket-title">
                <span class="mono muted">{ticket.ticket_id.clone()}</span>
                <h1>{ticket.subject.clone()}</h1>
            </div>
            <div class="badges">
                <StatusBadge status=ticket.status/>
                <SeverityBadge severity=ticket.severity/>
                <span class="badge">{ticket.category.label()}</span>
                <span class="badge">{format!("via {}", ticket.source)}</span>
                {(!detail.following).then(|| view! {
                    <button class="button button-quiet" on:click=move |_| { follow.dispatch(()); }>"Follow"</button>
                })}
                {detail.following.then(|| view! { <span class="badge">"following"</span> })}
            </div>
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
                <section class="panel" aria-label="Timeline">
                    <h2>"Timeline"</h2>
                    <ol class="timeline">
                        {detail.timeline.into_iter().map(|entry| view! { <Entry entry ticket_id=ticket.ticket_id.clone()/> }).collect_view()}
                    </ol>
                    <Show when=can_write>
                        <CommentBox ticket_id=comment_id.clone() version can_operate/>
                    </Show>
                </section>
            </div>
            <aside class="ticket-side">
                <Show when=can_operate>
                    <Controls detail_status=ticket.status severity=ticket.severity category=ticket.category ticket_id=controls_id.clone() version/>
                </Show>
                <Attachments ticket_id=ticket.ticket_id.clone() attachments=detail.attachments version can_write/>
            </aside>
        </div>
    }
    .into_any()
}

/// One timeline entry, by kind.
#[component]
fn Entry(entry: TimelineEntry, ticket_id: String) -> impl IntoView {
    let who = match (&entry.author, entry.author_type) {
        (Some(person), AuthorType::Team) => format!("{} (team)", person.name),
        (Some(person), _) => person.name.clone(),
        (None, AuthorType::Ai) => "AI review".to_owned(),
        (None, _) => "opsdesk".to_owned(),
    };
    let class = format!("entry entry-{}", entry.author_type);
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
        TODO_CANVAS => view! { <p>"(canvas entry)"</p> }.into_any(),
    };
    view! {
        <li class=class>
            <div class="entry-meta"><strong>{who}</strong><span class="muted">{format!(" · #{} · {}", entry.seq, format_time(&entry.at))}</span></div>
            <div class="entry-body">{body}</div>
        </li>
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

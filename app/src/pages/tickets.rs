//! `/tickets`: the history of the org's tickets with filters, search and
//! pagination; operators switch a row's status and admins delete from here.
//! The URL holds the filter (`?q=…&status=…&page=…`), so every view is shareable.

use super::badges::{SeverityBadge, StatusBadge};
use super::layout::caller_can;
use super::{format_time, ErrorNote};
use crate::api::{edit_ticket, list_tickets, remove_ticket};
use crate::model::{Permission, Status, TicketFilter, UpdateTicket};
use crate::url::percent_encode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

/// The statuses that mean someone still has work to do.
const ACTIVE: &str = "open,triaging,in_progress,waiting_customer";

/// The status filter choices: (query value, label).
fn status_choices() -> Vec<(String, String)> {
    let mut choices = vec![("".to_owned(), "All statuses".to_owned()), (ACTIVE.to_owned(), "Active".to_owned())];
    choices.extend(Status::ALL.iter().map(|s| (s.as_str().to_owned(), s.label().to_owned())));
    choices
}

/// A row's status: a badge, and for operators a switcher along the lifecycle.
#[component]
fn RowStatus(ticket_id: String, status: Status, version: RwSignal<u32>) -> impl IntoView {
    let can_operate = caller_can(Permission::Operate);
    let save = Action::new(move |to: &Status| {
        edit_ticket(ticket_id.clone(), UpdateTicket { status: Some(*to), ..Default::default() })
    });
    Effect::new(move || {
        if let Some(Ok(_)) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    view! {
        <Show when=can_operate fallback=move || view! { <StatusBadge status/> }>
            <select class=format!("status-select status-{status}") aria-label="Status" on:change=move |ev| {
                if let Ok(to) = event_target_value(&ev).parse::<Status>() { save.dispatch(to); }
            }>
                <option value=status.as_str() selected=true>{status.label()}</option>
                {status.next().iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
            </select>
        </Show>
        {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
    }
}

/// Deleting a ticket from the list (admins), confirmed by a second click.
#[component]
fn RowDelete(ticket_id: String, version: RwSignal<u32>) -> impl IntoView {
    let can_administer = caller_can(Permission::Administer);
    let confirming = RwSignal::new(false);
    let remove = Action::new(move |_: &()| remove_ticket(ticket_id.clone()));
    Effect::new(move || {
        if let Some(Ok(())) = remove.value().get() {
            version.update(|v| *v += 1);
        }
    });
    view! {
        <Show when=can_administer>
            {move || if confirming.get() {
                view! {
                    <button class="button button-danger" on:click=move |_| { remove.dispatch(()); }>"Confirm delete"</button>
                    <button class="link-button" on:click=move |_| confirming.set(false)>"keep"</button>
                }.into_any()
            } else {
                view! { <button class="link-button" aria-label="Delete ticket" on:click=move |_| confirming.set(true)>"Delete"</button> }.into_any()
            }}
        </Show>
        {move || remove.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
    }
}

/// The ticket list.
#[component]
pub fn TicketsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let query = query.read();
        TicketFilter {
            status: query
                .get("status")
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.trim().parse::<Status>().ok())
                .collect(),
            cluster_id: None,
            q: query.get("q").filter(|q| !q.trim().is_empty()),
            page: query.get("page").and_then(|p| p.parse().ok()).filter(|p| *p > 0),
            page_size: None,
        }
    });
    // Bumped after a row's status change or deletion, to reload the page.
    let version = RwSignal::new(0u32);
    let tickets = Resource::new(move || (filter.get(), version.get()), |(filter, _)| list_tickets(filter));
    let current_status = move || query.read().get("status").unwrap_or_default();
    let current_q = move || query.read().get("q").unwrap_or_default();

    view! {
        <Title text="Tickets"/>
        <div class="page-head">
            <h1>"Tickets"</h1>
            <a class="button button-primary" href="/tickets/new">"New ticket"</a>
        </div>
        <Form method="GET" action="" attr:class="filters">
            <input type="search" name="q" placeholder="Search subject, description and comments" prop:value=current_q aria-label="Search"/>
            <select name="status" aria-label="Status" prop:value=current_status>
                {status_choices().into_iter().map(|(value, label)| {
                    let selected = value.clone();
                    view! { <option value=value selected=move || current_status() == selected>{label}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button">"Filter"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Loading tickets…"</p> }>
            {move || Suspend::new(async move {
                match tickets.await {
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                    Ok(page) if page.result.is_empty() => {
                        let filtered = filter.get_untracked() != TicketFilter::default();
                        view! { <EmptyList filtered/> }.into_any()
                    }
                    Ok(page) => {
                        let pagination = page.pagination.clone();
                        view! {
                            <table class="table tickets">
                                <thead><tr><th>"ID"</th><th>"Subject"</th><th>"Status"</th><th>"Severity"</th><th class="wide-only">"Category"</th><th class="wide-only">"Updated"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {page.result.into_iter().map(|ticket| {
                                        let href = format!("/tickets/{}", ticket.ticket_id);
                                        let (status_id, delete_id) = (ticket.ticket_id.clone(), ticket.ticket_id.clone());
                                        view! {
                                            <tr>
                                                <td class="mono"><A href=href.clone()>{ticket.ticket_id.clone()}</A></td>
                                                <td class="subject"><A href=href>{ticket.subject}</A></td>
                                                <td><RowStatus ticket_id=status_id status=ticket.status version/></td>
                                                <td><SeverityBadge severity=ticket.severity/></td>
                                                <td class="wide-only muted">{ticket.category.label()}</td>
                                                <td class="wide-only muted">{format_time(&ticket.updated_at)}</td>
                                                <td><RowDelete ticket_id=delete_id version/></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <Pager page=pagination.page total_pages=pagination.total_pages total=pagination.total_count/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

/// Previous/next links that keep the filter.
#[component]
fn Pager(page: u32, total_pages: u32, total: u64) -> impl IntoView {
    let query = use_query_map();
    let link = move |to: u32| {
        let query = query.read();
        let mut parts: Vec<String> = ["q", "status"]
            .iter()
            .filter_map(|key| {
                query.get(key).filter(|v| !v.is_empty()).map(|v| format!("{key}={}", percent_encode(&v, b",")))
            })
            .collect();
        parts.push(format!("page={to}"));
        format!("/tickets?{}", parts.join("&"))
    };
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="muted">{format!("Page {page} of {} · {total} tickets", total_pages.max(1))}</span>
            {(page > 1).then(|| view! { <A href=link(page - 1)>"← Newer"</A> })}
            {(page < total_pages).then(|| view! { <A href=link(page + 1)>"Older →"</A> })}
        </nav>
    }
}

/// What to do when the list is empty.
#[component]
fn EmptyList(filtered: bool) -> impl IntoView {
    if filtered {
        view! {
            <section class="empty-state">
                <h2>"No tickets match"</h2>
                <p>"Try other words, or "<a href="/tickets">"clear the filters"</a>"."</p>
            </section>
        }
        .into_any()
    } else {
        view! {
            <section class="empty-state">
                <h2>"No tickets yet"</h2>
                <p>
                    "Every ticket becomes a live workspace: an AI review that catches duplicates, a timeline of everything said and done, and the team working it together."
                </p>
                <ol class="steps">
                    <li><strong>"Raise the first ticket"</strong>" from "<a href="/tickets/new">"New ticket"</a>"."</li>
                    <li><strong>"Bring your team in:"</strong>" admins add people under "<a href="/admin">"Admin"</a>"."</li>
                    <li>
                        <strong>"Connect scripts and the CLI:"</strong>" create a token under "<a href="/admin#tokens">"Admin → API tokens"</a>
                        ", then " <code>"opsdesk tickets list --server … --token …"</code>"."
                    </li>
                </ol>
            </section>
        }
        .into_any()
    }
}

//! The Canvas's terminal panel: open a shell (or a container's) on the
//! ticket's instance, watch and type in it with everyone on the ticket,
//! switch sharing its commands with the agents, and replay or download the
//! recordings of ended sessions.

use super::{format_time, ErrorNote};
use crate::api::{end_terminal, open_ticket_terminal, share_terminal, ticket_terminal_scopes, ticket_terminals};
use crate::model::{human_size, OpenTerminal, TerminalScope, TerminalSession, TimelineEntry, TimelineEvent};
use leptos::prelude::*;

/// The session routes of a ticket's terminals.
fn terminal_path(ticket_id: &str, session_id: &str, tail: &str) -> String {
    format!("/org/support/tickets/{ticket_id}/terminals/{session_id}/{tail}")
}

/// The terminal panel of a ticket.
#[component]
pub fn TerminalPanel(
    ticket_id: String,
    entries: RwSignal<Vec<TimelineEntry>>,
    can_operate: Signal<bool>,
    /// Whether the ticket is still being worked (not resolved or closed).
    active: Signal<bool>,
) -> impl IntoView {
    // Terminal entries on the timeline mean the list changed.
    let changes = Memo::new(move |_| {
        entries.with(|entries| {
            entries
                .iter()
                .filter(|e| {
                    matches!(
                        e.event,
                        TimelineEvent::TerminalOpened { .. }
                            | TimelineEvent::TerminalClosed { .. }
                            | TimelineEvent::TerminalShared { .. }
                    )
                })
                .count()
        })
    });
    let sessions = {
        let ticket_id = ticket_id.clone();
        Resource::new(move || changes.get(), move |_| ticket_terminals(ticket_id.clone()))
    };
    let selected = RwSignal::new(None::<String>);
    let replaying = RwSignal::new(None::<String>);
    let open = {
        let ticket_id = ticket_id.clone();
        Action::new(move |scope: &TerminalScope| {
            open_ticket_terminal(ticket_id.clone(), OpenTerminal { scope: scope.clone() })
        })
    };
    Effect::new(move || {
        if let Some(Ok(session)) = open.value().get() {
            selected.set(Some(session.id));
            sessions.refetch();
        }
    });
    let form_ticket = ticket_id.clone();
    view! {
        <section class="panel terminal-panel" aria-label="Terminal">
            <div class="panel-head">
                <h2>"Terminal"</h2>
                <Show when=move || can_operate.get() && active.get()>
                    <OpenTerminalForm ticket_id=form_ticket.clone() open/>
                </Show>
            </div>
            <Show when=move || !active.get()>
                <p class="muted">"This ticket is done, so its terminals have ended; reopen it to open a new one."</p>
            </Show>
            {move || open.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading terminals…"</p> }>
                {
                    let ticket_id = ticket_id.clone();
                    move || {
                        let ticket_id = ticket_id.clone();
                        Suspend::new(async move {
                            match sessions.await {
                                Ok(list) => view! { <Sessions ticket_id list selected replaying can_operate/> }.into_any(),
                                Err(error) => view! { <ErrorNote error/> }.into_any(),
                            }
                        })
                    }
                }
            </Transition>
        </section>
    }
}

/// "Open terminal" with the places it can open.
#[component]
fn OpenTerminalForm(
    ticket_id: String,
    open: Action<TerminalScope, Result<TerminalSession, crate::error::AppError>>,
) -> impl IntoView {
    let scopes = Resource::new(|| (), move |_| ticket_terminal_scopes(ticket_id.clone()));
    let chosen = RwSignal::new(0usize);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match scopes.await {
                    Ok(found) => {
                        let choices = found.scopes.clone();
                        let open_chosen = {
                            let choices = choices.clone();
                            move |_| {
                                if let Some(choice) = choices.get(chosen.get_untracked()) {
                                    open.dispatch(choice.scope.clone());
                                }
                            }
                        };
                        view! {
                            <div class="open-terminal">
                                {(choices.len() > 1).then(|| view! {
                                    <select aria-label="Where" on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(0))>
                                        {choices.iter().enumerate().map(|(i, c)| view! { <option value=i.to_string()>{c.label.clone()}</option> }).collect_view()}
                                    </select>
                                })}
                                {(!choices.is_empty()).then(|| view! {
                                    <button class="button button-primary" on:click=open_chosen disabled=move || open.pending().get()>
                                        {move || if open.pending().get() { "Opening…" } else { "Open terminal" }}
                                    </button>
                                })}
                                {choices.is_empty().then(|| view! { <span class="muted">"This instance has no shell to open."</span> })}
                                {found.containers_error.map(|e| view! { <span class="muted" title=e.clone()>" (containers unavailable)"</span> })}
                            </div>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The live sessions as tabs with the chosen one attached, then the ended ones.
#[component]
fn Sessions(
    ticket_id: String,
    list: Vec<TerminalSession>,
    selected: RwSignal<Option<String>>,
    replaying: RwSignal<Option<String>>,
    can_operate: Signal<bool>,
) -> impl IntoView {
    let (live, ended): (Vec<_>, Vec<_>) = list.into_iter().partition(|s| s.live);
    // Show a live session by default: the chosen one if it is still live.
    let current = selected
        .get_untracked()
        .filter(|id| live.iter().any(|s| &s.id == id))
        .or_else(|| live.first().map(|s| s.id.clone()));
    let shown = RwSignal::new(current);
    let tabs = live.clone();
    view! {
        {live.is_empty().then(|| view! { <p class="muted">"No terminal is open on this ticket."</p> })}
        {(tabs.len() > 1).then(|| view! {
            <div class="terminal-tabs" role="tablist">
                {tabs.into_iter().map(|s| {
                    let id = s.id.clone();
                    let is_shown = { let id = id.clone(); move || shown.get().as_deref() == Some(id.as_str()) };
                    view! {
                        <button role="tab" class="tab" aria-selected=move || is_shown().to_string()
                            on:click=move |_| { shown.set(Some(id.clone())); selected.set(Some(id.clone())); }>
                            {s.scope.label()}
                        </button>
                    }
                }).collect_view()}
            </div>
        })}
        {
            let ticket_id = ticket_id.clone();
            move || {
                let id = shown.get()?;
                let session = live.iter().find(|s| s.id == id)?.clone();
                Some(view! { <LiveSession ticket_id=ticket_id.clone() session can_operate/> })
            }
        }
        {(!ended.is_empty()).then(|| view! {
            <details class="ended-sessions">
                <summary>{format!("Recordings ({})", ended.len())}</summary>
                <ul>
                    {ended.into_iter().rev().map(|s| view! { <EndedSession ticket_id=ticket_id.clone() session=s replaying/> }).collect_view()}
                </ul>
            </details>
        })}
    }
}

/// A live session: the terminal itself and its controls.
#[component]
fn LiveSession(ticket_id: String, session: TerminalSession, can_operate: Signal<bool>) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let can_type = RwSignal::new(None::<bool>);
    let shared = RwSignal::new(session.share_context);
    let online = RwSignal::new(false);
    let ended = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    {
        let path = terminal_path(&ticket_id, &session.id, "live");
        let attached = StoredValue::new_local(None::<crate::xterm::LiveTerminal>);
        Effect::new(move || {
            let Some(element) = host.get() else { return };
            if attached.with_value(Option::is_some) {
                return;
            }
            let events = crate::xterm::TerminalEvents {
                on_hello: Box::new(move |typing| can_type.set(Some(typing))),
                on_shared: Box::new(move |on| shared.set(on)),
                on_ended: Box::new(move |reason| ended.set(Some(reason))),
                on_online: Box::new(move |up| online.set(up)),
            };
            let element: &web_sys::HtmlElement = &element;
            attached.set_value(Some(crate::xterm::LiveTerminal::attach(element, &path, events)));
        });
        on_cleanup(move || attached.set_value(None));
    }
    let share = {
        let (ticket_id, session_id) = (ticket_id.clone(), session.id.clone());
        Action::new(move |on: &bool| share_terminal(ticket_id.clone(), session_id.clone(), *on))
    };
    let end = {
        let (ticket_id, session_id) = (ticket_id.clone(), session.id.clone());
        Action::new(move |_: &()| end_terminal(ticket_id.clone(), session_id.clone()))
    };
    let started_by = session.started_by.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    view! {
        <div class="terminal-session" data-session=session.id.clone()
            data-can-type=move || can_type.get().map(|c| c.to_string()).unwrap_or_default()>
            <div class="terminal-bar">
                <span class="mono">{session.scope.label()}</span>
                <span class="muted">{format!(" · opened by {started_by} · {}", format_time(&session.started_at))}</span>
                <span class="live-state" data-online=move || online.get().to_string()>
                    {move || if ended.get().is_some() { "ended" } else if online.get() { "● live" } else { "○ connecting…" }}
                </span>
                {move || (can_type.get() == Some(false)).then(|| view! {
                    <span class="badge badge-private" title="Your role can watch terminals but not type in them">"read-only"</span>
                })}
                <Show when=move || can_operate.get()>
                    <label class="check share-toggle" title="While on, the commands typed here reach the agents with the next message">
                        <input type="checkbox" prop:checked=move || shared.get()
                            on:change=move |ev| { share.dispatch(event_target_checked(&ev)); }/>
                        "Share context with agents"
                    </label>
                    <button class="button button-quiet" on:click=move |_| { end.dispatch(()); } disabled=move || end.pending().get()>"End session"</button>
                </Show>
                {(!can_operate.get_untracked()).then(|| view! {
                    <span class="muted">{move || if shared.get() { " · shared with agents" } else { " · not shared with agents" }}</span>
                })}
            </div>
            {move || share.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            {move || end.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            {move || ended.get().map(|reason| view! { <p class="notice">{format!("This session ended: {reason}.")}</p> })}
            <div class="terminal-host" node_ref=host></div>
        </div>
    }
}

/// An ended session: download or replay its recording.
#[component]
fn EndedSession(ticket_id: String, session: TerminalSession, replaying: RwSignal<Option<String>>) -> impl IntoView {
    let recording = terminal_path(&ticket_id, &session.id, "recording");
    let id = session.id.clone();
    let is_open = {
        let id = id.clone();
        move || replaying.get().as_deref() == Some(id.as_str())
    };
    let toggle = {
        let id = id.clone();
        move |_| replaying.update(|r| *r = if r.as_deref() == Some(id.as_str()) { None } else { Some(id.clone()) })
    };
    let when = session.ended_at.map(|at| format_time(&at)).unwrap_or_default();
    view! {
        <li class="ended-session" data-session=id.clone()>
            <span class="mono">{session.scope.label()}</span>
            <span class="muted">{format!(" · {} · ended {when}: {} · {}", format_time(&session.started_at),
                session.end_reason.clone().unwrap_or_default(), human_size(session.recording_bytes as i64))}</span>
            " "<a href=recording.clone() download>"Download .cast"</a>" "
            <button class="button button-quiet" on:click=toggle>{let is_open = is_open.clone(); move || if is_open() { "Close replay" } else { "Replay" }}</button>
            <Show when=is_open>
                <ReplayView url=recording.clone()/>
            </Show>
        </li>
    }
}

/// Plays a recording in a read-only terminal.
#[component]
fn ReplayView(url: String) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let playing = RwSignal::new(false);
    let progress = RwSignal::new(0.0f64);
    let failure = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    let player = StoredValue::new_local(None::<crate::xterm::Replay>);
    #[cfg(feature = "hydrate")]
    {
        let loaded = StoredValue::new(false);
        Effect::new(move || {
            let Some(element) = host.get() else { return };
            if loaded.get_value() {
                return;
            }
            loaded.set_value(true);
            let url = url.clone();
            leptos::task::spawn_local(async move {
                let text = match crate::browser::fetch_text(&url).await {
                    Ok(text) => text,
                    Err(error) => return failure.set(Some(error.message)),
                };
                let on_progress = Box::new(move |fraction: f64, is_playing: bool| {
                    progress.set(fraction);
                    playing.set(is_playing);
                });
                let element: &web_sys::HtmlElement = &element;
                match crate::xterm::Replay::new(element, &text, on_progress) {
                    Ok(replay) => {
                        replay.play();
                        playing.set(true);
                        player.set_value(Some(replay));
                    }
                    Err(error) => failure.set(Some(format!("this recording cannot be played: {error}"))),
                }
            });
        });
        on_cleanup(move || player.set_value(None));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
    let control = move |action: &'static str| {
        #[cfg(feature = "hydrate")]
        player.with_value(|p| {
            if let Some(p) = p {
                match action {
                    "play" => p.play(),
                    "pause" => p.pause(),
                    "end" => p.skip_to_end(),
                    speed => p.set_speed(speed.parse().unwrap_or(1.0)),
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = action;
    };
    view! {
        <div class="replay">
            <div class="terminal-bar">
                <button class="button" on:click=move |_| { control(if playing.get_untracked() { "pause" } else { "play" }); playing.update(|p| *p = !*p); }>
                    {move || if playing.get() { "Pause" } else { "Play" }}
                </button>
                <select aria-label="Speed" on:change=move |ev| { let v = event_target_value(&ev); control(if v == "2" { "2" } else if v == "4" { "4" } else { "1" }); }>
                    <option value="1">"1×"</option><option value="2">"2×"</option><option value="4">"4×"</option>
                </select>
                <button class="button button-quiet" on:click=move |_| control("end")>"Skip to end"</button>
                <progress max="1" value=move || progress.get().to_string()></progress>
            </div>
            {move || failure.get().map(|f| view! { <p class="notice notice-warn">{f}</p> })}
            <div class="terminal-host" node_ref=host></div>
        </div>
    }
}

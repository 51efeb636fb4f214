//! `/helpdesk`: start a ticket from a message. Choose an agent and an
//! instance, write the problem or pick one of the agent's prompts, submit:
//! the ticket is raised with the message as its first turn and the Canvas
//! opens while the agent works.

use super::ErrorNote;
use crate::api::{list_agents, list_instances, llm_settings, raise_ticket};
use crate::model::{AgentView, CreateTicket, InstanceView, LlmSource, LLM_BACKEND, MAX_MESSAGE_CHARS};
use leptos::prelude::*;
use leptos_meta::Title;

/// The page.
#[component]
pub fn HelpdeskPage() -> impl IntoView {
    let choices = Resource::new(
        || (),
        |_| async {
            let model = llm_settings().await?.source != LlmSource::None;
            Ok::<_, crate::error::AppError>((list_agents().await?, list_instances().await?, model))
        },
    );
    view! {
        <Title text="Ask an agent"/>
        <h1>"Ask an agent"</h1>
        <p class="muted">"Pick an agent with the right expertise and the instance to work on, then describe the task or problem. The ticket opens with your message as its first turn."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading agents…"</p> }>
            {move || Suspend::new(async move {
                match choices.await {
                    Ok((agents, _, _)) if agents.is_empty() => view! {
                        <p class="empty">"No agents yet. An admin can register one under "<a href="/admin#agents">"Admin → Agents"</a>"."</p>
                    }.into_any(),
                    Ok((agents, instances, model)) => view! { <StartForm agents instances model/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `model`: whether the org has a model endpoint (LLM agents need one).
#[component]
fn StartForm(agents: Vec<AgentView>, instances: Vec<InstanceView>, model: bool) -> impl IntoView {
    let needs_model = move |a: &AgentView| !model && a.backend.as_deref() == Some(LLM_BACKEND);
    let agents = StoredValue::new(agents);
    let instances = StoredValue::new(instances);
    let agent_id = RwSignal::new(agents.with_value(|a| a.first().map(|a| a.id.clone()).unwrap_or_default()));
    let instance_id = RwSignal::new(instances.with_value(|i| i.first().map(|i| i.id.clone()).unwrap_or_default()));
    let message = RwSignal::new(String::new());
    let agent = move || agents.with_value(|all| all.iter().find(|a| a.id == agent_id.get()).cloned());
    let start = Action::new(move |body: &CreateTicket| raise_ticket(body.clone()));
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move || {
        if let Some(Ok(detail)) = start.value().get() {
            navigate(&format!("/tickets/{}", detail.ticket.ticket_id), Default::default());
        }
    });
    view! {
        <form class="form panel start-ticket" on:submit=move |ev| {
            ev.prevent_default();
            start.dispatch(CreateTicket {
                agent_id: Some(agent_id.get_untracked()),
                instance_id: Some(instance_id.get_untracked()).filter(|i| !i.is_empty()),
                message: Some(message.get_untracked()),
                ..Default::default()
            });
        }>
            <label>"Agent"
                <select name="agent" required on:change=move |ev| agent_id.set(event_target_value(&ev))>
                    {agents.with_value(|all| all.iter().map(|a| view! {
                        <option value=a.id.clone() selected=a.id == agent_id.get_untracked()>
                            {a.name.clone()}{needs_model(a).then_some(" — needs a model")}
                        </option>
                    }).collect_view())}
                </select>
            </label>
            {move || agent().map(|a| view! { <p class="hint">{a.description.clone()}</p> })}
            {move || agent().filter(|a| needs_model(a)).map(|_| view! {
                <p class="notice notice-warn">"No language model is configured for this org, so this agent can only say so. An admin can set one under "<a href="/admin#model">"Admin → Model"</a>"; the Runbook agent works without one."</p>
            })}
            <label>"Instance"
                <select name="instance" on:change=move |ev| instance_id.set(event_target_value(&ev))>
                    {move || {
                        let chosen = agent();
                        instances.with_value(|all| all.iter().filter(|i| chosen.as_ref().is_none_or(|a| a.serves(&i.id))).map(|i| view! {
                            <option value=i.id.clone() selected=i.id == instance_id.get_untracked()>{i.name.clone()}</option>
                        }).collect_view())
                    }}
                </select>
            </label>
            <label>"Message to agent"
                <textarea name="message" rows="5" required maxlength=MAX_MESSAGE_CHARS.to_string()
                    placeholder="What is happening, since when, and what you already tried"
                    prop:value=message on:input=move |ev| message.set(event_target_value(&ev))></textarea>
            </label>
            {move || agent().filter(|a| !a.prompt_suggestions.is_empty()).map(|a| view! {
                <div class="prompts" aria-label="Suggested prompts">
                    <span class="hint">"Or start from a prompt: "</span>
                    {a.prompt_suggestions.into_iter().map(|prompt| {
                        let text = prompt.clone();
                        view! { <button type="button" class="chip" on:click=move |_| message.set(text.clone())>{prompt}</button> }
                    }).collect_view()}
                </div>
            })}
            {move || start.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            <div class="actions">
                <button type="submit" class="button button-primary" disabled=move || start.pending().get()>
                    {move || if start.pending().get() { "Starting…" } else { "Submit" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

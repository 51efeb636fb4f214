//! `/admin`: the org's people, API tokens, instances and agents. Everyone
//! sees the people, their own tokens, instances and agents; admins add
//! people, instances and custom agents and see every token.

use super::layout::caller_can;
use super::{action_error, format_time, ErrorNote};
use crate::api::{
    add_agent, add_instance, clear_llm_settings, list_agents, list_instances, list_tokens, list_users, llm_settings,
    set_llm_settings, CreateToken, CreateUser, RevokeToken,
};
use crate::error::AppError;
use crate::model::{LlmSource, NewAgent, NewInstance, Permission, Role, UpdateLlmSettings};
use leptos::prelude::*;
use leptos_meta::Title;

/// The admin page.
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <People/>
        <Tokens/>
        <Instances/>
        <Agents/>
        <Model/>
    }
}

/// The model endpoint the LLM agents and the review use: the org's own, or
/// the server's. Admins set it; the API key is write-only.
#[component]
fn Model() -> impl IntoView {
    let is_admin = caller_can(Permission::Administer);
    let save = Action::new(|body: &UpdateLlmSettings| set_llm_settings(body.clone()));
    let clear = Action::new(|_: &()| clear_llm_settings());
    let settings = Resource::new(move || (save.version().get(), clear.version().get()), |_| llm_settings());
    let (base_url, model, api_key) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let remove_key = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let key = api_key.get_untracked();
        save.dispatch(UpdateLlmSettings {
            base_url: base_url.get_untracked(),
            model: model.get_untracked(),
            // Empty removes the stored key; left out keeps it.
            api_key: if remove_key.get_untracked() { Some(String::new()) } else { (!key.is_empty()).then_some(key) },
        });
    };
    Effect::new(move || {
        if let Some(Ok(_)) = save.value().get() {
            api_key.set(String::new());
            remove_key.set(false);
        }
    });
    // The form starts from what is in force, so a change is an edit.
    Effect::new(move || {
        if let Some(Ok(view)) = settings.get() {
            if base_url.get_untracked().is_empty() {
                base_url.set(view.base_url.unwrap_or_default());
                model.set(view.model.unwrap_or_default());
            }
        }
    });
    view! {
        <section class="panel" id="model">
            <h2>"Model"</h2>
            <p class="muted">"The OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp, LiteLLM, OpenAI …) the LLM agents and the ticket review use. Instance context values never reach it."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(view) => {
                            let text = match view.source {
                                LlmSource::None => "No model is configured: the LLM agents say so, and the review is offline.".to_owned(),
                                source => format!(
                                    "{} · model {} at {}{}",
                                    if source == LlmSource::Org { "Set for this org" } else { "The server's setting" },
                                    view.model.clone().unwrap_or_default(),
                                    view.base_url.clone().unwrap_or_default(),
                                    if view.api_key_set { " · API key set" } else { "" },
                                ),
                            };
                            let org_set = view.source == LlmSource::Org;
                            view! {
                                <p class="llm-state" data-source=view.source.as_str()>{text}</p>
                                <Show when=move || is_admin() && org_set>
                                    <button class="button button-quiet" on:click=move |_| { clear.dispatch(()); }>"Use the server's setting"</button>
                                </Show>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <Show when=is_admin>
                <form class="form" on:submit=submit>
                    <div class="form-row">
                        <label>"Base URL"<input type="url" name="base_url" required placeholder="http://127.0.0.1:11434/v1"
                            prop:value=base_url on:input=move |ev| base_url.set(event_target_value(&ev))/></label>
                        <label>"Model"<input type="text" name="model" required maxlength="200" placeholder="e.g. qwen2.5:14b"
                            prop:value=model on:input=move |ev| model.set(event_target_value(&ev))/></label>
                        <label>"API key"<input type="password" name="api_key" autocomplete="off" placeholder="kept if left empty"
                            prop:value=api_key on:input=move |ev| api_key.set(event_target_value(&ev))/></label>
                    </div>
                    <label class="checkbox"><input type="checkbox" prop:checked=remove_key on:change=move |ev| remove_key.set(event_target_checked(&ev))/>"Remove the stored API key"</label>
                    {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
                    {move || clear.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
                    <div class="actions"><button type="submit" class="button button-primary" disabled=move || save.pending().get()>"Save model"</button></div>
                </form>
            </Show>
        </section>
    }
    .into_any()
}

/// The people of the org, and (for admins) a form to add one.
#[component]
fn People() -> impl IntoView {
    let is_admin = caller_can(Permission::Administer);
    let create = ServerAction::<CreateUser>::new();
    let users = Resource::new(move || create.version().get(), |_| list_users());

    view! {
        <section class="panel" id="people">
            <h2>"People"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading people…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(users) => view! {
                            <table class="table">
                                <thead><tr><th>"Email"</th><th>"Name"</th><th>"Role"</th><th>"Added"</th></tr></thead>
                                <tbody>
                                    {users.into_iter().map(|user| view! {
                                        <tr>
                                            <td>{user.email}</td>
                                            <td>{user.name}</td>
                                            <td><span class=format!("role role-{}", user.role)>{user.role.as_str()}</span></td>
                                            <td class="muted">{format_time(&user.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=is_admin>
                <h3>"Add a person"</h3>
                <ActionForm action=create attr:class="form form-row">
                    <label>"Email"<input type="email" name="email" required/></label>
                    <label>"Name"<input type="text" name="name" placeholder="optional"/></label>
                    <label>
                        "Role"
                        <select name="role">
                            {Role::ALL.into_iter().map(|role| view! {
                                <option value=role.as_str() selected=role == Role::Member>{role.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Password"<input type="password" name="password" autocomplete="new-password" minlength="10" required/></label>
                    <button type="submit" class="button button-primary">"Add"</button>
                </ActionForm>
                {action_error(create.value())}
                <p class="hint">
                    "Viewers read and watch; members raise tickets and talk to agents; operators decide on commands, "
                    "type in terminals and change status; admins also manage people, tokens, agents and instances."
                </p>
            </Show>
        </section>
    }
    .into_any()
}

/// API tokens: create one (its secret is shown once), list, revoke.
#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());

    view! {
        <section class="panel" id="tokens">
            <h2>"API tokens"</h2>
            <p class="muted">
                "Tokens act as the person who created them, for scripts and the CLI: "
                <code>"Authorization: Bearer <token>"</code>"."
            </p>
            <ActionForm action=create attr:class="form form-row">
                <label>"Name"<input type="text" name="name" placeholder="e.g. deploy pipeline" maxlength="100"/></label>
                <button type="submit" class="button button-primary">"Create token"</button>
            </ActionForm>
            {action_error(create.value())}
            {move || create.value().get().and_then(Result::ok).map(|new| view! {
                <div class="notice notice-secret" role="status">
                    <p>"Copy this token now; it is not shown again."</p>
                    <code class="secret" data-testid="new-token">{new.secret}</code>
                </div>
            })}
            {action_error(revoke.value())}
            <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(tokens) if tokens.is_empty() => view! {
                            <p class="empty-inline">"No tokens yet. Create one above to call the API."</p>
                        }.into_any(),
                        Ok(tokens) => view! {
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Owner"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                                <tbody>
                                    {tokens.into_iter().map(|token| {
                                        let revoked = token.revoked_at.is_some();
                                        let id = token.id.clone();
                                        view! {
                                            <tr class:revoked=revoked>
                                                <td>{token.name}</td>
                                                <td>{token.user_email}</td>
                                                <td class="muted">{format_time(&token.created_at)}</td>
                                                <td class="muted">{token.last_used_at.as_ref().map(format_time).unwrap_or_else(|| "never".into())}</td>
                                                <td>
                                                    {if revoked {
                                                        view! { <span class="badge">"revoked"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <ActionForm action=revoke attr:class="inline">
                                                                <input type="hidden" name="token_id" value=id/>
                                                                <button type="submit" class="button button-danger">"Revoke"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// Instances: where tickets point and agents and terminals work. Admins add
/// them; the context's values are write-only (only key names come back).
#[component]
fn Instances() -> impl IntoView {
    let is_admin = caller_can(Permission::Administer);
    let add = Action::new(|body: &NewInstance| add_instance(body.clone()));
    let instances = Resource::new(move || add.version().get(), |_| list_instances());
    let (name, summary, context) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let parse_error = RwSignal::new(Option::<AppError>::None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = context.get_untracked();
        let platform_context = if text.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(value) => Some(value),
                Err(e) => {
                    parse_error.set(Some(AppError::invalid_field("platform_context", format!("not valid JSON: {e}"))));
                    return;
                }
            }
        };
        parse_error.set(None);
        add.dispatch(NewInstance {
            name: name.get_untracked(),
            summary: Some(summary.get_untracked()),
            platform_context,
            terminal: None,
        });
    };
    Effect::new(move || {
        if let Some(Ok(_)) = add.value().get() {
            name.set(String::new());
            summary.set(String::new());
            context.set(String::new());
        }
    });
    view! {
        <section class="panel" id="instances">
            <h2>"Instances"</h2>
            <p class="muted">"The environments tickets are about, where agents and terminals work. Every org has the built-in "<code>"local"</code>" instance: this server's host."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading instances…"</p> }>
                {move || Suspend::new(async move {
                    match instances.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Context keys"</th><th>"Summary"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|i| view! {
                                        <tr>
                                            <td>{i.name}{i.builtin.then(|| view! { " " <span class="badge">"built-in"</span> })}</td>
                                            <td class="mono">{if i.context_keys.is_empty() { "—".to_owned() } else { i.context_keys.join(", ") }}</td>
                                            <td class="muted">{i.summary}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=is_admin>
                <h3>"Add an instance"</h3>
                <form class="form" on:submit=submit>
                    <div class="form-row">
                        <label>"Name"<input type="text" name="name" required maxlength="64" placeholder="e.g. prod-eu"
                            prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/></label>
                        <label>"Summary"<input type="text" name="summary" placeholder="what it is, for people and tickets"
                            prop:value=summary on:input=move |ev| summary.set(event_target_value(&ev))/></label>
                    </div>
                    <label>
                        "Platform context (JSON object, sent only to agents allowed on this instance)"
                        <textarea name="platform_context" rows="4" placeholder=r#"{"k8s_namespace": "payments", "grafana_base_url": "https://grafana.example.com"}"#
                            prop:value=context on:input=move |ev| context.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || parse_error.get().map(|error| view! { <ErrorNote error/> })}
                    {move || add.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
                    <div class="actions"><button type="submit" class="button button-primary" disabled=move || add.pending().get()>"Add instance"</button></div>
                </form>
            </Show>
        </section>
    }
    .into_any()
}

/// Reads `Name: value` lines into headers; answers the first bad line.
fn parse_headers(text: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut headers = std::collections::BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("`{line}` is not `Name: value`"));
        };
        headers.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(headers)
}

/// Agents: the built-ins and the org's custom agents; admins register new
/// ones (header values are write-only, like instance contexts).
#[component]
fn Agents() -> impl IntoView {
    let is_admin = caller_can(Permission::Administer);
    let add = Action::new(|body: &NewAgent| add_agent(body.clone()));
    let agents = Resource::new(move || add.version().get(), |_| list_agents());
    let instances = Resource::new(|| (), |_| list_instances());
    // The instances the new agent may serve; none ticked means every one.
    let serves = RwSignal::new(Vec::<String>::new());
    let fields: [RwSignal<String>; 7] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let [name, slug, endpoint, description, headers, prompts, timeout] = fields;
    let parse_error = RwSignal::new(Option::<AppError>::None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let headers = match parse_headers(&headers.get_untracked()) {
            Ok(headers) => headers,
            Err(e) => {
                parse_error.set(Some(AppError::invalid_field("headers", e)));
                return;
            }
        };
        let timeout_secs = match timeout.get_untracked().trim() {
            "" => None,
            text => match text.parse() {
                Ok(secs) => Some(secs),
                Err(_) => {
                    parse_error
                        .set(Some(AppError::invalid_field("timeout_secs", "the time-out is a number of seconds")));
                    return;
                }
            },
        };
        parse_error.set(None);
        add.dispatch(NewAgent {
            name: name.get_untracked(),
            slug: slug.get_untracked(),
            description: description.get_untracked(),
            endpoint_url: endpoint.get_untracked(),
            headers: Some(headers),
            timeout_secs,
            prompt_suggestions: Some(prompts.get_untracked().lines().map(str::to_owned).collect()),
            instance_ids: Some(serves.get_untracked()),
        });
    };
    Effect::new(move || {
        if let Some(Ok(_)) = add.value().get() {
            fields.iter().for_each(|f| f.set(String::new()));
            serves.set(Vec::new());
        }
    });
    let input = move |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <section class="panel" id="agents">
            <h2>"Agents"</h2>
            <p class="muted">"Built-in agents answer in this server; custom agents are HTTP endpoints that speak the agent protocol ("<code>"POST {endpoint}/api/sendMessage"</code>")."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading agents…"</p> }>
                {move || Suspend::new(async move {
                    match agents.await {
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Slug"</th><th>"Kind"</th><th class="wide-only">"Endpoint"</th><th class="wide-only">"Instances"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{a.name}</td>
                                            <td class="mono">{a.slug}</td>
                                            <td>{match a.backend { Some(backend) => format!("{} ({backend})", a.kind), None => a.kind.to_string() }}</td>
                                            <td class="wide-only mono muted">{a.endpoint_url.unwrap_or_else(|| "in-process".to_owned())}
                                                {(!a.header_names.is_empty()).then(|| format!(" · headers: {}", a.header_names.join(", ")))}</td>
                                            <td class="wide-only muted">{if a.instance_ids.is_empty() { "all".to_owned() } else { format!("{} instance(s)", a.instance_ids.len()) }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=is_admin>
                <h3>"Register a custom agent"</h3>
                <form class="form" on:submit=submit>
                    <div class="form-row">
                        <label>"Name"<input type="text" name="agent_name" required maxlength="64" placeholder="e.g. Kubernetes operations" prop:value=name on:input=input(name)/></label>
                        <label>"Slug"<input type="text" name="agent_slug" required maxlength="40" placeholder="e.g. k8s-ops" prop:value=slug on:input=input(slug)/></label>
                    </div>
                    <div class="form-row">
                        <label>"Endpoint URL"<input type="url" name="endpoint_url" required placeholder="https://agents.example.com/k8s" prop:value=endpoint on:input=input(endpoint)/></label>
                        <label>"Time-out (seconds)"<input type="number" name="timeout_secs" min="1" max="600" placeholder="60" prop:value=timeout on:input=input(timeout)/></label>
                    </div>
                    <label>"Domain (what it is good at)"<input type="text" name="agent_description" prop:value=description on:input=input(description)/></label>
                    <label>"Headers, one `Name: value` per line (never shown again)"
                        <textarea name="headers" rows="2" placeholder="Authorization: Bearer …" prop:value=headers on:input=input(headers)></textarea></label>
                    <label>"Prompt suggestions, one per line"
                        <textarea name="prompt_suggestions" rows="3" prop:value=prompts on:input=input(prompts)></textarea></label>
                    <fieldset class="instances-served">
                        <legend>"Instances it may serve (and see the context of); none ticked means all"</legend>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                instances.await.unwrap_or_default().into_iter().map(|i| {
                                    let id = i.id.clone();
                                    let checked = i.id.clone();
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" prop:checked=move || serves.with(|s| s.contains(&checked))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    serves.update(|s| { s.retain(|x| *x != id); if on { s.push(id.clone()); } });
                                                }/>
                                            {i.name}
                                        </label>
                                    }
                                }).collect_view()
                            })}
                        </Transition>
                    </fieldset>
                    {move || parse_error.get().map(|error| view! { <ErrorNote error/> })}
                    {move || add.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
                    <div class="actions"><button type="submit" class="button button-primary" disabled=move || add.pending().get()>"Register agent"</button></div>
                </form>
            </Show>
        </section>
    }
    .into_any()
}

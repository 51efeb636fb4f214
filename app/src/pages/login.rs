//! The sign-in page. It works without JavaScript (a plain form post); once
//! hydrated it signs in without a page load and can reveal the password.

use super::action_error;
use crate::api::SignIn;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/login?next=/path`: email and password, then back to `next`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let (show_password, set_show_password) = signal(false);

    view! {
        <Title text="Sign in"/>
        <main class="centered login">
            <div class="card narrow">
                <div class="brand brand-large">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "opsdesk"
                </div>
                <h1>"Sign in"</h1>
                <p class="muted">"Tickets, agents and a shared terminal for your infrastructure team."</p>
                <ActionForm action=sign_in attr:class="form">
                    <input type="hidden" name="next" prop:value=next/>
                    <label>
                        "Email"
                        <input type="email" name="email" autocomplete="username" required autofocus/>
                    </label>
                    <label>
                        "Password"
                        <span class="password-field">
                            <input
                                type=move || if show_password.get() { "text" } else { "password" }
                                name="password"
                                autocomplete="current-password"
                                required
                            />
                            <button
                                type="button"
                                class="button button-quiet reveal"
                                aria-pressed=move || show_password.get().to_string()
                                on:click=move |_| set_show_password.update(|shown| *shown = !*shown)
                            >
                                {move || if show_password.get() { "Hide" } else { "Show" }}
                            </button>
                        </span>
                    </label>
                    {action_error(sign_in.value())}
                    <button type="submit" class="button button-primary" disabled=move || sign_in.pending().get()>
                        {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <p class="hint">
                    "No account? An admin adds people under Admin, or on the server with "
                    <code>"opsdesk admin create-user"</code>"."
                </p>
            </div>
        </main>
    }
}

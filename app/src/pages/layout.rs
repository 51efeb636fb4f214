//! The signed-in chrome: header with org, user and sign-out; the navigation;
//! the page outlet. Also the 404 page.

use crate::api::{current_user, SignOut};
use crate::model::{Me, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};

/// The signed-in caller, shared with every page under the layout.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Me>, crate::error::AppError>>);

impl CurrentUser {
    /// The caller once loaded; `None` while loading or signed out.
    pub fn get(&self) -> Option<Me> {
        self.0.get().and_then(Result::ok).flatten()
    }
}

/// Header, navigation and the current page.
#[component]
pub fn AppLayout() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_user());
    provide_context(CurrentUser(me));
    let sign_out = ServerAction::<SignOut>::new();
    let (menu_open, set_menu_open) = signal(false);

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/tickets">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "opsdesk"
                </a>
                <button
                    class="menu-toggle"
                    aria-label="Menu"
                    aria-controls="main-nav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <nav id="main-nav" class="mainnav" class:open=move || menu_open.get() on:click=move |_| set_menu_open.set(false)>
                    <A href="/tickets" exact=true>"Tickets"</A>
                    <A href="/helpdesk">"Ask an agent"</A>
                    <A href="/tickets/new">"New ticket"</A>
                    <A href="/projects">"Projects"</A>
                    <A href="/admin">"Admin"</A>
                </nav>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|me| view! {
                            <div class="whoami">
                                <span class="org" title="Your org">{me.org.name.clone()}</span>
                                <span class="user">
                                    {me.user.email.clone()}
                                    <span class=format!("role role-{}", me.role)>{me.role.as_str()}</span>
                                </span>
                                <ActionForm action=sign_out attr:class="inline">
                                    <button type="submit" class="button button-quiet">"Sign out"</button>
                                </ActionForm>
                            </div>
                        })
                    })}
                </Suspense>
            </header>
            <main class="content">
                <Outlet/>
            </main>
        </div>
    }
}

/// Whether the signed-in caller may do `permission` (false while loading).
pub fn caller_can(permission: Permission) -> impl Fn() -> bool + Copy {
    let me = expect_context::<CurrentUser>();
    move || me.get().is_some_and(|me| me.can(permission))
}

/// Any URL that is not a page.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="centered">
            <div class="card narrow">
                <h1>"Nothing here"</h1>
                <p>"This address is not a page of opsdesk. It may have been a ticket that was deleted, or a typo."</p>
                <p><a class="button" href="/tickets">"Go to tickets"</a></p>
            </div>
        </main>
    }
}

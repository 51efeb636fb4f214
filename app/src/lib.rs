//! opsdesk's web app: the Leptos UI (rendered on the server, hydrated in the
//! browser), its server functions, and the models both sides share.
//!
//! Features: `ssr` for the server build, `hydrate` for the browser build.

// Leptos views are deeply nested types; the default limit is too low for them.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
#[cfg(feature = "hydrate")]
mod browser;
pub mod error;
pub mod model;
mod pages;
pub mod url;
#[cfg(feature = "hydrate")]
mod xterm;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The terminal's xterm.js is imported by bare names: map them before any module loads.
                <script type="importmap">{r#"{"imports":{"xterm":"/vendor/xterm/xterm.mjs","@xterm/addon-fit":"/vendor/xterm/addon-fit.mjs"}}"#}</script>
                <link rel="stylesheet" href="/vendor/xterm/xterm.css"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: routes and the page chrome.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/opsdesk.css"/>
        <Title formatter=|title: String| if title.is_empty() { "opsdesk".to_owned() } else { format!("{title} · opsdesk") }/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::LoginPage/>
                <ParentRoute path=path!("") view=pages::AppLayout>
                    <Route path=path!("") view=|| view! { <Redirect path="/tickets"/> }/>
                    <Route path=path!("helpdesk") view=pages::HelpdeskPage/>
                    <Route path=path!("tickets") view=pages::TicketsPage/>
                    <Route path=path!("tickets/new") view=pages::NewTicketPage/>
                    <Route path=path!("tickets/:id") view=pages::TicketPage/>
                    <Route path=path!("projects") view=pages::ProjectsPage/>
                    <Route path=path!("projects/new") view=pages::NewProjectPage/>
                    <Route path=path!("projects/:id") view=pages::ProjectPage/>
                    <Route path=path!("admin") view=pages::AdminPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

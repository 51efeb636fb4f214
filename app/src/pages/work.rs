//! The work areas: tickets, raising a ticket, projects. Until tickets and
//! projects exist, each shows what this org can do next.

use super::layout::{caller_can, CurrentUser};
use crate::model::Permission;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/tickets`: the org's tickets; for a new org, how to get going.
#[component]
pub fn TicketsPage() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    let is_admin = caller_can(Permission::Administer);
    view! {
        <Title text="Tickets"/>
        <div class="page-head">
            <h1>"Tickets"</h1>
            <a class="button button-primary" href="/tickets/new">"New ticket"</a>
        </div>
        <section class="empty-state">
            <h2>"No tickets yet"</h2>
            <p>
                {move || me.get().map(|me| format!("{} has no tickets. ", me.org.name))}
                "Every ticket becomes a live workspace: an AI review, agents that propose commands, and a shared terminal the whole team can watch."
            </p>
            <ol class="steps">
                <li class:done=move || !is_admin()>
                    <strong>"Bring your team in."</strong>
                    " Admins add people and choose their roles under "<a href="/admin">"Admin"</a>"."
                </li>
                <li>
                    <strong>"Connect your scripts."</strong>
                    " Create an API token under "<a href="/admin#tokens">"Admin → API tokens"</a>
                    " and call " <code>"GET /api/v1/me"</code> " with " <code>"Authorization: Bearer <token>"</code> "."
                </li>
                <li>
                    <strong>"Raise the first ticket"</strong>" from "<a href="/tickets/new">"New ticket"</a>"."
                </li>
            </ol>
        </section>
    }
}

/// `/tickets/new`: raising a ticket.
#[component]
pub fn NewTicketPage() -> impl IntoView {
    view! {
        <Title text="New ticket"/>
        <div class="page-head">
            <h1>"New ticket"</h1>
        </div>
        <section class="empty-state">
            <h2>"Raising tickets is not available in this build yet"</h2>
            <p>
                "This is where you will describe a problem, get an AI review with duplicates and clarifying questions, "
                "and start a conversation with an agent on one of your instances."
            </p>
            <p><a href="/tickets">"Back to tickets"</a></p>
        </section>
    }
}

/// `/projects`: plans whose approved stages open tickets.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <Title text="Projects"/>
        <div class="page-head">
            <h1>"Projects"</h1>
        </div>
        <section class="empty-state">
            <h2>"No projects yet"</h2>
            <p>
                "A project is a plan of stages; approving it opens one ticket per task, stage by stage. "
                "Projects are not available in this build yet; meanwhile, work happens in "
                <a href="/tickets">"tickets"</a>"."
            </p>
        </section>
    }
}

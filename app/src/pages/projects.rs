//! Projects: plans whose approved stages open tickets.

use leptos::prelude::*;
use leptos_meta::Title;

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

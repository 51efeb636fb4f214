//! The pages, one module per area, and the pieces they share.

mod admin;
mod badges;
mod helpdesk;
mod layout;
mod login;
mod markdown;
mod projects;
mod raise;
mod terminal;
mod ticket;
mod tickets;

pub use admin::AdminPage;
pub use helpdesk::HelpdeskPage;
pub use layout::{AppLayout, NotFound};
pub use login::LoginPage;
pub use projects::{NewProjectPage, ProjectPage, ProjectsPage};
pub use raise::NewTicketPage;
pub use ticket::TicketPage;
pub use tickets::TicketsPage;

use crate::error::AppError;
use leptos::prelude::*;

/// An error as a person reads it, in the page's error style.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    view! { <p class="notice notice-error" role="alert">{error.message}</p> }
}

/// Shows an action's failure, if its last run failed.
pub fn action_error<T: Clone + Send + Sync + 'static>(
    value: MappedSignal<Option<Result<T, AppError>>>,
) -> impl IntoView {
    move || value.get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })
}

/// A timestamp as people read it in an ops tool: UTC, to the minute.
/// (Written out by hand: chrono's format strings cost the bundle tens of KB.)
pub fn format_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", at.year(), at.month(), at.day(), at.hour(), at.minute())
}

//! The pages, one module per area, and the pieces they share.

mod admin;
mod layout;
mod login;
mod work;

pub use admin::AdminPage;
pub use layout::{AppLayout, NotFound};
pub use login::LoginPage;
pub use work::{NewTicketPage, ProjectsPage, TicketsPage};

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
pub fn format_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

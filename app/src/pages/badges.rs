//! Small pieces every ticket view shares: badges and labels.

use crate::model::{Severity, Status};
use leptos::prelude::*;

/// A ticket status as a coloured badge.
#[component]
pub fn StatusBadge(status: Status) -> impl IntoView {
    view! { <span class=format!("badge status-{status}")>{status.label()}</span> }
}

/// A severity as a coloured badge.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge severity-{severity}")>{severity.as_str()}</span> }
}

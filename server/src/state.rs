//! The one piece of shared state, passed to axum handlers as state and to
//! Leptos as context. Nothing here is process-global, so several servers can
//! live in one process (as the tests do).

use crate::attachments;
use crate::conversation::Turns;
use crate::live::Hub;
use crate::review::Reviewer;
use crate::store::SharedStore;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings fixed at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database (by default), attachments, canvas directories and
    /// recordings live.
    pub data_dir: PathBuf,
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// The origin browsers see when a proxy rewrites the Host header,
    /// e.g. `https://desk.example.com`.
    pub public_origin: Option<String>,
    /// Size and count limits of ticket attachments.
    pub attachments: attachments::Limits,
    /// The server-wide model endpoint, if configured (orgs may set their own).
    pub llm: Option<crate::llm::settings::ServerLlm>,
    /// How long one call to a model may take.
    pub llm_timeout: std::time::Duration,
}

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub store: SharedStore,
    pub config: Arc<Config>,
    /// Analyses draft tickets (offline by default).
    pub reviewer: Arc<dyn Reviewer>,
    pub leptos_options: LeptosOptions,
    /// Live watchers of tickets and their wake-ups.
    pub hub: Arc<Hub>,
    /// Agent turns running or queued, per ticket.
    pub turns: Arc<Turns>,
    /// Live terminal sessions.
    pub terminals: Arc<crate::terminal::Terminals>,
    /// The HTTP client for custom agents (connection pooling).
    pub http: reqwest::Client,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

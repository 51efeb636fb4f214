//! The opsdesk server as a library: [`Options`] → [`AppState`] → [`router`],
//! served by [`serve`] until a shutdown signal. `main.rs` is a thin CLI over
//! this, and the integration tests start it on port 0.

// Leptos views are deeply nested types; the default limit is too low for them.
#![recursion_limit = "256"]

pub mod accounts;
pub mod agents;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod canvas;
pub mod cli;
pub mod conversation;
pub mod demo;
pub mod instances;
pub mod live;
pub mod llm;
pub mod projects;
pub mod review;
pub mod state;
pub mod store;
pub mod terminal;
pub mod tickets;
mod ui_backend;

use crate::state::{AppState, Config};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use opsdesk_app::backend::SharedBackend;
use opsdesk_app::error::{AppError, ErrorCode};
use opsdesk_app::model::Me;
use opsdesk_app::{shell, App};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// The wasm/JS/CSS bundle's base name (cargo-leptos `name`).
pub const OUTPUT_NAME: &str = "opsdesk";

/// Everything needed to start a server.
#[derive(Clone, Debug)]
pub struct Options {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: `sqlite:<data_dir>/opsdesk.db`.
    pub database_url: Option<String>,
    /// Where cargo-leptos put the site (`/pkg`, static files).
    pub site_root: PathBuf,
    pub secure_cookies: bool,
    pub public_origin: Option<String>,
    pub attachments: attachments::Limits,
    /// The server-wide model endpoint (`OPSDESK_LLM_*`); orgs may set their own.
    pub llm: Option<llm::settings::ServerLlm>,
    /// How long one call to a model may take.
    pub llm_timeout: std::time::Duration,
}

impl Options {
    /// A server on a free loopback port with everything under `data_dir` and
    /// the defaults: what tests, benchmarks and the evaluation start.
    pub fn on_loopback(data_dir: PathBuf) -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            site_root: data_dir.join("site"),
            data_dir,
            database_url: None,
            secure_cookies: false,
            public_origin: None,
            attachments: attachments::Limits::default(),
            llm: None,
            llm_timeout: llm::settings::DEFAULT_TIMEOUT,
        }
    }

    /// The database URL in force: the explicit one, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| default_database_url(&self.data_dir))
    }
}

/// The embedded default: a SQLite file inside the data directory.
pub fn default_database_url(data_dir: &std::path::Path) -> String {
    format!("sqlite:{}", data_dir.join("opsdesk.db").display())
}

/// Creates the data directory, opens and migrates the store, and builds the state.
pub async fn build_state(options: &Options) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&options.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", options.data_dir.display()))?;
    let hub = live::Hub::new();
    let store = store::connect(&options.database_url(), hub.clone()).await?;
    agents::ensure_builtins_everywhere(store.as_ref()).await?;
    let ended = store.end_orphaned_terminal_sessions("the server stopped").await?;
    if ended > 0 {
        tracing::info!(sessions = ended, "terminal sessions of a previous run marked as ended");
    }
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(options.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(options.addr)
        .build();
    Ok(AppState {
        store,
        config: Arc::new(Config {
            data_dir: options.data_dir.clone(),
            secure_cookies: options.secure_cookies,
            public_origin: options.public_origin.clone(),
            attachments: options.attachments,
            llm: options.llm.clone(),
            llm_timeout: options.llm_timeout,
        }),
        reviewer: Arc::new(review::OfflineReviewer),
        leptos_options,
        hub,
        turns: Arc::default(),
        terminals: Arc::default(),
        http: reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("opsdesk/", env!("CARGO_PKG_VERSION")))
            .build()?,
    })
}

/// The whole HTTP surface: health, REST API, pages with their server
/// functions, static files.
pub fn router(state: AppState) -> Router {
    let backend: SharedBackend = Arc::new(state.clone());
    let provide_backend = move || provide_context(backend.clone());
    let pages = Router::new()
        .leptos_routes_with_context(&state, page_routes(), provide_backend.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .layer(middleware::from_fn(require_sign_in_for_pages));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api", api::router())
        .nest("/org", api::session_router())
        .nest("/agents", api::builtin_agents_router())
        .merge(pages)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_backend, shell))
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The app's routes, generated once per process. Generating them renders the
/// app with a process-wide "suppress resource loads" flag raised, and a
/// resource first polled by a page render in that window never resolves
/// (leptos-rs/leptos#4773): one generation, before any router serves,
/// closes that window for good, also when tests run several servers at once.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Pages need a signed-in person: anyone else is sent to the sign-in page
/// and brought back afterwards. Server functions answer 401 themselves.
async fn require_sign_in_for_pages(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let open = path == "/login" || path.starts_with("/rpc/");
    if open || request.extensions().get::<Me>().is_some() {
        return next.run(request).await;
    }
    let back_to = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    Redirect::to(&format!("/login?next={}", opsdesk_app::url::percent_encode(back_to, b"/"))).into_response()
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(error) => {
            tracing::error!("health check failed: {error}");
            let mut response = AppError::new(ErrorCode::Internal, "the database does not answer").into_response();
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then
/// ends the terminal sessions (their shells get a hang-up, their recordings
/// are completed) and finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let terminals = state.terminals.clone();
    let shutdown = {
        let terminals = terminals.clone();
        async move {
            shutdown.await;
            // Terminal websockets close once their sessions have ended.
            terminals.shutdown().await;
        }
    };
    // Keystrokes and their echo are tiny writes: without TCP_NODELAY, Nagle's
    // algorithm and delayed ACKs hold each for tens of milliseconds.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {error}");
        }
    });
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await?;
    terminals.shutdown().await;
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

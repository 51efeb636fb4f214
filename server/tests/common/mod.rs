//! A real opsdesk server for tests: a temporary data directory with its own
//! SQLite file, listening on port 0, shut down when dropped.

#![allow(dead_code)] // each test binary uses a different part of this

pub mod agent;
pub mod api;
pub mod model;

use opsdesk_app::model::{Me, Role};
use opsdesk_server::accounts::{self, UserInput};
use opsdesk_server::state::AppState;
use opsdesk_server::{build_state, serve, Options};
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// A running server and what tests need to talk to it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on a fresh SQLite file.
    pub async fn start() -> TestServer {
        Self::start_with_limits(Default::default()).await
    }

    /// Starts a server with these attachment limits.
    pub async fn start_with_limits(attachments: opsdesk_server::attachments::Limits) -> TestServer {
        Self::start_with(|options| options.attachments = attachments).await
    }

    /// Starts a server with its options adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Options)) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let mut options = Options::on_loopback(data_dir.path().to_path_buf());
        adjust(&mut options);
        let state = build_state(&options).await.expect("server state");
        let listener = tokio::net::TcpListener::bind(options.addr).await.expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                serve(listener, state, async move {
                    let _ = stop.await;
                })
                .await
                .expect("server runs");
            }
        });
        TestServer { addr, state, shutdown: Some(shutdown), task: Some(task), _data_dir: data_dir }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The Origin header value of this server's own pages.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates (or updates) a person with a password.
    pub async fn user(&self, org: &str, email: &str, role: Role, password: &str) -> Me {
        let input = UserInput { email, name: "", role, password: Some(password) };
        accounts::ensure_user(self.state.store.as_ref(), org, input).await.expect("user created")
    }

    /// Creates a person (if needed) and an API token for them; answers the secret.
    pub async fn token(&self, org: &str, email: &str, role: Role) -> String {
        let input = UserInput { email, name: "", role, password: None };
        let me = accounts::ensure_user(self.state.store.as_ref(), org, input).await.expect("user created");
        accounts::create_token(self.state.store.as_ref(), &me, "test").await.expect("token created").secret
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// Stops the server and waits for it to finish; answers its data
    /// directory, kept until the answer is dropped.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
        std::mem::replace(&mut self._data_dir, tempfile::tempdir().expect("a temporary directory"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An HTTP client that does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A client with a cookie jar, as a browser would have.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

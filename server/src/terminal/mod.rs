//! Shared terminals on tickets: real shells on the ticket's instance,
//! watched live by many, recorded as asciicast, and cut into command blocks
//! that land on the timeline (and reach the agents while the session shares
//! context). This module holds the registry of live sessions and the
//! operations the API and the pages call; `session.rs` runs one session.

pub mod asciicast;
pub mod fast_forward;
pub mod marks;
pub mod output;
pub mod pty;
pub mod screen;
pub mod session;
pub mod shell;

/// A deterministic xorshift64 for the property tests (no `rand`, the same
/// cases every run).
#[cfg(test)]
pub(crate) mod test_rng {
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }
}

use crate::auth;
use crate::canvas;
use crate::state::AppState;
use crate::store::{NewEntry, NewTerminalSession, TerminalEnd, TicketChanges};
use crate::tickets;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    AuthorType, Me, OpenTerminal, Permission, RanBy, TerminalRun, TerminalScope, TerminalScopes, TerminalSession,
    Ticket, TimelineEvent, UpdateTerminal,
};
use session::{BlockDone, Identity, Session, Start};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Lowers the calling thread's priority (Linux nice values are per thread).
/// The recorder and the screen copy may lag behind a flood; the shell, the
/// pump and the watchers may not, and on a busy machine they now come first.
pub(crate) fn yield_to_the_stream(nice: i32) {
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        tracing::debug!("cannot lower a terminal thread's priority: {error}");
    }
}

/// Live sessions one ticket may have at once.
const MAX_PER_TICKET: usize = 4;
/// Live sessions one server runs at once.
const MAX_PER_SERVER: usize = 64;
/// A new terminal's size until a person's browser fits it.
const DEFAULT_SIZE: (u16, u16) = (100, 30);
/// How long a shutdown waits for sessions to finish their recordings.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(8);

/// The live sessions of this server.
#[derive(Default)]
pub struct Terminals {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Bookkeeping tasks still finishing a session (for shutdown).
    finishing: tokio::sync::Notify,
}

impl Terminals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    fn of_ticket(&self, ticket_id: &str) -> Vec<Arc<Session>> {
        let mut sessions: Vec<_> =
            self.lock().values().filter(|s| s.identity.ticket_id == ticket_id).cloned().collect();
        sessions.sort_by_key(|s| s.identity.started_at);
        sessions
    }

    /// Ends every session of a ticket (resolved, closed or deleted).
    pub fn end_ticket(&self, ticket_id: &str, reason: &str) {
        for session in self.of_ticket(ticket_id) {
            session.end(reason);
        }
    }

    /// Ends every session of a ticket and waits (a while) until they have
    /// ended, their recordings complete (before the ticket's files go).
    pub async fn end_ticket_and_wait(&self, ticket_id: &str, reason: &str) {
        let sessions = self.of_ticket(ticket_id);
        for session in &sessions {
            session.end(reason);
        }
        for session in sessions {
            let mut endings = session.endings();
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, endings.wait_for(Option::is_some)).await;
        }
    }

    /// Ends every session and waits (a while) for their recordings.
    pub async fn shutdown(&self) {
        let sessions: Vec<_> = self.lock().values().cloned().collect();
        if sessions.is_empty() {
            return;
        }
        tracing::info!(sessions = sessions.len(), "ending terminal sessions");
        for session in &sessions {
            session.end("the server shut down");
        }
        let all_gone = async {
            loop {
                let notified = self.finishing.notified();
                if self.lock().is_empty() {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_WAIT, all_gone).await.is_err() {
            tracing::warn!("some terminal sessions did not finish in time");
        }
    }
}

/// Where a session's recording is kept (outside the canvas directory, so it
/// outlives the ticket's working files).
pub fn recording_path(data_dir: &Path, session_id: &str) -> PathBuf {
    data_dir.join("recordings").join(format!("{session_id}.cast"))
}

/// A fresh secret for shell-integration marks: 128 random bits in hex.
fn new_nonce() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored view of a session, with live state where it is running.
fn view(mut stored: TerminalSession, live: Option<&Session>) -> TerminalSession {
    if let Some(session) = live.filter(|s| s.ending().is_none()) {
        stored.live = true;
        stored.share_context = session.share_context();
        stored.integrated = session.integrated();
        stored.recording_bytes = session.recording_bytes();
        (stored.cols, stored.rows) = session.size();
    }
    stored
}

/// `GET .../tickets/{ticket_id}/terminals`: the ticket's sessions, oldest first.
pub async fn list(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<Vec<TerminalSession>> {
    auth::require(me, Permission::Read)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    sessions_of(state, &ticket.id).await
}

async fn sessions_of(state: &AppState, ticket_id: &str) -> AppResult<Vec<TerminalSession>> {
    let stored = state.store.terminal_sessions(ticket_id).await?;
    Ok(stored
        .into_iter()
        .map(|s| {
            let live = state.terminals.get(&s.id);
            view(s, live.as_deref())
        })
        .collect())
}

/// One session of the ticket, or 404.
pub async fn find(
    state: &AppState,
    me: &Me,
    ticket_id: &str,
    session_id: &str,
) -> AppResult<(Ticket, TerminalSession)> {
    auth::require(me, Permission::Read)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    let session = sessions_of(state, &ticket.id)
        .await?
        .into_iter()
        .find(|s| s.id == session_id)
        .ok_or_else(|| AppError::not_found("terminal session"))?;
    Ok((ticket, session))
}

/// `GET .../tickets/{ticket_id}/terminals/scopes`: where a terminal can open.
pub async fn scopes(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<TerminalScopes> {
    auth::require(me, Permission::Operate)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    let instance = crate::conversation::instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
    let (scopes, containers_error) = shell::scopes(&instance).await;
    Ok(TerminalScopes { instance_id: instance.id, instance_name: instance.name, scopes, containers_error })
}

/// `POST .../tickets/{ticket_id}/terminals`: opens a terminal in the
/// ticket's canvas directory on its instance (operators).
pub async fn open(state: &AppState, me: &Me, ticket_id: &str, body: OpenTerminal) -> AppResult<TerminalSession> {
    auth::require(me, Permission::Operate)?;
    let ticket = tickets::find(state, me, ticket_id).await?;
    crate::conversation::require_active(&ticket)?;
    let session = start(state, me, &ticket, &body.scope).await?;
    let stored = state.store.terminal_sessions(&ticket.id).await?;
    let stored = stored
        .into_iter()
        .find(|s| s.id == session.identity.id)
        .ok_or_else(|| AppError::not_found("terminal session"))?;
    Ok(view(stored, Some(&session)))
}

async fn start(state: &AppState, me: &Me, ticket: &Ticket, scope: &TerminalScope) -> AppResult<Arc<Session>> {
    if state.terminals.of_ticket(&ticket.id).len() >= MAX_PER_TICKET {
        return Err(AppError::conflict(format!(
            "{} already has {MAX_PER_TICKET} open terminals: close one first",
            ticket.ticket_id
        )));
    }
    if state.terminals.lock().len() >= MAX_PER_SERVER {
        return Err(AppError::conflict("this server runs as many terminals as it allows: close one first"));
    }
    let instance = crate::conversation::instance_or_local(state, &me.org.id, ticket.cluster_id.as_deref()).await?;
    let id = crate::store::new_id();
    let nonce = new_nonce();
    let private = state.config.data_dir.join("terminal");
    let recordings = state.config.data_dir.join("recordings");
    for dir in [&private, &recordings] {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    let rc_path = private.join(format!("{id}.bashrc"));
    let launch = shell::launch(&instance, scope, &rc_path, &nonce)
        .await
        .map_err(|reason| AppError::invalid_field("scope", reason))?;
    let cwd = canvas::ensure(&state.config.data_dir, &ticket.id).map_err(AppError::internal)?;
    let identity = Identity {
        id: id.clone(),
        org_id: me.org.id.clone(),
        ticket_id: ticket.id.clone(),
        instance_id: instance.id.clone(),
        scope: scope.clone(),
        started_by: Some(me.person()),
        started_at: chrono::Utc::now(),
    };
    let (cols, rows) = DEFAULT_SIZE;
    state
        .store
        .create_terminal_session(NewTerminalSession {
            id: &id,
            ticket_id: &ticket.id,
            instance_id: &instance.id,
            scope,
            started_by: &me.user.id,
            started_at: identity.started_at,
            share_context: false,
            cols,
            rows,
        })
        .await?;
    let (blocks_tx, blocks_rx) = mpsc::unbounded_channel();
    let started = Session::start(
        Start {
            identity,
            argv: launch.argv,
            env: shell_env(ticket),
            cwd,
            recording: Some(recording_path(&state.config.data_dir, &id)),
            rc: launch.rc.map(|rc| (rc_path, rc)),
            nonce,
            cols,
            rows,
            share_context: false,
        },
        blocks_tx,
    );
    let session = match started {
        Ok(session) => session,
        Err(error) => {
            let end = TerminalEnd {
                ended_at: chrono::Utc::now(),
                exit_code: None,
                reason: &format!("could not start: {error}"),
                integrated: false,
                recording_bytes: 0,
                cols,
                rows,
            };
            state.store.end_terminal_session(&id, end).await?;
            return Err(AppError::internal(format!("cannot start the terminal: {error}")));
        }
    };
    state.terminals.lock().insert(id.clone(), session.clone());
    let opened = TimelineEvent::TerminalOpened { session_id: id, scope: scope.clone(), instance: instance.name };
    append(state, &ticket.id, Some(&me.user.id), opened).await;
    tokio::spawn(keep_books(state.clone(), session.clone(), blocks_rx));
    Ok(session)
}

/// What a shell starts with: the server's basics, never its secrets.
fn shell_env(ticket: &Ticket) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["HOME", "USER", "LOGNAME", "PATH", "LANG", "TZ"]
        .into_iter()
        .filter_map(|key| std::env::var(key).ok().map(|value| (key.to_owned(), value)))
        .collect();
    if !env.iter().any(|(k, _)| k == "LANG") {
        env.push(("LANG".into(), "C.UTF-8".into()));
    }
    env.push(("TERM".into(), "xterm-256color".into()));
    env.push(("COLORTERM".into(), "truecolor".into()));
    env.push(("OPSDESK_TICKET".into(), ticket.ticket_id.clone()));
    env
}

async fn append(state: &AppState, ticket_id: &str, user_id: Option<&str>, event: TimelineEvent) {
    let entry = match user_id {
        Some(user_id) => NewEntry::by(AuthorType::User, user_id, event),
        None => NewEntry::system(event),
    };
    if let Err(error) = state.store.append(ticket_id, TicketChanges::default(), vec![entry]).await {
        tracing::warn!(ticket = %ticket_id, "cannot record a terminal event: {error}");
    }
}

/// Records each command block on the timeline, then the session's end.
async fn keep_books(state: AppState, session: Arc<Session>, mut blocks: mpsc::UnboundedReceiver<BlockDone>) {
    let ticket_id = session.identity.ticket_id.clone();
    while let Some(done) = blocks.recv().await {
        let block = done.block;
        let event = TimelineEvent::CommandRan {
            cmd_id: done.cmd_id,
            command: block.command,
            output: block.output,
            exit_code: block.exit_code,
            ran_by: RanBy::Person,
            agent: None,
            truncated: block.truncated,
            terminal: Some(TerminalRun {
                session_id: session.identity.id.clone(),
                started_at: block.started_at,
                ended_at: block.ended_at,
                shared: done.shared,
            }),
        };
        append(&state, &ticket_id, done.user_id.as_deref(), event).await;
    }
    let ending = session.endings().wait_for(Option::is_some).await.ok().and_then(|e| e.clone());
    let ending = ending.unwrap_or(session::Ending { exit_code: None, reason: "ended".into(), recording_bytes: 0 });
    let (cols, rows) = session.size();
    let end = TerminalEnd {
        ended_at: chrono::Utc::now(),
        exit_code: ending.exit_code,
        reason: &ending.reason,
        integrated: session.integrated(),
        recording_bytes: ending.recording_bytes,
        cols,
        rows,
    };
    if let Err(error) = state.store.end_terminal_session(&session.identity.id, end).await {
        tracing::warn!(session = %session.identity.id, "cannot record a terminal's end: {error}");
    }
    let closed = TimelineEvent::TerminalClosed {
        session_id: session.identity.id.clone(),
        exit_code: ending.exit_code,
        reason: ending.reason.clone(),
    };
    append(&state, &ticket_id, None, closed).await;
    state.terminals.lock().remove(&session.identity.id);
    state.terminals.finishing.notify_waiters();
}

/// `PATCH .../terminals/{session_id}`: switches context sharing (operators).
pub async fn update(
    state: &AppState,
    me: &Me,
    ticket_id: &str,
    session_id: &str,
    body: UpdateTerminal,
) -> AppResult<TerminalSession> {
    auth::require(me, Permission::Operate)?;
    let (ticket, stored) = find(state, me, ticket_id, session_id).await?;
    let Some(session) = state.terminals.get(&stored.id).filter(|_| stored.live) else {
        return Err(AppError::conflict("this terminal session has ended"));
    };
    if session.share_context() != body.share_context {
        state.store.set_terminal_share(&stored.id, body.share_context).await?;
        session.set_share_context(body.share_context);
        let event = TimelineEvent::TerminalShared { session_id: stored.id.clone(), share_context: body.share_context };
        append(state, &ticket.id, Some(&me.user.id), event).await;
    }
    Ok(view(stored, Some(&session)))
}

/// `DELETE .../terminals/{session_id}`: ends a live session (operators).
pub async fn end(state: &AppState, me: &Me, ticket_id: &str, session_id: &str) -> AppResult<TerminalSession> {
    auth::require(me, Permission::Operate)?;
    let (_, stored) = find(state, me, ticket_id, session_id).await?;
    let Some(session) = state.terminals.get(&stored.id).filter(|_| stored.live) else {
        return Err(AppError::conflict("this terminal session has ended already"));
    };
    session.end(&format!("closed by {}", me.user.name));
    let mut endings = session.endings();
    let _ = tokio::time::timeout(Duration::from_secs(10), endings.wait_for(Option::is_some)).await;
    let (_, stored) = find(state, me, ticket_id, session_id).await?;
    Ok(stored)
}

/// `GET .../terminals/{session_id}/recording`: the asciicast file's path.
pub async fn recording(state: &AppState, me: &Me, ticket_id: &str, session_id: &str) -> AppResult<(Ticket, PathBuf)> {
    let (ticket, stored) = find(state, me, ticket_id, session_id).await?;
    Ok((ticket, recording_path(&state.config.data_dir, &stored.id)))
}

/// Types a command card's command into the ticket's terminal: its first
/// live shell session, or a new one. The block it makes carries `cmd_id`.
pub async fn execute_card(
    state: &AppState,
    me: &Me,
    ticket: &Ticket,
    cmd_id: &str,
    command: &str,
) -> AppResult<String> {
    auth::require(me, Permission::Operate)?;
    let existing = state
        .terminals
        .of_ticket(&ticket.id)
        .into_iter()
        .find(|s| s.identity.scope == TerminalScope::Shell && s.ending().is_none());
    let session = match existing {
        Some(session) => session,
        None => start(state, me, ticket, &TerminalScope::Shell).await?,
    };
    let (cmd_id, command, user_id) = (cmd_id.to_owned(), command.to_owned(), me.user.id.clone());
    let session_id = session.identity.id.clone();
    tokio::spawn(async move { session.type_card(&cmd_id, &command, &user_id).await });
    Ok(session_id)
}

/// Whether `me` may type in terminals.
pub fn can_type(me: &Me) -> bool {
    me.can(Permission::Operate)
}

/// Removes a deleted ticket's recordings.
pub async fn remove_recordings(data_dir: &Path, session_ids: &[String]) {
    for id in session_ids {
        let cast = recording_path(data_dir, id);
        let _ = tokio::fs::remove_file(asciicast::journal_path(&cast)).await;
        let _ = tokio::fs::remove_file(cast).await;
    }
}

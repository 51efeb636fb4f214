//! The terminal endpoints under `.../tickets/{ticket_id}/terminals`: list,
//! open, share context, end, the recording, and the websocket.
//!
//! The websocket streams the session's output as binary frames from the
//! shared log, within a window of bytes the browser has not acknowledged
//! yet (it acknowledges what xterm.js has drawn), so a flooded tab is never
//! sent more than it can draw. A watcher lapped by the log (it stopped
//! reading) gets a fresh screen snapshot instead of the bytes it missed.
//! Binary frames from the browser are keystrokes, taken only from people
//! who may type.

use super::terminal_socket::{Incoming, Socket, SocketError, Upgrade};
use super::ApiJson;
use crate::auth::Caller;
use crate::state::AppState;
use crate::terminal;
use crate::terminal::output::Read;
use crate::terminal::session::Session;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    Me, OpenTerminal, TermClientFrame, TermServerFrame, TerminalScopes, TerminalSession, UpdateTerminal,
    TERMINAL_ACK_WINDOW,
};
use std::sync::Arc;

pub async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<Json<Vec<TerminalSession>>> {
    Ok(Json(terminal::list(&state, &me, &ticket_id).await?))
}

pub async fn scopes(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
) -> AppResult<Json<TerminalScopes>> {
    Ok(Json(terminal::scopes(&state, &me, &ticket_id).await?))
}

pub async fn open(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path(ticket_id): Path<String>,
    ApiJson(body): ApiJson<OpenTerminal>,
) -> AppResult<(StatusCode, Json<TerminalSession>)> {
    Ok((StatusCode::CREATED, Json(terminal::open(&state, &me, &ticket_id, body).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, session_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateTerminal>,
) -> AppResult<Json<TerminalSession>> {
    Ok(Json(terminal::update(&state, &me, &ticket_id, &session_id, body).await?))
}

pub async fn end(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, session_id)): Path<(String, String)>,
) -> AppResult<Json<TerminalSession>> {
    Ok(Json(terminal::end(&state, &me, &ticket_id, &session_id).await?))
}

/// The asciicast file, streamed. A live session's recording ends at its
/// last complete event line, so it is always valid asciicast.
pub async fn recording(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, session_id)): Path<(String, String)>,
) -> AppResult<Response> {
    use tokio::io::AsyncReadExt;
    let (ticket, path) = terminal::recording(&state, &me, &ticket_id, &session_id).await?;
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        // Still running (or cut short by a crash): what its journal holds so far.
        // (If it ended meanwhile, its asciicast is there now.)
        Err(_) => tokio::task::spawn_blocking(move || {
            encode_live(&path).or_else(|_| std::fs::File::open(&path).map(tokio::fs::File::from_std))
        })
        .await
        .map_err(AppError::internal)?
        .map_err(|_| AppError::not_found("recording"))?,
    };
    let length = file.metadata().await.map_err(AppError::internal)?.len();
    let stream =
        futures_util::stream::unfold((file.take(length), vec![0u8; 64 * 1024]), |(mut file, mut buffer)| async move {
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => Some((Ok::<_, std::io::Error>(Bytes::copy_from_slice(&buffer[..n])), (file, buffer))),
                Err(error) => Some((Err(error), (file, buffer))),
            }
        });
    let name = format!("{}-terminal-{}.cast", ticket.ticket_id, &session_id[..session_id.len().min(8)]);
    let disposition =
        HeaderValue::from_str(&crate::attachments::content_disposition(&name)).map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/x-asciicast")),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Encodes a live session's journal into an unnamed file (created beside
/// it, then unlinked: it goes when the download ends).
fn encode_live(cast: &std::path::Path) -> std::io::Result<tokio::fs::File> {
    use std::io::Seek;
    let journal = crate::terminal::asciicast::journal_path(cast);
    if !journal.exists() {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    let aside = cast.with_extension(format!("{}.tmp", crate::store::new_id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&aside)?;
    std::fs::remove_file(&aside)?;
    let mut file = crate::terminal::asciicast::encode_journal_of(cast, file)?;
    file.rewind()?;
    Ok(tokio::fs::File::from_std(file))
}

/// Output frames are at most this big.
const FRAME: usize = 64 * 1024;

/// `GET .../terminals/{session_id}/live`: the terminal websocket (anyone
/// who may read the ticket watches; operators type).
pub async fn live(
    State(state): State<AppState>,
    Caller(me): Caller,
    Path((ticket_id, session_id)): Path<(String, String)>,
    upgrade: Upgrade,
) -> AppResult<Response> {
    let (_, stored) = terminal::find(&state, &me, &ticket_id, &session_id).await?;
    let session = state.terminals.get(&stored.id).filter(|_| stored.live);
    let Some(session) = session else {
        return Err(AppError::conflict("this terminal session has ended: its recording can be replayed"));
    };
    Ok(upgrade.on_upgrade(move |socket| async move {
        let can_type = terminal::can_type(&me);
        let mut watcher = Watcher { session: session.clone(), me, can_type, socket, sent: 0, acked: 0, id: None };
        if let Err(error) = watcher.run(stored).await {
            tracing::debug!("terminal watcher ended: {error}");
        }
        if let Some(id) = watcher.id {
            session.log.leave(id);
        }
    }))
}

struct Watcher {
    session: Arc<Session>,
    me: Me,
    can_type: bool,
    socket: Socket,
    /// Stream offset handed to the socket.
    sent: u64,
    /// Stream offset the browser has drawn.
    acked: u64,
    /// Its place among the log's watchers.
    id: Option<u64>,
}

fn text(frame: &TermServerFrame) -> String {
    serde_json::to_string(frame).expect("frames serialise")
}

impl Watcher {
    async fn run(&mut self, stored: TerminalSession) -> anyhow::Result<()> {
        let hello = TermServerFrame::Hello { session: Box::new(stored), can_type: self.can_type };
        self.socket.send_text(&text(&hello)).await?;
        self.reset().await?;
        let mut output = self.session.log.subscribe();
        let mut sizes = self.session.sizes();
        let mut shares = self.session.shares();
        let mut endings = self.session.endings();
        sizes.mark_unchanged();
        shares.mark_unchanged();
        loop {
            self.send_output().await?;
            let ending = endings.borrow().clone();
            if let Some(ending) = ending {
                let (end, closed) = self.session.log.end();
                if closed && self.sent >= end {
                    let frame = TermServerFrame::Ended { exit_code: ending.exit_code, reason: ending.reason };
                    self.socket.send_text(&text(&frame)).await?;
                    self.socket.close(1000, "the session ended").await?;
                    return Ok(());
                }
            }
            tokio::select! {
                incoming = self.socket.recv() => match incoming {
                    Ok(Incoming::Binary(keys)) => {
                        if self.can_type {
                            self.session.type_keys(&self.me.user.id, keys).await;
                        }
                    }
                    Ok(Incoming::Text(frame)) => match serde_json::from_str::<TermClientFrame>(&frame) {
                        Ok(TermClientFrame::Ack { offset }) => {
                            self.acked = self.acked.max(offset.min(self.sent));
                            // Still reading: it keeps counting for the shell's pace.
                            if let Some(id) = self.id {
                                self.session.log.advanced(id, self.sent);
                            }
                        }
                        Ok(TermClientFrame::Resize { cols, rows }) => {
                            if self.can_type {
                                self.session.resize(cols, rows).await;
                            }
                        }
                        Err(error) => return self.refuse(&format!("bad frame: {error}")).await,
                    },
                    Ok(Incoming::Ping(payload)) => self.socket.pong(&payload).await?,
                    Ok(Incoming::Closed) => {
                        let _ = self.socket.close(1000, "").await;
                        return Ok(());
                    }
                    Err(SocketError::Protocol(code, reason)) => {
                        let _ = self.socket.close(code, reason).await;
                        return Ok(());
                    }
                    Err(SocketError::Io(_)) => return Ok(()),
                },
                changed = output.changed() => if changed.is_err() { return Ok(()) },
                changed = sizes.changed() => {
                    if changed.is_ok() {
                        let (cols, rows) = *sizes.borrow_and_update();
                        self.socket.send_text(&text(&TermServerFrame::Size { cols, rows })).await?;
                    }
                }
                changed = shares.changed() => {
                    if changed.is_ok() {
                        let share_context = *shares.borrow_and_update();
                        self.socket.send_text(&text(&TermServerFrame::Shared { share_context })).await?;
                    }
                }
                _ = endings.changed() => {}
            }
        }
    }

    /// Sends the current screen and moves this watcher to its offset.
    async fn reset(&mut self) -> anyhow::Result<()> {
        let snapshot = self.session.screen.snapshot();
        let frame = TermServerFrame::Reset { offset: snapshot.offset, cols: snapshot.cols, rows: snapshot.rows };
        self.socket.send_text(&text(&frame)).await?;
        self.socket.send_binary(&[Bytes::from(snapshot.bytes)]).await?;
        self.sent = snapshot.offset;
        self.acked = snapshot.offset;
        match self.id {
            Some(id) => self.session.log.advanced(id, self.sent),
            None => self.id = Some(self.session.log.join(self.sent)),
        }
        Ok(())
    }

    /// Sends what the window allows, in frames of up to [`FRAME`] bytes:
    /// a PTY yields about 4 KB per read, and a frame per read would cost
    /// every watcher a frame (and an ack) per 4 KB.
    async fn send_output(&mut self) -> anyhow::Result<()> {
        loop {
            let room = TERMINAL_ACK_WINDOW.saturating_sub(self.sent - self.acked);
            if room == 0 {
                return Ok(());
            }
            match self.session.log.read(self.sent, (room as usize).min(FRAME)) {
                Read::UpToDate => return Ok(()),
                Read::Lapped => self.reset().await?,
                Read::Data(chunks) => {
                    // One frame of the log's chunks as they lie: no copy before the kernel's.
                    self.sent += chunks.iter().map(|chunk| chunk.len() as u64).sum::<u64>();
                    self.socket.send_binary(&chunks).await?;
                    if let Some(id) = self.id {
                        self.session.log.advanced(id, self.sent);
                    }
                }
            }
        }
    }

    async fn refuse(&mut self, reason: &str) -> anyhow::Result<()> {
        let _ = self.socket.close(1008, reason).await;
        Ok(())
    }
}

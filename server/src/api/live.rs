//! The Canvas websocket: a watcher says where it is (`resume` after a seq)
//! and gets every entry after it, then each new one as it is committed, who
//! is watching and what agents are doing. Frames are serialised once by the
//! hub and shared by all watchers; one that falls behind catches up from the
//! store by seq, so it never misses or repeats an entry.

use crate::live::LiveEvent;
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use opsdesk_app::model::{ClientFrame, Me, ServerFrame};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Frames from browsers are tiny; anything bigger is not ours.
const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// Small socket buffers keep an idle watcher cheap.
const SOCKET_BUFFER: usize = 4 * 1024;
/// A watcher that does not say where it is within this time is dropped.
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// Catch-up reads go in pages of this many entries.
const CATCH_UP_PAGE: usize = 500;

pub fn upgrade(state: AppState, me: Me, ticket_id: String, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            if let Err(error) = watch(state, me, ticket_id, socket).await {
                tracing::debug!("live watcher ended: {error}");
            }
        })
}

/// Waits for the watcher's `resume` frame.
async fn hello(socket: &mut WebSocket) -> anyhow::Result<Option<i64>> {
    let Ok(message) = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await else { return Ok(None) };
    match message {
        Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
            Ok(ClientFrame::Resume { after }) => Ok(Some(after.max(0))),
            Err(error) => {
                close_with(socket, &format!("bad frame: {error}")).await;
                Ok(None)
            }
        },
        _ => Ok(None),
    }
}

async fn close_with(socket: &mut WebSocket, reason: &str) {
    let reason: String = reason.chars().take(100).collect();
    let frame = axum::extract::ws::CloseFrame { code: 1008, reason: reason.into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Sends the entries after `after` from the store; answers the last seq sent.
async fn catch_up(state: &AppState, ticket_id: &str, socket: &mut WebSocket, mut after: i64) -> anyhow::Result<i64> {
    loop {
        let entries = state.store.timeline(ticket_id, after).await?;
        if entries.is_empty() {
            return Ok(after);
        }
        for page in entries.chunks(CATCH_UP_PAGE) {
            after = page.last().map_or(after, |e| e.seq);
            let frame = crate::live::frame(&ServerFrame::Entries { entries: page.to_vec() });
            socket.send(Message::Text(frame)).await?;
        }
    }
}

async fn watch(state: AppState, me: Me, ticket_id: String, mut socket: WebSocket) -> anyhow::Result<()> {
    let Some(after) = hello(&mut socket).await? else { return Ok(()) };
    let person = me.person();
    // Join before reading the store: a commit in between is then seen twice
    // at worst, and the seq check drops the repeat.
    let mut watch = state.hub.join(&ticket_id, person);
    let mut last_sent = catch_up(&state, &ticket_id, &mut socket, after).await?;
    let watchers = crate::live::frame(&ServerFrame::Watchers { watchers: state.hub.watchers(&ticket_id) });
    socket.send(Message::Text(watchers)).await?;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                    // A client that lost track asks again from its own last seq.
                    Ok(ClientFrame::Resume { after }) => {
                        last_sent = catch_up(&state, &ticket_id, &mut socket, after.max(0)).await?;
                    }
                    Err(error) => {
                        close_with(&mut socket, &format!("bad frame: {error}")).await;
                        return Ok(());
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => {}
            },
            event = watch.events.recv() => match event {
                Ok(LiveEvent::Entries { first, last, frame }) => {
                    if last <= last_sent {
                        continue;
                    }
                    if first == last_sent + 1 {
                        socket.send(Message::Text(frame)).await?;
                        last_sent = last;
                    } else {
                        last_sent = catch_up(&state, &ticket_id, &mut socket, last_sent).await?;
                    }
                }
                Ok(LiveEvent::Other(frame)) => socket.send(Message::Text(frame)).await?,
                Ok(LiveEvent::Deleted(frame)) => {
                    socket.send(Message::Text(frame)).await?;
                    let _ = socket.send(Message::Close(None)).await;
                    return Ok(());
                }
                Err(RecvError::Lagged(_)) => {
                    last_sent = catch_up(&state, &ticket_id, &mut socket, last_sent).await?;
                    let watchers = crate::live::frame(&ServerFrame::Watchers { watchers: state.hub.watchers(&ticket_id) });
                    socket.send(Message::Text(watchers)).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

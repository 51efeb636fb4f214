//! The live hub: who watches which ticket, and the wake-ups they get.
//!
//! The database is the source of truth. When the store commits timeline
//! entries it hands them to [`Hub::publish`], which serialises them once into
//! a ready-to-send frame for every watcher of that ticket; a watcher that
//! falls behind (or reconnects) reads what it missed from the store by seq.
//! Presence and agent activity travel the same per-ticket channel but are not
//! stored. Nothing here is process-global: each server state owns one hub.
//! (Across several nodes, the store's commit would also NOTIFY the others.)

use opsdesk_app::model::{AgentActivity, AgentRef, PersonRef, ServerFrame, TimelineEntry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many events a ticket's channel holds for a slow watcher before it
/// must catch up from the store instead.
const CHANNEL_CAPACITY: usize = 128;

/// A ready-to-send JSON text frame, shared by every watcher.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// What a ticket's watchers are told.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    /// Entries `first..=last` were committed; `frame` is their `entries` frame.
    Entries { first: i64, last: i64, frame: Frame },
    /// The ticket is gone; `frame` says so and the socket closes after it.
    Deleted(Frame),
    /// Any other frame (watchers, activity).
    Other(Frame),
}

/// One ticket's channel and who is on it.
struct Channel {
    events: broadcast::Sender<LiveEvent>,
    /// Connection id → person; a person with two tabs appears once.
    watchers: HashMap<u64, PersonRef>,
}

impl Channel {
    /// The ticket's channel, made on first use.
    fn of<'a>(channels: &'a mut HashMap<String, Channel>, ticket_id: &str) -> &'a mut Channel {
        channels
            .entry(ticket_id.to_owned())
            .or_insert_with(|| Channel { events: broadcast::channel(CHANNEL_CAPACITY).0, watchers: HashMap::new() })
    }
}

/// Per-ticket channels, created on first subscription, dropped with the last watcher.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, Channel>>,
    next_connection: std::sync::atomic::AtomicU64,
}

/// Serialises a frame; our own types always serialise.
pub fn frame(value: &ServerFrame) -> Frame {
    serde_json::to_string(value).expect("live frames serialise").into()
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        // A panic while holding the lock leaves plain data behind: keep going.
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether anyone listens on the ticket (lets the store skip work).
    pub fn is_watched(&self, ticket_id: &str) -> bool {
        self.lock().get(ticket_id).is_some_and(|c| c.events.receiver_count() > 0)
    }

    /// Tells the ticket's watchers about committed entries (in seq order).
    pub fn publish(&self, ticket_id: &str, entries: &[TimelineEntry]) {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return };
        let channels = self.lock();
        let Some(channel) = channels.get(ticket_id) else { return };
        // Serialised once here, not once per watcher.
        let frame = frame(&ServerFrame::Entries { entries: entries.to_vec() });
        let _ = channel.events.send(LiveEvent::Entries { first: first.seq, last: last.seq, frame });
        drop(channels);
        self.drop_if_unused(ticket_id);
    }

    /// Forgets a channel nobody listens on any more (long polls that ended).
    fn drop_if_unused(&self, ticket_id: &str) {
        let mut channels = self.lock();
        if channels.get(ticket_id).is_some_and(|c| c.watchers.is_empty() && c.events.receiver_count() == 0) {
            channels.remove(ticket_id);
        }
    }

    /// Tells the ticket's watchers what an agent is doing.
    pub fn activity(&self, ticket_id: &str, agent: &AgentRef, activity: AgentActivity) {
        self.send_other(ticket_id, &ServerFrame::Activity { agent: agent.clone(), activity });
    }

    /// Tells the ticket's watchers what a streaming agent has written so far.
    pub fn draft(&self, ticket_id: &str, agent: &AgentRef, text: &str, reasoning: &str) {
        let frame = ServerFrame::Draft { agent: agent.clone(), text: text.to_owned(), reasoning: reasoning.to_owned() };
        self.send_other(ticket_id, &frame);
    }

    /// Tells the ticket's watchers it is gone.
    pub fn deleted(&self, ticket_id: &str) {
        if let Some(channel) = self.lock().get(ticket_id) {
            let _ = channel.events.send(LiveEvent::Deleted(frame(&ServerFrame::Deleted)));
        }
    }

    fn send_other(&self, ticket_id: &str, value: &ServerFrame) {
        if let Some(channel) = self.lock().get(ticket_id) {
            let _ = channel.events.send(LiveEvent::Other(frame(value)));
        }
    }

    /// Listens for wake-ups without joining the watcher list (long polls).
    pub fn subscribe(&self, ticket_id: &str) -> broadcast::Receiver<LiveEvent> {
        Channel::of(&mut self.lock(), ticket_id).events.subscribe()
    }

    /// Joins the ticket as a visible watcher. Subscribe first, then read the
    /// store: that order guarantees no commit falls between the two.
    pub fn join(self: &Arc<Self>, ticket_id: &str, person: PersonRef) -> Watch {
        let connection = self.next_connection.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let events = {
            let mut channels = self.lock();
            let channel = Channel::of(&mut channels, ticket_id);
            channel.watchers.insert(connection, person);
            channel.events.subscribe()
        };
        self.announce_watchers(ticket_id);
        Watch { hub: self.clone(), ticket_id: ticket_id.to_owned(), connection, events }
    }

    /// The people watching the ticket now, each once, by name.
    pub fn watchers(&self, ticket_id: &str) -> Vec<PersonRef> {
        let channels = self.lock();
        let mut people: Vec<PersonRef> =
            channels.get(ticket_id).map(|c| c.watchers.values().cloned().collect()).unwrap_or_default();
        people.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        people.dedup_by(|a, b| a.id == b.id);
        people
    }

    fn announce_watchers(&self, ticket_id: &str) {
        let watchers = self.watchers(ticket_id);
        self.send_other(ticket_id, &ServerFrame::Watchers { watchers });
    }

    fn leave(&self, ticket_id: &str, connection: u64) {
        {
            let mut channels = self.lock();
            let Some(channel) = channels.get_mut(ticket_id) else { return };
            channel.watchers.remove(&connection);
            // The leaving receiver is dropped after this; 1 means it was the last.
            if channel.watchers.is_empty() && channel.events.receiver_count() <= 1 {
                channels.remove(ticket_id);
                return;
            }
        }
        self.announce_watchers(ticket_id);
    }
}

/// A watcher's membership; leaving is announced when it is dropped.
pub struct Watch {
    hub: Arc<Hub>,
    ticket_id: String,
    connection: u64,
    pub events: broadcast::Receiver<LiveEvent>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.hub.leave(&self.ticket_id, self.connection);
    }
}

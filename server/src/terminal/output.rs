//! A session's output stream, shared by every watcher: one bounded log of
//! the PTY's chunks with absolute byte offsets. The PTY reader appends; each
//! watcher keeps its own position and reads from the log at its own pace,
//! so fan-out costs a reference-counted `Bytes` clone per chunk per watcher
//! and nobody waits for anybody. A watcher that falls further behind than
//! the log keeps is "lapped" and restarts from a screen snapshot.
//!
//! Pacing: the reader stays at most [`LEAD`] bytes ahead of the slowest
//! *active* watcher, so a `cat` of a huge file runs at the speed the
//! watchers can take, and every watcher that keeps reading gets every byte
//! (as a terminal's flow control would). A watcher that makes no progress
//! for [`STALL`] no longer counts: it never holds the shell or the others
//! back, falls behind, and resumes from a snapshot when it reads again.
//!
//! Waking: watchers hear of small output (an echo, a prompt) at once, and
//! of a flood at most every [`ANNOUNCE_EVERY`] or [`ANNOUNCE_BYTES`]: waking
//! every watcher for each 4 KiB read cost more than sending the bytes.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// How many bytes of output the log keeps for watchers behind the head.
pub const RETAIN: usize = 8 * 1024 * 1024;
/// How far the reader may run ahead of the fastest watcher.
pub const LEAD: u64 = 4 * 1024 * 1024;
/// How long the reader waits for a watcher's progress (a frame sent or
/// acknowledged) before going on without it. A reading browser acknowledges
/// every frame it draws, many times within this.
pub const STALL: Duration = Duration::from_millis(250);

/// A chunk this big means a flood (the kernel hands out 4 KiB per read).
pub const FLOOD_CHUNK: usize = 4096;
/// During a flood, watchers hear of new output at least this often...
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(1);
/// ...or once this much has come, whichever is first.
pub const ANNOUNCE_BYTES: u64 = 64 * 1024;

/// What a read at an offset found.
#[derive(Debug)]
pub enum Read {
    /// Chunks starting exactly at the offset, at most the asked size in all.
    Data(Vec<Bytes>),
    /// Nothing new yet.
    UpToDate,
    /// The offset is older than what the log keeps.
    Lapped,
}

struct Inner {
    /// The kept chunks with the stream offset each starts at.
    chunks: VecDeque<(u64, Bytes)>,
    /// Offset of the first kept chunk.
    start: u64,
    /// Offset after the last byte.
    end: u64,
    /// The end the watchers were last told of, and when.
    announced: u64,
    announced_at: Instant,
    retained: usize,
    /// Each watcher's position (bytes handed to its socket) and when it last moved.
    positions: HashMap<u64, (u64, Instant)>,
    next_watcher: u64,
    closed: bool,
}

pub struct OutputLog {
    inner: Mutex<Inner>,
    /// The end offset, for waking watchers.
    end_tx: watch::Sender<u64>,
    /// Wakes a reader waiting for watchers' progress.
    progress: Notify,
    retain: usize,
}

impl Default for OutputLog {
    fn default() -> Self {
        Self::with_retain(RETAIN)
    }
}

impl OutputLog {
    pub fn with_retain(retain: usize) -> Self {
        OutputLog {
            inner: Mutex::new(Inner {
                chunks: VecDeque::new(),
                start: 0,
                end: 0,
                announced: 0,
                announced_at: Instant::now(),
                retained: 0,
                positions: HashMap::new(),
                next_watcher: 0,
                closed: false,
            }),
            end_tx: watch::channel(0).0,
            progress: Notify::new(),
            retain,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a chunk; wakes the watchers unless it is part of a flood
    /// they heard of a moment ago (see [`OutputLog::announce`]).
    pub fn push(&self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        let announce = {
            let mut inner = self.lock();
            let at = inner.end;
            inner.end += chunk.len() as u64;
            inner.retained += chunk.len();
            let flood = chunk.len() >= FLOOD_CHUNK;
            inner.chunks.push_back((at, chunk));
            while inner.retained > self.retain && inner.chunks.len() > 1 {
                let Some((_, old)) = inner.chunks.pop_front() else { break };
                inner.retained -= old.len();
                inner.start += old.len() as u64;
            }
            let due = !flood
                || inner.end - inner.announced >= ANNOUNCE_BYTES
                || inner.announced_at.elapsed() >= ANNOUNCE_EVERY;
            due.then(|| Self::mark_announced(&mut inner))
        };
        if let Some(end) = announce {
            self.end_tx.send_replace(end);
        }
    }

    fn mark_announced(inner: &mut Inner) -> u64 {
        inner.announced = inner.end;
        inner.announced_at = Instant::now();
        inner.end
    }

    /// Whether some output has not been announced to the watchers yet: the
    /// reader then calls [`OutputLog::announce`] within [`ANNOUNCE_EVERY`]
    /// if no more output comes.
    pub fn unannounced(&self) -> bool {
        let inner = self.lock();
        inner.announced < inner.end
    }

    /// Wakes the watchers for output they have not heard of.
    pub fn announce(&self) {
        let end = {
            let mut inner = self.lock();
            (inner.announced < inner.end).then(|| Self::mark_announced(&mut inner))
        };
        if let Some(end) = end {
            self.end_tx.send_replace(end);
        }
    }

    /// No more output will come.
    pub fn close(&self) {
        let end = {
            let mut inner = self.lock();
            inner.closed = true;
            Self::mark_announced(&mut inner)
        };
        self.end_tx.send_replace(end);
        self.progress.notify_waiters();
    }

    /// `(end offset, closed)`.
    pub fn end(&self) -> (u64, bool) {
        let inner = self.lock();
        (inner.end, inner.closed)
    }

    /// Reads up to `max` bytes from `offset`, without copying.
    pub fn read(&self, offset: u64, max: usize) -> Read {
        let inner = self.lock();
        if offset < inner.start {
            return Read::Lapped;
        }
        if offset >= inner.end {
            return Read::UpToDate;
        }
        // Every watcher reads on every push: find the chunk by binary search,
        // not by walking thousands of kept chunks.
        let first = inner.chunks.partition_point(|(at, chunk)| at + chunk.len() as u64 <= offset);
        let mut out = Vec::new();
        let mut taken = 0usize;
        for (at, chunk) in inner.chunks.range(first..) {
            let from = offset.saturating_sub(*at) as usize;
            let want = (chunk.len() - from).min(max - taken);
            out.push(chunk.slice(from..from + want));
            taken += want;
            if taken >= max {
                break;
            }
        }
        Read::Data(out)
    }

    /// A receiver that changes whenever output arrives or the log closes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end_tx.subscribe()
    }

    /// Registers a watcher at `offset`; [`OutputLog::leave`] it when done.
    pub fn join(&self, offset: u64) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_watcher;
        inner.next_watcher += 1;
        inner.positions.insert(id, (offset, Instant::now()));
        id
    }

    /// Records a watcher's position (new, or the same with an acknowledgement
    /// as a sign of life) and lets a waiting reader go on.
    pub fn advanced(&self, watcher: u64, offset: u64) {
        self.lock().positions.insert(watcher, (offset, Instant::now()));
        self.progress.notify_one();
    }

    pub fn leave(&self, watcher: u64) {
        self.lock().positions.remove(&watcher);
        self.progress.notify_one();
    }

    /// Called by the reader after each push: waits while an active watcher
    /// (one that moved within [`STALL`]) is more than [`LEAD`] behind.
    pub async fn pace(&self) {
        loop {
            let notified = self.progress.notified();
            {
                let inner = self.lock();
                let now = Instant::now();
                let slowest_active = inner
                    .positions
                    .values()
                    .filter(|(position, moved)| *position >= inner.start && now.duration_since(*moved) < STALL)
                    .map(|(position, _)| *position)
                    .min();
                match slowest_active {
                    Some(slowest) if !inner.closed && inner.end.saturating_sub(slowest) > LEAD => {}
                    _ => return,
                }
            }
            // Nobody waits for news while the reader waits for them.
            self.announce();
            // Woken by progress, or after STALL to drop watchers that stopped.
            let _ = tokio::time::timeout(STALL, notified).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(read: Read) -> Vec<u8> {
        match read {
            Read::Data(chunks) => chunks.concat(),
            other => panic!("expected data, got {other:?}"),
        }
    }

    #[test]
    fn reads_start_anywhere_and_respect_the_size() {
        let log = OutputLog::with_retain(1024);
        log.push(Bytes::from_static(b"hello "));
        log.push(Bytes::from_static(b"world"));
        assert_eq!(data(log.read(0, 100)), b"hello world");
        assert_eq!(data(log.read(3, 5)), b"lo wo");
        assert_eq!(data(log.read(6, 100)), b"world");
        assert!(matches!(log.read(11, 100), Read::UpToDate));
        assert_eq!(log.end(), (11, false));
    }

    #[test]
    fn old_output_goes_and_readers_behind_it_are_lapped() {
        let log = OutputLog::with_retain(10);
        for _ in 0..5 {
            log.push(Bytes::from_static(b"0123"));
        }
        assert!(matches!(log.read(0, 100), Read::Lapped));
        assert_eq!(data(log.read(12, 100)), b"01230123");
    }

    #[tokio::test]
    async fn the_reader_waits_for_active_watchers_but_not_for_a_stalled_one() {
        let log = std::sync::Arc::new(OutputLog::with_retain(RETAIN));
        let first = log.join(0);
        let second = log.join(0);
        log.push(Bytes::from(vec![b'x'; LEAD as usize + 1]));
        let waiting = tokio::spawn({
            let log = log.clone();
            async move { log.pace().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "both are behind");
        log.advanced(first, LEAD);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second is still behind");
        log.advanced(second, LEAD);
        waiting.await.unwrap();
        // The second stops reading: after STALL it no longer holds the reader.
        log.push(Bytes::from(vec![b'x'; LEAD as usize + 1]));
        let waiting = tokio::spawn({
            let log = log.clone();
            async move { log.pace().await }
        });
        for _ in 0..20 {
            log.advanced(first, log.end().0);
            tokio::time::sleep(STALL / 10).await;
        }
        tokio::time::timeout(STALL * 2, waiting).await.unwrap().unwrap();
        log.push(Bytes::from_static(b"more"));
        tokio::time::timeout(STALL / 4, log.pace()).await.unwrap();
    }
}

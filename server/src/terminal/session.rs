//! One live terminal session: a shell on a PTY and the tasks around it.
//!
//! - the pump reads the PTY (coalescing reads up to 64 KiB), takes the
//!   trusted shell-integration marks out of the stream, cuts command blocks,
//!   appends the output to the shared log and hands it to the recorder;
//! - the writer types people's keystrokes and card commands into the PTY and
//!   applies resizes;
//! - the screen follows the log for late joiners;
//! - the recorder (a thread: file writes block) writes the asciicast;
//! - the reaper waits for the shell to end (or ends it) and finishes up.
//!
//! Nothing here can take the server down: every failure ends this session only.

use super::asciicast::{self, Header, Journal};
use super::marks::{BlockBuilder, CommandBlock, Mark, MarkScanner};
use super::output::{OutputLog, ANNOUNCE_EVERY};
use super::pty::{Pty, Spawn};
use super::screen::Screen;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use opsdesk_app::model::{PersonRef, TerminalScope};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// PTY reads are coalesced into chunks of at most this size.
const CHUNK: usize = 64 * 1024;
/// How long the recorder lets events gather once one has come.
const RECORD_GATHER: Duration = Duration::from_millis(5);
/// The recorder's nice value: behind the stream, though not so far that a
/// saturated machine starves it (its queue full, the pump would wait).
const RECORDER_NICE: i32 = 10;
/// Events the recorder may have waiting (a 5 ms flood is about 80 reads).
const RECORD_QUEUE: usize = 1024;
/// A command block keeps at most this much of its output.
pub const BLOCK_OUTPUT_CAP: usize = 64 * 1024;
/// After a hang-up, how long the shell has before it is killed.
const HANG_UP_GRACE: Duration = Duration::from_secs(2);
/// How long a card's command waits for the shell's prompt.
const PROMPT_WAIT: Duration = Duration::from_secs(10);

/// Where the shell is, as its marks tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShellState {
    /// No prompt seen yet (or no integration at all).
    Starting,
    AtPrompt,
    Running,
}

/// What the writer task does.
enum Input {
    Keys(Bytes),
    Resize(u16, u16),
}

/// A command typed from a command card, waiting for its block.
struct PendingCard {
    cmd_id: String,
    command: String,
    user_id: String,
}

/// A finished command block and who it belongs to.
pub struct BlockDone {
    pub block: CommandBlock,
    pub cmd_id: Option<String>,
    /// Who typed it: the card's executor, or the last person who typed.
    pub user_id: Option<String>,
    pub shared: bool,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Ending {
    pub exit_code: Option<i32>,
    pub reason: String,
    pub recording_bytes: u64,
}

/// What a session is, fixed at its start.
#[derive(Clone, Debug)]
pub struct Identity {
    pub id: String,
    pub org_id: String,
    pub ticket_id: String,
    pub instance_id: String,
    pub scope: TerminalScope,
    pub started_by: Option<PersonRef>,
    pub started_at: DateTime<Utc>,
}

pub struct Session {
    pub identity: Identity,
    pub log: Arc<OutputLog>,
    pub screen: Arc<Screen>,
    size: watch::Sender<(u16, u16)>,
    share: watch::Sender<bool>,
    shell: watch::Sender<ShellState>,
    ended: watch::Sender<Option<Ending>>,
    /// Set when the session is being torn down: the writer stops.
    closing: watch::Sender<bool>,
    /// The recording's time zero.
    clock: Instant,
    integrated: AtomicBool,
    recording_bytes: AtomicU64,
    input: mpsc::Sender<Input>,
    /// Ask the reaper to end the session, with the reason.
    stop: Mutex<Option<oneshot::Sender<String>>>,
    pending_cards: Mutex<VecDeque<PendingCard>>,
    last_typist: Mutex<Option<String>>,
}

/// Everything needed to start one.
pub struct Start {
    pub identity: Identity,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// The asciicast file; `None` records nothing (the benchmark's baseline).
    pub recording: Option<PathBuf>,
    /// The integration rc file and its contents, if the shell gets one.
    pub rc: Option<(PathBuf, String)>,
    pub nonce: String,
    pub cols: u16,
    pub rows: u16,
    pub share_context: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    /// Starts the shell and its tasks. `blocks` receives each finished
    /// command block and closes when the output has ended; [`Session::endings`]
    /// then tells how it ended.
    pub fn start(start: Start, blocks: mpsc::UnboundedSender<BlockDone>) -> std::io::Result<Arc<Session>> {
        if let Some((path, contents)) = &start.rc {
            write_private(path, contents)?;
        }
        let recorder = match &start.recording {
            Some(path) => {
                // A journal while the session runs; the asciicast when it ends.
                let file = std::fs::File::create(asciicast::journal_path(path))?;
                let header = Header {
                    width: start.cols,
                    height: start.rows,
                    timestamp: start.identity.started_at.timestamp(),
                    title: Some(format!("{} {}", start.identity.ticket_id, start.identity.scope.label())),
                    env: vec![("TERM".into(), "xterm-256color".into()), ("SHELL".into(), start.argv[0].clone())],
                };
                Some(Journal::new(file, &header)?)
            }
            None => None,
        };
        let (pty, child) = Pty::spawn(&Spawn {
            argv: &start.argv,
            cwd: &start.cwd,
            env: &start.env,
            cols: start.cols,
            rows: start.rows,
        })?;
        let pty = Arc::new(pty);
        let (input_tx, input_rx) = mpsc::channel(256);
        let (stop_tx, stop_rx) = oneshot::channel();
        let session = Arc::new(Session {
            identity: start.identity,
            log: Arc::new(OutputLog::default()),
            screen: Arc::new(Screen::new(start.cols, start.rows)),
            size: watch::channel((start.cols, start.rows)).0,
            share: watch::channel(start.share_context).0,
            shell: watch::channel(ShellState::Starting).0,
            ended: watch::channel(None).0,
            closing: watch::channel(false).0,
            clock: Instant::now(),
            integrated: AtomicBool::new(false),
            recording_bytes: AtomicU64::new(0),
            input: input_tx,
            stop: Mutex::new(Some(stop_tx)),
            pending_cards: Mutex::new(VecDeque::new()),
            last_typist: Mutex::new(None),
        });
        let (recording, recorder_thread) = match recorder {
            Some(recorder) => {
                // Chunks are about 4 KB in a flood; the recorder is ten times faster
                // than a PTY, so the queue only holds what gathers while it waits.
                let (record_tx, record_rx) = mpsc::channel(RECORD_QUEUE);
                let thread = std::thread::Builder::new().name("terminal-recorder".into()).spawn({
                    let session = session.clone();
                    move || record(recorder, record_rx, &session)
                })?;
                (Recording(Some(record_tx)), Some(thread))
            }
            None => (Recording(None), None),
        };
        session.screen.clone().follow(session.log.clone())?;
        let writer = tokio::spawn(write_input(pty.clone(), input_rx, session.clone(), recording.clone()));
        let pump = tokio::spawn(pump(pty.clone(), session.clone(), start.nonce, blocks, recording));
        let rc_path = start.rc.map(|(path, _)| path);
        let recording = recorder_thread.zip(start.recording);
        tokio::spawn(reap(pty, child, pump, writer, stop_rx, session.clone(), recording, rc_path));
        Ok(session)
    }

    pub fn size(&self) -> (u16, u16) {
        *self.size.borrow()
    }

    pub fn sizes(&self) -> watch::Receiver<(u16, u16)> {
        self.size.subscribe()
    }

    pub fn share_context(&self) -> bool {
        *self.share.borrow()
    }

    pub fn shares(&self) -> watch::Receiver<bool> {
        self.share.subscribe()
    }

    pub fn set_share_context(&self, on: bool) {
        self.share.send_replace(on);
    }

    pub fn integrated(&self) -> bool {
        self.integrated.load(Ordering::Relaxed)
    }

    pub fn recording_bytes(&self) -> u64 {
        self.recording_bytes.load(Ordering::Relaxed)
    }

    pub fn ending(&self) -> Option<Ending> {
        self.ended.borrow().clone()
    }

    pub fn endings(&self) -> watch::Receiver<Option<Ending>> {
        self.ended.subscribe()
    }

    /// Keystrokes from a person who may type.
    pub async fn type_keys(&self, user_id: &str, keys: Bytes) {
        if lock(&self.last_typist).as_deref() != Some(user_id) {
            *lock(&self.last_typist) = Some(user_id.to_owned());
        }
        let _ = self.input.send(Input::Keys(keys)).await;
    }

    /// Resizes the terminal (clamped).
    pub async fn resize(&self, cols: u32, rows: u32) {
        let (cols, rows) = super::pty::clamp_size(cols, rows);
        let _ = self.input.send(Input::Resize(cols, rows)).await;
    }

    /// Types a command card's command at the next prompt; its block will
    /// carry `cmd_id`. Without shell integration it is typed after a short
    /// wait and no block can be cut.
    pub async fn type_card(&self, cmd_id: &str, command: &str, user_id: &str) {
        let mut shell = self.shell.subscribe();
        let at_prompt = tokio::time::timeout(PROMPT_WAIT, shell.wait_for(|s| *s == ShellState::AtPrompt))
            .await
            .is_ok_and(|seen| seen.is_ok());
        if !at_prompt {
            tracing::debug!(session = %self.identity.id, "no prompt seen; typing the card's command anyway");
        }
        lock(&self.pending_cards).push_back(PendingCard {
            cmd_id: cmd_id.to_owned(),
            command: command.trim().to_owned(),
            user_id: user_id.to_owned(),
        });
        let mut keys = command.trim().as_bytes().to_vec();
        keys.push(b'\r');
        let _ = self.input.send(Input::Keys(Bytes::from(keys))).await;
    }

    /// Ends the session (hang-up, then kill after a grace period).
    pub fn end(&self, reason: &str) {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(reason.to_owned());
        }
    }

    /// Whether a started block's command is the card typed last.
    fn claim_card(&self, command: &str) -> Option<PendingCard> {
        let mut pending = lock(&self.pending_cards);
        let normalise = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let position = pending.iter().position(|card| normalise(&card.command) == normalise(command))?;
        pending.remove(position)
    }
}

/// Writes a file only its owner can read (the rc holds the nonce).
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

enum RecordEvent {
    Output(Duration, Bytes),
    Resize(Duration, u16, u16),
    Marker(Duration, String),
}

/// Where the pump and the writer send what the recording needs (nowhere
/// when the session records nothing).
#[derive(Clone)]
struct Recording(Option<mpsc::Sender<RecordEvent>>);

impl Recording {
    /// False once the recorder is gone.
    async fn send(&self, event: RecordEvent) -> bool {
        match &self.0 {
            Some(events) => events.send(event).await.is_ok(),
            None => true,
        }
    }
}

/// The recorder thread: writes events until every sender is gone.
fn record<W: std::io::Write>(
    mut recorder: Journal<W>,
    mut events: mpsc::Receiver<RecordEvent>,
    session: &Session,
) -> std::io::Result<()> {
    super::yield_to_the_stream(RECORDER_NICE);
    let mut result = Ok(());
    while let Some(first) = events.blocking_recv() {
        // Let a flood's chunks gather: waking this thread for every 4 KiB
        // read cost the shell more than writing them down.
        std::thread::sleep(RECORD_GATHER);
        let mut next = Some(first);
        while let Some(event) = next {
            if result.is_ok() {
                // After a failure, keep draining so the pump never blocks on a dead recorder.
                result = match event {
                    RecordEvent::Output(at, bytes) => recorder.output(at, bytes),
                    RecordEvent::Resize(at, cols, rows) => recorder.resize(at, cols, rows),
                    RecordEvent::Marker(at, label) => recorder.marker(at, &label),
                };
            }
            next = events.try_recv().ok();
        }
        if result.is_ok() {
            result = recorder.flush();
        }
        session.recording_bytes.store(recorder.bytes_written(), Ordering::Relaxed);
    }
    result?;
    recorder.flush()
}

/// Types keystrokes and applies resizes, in the order they came.
async fn write_input(pty: Arc<Pty>, mut input: mpsc::Receiver<Input>, session: Arc<Session>, record: Recording) {
    let mut closing = session.closing.subscribe();
    loop {
        let next = tokio::select! {
            next = input.recv() => next,
            _ = closing.wait_for(|c| *c) => None,
        };
        let Some(next) = next else { return };
        match next {
            Input::Keys(keys) => {
                let written = tokio::select! {
                    written = pty.write_all(&keys) => written,
                    _ = closing.wait_for(|c| *c) => return,
                };
                if let Err(error) = written {
                    tracing::debug!(session = %session.identity.id, "terminal input failed: {error}");
                    return;
                }
            }
            Input::Resize(cols, rows) => {
                if session.size() == (cols, rows) {
                    continue;
                }
                if pty.resize(cols, rows).is_ok() {
                    session.screen.resize(cols, rows);
                    session.size.send_replace((cols, rows));
                    record.send(RecordEvent::Resize(session.clock.elapsed(), cols, rows)).await;
                }
            }
        }
    }
}

/// Reads the PTY until it closes.
async fn pump(
    pty: Arc<Pty>,
    session: Arc<Session>,
    nonce: String,
    blocks: mpsc::UnboundedSender<BlockDone>,
    record: Recording,
) {
    let mut scanner = MarkScanner::new(&nonce);
    let mut builder = BlockBuilder::new(BLOCK_OUTPUT_CAP);
    let mut card: Option<PendingCard> = None;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let read = if session.log.unannounced() {
            // A flood may have just ended: tell the watchers if nothing more comes soon.
            match tokio::time::timeout(ANNOUNCE_EVERY, pty.read(&mut buffer)).await {
                Ok(read) => read,
                Err(_) => {
                    session.log.announce();
                    pty.read(&mut buffer).await
                }
            }
        } else {
            pty.read(&mut buffer).await
        };
        let mut filled = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Take whatever else is already there, up to a chunk.
        while filled < CHUNK {
            match pty.try_read(&mut buffer[filled..]) {
                Ok(Some(n)) if n > 0 => filled += n,
                _ => break,
            }
        }
        let (shown, marks) = scanner.feed(Bytes::copy_from_slice(&buffer[..filled]));
        if !marks.is_empty() {
            session.integrated.store(true, Ordering::Relaxed);
            let mut from = 0;
            for (at, mark) in marks {
                builder.output(&shown[from..at]);
                from = at;
                let state = match &mark {
                    Mark::PromptStart => ShellState::AtPrompt,
                    Mark::CommandStart { .. } => ShellState::Running,
                    Mark::CommandEnd { .. } => *session.shell.borrow(),
                };
                let starts = matches!(mark, Mark::CommandStart { .. });
                if let Some(block) = builder.mark(mark, Utc::now()) {
                    let done = finish_block(&session, block, card.take());
                    record.send(RecordEvent::Marker(session.clock.elapsed(), done.block.command.clone())).await;
                    let _ = blocks.send(done);
                }
                if starts {
                    card = builder.running().and_then(|command| session.claim_card(command));
                }
                session.shell.send_replace(state);
            }
            builder.output(&shown[from..]);
        } else {
            builder.output(&shown);
        }
        if shown.is_empty() {
            continue;
        }
        session.log.push(shown.clone());
        if !record.send(RecordEvent::Output(session.clock.elapsed(), shown)).await {
            break;
        }
        session.log.pace().await;
    }
    let rest = scanner.finish();
    if !rest.is_empty() {
        session.log.push(rest.clone());
        record.send(RecordEvent::Output(session.clock.elapsed(), rest)).await;
    }
}

fn finish_block(session: &Session, block: CommandBlock, card: Option<PendingCard>) -> BlockDone {
    let (cmd_id, user_id) = match card {
        Some(card) => (Some(card.cmd_id), Some(card.user_id)),
        None => (None, lock(&session.last_typist).clone()),
    };
    BlockDone { block, cmd_id, user_id, shared: session.share_context() }
}

/// Waits for the shell to exit or for a stop request, then makes sure the
/// whole session is gone and the recording is complete.
#[allow(clippy::too_many_arguments)]
async fn reap(
    pty: Arc<Pty>,
    mut child: tokio::process::Child,
    mut pump: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
    stop: oneshot::Receiver<String>,
    session: Arc<Session>,
    recording: Option<(std::thread::JoinHandle<std::io::Result<()>>, PathBuf)>,
    rc_path: Option<PathBuf>,
) {
    let (exit_code, reason) = tokio::select! {
        status = child.wait() => {
            let code = status.ok().and_then(|s| s.code());
            (code, match code { Some(code) => format!("the shell exited with code {code}"), None => "the shell was killed".into() })
        }
        reason = stop => {
            let reason = reason.unwrap_or_else(|_| "the server stopped it".into());
            pty.hang_up(false);
            let code = match tokio::time::timeout(HANG_UP_GRACE, child.wait()).await {
                Ok(status) => status.ok().and_then(|s| s.code()),
                Err(_) => {
                    pty.hang_up(true);
                    child.wait().await.ok().and_then(|s| s.code())
                }
            };
            (code, reason)
        }
    };
    // Programs the shell left behind keep the PTY open: hang up on them too.
    pty.hang_up(false);
    if tokio::time::timeout(HANG_UP_GRACE, &mut pump).await.is_err() {
        pty.hang_up(true);
        if tokio::time::timeout(HANG_UP_GRACE, &mut pump).await.is_err() {
            pump.abort();
        }
    }
    session.log.close();
    drop(pty);
    if let Some(path) = rc_path {
        let _ = std::fs::remove_file(path);
    }
    // The writer holds a recording sender: it must end before the recording can.
    session.closing.send_replace(true);
    let _ = writer.await;
    if let Some((recorder, cast)) = recording {
        let id = session.identity.id.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            // After a failed write the journal still holds every record before
            // it: that much of the session is still worth its asciicast.
            match recorder.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(session = %id, "the terminal recording stopped early: {error}"),
                Err(_) => tracing::error!(session = %id, "the terminal recorder panicked"),
            }
            asciicast::complete_journal(&cast)
        })
        .await;
        match recorded {
            Ok(Ok(bytes)) => session.recording_bytes.store(bytes, Ordering::Relaxed),
            Ok(Err(error)) => tracing::error!(
                session = %session.identity.id,
                "the terminal recording could not be completed (its journal is kept and still served): {error}"
            ),
            Err(error) => {
                tracing::error!(session = %session.identity.id, "the terminal recording could not be completed: {error}")
            }
        }
    }
    session.ended.send_replace(Some(Ending { exit_code, reason, recording_bytes: session.recording_bytes() }));
}

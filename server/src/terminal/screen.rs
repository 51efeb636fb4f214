//! The server's copy of a session's screen, for late joiners and lapped
//! watchers: a vt100 emulator fed from the output log by its own thread
//! (parsing is CPU work that must not hold up the async runtime), so it
//! may lag behind a flood without slowing the stream. A snapshot is the
//! escape sequences that redraw the screen plus the stream offset it
//! stands for; the watcher streams from exactly that offset, so nothing is
//! missed or drawn twice.

use super::fast_forward::FastForward;
use super::output::{OutputLog, Read};
use std::sync::{Arc, Mutex};

/// The emulator's nice value: it may lag (a joiner then gets an older screen
/// and more of the stream), so it takes what the stream leaves.
const SCREEN_NICE: i32 = 10;
/// The emulator processes the log in reads of at most this size.
const STEP: usize = 1024 * 1024;
/// After output wakes it, the emulator lets more gather for this long: one
/// wake per PTY read (4 KiB in a flood) cost more than the parsing, and a
/// bigger read lets [`FastForward`] leave out more.
const GATHER: std::time::Duration = std::time::Duration::from_millis(4);

struct State {
    parser: vt100::Parser,
    /// Leaves out the text that scrolls away (the emulator is slower than a flood).
    forward: FastForward,
    /// Stream offset up to which `parser` has seen the output.
    offset: u64,
}

pub struct Screen {
    state: Mutex<State>,
}

/// A screen to draw and where the stream goes on from.
pub struct Snapshot {
    pub bytes: Vec<u8>,
    pub offset: u64,
    pub cols: u16,
    pub rows: u16,
}

impl Screen {
    pub fn new(cols: u16, rows: u16) -> Self {
        Screen {
            state: Mutex::new(State {
                parser: vt100::Parser::new(rows, cols, 0),
                forward: FastForward::default(),
                offset: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.lock().parser.screen_mut().set_size(rows, cols);
    }

    /// The current screen as escape sequences for a freshly reset terminal.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        let screen = state.parser.screen();
        let (rows, cols) = screen.size();
        let mut bytes = Vec::with_capacity(4096);
        if screen.alternate_screen() {
            // Full-screen programs (vim, top) draw on the alternate screen.
            bytes.extend_from_slice(b"\x1b[?1049h");
        }
        bytes.extend_from_slice(&screen.state_formatted());
        bytes.extend_from_slice(&screen.cursor_state_formatted());
        Snapshot { bytes, offset: state.offset, cols, rows }
    }

    fn start_over(&self, log: &OutputLog) {
        let mut state = self.lock();
        let (rows, cols) = state.parser.screen().size();
        state.parser = vt100::Parser::new(rows, cols, 0);
        state.forward = FastForward::default();
        let (end, _) = log.end();
        state.offset = end.saturating_sub(super::output::RETAIN as u64 / 2);
    }

    /// Starts the thread that feeds the emulator from `log` until the log
    /// closes. If it falls further behind than the log keeps, it starts over
    /// from recent output (the screen is then rebuilt from the last 4 MiB).
    pub fn follow(self: Arc<Self>, log: Arc<OutputLog>) -> std::io::Result<()> {
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new().name("terminal-screen".into()).spawn(move || {
            super::yield_to_the_stream(SCREEN_NICE);
            let mut changes = log.subscribe();
            let mut batch = Vec::with_capacity(STEP);
            loop {
                let offset = self.lock().offset;
                match log.read(offset, STEP) {
                    Read::Data(chunks) => {
                        // One buffer: text that scrolls away is left out within a read.
                        batch.clear();
                        for chunk in &chunks {
                            batch.extend_from_slice(chunk);
                        }
                        let mut state = self.lock();
                        let State { parser, forward, offset } = &mut *state;
                        forward.feed(parser, &batch);
                        *offset += batch.len() as u64;
                    }
                    Read::Lapped => self.start_over(&log),
                    Read::UpToDate => {
                        if log.end().1 || runtime.block_on(changes.changed()).is_err() {
                            return;
                        }
                        std::thread::sleep(GATHER);
                    }
                }
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn a_snapshot_redraws_the_screen_at_its_offset() {
        let log = Arc::new(OutputLog::default());
        let screen = Arc::new(Screen::new(20, 5));
        screen.clone().follow(log.clone()).unwrap();
        log.push(Bytes::from_static(b"line one\r\n\x1b[31mred\x1b[0m"));
        log.close();
        while screen.snapshot().offset < log.end().0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let snapshot = screen.snapshot();
        assert_eq!(snapshot.offset, log.end().0);
        assert_eq!((snapshot.cols, snapshot.rows), (20, 5));
        let mut replay = vt100::Parser::new(5, 20, 0);
        replay.process(&snapshot.bytes);
        assert_eq!(replay.screen().contents(), "line one\nred");
        assert_eq!(replay.screen().cursor_position(), (1, 3));
    }
}

//! The terminal in the browser (`hydrate` only): xterm.js through
//! xterm-js-rs, fitted to its panel, connected to a session's websocket;
//! and the replay of a recording.
//!
//! Flow control: every output frame is written with xterm's write callback,
//! and the callback acknowledges the stream offset drawn so far. The server
//! keeps at most a window of unacknowledged bytes in flight, so a flood of
//! output can never pile up in a tab faster than xterm draws it.

use crate::model::{parse_asciicast, TermClientFrame, TermServerFrame};
use js_sys::{Function, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use xterm_js_rs::{Terminal, TerminalOptions, Theme};

// xterm-js-rs 0.1.2 predates xterm.js 5: its `writeUtf8` is gone and it has
// no byte write with a callback, and its fit addon imports a package name
// that no longer exists. These bind what xterm.js 6 has, on a local view of
// the same object (methods cannot be added to the crate's own type).
#[wasm_bindgen]
extern "C" {
    type XTerm;

    /// `Terminal.write(data, callback)`: xterm keeps `data` until it has parsed
    /// it, so it must be a copy, never a view into wasm memory.
    #[wasm_bindgen(method, js_name = write)]
    fn write_bytes(this: &XTerm, data: &Uint8Array, callback: &Function);

    #[wasm_bindgen(method, js_name = loadAddon)]
    fn load_addon(this: &XTerm, addon: &JsValue);

    #[wasm_bindgen(method, getter)]
    fn options(this: &XTerm) -> TerminalOptions;

    /// `{cols, rows}` from `onResize`.
    type TermSize;
    #[wasm_bindgen(method, getter)]
    fn cols(this: &TermSize) -> u32;
    #[wasm_bindgen(method, getter)]
    fn rows(this: &TermSize) -> u32;
}

#[wasm_bindgen(module = "@xterm/addon-fit")]
extern "C" {
    type FitAddon;
    #[wasm_bindgen(constructor)]
    fn new() -> FitAddon;
    #[wasm_bindgen(method)]
    fn fit(this: &FitAddon);
}

fn xterm(term: &Terminal) -> &XTerm {
    term.unchecked_ref::<XTerm>()
}

/// A terminal drawn into `host`.
fn new_terminal(host: &web_sys::HtmlElement, read_only: bool) -> Terminal {
    let theme = Theme::new();
    theme.set_background("#0f1419");
    theme.set_foreground("#d6dde6");
    let options = TerminalOptions::new();
    options.set_font_size(13);
    options.set_font_family("ui-monospace, SFMono-Regular, Menlo, Consolas, monospace");
    options.set_cursor_blink(!read_only);
    options.set_disable_stdin(read_only);
    options.set_scrollback(5000);
    options.set_theme(&theme);
    let term = Terminal::new(&options);
    term.open(host.clone());
    term
}

/// What the terminal tells the page.
pub struct TerminalEvents {
    pub on_hello: Box<dyn Fn(bool)>,
    pub on_shared: Box<dyn Fn(bool)>,
    pub on_ended: Box<dyn Fn(String)>,
    pub on_online: Box<dyn Fn(bool)>,
}

/// The terminal and addon handles (never borrowed mutably: xterm calls back
/// into us synchronously, e.g. `onResize` from inside `resize`).
struct Inner {
    term: Terminal,
    fit: FitAddon,
    state: RefCell<State>,
    socket: RefCell<Option<crate::browser::ReconnectingSocket>>,
    /// The server's size is being applied: do not echo it back.
    applying_size: std::cell::Cell<bool>,
    observer: RefCell<Option<web_sys::ResizeObserver>>,
    // Closures xterm and the observer call for the terminal's whole life.
    keep: RefCell<Vec<JsValue>>,
}

struct State {
    can_type: bool,
    /// Stream offset of the last reset; `drawn` counts stream bytes since.
    base: u64,
    drawn: u64,
    /// Bumped at every reset: callbacks of writes from before are stale.
    generation: u32,
    /// The next binary frame is a screen snapshot, not stream bytes.
    snapshot_next: bool,
    ended: bool,
    stopped: bool,
}

/// A live terminal session in the page. Dropping it closes the socket and
/// disposes the terminal.
pub struct LiveTerminal {
    inner: Rc<Inner>,
}

impl Drop for LiveTerminal {
    fn drop(&mut self) {
        self.inner.state.borrow_mut().stopped = true;
        drop(self.inner.socket.borrow_mut().take());
        if let Some(observer) = self.inner.observer.borrow_mut().take() {
            observer.disconnect();
        }
        self.inner.term.dispose();
        self.inner.keep.borrow_mut().clear();
    }
}

fn send(inner: &Inner, frame: &TermClientFrame) {
    if let (Some(socket), Ok(text)) = (&*inner.socket.borrow(), serde_json::to_string(frame)) {
        socket.send_str(&text);
    }
}

impl LiveTerminal {
    /// Shows the session whose websocket is at `path` in `host`.
    pub fn attach(host: &web_sys::HtmlElement, path: &str, events: TerminalEvents) -> LiveTerminal {
        let term = new_terminal(host, false);
        let fit = FitAddon::new();
        xterm(&term).load_addon(fit.as_ref());
        let inner = Rc::new(Inner {
            term,
            fit,
            state: RefCell::new(State {
                can_type: false,
                base: 0,
                drawn: 0,
                generation: 0,
                snapshot_next: false,
                ended: false,
                stopped: false,
            }),
            socket: RefCell::new(None),
            applying_size: std::cell::Cell::new(false),
            observer: RefCell::new(None),
            keep: RefCell::new(Vec::new()),
        });
        let on_data = {
            let inner = inner.clone();
            Closure::<dyn FnMut(String)>::new(move |data: String| {
                let can_type = inner.state.borrow().can_type;
                if let (true, Some(socket)) = (can_type, &*inner.socket.borrow()) {
                    socket.send_bytes(data.as_bytes());
                }
            })
        };
        let on_resize = {
            let inner = inner.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |size: JsValue| {
                let can_type = inner.state.borrow().can_type;
                if can_type && !inner.applying_size.get() {
                    let size = size.unchecked_into::<TermSize>();
                    send(&inner, &TermClientFrame::Resize { cols: size.cols(), rows: size.rows() });
                }
            })
        };
        let on_panel_resize = {
            let inner = inner.clone();
            Closure::<dyn FnMut()>::new(move || {
                // People who type size the terminal to their panel; watchers follow it.
                let can_type = inner.state.borrow().can_type;
                if can_type {
                    inner.fit.fit();
                }
            })
        };
        inner.term.on_data(on_data.as_ref().unchecked_ref());
        inner.term.on_resize(on_resize.as_ref().unchecked_ref());
        if let Ok(observer) = web_sys::ResizeObserver::new(on_panel_resize.as_ref().unchecked_ref()) {
            observer.observe(host);
            *inner.observer.borrow_mut() = Some(observer);
        }
        *inner.keep.borrow_mut() =
            vec![on_data.into_js_value(), on_resize.into_js_value(), on_panel_resize.into_js_value()];
        let socket = connect(&inner, path, Rc::new(events));
        *inner.socket.borrow_mut() = Some(socket);
        LiveTerminal { inner }
    }
}

fn connect(inner: &Rc<Inner>, path: &str, events: Rc<TerminalEvents>) -> crate::browser::ReconnectingSocket {
    let (opened, closed, message) = (events.clone(), events.clone(), events);
    let (on_message_inner, reconnect_inner) = (inner.clone(), inner.clone());
    crate::browser::ReconnectingSocket::open(
        path,
        crate::browser::SocketHandlers {
            binary: true,
            on_open: Box::new(move |_| (opened.on_online)(true)),
            on_message: Box::new(move |event| {
                let data = event.data();
                if let Some(text) = data.as_string() {
                    if let Ok(frame) = serde_json::from_str::<TermServerFrame>(&text) {
                        on_frame(&on_message_inner, &message, frame);
                    }
                } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                    on_bytes(&on_message_inner, Uint8Array::new(&buffer));
                }
            }),
            on_close: Box::new(move || (closed.on_online)(false)),
            // An ended session has nothing more to say.
            reconnect: Box::new(move || !reconnect_inner.state.borrow().ended),
        },
    )
}

fn on_frame(inner: &Rc<Inner>, events: &TerminalEvents, frame: TermServerFrame) {
    match frame {
        TermServerFrame::Hello { can_type, session } => {
            inner.state.borrow_mut().can_type = can_type;
            let options = xterm(&inner.term).options();
            options.set_disable_stdin(!can_type);
            options.set_cursor_blink(can_type);
            (events.on_hello)(can_type);
            (events.on_shared)(session.share_context);
        }
        TermServerFrame::Reset { offset, cols, rows } => {
            let can_type = {
                let mut state = inner.state.borrow_mut();
                state.generation = state.generation.wrapping_add(1);
                state.base = offset;
                state.drawn = 0;
                state.snapshot_next = true;
                state.can_type
            };
            inner.term.reset();
            apply_size(inner, cols, rows);
            if can_type {
                // Our panel may differ from the session's size: offer ours.
                inner.fit.fit();
            }
        }
        TermServerFrame::Size { cols, rows } => apply_size(inner, cols, rows),
        TermServerFrame::Shared { share_context } => (events.on_shared)(share_context),
        TermServerFrame::Ended { reason, .. } => {
            inner.state.borrow_mut().ended = true;
            inner.term.write(&format!("\r\n\x1b[2m[session ended: {reason}]\x1b[0m\r\n"));
            (events.on_ended)(reason);
        }
    }
}

fn apply_size(inner: &Inner, cols: u16, rows: u16) {
    if inner.term.get_cols() == u32::from(cols) && inner.term.get_rows() == u32::from(rows) {
        return;
    }
    inner.applying_size.set(true);
    inner.term.resize(u32::from(cols), u32::from(rows));
    inner.applying_size.set(false);
}

fn on_bytes(inner: &Rc<Inner>, data: Uint8Array) {
    let generation = {
        let mut state = inner.state.borrow_mut();
        if state.snapshot_next {
            state.snapshot_next = false;
            None
        } else {
            Some(state.generation)
        }
    };
    let Some(generation) = generation else {
        // The screen snapshot: not stream bytes, nothing to acknowledge.
        xterm(&inner.term).write_bytes(&data, &Function::new_no_args(""));
        return;
    };
    let length = u64::from(data.length());
    let drawn = {
        let inner = inner.clone();
        Closure::once_into_js(move || {
            let mut state = inner.state.borrow_mut();
            if state.generation != generation || state.stopped {
                return;
            }
            state.drawn += length;
            let offset = state.base + state.drawn;
            drop(state);
            send(&inner, &TermClientFrame::Ack { offset });
        })
    };
    xterm(&inner.term).write_bytes(&data, drawn.unchecked_ref());
}

/// A recording played back in `host`.
pub struct Replay {
    inner: Rc<RefCell<ReplayInner>>,
}

struct ReplayInner {
    term: Terminal,
    events: Vec<(f64, String, String)>,
    next: usize,
    /// Recording time reached, in seconds (idle gaps capped).
    at: f64,
    speed: f64,
    playing: bool,
    timer: Option<i32>,
    on_progress: Box<dyn Fn(f64, bool)>,
}

/// Idle stretches longer than this play as this long.
const MAX_IDLE: f64 = 1.0;
/// Playback advances in ticks of this many milliseconds.
const TICK_MS: i32 = 30;

impl Replay {
    /// Parses `cast` and shows its first frame; `on_progress(fraction, playing)`.
    pub fn new(host: &web_sys::HtmlElement, cast: &str, on_progress: Box<dyn Fn(f64, bool)>) -> Result<Replay, String> {
        let (header, events) = parse_asciicast(cast)?;
        let term = new_terminal(host, true);
        let width = header.get("width").and_then(|w| w.as_u64()).unwrap_or(80) as u32;
        let height = header.get("height").and_then(|h| h.as_u64()).unwrap_or(24) as u32;
        term.resize(width.clamp(10, 500), height.clamp(2, 200));
        // Compress idle time once, so progress and playback agree.
        let mut compressed = Vec::with_capacity(events.len());
        let (mut last, mut clock) = (0.0, 0.0);
        for event in events {
            clock += (event.time - last).clamp(0.0, MAX_IDLE);
            last = event.time;
            compressed.push((clock, event.code, event.data));
        }
        let inner = Rc::new(RefCell::new(ReplayInner {
            term,
            events: compressed,
            next: 0,
            at: 0.0,
            speed: 1.0,
            playing: false,
            timer: None,
            on_progress,
        }));
        Ok(Replay { inner })
    }

    pub fn play(&self) {
        let mut state = self.inner.borrow_mut();
        if state.next >= state.events.len() {
            state.term.reset();
            state.next = 0;
            state.at = 0.0;
        }
        state.playing = true;
        drop(state);
        schedule(self.inner.clone());
    }

    pub fn pause(&self) {
        let mut state = self.inner.borrow_mut();
        state.playing = false;
        if let (Some(timer), Some(window)) = (state.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(timer);
        }
        (state.on_progress)(progress(&state), false);
    }

    pub fn set_speed(&self, speed: f64) {
        self.inner.borrow_mut().speed = speed.clamp(0.25, 16.0);
    }

    /// Jumps to the end: the final screen.
    pub fn skip_to_end(&self) {
        let mut state = self.inner.borrow_mut();
        let end = state.events.last().map_or(0.0, |e| e.0);
        advance(&mut state, end);
        state.playing = false;
        (state.on_progress)(1.0, false);
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let mut state = self.inner.borrow_mut();
        state.playing = false;
        if let (Some(timer), Some(window)) = (state.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(timer);
        }
        state.term.dispose();
    }
}

fn progress(state: &ReplayInner) -> f64 {
    let total = state.events.last().map_or(0.0, |e| e.0);
    if total <= 0.0 {
        return if state.next >= state.events.len() { 1.0 } else { 0.0 };
    }
    (state.at / total).clamp(0.0, 1.0)
}

/// Writes every event up to recording time `to`.
fn advance(state: &mut ReplayInner, to: f64) {
    state.at = to;
    while let Some((time, code, data)) = state.events.get(state.next) {
        if *time > to {
            break;
        }
        match code.as_str() {
            "o" => state.term.write(data),
            "r" => {
                if let Some((cols, rows)) = data.split_once('x') {
                    if let (Ok(cols), Ok(rows)) = (cols.parse::<u32>(), rows.parse::<u32>()) {
                        state.term.resize(cols.clamp(10, 500), rows.clamp(2, 200));
                    }
                }
            }
            _ => {}
        }
        state.next += 1;
    }
}

fn schedule(inner: Rc<RefCell<ReplayInner>>) {
    let tick = {
        let inner = inner.clone();
        Closure::once_into_js(move || {
            let mut state = inner.borrow_mut();
            state.timer = None;
            if !state.playing {
                return;
            }
            let to = state.at + f64::from(TICK_MS) / 1000.0 * state.speed;
            advance(&mut state, to);
            let done = state.next >= state.events.len();
            state.playing = !done;
            (state.on_progress)(progress(&state), !done);
            drop(state);
            if !done {
                schedule(inner);
            }
        })
    };
    if let Some(window) = web_sys::window() {
        let timer = window.set_timeout_with_callback_and_timeout_and_arguments_0(tick.unchecked_ref(), TICK_MS).ok();
        inner.borrow_mut().timer = timer;
    }
}

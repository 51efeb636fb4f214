//! The shared terminal against its ceiling, the PTY itself, in one run:
//!
//! 1. bare PTY: `cat` of a 200 MB text file through a PTY, read by a
//!    minimal reader (64 KiB reads) — the rate every other figure is a ratio of;
//! 2. a session in-process (marks, command blocks, log, screen) with the
//!    recording off and on: what recording costs;
//! 3. the real `opsdesk` binary (built next to this example) with 1, 10 and
//!    100 websocket watchers that acknowledge what they read as browsers do:
//!    each watcher's rate, no byte lost or repeated (every watcher's stream
//!    has the same length and hash as the server's log), the server's peak
//!    memory;
//! 4. one watcher that stops reading among 10: the others' rate, and the
//!    slow one resumes from a snapshot;
//! 5. keystroke → echo through the server vs on a bare PTY running bash;
//! 6. late join after 50 MB of output: time to the first screen, bytes sent.
//!
//! Run it with:
//!
//!     cargo build --release -p opsdesk-server --bin opsdesk --example bench_terminal
//!     bash -c 'ulimit -n 8192 && target/release/examples/bench_terminal'
//!
//! Prints a Markdown table for docs/benchmarks.md. It asserts no timing.

mod support;

use futures_util::StreamExt;
use opsdesk_server::api::terminal_socket::frame_header;
use opsdesk_server::terminal::pty::{Pty, Spawn};
use opsdesk_server::terminal::session::{Identity, Session, Start};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{cpu_seconds, free_port, percentile, rss_kib};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BIG: usize = 200_000_000;
const LATE_JOIN: usize = 50_000_000;
const KEYSTROKES: usize = 1_000;

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// A text file of numbered lines, at least `size` bytes: its path, size and line count.
fn text_file(dir: &std::path::Path, name: &str, size: usize) -> (std::path::PathBuf, usize, usize) {
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut written = 0;
    let mut n = 0u64;
    while written < size {
        let line = format!("{n:012} the quick brown fox jumps over the lazy dog, 0123456789 ABCDEFGHIJKLMNOPQRSTUVW\n");
        file.write_all(line.as_bytes()).unwrap();
        written += line.len();
        n += 1;
    }
    file.flush().unwrap();
    (path, written, n as usize)
}

fn base_env() -> Vec<(String, String)> {
    ["PATH", "HOME", "LANG"].iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
}

type TextFile = (std::path::PathBuf, usize, usize);

/// `cat` through a bare PTY, read 64 KiB at a time: MB/s.
async fn bare_pty(file: &std::path::Path) -> f64 {
    let argv = vec!["cat".to_owned(), file.display().to_string()];
    let dir = std::env::temp_dir();
    let (pty, mut child) =
        Pty::spawn(&Spawn { argv: &argv, cwd: &dir, env: &base_env(), cols: 100, rows: 30 }).unwrap();
    let mut buffer = vec![0u8; 64 * 1024];
    let started = Instant::now();
    let mut total = 0;
    loop {
        let n = pty.read(&mut buffer).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    let took = started.elapsed();
    child.wait().await.unwrap();
    mb_per_s(total, took)
}

/// The longest time a recorded session took, after its output ended, to
/// turn its journal into the asciicast.
static FINISHING_MS: AtomicU64 = AtomicU64::new(0);

/// `cat` through an in-process session (no watcher): MB/s, and this
/// process's CPU seconds until the output ended.
async fn session_rate(file: &std::path::Path, recording: bool, dir: &std::path::Path) -> (f64, f64) {
    // A new file each run, as each session has: re-creating one would time
    // the truncation of the last run's 200 MB too.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let id = format!("bench-{}-{}", if recording { "on" } else { "off" }, RUNS.fetch_add(1, Ordering::Relaxed));
    let start = Start {
        identity: Identity {
            id: id.clone(),
            org_id: "o".into(),
            ticket_id: "t".into(),
            instance_id: "i".into(),
            scope: Default::default(),
            started_by: None,
            started_at: chrono::Utc::now(),
        },
        argv: vec!["cat".into(), file.display().to_string()],
        env: base_env(),
        cwd: dir.to_owned(),
        recording: recording.then(|| dir.join(format!("{id}.cast"))),
        rc: None,
        nonce: "0123456789abcdef0123456789abcdef".into(),
        cols: 100,
        rows: 30,
        share_context: false,
    };
    let (blocks, _unused) = tokio::sync::mpsc::unbounded_channel();
    let (started, cpu) = (Instant::now(), cpu_seconds(std::process::id()));
    let session = Session::start(start, blocks).unwrap();
    // The stream's pace: until the output has ended (the asciicast is
    // written from the journal after that, off the stream's path).
    let mut output = session.log.subscribe();
    while !session.log.end().1 {
        output.changed().await.unwrap();
    }
    let (took, cpu) = (started.elapsed(), cpu_seconds(std::process::id()) - cpu);
    let mut endings = session.endings();
    endings.wait_for(Option::is_some).await.unwrap();
    let finishing = started.elapsed() - took;
    if recording {
        FINISHING_MS.fetch_max(finishing.as_millis() as u64, Ordering::Relaxed);
    }
    let _ = std::fs::remove_file(dir.join(format!("{id}.cast")));
    let _ = std::fs::remove_file(dir.join(format!("{id}.journal")));
    (mb_per_s(session.log.end().0 as usize, took), cpu)
}

/// A watcher that counts and hashes the stream it receives and acknowledges
/// it, as the browser does after xterm.js has drawn it.
struct Watcher {
    conn: RawSocket,
    /// Stream offset of the last reset, and stream bytes since.
    base: u64,
    bytes: u64,
    hash: Checksum,
    /// Bytes short of a whole block, hashed with the next frame.
    carry: Vec<u8>,
    /// Whether [`MARKER`] has come since the last restart.
    seen: bool,
    /// The end of the stream so far (to spot the end marker).
    tail: Vec<u8>,
    resets: usize,
    snapshot_next: bool,
    snapshot: Vec<u8>,
    acks: bool,
    /// Binary frames since the last restart (their mean size tells how well output coalesces).
    frames: u64,
    /// Stream bytes before which the end marker cannot come (it is searched for only after).
    expect: u64,
}

/// What the shell prints after each `cat` (typed as `END-$((6*7))`, so the
/// echo of the command line does not match).
const MARKER: &[u8] = b"END-42";

impl Watcher {
    async fn connect(addr: &str, token: &str, path: &str) -> Watcher {
        let conn = RawSocket::connect(addr, token, path).await;
        let mut watcher = Watcher {
            conn,
            base: 0,
            bytes: 0,
            hash: [0; 2 * LANES],
            carry: Vec::new(),
            seen: false,
            tail: Vec::new(),
            resets: 0,
            snapshot_next: false,
            snapshot: Vec::new(),
            acks: true,
            frames: 0,
            expect: 0,
        };
        while watcher.resets == 0 || watcher.snapshot_next {
            watcher.read().await;
        }
        watcher
    }

    /// Starts counting afresh (the measured stream starts here).
    fn restart(&mut self) {
        self.base += self.bytes;
        self.bytes = 0;
        self.hash = [0; 2 * LANES];
        self.carry.clear();
        self.tail.clear();
        self.seen = false;
        self.frames = 0;
        self.expect = 0;
    }

    /// Reads what the socket brings next; answers the stream bytes it carried.
    async fn read(&mut self) -> usize {
        match self.conn.next().await {
            Piece::Binary { from, to, last } => {
                let bytes = &self.conn.buffer[from..to];
                if self.snapshot_next {
                    self.snapshot.extend_from_slice(bytes);
                    if last {
                        self.snapshot_next = false;
                        // A lapped watcher may find the end marker on its new screen.
                        self.seen |= self.snapshot.windows(MARKER.len()).any(|w| w == MARKER);
                    }
                    return 0;
                }
                hash_stream(&mut self.hash, &mut self.carry, bytes);
                let search = self.bytes + bytes.len() as u64 >= self.expect;
                watch_tail(&mut self.tail, &mut self.seen, bytes, search);
                let n = bytes.len();
                self.bytes += n as u64;
                self.frames += last as u64;
                // Acknowledged per frame, as the browser does once xterm.js has drawn it.
                if last && self.acks {
                    let ack = json!({ "type": "ack", "offset": self.base + self.bytes }).to_string();
                    self.conn.send(0x1, ack.as_bytes()).await;
                }
                n
            }
            Piece::Text(text) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "reset" {
                    self.resets += 1;
                    self.base = frame["offset"].as_u64().unwrap();
                    self.bytes = 0;
                    self.snapshot_next = true;
                    self.snapshot.clear();
                }
                0
            }
        }
    }

    /// Reads until the end marker has come.
    async fn until_marker(&mut self) {
        while !self.seen {
            self.read().await;
        }
    }

    async fn type_keys(&mut self, keys: &str) {
        self.conn.send(0x2, keys.as_bytes()).await;
    }
}

/// The watchers' checksum: per lane a sum of 64-bit words and a sum of
/// those sums (Fletcher's idea), so any word lost, repeated or moved changes
/// it, for two additions per word in four independent lanes (the 100
/// watchers check about 2 GB/s on the cores the server needs too).
const LANES: usize = 4;
type Checksum = [u64; 2 * LANES];
const BLOCK: usize = 8 * LANES;

/// Hashes the stream a 32-byte block at a time (lane `i` takes word `i` of
/// each block), whatever the frame boundaries; `carry` holds the bytes
/// short of a whole block.
fn hash_stream(hash: &mut Checksum, carry: &mut Vec<u8>, mut bytes: &[u8]) {
    let block = |hash: &mut Checksum, block: &[u8]| {
        for (lane, word) in block.chunks_exact(8).enumerate() {
            hash[lane] = hash[lane].wrapping_add(u64::from_le_bytes(word.try_into().unwrap()));
            hash[LANES + lane] = hash[LANES + lane].wrapping_add(hash[lane]);
        }
    };
    if !carry.is_empty() {
        let take = (BLOCK - carry.len()).min(bytes.len());
        carry.extend_from_slice(&bytes[..take]);
        bytes = &bytes[take..];
        if carry.len() < BLOCK {
            return;
        }
        block(hash, &carry[..BLOCK]);
        carry.clear();
    }
    let mut blocks = bytes.chunks_exact(BLOCK);
    for each in &mut blocks {
        block(hash, each);
    }
    carry.extend_from_slice(blocks.remainder());
}

/// Keeps the stream's last 64 bytes, whatever the piece sizes, and notes
/// when the end marker has come (it may span two pieces).
fn watch_tail(tail: &mut Vec<u8>, seen: &mut bool, bytes: &[u8], search: bool) {
    // memmem, not a byte-by-byte window walk (that took half the watchers'
    // CPU, which the server they measure then lacked), and only near the end.
    let finder = || memchr::memmem::Finder::new(MARKER);
    if bytes.len() >= 64 {
        tail.extend_from_slice(&bytes[..64]);
        *seen |= search && finder().find(tail).is_some();
        tail.clear();
        tail.extend_from_slice(&bytes[bytes.len() - 64..]);
        *seen |= search && finder().find(bytes).is_some();
    } else {
        tail.extend_from_slice(bytes);
        let cut = tail.len().saturating_sub(64);
        tail.drain(..cut);
        *seen |= search && finder().find(tail).is_some();
    }
}

/// A minimal websocket client for the benchmark's watchers: frames are read
/// into one reused buffer and their payload handed over where it lies, so the
/// 100 watchers cost the machine little besides the kernel's own copy (they
/// share its two cores with the server they measure). tungstenite's client
/// copies every payload into a fresh buffer first.
struct RawSocket {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
    /// Unparsed bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
    /// The frame being read: its opcode and payload bytes still to come.
    current: Option<(u8, usize)>,
    /// A text frame's payload so far.
    text: Vec<u8>,
}

/// What the next read brought.
enum Piece {
    /// `buffer[from..to]` of a binary frame's payload; `last` ends the frame.
    Binary { from: usize, to: usize, last: bool },
    /// A whole text frame.
    Text(String),
}

impl RawSocket {
    async fn connect(addr: &str, token: &str, path: &str) -> RawSocket {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        // Browsers set TCP_NODELAY too.
        stream.set_nodelay(true).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut socket =
            RawSocket { stream, buffer: vec![0; 512 * 1024], start: 0, end: 0, current: None, text: Vec::new() };
        let header_end = loop {
            let n = socket.stream.read(&mut socket.buffer[socket.end..]).await.unwrap();
            assert!(n > 0, "closed during the upgrade");
            socket.end += n;
            if let Some(at) = socket.buffer[..socket.end].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let status = String::from_utf8_lossy(&socket.buffer[..header_end]);
        assert!(status.starts_with("HTTP/1.1 101"), "upgrade refused: {status}");
        socket.start = header_end;
        socket
    }

    /// The next piece of payload (binary data as it arrives, text whole).
    async fn next(&mut self) -> Piece {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some((opcode, remaining)) = self.current {
                if remaining == 0 || self.start < self.end {
                    let take = remaining.min(self.end - self.start);
                    let (from, to) = (self.start, self.start + take);
                    self.start = to;
                    let left = remaining - take;
                    self.current = (left > 0).then_some((opcode, left));
                    match opcode {
                        0x2 => return Piece::Binary { from, to, last: left == 0 },
                        0x1 => {
                            self.text.extend_from_slice(&self.buffer[from..to]);
                            if left == 0 {
                                let text = String::from_utf8(std::mem::take(&mut self.text)).unwrap();
                                return Piece::Text(text);
                            }
                        }
                        0x8 => panic!("the server closed the socket"),
                        _ => {} // ping, pong: nothing to do for a benchmark
                    }
                    continue;
                }
            } else if let Some((opcode, len, header)) = server_frame_header(&self.buffer[self.start..self.end]) {
                self.start += header;
                self.current = Some((opcode, len));
                continue;
            }
            // More bytes needed: keep the unparsed tail at the front.
            if self.start == self.end {
                (self.start, self.end) = (0, 0);
            } else if self.end == self.buffer.len() {
                self.buffer.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            let n = self.stream.read(&mut self.buffer[self.end..]).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.end += n;
        }
    }

    /// Sends one masked frame, as clients must.
    async fn send(&mut self, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
        let (header, used) = frame_header(0x80 | opcode, payload.len(), true);
        let mut frame = header[..used].to_vec();
        frame.extend_from_slice(&MASK);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }
}

/// A server frame's header at the start of `bytes`: opcode, payload length
/// and header length, once all of it has arrived (server frames are unmasked).
fn server_frame_header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    let opcode = first & 0x0f;
    match second & 0x7f {
        126 => Some((opcode, u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize, 4)),
        127 => Some((opcode, u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize, 10)),
        len => Some((opcode, len as usize, 2)),
    }
}

struct Server {
    addr: String,
    token: String,
    pid: u32,
    ticket: String,
    session: String,
    _child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self._child.kill();
        let _ = self._child.wait();
    }
}

impl Server {
    fn path(&self) -> String {
        format!("/api/v1/org/support/tickets/{}/terminals/{}/live", self.ticket, self.session)
    }

    async fn watchers(&self, n: usize) -> Vec<Watcher> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(Watcher::connect(&self.addr, &self.token, &self.path()).await);
        }
        all
    }
}

async fn start_server(data: &std::path::Path) -> Server {
    let binary = std::env::current_exe().unwrap().parent().and_then(|p| p.parent()).unwrap().join("opsdesk");
    let data_dir = data.to_str().unwrap();
    let token = String::from_utf8(
        std::process::Command::new(&binary)
            .args(["admin", "create-token", "--org", "acme", "--email", "bench@acme.test", "--role", "admin"])
            .args(["--data-dir", data_dir])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(&binary)
        .args(["serve", "--addr", &addr, "--data-dir", data_dir])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("http://{addr}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tickets = format!("http://{addr}/api/v1/org/support/tickets");
    let ticket: Value = http
        .post(&tickets)
        .bearer_auth(&token)
        .json(&json!({ "subject": "bench" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["ticket_id"].as_str().unwrap().to_owned();
    let session: Value = http
        .post(format!("{tickets}/{ticket}/terminals"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = session["id"].as_str().expect("a terminal opened").to_owned();
    Server { addr, token, pid: child.id(), ticket, session, _child: child }
}

/// Peak resident memory of `pid` while `work` runs.
async fn peak_rss<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
    let sampler = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let result = work.await;
    sampler.abort();
    (result, peak.load(Ordering::Relaxed))
}

/// `cat`s `file` to every watcher; answers the watchers, each one's MB/s of
/// the file, and whether every watcher got the very same stream of the
/// expected length (nothing lost, nothing twice).
async fn fan_out(mut watchers: Vec<Watcher>, file: &TextFile) -> (Vec<Watcher>, Vec<f64>, bool) {
    let (file, size, lines) = (&file.0, file.1, file.2);
    for w in watchers.iter_mut() {
        w.restart();
        // The marker follows the whole file (and the command's echo).
        w.expect = size as u64;
    }
    watchers[0].type_keys(&format!("cat {}; echo END-$((6*7))\r", file.display())).await;
    let started = Instant::now();
    let tasks: Vec<_> = watchers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                w.until_marker().await;
                let took = started.elapsed();
                // The prompt follows the marker, perhaps in the next frame:
                // take it too, so every watcher's stream ends at the same byte.
                while tokio::time::timeout(Duration::from_millis(300), w.read()).await.is_ok() {}
                (w, took)
            })
        })
        .collect();
    let mut rates = Vec::new();
    let mut watchers = Vec::new();
    for task in tasks {
        let (w, took) = task.await.unwrap();
        rates.push(mb_per_s(size, took));
        watchers.push(w);
    }
    // ONLCR turns each \n into \r\n; the command's echo and the prompt add a little.
    let expected = (size + lines) as u64;
    let first = &watchers[0];
    let lapped = watchers.iter().filter(|w| w.resets > 1).count();
    let differ =
        watchers.iter().filter(|w| w.hash != first.hash || w.carry != first.carry || w.bytes != first.bytes).count();
    let complete = first.bytes >= expected && first.bytes < expected + 4096;
    if lapped + differ > 0 || !complete {
        eprintln!(
            "{} watchers: {lapped} lapped, {differ} with a different stream, first has {} bytes for {expected} expected",
            watchers.len(),
            first.bytes
        );
    }
    (watchers, rates, lapped + differ == 0 && complete)
}

fn summary(rates: &[f64]) -> (f64, f64) {
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    (min, mean)
}

/// Keystroke → echo on a bare PTY running bash: durations.
async fn bare_echo(dir: &std::path::Path) -> Vec<Duration> {
    let argv = vec!["bash".to_owned(), "--norc".to_owned(), "-i".to_owned()];
    let (pty, mut child) = Pty::spawn(&Spawn { argv: &argv, cwd: dir, env: &base_env(), cols: 100, rows: 30 }).unwrap();
    let mut buffer = vec![0u8; 4096];
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(Some(n)) = pty.try_read(&mut buffer) {
        if n == 0 {
            break;
        }
    }
    let mut times = Vec::with_capacity(KEYSTROKES);
    for i in 0..KEYSTROKES {
        let key: &[u8] = if i % 2 == 0 { b"x" } else { b"\x7f" };
        let started = Instant::now();
        pty.write_all(key).await.unwrap();
        let n = pty.read(&mut buffer).await.unwrap();
        times.push(started.elapsed());
        assert!(n > 0);
    }
    pty.hang_up(true);
    let _ = child.wait().await;
    times
}

/// Keystroke → echo through the server (one watcher types and reads).
async fn server_echo(w: &mut Watcher) -> Vec<Duration> {
    let mut times = Vec::with_capacity(KEYSTROKES);
    for i in 0..KEYSTROKES {
        let key = if i % 2 == 0 { "x" } else { "\x7f" };
        let started = Instant::now();
        w.type_keys(key).await;
        while w.read().await == 0 {}
        times.push(started.elapsed());
    }
    times
}

/// Rounds of the session run three times: twice without recording (A, B),
/// once with. Single runs swing by 10 % or more with how the scheduler
/// places `cat`, the kernel's PTY work and the pump on two cores, and the
/// swing drifts; so each round compares its own runs: the cost is
/// `1 - with / mean(A, B)`, and `1 - B / A` is what the method finds where
/// there is nothing to find. Both are given as a mean over the rounds with
/// its 95 % interval.
const ROUNDS: usize = 12;

/// Recording's cost in `rounds` rounds; the order of the three runs rotates
/// from round to round so none always follows another. Also the cost in
/// this process's CPU time while the output streamed (the pump, the screen
/// copy and the recorder; `cat` is a child).
async fn recording_cost(big: &TextFile, bare: f64, rounds: usize, rows: &mut Vec<(String, String, String)>) {
    let session_dir = tempfile::tempdir().unwrap();
    let (mut rates, mut costs, mut noise, mut cpu_costs) = ([vec![], vec![], vec![]], vec![], vec![], vec![]);
    for round in 0..rounds {
        // Arms: 0 = A (off), 1 = B (off), 2 = recording.
        let mut runs = [(0.0, 0.0); 3];
        for step in 0..3 {
            let arm = (round + step) % 3;
            runs[arm] = session_rate(&big.0, arm == 2, session_dir.path()).await;
        }
        for (arm, (rate, _)) in runs.iter().enumerate() {
            rates[arm].push(*rate);
        }
        let [(a, cpu_a), (b, cpu_b), (with, cpu_with)] = runs;
        costs.push((1.0 - 2.0 * with / (a + b)) * 100.0);
        noise.push((1.0 - b / a) * 100.0);
        cpu_costs.push((2.0 * cpu_with / (cpu_a + cpu_b) - 1.0) * 100.0);
    }
    eprintln!("off (A, B), on: {rates:.1?} MB/s");
    eprintln!("cost per round: {costs:.1?} %");
    eprintln!("noise per round: {noise:.1?} %");
    // Mean and 95 % interval (normal approximation; enough rounds for it).
    let interval = |values: Vec<f64>| {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let half = 1.96 * sd / n.sqrt();
        format!("{mean:.1} % ({:.1} to {:.1} %)", mean - half, mean + half)
    };
    let median = |values: &Vec<f64>| {
        let mut values = values.clone();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (off, on) = (median(&rates[0]), median(&rates[2]));
    rows.push((
        "session, recording off (no watcher), median".into(),
        format!("{off:.1} MB/s"),
        format!("{:.2}", off / bare),
    ));
    rows.push((
        "session, recording on (no watcher), median".into(),
        format!("{on:.1} MB/s"),
        format!("{:.2}", on / bare),
    ));
    rows.push((
        "  the asciicast written from the journal after the output ended, at most".into(),
        format!("{} ms for 200 MB", FINISHING_MS.load(Ordering::Relaxed)),
        String::new(),
    ));
    rows.push((
        format!("recording's cost in throughput, mean of {rounds} rounds (95 % interval)"),
        interval(costs),
        String::new(),
    ));
    rows.push(("  the same method, off against off: the noise".into(), interval(noise), String::new()));
    rows.push((
        "  recording's cost in this process's CPU while the output streamed".into(),
        interval(cpu_costs),
        String::new(),
    ));
}

/// The fan-out measures: `cat` of the big file to each count of watchers.
async fn fan_outs(
    server: &Server,
    counts: &[usize],
    big: &TextFile,
    bare: f64,
    rows: &mut Vec<(String, String, String)>,
) {
    let idle = rss_kib(server.pid);
    for &n in counts {
        let watchers = server.watchers(n).await;
        let (cpu_before, wall) = (cpu_seconds(server.pid), Instant::now());
        let ((watchers, rates, exact), peak) = peak_rss(server.pid, fan_out(watchers, big)).await;
        let server_cpu = (cpu_seconds(server.pid) - cpu_before) / wall.elapsed().as_secs_f64();
        let (min, mean) = summary(&rates);
        let frames: u64 = watchers.iter().map(|w| w.frames).sum();
        let mean_frame = watchers.iter().map(|w| w.bytes).sum::<u64>() as f64 / frames.max(1) as f64;
        rows.push((
            format!("cat 200 MB to {n} watcher(s): slowest / mean"),
            format!("{min:.1} / {mean:.1} MB/s"),
            format!("{:.2} / {:.2}", min / bare, mean / bare),
        ));
        rows.push((
            format!("  every byte once to all {n}; server peak memory; server CPU (cores); mean frame"),
            format!(
                "{}; {:.1} MB (idle {:.1} MB); {server_cpu:.2}; {:.1} KB",
                if exact { "yes" } else { "NO" },
                peak as f64 / 1024.0,
                idle as f64 / 1024.0,
                mean_frame / 1e3
            ),
            String::new(),
        ));
        drop(watchers);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn print_table(rows: Vec<(String, String, String)>) {
    println!("| measure | value | × bare PTY |");
    println!("|---|---|---|");
    for (what, value, ratio) in rows {
        println!("| {what} | {value} | {ratio} |");
    }
}

#[tokio::main]
async fn main() {
    // `--watchers 100` (repeatable) measures only the bare PTY and those
    // fan-outs, `--recording [--rounds N]` only recording's cost: quick
    // loops while working on the server, or for a profiler.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only: Vec<usize> = args
        .windows(2)
        .filter(|pair| pair[0] == "--watchers")
        .map(|pair| pair[1].parse().expect("--watchers takes a number"))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let big = text_file(scratch.path(), "big.txt", BIG);
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // 1-2. The ceiling, and the session in-process with and without recording.
    let bare = bare_pty(&big.0).await;
    rows.push(("bare PTY: cat 200 MB, minimal reader".into(), format!("{bare:.1} MB/s"), "1.00".into()));
    if args.iter().any(|a| a == "--recording") {
        let rounds = args
            .windows(2)
            .find(|pair| pair[0] == "--rounds")
            .map_or(ROUNDS, |pair| pair[1].parse().expect("--rounds takes a number"));
        recording_cost(&big, bare, rounds, &mut rows).await;
        print_table(rows);
        return;
    }
    if !only.is_empty() {
        let data = tempfile::tempdir().unwrap();
        let server = start_server(data.path()).await;
        eprintln!("server pid {}", server.pid);
        fan_outs(&server, &only, &big, bare, &mut rows).await;
        print_table(rows);
        return;
    }
    let medium = text_file(scratch.path(), "medium.txt", LATE_JOIN);
    recording_cost(&big, bare, ROUNDS, &mut rows).await;

    // 3. Through the server to 1, 10 and 100 watchers.
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    fan_outs(&server, &[1, 10, 100], &big, bare, &mut rows).await;

    // 4. One watcher stops reading among ten.
    let mut watchers = server.watchers(10).await;
    let mut slow = watchers.pop().unwrap();
    slow.acks = false;
    let (watchers, rates, exact) = fan_out(watchers, &big).await;
    let (min, mean) = summary(&rates);
    rows.push((
        "cat 200 MB, 9 reading + 1 stopped: slowest / mean of the 9".into(),
        format!("{min:.1} / {mean:.1} MB/s ({})", if exact { "exact" } else { "NOT exact" }),
        format!("{:.2} / {:.2}", min / bare, mean / bare),
    ));
    slow.acks = true;
    let resets = slow.resets;
    let resumed = Instant::now();
    while slow.resets == resets || slow.snapshot_next {
        slow.read().await;
    }
    rows.push((
        "  the stopped one resumes from a snapshot".into(),
        format!("after {:.1} ms", resumed.elapsed().as_secs_f64() * 1e3),
        String::new(),
    ));
    drop(watchers);
    drop(slow);

    // 5. Keystroke to echo.
    let mut typist = server.watchers(1).await.pop().unwrap();
    typist.restart();
    let mut through = server_echo(&mut typist).await;
    let mut direct = bare_echo(scratch.path()).await;
    through.sort();
    direct.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    rows.push((
        "keystroke → echo, through the server: p50 / p99".into(),
        format!("{:.0} / {:.0} µs", us(percentile(&through, 0.5)), us(percentile(&through, 0.99))),
        String::new(),
    ));
    rows.push((
        "keystroke → echo, bare PTY with bash: p50 / p99".into(),
        format!("{:.0} / {:.0} µs", us(percentile(&direct, 0.5)), us(percentile(&direct, 0.99))),
        String::new(),
    ));

    // 6. Late join after 50 MB: at once (the screen emulator may still be
    // catching up) and a second later.
    let (_, _, _) = fan_out(vec![typist], &medium).await;
    for (label, pause) in [("at once", 0), ("1 s later", 1000)] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let (took, sent, correct) = late_join(&server).await;
        rows.push((
            format!("late join after 50 MB, {label}: first correct screen; bytes sent until then"),
            format!(
                "{:.1} ms; {:.1} KB{}",
                took.as_secs_f64() * 1e3,
                sent as f64 / 1e3,
                if correct { "" } else { " (WRONG)" }
            ),
            String::new(),
        ));
    }

    print_table(rows);
}

/// Connects a new watcher and reads until its screen (snapshot plus the
/// stream after it) shows the end of the last `cat`: the time (connect
/// included) and the bytes it took.
async fn late_join(server: &Server) -> (Duration, usize, bool) {
    let joined = Instant::now();
    let mut request = format!("ws://{}{}", server.addr, server.path()).into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {}", server.token).parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await.unwrap();
    let mut sent = 0usize;
    let mut screen = vt100::Parser::new(30, 100, 0);
    while !screen.screen().contents().contains("END-42") {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        match next {
            Ok(Some(Ok(Message::Text(text)))) => {
                sent += text.len();
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "reset" {
                    let (cols, rows) = (frame["cols"].as_u64().unwrap() as u16, frame["rows"].as_u64().unwrap() as u16);
                    screen = vt100::Parser::new(rows, cols, 0);
                }
            }
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                sent += bytes.len();
                screen.process(&bytes);
            }
            _ => return (joined.elapsed(), sent, false),
        }
    }
    (joined.elapsed(), sent, true)
}

//! Shell-integration marks and the command blocks built from them.
//!
//! The shell's rc file prints an OSC mark around every command:
//!
//! ```text
//! ESC ] 633 ; <kind> ; <nonce> [ ; <payload> ] (BEL | ESC \)
//! ```
//!
//! `A` marks a prompt, `C` a command starting (payload: the escaped command line), `D` a command ending
//! (payload: the exit code). The nonce is a per-session secret, so a program's output cannot forge a mark: only
//! marks carrying it are trusted, removed from the output and reported. Everything else passes through untouched.
//!
//! [`MarkScanner`] finds the marks in raw PTY chunks (marks may straddle chunks); [`BlockBuilder`] turns the marks
//! and the output between them into [`CommandBlock`]s whose output is plain text ([`plain_text`]).

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use memchr::{memchr, memchr2};

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// Everything a trusted mark starts with.
const PREFIX: &[u8] = b"\x1b]633;";
/// The longest a mark may be (terminator included). Bounds how much output a scanner holds back while waiting
/// for a terminator; a longer sequence is ordinary output.
pub const MAX_MARK_LEN: usize = 16 * 1024;
/// Kinds are single letters; a longer first field cannot be ours, so reject it early instead of holding it back.
const MAX_KIND_LEN: usize = 8;
/// Keeps the fixed part of a mark far below [`MAX_MARK_LEN`].
const MAX_NONCE_LEN: usize = 64;

/// A trusted shell-integration mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// `A`: the prompt is being drawn; the shell waits for input.
    PromptStart,
    /// `C`: a command line starts executing.
    CommandStart {
        /// The command line as typed (unescaped, lossily decoded).
        command: String,
    },
    /// `D`: the command finished.
    CommandEnd {
        /// `None` when the shell sent no (or an unparsable) status.
        exit_code: Option<i32>,
    },
}

/// Finds trusted marks in a stream of PTY output chunks and removes them from it.
#[derive(Debug, Clone)]
pub struct MarkScanner {
    nonce: Vec<u8>,
    /// A trailing partial sequence that may still become a trusted mark (always shorter than [`MAX_MARK_LEN`]).
    held: Vec<u8>,
    integrated: bool,
}

/// What the bytes at an ESC turned out to be.
enum Parse {
    /// Not a trusted mark, whatever follows.
    NotMark,
    /// A prefix of a possible trusted mark; the answer depends on bytes not seen yet.
    Partial,
    /// A trusted mark of `len` bytes; `None` for a kind this version does not know (still removed, so the nonce
    /// never reaches watchers or recordings).
    Mark { len: usize, mark: Option<Mark> },
}

impl MarkScanner {
    /// A scanner trusting marks that carry `nonce` (the session's 32 hex chars). An empty nonce, or one over 64
    /// bytes, trusts nothing, so a misconfigured session degrades to "no shell integration" rather than to
    /// forgeable marks or oversized hold-backs.
    pub fn new(nonce: &str) -> Self {
        let nonce = if nonce.len() > MAX_NONCE_LEN { Vec::new() } else { nonce.as_bytes().to_vec() };
        Self { nonce, held: Vec::new(), integrated: false }
    }

    /// Feeds one chunk of raw PTY output. Returns the bytes to show watchers and record (trusted marks removed)
    /// and the trusted marks found, each with its byte position in the returned bytes.
    ///
    /// A trailing partial sequence that may still become a trusted mark is held back and resolved by the next
    /// call, so the returned bytes can lag the input by at most [`MAX_MARK_LEN`] bytes. Without ESC in the chunk
    /// and nothing held, `input` itself is returned (no copy).
    pub fn feed(&mut self, input: Bytes) -> (Bytes, Vec<(usize, Mark)>) {
        if self.held.is_empty() && memchr(ESC, &input).is_none() {
            return (input, Vec::new());
        }
        let buf = if self.held.is_empty() {
            input
        } else {
            let mut joined = std::mem::take(&mut self.held);
            joined.extend_from_slice(&input);
            Bytes::from(joined)
        };

        let mut kept: Vec<Range<usize>> = Vec::new();
        let mut marks = Vec::new();
        let mut out_len = 0;
        let mut start = 0; // first byte not yet kept or removed
        let mut search = 0;
        let mut end = buf.len(); // bytes from here on are held back
        while let Some(off) = memchr(ESC, &buf[search..]) {
            let at = search + off;
            match self.parse(&buf[at..]) {
                Parse::NotMark => search = at + 1,
                Parse::Partial => {
                    end = at;
                    self.held = buf[at..].to_vec();
                    break;
                }
                Parse::Mark { len, mark } => {
                    if at > start {
                        kept.push(start..at);
                        out_len += at - start;
                    }
                    if let Some(mark) = mark {
                        marks.push((out_len, mark));
                    }
                    self.integrated = true;
                    start = at + len;
                    search = start;
                }
            }
        }
        if end > start {
            kept.push(start..end);
        }

        let out = match kept.as_slice() {
            [] => Bytes::new(),
            [only] => buf.slice(only.clone()),
            many => {
                let mut joined = BytesMut::with_capacity(many.iter().map(|r| r.len()).sum());
                for range in many {
                    joined.extend_from_slice(&buf[range.clone()]);
                }
                joined.freeze()
            }
        };
        (out, marks)
    }

    /// At end of stream: whatever was held back, as plain output (it can no longer become a mark).
    pub fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.held))
    }

    /// Whether any trusted mark was ever seen, i.e. the session has shell integration.
    pub fn integrated(&self) -> bool {
        self.integrated
    }

    /// Classifies the bytes at `s[0] == ESC`. The answer depends only on `s[..MAX_MARK_LEN]`, and `Partial` is
    /// returned only while that answer is still open, so any chunking of a stream yields the same marks.
    fn parse(&self, s: &[u8]) -> Parse {
        if self.nonce.is_empty() {
            return Parse::NotMark;
        }
        let n = s.len().min(PREFIX.len());
        if s[..n] != PREFIX[..n] {
            return Parse::NotMark;
        }
        let mut i = n;
        if i < PREFIX.len() {
            return Parse::Partial;
        }

        // Kind, up to the `;` before the nonce. A terminator first means there is no nonce: untrusted.
        let kind_start = i;
        loop {
            match s.get(i) {
                None => return Parse::Partial,
                Some(b';') => break,
                Some(&BEL | &ESC) => return Parse::NotMark,
                Some(_) if i - kind_start >= MAX_KIND_LEN => return Parse::NotMark,
                Some(_) => i += 1,
            }
        }
        let kind = &s[kind_start..i];
        i += 1;

        // Nonce, compared as it arrives so a wrong one is rejected (and released) at once.
        for &expected in &self.nonce {
            match s.get(i) {
                None => return Parse::Partial,
                Some(&b) if b == expected => i += 1,
                Some(_) => return Parse::NotMark,
            }
        }
        let payload_start = match s.get(i) {
            None => return Parse::Partial,
            Some(b';') => i + 1,
            Some(&BEL | &ESC) => i,
            Some(_) => return Parse::NotMark, // a longer nonce
        };

        // Payload, up to BEL or ST. Any other ESC aborts the sequence, as it would in a terminal.
        let limit = s.len().min(MAX_MARK_LEN);
        let Some(off) = memchr2(BEL, ESC, &s[payload_start..limit]) else {
            return if s.len() >= MAX_MARK_LEN { Parse::NotMark } else { Parse::Partial };
        };
        let t = payload_start + off;
        let len = if s[t] == BEL {
            t + 1
        } else {
            match s.get(t + 1) {
                _ if t + 2 > MAX_MARK_LEN => return Parse::NotMark,
                None => return Parse::Partial,
                Some(b'\\') => t + 2,
                Some(_) => return Parse::NotMark,
            }
        };
        let payload = &s[payload_start..t];
        let mark = match kind {
            b"A" => Some(Mark::PromptStart),
            b"C" => Some(Mark::CommandStart { command: unescape_command(payload) }),
            b"D" => Some(Mark::CommandEnd { exit_code: parse_exit_code(payload) }),
            _ => None,
        };
        Parse::Mark { len, mark }
    }
}

/// Decodes a `C` payload: `\\` is a backslash, `\xHH` is that byte, anything else is itself. Malformed escapes
/// are kept literally rather than rejected, since the command line is only informational.
pub fn unescape_command(payload: &[u8]) -> String {
    fn hex(b: Option<&u8>) -> Option<u8> {
        char::from(*b?).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(payload.len());
    let mut i = 0;
    while i < payload.len() {
        if payload[i] == b'\\' {
            match payload.get(i + 1) {
                Some(b'\\') => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    if let (Some(hi), Some(lo)) = (hex(payload.get(i + 2)), hex(payload.get(i + 3))) {
                        out.push(hi << 4 | lo);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(payload[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a `D` payload's exit code (its first field); garbage means unknown.
fn parse_exit_code(payload: &[u8]) -> Option<i32> {
    let field = payload.split(|&b| b == b';').next()?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// One finished command with its output as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandBlock {
    pub command: String,
    /// `None` when the shell came back without reporting a status.
    pub exit_code: Option<i32>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The output as plain text (see [`plain_text`]).
    pub output: String,
    /// More output came than the builder keeps; `output` is its beginning.
    pub truncated: bool,
}

/// The command currently running.
#[derive(Debug, Clone)]
struct OpenBlock {
    command: String,
    started_at: DateTime<Utc>,
    raw: Vec<u8>,
    truncated: bool,
}

/// Assembles [`CommandBlock`]s from marks and the output between them.
#[derive(Debug, Clone)]
pub struct BlockBuilder {
    cap: usize,
    open: Option<OpenBlock>,
}

impl BlockBuilder {
    /// A builder keeping at most `cap` raw bytes of each block's output, so one noisy command cannot grow memory.
    pub fn new(cap: usize) -> Self {
        Self { cap, open: None }
    }

    /// Output shown while a command runs (call with the bytes between marks, in order). Output outside a command
    /// (prompt, typing) is not part of any block and is ignored.
    pub fn output(&mut self, bytes: &[u8]) {
        let Some(open) = &mut self.open else { return };
        let room = self.cap.saturating_sub(open.raw.len());
        if bytes.len() > room {
            open.truncated = true;
        }
        open.raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// A mark seen at `now`. `CommandEnd` closes the open block and returns it. `CommandStart` while a block is
    /// open closes the old one with no exit code (returned) and opens the new one. `PromptStart` with a block open
    /// closes it with no exit code too (the shell came back without `D`). `CommandEnd` with no open block is
    /// ignored.
    pub fn mark(&mut self, mark: Mark, now: DateTime<Utc>) -> Option<CommandBlock> {
        match mark {
            Mark::PromptStart => self.close(None, now),
            Mark::CommandEnd { exit_code } => self.close(exit_code, now),
            Mark::CommandStart { command } => {
                let closed = self.close(None, now);
                self.open = Some(OpenBlock { command, started_at: now, raw: Vec::new(), truncated: false });
                closed
            }
        }
    }

    /// Convenience for one [`MarkScanner::feed`] result: interleaves `output` and `marks` (positions into
    /// `output`) and returns the blocks closed, oldest first.
    pub fn feed(&mut self, output: &[u8], marks: Vec<(usize, Mark)>, now: DateTime<Utc>) -> Vec<CommandBlock> {
        let mut closed = Vec::new();
        let mut pos = 0;
        for (at, mark) in marks {
            let at = at.clamp(pos, output.len());
            self.output(&output[pos..at]);
            pos = at;
            closed.extend(self.mark(mark, now));
        }
        self.output(&output[pos..]);
        closed
    }

    /// The command now running, if any (used to tag a block started from a command card).
    pub fn running(&self) -> Option<&str> {
        self.open.as_ref().map(|open| open.command.as_str())
    }

    fn close(&mut self, exit_code: Option<i32>, now: DateTime<Utc>) -> Option<CommandBlock> {
        let open = self.open.take()?;
        let mut raw = open.raw.as_slice();
        if open.truncated {
            // The cut may have split a character; drop its start rather than show U+FFFD.
            if let Err(e) = std::str::from_utf8(raw) {
                if e.error_len().is_none() {
                    raw = &raw[..e.valid_up_to()];
                }
            }
        }
        Some(CommandBlock {
            command: open.command,
            exit_code,
            started_at: open.started_at,
            ended_at: now,
            output: plain_text(raw),
            truncated: open.truncated,
        })
    }
}

/// Turns raw terminal output into plain text for display and search: drops escape sequences (CSI, OSC and other
/// strings, charset selects, two-byte escapes), maps CRLF to LF, lets a lone CR restart its line (progress bars
/// keep their last state), applies backspace, drops other control characters except LF and TAB, decodes UTF-8
/// lossily, and collapses trailing newlines to at most one.
pub fn plain_text(raw: &[u8]) -> String {
    let stripped = strip_escapes(raw);
    let decoded = String::from_utf8_lossy(&stripped);

    let mut out = String::with_capacity(decoded.len());
    let mut line: Vec<char> = Vec::new();
    // A CR restarts the line only once new text arrives, so "text\r\n", "text\r\r\n" and a final "\r" keep it.
    let mut pending_cr = false;
    for c in decoded.chars() {
        match c {
            '\n' => {
                out.extend(line.drain(..));
                out.push('\n');
                pending_cr = false;
            }
            '\r' => pending_cr = true,
            _ => {
                if pending_cr {
                    line.clear();
                    pending_cr = false;
                }
                if c == '\u{8}' {
                    line.pop();
                } else if c == '\t' || !c.is_control() {
                    line.push(c);
                }
            }
        }
    }
    out.extend(line);
    let kept = out.trim_end_matches('\n').len();
    if kept + 1 < out.len() {
        out.truncate(kept + 1);
    }
    out
}

/// Copies `raw` without its escape sequences; control characters are left for [`plain_text`].
fn strip_escapes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(off) = memchr(ESC, &raw[i..]) {
        let at = i + off;
        out.extend_from_slice(&raw[i..at]);
        i = escape_end(raw, at);
    }
    out.extend_from_slice(&raw[i..]);
    out
}

/// The index just past the escape sequence starting at `raw[at] == ESC` (always `> at`). A sequence cut short by
/// a byte that cannot belong to it ends before that byte, which is then read normally, as a terminal would.
fn escape_end(raw: &[u8], at: usize) -> usize {
    let Some(&kind) = raw.get(at + 1) else { return raw.len() };
    let mut j = at + 2;
    match kind {
        // CSI: parameters and intermediates, then a final byte.
        b'[' => {
            while let Some(&c) = raw.get(j) {
                match c {
                    0x40..=0x7e => return j + 1,
                    0x20..=0x3f => j += 1,
                    _ => return j,
                }
            }
            raw.len()
        }
        // OSC, DCS, SOS, PM, APC: a string up to BEL or ST.
        b']' | b'P' | b'X' | b'^' | b'_' => match memchr2(BEL, ESC, &raw[j..]) {
            None => raw.len(),
            Some(off) => {
                let t = j + off;
                if raw[t] == BEL {
                    t + 1
                } else if raw.get(t + 1) == Some(&b'\\') {
                    t + 2
                } else {
                    t
                }
            }
        },
        // Intermediates then a final byte: charset selects (ESC ( B), ESC # 8, ESC % G, ...
        0x20..=0x2f => {
            while let Some(&c) = raw.get(j) {
                match c {
                    0x20..=0x2f => j += 1,
                    0x30..=0x7e => return j + 1,
                    _ => return j,
                }
            }
            raw.len()
        }
        // Two-byte sequences: ESC 7, ESC =, ESC M, ...
        0x30..=0x7e => j,
        // ESC before a control byte or another ESC: drop the lone ESC only.
        _ => at + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::test_rng::Rng;

    const NONCE: &str = "0123456789abcdeffedcba9876543210";

    fn mark(kind: &str, payload: Option<&str>, st: bool) -> Vec<u8> {
        let mut v = format!("\x1b]633;{kind};{NONCE}").into_bytes();
        if let Some(p) = payload {
            v.push(b';');
            v.extend_from_slice(p.as_bytes());
        }
        v.extend_from_slice(if st { b"\x1b\\" } else { b"\x07" });
        v
    }

    /// Runs `chunks` through a fresh scanner; returns the whole output and the marks at absolute positions.
    fn scan_chunks(chunks: &[&[u8]]) -> (Vec<u8>, Vec<(usize, Mark)>) {
        let mut scanner = MarkScanner::new(NONCE);
        let mut out = Vec::new();
        let mut marks = Vec::new();
        for chunk in chunks {
            let (bytes, found) = scanner.feed(Bytes::copy_from_slice(chunk));
            marks.extend(found.into_iter().map(|(pos, m)| (out.len() + pos, m)));
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(&scanner.finish());
        (out, marks)
    }

    fn scan(input: &[u8]) -> (Vec<u8>, Vec<(usize, Mark)>) {
        scan_chunks(&[input])
    }

    #[test]
    fn finds_marks_and_removes_them() {
        let mut input = b"$ ".to_vec();
        input.extend(mark("A", None, false));
        input.extend_from_slice(b"ls\r\n");
        input.extend(mark("C", Some("ls"), true));
        input.extend_from_slice(b"a b\r\n");
        input.extend(mark("D", Some("0"), false));
        let (out, marks) = scan(&input);
        assert_eq!(out, b"$ ls\r\na b\r\n");
        assert_eq!(
            marks,
            vec![
                (2, Mark::PromptStart),
                (6, Mark::CommandStart { command: "ls".into() }),
                (11, Mark::CommandEnd { exit_code: Some(0) }),
            ]
        );
    }

    #[test]
    fn fast_path_returns_the_input_itself() {
        let mut scanner = MarkScanner::new(NONCE);
        let input = Bytes::from_static(b"plain output\r\n");
        let (out, marks) = scanner.feed(input.clone());
        assert_eq!(out.as_ptr(), input.as_ptr());
        assert!(marks.is_empty());
        // Escapes that are not marks are not copied either.
        let input = Bytes::from_static(b"\x1b[1mbold\x1b[0m");
        let (out, _) = scanner.feed(input.clone());
        assert_eq!(out.as_ptr(), input.as_ptr());
        assert!(!scanner.integrated());
    }

    #[test]
    fn untrusted_sequences_pass_through() {
        let cases: Vec<Vec<u8>> = vec![
            b"\x1b]633;A\x07".to_vec(),
            b"\x1b]633;A;\x07".to_vec(),
            b"\x1b]633;C;0123456789abcdeffedcba987654321f;rm -rf /\x07".to_vec(),
            format!("\x1b]633;A;{NONCE}0\x07").into_bytes(),
            format!("\x1b]133;A;{NONCE}\x07").into_bytes(),
            format!("\x1b]633;A;{}\x07", &NONCE[..31]).into_bytes(),
            format!("\x1b]633;C;{NONCE};x\x1bX").into_bytes(),
            b"\x1b\x1b]\x1b]6\xff\xfe".to_vec(),
        ];
        for input in cases {
            let (out, marks) = scan(&input);
            assert_eq!(out, input, "{:?}", String::from_utf8_lossy(&input));
            assert!(marks.is_empty());
        }
    }

    #[test]
    fn unknown_kind_with_nonce_is_removed_but_not_reported() {
        let (out, marks) = scan(&[b"a".as_slice(), &mark("B", Some("x"), false), b"b"].concat());
        assert_eq!(out, b"ab");
        assert!(marks.is_empty());
    }

    #[test]
    fn empty_or_overlong_nonce_trusts_nothing() {
        let mut scanner = MarkScanner::new("");
        let (out, marks) = scanner.feed(Bytes::from_static(b"\x1b]633;A;\x07"));
        assert_eq!(&out[..], b"\x1b]633;A;\x07");
        assert!(marks.is_empty());
        let long = "a".repeat(MAX_MARK_LEN + 1);
        let input = Bytes::from(format!("\x1b]633;A;{long}\x07"));
        assert_eq!(MarkScanner::new(&long).feed(input.clone()), (input, vec![]));
    }

    #[test]
    fn mark_split_across_chunks() {
        let m = mark("C", Some("make -j1"), true);
        let input = [b"out".as_slice(), &m, b"put"].concat();
        for cut in 0..=input.len() {
            let mut scanner = MarkScanner::new(NONCE);
            let (a, ma) = scanner.feed(Bytes::copy_from_slice(&input[..cut]));
            let (b, mb) = scanner.feed(Bytes::copy_from_slice(&input[cut..]));
            assert_eq!([a, b, scanner.finish()].concat(), b"output");
            assert_eq!(ma.len() + mb.len(), 1, "cut {cut}");
            assert!(scanner.integrated());
        }
    }

    #[test]
    fn overlong_sequence_is_released_as_output() {
        let mut input = format!("\x1b]633;C;{NONCE};").into_bytes();
        input.resize(MAX_MARK_LEN + 100, b'x');
        input.push(BEL);
        let mut scanner = MarkScanner::new(NONCE);
        let mut out = Vec::new();
        for chunk in input.chunks(1000) {
            let (bytes, marks) = scanner.feed(Bytes::copy_from_slice(chunk));
            assert!(marks.is_empty());
            out.extend_from_slice(&bytes);
            assert!(scanner.held.len() < MAX_MARK_LEN);
        }
        assert_eq!(out, input);
        assert!(scanner.finish().is_empty());

        // The longest allowed mark is still a mark, with either terminator.
        for st in [false, true] {
            let mut m = format!("\x1b]633;C;{NONCE};").into_bytes();
            m.resize(MAX_MARK_LEN - if st { 2 } else { 1 }, b'x');
            m.extend_from_slice(if st { b"\x1b\\" } else { b"\x07" });
            let (out, marks) = scan(&m);
            assert!(out.is_empty());
            assert_eq!(marks.len(), 1);
            m.insert(m.len() - 2, b'x');
            assert_eq!(scan(&m).0, m);
        }
    }

    #[test]
    fn finish_releases_a_partial_mark() {
        let mut scanner = MarkScanner::new(NONCE);
        let (out, _) = scanner.feed(Bytes::from_static(b"abc\x1b]63"));
        assert_eq!(&out[..], b"abc");
        assert_eq!(&scanner.finish()[..], b"\x1b]63");
        assert!(scanner.finish().is_empty());
    }

    #[test]
    fn command_line_unescaping() {
        assert_eq!(unescape_command(br"ls\x3b echo"), "ls; echo");
        assert_eq!(unescape_command(br"echo a\\b \\\\"), r"echo a\b \\");
        assert_eq!(unescape_command(br"printf 'a\x0ab'"), "printf 'a\nb'");
        assert_eq!(unescape_command(br"x\x1B\x07"), "x\x1b\x07");
        assert_eq!(unescape_command(br"bad \xZ1 \x4 \q end\"), r"bad \xZ1 \x4 \q end\");
        assert_eq!(unescape_command(br"caf\xc3\xa9 \xff"), "café \u{fffd}");
        let input = mark("C", Some(r"echo a\x3bb\\"), false);
        assert_eq!(scan(&input).1, vec![(0, Mark::CommandStart { command: r"echo a;b\".into() })]);
    }

    #[test]
    fn exit_codes() {
        let code = |p: Option<&str>| match scan(&mark("D", p, false)).1.pop() {
            Some((_, Mark::CommandEnd { exit_code })) => exit_code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(Some("0")), Some(0));
        assert_eq!(code(Some("130")), Some(130));
        assert_eq!(code(Some("-1")), Some(-1));
        assert_eq!(code(Some("")), None);
        assert_eq!(code(Some("abc")), None);
        assert_eq!(code(Some("99999999999")), None);
        assert_eq!(code(None), None);
    }

    /// Random streams of pieces that often form (near-)marks. Returns the stream, the stream with the trusted
    /// marks removed, and those marks at their output positions: an oracle independent of the scanner.
    fn random_stream(rng: &mut Rng) -> (Vec<u8>, Vec<u8>, Vec<(usize, Mark)>) {
        let wrong = "0123456789abcdeffedcba9876543211";
        let pieces: &[&[u8]] = &[
            b"\x1b",
            b"\x1b]",
            b"\x1b]633;",
            b"\x1b]133;",
            b"A;",
            b"C;",
            b";",
            b"\x07",
            b"\x1b\\",
            b"\\",
            &NONCE.as_bytes()[..16],
            wrong.as_bytes(),
            b"hello",
            b"\xe2\x82",
            b"\xac",
            b"\xff",
            b"\r\n",
            b"\x1b[31m",
        ];
        let (mut input, mut output, mut marks) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rng.below(40) {
            if rng.below(6) == 0 {
                let st = rng.below(2) == 0;
                let (bytes, m) = match rng.below(3) {
                    0 => (mark("A", None, st), Mark::PromptStart),
                    1 => (mark("C", Some(r"ls\x3b\\"), st), Mark::CommandStart { command: r"ls;\".into() }),
                    _ => (mark("D", Some("2"), st), Mark::CommandEnd { exit_code: Some(2) }),
                };
                input.extend(bytes);
                marks.push((output.len(), m));
            } else {
                let piece = pieces[rng.below(pieces.len())];
                input.extend_from_slice(piece);
                output.extend_from_slice(piece);
            }
        }
        (input, output, marks)
    }

    #[test]
    fn any_split_gives_the_same_result() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let (input, expected_out, expected_marks) = random_stream(&mut rng);
            let whole = scan(&input);
            assert_eq!(whole.0, expected_out, "{:?}", String::from_utf8_lossy(&input));
            assert_eq!(whole.1, expected_marks);
            for cut in 0..=input.len() {
                assert_eq!(scan_chunks(&[&input[..cut], &input[cut..]]), whole, "cut {cut}");
            }
            for _ in 0..5 {
                let mut chunks = Vec::new();
                let mut rest = input.as_slice();
                while !rest.is_empty() {
                    let (a, b) = rest.split_at(rng.below(rest.len().min(12)) + 1);
                    chunks.push(a);
                    chunks.push(&b[..0]); // empty chunks are fine too
                    rest = b;
                }
                assert_eq!(scan_chunks(&chunks), whole);
            }
        }
    }

    #[test]
    fn random_bytes_survive() {
        let mut rng = Rng(42);
        for _ in 0..200 {
            let input: Vec<u8> = (0..rng.below(200))
                .map(|_| match rng.below(4) {
                    0 => ESC,
                    1 => b"]633;\x07\\"[rng.below(7)],
                    _ => rng.next() as u8,
                })
                .collect();
            let whole = scan(&input);
            assert_eq!(whole.0, input);
            for cut in 0..=input.len() {
                assert_eq!(scan_chunks(&[&input[..cut], &input[cut..]]), whole);
            }
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn blocks_from_marks() {
        let mut b = BlockBuilder::new(1024);
        assert_eq!(b.mark(Mark::PromptStart, at(0)), None);
        b.output(b"ls\r\n"); // typing, outside any block
        assert_eq!(b.mark(Mark::CommandStart { command: "ls".into() }, at(1)), None);
        assert_eq!(b.running(), Some("ls"));
        b.output(b"\x1b[34mdir\x1b[0m  ");
        b.output(b"file\r\n");
        let block = b.mark(Mark::CommandEnd { exit_code: Some(0) }, at(3));
        assert_eq!(
            block,
            Some(CommandBlock {
                command: "ls".into(),
                exit_code: Some(0),
                started_at: at(1),
                ended_at: at(3),
                output: "dir  file\n".into(),
                truncated: false,
            })
        );
        assert_eq!(b.running(), None);
        assert_eq!(b.mark(Mark::CommandEnd { exit_code: Some(1) }, at(4)), None);
    }

    #[test]
    fn blocks_closed_without_end() {
        let mut b = BlockBuilder::new(1024);
        b.mark(Mark::CommandStart { command: "a".into() }, at(1));
        b.output(b"1");
        let old = b.mark(Mark::CommandStart { command: "b".into() }, at(2));
        assert_eq!(old.map(|o| (o.command, o.exit_code, o.output)), Some(("a".into(), None, "1".into())));
        assert_eq!(b.running(), Some("b"));
        let old = b.mark(Mark::PromptStart, at(3));
        assert_eq!(old.map(|o| (o.command, o.exit_code, o.ended_at)), Some(("b".into(), None, at(3))));
        assert_eq!(b.mark(Mark::PromptStart, at(4)), None);
    }

    #[test]
    fn block_output_is_capped() {
        let mut b = BlockBuilder::new(5);
        b.mark(Mark::CommandStart { command: "yes".into() }, at(1));
        b.output(b"abc");
        b.output(b"d\xc3\xa9f");
        let block = b.mark(Mark::CommandEnd { exit_code: None }, at(2));
        assert_eq!(block.map(|o| (o.output, o.truncated)), Some(("abcd".into(), true)));

        let mut b = BlockBuilder::new(3);
        b.mark(Mark::CommandStart { command: "x".into() }, at(1));
        b.output(b"abc");
        let block = b.mark(Mark::CommandEnd { exit_code: None }, at(2));
        assert_eq!(block.map(|o| (o.output, o.truncated)), Some(("abc".into(), false)));
    }

    #[test]
    fn builder_feed_interleaves_marks() {
        let mut scanner = MarkScanner::new(NONCE);
        let mut b = BlockBuilder::new(1024);
        let input = [
            mark("A", None, false),
            b"$ echo hi\r\n".to_vec(),
            mark("C", Some("echo hi"), false),
            b"hi\r\n".to_vec(),
            mark("D", Some("0"), false),
            mark("A", None, false),
            b"$ ".to_vec(),
            mark("C", Some("false"), false),
            mark("D", Some("1"), false),
        ]
        .concat();
        let (out, marks) = scanner.feed(Bytes::from(input));
        let blocks = b.feed(&out, marks, at(5));
        let got: Vec<_> = blocks.into_iter().map(|b| (b.command, b.exit_code, b.output)).collect();
        assert_eq!(got, vec![("echo hi".into(), Some(0), "hi\n".into()), ("false".into(), Some(1), String::new())]);
    }

    #[test]
    fn plain_text_strips_colors_and_escapes() {
        assert_eq!(plain_text(b"\x1b[1;31merror\x1b[0m: x\x1b[K"), "error: x");
        assert_eq!(plain_text(b"\x1b]0;title\x07a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "alink");
        assert_eq!(plain_text(b"\x1b(Bx\x1b)0y\x1b7z\x1b8\x1b=\x1b#8"), "xyz");
        assert_eq!(plain_text(b"\x1bPq#0;2;0;0;0\x1b\\after"), "after");
        assert_eq!(plain_text(b"\x1b[?2004hprompt\x1b[?2004l"), "prompt");
        assert_eq!(plain_text(b"a\x1b\x1b[0mb\x1b"), "ab");
        assert_eq!(plain_text(b"a\x1b[12"), "a");
        assert_eq!(plain_text(b"a\x1b]0;unterminated"), "a");
    }

    #[test]
    fn plain_text_line_handling() {
        assert_eq!(plain_text(b"a\r\nb\r\n"), "a\nb\n");
        assert_eq!(plain_text(b"a\r\r\nb"), "a\nb");
        assert_eq!(plain_text(b" 10%\r 50%\r100%\r\ndone\n"), "100%\ndone\n");
        assert_eq!(plain_text(b"50%\x1b[K\r\x1b[K100%"), "100%");
        assert_eq!(plain_text(b"kept\r"), "kept");
        assert_eq!(plain_text(b"abc\x08\x08d"), "ad");
        assert_eq!(plain_text("é\x08x".as_bytes()), "x");
        assert_eq!(plain_text(b"\x08\x08a"), "a");
        assert_eq!(plain_text(b"a\tb\x00\x01\x07\x7fc"), "a\tbc");
        assert_eq!(plain_text(b"a\n\n\n\n"), "a\n");
        assert_eq!(plain_text(b"a\n\nb\n"), "a\n\nb\n");
        assert_eq!(plain_text(b"\n\n"), "\n");
        assert_eq!(plain_text(b""), "");
    }

    #[test]
    fn plain_text_invalid_utf8() {
        assert_eq!(plain_text(b"caf\xc3\xa9 \xff\xfe ok"), "café \u{fffd}\u{fffd} ok");
        assert_eq!(plain_text(b"\xe2\x82"), "\u{fffd}");
    }
}

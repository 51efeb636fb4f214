//! Recording terminal sessions as asciicast v2 (<https://docs.asciinema.org/manual/asciicast/v2/>).
//!
//! A recording is a JSON header line followed by one JSON array per line: `[time, "o", data]` for output,
//! `[time, "r", "COLSxROWS"]` for a resize and `[time, "m", label]` for a marker, times in seconds since the start.
//! [`Recorder`] writes one from raw PTY chunks (decoding UTF-8 across chunk boundaries so every line is valid
//! JSON); [`parse`] reads one back for tests and the ticket page's replay.

use bytes::Bytes;
use std::io::{self, Write};
use std::time::Duration;

/// The header's fields. `env` typically holds `TERM` and `SHELL`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub width: u16,
    pub height: u16,
    /// Unix seconds of the recording's start.
    pub timestamp: i64,
    pub title: Option<String>,
    pub env: Vec<(String, String)>,
}

/// Writes an asciicast v2 stream. Events are built as whole lines in one
/// buffer and handed to the writer in batches of whole lines ([`Recorder::flush`],
/// or once [`FLUSH_AT`] bytes are waiting), so a crash leaves at most the last
/// line torn and the writer needs no buffering of its own.
#[derive(Debug)]
pub struct Recorder<W: Write> {
    writer: W,
    written: u64,
    /// The start of a UTF-8 sequence split by the end of the last output chunk (always a valid prefix).
    carry: [u8; 3],
    carry_len: usize,
    /// The latest event time, so times never go backwards even if the caller's clock does.
    last: Duration,
    /// Whole lines not yet handed to the writer.
    out: Vec<u8>,
}

/// Waiting lines are written out once they reach this size.
pub const FLUSH_AT: usize = 256 * 1024;

impl<W: Write> Recorder<W> {
    /// Starts a recording by writing the header line.
    pub fn new(writer: W, header: &Header) -> io::Result<Self> {
        let mut recorder =
            Self { writer, written: 0, carry: [0; 3], carry_len: 0, last: Duration::ZERO, out: Vec::new() };
        let line = &mut recorder.out;
        write!(
            line,
            r#"{{"version":2,"width":{},"height":{},"timestamp":{}"#,
            header.width, header.height, header.timestamp
        )?;
        if let Some(title) = &header.title {
            line.extend_from_slice(br#","title":"#);
            serde_json::to_writer(&mut *line, title)?;
        }
        if !header.env.is_empty() {
            line.extend_from_slice(br#","env":{"#);
            // Duplicate keys would make the JSON ambiguous; the first one wins.
            for (i, (key, value)) in header.env.iter().enumerate() {
                if header.env[..i].iter().any(|(k, _)| k == key) {
                    continue;
                }
                if i > 0 {
                    line.push(b',');
                }
                serde_json::to_writer(&mut *line, key)?;
                line.push(b':');
                serde_json::to_writer(&mut *line, value)?;
            }
            line.push(b'}');
        }
        line.extend_from_slice(b"}\n");
        recorder.written = recorder.out.len() as u64;
        recorder.flush()?;
        Ok(recorder)
    }

    /// A recorder that starts with a header line made elsewhere (a journal's).
    fn with_header_line(writer: W, line: Vec<u8>) -> Self {
        Self { writer, written: line.len() as u64, carry: [0; 3], carry_len: 0, last: Duration::ZERO, out: line }
    }

    /// Records PTY output at `at` since the start. Invalid UTF-8 becomes U+FFFD; a character split across calls is
    /// carried over and comes out whole, so nothing is written when the bytes only extend a carried character.
    pub fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        let line_start = self.out.len();
        let time = self.last.max(at);
        write_prefix(&mut self.out, time, "o");
        let text_start = self.out.len();
        let mut rest = bytes;
        if self.carry_len > 0 {
            rest = self.complete_carry(rest);
        }
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    escape_into(&mut self.out, valid.as_bytes());
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    escape_into(&mut self.out, valid);
                    match e.error_len() {
                        Some(len) => {
                            self.out.extend_from_slice(REPLACEMENT);
                            rest = &after[len..];
                        }
                        None => {
                            // A valid but unfinished sequence at the end: at most 3 bytes.
                            self.carry_len = after.len().min(3);
                            self.carry[..self.carry_len].copy_from_slice(&after[..self.carry_len]);
                            break;
                        }
                    }
                }
            }
        }
        if self.out.len() == text_start {
            self.out.truncate(line_start);
            return Ok(());
        }
        self.end_line(line_start, time)
    }

    /// Records a terminal resize.
    pub fn resize(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
        self.event(at, "r", format!("{cols}x{rows}").as_bytes())
    }

    /// Records a marker (a chapter point for replay).
    pub fn marker(&mut self, at: Duration, label: &str) -> io::Result<()> {
        self.event(at, "m", label.as_bytes())
    }

    /// Writes out any held-back partial UTF-8 (as U+FFFD) and flushes; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.carry_len > 0 {
            self.carry_len = 0;
            self.event(self.last, "o", REPLACEMENT)?;
        }
        self.flush()?;
        self.writer.flush()?;
        Ok(self.writer)
    }

    /// Hands the waiting lines to the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Bytes of the file so far (the header included), for the session's size.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Feeds the start of `bytes` to the carried partial character; returns the bytes left. Matches what
    /// `String::from_utf8_lossy` would do on the concatenation.
    fn complete_carry<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let width: usize = match self.carry[0] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        let take = width.saturating_sub(self.carry_len).min(bytes.len());
        let mut joined = [0u8; 4];
        let joined_len = self.carry_len + take;
        joined[..self.carry_len].copy_from_slice(&self.carry[..self.carry_len]);
        joined[self.carry_len..joined_len].copy_from_slice(&bytes[..take]);
        match std::str::from_utf8(&joined[..joined_len]) {
            Ok(c) => {
                escape_into(&mut self.out, c.as_bytes());
                self.carry_len = 0;
                &bytes[take..]
            }
            Err(e) => match e.error_len() {
                // Still unfinished: `bytes` was too short.
                None if joined_len < 4 => {
                    self.carry[..joined_len].copy_from_slice(&joined[..joined_len]);
                    self.carry_len = joined_len;
                    &bytes[take..]
                }
                // Broken: one U+FFFD for the carried bytes and the continuation bytes that fit them.
                error_len => {
                    let used = error_len.unwrap_or(joined_len).saturating_sub(self.carry_len).min(take);
                    self.out.extend_from_slice(REPLACEMENT);
                    self.carry_len = 0;
                    &bytes[used..]
                }
            },
        }
    }

    /// Adds `[time, code, text]` as one line (`text` is valid UTF-8).
    fn event(&mut self, at: Duration, code: &str, text: &[u8]) -> io::Result<()> {
        let line_start = self.out.len();
        let time = self.last.max(at);
        write_prefix(&mut self.out, time, code);
        escape_into(&mut self.out, text);
        self.end_line(line_start, time)
    }

    fn end_line(&mut self, line_start: usize, time: Duration) -> io::Result<()> {
        self.out.extend_from_slice(b"\"]\n");
        self.last = time;
        self.written += (self.out.len() - line_start) as u64;
        if self.out.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }
}

/// U+FFFD in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// `[seconds,"code","` with whole microseconds as a plain decimal: exact, and never in exponent notation.
fn write_prefix(out: &mut Vec<u8>, time: Duration, code: &str) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "[{}.{:06},\"{code}\",\"", time.as_secs(), time.subsec_micros());
}

/// Appends `text` (valid UTF-8) as the inside of a JSON string. Terminal
/// output is mostly runs that need no escaping between CR LF and escape
/// sequences: eight bytes are tested at once, and a run is copied whole.
fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `word` that is below 0x20, '"' or '\\'.
    // None is missed, and the lowest mark is a real one unless a byte of 0x80
    // or more comes before it (the byte-by-byte test below then passes it).
    let marks = |word: u64| {
        let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        // Bytes below 0x20, with the high bits cleared first so bytes >= 0x80 never count.
        let low = (word & !HIGHS).wrapping_sub(ONES * 0x20) & !word & HIGHS;
        low | zeros(word ^ (ONES * 0x22)) | zeros(word ^ (ONES * 0x5c))
    };
    out.reserve(text.len() + 16);
    let mut run_start = 0;
    let mut i = 0;
    while i < text.len() {
        if let Some(word) = text.get(i..i + 8) {
            let marked = marks(u64::from_le_bytes(word.try_into().expect("eight bytes")));
            if marked == 0 {
                i += 8;
                continue;
            }
            i += (marked.trailing_zeros() / 8) as usize;
        }
        let byte = text[i];
        let escaped: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                &[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&text[run_start..i]);
        out.extend_from_slice(escaped);
        i += 1;
        run_start = i;
    }
    out.extend_from_slice(&text[run_start..]);
}

/// A recording in progress: the output as it came, with its times, turned
/// into asciicast once — when the session ends, or when someone downloads it
/// before ([`encode_journal`]). Encoding while a flood runs read every byte
/// a second time on another core and cost the shell 5–11 % of its pace; a
/// journal is a plain copy. The first line is the asciicast header; then
/// records of `[kind u8][time µs u64 LE][length u32 LE][bytes]`, kind `o`
/// (output), `r` (`COLSxROWS`) or `m` (a marker's label).
///
/// Records wait, uncopied, until [`Journal::flush`] writes them all in as
/// few vectored writes as the kernel takes: the recorder hands over a few
/// milliseconds of a flood at once, and one large write costs the page cache
/// less than a hundred small ones.
#[derive(Debug)]
pub struct Journal<W: Write> {
    writer: W,
    written: u64,
    /// Records not yet written: each one's head and bytes.
    pending: Vec<([u8; RECORD_HEAD], Bytes)>,
}

/// A record's kind, time and length.
const RECORD_HEAD: usize = 13;
/// Slices one `writev` takes at most (Linux's `IOV_MAX`).
const MAX_SLICES: usize = 1024;

impl<W: Write> Journal<W> {
    pub fn new(writer: W, header: &Header) -> io::Result<Self> {
        let line = Recorder::new(Vec::new(), header)?.finish()?;
        let mut journal = Journal { writer, written: line.len() as u64, pending: Vec::new() };
        journal.writer.write_all(&line)?;
        Ok(journal)
    }

    pub fn output(&mut self, at: Duration, bytes: Bytes) -> io::Result<()> {
        self.record(b'o', at, bytes)
    }

    pub fn resize(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
        self.record(b'r', at, format!("{cols}x{rows}").into())
    }

    pub fn marker(&mut self, at: Duration, label: &str) -> io::Result<()> {
        self.record(b'm', at, Bytes::copy_from_slice(label.as_bytes()))
    }

    fn record(&mut self, kind: u8, at: Duration, bytes: Bytes) -> io::Result<()> {
        let length = u32::try_from(bytes.len()).map_err(|_| io::Error::other("a record over 4 GiB"))?;
        let mut head = [0u8; RECORD_HEAD];
        head[0] = kind;
        head[1..9].copy_from_slice(&(at.as_micros() as u64).to_le_bytes());
        head[9..13].copy_from_slice(&length.to_le_bytes());
        self.pending.push((head, bytes));
        if self.pending.len() * 2 >= MAX_SLICES {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the waiting records, heads and bytes as they lie.
    fn write_pending(&mut self) -> io::Result<()> {
        let mut slices: Vec<io::IoSlice> = Vec::with_capacity(self.pending.len() * 2);
        for (head, bytes) in &self.pending {
            slices.push(io::IoSlice::new(head));
            slices.push(io::IoSlice::new(bytes));
        }
        let mut remaining = &mut slices[..];
        while !remaining.is_empty() {
            match self.writer.write_vectored(remaining) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.written += n as u64;
                    io::IoSlice::advance_slices(&mut remaining, n);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Writes every waiting record and flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.writer.flush()
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }
}

/// Writes the asciicast a journal stands for. A record cut short (the
/// session is still writing it, or the server died mid-write) ends it.
pub fn encode_journal<W: Write>(mut journal: impl io::BufRead, out: W) -> io::Result<W> {
    let mut header = Vec::new();
    journal.read_until(b'\n', &mut header)?;
    if header.last() != Some(&b'\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the journal has no header"));
    }
    let mut recorder = Recorder::with_header_line(out, header);
    let mut bytes = Vec::new();
    loop {
        let mut head = [0u8; 13];
        if read_whole(&mut journal, &mut head)? {
            break;
        }
        let at = Duration::from_micros(u64::from_le_bytes(head[1..9].try_into().expect("eight bytes")));
        let length = u32::from_le_bytes(head[9..13].try_into().expect("four bytes")) as usize;
        bytes.resize(length, 0);
        if read_whole(&mut journal, &mut bytes)? {
            break;
        }
        match head[0] {
            b'o' => recorder.output(at, &bytes)?,
            b'r' => {
                let size = String::from_utf8_lossy(&bytes);
                let (cols, rows) = size.split_once('x').unwrap_or_default();
                if let (Ok(cols), Ok(rows)) = (cols.parse(), rows.parse()) {
                    recorder.resize(at, cols, rows)?;
                }
            }
            b'm' => recorder.marker(at, &String::from_utf8_lossy(&bytes))?,
            _ => break, // not a journal record: what came before stands
        }
    }
    recorder.finish()
}

/// Where the journal of the recording at `cast` is kept while it runs.
pub fn journal_path(cast: &std::path::Path) -> std::path::PathBuf {
    cast.with_extension("journal")
}

/// Writes the asciicast that the journal of `cast` holds so far into `out`.
pub fn encode_journal_of<W: Write>(cast: &std::path::Path, out: W) -> io::Result<W> {
    let journal = std::fs::File::open(journal_path(cast))?;
    encode_journal(io::BufReader::with_capacity(256 * 1024, journal), out)
}

/// Turns the journal of `cast` into `cast` (whole or not at all: written
/// aside, then renamed) and removes the journal; answers the file's size.
pub fn complete_journal(cast: &std::path::Path) -> io::Result<u64> {
    let aside = cast.with_extension("cast-part");
    let written = (|| {
        let file = encode_journal_of(cast, std::fs::File::create(&aside)?)?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        std::fs::rename(&aside, cast)?;
        Ok(size)
    })();
    match written {
        Ok(size) => {
            std::fs::remove_file(journal_path(cast))?;
            Ok(size)
        }
        Err(error) => {
            // No half-written asciicast stays behind; the journal does.
            let _ = std::fs::remove_file(&aside);
            Err(error)
        }
    }
}

/// Fills `buffer`; true when the input ended first (nothing or part of it came).
fn read_whole(input: &mut impl io::Read, buffer: &mut [u8]) -> io::Result<bool> {
    match input.read_exact(buffer) {
        Ok(()) => Ok(false),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
        Err(error) => Err(error),
    }
}

// Parsing lives with the shared models: the ticket page replays recordings too.
pub use opsdesk_app::model::{parse_asciicast as parse, CastEvent as Event};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::test_rng::Rng;
    use serde_json::Value;

    fn header() -> Header {
        Header {
            width: 80,
            height: 24,
            timestamp: 1_700_000_000,
            title: Some("ticket #7 \"db\"".into()),
            env: vec![("TERM".into(), "xterm-256color".into()), ("SHELL".into(), "/bin/bash".into())],
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Records `chunks` as output and returns the file's text.
    fn record(chunks: &[&[u8]]) -> String {
        let mut rec = Recorder::new(Vec::new(), &Header::default()).expect("header");
        for (i, chunk) in chunks.iter().enumerate() {
            rec.output(ms(i as u64), chunk).expect("output");
        }
        let written = rec.bytes_written();
        let file = rec.finish().expect("finish");
        assert!(file.len() as u64 >= written);
        String::from_utf8(file).expect("recording is UTF-8")
    }

    fn output_data(file: &str) -> String {
        let (_, events) = parse(file).expect("parses");
        events.iter().filter(|e| e.code == "o").map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn header_and_events_round_trip() {
        let mut rec = Recorder::new(Vec::new(), &header()).expect("header");
        rec.output(Duration::new(0, 1_500), b"$ ls\r\n\x1b[1mbold\x1b[0m \"q\" \\").expect("output");
        rec.resize(Duration::new(1, 234_567_890), 120, 40).expect("resize");
        rec.marker(Duration::new(2, 0), "ls done").expect("marker");
        let written = rec.bytes_written();
        let file = String::from_utf8(rec.finish().expect("finish")).expect("UTF-8");
        assert_eq!(written, file.len() as u64);

        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines.len(), 4);
        for line in &lines {
            serde_json::from_str::<Value>(line).expect("each line is JSON");
        }
        assert!(lines[0].starts_with(r#"{"version":2,"width":80,"height":24,"timestamp":1700000000"#));
        assert_eq!(lines[2], r#"[1.234567,"r","120x40"]"#);

        let (h, events) = parse(&file).expect("parses");
        assert_eq!(h["version"], 2);
        assert_eq!(h["title"], "ticket #7 \"db\"");
        assert_eq!(h["env"]["TERM"], "xterm-256color");
        assert_eq!(h["env"]["SHELL"], "/bin/bash");
        assert_eq!(
            events,
            vec![
                Event { time: 0.000001, code: "o".into(), data: "$ ls\r\n\x1b[1mbold\x1b[0m \"q\" \\".into() },
                Event { time: 1.234567, code: "r".into(), data: "120x40".into() },
                Event { time: 2.0, code: "m".into(), data: "ls done".into() },
            ]
        );
    }

    #[test]
    fn minimal_header() {
        let env = vec![("A".into(), "1".into()), ("A".into(), "2".into())];
        let rec = Recorder::new(Vec::new(), &Header { env, ..Header::default() }).expect("header");
        let file = String::from_utf8(rec.finish().expect("finish")).expect("UTF-8");
        assert_eq!(file, "{\"version\":2,\"width\":0,\"height\":0,\"timestamp\":0,\"env\":{\"A\":\"1\"}}\n");
        let file = record(&[]);
        assert_eq!(file, "{\"version\":2,\"width\":0,\"height\":0,\"timestamp\":0}\n");
        assert_eq!(parse(&file).expect("parses").1, vec![]);
    }

    #[test]
    fn split_characters_come_out_whole() {
        let euro = "€".as_bytes(); // 3 bytes
        assert_eq!(output_data(&record(&[&euro[..1], &euro[1..]])), "€");
        assert_eq!(output_data(&record(&[&euro[..2], &euro[2..]])), "€");
        assert_eq!(output_data(&record(&[&euro[..1], &euro[1..2], &euro[2..]])), "€");
        let crab = "a🦀b".as_bytes(); // 4-byte char in the middle
        for cut in 0..=crab.len() {
            assert_eq!(output_data(&record(&[&crab[..cut], &crab[cut..]])), "a🦀b");
        }
        // Only the event completing the character is written.
        let file = record(&[&euro[..1], &euro[1..2], &euro[2..]]);
        assert_eq!(file.lines().count(), 2);
    }

    #[test]
    fn broken_sequences_become_replacement_characters() {
        assert_eq!(output_data(&record(&[b"a\xe2\x82", b"b"])), "a\u{fffd}b");
        assert_eq!(output_data(&record(&[b"\xe2", b"\xe2\x82\xac"])), "\u{fffd}€");
        assert_eq!(output_data(&record(&[b"\xf0\x9f", b"\x80"])), "\u{fffd}");
        assert_eq!(output_data(&record(&[b"x\xf0\x9f"])), "x\u{fffd}");
        assert_eq!(output_data(&record(&[b"\xff\xfe\xc0\x80"])), "\u{fffd}".repeat(4));
    }

    #[test]
    fn random_garbage_is_valid_json_and_lossless() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..500 {
            let input: Vec<u8> = (0..rng.below(300))
                .map(|_| match rng.below(5) {
                    0 => [0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xa6, 0x80, 0xc3, 0xa9, 0xed, 0xa0][rng.below(11)],
                    1 => b"\"\\\x1b\x00\n\r\t"[rng.below(7)],
                    2 => rng.next() as u8,
                    _ => b'a' + rng.below(26) as u8,
                })
                .collect();
            let expected = String::from_utf8_lossy(&input);
            let mut chunks = Vec::new();
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let (a, b) = rest.split_at(rng.below(rest.len().min(if round % 2 == 0 { 5 } else { 64 })) + 1);
                chunks.push(a);
                rest = b;
            }
            let file = record(&chunks);
            let mut last = 0.0;
            for line in file.lines().skip(1) {
                let event: Value = serde_json::from_str(line).expect("valid JSON line");
                let time = event[0].as_f64().expect("time");
                assert!(time >= last);
                last = time;
            }
            assert_eq!(output_data(&file), expected);
            for cut in 0..=input.len().min(40) {
                assert_eq!(output_data(&record(&[&input[..cut], &input[cut..]])), expected);
            }
        }
    }

    #[test]
    fn times_are_monotonic_and_microsecond_precise() {
        let mut rec = Recorder::new(Vec::new(), &Header::default()).expect("header");
        rec.output(Duration::new(3, 999_999_999), b"a").expect("output");
        rec.output(Duration::new(1, 0), b"b").expect("output"); // clock went backwards
        rec.output(Duration::new(4, 1_000), b"c").expect("output");
        let file = String::from_utf8(rec.finish().expect("finish")).expect("UTF-8");
        let times: Vec<&str> = file.lines().skip(1).map(|l| &l[1..l.find(',').unwrap_or(1)]).collect();
        assert_eq!(times, vec!["3.999999", "3.999999", "4.000001"]);
    }

    #[test]
    fn finish_flushes_a_dangling_partial_character() {
        let mut rec = Recorder::new(Vec::new(), &Header::default()).expect("header");
        rec.output(ms(5), b"ok\xe2\x82").expect("output");
        let file = String::from_utf8(rec.finish().expect("finish")).expect("UTF-8");
        let (_, events) = parse(&file).expect("parses");
        assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), vec!["ok", "\u{fffd}"]);
        assert_eq!(events[1].time, 0.005);
    }

    #[test]
    fn parse_rejects_bad_input() {
        let err = |text: &str| parse(text).expect_err("should fail");
        assert!(err("").contains("no header"));
        assert!(err("{\"version\":1}\n").starts_with("line 1:"));
        assert!(err("[1]\n").starts_with("line 1:"));
        assert!(err("not json\n").starts_with("line 1:"));
        assert!(err("\n{\"version\":\"2\"}\n").starts_with("line 2:"));
        let head = "{\"version\":2,\"width\":1,\"height\":1}\n";
        assert!(err(&format!("{head}[0.5,\"o\",\"x\"]\n[1.0,\"o\"]\n")).starts_with("line 3:"));
        assert!(err(&format!("{head}[\"1\",\"o\",\"x\"]\n")).starts_with("line 2:"));
        assert!(err(&format!("{head}[-1,\"o\",\"x\"]\n")).starts_with("line 2:"));
        assert!(err(&format!("{head}[1,\"o\",5]\n")).starts_with("line 2:"));
        assert!(err(&format!("{head}[1,\"o\",\"x\"\n")).starts_with("line 2:"));
        let (_, events) = parse(&format!("{head}\n[1,\"o\",\"x\"]\r\n\n")).expect("blank lines and CRLF are fine");
        assert_eq!(events, vec![Event { time: 1.0, code: "o".into(), data: "x".into() }]);
    }

    #[test]
    fn escaping_reads_back_exactly_wherever_a_special_byte_sits() {
        // Every ASCII byte at every place of a 17-byte text (two words and a
        // tail), among plain letters or among multi-byte characters.
        for filler in ["a", "é"] {
            for byte in 0u8..0x80 {
                for at in 0..17 {
                    let mut text: Vec<u8> = filler.repeat(17).into_bytes();
                    let place = at * filler.len();
                    text.splice(place..place + filler.len(), [byte]);
                    let mut out = b"\"".to_vec();
                    escape_into(&mut out, &text);
                    out.push(b'"');
                    let back: String = serde_json::from_slice(&out).expect("valid JSON");
                    assert_eq!(back.as_bytes(), &text[..], "byte {byte:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn a_journal_becomes_the_same_asciicast_and_a_torn_one_keeps_its_whole_records() {
        let mut journal = Journal::new(Vec::new(), &header()).expect("header");
        let mut direct = Recorder::new(Vec::new(), &header()).expect("header");
        journal.output(ms(1), Bytes::from_static(b"hello \xe2\x82")).unwrap();
        direct.output(ms(1), b"hello \xe2\x82").unwrap();
        journal.output(ms(2), Bytes::from_static(b"\xac world\r\n\"q\" \x1b[31m")).unwrap();
        direct.output(ms(2), b"\xac world\r\n\"q\" \x1b[31m").unwrap();
        journal.resize(ms(3), 120, 40).unwrap();
        direct.resize(ms(3), 120, 40).unwrap();
        journal.marker(ms(4), "ls -la").unwrap();
        direct.marker(ms(4), "ls -la").unwrap();
        journal.output(ms(5), Bytes::from_static(b"\xff tail \xf0\x9f")).unwrap();
        direct.output(ms(5), b"\xff tail \xf0\x9f").unwrap();
        journal.flush().unwrap();
        let bytes = journal.writer;
        assert_eq!(journal.written, bytes.len() as u64);
        let cast = encode_journal(&bytes[..], Vec::new()).expect("encoded");
        assert_eq!(String::from_utf8(cast).unwrap(), String::from_utf8(direct.finish().unwrap()).unwrap());
        // Cut anywhere (a session still writing, a crash): valid asciicast of
        // the whole records before the cut.
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        for cut in header_end..bytes.len() {
            let cast = String::from_utf8(encode_journal(&bytes[..cut], Vec::new()).unwrap()).unwrap();
            assert!(parse(&cast).is_ok(), "cut at {cut}: {cast}");
        }
        assert!(encode_journal(&bytes[..header_end - 1], Vec::new()).is_err(), "no header, no recording");
    }

    #[test]
    fn completing_a_journal_is_whole_or_leaves_the_journal_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cast = dir.path().join("s.cast");
        // No header: nothing to make an asciicast of.
        std::fs::write(journal_path(&cast), b"not a journal").unwrap();
        assert!(complete_journal(&cast).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["s.journal"], "no half-written asciicast, the journal kept");

        let mut journal = Journal::new(std::fs::File::create(journal_path(&cast)).unwrap(), &header()).unwrap();
        journal.output(ms(1), Bytes::from_static(b"hi\r\n")).unwrap();
        journal.flush().unwrap();
        let size = complete_journal(&cast).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["s.cast"]);
        assert_eq!(std::fs::metadata(&cast).unwrap().len(), size);
        assert_eq!(parse(&std::fs::read_to_string(&cast).unwrap()).unwrap().1.len(), 1);
    }

    /// A writer that takes at most a few bytes per call, as a full disk or a
    /// signal can make `writev` do.
    struct Trickle(Vec<u8>);

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(7);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            let first = bufs.iter().find(|buf| !buf.is_empty()).map_or(&[][..], |buf| &buf[..]);
            self.write(first)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_journal_writes_many_records_through_short_writes_whole_and_in_order() {
        let mut journal = Journal::new(Trickle(Vec::new()), &header()).expect("header");
        let mut direct = Recorder::new(Vec::new(), &header()).expect("header");
        // More records than one writev takes, written a few bytes at a time.
        for i in 0..MAX_SLICES as u64 {
            let text = format!("line {i}\r\n");
            journal.output(ms(i), Bytes::from(text.clone())).unwrap();
            direct.output(ms(i), text.as_bytes()).unwrap();
        }
        journal.marker(ms(5000), "done").unwrap();
        direct.marker(ms(5000), "done").unwrap();
        journal.flush().unwrap();
        assert_eq!(journal.bytes_written(), journal.writer.0.len() as u64);
        let cast = encode_journal(&journal.writer.0[..], Vec::new()).expect("encoded");
        assert_eq!(cast, direct.finish().unwrap());
    }

    /// Throughput check: `cargo test --release -- --ignored throughput --nocapture`.
    #[test]
    #[ignore = "timing, run in release"]
    fn throughput() {
        let mut chunk = Vec::new();
        while chunk.len() < 64 * 1024 {
            chunk.extend_from_slice("\x1b[32mgreen\x1b[0m text, ünïcödé €🦀, \"quotes\"\r\n".as_bytes());
        }
        chunk.truncate(64 * 1024);
        let mut rng = Rng(7);
        let garbage: Vec<u8> = (0..64 * 1024).map(|_| rng.next() as u8).collect();
        let mut plain = Vec::new();
        while plain.len() < 64 * 1024 {
            plain.extend_from_slice(
                b"000000012345 the quick brown fox jumps over the lazy dog, 0123456789 ABCDEFGHIJ\r\n",
            );
        }
        plain.truncate(64 * 1024);
        for (name, chunk) in [("coloured text", &chunk), ("plain lines", &plain), ("binary", &garbage)] {
            let mut rec = Recorder::new(io::sink(), &Header::default()).expect("header");
            let start = std::time::Instant::now();
            let rounds = 1000;
            for i in 0..rounds {
                rec.output(ms(i), chunk).expect("output");
            }
            let secs = start.elapsed().as_secs_f64();
            println!("{name}: {:.0} MB/s", (rounds as f64 * chunk.len() as f64) / secs / 1e6);
        }
        // The same plain lines into a file: what the filesystem adds.
        let dir = tempfile::tempdir().expect("temp dir");
        let file = std::fs::File::create(dir.path().join("t.cast")).expect("file");
        let mut rec = Recorder::new(file, &Header::default()).expect("header");
        let start = std::time::Instant::now();
        for i in 0..1000 {
            rec.output(ms(i), &plain).expect("output");
        }
        rec.finish().expect("finish");
        let secs = start.elapsed().as_secs_f64();
        println!("plain lines to a file: {:.0} MB/s", (1000.0 * plain.len() as f64) / secs / 1e6);
    }
}

//! Feeding the screen emulator without the text that scrolls away.
//!
//! The emulator (vt100) parses about 70 MB/s, slower than a `cat` moves
//! through the PTY, so during a flood it was the session's biggest cost,
//! competing with the stream it serves. Most of a flood leaves the screen
//! before anyone could see it: [`FastForward`] leaves out such stretches
//! while the final screen stays exactly what feeding every byte gives.
//!
//! Why leaving out is exact. A stretch S is left out only inside a run of
//! plain bytes (printable ASCII, tab, CR, LF), between a fed lead-in T and
//! a fed tail U of the same run:
//! - T holds at least two bytes in `0x40..=0x7E` and ends with CR LF. Any
//!   escape sequence open before T has ended by then (a byte in that range
//!   ends an ESC or CSI sequence; two cover `ESC [`), so the parser is in
//!   its ground state with the cursor in column 0, or inside a string (OSC,
//!   DCS, SOS/PM/APC) that swallows plain bytes and only ends at a byte
//!   outside the run. S also ends with CR LF, so with or without S the
//!   cursor starts U in column 0 with the same attributes and modes (plain
//!   text changes none), only maybe on another row with other contents.
//! - U holds at least twice the screen's rows of line feeds: within `rows`
//!   of them the cursor reaches the bottom row whatever row it started on,
//!   and `rows` more scroll off every row written before, S's included.
//!   From the bottom row on, both feeds go through the same states.
//!
//! Only a scroll region breaks this (rows outside it do not scroll): after
//! any DECSTBM other than the whole screen, nothing is left out until a
//! full reset (RIS). The property test below checks the claim against
//! vt100 itself on random streams cut at random places.

/// An escape sequence cut by the end of a read is kept until this long;
/// a longer one is not a scroll region we understand, so nothing is skipped.
const MAX_SEQUENCE: usize = 64;

#[derive(Default)]
pub struct FastForward {
    /// A scroll region other than the whole screen may be set.
    region: bool,
    /// The start of an escape sequence cut by the end of the last read.
    partial: Vec<u8>,
}

impl FastForward {
    /// Feeds `bytes` to `parser`, leaving out what cannot change the screen.
    pub fn feed(&mut self, parser: &mut vt100::Parser, bytes: &[u8]) {
        let rows = parser.screen().size().0;
        let region_before = self.region;
        let region_seen = self.note_scroll_regions(bytes, rows);
        if region_before || region_seen {
            parser.process(bytes);
            return;
        }
        let mut fed = 0;
        let mut at = 0;
        while at < bytes.len() {
            let start = at + bytes[at..].iter().position(|&b| is_plain(b)).unwrap_or(bytes.len() - at);
            let end = start + plain_prefix(&bytes[start..]);
            if let Some((lead_end, tail_start)) = skippable(&bytes[start..end], rows) {
                parser.process(&bytes[fed..start + lead_end]);
                fed = start + tail_start;
            }
            at = end.max(start + 1);
        }
        parser.process(&bytes[fed..]);
    }

    /// Follows scroll regions (DECSTBM) and full resets (RIS) in `bytes`;
    /// answers whether a region other than the whole screen was set in them.
    fn note_scroll_regions(&mut self, bytes: &[u8], rows: u16) -> bool {
        let mut seen = false;
        let mut from = 0;
        if !self.partial.is_empty() {
            let carried = self.partial.len();
            let mut joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(&bytes[..bytes.len().min(MAX_SEQUENCE)]);
            match sequence(&joined, rows) {
                Sequence::Incomplete if joined.len() < MAX_SEQUENCE => {
                    self.partial = joined;
                    return false;
                }
                Sequence::Incomplete => seen = true,
                complete => {
                    seen |= self.apply(&complete);
                    from = complete.length().saturating_sub(carried);
                }
            }
        }
        let mut search = from;
        while let Some(found) = memchr::memchr(0x1b, &bytes[search..]) {
            let at = search + found;
            match sequence(&bytes[at..], rows) {
                Sequence::Incomplete if bytes.len() - at < MAX_SEQUENCE => {
                    self.partial = bytes[at..].to_vec();
                    break;
                }
                Sequence::Incomplete => {
                    seen = true;
                    search = at + 1;
                }
                complete => {
                    seen |= self.apply(&complete);
                    search = at + complete.length().max(1);
                }
            }
        }
        seen
    }

    /// Applies one sequence; answers whether it set a partial scroll region.
    fn apply(&mut self, sequence: &Sequence) -> bool {
        match sequence {
            Sequence::Reset(_) => {
                self.region = false;
                false
            }
            Sequence::ScrollRegion { full: false, .. } => {
                self.region = true;
                true
            }
            _ => false,
        }
    }
}

/// What an escape sequence at the start of some bytes is, as far as
/// scroll regions go. Lengths count from the ESC.
#[derive(Debug, PartialEq)]
enum Sequence {
    /// Its end has not arrived yet.
    Incomplete,
    /// RIS: everything back to its initial state.
    Reset(usize),
    /// DECSTBM: a scroll region, the whole screen or not.
    ScrollRegion { full: bool, length: usize },
    /// Anything else (or an ESC that a later byte cancels).
    Other(usize),
}

impl Sequence {
    fn length(&self) -> usize {
        match self {
            Sequence::Incomplete => 0,
            Sequence::Reset(length) | Sequence::ScrollRegion { length, .. } | Sequence::Other(length) => *length,
        }
    }
}

/// Reads the escape sequence that `bytes` starts with (`bytes[0]` is ESC)
/// on a screen of `rows`.
fn sequence(bytes: &[u8], rows: u16) -> Sequence {
    let Some(&second) = bytes.get(1) else { return Sequence::Incomplete };
    match second {
        b'c' => Sequence::Reset(2),
        b'[' => {
            // Parameters and intermediates up to the final byte; C0 controls
            // inside a CSI are carried out without ending it, and ESC, CAN
            // and SUB cancel it.
            let mut params = Vec::new();
            for (i, &b) in bytes.iter().enumerate().skip(2) {
                match b {
                    0x1b | 0x18 | 0x1a => return Sequence::Other(i),
                    0x00..=0x1f | 0x7f => {}
                    0x40..=0x7e => {
                        return match b {
                            b'r' => {
                                Sequence::ScrollRegion { full: scroll_region_is_full(&params, rows), length: i + 1 }
                            }
                            _ => Sequence::Other(i + 1),
                        };
                    }
                    _ => params.push(b),
                }
            }
            Sequence::Incomplete
        }
        _ => Sequence::Other(1),
    }
}

/// Whether DECSTBM with these parameter bytes sets the whole screen
/// (conservatively: anything unusual counts as a partial region, except
/// what vt100 does not take for DECSTBM at all: intermediates or private
/// markers). vt100 keeps a whole-screen region whole across resizes.
fn scroll_region_is_full(params: &[u8], rows: u16) -> bool {
    if params.iter().any(|b| matches!(b, 0x20..=0x2f | 0x3c..=0x3f)) {
        return true; // not DECSTBM for vt100
    }
    if params.iter().any(|b| !matches!(b, b'0'..=b'9' | b';')) {
        return false;
    }
    let mut numbers = params
        .split(|&b| b == b';')
        .map(|digits| digits.iter().fold(0u32, |n, &d| n.saturating_mul(10).saturating_add(u32::from(d - b'0'))));
    let top = numbers.next().unwrap_or(0);
    let bottom = numbers.next().unwrap_or(0);
    top <= 1 && (bottom == 0 || bottom >= u32::from(rows))
}

fn is_plain(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | b'\r' | b'\n' | b'\t')
}

/// How many bytes at the start of `bytes` are plain.
fn plain_prefix(bytes: &[u8]) -> usize {
    // Whole blocks first: a branch-free test of 32 bytes vectorises.
    let mut at = 0;
    for block in bytes.chunks_exact(32) {
        if !block.iter().fold(true, |all, &b| all & is_plain(b)) {
            break;
        }
        at += 32;
    }
    at + bytes[at..].iter().position(|&b| !is_plain(b)).unwrap_or(bytes.len() - at)
}

/// In a run of plain bytes: where the lead-in ends and the fed tail starts,
/// when there is something between them to leave out.
fn skippable(run: &[u8], rows: u16) -> Option<(usize, usize)> {
    let tail_feeds = 2 * usize::from(rows.max(1));
    // The tail: back from the end over `tail_feeds` line feeds, to just
    // after a CR LF.
    // (`feeds` line feeds lie after the one at `lf`.)
    let tail_start = memchr::memrchr_iter(b'\n', run)
        .enumerate()
        .find(|&(feeds, lf)| feeds >= tail_feeds && lf > 0 && run[lf - 1] == b'\r')
        .map(|(_, lf)| lf + 1)?;
    // The lead-in: two bytes in 0x40..=0x7E, then up to a CR LF.
    let mut finals = 0;
    let second = run[..tail_start].iter().position(|&b| {
        finals += usize::from((0x40..=0x7e).contains(&b));
        finals == 2
    })?;
    let lead_end = second + memchr::memmem::find(&run[second..tail_start], b"\r\n")? + 2;
    (lead_end < tail_start).then_some((lead_end, tail_start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::test_rng::Rng;

    fn screen_after(rows: u16, cols: u16, chunks: &[&[u8]], fast: bool) -> (Vec<u8>, (u16, u16)) {
        let mut parser = vt100::Parser::new(rows, cols, 0);
        let mut forward = FastForward::default();
        for chunk in chunks {
            if fast {
                forward.feed(&mut parser, chunk);
            } else {
                parser.process(chunk);
            }
        }
        let screen = parser.screen();
        let mut state = screen.state_formatted();
        state.extend_from_slice(&screen.cursor_state_formatted());
        state.push(u8::from(screen.alternate_screen()));
        (state, screen.cursor_position())
    }

    fn lines(n: usize, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let line = format!("{i:06} {}", "the quick brown fox ".repeat(width / 20 + 1));
            out.extend_from_slice(&line.as_bytes()[..width.max(7)]);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn a_flood_of_plain_lines_is_left_out_but_the_screen_is_the_same() {
        let flood = lines(5_000, 60);
        let (rows, cols) = (24, 80);
        let run = &flood[..];
        let (lead_end, tail_start) = skippable(run, rows).expect("a flood can be skipped");
        assert!(tail_start - lead_end > flood.len() * 9 / 10, "most of it is left out");
        assert_eq!(screen_after(rows, cols, &[&flood], true), screen_after(rows, cols, &[&flood], false));
    }

    #[test]
    fn short_runs_and_lone_feeds_are_fed_whole() {
        // Fewer line feeds than two screens: nothing can be left out.
        assert_eq!(skippable(&lines(40, 30), 24), None);
        // Bare line feeds (raw mode): no CR LF to cut at.
        let raw = "x\n".repeat(500);
        assert_eq!(skippable(raw.as_bytes(), 24), None);
    }

    #[test]
    fn scroll_regions_stop_the_skipping_until_a_reset() {
        let mut forward = FastForward::default();
        assert!(!forward.note_scroll_regions(b"\x1b[r\x1b[1r\x1b[;r\x1b[?5r", 24));
        assert!(!forward.region);
        assert!(forward.note_scroll_regions(b"text \x1b[2;20r more", 24));
        assert!(forward.region);
        forward.note_scroll_regions(b"\x1b[r", 24);
        assert!(forward.region, "a full region on one screen says nothing of the other");
        forward.note_scroll_regions(b"\x1bc", 24);
        assert!(!forward.region);
        // Cut across reads, and a CSI with a control inside it.
        assert!(!forward.note_scroll_regions(b"abc\x1b[3;", 24));
        assert!(forward.note_scroll_regions(b"\n10r", 24));
        forward.note_scroll_regions(b"\x1bc", 24);
        // Cancelled by ESC: not a region.
        assert!(!forward.note_scroll_regions(b"\x1b[3;10\x1b[m", 24));
        // The whole screen spelled out is the whole screen; one row less is not.
        assert!(!forward.note_scroll_regions(b"\x1b[1;24r\x1b[0;99r", 24));
        assert!(forward.note_scroll_regions(b"\x1b[1;23r", 24));
    }

    /// Random streams: plain lines of random widths mixed with what changes
    /// the screen in other ways (colours, cursor moves, erases, wide and
    /// broken UTF-8, OSC titles, scroll regions, the alternate screen,
    /// resets, tabs, bare line feeds), cut into reads at random places.
    #[test]
    fn leaving_out_never_changes_the_screen() {
        let pieces: &[&[u8]] = &[
            b"\x1b[31m",
            b"\x1b[1;4;38;5;208m",
            b"\x1b[0m",
            b"\x1b[H",
            b"\x1b[5;10H",
            b"\x1b[2J",
            b"\x1b[K",
            b"\x1b[3A",
            b"\x1b7",
            b"\x1b8",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b]0;a title\x07",
            b"\x1b]2;unfinished title ",
            b"\x1b\\",
            b"\x1bP1$r",
            b"\x1b[5;15r",
            b"\x1b[r",
            b"\x1bc",
            b"\x1b[4h",
            b"\x1b[4l",
            b"\x1b[?7l",
            b"\x1b[?7h",
            b"\x1b[",
            b"\x1b",
            "wide 漢字 and é".as_bytes(),
            b"\xe6\xbc",
            b"\xff",
            b"\t",
            b"x\n",
            b"\x1b[38;5",
            b"\x1b[2",
            b"12;3\r\n",
            b"\r\n\r\n",
            b"\x08\x08",
            b"\r",
        ];
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        for case in 0..600 {
            let rows = [3u16, 5, 24][rng.below(3)];
            let cols = [10u16, 20, 80][rng.below(3)];
            let mut stream = Vec::new();
            for _ in 0..rng.below(40) + 1 {
                if rng.below(3) == 0 {
                    stream.extend_from_slice(pieces[rng.below(pieces.len())]);
                } else {
                    stream.extend_from_slice(&lines(rng.below(80), rng.below(2 * usize::from(cols)) + 1));
                }
            }
            let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&stream[from..cut]);
                from = cut;
            }
            chunks.push(&stream[from..]);
            assert_eq!(
                screen_after(rows, cols, &chunks, true),
                screen_after(rows, cols, &chunks, false),
                "case {case}: {rows}x{cols}, {:?}",
                String::from_utf8_lossy(&stream)
            );
        }
    }
}

//! Server-sent events framing: turns the bytes of a `text/event-stream`
//! body, however the network cut them, into the `data` payloads of its
//! events. It knows nothing about chat completions ([`super::answer`] does).
//!
//! Tolerant on purpose: lines end with `\n`, `\r\n` or a lone `\r`, the
//! space after `data:` is optional, comments (`: keep-alive`) and other
//! fields (`event:`, `id:`, `retry:`) are skipped, and an event that is not
//! closed by a blank line before the stream ends is still delivered.

/// Splits a byte stream into SSE events and answers their data.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The bytes of the line being read (kept as bytes so a character
    /// split across network chunks is decoded whole).
    line: Vec<u8>,
    /// The data lines of the event being read, joined with `\n`.
    data: String,
    /// Whether the event being read has had a `data` line (even an empty one).
    has_data: bool,
    /// The last byte was a `\r`: a `\n` right after it ends no second line.
    after_cr: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the next bytes; answers the data of each event they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.end_line(&mut events);
                    self.after_cr = true;
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    /// The stream ended: answers the data of an event it left unfinished
    /// (servers that end with `data: …\n` or without any line end).
    pub fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.dispatch(&mut events);
        events
    }

    fn end_line(&mut self, events: &mut Vec<String>) {
        if self.line.is_empty() {
            self.dispatch(events);
            return;
        }
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.starts_with(':') {
            return; // a comment, e.g. `: keep-alive`
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
    }

    fn dispatch(&mut self, events: &mut Vec<String>) {
        if self.has_data {
            events.push(std::mem::take(&mut self.data));
            self.has_data = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SseDecoder;

    fn decode_whole(bytes: &[u8]) -> Vec<String> {
        let mut decoder = SseDecoder::new();
        let mut events = decoder.feed(bytes);
        events.extend(decoder.finish());
        events
    }

    #[test]
    fn data_lines_with_and_without_the_space() {
        let events = decode_whole(b"data: {\"a\":1}\n\ndata:{\"b\":2}\n\ndata: [DONE]\n\n");
        assert_eq!(events, vec![r#"{"a":1}"#, r#"{"b":2}"#, "[DONE]"]);
    }

    #[test]
    fn crlf_and_lone_cr_line_ends() {
        assert_eq!(decode_whole(b"data: one\r\n\r\ndata: two\r\n\r\n"), vec!["one", "two"]);
        assert_eq!(decode_whole(b"data: one\r\rdata: two\r\r"), vec!["one", "two"]);
    }

    #[test]
    fn comments_and_other_fields_are_skipped() {
        let events = decode_whole(b": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndata: x\n\n:ping\n\n");
        assert_eq!(events, vec!["x"]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(decode_whole(b"data: a\ndata: b\n\n"), vec!["a\nb"]);
        assert_eq!(decode_whole(b"data\n\n"), vec![""]);
    }

    #[test]
    fn an_unfinished_last_event_is_delivered_at_the_end() {
        assert_eq!(decode_whole(b"data: a\n\ndata: b\n"), vec!["a", "b"]);
        assert_eq!(decode_whole(b"data: a\n\ndata: b"), vec!["a", "b"]);
        assert!(decode_whole(b"").is_empty());
        assert!(decode_whole(b"\n\n: only a comment\n").is_empty());
    }

    #[test]
    fn events_split_anywhere_across_chunks_decode_the_same() {
        let stream =
            "data: {\"t\":\"héllo\"}\r\n\r\n: keep-alive\n\ndata:{\"t\":\"wörld\"}\n\ndata: [DONE]\n\n".as_bytes();
        let whole = decode_whole(stream);
        assert_eq!(whole, vec![r#"{"t":"héllo"}"#, r#"{"t":"wörld"}"#, "[DONE]"]);
        for first in 0..stream.len() {
            for second in first..stream.len() {
                let mut decoder = SseDecoder::new();
                let mut events = decoder.feed(&stream[..first]);
                events.extend(decoder.feed(&stream[first..second]));
                events.extend(decoder.feed(&stream[second..]));
                events.extend(decoder.finish());
                assert_eq!(events, whole, "split at {first} and {second}");
            }
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let stream = b"data: a\r\n\r\ndata: b\n\n";
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for byte in stream {
            events.extend(decoder.feed(std::slice::from_ref(byte)));
        }
        events.extend(decoder.finish());
        assert_eq!(events, vec!["a", "b"]);
    }
}

//! The terminal's websocket: a small RFC 6455 server socket whose output
//! frames go from the session's shared log to the kernel in one vectored
//! write, header and chunks as they lie. The general websocket (tungstenite,
//! behind axum) copies every frame into its own buffer first; with a hundred
//! watchers of a flood that copy was a tenth of the server's work.
//!
//! Only what the terminal needs: HTTP/1.1 upgrades, no extensions or
//! subprotocols, client messages of at most [`MAX_MESSAGE`] bytes. Anything
//! else a client sends that RFC 6455 forbids closes the socket with the
//! code the RFC names for it.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes, BytesMut};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io::{self, IoSlice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest message a client may send (a paste of keystrokes, or JSON).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// A checked websocket upgrade request.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

/// Why an upgrade request was refused.
pub struct Refused(StatusCode, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.1).into_response();
        if self.0 == StatusCode::UPGRADE_REQUIRED {
            response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refused> {
        if parts.version != Version::HTTP_11 || parts.method != Method::GET {
            return Err(Refused(StatusCode::BAD_REQUEST, "a websocket upgrade is an HTTP/1.1 GET"));
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return Err(Refused(StatusCode::UPGRADE_REQUIRED, "this is a websocket: upgrade to it"));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
            return Err(Refused(StatusCode::UPGRADE_REQUIRED, "websocket version 13 only"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .filter(|key| key.len() == 24)
            .cloned()
            .ok_or(Refused(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing or malformed"))?;
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(Refused(StatusCode::BAD_REQUEST, "this connection cannot be upgraded"))?;
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` with the socket once the switch is done.
    pub fn on_upgrade<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => serve(Socket::new(TokioIo::new(upgraded))).await,
                Err(error) => tracing::debug!("terminal websocket upgrade failed: {error}"),
            }
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept(self.key.as_bytes()))
            .body(Body::empty())
            .expect("a valid response")
    }
}

/// `Sec-WebSocket-Accept` for a client's key (RFC 6455, 4.2.2).
fn accept(key: &[u8]) -> HeaderValue {
    use base64::Engine as _;
    use sha1::Digest as _;
    let mut sha1 = sha1::Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

/// A message from the client.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Text(String),
    Binary(Bytes),
    /// Answer with [`Socket::pong`].
    Ping(Bytes),
    /// The client closed: answer with [`Socket::close`]; nothing more comes.
    Closed,
}

/// What ends a socket.
#[derive(Debug)]
pub enum SocketError {
    Io(io::Error),
    /// The client broke the protocol: close with this code and reason.
    Protocol(u16, &'static str),
}

impl From<io::Error> for SocketError {
    fn from(error: io::Error) -> Self {
        SocketError::Io(error)
    }
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketError::Io(error) => write!(f, "{error}"),
            SocketError::Protocol(code, reason) => write!(f, "{reason} (close code {code})"),
        }
    }
}

impl std::error::Error for SocketError {}

const FIN: u8 = 0x80;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xa;

/// The server's end of one websocket. Reading is cancel-safe (a frame is
/// taken only once it has all arrived, and reading never writes); writes
/// must not be cancelled.
pub struct Socket<S = TokioIo<hyper::upgrade::Upgraded>> {
    stream: S,
    incoming: BytesMut,
    /// A fragmented message being put together: its opcode and payload.
    message: Option<(u8, Vec<u8>)>,
    closing: bool,
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Socket<S> {
    pub fn new(stream: S) -> Self {
        Socket { stream, incoming: BytesMut::with_capacity(8 * 1024), message: None, closing: false }
    }

    /// The next message (pongs are skipped).
    pub async fn recv(&mut self) -> Result<Incoming, SocketError> {
        loop {
            if let Some(incoming) = self.next_frame()? {
                return Ok(incoming);
            }
            if self.stream.read_buf(&mut self.incoming).await? == 0 {
                return Err(SocketError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// Takes one whole frame from what has arrived, if there is one, and
    /// answers the message it completes.
    fn next_frame(&mut self) -> Result<Option<Incoming>, SocketError> {
        loop {
            let Some(frame) = parse_frame(&self.incoming)? else { return Ok(None) };
            let mut payload = {
                self.incoming.advance(frame.header);
                self.incoming.split_to(frame.length)
            };
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= frame.mask[i % 4];
            }
            let payload = payload.freeze();
            match frame.opcode {
                PING => return Ok(Some(Incoming::Ping(payload))),
                PONG => continue,
                CLOSE => {
                    if payload.len() == 1 {
                        return Err(SocketError::Protocol(1002, "a close frame's body is a code"));
                    }
                    return Ok(Some(Incoming::Closed));
                }
                opcode => {
                    let (opcode, data) = match (self.message.take(), opcode) {
                        (None, CONTINUATION) => return Err(SocketError::Protocol(1002, "nothing to continue")),
                        (Some(_), TEXT | BINARY) => {
                            return Err(SocketError::Protocol(1002, "a new message inside a fragmented one"))
                        }
                        (None, opcode) => (opcode, payload.to_vec()),
                        (Some((opcode, mut data)), _) => {
                            data.extend_from_slice(&payload);
                            (opcode, data)
                        }
                    };
                    if data.len() > MAX_MESSAGE {
                        return Err(SocketError::Protocol(1009, "the message is too big"));
                    }
                    if !frame.fin {
                        self.message = Some((opcode, data));
                        continue;
                    }
                    return Ok(Some(match opcode {
                        TEXT => Incoming::Text(
                            String::from_utf8(data)
                                .map_err(|_| SocketError::Protocol(1007, "a text message must be UTF-8"))?,
                        ),
                        _ => Incoming::Binary(Bytes::from(data)),
                    }));
                }
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.write_frame(TEXT, &[text.as_bytes()]).await
    }

    /// One binary message made of `chunks`, written as they lie.
    pub async fn send_binary(&mut self, chunks: &[Bytes]) -> io::Result<()> {
        let slices: Vec<&[u8]> = chunks.iter().map(|chunk| &chunk[..]).collect();
        self.write_frame(BINARY, &slices).await
    }

    pub async fn pong(&mut self, payload: &[u8]) -> io::Result<()> {
        self.write_frame(PONG, &[payload]).await
    }

    /// Closes with a code and a reason (cut to fit a control frame).
    pub async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        if self.closing {
            return Ok(());
        }
        self.closing = true;
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.write_frame(CLOSE, &[&code.to_be_bytes(), &reason.as_bytes()[..end]]).await?;
        self.stream.shutdown().await
    }

    async fn write_frame(&mut self, opcode: u8, parts: &[&[u8]]) -> io::Result<()> {
        let length: usize = parts.iter().map(|part| part.len()).sum();
        let (header, header_length) = frame_header(FIN | opcode, length, false);
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len() + 1);
        slices.push(IoSlice::new(&header[..header_length]));
        slices.extend(parts.iter().filter(|part| !part.is_empty()).map(|part| IoSlice::new(part)));
        let mut remaining = &mut slices[..];
        while !remaining.is_empty() {
            let written = self.stream.write_vectored(remaining).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut remaining, written);
        }
        Ok(())
    }
}

/// A client frame's header, once all of the frame has arrived.
struct Frame {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Bytes of header (with the mask) and of payload.
    header: usize,
    length: usize,
}

/// A frame's first bytes: `first` (FIN and opcode), then the payload's
/// length in the shortest form the RFC allows, with the mask bit for a
/// client's frame (the mask itself follows). The bytes and how many are used.
pub fn frame_header(first: u8, length: usize, masked: bool) -> ([u8; 10], usize) {
    let mut header = [0u8; 10];
    header[0] = first;
    let used = match length {
        0..=125 => {
            header[1] = length as u8;
            2
        }
        126..=0xffff => {
            header[1] = 126;
            header[2..4].copy_from_slice(&(length as u16).to_be_bytes());
            4
        }
        _ => {
            header[1] = 127;
            header[2..10].copy_from_slice(&(length as u64).to_be_bytes());
            10
        }
    };
    if masked {
        header[1] |= 0x80;
    }
    (header, used)
}

/// Reads the frame at the start of `bytes`: `None` until all of it is
/// there; an error as soon as its header breaks the rules.
fn parse_frame(bytes: &[u8]) -> Result<Option<Frame>, SocketError> {
    let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else { return Ok(None) };
    if first & 0x70 != 0 {
        return Err(SocketError::Protocol(1002, "no extension was agreed (reserved bits set)"));
    }
    let (fin, opcode) = (first & FIN != 0, first & 0x0f);
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(SocketError::Protocol(1002, "unknown opcode"));
    }
    if second & 0x80 == 0 {
        return Err(SocketError::Protocol(1002, "client frames must be masked"));
    }
    let (length, at) = match second & 0x7f {
        126 => match bytes.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match bytes.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("eight bytes")).try_into().unwrap_or(usize::MAX), 10),
            None => return Ok(None),
        },
        length => (usize::from(length), 2),
    };
    if opcode >= CLOSE && (!fin || length > 125) {
        return Err(SocketError::Protocol(1002, "control frames are whole and short"));
    }
    if length > MAX_MESSAGE {
        return Err(SocketError::Protocol(1009, "the message is too big"));
    }
    let Some(mask) = bytes.get(at..at + 4) else { return Ok(None) };
    let header = at + 4;
    if bytes.len() < header + length {
        return Ok(None);
    }
    Ok(Some(Frame { fin, opcode, mask: mask.try_into().expect("four bytes"), header, length }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame, masked as clients must.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let (header, used) = frame_header(first, payload.len(), true);
        let mut frame = header[..used].to_vec();
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    async fn exchange(client_sends: Vec<u8>) -> (Vec<Result<Incoming, String>>, Vec<u8>) {
        let (server_end, mut client_end) = tokio::io::duplex(1 << 20);
        let mut socket = Socket::new(server_end);
        client_end.write_all(&client_sends).await.unwrap();
        client_end.shutdown().await.unwrap();
        let mut got = Vec::new();
        loop {
            match socket.recv().await {
                Ok(Incoming::Closed) => {
                    got.push(Ok(Incoming::Closed));
                    socket.close(1000, "").await.unwrap();
                    break;
                }
                Ok(incoming) => got.push(Ok(incoming)),
                Err(SocketError::Protocol(code, reason)) => {
                    got.push(Err(format!("{code}")));
                    socket.close(code, reason).await.unwrap();
                    break;
                }
                Err(SocketError::Io(_)) => break,
            }
        }
        drop(socket);
        let mut answered = Vec::new();
        client_end.read_to_end(&mut answered).await.unwrap();
        (got, answered)
    }

    #[tokio::test]
    async fn messages_arrive_whole_whatever_their_fragments() {
        let mut sends = client_frame(FIN | TEXT, br#"{"type":"ack","offset":5}"#);
        sends.extend(client_frame(BINARY, b"ls "));
        sends.extend(client_frame(FIN | PING, b"are you there"));
        sends.extend(client_frame(CONTINUATION, b"-la"));
        sends.extend(client_frame(FIN | CONTINUATION, b"\r"));
        sends.extend(client_frame(FIN | BINARY, &vec![b'x'; 70_000 - 20_000]));
        sends.extend(client_frame(FIN | PONG, b""));
        sends.extend(client_frame(FIN | CLOSE, &1000u16.to_be_bytes()));
        let (got, answered) = exchange(sends).await;
        assert_eq!(
            got,
            vec![
                Ok(Incoming::Text(r#"{"type":"ack","offset":5}"#.into())),
                Ok(Incoming::Ping(Bytes::from_static(b"are you there"))),
                Ok(Incoming::Binary(Bytes::from_static(b"ls -la\r"))),
                Ok(Incoming::Binary(Bytes::from(vec![b'x'; 50_000]))),
                Ok(Incoming::Closed),
            ]
        );
        // The close is answered with a close.
        assert_eq!(answered, [FIN | CLOSE, 2, 0x03, 0xe8]);
    }

    #[tokio::test]
    async fn broken_frames_close_with_the_code_the_rfc_names() {
        let unmasked = vec![FIN | TEXT, 2, b'h', b'i'];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (unmasked, "1002"),
            (client_frame(FIN | 0x40 | TEXT, b"x"), "1002"),
            (client_frame(FIN | 0x3, b"x"), "1002"),
            (client_frame(FIN | CONTINUATION, b"x"), "1002"),
            (client_frame(PING, b"x"), "1002"),
            (client_frame(FIN | CLOSE, b"x"), "1002"),
            (client_frame(FIN | TEXT, &[0xff, 0xfe]), "1007"),
            (client_frame(FIN | BINARY, &vec![0; MAX_MESSAGE + 1]), "1009"),
            (
                [client_frame(BINARY, &vec![0; 40_000]), client_frame(FIN | CONTINUATION, &vec![0; 40_000])].concat(),
                "1009",
            ),
            ([client_frame(BINARY, b"a"), client_frame(FIN | TEXT, b"b")].concat(), "1002"),
        ];
        for (sends, code) in cases {
            let (got, answered) = exchange(sends.clone()).await;
            assert_eq!(got, vec![Err(code.to_owned())], "{sends:?}");
            let code: u16 = code.parse().unwrap();
            assert_eq!(answered[0], FIN | CLOSE);
            assert_eq!(&answered[2..4], &code.to_be_bytes());
        }
    }

    #[tokio::test]
    async fn output_goes_out_as_one_frame_of_its_chunks() {
        let (server_end, mut client_end) = tokio::io::duplex(1 << 20);
        let mut socket = Socket::new(server_end);
        let chunks = [Bytes::from(vec![b'a'; 100]), Bytes::new(), Bytes::from(vec![b'b'; 200])];
        socket.send_binary(&chunks).await.unwrap();
        socket.send_text("{}").await.unwrap();
        socket.send_binary(&[Bytes::from(vec![b'c'; 70_000])]).await.unwrap();
        drop(socket);
        let mut got = Vec::new();
        client_end.read_to_end(&mut got).await.unwrap();
        assert_eq!(&got[..4], &[FIN | BINARY, 126, 0x01, 0x2c]);
        assert_eq!(&got[4..104], &[b'a'; 100][..]);
        assert_eq!(&got[104..304], &[b'b'; 200][..]);
        assert_eq!(&got[304..308], &[FIN | TEXT, 2, b'{', b'}']);
        assert_eq!(&got[308..318], &[FIN | BINARY, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(got.len(), 318 + 70_000);
    }

    #[test]
    fn the_accept_key_is_the_rfcs() {
        // RFC 6455, 1.3.
        assert_eq!(accept(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}

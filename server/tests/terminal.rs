//! Shared terminals end to end: real shells spawned by the server on a real
//! PTY, driven over the websocket as browsers do (type, read, resize, two
//! watchers, a late joiner, a watcher that stops reading), command blocks on
//! the timeline, context sharing with a scripted agent served over HTTP,
//! Execute from a command card, and the recording validated as asciicast v2.

mod common;

use common::agent::{serve_agent, Answer, Shared};
use common::api::{Api, TICKETS};
use common::{client, TestServer};
use futures_util::{SinkExt, StreamExt};
use opsdesk_app::model::{parse_asciicast, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A websocket watcher that acknowledges what it "draws", as xterm.js does.
struct Watcher {
    socket: Socket,
    /// Stream bytes received since the last reset.
    output: Vec<u8>,
    /// The last screen snapshot received.
    snapshot: Vec<u8>,
    offset: u64,
    frames: Vec<Value>,
    snapshot_next: bool,
    acks: bool,
}

impl Watcher {
    async fn connect(server: &TestServer, token: &str, ticket: &str, session: &str) -> Watcher {
        let url = format!("ws://{}{TICKETS}/{ticket}/terminals/{session}/live", server.addr);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
        Watcher {
            socket,
            output: Vec::new(),
            snapshot: Vec::new(),
            offset: 0,
            frames: Vec::new(),
            snapshot_next: false,
            acks: true,
        }
    }

    /// Reads one frame (within `limit`); false when the socket closed.
    async fn read_one(&mut self, limit: Duration) -> bool {
        let message = tokio::time::timeout(limit, self.socket.next()).await.expect("a frame in time");
        match message {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "reset" {
                    self.offset = frame["offset"].as_u64().unwrap();
                    self.snapshot_next = true;
                    self.output.clear();
                }
                self.frames.push(frame);
                true
            }
            Some(Ok(Message::Binary(bytes))) => {
                if self.snapshot_next {
                    self.snapshot_next = false;
                    self.snapshot = bytes.to_vec();
                } else {
                    self.output.extend_from_slice(&bytes);
                    self.offset += bytes.len() as u64;
                    if self.acks {
                        let ack = json!({ "type": "ack", "offset": self.offset }).to_string();
                        let _ = self.socket.send(Message::text(ack)).await;
                    }
                }
                true
            }
            Some(Ok(Message::Close(frame))) => {
                self.frames.push(json!({ "type": "closed", "frame": format!("{frame:?}") }));
                false
            }
            Some(Ok(_)) => true,
            None | Some(Err(_)) => false,
        }
    }

    /// Reads until the output since the last reset contains `text`.
    async fn until_output(&mut self, text: &str) {
        while !String::from_utf8_lossy(&self.output).contains(text) {
            assert!(
                self.read_one(Duration::from_secs(20)).await,
                "socket closed before `{text}`; got {:?}",
                String::from_utf8_lossy(&self.output)
            );
        }
    }

    /// Reads until a text frame of `kind` arrives; answers it.
    async fn until_frame(&mut self, kind: &str) -> Value {
        loop {
            if let Some(frame) = self.frames.iter().find(|f| f["type"] == kind) {
                return frame.clone();
            }
            assert!(
                self.read_one(Duration::from_secs(20)).await,
                "socket closed before a {kind} frame: {:?}",
                self.frames
            );
        }
    }

    async fn type_keys(&mut self, keys: &str) {
        self.socket.send(Message::binary(keys.as_bytes().to_vec())).await.unwrap();
    }

    async fn send_json(&mut self, value: Value) {
        self.socket.send(Message::text(value.to_string())).await.unwrap();
    }
}

/// What these tests do often, on top of the common API helper.
trait TerminalApi {
    async fn raise(&self, subject: &str) -> String;
    async fn open_terminal(&self, ticket: &str) -> String;
    async fn entry(&self, ticket: &str, after: i64, matches: impl Fn(&Value) -> bool) -> Value;
    async fn block(&self, ticket: &str, command: &str) -> Value;
    async fn recording(&self, ticket: &str, session: &str) -> String;
}

impl TerminalApi for Api {
    async fn raise(&self, subject: &str) -> String {
        let (status, ticket) = self.post(TICKETS, json!({ "subject": subject })).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket["ticket_id"].as_str().unwrap().to_owned()
    }

    async fn open_terminal(&self, ticket: &str) -> String {
        let (status, session) = self.post(&format!("{TICKETS}/{ticket}/terminals"), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        assert_eq!(session["live"], true);
        session["id"].as_str().unwrap().to_owned()
    }

    /// The first entry after `after` that satisfies `matches`.
    async fn entry(&self, ticket: &str, after: i64, matches: impl Fn(&Value) -> bool) -> Value {
        self.wait_until(ticket, after, &matches).await.into_iter().find(|e| matches(e)).unwrap()
    }

    /// The command block of `command` (typed in a terminal).
    async fn block(&self, ticket: &str, command: &str) -> Value {
        self.entry(ticket, 0, |e| e["kind"] == "command_ran" && e["command"] == command && !e["terminal"].is_null())
            .await
    }

    async fn recording(&self, ticket: &str, session: &str) -> String {
        let response = client()
            .get(self.server.url(&format!("{TICKETS}/{ticket}/terminals/{session}/recording")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/x-asciicast");
        assert!(response.headers()["content-disposition"].to_str().unwrap().contains(".cast"));
        response.text().await.unwrap()
    }
}

/// Checks a recording is asciicast v2 (with the asciinema tool too, when
/// `scripts/test.sh` provides it) and answers its output text.
fn check_recording(cast: &str) -> String {
    let (header, events) = parse_asciicast(cast).expect("valid asciicast v2");
    assert_eq!(header["version"], 2);
    assert!(header["width"].as_u64().unwrap() > 0 && header["height"].as_u64().unwrap() > 0);
    let times: Vec<f64> = events.iter().map(|e| e.time).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "event times never go back");
    if let Ok(asciinema) = std::env::var("OPSDESK_ASCIINEMA") {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), cast).unwrap();
        let cat = std::process::Command::new(asciinema).arg("cat").arg(file.path()).output().expect("asciinema runs");
        assert!(cat.status.success(), "asciinema cat refused the recording: {}", String::from_utf8_lossy(&cat.stderr));
    }
    events.iter().filter(|e| e.code == "o").map(|e| e.data.as_str()).collect()
}

#[tokio::test]
async fn people_share_one_shell_that_is_typed_resized_recorded_and_cut_into_blocks() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Operator).await;
    let viewer = server.token("acme", "vic@acme.test", Role::Viewer).await;
    let api = Api { server, token: token.clone() };
    let ticket = api.raise("Disk filling up on the build host").await;
    let session = api.open_terminal(&ticket).await;

    let mut alice = Watcher::connect(&api.server, &token, &ticket, &session).await;
    let mut victor = Watcher::connect(&api.server, &viewer, &ticket, &session).await;
    assert_eq!(alice.until_frame("hello").await["can_type"], true);
    assert_eq!(victor.until_frame("hello").await["can_type"], false);

    // Typing: both watchers see it; the viewer's keys are dropped.
    victor.type_keys("echo viewer-typed\r").await;
    alice.type_keys("echo hel''lo-$((6*7)); false\r").await;
    alice.until_output("hello-42").await;
    victor.until_output("hello-42").await;
    let pwd = api.server.data_dir().join("canvas").canonicalize().unwrap();
    alice.type_keys("pwd\r").await;
    alice.until_output(pwd.to_str().unwrap()).await;
    assert!(!String::from_utf8_lossy(&alice.output).contains("viewer-typed"), "a viewer's keys reached the shell");

    // Resizes reach the shell and every watcher; absurd values are clamped.
    alice.send_json(json!({ "type": "resize", "cols": 120, "rows": 40 })).await;
    assert_eq!(victor.until_frame("size").await, json!({ "type": "size", "cols": 120, "rows": 40 }));
    alice.type_keys("stty size\r").await;
    alice.until_output("40 120").await;
    victor.frames.clear();
    alice.send_json(json!({ "type": "resize", "cols": 100_000, "rows": 0 })).await;
    assert_eq!(victor.until_frame("size").await, json!({ "type": "size", "cols": 500, "rows": 2 }));
    alice.send_json(json!({ "type": "resize", "cols": 100, "rows": 30 })).await;

    // Command blocks land on the timeline with their exit codes and output.
    let block = api.block(&ticket, "echo hel''lo-$((6*7)); false").await;
    assert_eq!(block["exit_code"], 1, "{block}");
    assert_eq!(block["output"], "hello-42\n");
    assert_eq!(block["ran_by"], "person");
    assert_eq!(block["author"]["email"], "ops@acme.test");
    assert_eq!(block["terminal"]["session_id"], session.as_str());
    assert_eq!(block["terminal"]["shared"], false);

    // A late joiner gets the current screen at once, not the history.
    alice.type_keys("clear; echo on-screen-$((3*3))\r").await;
    alice.until_output("on-screen-9").await;
    api.block(&ticket, "clear; echo on-screen-$((3*3))").await;
    let mut late = Watcher::connect(&api.server, &viewer, &ticket, &session).await;
    late.until_frame("reset").await;
    while late.snapshot.is_empty() {
        late.read_one(Duration::from_secs(5)).await;
    }
    let mut screen = vt100::Parser::new(30, 100, 0);
    screen.process(&late.snapshot);
    assert!(screen.screen().contents().contains("on-screen-9"), "{}", screen.screen().contents());
    assert!(!screen.screen().contents().contains("hello-42"), "the cleared screen came back");
    alice.type_keys("echo after-$((2*4))-join\r").await;
    late.until_output("after-8-join").await;

    // A bad frame closes that socket only.
    victor.send_json(json!({ "type": "launch-missiles" })).await;
    while victor.read_one(Duration::from_secs(5)).await {}
    assert!(victor.frames.last().unwrap()["frame"].as_str().unwrap().contains("bad frame"));
    alice.type_keys("echo still-$((5-4))-here\r").await;
    alice.until_output("still-1-here").await;
    // While it runs, the recording so far downloads as asciicast too (the
    // recorder writes what it gathered within milliseconds).
    let mut live = String::new();
    for _ in 0..50 {
        live = check_recording(&api.recording(&ticket, &session).await);
        if live.contains("still-1-here") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(live.contains("hello-42") && live.contains("still-1-here"), "{live}");

    // Binary garbage never breaks the recording; the shell's exit ends the session.
    alice.type_keys("head -c 20000 /dev/urandom; echo; exit 3\r").await;
    let ended = alice.until_frame("ended").await;
    assert_eq!(ended["exit_code"], 3, "{ended}");
    let closed = api.entry(&ticket, 0, |e| e["kind"] == "terminal_closed").await;
    assert!(closed["reason"].as_str().unwrap().contains("code 3"), "{closed}");
    let output = check_recording(&api.recording(&ticket, &session).await);
    assert!(output.contains("hello-42") && output.contains("still-1-here"));
    assert!(!output.contains("633;"), "shell-integration marks leaked into the recording");
    let (_, sessions) = api.get(&format!("{TICKETS}/{ticket}/terminals")).await;
    assert_eq!(sessions[0]["live"], false);
    assert_eq!(sessions[0]["integrated"], true);
    assert_eq!(sessions[0]["exit_code"], 3);
}

// Several threads, as the server runs: the watchers must not wait for each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_stops_reading_holds_back_neither_the_shell_nor_the_others() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Operator).await;
    let api = Api { server, token: token.clone() };
    let ticket = api.raise("Chatty logs").await;
    let session = api.open_terminal(&ticket).await;
    let mut reader = Watcher::connect(&api.server, &token, &ticket, &session).await;
    let mut stalled = Watcher::connect(&api.server, &token, &ticket, &session).await;
    stalled.acks = false;
    reader.until_frame("hello").await;
    stalled.until_frame("reset").await;

    // 24 MB of output: more than the log keeps (8 MiB) for a watcher that does not read.
    reader.type_keys("yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c 24000000; echo; echo done-$((24*1000))\r").await;
    let mut total = 0usize;
    while !String::from_utf8_lossy(&reader.output[reader.output.len().saturating_sub(200)..]).contains("done-24000") {
        assert!(reader.read_one(Duration::from_secs(30)).await);
        if reader.output.len() > 1 << 20 {
            total += reader.output.len() - 4096;
            reader.output.drain(..reader.output.len() - 4096);
        }
    }
    total += reader.output.len();
    assert!(total >= 24_000_000, "the reading watcher got every byte: {total}");

    // The stalled one resumes from a fresh screen, not from what it missed.
    stalled.acks = true;
    stalled.frames.clear();
    loop {
        assert!(stalled.read_one(Duration::from_secs(30)).await);
        if stalled.frames.iter().any(|f| f["type"] == "reset") && !stalled.snapshot_next {
            break;
        }
    }
    let reset = stalled.frames.iter().find(|f| f["type"] == "reset").unwrap().clone();
    assert!(reset["offset"].as_u64().unwrap() > 4_000_000, "it skipped what it missed: {reset}");
    // The snapshot plus the stream after its offset draw the final screen.
    let (cols, rows) = (reset["cols"].as_u64().unwrap() as u16, reset["rows"].as_u64().unwrap() as u16);
    loop {
        let mut screen = vt100::Parser::new(rows, cols, 0);
        screen.process(&stalled.snapshot);
        screen.process(&stalled.output);
        if screen.screen().contents().contains("done-24000") {
            break;
        }
        assert!(stalled.read_one(Duration::from_secs(30)).await, "{}", screen.screen().contents());
    }
}

#[tokio::test]
async fn commands_reach_the_agent_only_while_the_session_shares_context() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Admin).await;
    let api = Api { server, token: token.clone() };
    let script: Shared = Default::default();
    let endpoint = serve_agent(script.clone()).await;
    let (status, agent) = api
        .post(
            "/api/v1/org/agents",
            json!({ "name": "Helper", "slug": "helper", "endpoint_url": endpoint, "timeout_secs": 5 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    // The answer must be ready before the ticket exists: its first turn starts at once.
    let proposal = json!({
        "content": "Run this in the terminal, please.", "thread_id": "$THREAD",
        "data": { "cmds": [ { "command": "echo from-card", "execute": false } ] }
    });
    script.lock().unwrap().answers.push_back(Answer::Json(proposal));
    let (status, created) =
        api.post(TICKETS, json!({ "subject": "Pods restarting", "agent_id": "helper", "message": "Why?" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ticket = created["ticket_id"].as_str().unwrap().to_owned();
    let proposed = api.entry(&ticket, 0, |e| e["kind"] == "command_proposed").await;
    let cmd_id = proposed["cmd_id"].as_str().unwrap().to_owned();

    // Execute types the card into the ticket's terminal (opening one).
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/commands/{cmd_id}"), json!({ "action": "execute" })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let opened = api.entry(&ticket, 0, |e| e["kind"] == "terminal_opened").await;
    let session = opened["session_id"].as_str().unwrap().to_owned();
    let from_card = api.block(&ticket, "echo from-card").await;
    assert_eq!(from_card["cmd_id"], cmd_id.as_str(), "the block is marked as the card's: {from_card}");
    assert_eq!(from_card["output"], "from-card\n");

    // Not shared: recorded, not sent. Shared: sent with the next message.
    let mut alice = Watcher::connect(&api.server, &token, &ticket, &session).await;
    alice.type_keys("echo private-$((1+1))\r").await;
    api.block(&ticket, "echo private-$((1+1))").await;
    let path = format!("{TICKETS}/{ticket}/terminals/{session}");
    let (status, updated) = api.call(reqwest::Method::PATCH, &path, Some(json!({ "share_context": true }))).await;
    assert_eq!((status, &updated["share_context"]), (StatusCode::OK, &json!(true)), "{updated}");
    assert_eq!(alice.until_frame("shared").await["share_context"], true);
    alice.type_keys("echo shared-$((2+2))\r").await;
    let shared = api.block(&ticket, "echo shared-$((2+2))").await;
    assert_eq!(shared["terminal"]["shared"], true);
    api.entry(&ticket, 0, |e| e["kind"] == "terminal_shared").await;

    script.lock().unwrap().answers.push_back(Answer::Json(json!({ "content": "Thanks.", "thread_id": "$THREAD" })));
    let (status, accepted) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "Done." })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let seq = accepted["seq"].as_i64().unwrap();
    api.entry(&ticket, seq, |e| e["kind"] == "agent_reply").await;
    let request = script.lock().unwrap().requests.last().unwrap().1.clone();
    let last = request["messages"].as_array().unwrap().last().unwrap().clone();
    let executed: Vec<&str> =
        last["data"]["executed_cmds"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert_eq!(executed, vec!["echo from-card", "echo shared-$((2+2))"], "{last}");
    assert_eq!(last["data"]["executed_cmds"][1]["output"], "shared-4\n");
    assert!(!request.to_string().contains("private-"), "an unshared command reached the agent");
}

#[tokio::test]
async fn terminals_end_with_the_ticket_and_the_server_and_need_the_role() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Operator).await;
    let member = server.token("acme", "mo@acme.test", Role::Member).await;
    let stranger = server.token("globex", "eve@globex.test", Role::Admin).await;
    let api = Api { server, token: token.clone() };
    let ticket = api.raise("Resolve me").await;

    let (status, _) = client()
        .post(api.server.url(&format!("{TICKETS}/{ticket}/terminals")))
        .bearer_auth(&member)
        .json(&json!({}))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "members may watch but not open terminals");
    let (status, _) = client()
        .get(api.server.url(&format!("{TICKETS}/{ticket}/terminals")))
        .bearer_auth(&stranger)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "another org's ticket does not exist for them");
    let (status, error) = api
        .post(&format!("{TICKETS}/{ticket}/terminals"), json!({ "scope": { "kind": "container", "name": "nope" } }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    // A websocket upgrade from another site is refused.
    let session = api.open_terminal(&ticket).await;
    let url = format!("ws://{}{TICKETS}/{ticket}/terminals/{session}/live", api.server.addr);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "cross-site upgrade accepted");

    // Resolving the ticket ends its terminal and removes the canvas directory;
    // the recording stays.
    let mut alice = Watcher::connect(&api.server, &token, &ticket, &session).await;
    alice.type_keys("echo before-$((7+7))\r").await;
    alice.until_output("before-14").await;
    let path = format!("{TICKETS}/{ticket}");
    for status in ["in_progress", "resolved"] {
        let (code, body) = api.call(reqwest::Method::PATCH, &path, Some(json!({ "status": status }))).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    assert!(alice.until_frame("ended").await["reason"].as_str().unwrap().contains("resolved"));
    api.entry(&ticket, 0, |e| e["kind"] == "terminal_closed").await;
    let canvas = api.server.data_dir().join("canvas");
    assert!(std::fs::read_dir(&canvas).map(|d| d.count()).unwrap_or(0) == 0, "the canvas directory is gone");
    assert!(check_recording(&api.recording(&ticket, &session).await).contains("before-14"));
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/terminals"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "no terminal on a resolved ticket");

    // Stopping the server ends live shells cleanly and completes their recordings.
    let other = api.raise("Still open").await;
    let session = api.open_terminal(&other).await;
    let mut bob = Watcher::connect(&api.server, &token, &other, &session).await;
    bob.type_keys("echo $$ > shell.pid; echo pid-$((1+1))-written\r").await;
    bob.until_output("pid-2-written").await;
    let internal_id = api.get(&format!("{TICKETS}/{other}")).await.1["id"].as_str().unwrap().to_owned();
    let pid_file = api.server.data_dir().join("canvas").join(&internal_id).join("shell.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let state = api.server.state.clone();
    let data_dir = api.server.stop().await;
    let stored = state.store.terminal_sessions(&internal_id).await.unwrap();
    assert_eq!(stored[0].end_reason.as_deref(), Some("the server shut down"));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the shell outlived the server");
    let cast = std::fs::read_to_string(data_dir.path().join("recordings").join(format!("{session}.cast")));
    assert!(check_recording(&cast.unwrap()).contains("pid-2-written"));
}

//! The Canvas's live path at scale. Starts the real `opsdesk` binary (built
//! next to this example) on a fresh data directory, then over loopback:
//!
//! 1. connects 1,000 websocket watchers to one ticket and reads the server's
//!    resident memory before and after (per idle watcher);
//! 2. commits 200 comments one after another and times, for each, from the
//!    moment the comment is sent to the moment the last of the 1,000
//!    watchers has it (p50, p99);
//! 3. runs 200 agent turns on a fresh ticket against a custom agent this
//!    program serves, which answers at once and measures its own time: the
//!    helpdesk's overhead per turn is message sent → reply on the websocket,
//!    minus the agent's time.
//!
//! Run it with:
//!
//!     cargo build --release -p opsdesk-server --bin opsdesk --example bench_live
//!     bash -c 'ulimit -n 8192 && target/release/examples/bench_live [watchers]'
//!
//! Prints a Markdown table for docs/benchmarks.md. It asserts no timing.

mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{free_port, percentile, rss_kib};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const COMMENTS: usize = 200;
const TURNS: usize = 200;

/// `(prepare_us, call_us, commit_us)` of an "agent answered" log line.
fn turn_fields(line: &str) -> Option<(u64, u64, u64)> {
    // Drop ANSI colour codes, then read `key=value` pairs.
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            plain.push(c);
        }
    }
    let field = |key: &str| -> Option<u64> {
        let start = plain.find(&format!("{key}="))? + key.len() + 1;
        plain[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    Some((field("prepare_us")?, field("call_us")?, field("commit_us")?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let watchers: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let binary = std::env::current_exe()?.parent().and_then(|p| p.parent()).unwrap().join("opsdesk");
    let data = tempfile::tempdir()?;
    let data_dir = data.path().to_str().unwrap().to_owned();
    let token = String::from_utf8(
        std::process::Command::new(&binary)
            .args(["admin", "create-token", "--org", "acme", "--email", "bench@acme.test", "--role", "admin"])
            .args(["--data-dir", &data_dir])
            .output()?
            .stdout,
    )?
    .trim()
    .to_owned();
    let port = free_port();
    let mut server = std::process::Command::new(&binary)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir", &data_dir])
        // The turn worker logs what it spent around each agent call.
        .env("RUST_LOG", "warn,opsdesk_server::conversation=info")
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let turn_logs = Arc::new(Mutex::new(Vec::<(u64, u64, u64)>::new()));
    {
        let stderr = server.stderr.take().unwrap();
        let turn_logs = turn_logs.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(fields) = turn_fields(&line) {
                    turn_logs.lock().unwrap().push(fields);
                }
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A custom agent that answers at once and reports how long it took.
    let agent_time = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let agent_url = {
        let agent_time = agent_time.clone();
        let app = axum::Router::new().route(
            "/a/api/sendMessage",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let agent_time = agent_time.clone();
                async move {
                    let started = Instant::now();
                    let answer = json!({ "content": "ack", "thread_id": body["thread_id"],
                        "data": { "cmds": [ { "command": "uptime", "execute": false } ] } });
                    agent_time.lock().unwrap().push(started.elapsed());
                    axum::Json(answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/a")
    };
    http.post(format!("{base}/api/v1/org/agents"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Echo", "slug": "echo", "endpoint_url": agent_url }))
        .send()
        .await?
        .error_for_status()?;
    let created: Value = http
        .post(format!("{base}/api/v1/org/support/tickets"))
        .bearer_auth(&token)
        .json(&json!({ "subject": "Live fan-out benchmark ticket", "agent_id": "echo" }))
        .send()
        .await?
        .json()
        .await?;
    let ticket = created["ticket_id"].as_str().unwrap().to_owned();
    let start_seq = created["last_seq"].as_i64().unwrap();
    let server_pid = server.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(server_pid);

    // Watchers: each reports (seq, when it arrived) for every entry it gets.
    let (arrivals, mut arrived) = mpsc::unbounded_channel::<(i64, Instant)>();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let mut request =
            format!("ws://127.0.0.1:{port}/api/v1/org/support/tickets/{ticket}/live").into_client_request()?;
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        socket.send(Message::text(json!({ "type": "resume", "after": start_seq }).to_string())).await?;
        let arrivals = arrivals.clone();
        handles.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let now = Instant::now();
                    let frame: Value = serde_json::from_str(&text).unwrap_or_default();
                    if frame["type"] == "entries" {
                        for entry in frame["entries"].as_array().into_iter().flatten() {
                            let _ = arrivals.send((entry["seq"].as_i64().unwrap_or(0), now));
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    while arrived.try_recv().is_ok() {}
    let rss_watching = rss_kib(server_pid);

    // Fan-out: one comment at a time; wait until every watcher has it.
    let mut fan_out = Vec::new();
    for i in 0..COMMENTS {
        let sent = Instant::now();
        let entry: Value = http
            .post(format!("{base}/api/v1/org/support/tickets/{ticket}/comments"))
            .bearer_auth(&token)
            .json(&json!({ "body": format!("fan-out comment {i}") }))
            .send()
            .await?
            .json()
            .await?;
        let seq = entry["seq"].as_i64().unwrap();
        let mut have: HashMap<i64, (usize, Instant)> = HashMap::new();
        loop {
            let (got, at) = arrived.recv().await.unwrap();
            let slot = have.entry(got).or_insert((0, at));
            slot.0 += 1;
            slot.1 = slot.1.max(at);
            if have.get(&seq).is_some_and(|(n, _)| *n == watchers) {
                break;
            }
        }
        fan_out.push(have[&seq].1 - sent);
    }

    // Agent turns, on a ticket of their own with one watcher (fan-out is
    // measured above): message sent → the agent's reply on the websocket.
    for handle in &handles {
        handle.abort();
    }
    let conversation: Value = http
        .post(format!("{base}/api/v1/org/support/tickets"))
        .bearer_auth(&token)
        .json(&json!({ "subject": "Agent turn benchmark ticket", "agent_id": "echo" }))
        .send()
        .await?
        .json()
        .await?;
    let conversation_id = conversation["ticket_id"].as_str().unwrap().to_owned();
    let mut request =
        format!("ws://127.0.0.1:{port}/api/v1/org/support/tickets/{conversation_id}/live").into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    let (mut watcher, _) = tokio_tungstenite::connect_async(request).await?;
    let after = conversation["last_seq"].as_i64().unwrap();
    watcher.send(Message::text(json!({ "type": "resume", "after": after }).to_string())).await?;
    let mut turns = Vec::new();
    for i in 0..TURNS {
        let sent = Instant::now();
        let accepted: Value = http
            .post(format!("{base}/api/v1/org/support/tickets/{conversation_id}/messages"))
            .bearer_auth(&token)
            .json(&json!({ "content": format!("turn {i}") }))
            .send()
            .await?
            .json()
            .await?;
        // The reply is committed right after the message, with its proposal.
        let reply_seq = accepted["seq"].as_i64().unwrap() + 1;
        loop {
            let Some(Ok(Message::Text(text))) = watcher.next().await else { anyhow::bail!("the watcher closed") };
            let frame: Value = serde_json::from_str(&text)?;
            let seqs = frame["entries"].as_array().into_iter().flatten().filter_map(|e| e["seq"].as_i64());
            if seqs.into_iter().any(|seq| seq == reply_seq) {
                break;
            }
        }
        turns.push(sent.elapsed());
    }
    let agent_times = agent_time.lock().unwrap().clone();
    let agent_median = {
        let mut sorted = agent_times.clone();
        sorted.sort();
        percentile(&sorted, 0.5)
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill()?;
    let _ = server.wait();

    fan_out.sort();
    turns.sort();
    // The helpdesk's own work per turn: before the call, after it, and the
    // call minus what the agent itself took (encoding, HTTP hop, validation).
    let logs = turn_logs.lock().unwrap().clone();
    let mut own: Vec<Duration> = logs
        .iter()
        .zip(agent_times.iter().skip(agent_times.len().saturating_sub(logs.len())))
        .map(|((prepare, call, commit), agent)| {
            Duration::from_micros(prepare + commit + call) - (*agent).min(Duration::from_micros(*call))
        })
        .collect();
    own.sort();
    let mut around: Vec<Duration> =
        logs.iter().map(|(prepare, _, commit)| Duration::from_micros(prepare + commit)).collect();
    around.sort();
    let per_watcher = (rss_watching.saturating_sub(rss_before)) as f64 / watchers as f64;
    println!("| measure ({watchers} watchers on one ticket, loopback) | value |");
    println!("|---|---|");
    println!(
        "| committed entry → every watcher has it, p50 | {:.1} ms |",
        percentile(&fan_out, 0.5).as_secs_f64() * 1e3
    );
    println!(
        "| committed entry → every watcher has it, p99 | {:.1} ms |",
        percentile(&fan_out, 0.99).as_secs_f64() * 1e3
    );
    println!("| server memory, before watchers → with watchers | {} KiB → {} KiB |", rss_before, rss_watching);
    println!("| server memory per idle watcher | {per_watcher:.1} KiB |");
    println!(
        "| agent turn, message sent → reply on a websocket (one watcher), p50 / p99 (agent's own time p50 {:.3} ms) | {:.1} ms / {:.1} ms |",
        agent_median.as_secs_f64() * 1e3,
        percentile(&turns, 0.5).as_secs_f64() * 1e3,
        percentile(&turns, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "| helpdesk overhead per turn, agent's time excluded ({} turns), p50 / p99 | {:.2} ms / {:.2} ms |",
        own.len(),
        percentile(&own, 0.5).as_secs_f64() * 1e3,
        percentile(&own, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "| of which reading the timeline + building the request, and committing the answer, p50 / p99 | {:.2} ms / {:.2} ms |",
        percentile(&around, 0.5).as_secs_f64() * 1e3,
        percentile(&around, 0.99).as_secs_f64() * 1e3
    );
    Ok(())
}

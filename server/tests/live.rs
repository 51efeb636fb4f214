//! The Canvas websocket: watchers get every entry after where they were,
//! each new entry as it is committed, who is watching, and after a
//! reconnect exactly what they missed: nothing lost, nothing twice.

mod common;

use common::{client, TestServer};
use futures_util::{SinkExt, StreamExt};
use opsdesk_app::model::Role;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TICKETS: &str = "/api/v1/org/support/tickets";

async fn connect(server: &TestServer, token: &str, ticket: &str, after: i64) -> Socket {
    let url = format!("ws://{}{TICKETS}/{ticket}/live", server.addr);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
    socket.send(Message::text(json!({ "type": "resume", "after": after }).to_string())).await.unwrap();
    socket
}

/// The next JSON frame (within five seconds).
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("a frame in time");
        match message.expect("socket open").expect("frame") {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => return json!({ "type": "closed", "frame": format!("{frame:?}") }),
            _ => continue,
        }
    }
}

/// Entry seqs until `until` is seen, skipping other frames.
async fn seqs_until(socket: &mut Socket, until: i64) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.last() != Some(&until) {
        let frame = next(socket).await;
        if frame["type"] == "entries" {
            seqs.extend(frame["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()));
        }
    }
    seqs
}

async fn raise(server: &TestServer, token: &str, subject: &str) -> Value {
    let response = client().post(server.url(TICKETS)).bearer_auth(token).json(&json!({ "subject": subject })).send();
    response.await.unwrap().json().await.unwrap()
}

async fn comment(server: &TestServer, token: &str, ticket: &str, body: &str) -> i64 {
    let response = client()
        .post(server.url(&format!("{TICKETS}/{ticket}/comments")))
        .bearer_auth(token)
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap();
    let entry: Value = response.json().await.unwrap();
    entry["seq"].as_i64().unwrap()
}

#[tokio::test]
async fn watchers_see_each_other_and_resume_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let ada = server.token("acme", "ada@acme.test", Role::Member).await;
    let bob = server.token("acme", "bob@acme.test", Role::Viewer).await;
    let created = raise(&server, &ada, "Checkout latency doubled after the deploy").await;
    let ticket = created["ticket_id"].as_str().unwrap().to_owned();
    let first_last = created["last_seq"].as_i64().unwrap();

    let mut ada_socket = connect(&server, &ada, &ticket, 0).await;
    assert_eq!(seqs_until(&mut ada_socket, first_last).await, (1..=first_last).collect::<Vec<_>>());
    let mut bob_socket = connect(&server, &bob, &ticket, first_last).await;
    // Bob resumed at the end: his first frame is who is watching, both of them.
    let watchers = next(&mut bob_socket).await;
    assert_eq!(watchers["type"], "watchers");
    let emails: Vec<&str> =
        watchers["watchers"].as_array().unwrap().iter().map(|w| w["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 2, "{watchers}");

    let seq = comment(&server, &ada, &ticket, "p99 went from 180 ms to 410 ms").await;
    assert_eq!(seqs_until(&mut ada_socket, seq).await.last(), Some(&seq));
    assert_eq!(seqs_until(&mut bob_socket, seq).await, vec![seq]);

    // Bob drops; Ada sees him leave; two comments land while he is away.
    drop(bob_socket);
    loop {
        let frame = next(&mut ada_socket).await;
        if frame["type"] == "watchers" && frame["watchers"].as_array().unwrap().len() == 1 {
            break;
        }
    }
    let missed_one = comment(&server, &ada, &ticket, "rolled back the cache change").await;
    let missed_two = comment(&server, &ada, &ticket, "latency back to normal").await;
    let mut bob_socket = connect(&server, &bob, &ticket, seq).await;
    assert_eq!(seqs_until(&mut bob_socket, missed_two).await, vec![missed_one, missed_two]);
    let after = comment(&server, &ada, &ticket, "closing soon").await;
    assert_eq!(seqs_until(&mut bob_socket, after).await, vec![after], "live again, nothing repeated");

    // A frame that is not ours closes that socket only.
    bob_socket.send(Message::text("{\"type\":\"shout\"}")).await.unwrap();
    let closed = loop {
        let frame = next(&mut bob_socket).await;
        if frame["type"] == "closed" {
            break frame;
        }
    };
    assert!(closed["frame"].as_str().unwrap().contains("bad frame"), "{closed}");
    let still = comment(&server, &ada, &ticket, "ada's socket is fine").await;
    assert_eq!(seqs_until(&mut ada_socket, still).await.last(), Some(&still));
}

#[tokio::test]
async fn another_orgs_ticket_cannot_be_watched() {
    let server = TestServer::start().await;
    let ada = server.token("acme", "ada@acme.test", Role::Member).await;
    let eve = server.token("globex", "eve@globex.test", Role::Admin).await;
    let created = raise(&server, &ada, "Private ticket of acme").await;
    let url = format!("ws://{}{TICKETS}/{}/live", server.addr, created["id"].as_str().unwrap());
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {eve}").parse().unwrap());
    let error = tokio_tungstenite::connect_async(request).await.expect_err("refused");
    assert!(error.to_string().contains("404"), "{error}");
}

//! The LLM agents and the LLM review against an OpenAI-compatible model that
//! the test serves over real HTTP with scripted answers (JSON and SSE):
//! a whole conversation through the Canvas API (proposals with explanation
//! and risk, files, links, streamed drafts to a watcher, approved commands
//! run and their outputs read back), the quirks of compatible servers,
//! malformed tool calls (one repair round, then a visible refusal),
//! time-outs and retries, redaction of context values and secrets, the
//! settings API, and the review's fallback.

mod common;

use common::api::{Api, TICKETS};
use common::model::{chunk, completion, review, script, serve_model, Reply, Shared};
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use opsdesk_app::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const LLM: &str = "/api/v1/org/llm";
const NO_GAP: Duration = Duration::ZERO;

async fn api_with_model(replies: Vec<Reply>, timeout: Duration) -> (Api, Shared) {
    let server = TestServer::start_with(|options| options.llm_timeout = timeout).await;
    let token = server.token("acme", "ops@acme.test", Role::Admin).await;
    let api = Api { server, token };
    let model = script(replies);
    let base_url = serve_model(model.clone()).await;
    let (status, body) = api
        .call(
            Method::PUT,
            LLM,
            Some(json!({ "base_url": base_url, "model": "test-model", "api_key": "sk-test-key-0123456789abcdef" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (api, model)
}

/// An instance whose commands run here, with context values that must never reach the model.
async fn instance(api: &Api) -> String {
    let (status, instance) = api
        .post(
            "/api/v1/org/instances",
            json!({
                "name": "payments",
                "platform_context": { "k8s_namespace": "payments-prod", "duplo_token": "dp-7f3a9c1e55" },
                "terminal": { "command_prefix": ["sh", "-c"] },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{instance}");
    instance["id"].as_str().unwrap().to_owned()
}

fn entries_of<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

fn requests(model: &Shared) -> Vec<Value> {
    model.lock().unwrap().requests.clone()
}

#[tokio::test]
async fn a_conversation_streams_proposes_and_reads_approved_outputs_without_leaking_context() {
    let first_turn = vec![
        chunk(json!({ "role": "assistant", "reasoning_content": "Disk first. " })),
        chunk(json!({ "content": "Let me look " })),
        chunk(json!({ "content": "at the namespace " })),
        chunk(json!({ "content": "and the disk." })),
        chunk(json!({ "tool_calls": [{ "index": 0, "id": "call_a", "type": "function",
            "function": { "name": "propose_command", "arguments": "{\"command\": \"echo ns {{k8s_namespace}}; " } }] })),
        chunk(json!({ "tool_calls": [{ "index": 0, "function": {
            "arguments": "echo AWS_SECRET_ACCESS_KEY=abc123xyz\", \"explanation\": \"Shows the namespace\", \"risk\": \"low\", \"files\": [{\"path\": \"check.sh\", \"content\": \"df -h\\n\"}]}" } }] })),
        chunk(json!({ "tool_calls": [{ "index": 1, "id": "call_b", "type": "function",
            "function": { "name": "suggest_link", "arguments": "{\"url\": \"https://kubernetes.io/docs/\", \"description\": \"Kubernetes docs\"}" } }] })),
        chunk(json!({ "tool_calls": [{ "index": 2, "id": "call_c", "type": "function",
            "function": { "name": "write_file", "arguments": "{\"path\": \"notes/plan.md\", \"content\": \"# Plan\\n\"}" } }] })),
    ];
    let second_turn = completion("The namespace is payments-prod-free of errors: nothing to fix.", &[]);
    let (api, model) = api_with_model(
        vec![Reply::Stream(first_turn, Duration::from_millis(60)), Reply::Json(second_turn)],
        Duration::from_secs(30),
    )
    .await;
    let instance_id = instance(&api).await;

    // A watcher on the Canvas from the start.
    let (status, ticket) = api.post(TICKETS, json!({ "subject": "Disk filling up on payments", "description": "The disk fills up.", "instance_id": instance_id })).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_owned();
    let url = format!("ws://{}{TICKETS}/{ticket_id}/live", api.server.addr);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {}", api.token).parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
    let after = ticket["last_seq"].as_i64().unwrap();
    socket.send(Message::text(json!({ "type": "resume", "after": after }).to_string())).await.unwrap();

    let (status, body) = api
        .call(Method::PUT, &format!("{TICKETS}/{ticket_id}/agents"), Some(json!({ "agent_ids": ["llm-linux"] })))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .post(
            &format!("{TICKETS}/{ticket_id}/messages"),
            json!({ "content": "The disk is full, token dp-7f3a9c1e55 is set." }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // The answer arrives as growing drafts, then as the committed reply.
    let mut drafts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next()).await.expect("frames in time").unwrap().unwrap();
        let Message::Text(text) = frame else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "draft" {
            drafts.push(frame["text"].as_str().unwrap().to_owned());
        }
        if frame["type"] == "entries" && entries_of(frame["entries"].as_array().unwrap(), "agent_reply").len() == 1 {
            break;
        }
    }
    assert!(drafts.len() >= 2, "streamed in pieces: {drafts:?}");
    assert!(drafts.windows(2).all(|w| w[1].starts_with(&w[0])), "each draft extends the last: {drafts:?}");
    assert!(drafts.last().unwrap().contains("and the disk."), "{drafts:?}");

    let entries = api.wait_for(&ticket_id, 0, "agent_reply").await;
    let reply = entries_of(&entries, "agent_reply")[0];
    assert_eq!(reply["content"], "Let me look at the namespace and the disk.");
    assert_eq!(reply["reasoning"], "Disk first.");
    assert_eq!(reply["links"][0]["url"], "https://kubernetes.io/docs/");
    let proposed = entries_of(&entries, "command_proposed");
    assert_eq!(proposed.len(), 1, "{entries:#?}");
    assert_eq!(proposed[0]["command"], "echo ns {{k8s_namespace}}; echo AWS_SECRET_ACCESS_KEY=abc123xyz");
    assert_eq!(
        (proposed[0]["risk"].as_str(), proposed[0]["explanation"].as_str()),
        (Some("low"), Some("Shows the namespace"))
    );
    let written: Vec<&str> = entries_of(&entries, "file_written").iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(written, ["notes/plan.md", "check.sh"]);

    // What the model was sent: the tools, a stream, the context's keys but never its values.
    let first = &requests(&model)[0];
    assert_eq!(first["stream"], true);
    assert_eq!(first["model"], "test-model");
    let tools: Vec<&str> =
        first["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(tools, ["propose_command", "suggest_link", "write_file"]);
    let sent = first.to_string();
    assert!(sent.contains("k8s_namespace") && sent.contains("{{duplo_token}}"), "{sent}");
    assert!(
        !sent.contains("payments-prod") && !sent.contains("dp-7f3a9c1e55"),
        "a context value reached the model: {sent}"
    );

    // Approved: the command runs with the value filled in; the model reads it redacted.
    let cmd_id = proposed[0]["cmd_id"].as_str().unwrap();
    let last_seq = entries.last().unwrap()["seq"].as_i64().unwrap();
    let (status, body) = api
        .post(
            &format!("{TICKETS}/{ticket_id}/messages"),
            json!({ "content": "Go ahead.", "decisions": [{ "cmd_id": cmd_id, "action": "approve" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let entries = api.wait_for(&ticket_id, last_seq, "agent_reply").await;
    let ran = entries_of(&entries, "command_ran");
    assert_eq!(ran.len(), 1, "{entries:#?}");
    assert!(ran[0]["output"].as_str().unwrap().contains("ns payments-prod"), "{}", ran[0]["output"]);
    let second = requests(&model)[1].to_string();
    assert!(second.contains("ns {{k8s_namespace}}"), "{second}");
    assert!(second.contains("AWS_SECRET_ACCESS_KEY=[redacted]"), "{second}");
    assert!(!second.contains("payments-prod") && !second.contains("abc123xyz"), "{second}");
    api.server.stop().await;
}

/// Asks the agent directly over the protocol, as any caller may.
async fn ask(api: &Api, content: &str) -> (StatusCode, Value) {
    let (_, ticket) =
        api.post(TICKETS, json!({ "subject": "Web service down", "description": "Port 8080 refuses." })).await;
    let thread = ticket["id"].as_str().unwrap();
    api.post(
        "/agents/llm-linux/api/sendMessage",
        json!({ "messages": [{ "role": "user", "content": content, "data": {} }], "thread_id": thread }),
    )
    .await
}

#[tokio::test]
async fn the_quirks_of_compatible_servers_are_tolerated() {
    // Arguments as an object, no ids, and two calls streamed on index 0.
    let object_arguments = json!({ "id": "x", "object": "chat.completion", "model": "m", "choices": [{ "index": 0,
        "message": { "role": "assistant", "content": null, "tool_calls": [
            { "type": "function", "function": { "name": "propose_command", "arguments": { "command": "ss -ltnp", "explanation": "Who listens", "risk": "low" } } },
            { "id": "", "type": "function", "function": { "name": "propose_command", "arguments": "{\"command\": \"systemctl status web\", \"explanation\": \"The unit\", \"risk\": \"low\"}" } }
        ] }, "finish_reason": "tool_calls" }] });
    let index_zero = vec![
        chunk(json!({ "content": "<think>Check the listener.</think>Two checks." })),
        chunk(
            json!({ "tool_calls": [{ "index": 0, "id": "c1", "function": { "name": "propose_command", "arguments": "{\"command\": \"curl -sI localhost:8080\"," } }] }),
        ),
        chunk(
            json!({ "tool_calls": [{ "index": 0, "function": { "arguments": " \"explanation\": \"Does it answer\", \"risk\": \"low\"}" } }] }),
        ),
        chunk(
            json!({ "tool_calls": [{ "index": 0, "id": "c2", "function": { "name": "propose_command", "arguments": "{\"command\": \"journalctl -u web -n 50\", \"explanation\": \"Its log\", \"risk\": \"low\"}" } }] }),
        ),
    ];
    let (api, _model) =
        api_with_model(vec![Reply::Json(object_arguments), Reply::Stream(index_zero, NO_GAP)], Duration::from_secs(30))
            .await;

    let (status, answer) = ask(&api, "The web service stopped answering.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let commands: Vec<&str> =
        answer["data"]["cmds"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["ss -ltnp", "systemctl status web"]);
    assert_eq!(answer["content"], "I propose these commands:");

    let (status, answer) = ask(&api, "Still down.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let commands: Vec<&str> =
        answer["data"]["cmds"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["curl -sI localhost:8080", "journalctl -u web -n 50"]);
    assert_eq!(answer["content"], "Two checks.");
    assert!(answer["reasoning"].as_str().unwrap().contains("Check the listener."), "{answer}");
    api.server.stop().await;
}

#[tokio::test]
async fn long_outputs_are_cut_for_the_model_and_kept_whole_in_the_canvas() {
    let (api, model) = api_with_model(vec![Reply::Json(completion("Seen it.", &[]))], Duration::from_secs(30)).await;
    let (_, ticket) = api.post(TICKETS, json!({ "subject": "Noisy logs", "description": "Logs are huge." })).await;
    let (thread, key) = (ticket["id"].as_str().unwrap(), ticket["ticket_id"].as_str().unwrap());
    let output: String = (0..3_000).map(|i| format!("line {i} of the journal\n")).collect();
    let request = json!({ "thread_id": thread, "messages": [{ "role": "user", "content": "Look at this.",
        "data": { "executed_cmds": [{ "command": "journalctl -u web", "output": output }] } }] });
    let (status, answer) = api.post("/agents/llm-linux/api/sendMessage", request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let sent =
        requests(&model)[0]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert!(sent.contains("line 0 of the journal") && sent.contains("line 2999 of the journal"), "head and tail");
    assert!(!sent.contains("line 1500 of the journal"), "the middle is cut");
    assert!(sent.contains("characters cut here; the whole output is in outputs/"), "{}", &sent[..300]);
    let (_, files) = api.get(&format!("{TICKETS}/{key}/files")).await;
    let path = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .find(|p| p.starts_with("outputs/"))
        .expect("kept whole");
    let whole = common::client()
        .get(api.server.url(&format!("{TICKETS}/{key}/files/{path}")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(whole, output);
    api.server.stop().await;
}

#[tokio::test]
async fn malformed_calls_get_one_repair_round_then_a_visible_refusal() {
    let broken =
        completion("Checking.", &[("c1", "propose_command", json!("{\"command\": \"df -h\", \"risk\": \"low\""))]);
    let mut broken_again = completion("Still checking.", &[("c2", "propose_command", json!({ "risk": "low" }))]);
    broken_again["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = json!("{\"risk\": \"low\"}");
    let repaired = completion(
        "Fixed.",
        &[("c3", "propose_command", json!({ "command": "df -h", "explanation": "Disks", "risk": "low" }))],
    );
    let (api, model) = api_with_model(
        vec![Reply::Json(broken.clone()), Reply::Json(repaired), Reply::Json(broken), Reply::Json(broken_again)],
        Duration::from_secs(30),
    )
    .await;

    // Repaired in the second round: the model was told what was wrong.
    let (status, answer) = ask(&api, "The disk is full.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["cmds"][0]["command"], "df -h");
    assert!(!answer["content"].as_str().unwrap().contains("refused"), "{answer}");
    let repair_request = &requests(&model)[1];
    let told =
        repair_request["messages"].as_array().unwrap().iter().find(|m| m["role"] == "tool").expect("a tool result");
    assert_eq!(told["tool_call_id"], "c1");
    assert!(told["content"].as_str().unwrap().starts_with("refused:"), "{told}");

    // Still wrong after the repair round: refused, and the person sees why.
    let (status, answer) = ask(&api, "The disk is full.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["data"]["cmds"].as_array().unwrap().is_empty());
    let content = answer["content"].as_str().unwrap();
    assert!(
        content.contains("opsdesk refused 1 of the model's tool calls") && content.contains("`command` is missing"),
        "{content}"
    );
    api.server.stop().await;
}

#[tokio::test]
async fn slow_and_failing_models_are_retried_and_then_reported() {
    let late = completion("Too late.", &[]);
    let (api, model) = api_with_model(
        vec![
            Reply::Status(503, "overloaded"),
            Reply::Json(completion("Answered on the second try.", &[])),
            Reply::Slow(Duration::from_secs(3), late.clone()),
            Reply::Slow(Duration::from_secs(3), late.clone()),
            Reply::Slow(Duration::from_secs(3), late),
        ],
        Duration::from_secs(1),
    )
    .await;
    let (_, ticket) = api.post(TICKETS, json!({ "subject": "Host slow", "description": "Load is high.", "agent_id": "llm-linux", "message": "The host is slow." })).await;
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_owned();
    let entries = api.wait_for(&ticket_id, 0, "agent_reply").await;
    let reply = entries_of(&entries, "agent_reply")[0];
    assert_eq!(reply["content"], "Answered on the second try.");
    let notes: Vec<&str> = entries_of(&entries, "comment").iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("retried") && n.contains("503")), "{notes:?}");

    // Three slow attempts: the turn fails with a clear reason, and may be retried.
    let seq = entries.last().unwrap()["seq"].as_i64().unwrap();
    let (status, _) = api.post(&format!("{TICKETS}/{ticket_id}/messages"), json!({ "content": "And now?" })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let entries = api.wait_for(&ticket_id, seq, "agent_failed").await;
    let failed = entries_of(&entries, "agent_failed")[0];
    assert!(failed["reason"].as_str().unwrap().contains("did not answer within 1 s"), "{failed}");
    assert_eq!(requests(&model).len(), 5, "one failure + one answer, then three attempts");
    api.server.stop().await;
}

#[tokio::test]
async fn without_a_model_the_llm_agents_say_so_and_the_review_is_offline() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Admin).await;
    let api = Api { server, token };
    let (status, settings) = api.get(LLM).await;
    assert_eq!((status, settings["source"].as_str()), (StatusCode::OK, Some("none")));
    let (_, agents) = api.get("/api/v1/org/agents").await;
    let mut llm: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["backend"] == "llm")
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    llm.sort_unstable();
    assert_eq!(llm, ["llm-deployments", "llm-kubernetes", "llm-linux", "llm-observability"]);
    let (status, answer) = ask(&api, "The disk is full.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["content"].as_str().unwrap().starts_with("No language model is configured"), "{answer}");
    let (_, review) = api
        .post(
            &format!("{TICKETS}/review"),
            json!({ "subject": "Checkout 502", "description": "Checkout returns 502 in prod since 14:05." }),
        )
        .await;
    assert_eq!(review["reviewer"], "offline");
    api.server.stop().await;
}

#[tokio::test]
async fn the_llm_review_is_schema_checked_and_falls_back_visibly() {
    let good = review(
        "{\"summary\": \"Checkout returns 502 in prod since 14:05.\", \"severity\": \"critical\", \"category\": \"technical\", \"findings\": [], \"questions\": []}",
    );
    let off_schema = review("{\"summary\": \"x\", \"severity\": \"apocalyptic\", \"category\": \"technical\"}");
    let (api, model) = api_with_model(vec![], Duration::from_secs(30)).await;
    model.lock().unwrap().reviews.extend([Reply::Json(good), Reply::Json(off_schema)]);
    let body = json!({ "subject": "Checkout 502", "description": "Checkout returns 502 in prod since 14:05. password=hunter2" });
    let (status, review) = api.post(&format!("{TICKETS}/review"), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert_eq!(
        (review["reviewer"].as_str(), review["severity"].as_str()),
        (Some("llm (test-model)"), Some("critical"))
    );
    let sent = model.lock().unwrap().review_requests[0].to_string();
    assert!(sent.contains("Checkout returns 502") && !sent.contains("hunter2"), "a secret reached the model: {sent}");

    let (status, review) = api.post(&format!("{TICKETS}/review"), body).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let reviewer = review["reviewer"].as_str().unwrap();
    assert!(reviewer.starts_with("offline (fallback: the llm (test-model) reviewer failed"), "{reviewer}");
    assert!(review["summary"].as_str().is_some_and(|s| !s.is_empty()));
    api.server.stop().await;
}

#[tokio::test]
async fn model_settings_are_for_admins_and_never_show_the_key() {
    let (api, _model) = api_with_model(vec![], Duration::from_secs(30)).await;
    let (status, view) = api.get(LLM).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (view["source"].as_str(), view["model"].as_str(), view["api_key_set"].as_bool()),
        (Some("org"), Some("test-model"), Some(true))
    );
    assert!(!view.to_string().contains("sk-test-key"), "{view}");

    // Leaving the key out keeps it; an empty one removes it.
    let base_url = view["base_url"].as_str().unwrap().to_owned();
    let (_, view) = api.call(Method::PUT, LLM, Some(json!({ "base_url": base_url, "model": "other" }))).await;
    assert_eq!((view["model"].as_str(), view["api_key_set"].as_bool()), (Some("other"), Some(true)));
    let (_, view) =
        api.call(Method::PUT, LLM, Some(json!({ "base_url": base_url, "model": "other", "api_key": "" }))).await;
    assert_eq!(view["api_key_set"], false);

    // A new host does not inherit the key.
    let (_, view) =
        api.call(Method::PUT, LLM, Some(json!({ "base_url": base_url, "model": "other", "api_key": "k2" }))).await;
    assert_eq!(view["api_key_set"], true);
    let (_, view) =
        api.call(Method::PUT, LLM, Some(json!({ "base_url": "http://127.0.0.2:9/v1", "model": "other" }))).await;
    assert_eq!(view["api_key_set"], false, "{view}");
    let (status, body) =
        api.call(Method::PUT, LLM, Some(json!({ "base_url": "http://user:pw@host/v1?key=1", "model": "m" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api.call(Method::PUT, LLM, Some(json!({ "base_url": "ftp://x", "model": " " }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["fields"]["base_url"].is_string() && body["error"]["fields"]["model"].is_string(), "{body}");

    let member = Api { token: api.server.token("acme", "member@acme.test", Role::Member).await, server: api.server };
    let (status, _) = member.call(Method::PUT, LLM, Some(json!({ "base_url": base_url, "model": "m" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, view) = member.get(LLM).await;
    assert_eq!((status, view["source"].as_str()), (StatusCode::OK, Some("org")));
    let admin = Api { token: member.server.token("acme", "ops@acme.test", Role::Admin).await, server: member.server };
    let (status, view) = admin.call(Method::DELETE, LLM, None).await;
    assert_eq!((status, view["source"].as_str()), (StatusCode::OK, Some("none")));
    admin.server.stop().await;
}

#[tokio::test]
async fn project_plans_are_drafted_by_the_model_or_fall_back_to_a_template() {
    let plan = "{\"title\": \"Upgrade prod to 1.30\", \"stages\": [{\"name\": \"Prepare\", \"tasks\": [{\"title\": \"Back up etcd\", \
                \"description\": \"Snapshot it.\", \"acceptance_criteria\": \"A restore works.\"}]}, {\"name\": \"Upgrade\", \
                \"tasks\": [{\"title\": \"Upgrade the nodes\", \"description\": \"\", \"acceptance_criteria\": \"All on 1.30.\"}]}]}";
    let (api, model) = api_with_model(vec![], Duration::from_secs(30)).await;
    model
        .lock()
        .unwrap()
        .reviews
        .extend([Reply::Json(review(plan)), Reply::Json(review("{\"title\": \"x\", \"stages\": []}"))]);
    let goal = "Upgrade the prod Kubernetes cluster to 1.30";
    let (status, draft) = api.post("/api/v1/org/projects/draft", json!({ "goal": goal })).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(
        (draft["drafted_by"].as_str(), draft["title"].as_str()),
        (Some("llm:test-model"), Some("Upgrade prod to 1.30"))
    );
    assert_eq!(draft["stages"][1]["tasks"][0]["title"], "Upgrade the nodes");

    let (status, draft) = api.post("/api/v1/org/projects/draft", json!({ "goal": goal })).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let by = draft["drafted_by"].as_str().unwrap();
    assert!(by.starts_with("template:kubernetes-upgrade (the model's draft was not usable"), "{by}");
    // A chosen template is used as it is, without asking the model.
    let asked = model.lock().unwrap().review_requests.len();
    let (_, draft) =
        api.post("/api/v1/org/projects/draft", json!({ "goal": goal, "template": "general-change" })).await;
    assert_eq!(draft["drafted_by"], "template:general-change");
    assert_eq!(model.lock().unwrap().review_requests.len(), asked);
    api.server.stop().await;
}

#[tokio::test]
async fn approved_commands_run_once_even_when_the_model_then_fails() {
    let propose = completion(
        "Let me count.",
        &[(
            "c1",
            "propose_command",
            json!({ "command": "echo run >> runs.txt; wc -l < runs.txt", "explanation": "Counts runs", "risk": "low" }),
        )],
    );
    let (api, model) = api_with_model(
        vec![
            Reply::Json(propose),
            Reply::Status(500, "boom"),
            Reply::Status(500, "boom"),
            Reply::Status(500, "boom"),
            Reply::Json(completion("Back again.", &[])),
        ],
        Duration::from_secs(30),
    )
    .await;
    let (_, ticket) = api
        .post(
            TICKETS,
            json!({ "subject": "Count", "description": "Count runs.", "agent_id": "llm-linux", "message": "Count." }),
        )
        .await;
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_owned();
    let entries = api.wait_for(&ticket_id, 0, "agent_reply").await;
    let cmd_id = entries_of(&entries, "command_proposed")[0]["cmd_id"].as_str().unwrap().to_owned();
    let seq = entries.last().unwrap()["seq"].as_i64().unwrap();
    let decision = json!({ "content": "Go.", "decisions": [{ "cmd_id": cmd_id, "action": "approve" }] });
    api.post(&format!("{TICKETS}/{ticket_id}/messages"), decision).await;

    // The model fails after the command ran: the turn still answers, with the run.
    let entries = api.wait_for(&ticket_id, seq, "agent_reply").await;
    let reply = entries_of(&entries, "agent_reply")[0];
    assert!(reply["content"].as_str().unwrap().contains("The model failed"), "{reply}");
    assert_eq!(entries_of(&entries, "command_ran").len(), 1);
    assert!(entries_of(&entries, "agent_failed").is_empty());

    // The next message does not run it again.
    let seq = entries.last().unwrap()["seq"].as_i64().unwrap();
    api.post(&format!("{TICKETS}/{ticket_id}/messages"), json!({ "content": "And?" })).await;
    let entries = api.wait_for(&ticket_id, seq, "agent_reply").await;
    assert!(entries_of(&entries, "command_ran").is_empty(), "{entries:#?}");
    assert_eq!(requests(&model).len(), 5);
    api.server.stop().await;
}

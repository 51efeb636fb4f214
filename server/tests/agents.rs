//! The agent protocol end to end: a custom agent that this test serves over
//! real HTTP records every request and answers from a script, so the exact
//! request shapes of the seed's examples (proposal, approval, rejection with
//! reason, commands the person ran, files, links, thread_id) and the faults
//! (down, slow, not JSON, off-schema) are checked through the real server.

mod common;

use common::agent::{serve_agent, Answer, Shared};
use common::api::{Api, TICKETS};
use common::{client, TestServer};
use opsdesk_app::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn find<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

#[tokio::test]
async fn the_helpdesk_speaks_the_agent_protocol_as_the_seed_describes() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Admin).await;
    let api = Api { server, token };
    let script: Shared = Arc::default();
    let endpoint = serve_agent(script.clone()).await;

    // An instance whose commands run here (through `sh -c`), with a secret in its context.
    let context = json!({ "k8s_namespace": "duploservices-andy", "duplo_token": "secret-duplo-token" });
    let (status, instance) = api
        .post(
            "/api/v1/org/instances",
            json!({ "name": "andy", "platform_context": context, "terminal": { "command_prefix": ["sh", "-c"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{instance}");
    let instance_id = instance["id"].as_str().unwrap().to_owned();

    let (status, agent) = api
        .post(
            "/api/v1/org/agents",
            json!({
                "name": "Kubernetes helper", "slug": "k8s", "description": "Pods and deployments",
                "endpoint_url": endpoint, "headers": { "Authorization": "Bearer agent-secret" },
                "timeout_secs": 2, "prompt_suggestions": ["Why is my pod restarting?"],
                "instance_ids": [instance_id],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    assert_eq!(agent["kind"], "custom");
    let (_, listed) = api.get("/api/v1/org/agents").await;
    let listed_text = listed.to_string();
    assert!(!listed_text.contains("agent-secret"), "a header value leaked: {listed_text}");
    let runbook = listed.as_array().unwrap().iter().find(|a| a["slug"] == "runbook").expect("built-in runbook");
    assert_eq!((runbook["kind"].as_str(), runbook["backend"].as_str()), (Some("builtin"), Some("runbook")));

    // 1. Start from a message; the agent proposes two commands, a file and a link.
    script.lock().unwrap().answers.push_back(Answer::Json(json!({
        "role": "assistant",
        "content": "Let me check your pod status and recent events.",
        "reasoning": "Restarts usually show in pod status and events first.",
        "thread_id": "$THREAD",
        "data": {
            "cmds": [
                { "command": "kubectl get pods -n duploservices-andy", "execute": false,
                  "files": [ { "file_path": "config/app.yaml", "file_content": "apiVersion: v1\nkind: ConfigMap\n" },
                             { "file_path": "../../escape.sh", "file_content": "echo pwned" } ] },
                { "command": "kubectl get events -n duploservices-andy --sort-by=.metadata.creationTimestamp", "execute": false }
            ],
            "url_configs": [ { "url": "https://grafana.example.com/d/pods", "description": "Pod dashboard" } ]
        }
    })));
    let (status, created) = api
        .post(
            TICKETS,
            json!({ "agent_id": "k8s", "instance_id": instance_id, "message": "My pods keep restarting since the last deploy" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["subject"], "My pods keep restarting since the last deploy");
    let ticket = created["ticket_id"].as_str().unwrap().to_owned();
    let thread = created["id"].as_str().unwrap().to_owned();
    let after = created["last_seq"].as_i64().unwrap();
    let entries = api.wait_for(&ticket, 0, "agent_reply").await;
    let reply = find(&entries, "agent_reply")[0];
    assert_eq!(reply["reasoning"], "Restarts usually show in pod status and events first.");
    assert_eq!(reply["links"][0]["url"], "https://grafana.example.com/d/pods");
    let proposals = find(&entries, "command_proposed");
    assert_eq!(proposals.len(), 2);
    assert_eq!(proposals[0]["files"], json!(["config/app.yaml"]));
    let refused = find(&entries, "file_refused");
    assert!(refused[0]["reason"].as_str().unwrap().contains(".."), "{refused:?}");
    assert!(!api.server.data_dir().join("escape.sh").exists());
    let (cmd_pods, cmd_events) = (proposals[0]["cmd_id"].as_str().unwrap(), proposals[1]["cmd_id"].as_str().unwrap());
    let (_, files) = api.get(&format!("{TICKETS}/{ticket}/files")).await;
    assert_eq!(files[0]["path"], "config/app.yaml");
    let file = client()
        .get(api.server.url(&format!("{TICKETS}/{ticket}/files/config/app.yaml")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(file.text().await.unwrap(), "apiVersion: v1\nkind: ConfigMap\n");

    {
        let script = script.lock().unwrap();
        let (headers, first) = &script.requests[0];
        assert_eq!(headers["authorization"], "Bearer agent-secret");
        assert_eq!(first["thread_id"], thread.as_str());
        let messages = first["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[0]["content"], "My pods keep restarting since the last deploy");
        assert_eq!(messages[0]["platform_context"], context, "the allowed agent gets the whole context");
        assert_eq!(messages[0]["data"], json!({ "cmds": [], "executed_cmds": [], "url_configs": [] }));
        let timestamp = messages[0]["timestamp"].as_str().unwrap();
        assert!(timestamp.ends_with('Z') && timestamp.len() == "2025-05-20T18:00:46.123456Z".len(), "{timestamp}");
    }

    // 2. Approve one (queued), reject the other with a reason in a pure decision message.
    script.lock().unwrap().answers.push_back(Answer::Json(json!({
        "content": "All pods are running successfully.",
        "data": {
            "executed_cmds": [ { "command": "kubectl get pods -n duploservices-andy",
                                 "output": "NAME READY STATUS RESTARTS AGE\napp-69fb74d9d4-j2l6x 1/1 Running 0 22h" } ],
            "cmds": [ { "command": "echo 'ERROR: Database connection timeout'", "execute": false } ]
        }
    })));
    let (status, decided) =
        api.post(&format!("{TICKETS}/{ticket}/commands/{cmd_pods}"), json!({ "action": "approve" })).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let last = entries.last().unwrap()["seq"].as_i64().unwrap();
    let (status, accepted) = api
        .post(
            &format!("{TICKETS}/{ticket}/messages"),
            json!({ "content": "", "decisions": [ { "cmd_id": cmd_events, "action": "reject",
                    "reason": "Too much output, let's focus on pods first" } ] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let entries = api.wait_for(&ticket, last, "agent_reply").await;
    let ran = find(&entries, "command_ran");
    assert_eq!(ran[0]["cmd_id"], cmd_pods, "the agent's run is matched to the approved card");
    assert_eq!(ran[0]["ran_by"], "agent");
    {
        let script = script.lock().unwrap();
        let second = &script.requests[1].1;
        let messages = second["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["role"], "assistant");
        assert!(messages[1].get("platform_context").is_none(), "platform_context only on user messages");
        assert_eq!(
            messages[1]["data"]["cmds"][0],
            json!({ "command": "kubectl get pods -n duploservices-andy", "execute": false })
        );
        assert_eq!(messages[2]["content"], "");
        assert_eq!(messages[2]["platform_context"], context);
        assert_eq!(
            messages[2]["data"]["cmds"],
            json!([
                { "command": "kubectl get pods -n duploservices-andy", "execute": true },
                { "command": "kubectl get events -n duploservices-andy --sort-by=.metadata.creationTimestamp",
                  "execute": false, "rejection_reason": "Too much output, let's focus on pods first" }
            ])
        );
    }
    // A decision already sent cannot be changed.
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/commands/{cmd_pods}"), json!({ "action": "reject" })).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // 3. Execute now: the helpdesk runs it; its output goes with the next message.
    let echo = find(&entries, "command_proposed")[0]["cmd_id"].as_str().unwrap().to_owned();
    let last = entries.last().unwrap()["seq"].as_i64().unwrap();
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/commands/{echo}"), json!({ "action": "execute" })).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let entries = api.wait_for(&ticket, last, "command_ran").await;
    let run = find(&entries, "command_ran")[0];
    assert_eq!(
        (run["output"].as_str(), run["exit_code"].as_i64()),
        (Some("ERROR: Database connection timeout\n"), Some(0))
    );
    assert_eq!(run["ran_by"], "person");
    script.lock().unwrap().answers.push_back(Answer::Json(json!({ "content": "The database is unreachable." })));
    let last = entries.last().unwrap()["seq"].as_i64().unwrap();
    api.post(
        &format!("{TICKETS}/{ticket}/messages"),
        json!({ "content": "I checked the logs myself and found errors" }),
    )
    .await;
    api.wait_for(&ticket, last, "agent_reply").await;
    {
        let script = script.lock().unwrap();
        let third = &script.requests[2].1;
        let current = third["messages"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(current["content"], "I checked the logs myself and found errors");
        assert_eq!(
            current["data"]["executed_cmds"],
            json!([ { "command": "echo 'ERROR: Database connection timeout'", "output": "ERROR: Database connection timeout\n" } ])
        );
        assert_eq!(current["data"]["cmds"], json!([]));
    }
    assert!(after > 0);
}

#[tokio::test]
async fn a_failing_agent_leaves_a_reason_and_loses_nothing() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ops@acme.test", Role::Admin).await;
    let api = Api { server, token };
    let script: Shared = Arc::default();
    let endpoint = serve_agent(script.clone()).await;
    let (status, _) = api
        .post(
            "/api/v1/org/agents",
            json!({ "name": "Flaky", "slug": "flaky", "endpoint_url": endpoint, "timeout_secs": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    {
        let mut script = script.lock().unwrap();
        script.answers.push_back(Answer::Status(500, "boom"));
        script.answers.push_back(Answer::Json(json!("just a string")));
        script.answers.push_back(Answer::Json(json!({ "content": 42 })));
        script.answers.push_back(Answer::Slow(Duration::from_millis(1500), json!({ "content": "late" })));
        script.answers.push_back(Answer::Json(json!({ "content": "x", "thread_id": "someone-else" })));
    }
    let (status, created) =
        api.post(TICKETS, json!({ "agent_id": "flaky", "message": "The VPN drops every hour" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ticket = created["ticket_id"].as_str().unwrap().to_owned();
    let mut last = 0;
    for expected in ["HTTP 500", "not a JSON object", "at `content`", "within 1 s", "another thread"] {
        let entries = api.wait_for(&ticket, last, "agent_failed").await;
        let failure = find(&entries, "agent_failed")[0];
        assert!(failure["reason"].as_str().unwrap().contains(expected), "{failure}");
        last = entries.last().unwrap()["seq"].as_i64().unwrap();
        if expected == "another thread" {
            // The agent is back for the last retry.
            script.lock().unwrap().answers.push_back(Answer::Json(json!({ "content": "Found it: the DHCP lease." })));
        }
        let (status, retried) = api.post(&format!("{TICKETS}/{ticket}/retry"), json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    }
    // Every attempt carried the person's message.
    let entries = api.wait_for(&ticket, last, "agent_reply").await;
    assert_eq!(find(&entries, "agent_reply")[0]["content"], "Found it: the DHCP lease.");
    let script_requests: Vec<Value> = script.lock().unwrap().requests.iter().map(|(_, b)| b.clone()).collect();
    assert_eq!(script_requests.len(), 6);
    for request in &script_requests {
        assert_eq!(request["messages"].as_array().unwrap().last().unwrap()["content"], "The VPN drops every hour");
    }
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/retry"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing is left to retry");

    // Messages sent while a turn runs are queued and all answered.
    {
        let mut script = script.lock().unwrap();
        script.answers.push_back(Answer::Slow(Duration::from_millis(400), json!({ "content": "first" })));
        script.answers.push_back(Answer::Json(json!({ "content": "second" })));
    }
    let last = entries.last().unwrap()["seq"].as_i64().unwrap();
    let (_, one) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "one" })).await;
    let (_, two) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "two" })).await;
    assert_eq!((one["queued"].as_bool(), two["queued"].as_bool()), (Some(false), Some(true)));
    // "two" is answered: in a turn of its own after "one", or together with
    // "one" when both were waiting before the agent was called (a turn takes
    // every message pending when it starts).
    let seen = api.wait_until(&ticket, last, |e| e["kind"] == "agent_reply" && e["in_reply_to"] == two["seq"]).await;
    let replies = find(&seen, "agent_reply");
    assert!(matches!(replies.len(), 1 | 2), "{replies:?}");
    if replies.len() == 2 {
        assert_eq!(replies[0]["in_reply_to"], one["seq"]);
    }
    let requests = &script.lock().unwrap().requests;
    let new_requests: Vec<&Value> = requests[script_requests.len()..].iter().map(|(_, body)| body).collect();
    assert_eq!(new_requests.len(), replies.len(), "one request per turn");
    let contents = |request: &Value| -> Vec<Value> {
        request["messages"].as_array().unwrap().iter().map(|m| m["content"].clone()).collect()
    };
    let last_request = contents(new_requests.last().unwrap());
    assert_eq!(last_request.last().unwrap(), "two");
    assert!(new_requests.iter().any(|r| contents(r).contains(&json!("one"))), "\"one\" reached the agent");
}

#[tokio::test]
async fn agents_are_checked_and_confined_to_their_instances() {
    let server = TestServer::start().await;
    let admin = server.token("acme", "root@acme.test", Role::Admin).await;
    let member = server.token("acme", "ada@acme.test", Role::Member).await;
    let api = Api { server, token: admin };
    let (_, prod) = api.post("/api/v1/org/instances", json!({ "name": "prod" })).await;
    let prod_id = prod["id"].as_str().unwrap();

    for (body, field) in [
        (json!({ "name": "x", "slug": "Bad Slug", "endpoint_url": "http://127.0.0.1:9" }), "slug"),
        (json!({ "name": "x", "slug": "ok", "endpoint_url": "ftp://host" }), "endpoint_url"),
        (json!({ "name": "x", "slug": "ok", "endpoint_url": "http://h", "timeout_secs": 0 }), "timeout_secs"),
        (json!({ "name": "x", "slug": "ok", "endpoint_url": "http://h", "headers": { "bad header": "v" } }), "headers"),
        (json!({ "name": "x", "slug": "ok", "endpoint_url": "http://h", "instance_ids": ["nope"] }), "instance_ids"),
    ] {
        let (status, error) = api.post("/api/v1/org/agents", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(error["error"]["fields"][field].is_string(), "{error}");
    }
    let only_prod = json!({ "name": "Prod only", "slug": "prod-only", "endpoint_url": "http://127.0.0.1:9", "instance_ids": [prod_id] });
    let (status, _) = api.post("/api/v1/org/agents", only_prod.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api.post("/api/v1/org/agents", only_prod).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let members_try = client()
        .post(api.server.url("/api/v1/org/agents"))
        .bearer_auth(&member)
        .json(&json!({ "name": "x", "slug": "xx", "endpoint_url": "http://h" }))
        .send()
        .await
        .unwrap();
    assert_eq!(members_try.status(), StatusCode::FORBIDDEN);

    // An agent limited to prod cannot work a ticket on the local instance.
    let (status, error) = api.post(TICKETS, json!({ "agent_id": "prod-only", "message": "help" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["error"]["fields"]["agent_id"].as_str().unwrap().contains("may not work on"));
    let (status, error) = api.post(TICKETS, json!({ "message": "help" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    let (_, created) = api.post(TICKETS, json!({ "subject": "Disk almost full on the build host" })).await;
    let ticket = created["ticket_id"].as_str().unwrap();
    let (status, error) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "hello" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no agent assigned yet: {error}");
    let (status, error) = api
        .call(reqwest::Method::PUT, &format!("{TICKETS}/{ticket}/agents"), Some(json!({ "agent_ids": ["prod-only"] })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, detail) = api
        .call(reqwest::Method::PUT, &format!("{TICKETS}/{ticket}/agents"), Some(json!({ "agent_ids": ["runbook"] })))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["agents"][0]["slug"], "runbook");
    let (status, error) =
        api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "x", "agent_id": "prod-only" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not assigned: {error}");
    let (status, error) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "empty with nothing to carry: {error}");
    let (status, _) = api.get(&format!("{TICKETS}/{ticket}/events?after=-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The built-in agent is served over the protocol too, to operators of the org.
    let request = json!({ "thread_id": created["id"], "messages": [
        { "role": "user", "content": "The disk is full", "data": { "cmds": [], "executed_cmds": [], "url_configs": [] } } ] });
    let by_member = client()
        .post(api.server.url("/agents/runbook/api/sendMessage"))
        .bearer_auth(&member)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    let (status, answer) = api.post("/agents/runbook/api/sendMessage", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["thread_id"], created["id"]);
    assert!(!answer["data"]["cmds"].as_array().unwrap().is_empty(), "{answer}");
    let (status, _) = api.post("/agents/nobody/api/sendMessage", request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Closing the ticket removes its canvas directory and ends the conversation.
    let canvas = api.server.data_dir().join("canvas").join(created["id"].as_str().unwrap());
    std::fs::create_dir_all(&canvas).unwrap();
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/close"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!canvas.exists(), "the canvas directory goes with the ticket");
    let (status, _) = api.post(&format!("{TICKETS}/{ticket}/messages"), json!({ "content": "still there?" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

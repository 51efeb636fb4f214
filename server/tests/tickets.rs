//! The tickets API over real HTTP on a real SQLite file: raising with the
//! review, validation, the lifecycle, comments under concurrency, search and
//! pagination, attachments, following, deletion, org isolation.

mod common;

use common::{browser, client, TestServer};
use opsdesk_app::model::Role;
use opsdesk_server::attachments::Limits;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TICKETS: &str = "/api/v1/org/support/tickets";

async fn error_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(actual, status, "unexpected answer: {body}");
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    body["error"].clone()
}

async fn create(server: &TestServer, token: &str, body: Value) -> Value {
    let response = client().post(server.url(TICKETS)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn seqs(timeline: &Value) -> Vec<i64> {
    timeline.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn raising_a_ticket_records_its_history() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let ticket = create(
        &server,
        &token,
        json!({
            "subject": "Checkout API returns 502 for all users in production",
            "description": "Since 09:10 UTC every request to https://shop.example.com/api/checkout fails with \
                            `502 Bad Gateway` from the ingress in the prod cluster. Nothing was deployed today.",
        }),
    )
    .await;
    assert_eq!(ticket["ticket_id"], "ACME-1");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["source"], "api");
    assert_eq!(ticket["category"], "technical", "{ticket}");
    assert!(ticket["ai_summary"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(["passed", "flagged"].contains(&ticket["ai_review_status"].as_str().unwrap()));
    let kinds: Vec<&str> = ticket["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "reviewed", "status_changed"]);
    assert_eq!(seqs(&ticket["timeline"]), [1, 2, 3]);
    assert_eq!(ticket["last_seq"], 3);

    let second = create(
        &server,
        &token,
        json!({ "subject": "Second", "description": "x", "severity": "low", "category": "billing" }),
    )
    .await;
    assert_eq!(second["ticket_id"], "ACME-2");
    assert_eq!(second["severity"], "low");
    assert_eq!(second["category"], "billing");

    let fetched: Value = client()
        .get(server.url(&format!("{TICKETS}/ACME-1")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["subject"], ticket["subject"]);
    let by_id: Value = client()
        .get(server.url(&format!("{TICKETS}/{}", ticket["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_id["ticket_id"], "ACME-1");
    server.stop().await;
}

#[tokio::test]
async fn every_field_is_validated_by_name() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let http = client();
    let cases = [
        (json!({ "subject": "", "description": "x" }), "subject"),
        (json!({ "subject": "s".repeat(201), "description": "x" }), "subject"),
        (json!({ "subject": "ok", "description": "d".repeat(10_001) }), "description"),
        (json!({ "subject": "ok", "category": "urgent" }), "category"),
        (json!({ "subject": "ok", "severity": "sev0" }), "severity"),
        (json!({ "subject": "ok", "cluster_id": "no-such-instance" }), "cluster_id"),
        (json!({ "subject": "ok", "source": "agent" }), "source"),
        (json!({ "subject": "ok", "colour": "blue" }), "colour"),
        (json!({ "subject": "ok", "review_id": "nope" }), "review_id"),
    ];
    for (body, field) in cases {
        let response = http.post(server.url(TICKETS)).bearer_auth(&token).json(&body).send().await.unwrap();
        let error = error_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error["fields"][field].is_string(), "{field} not named in {error}");
    }
    let listed: Value = http.get(server.url(TICKETS)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["pagination"]["total_count"], 0, "nothing half-written");
    for (query, field) in
        [("page=0", "page"), ("page_size=101", "page_size"), ("status=done", "status"), ("page=x", "page")]
    {
        let response = http.get(server.url(&format!("{TICKETS}?{query}"))).bearer_auth(&token).send().await.unwrap();
        let error = error_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error["fields"][field].is_string(), "{query}: {error}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_lifecycle_is_enforced_and_recorded() {
    let server = TestServer::start().await;
    let member = server.token("acme", "ada@acme.test", Role::Member).await;
    let other_member = server.token("acme", "bob@acme.test", Role::Member).await;
    let operator = server.token("acme", "ops@acme.test", Role::Operator).await;
    let http = client();
    create(&server, &member, json!({ "subject": "Disk full on build runner", "description": "df shows 100% on /var" }))
        .await;
    let url = server.url(&format!("{TICKETS}/ACME-1"));

    let response =
        http.patch(&url).bearer_auth(&member).json(&json!({ "status": "in_progress" })).send().await.unwrap();
    error_of(response, StatusCode::FORBIDDEN).await;

    let moved: Value = http
        .patch(&url)
        .bearer_auth(&operator)
        .json(&json!({ "status": "in_progress", "severity": "high", "reason": "looking" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["status"], "in_progress");
    assert_eq!(moved["severity"], "high");
    let last = &moved["timeline"].as_array().unwrap()[moved["timeline"].as_array().unwrap().len() - 2..];
    assert_eq!(last[0]["kind"], "status_changed");
    assert_eq!(last[0]["to"], "in_progress");
    assert_eq!(last[0]["reason"], "looking");
    assert_eq!(last[1]["kind"], "field_changed");
    assert_eq!(last[1]["field"], "severity");

    let response = http.post(format!("{url}/close")).bearer_auth(&other_member).send().await.unwrap();
    error_of(response, StatusCode::FORBIDDEN).await;
    let closed: Value = http
        .post(format!("{url}/close"))
        .bearer_auth(&member)
        .json(&json!({ "reason": "fixed" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed["status"], "closed");

    let response = http.patch(&url).bearer_auth(&operator).json(&json!({ "status": "resolved" })).send().await.unwrap();
    let error = error_of(response, StatusCode::CONFLICT).await;
    assert_eq!(error["details"]["allowed"], json!(["open"]));
    assert!(error["message"].as_str().unwrap().contains("allowed next: open"));
    let again = http.post(format!("{url}/close")).bearer_auth(&member).send().await.unwrap();
    error_of(again, StatusCode::CONFLICT).await;

    let reopened: Value = http
        .patch(&url)
        .bearer_auth(&operator)
        .json(&json!({ "status": "open" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reopened["status"], "open");
    let timeline = seqs(&reopened["timeline"]);
    assert_eq!(timeline, (1..=timeline.len() as i64).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn operators_link_duplicates() {
    let server = TestServer::start().await;
    let operator = server.token("acme", "ops@acme.test", Role::Operator).await;
    create(&server, &operator, json!({ "subject": "Grafana is down", "description": "502 from grafana.acme.io" }))
        .await;
    create(&server, &operator, json!({ "subject": "Dashboards unreachable", "description": "grafana answers 502" }))
        .await;
    let url = server.url(&format!("{TICKETS}/ACME-2"));
    let http = client();
    for (bad, why) in [("ACME-2", "itself"), ("ACME-99", "no ticket")] {
        let response =
            http.patch(&url).bearer_auth(&operator).json(&json!({ "duplicate_of": bad })).send().await.unwrap();
        let error = error_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error["fields"]["duplicate_of"].as_str().unwrap().contains(why), "{error}");
    }
    let linked: Value = http
        .patch(&url)
        .bearer_auth(&operator)
        .json(&json!({ "duplicate_of": "acme-1", "status": "closed", "reason": "duplicate" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(linked["duplicate_of"], "ACME-1");
    assert_eq!(linked["status"], "closed");
    let kinds: Vec<&str> = linked["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.ends_with(&["status_changed", "duplicate_linked"]), "{kinds:?}");
    server.stop().await;
}

#[tokio::test]
async fn parallel_comments_are_never_lost() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let ticket = create(&server, &token, json!({ "subject": "Flaky DNS", "description": "lookups time out" })).await;
    let url = server.url(&format!("{TICKETS}/{}/comments", ticket["ticket_id"].as_str().unwrap()));
    const WRITERS: usize = 40;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move {
                let response = client()
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "body": format!("comment {i}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                response.json::<Value>().await.unwrap()["seq"].as_i64().unwrap()
            })
        })
        .collect();
    let mut seqs_given = Vec::new();
    for task in tasks {
        seqs_given.push(task.await.unwrap());
    }
    seqs_given.sort_unstable();
    seqs_given.dedup();
    assert_eq!(seqs_given.len(), WRITERS, "two comments got the same seq");

    let detail: Value = client()
        .get(server.url(&format!("{TICKETS}/ACME-1")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut bodies: Vec<String> =
        detail["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap().to_owned()).collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..WRITERS).map(|i| format!("comment {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert_eq!(detail["comment_count"], WRITERS as i64);
    let all = seqs(&detail["timeline"]);
    assert_eq!(all, (1..=all.len() as i64).collect::<Vec<_>>(), "seqs are gap-free and in order");
    server.stop().await;
}

#[tokio::test]
async fn lists_filter_search_and_paginate() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Operator).await;
    let http = client();
    for i in 1..=7 {
        create(
            &server,
            &token,
            json!({ "subject": format!("Routine task {i}"), "description": "rotate the logs on the web tier" }),
        )
        .await;
    }
    create(&server, &token, json!({ "subject": "Grafana dashboard empty", "description": "panels show no data" }))
        .await;
    let local =
        server.state.store.instances(&server.state.store.org_by_slug("acme").await.unwrap().unwrap().id).await.unwrap();
    let cluster = &local[0].id;
    create(
        &server,
        &token,
        json!({ "subject": "Local host swap usage", "description": "swap at 90%", "cluster_id": cluster }),
    )
    .await;
    http.patch(server.url(&format!("{TICKETS}/ACME-8")))
        .bearer_auth(&token)
        .json(&json!({ "status": "triaging" }))
        .send()
        .await
        .unwrap();
    http.post(server.url(&format!("{TICKETS}/ACME-2/comments")))
        .bearer_auth(&token)
        .json(&json!({ "body": "the kafka consumer lag is the real culprit" }))
        .send()
        .await
        .unwrap();

    let page: Value = http
        .get(server.url(&format!("{TICKETS}?page_size=3&page=2")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["pagination"], json!({ "page": 2, "page_size": 3, "total_pages": 3, "total_count": 9 }));
    let ids: Vec<&str> = page["result"].as_array().unwrap().iter().map(|t| t["ticket_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ACME-6", "ACME-5", "ACME-4"], "newest first");

    let get = |query: &'static str| {
        let request = http.get(server.url(&format!("{TICKETS}?{query}"))).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let ids_of = |page: &Value| -> Vec<String> {
        page["result"].as_array().unwrap().iter().map(|t| t["ticket_id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids_of(&get("q=kafka%20lag").await), ["ACME-2"], "comments are searched");
    assert_eq!(ids_of(&get("q=grafana").await), ["ACME-8"]);
    assert_eq!(ids_of(&get("q=dashb").await), ["ACME-8"], "prefixes match");
    assert_eq!(ids_of(&get("status=triaging").await), ["ACME-8"]);
    assert_eq!(ids_of(&get("status=triaging&status=closed").await), ["ACME-8"]);
    assert_eq!(get("status=open").await["pagination"]["total_count"], 8);
    let by_cluster: Value = http
        .get(server.url(TICKETS))
        .query(&[("cluster_id", cluster.as_str())])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids_of(&by_cluster), ["ACME-9"]);
    let detail: Value = http
        .get(server.url(&format!("{TICKETS}/ACME-9")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let context = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "instance_context")
        .expect("instance context attached");
    assert_eq!(context["name"], "local");
    assert!(context["summary"].as_str().unwrap().contains("host"));
    assert_eq!(get("q=%22%22%20OR%20*").await["pagination"]["total_count"], 0, "search syntax is never interpreted");
    server.stop().await;
}

#[tokio::test]
async fn other_orgs_tickets_do_not_exist() {
    let server = TestServer::start().await;
    let acme = server.token("acme", "ada@acme.test", Role::Admin).await;
    let globex = server.token("globex", "hank@globex.test", Role::Admin).await;
    let ticket = create(&server, &acme, json!({ "subject": "Acme secret outage", "description": "acme only" })).await;
    create(&server, &globex, json!({ "subject": "Globex thing", "description": "globex only" })).await;
    let http = client();
    for path in ["ACME-1".to_owned(), ticket["id"].as_str().unwrap().to_owned(), "GLOBEX-99".to_owned()] {
        let response = http.get(server.url(&format!("{TICKETS}/{path}"))).bearer_auth(&globex).send().await.unwrap();
        let error = error_of(response, StatusCode::NOT_FOUND).await;
        assert_eq!(error["message"], "ticket not found");
        let response = http
            .post(server.url(&format!("{TICKETS}/{path}/comments")))
            .bearer_auth(&globex)
            .json(&json!({ "body": "hi" }))
            .send()
            .await
            .unwrap();
        error_of(response, StatusCode::NOT_FOUND).await;
        let response = http.delete(server.url(&format!("{TICKETS}/{path}"))).bearer_auth(&globex).send().await.unwrap();
        error_of(response, StatusCode::NOT_FOUND).await;
    }
    let search: Value = http
        .get(server.url(&format!("{TICKETS}?q=secret")))
        .bearer_auth(&globex)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(search["pagination"]["total_count"], 0);
    let review: Value = http
        .post(server.url(&format!("{TICKETS}/review")))
        .bearer_auth(&globex)
        .json(&json!({ "subject": "Acme secret outage", "description": "acme only" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        review["duplicates"].as_array().unwrap().iter().all(|d| !d["ticket_id"].as_str().unwrap().starts_with("ACME")),
        "{review}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_review_catches_a_duplicate_and_the_person_decides() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let http = client();
    create(
        &server,
        &token,
        json!({ "subject": "Pods in payments namespace keep restarting with OOMKilled",
                "description": "payments-api pods restart every few minutes in prod; kubectl shows OOMKilled, limit 512Mi." }),
    )
    .await;
    let draft = json!({ "subject": "payments: OOMKilled, pods restart over and over",
                         "description": "In production the payments-api pods are OOMKilled and restart again and again. Memory limit is 512Mi." });
    let review: Value = http
        .post(server.url(&format!("{TICKETS}/review")))
        .bearer_auth(&token)
        .json(&draft)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(review["duplicates"][0]["ticket_id"], "ACME-1", "{review}");
    assert_eq!(review["status"], "flagged", "{review}");
    assert!(review["flag_reason"].as_str().unwrap().contains("ACME-1"));
    let review_id = review["review_id"].as_str().unwrap();

    let response = http
        .post(server.url(TICKETS))
        .bearer_auth(&token)
        .json(&json!({ "review_id": review_id }))
        .send()
        .await
        .unwrap();
    let error = error_of(response, StatusCode::CONFLICT).await;
    assert_eq!(error["details"]["duplicates"][0]["ticket_id"], "ACME-1");
    let listed: Value = http.get(server.url(TICKETS)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["pagination"]["total_count"], 1, "a refused create writes nothing");

    // Follow the existing ticket instead, keeping the draft's words.
    let followed: Value = http
        .post(server.url(&format!("{TICKETS}/ACME-1/follow")))
        .bearer_auth(&token)
        .json(&json!({ "comment": draft["description"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followed["following"], true);
    assert_eq!(followed["comments"][0]["body"], draft["description"]);

    // Or file it anyway, acknowledging the flag; answers to questions are kept.
    let filed = create(
        &server,
        &token,
        json!({ "review_id": review_id, "acknowledged": true,
                "clarification_answers": [{ "question_id": "no_timeline", "answer": "since the 14:00 deploy" }] }),
    )
    .await;
    assert_eq!(filed["ticket_id"], "ACME-2");
    assert_eq!(filed["ai_review_status"], "flagged");
    assert_eq!(filed["subject"], draft["subject"]);
    assert!(filed["description"].as_str().unwrap().contains("since the 14:00 deploy"));
    server.stop().await;
}

async fn attach(server: &TestServer, token: &str, ticket: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    client()
        .post(server.url(&format!("{TICKETS}/{ticket}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Every file under the data directory's attachment and temporary folders.
fn stored_files(server: &TestServer) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&server.data_dir().join("attachments"), &mut files);
    walk(&server.data_dir().join("tmp"), &mut files);
    files
}

#[tokio::test]
async fn attachments_are_checked_by_content_and_size_and_served_as_downloads() {
    let server = TestServer::start_with_limits(Limits { max_bytes: 64 * 1024, max_per_ticket: 3 }).await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    create(&server, &token, json!({ "subject": "Logs attached", "description": "see files" })).await;

    let log = b"2026-11-22T10:00:00Z ERROR upstream timed out\n".repeat(10);
    let response = attach(&server, &token, "ACME-1", "../../nginx error.log", log.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let attachment: Value = response.json().await.unwrap();
    assert_eq!(attachment["filename"], "nginx error.log");
    assert_eq!(attachment["content_type"], "text/plain; charset=utf-8");
    assert_eq!(attachment["size"], log.len());

    let download = client()
        .get(server.url(&format!("{TICKETS}/ACME-1/attachments/{}", attachment["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;") && disposition.contains("nginx error.log"), "{disposition}");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().as_ref(), log.as_slice());
    let files_before = stored_files(&server);
    assert_eq!(files_before.len(), 1);

    // Refused by content, whatever the name says; nothing stays behind.
    let elf = [b"\x7fELF\x02\x01\x01".as_slice(), &[0u8; 100]].concat();
    let response = attach(&server, &token, "ACME-1", "notes.txt", elf).await;
    error_of(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let response = attach(&server, &token, "ACME-1", "report.log", b"<!DOCTYPE html><script>x</script>".to_vec()).await;
    error_of(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let response = attach(&server, &token, "ACME-1", "big.log", vec![b'a'; 64 * 1024 + 1]).await;
    error_of(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(stored_files(&server), files_before, "refused uploads leave no bytes");

    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[1u8; 200]].concat();
    let response = attach(&server, &token, "ACME-1", "screenshot.png", png).await;
    assert_eq!(response.json::<Value>().await.unwrap()["content_type"], "image/png");
    let response = attach(&server, &token, "ACME-1", "same.log", log.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED, "identical bytes are stored once but listed twice");
    let response = attach(&server, &token, "ACME-1", "fourth.log", b"one too many\n".to_vec()).await;
    let error = error_of(response, StatusCode::CONFLICT).await;
    assert!(error["message"].as_str().unwrap().contains("maximum of 3"));

    let detail: Value = client()
        .get(server.url(&format!("{TICKETS}/ACME-1")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["attachments"].as_array().unwrap().len(), 3);
    assert_eq!(detail["attachment_count"], 3);
    assert_eq!(stored_files(&server).len(), 2, "content-addressed: the duplicate log is one file");

    let not_multipart = client()
        .post(server.url(&format!("{TICKETS}/ACME-1/attachments")))
        .bearer_auth(&token)
        .json(&json!({ "file": "x" }))
        .send()
        .await
        .unwrap();
    error_of(not_multipart, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    server.stop().await;
}

#[tokio::test]
async fn only_admins_delete_and_deletion_takes_the_files() {
    let server = TestServer::start().await;
    let member = server.token("acme", "ada@acme.test", Role::Operator).await;
    let admin = server.token("acme", "root@acme.test", Role::Admin).await;
    create(&server, &member, json!({ "subject": "Temporary", "description": "to delete" })).await;
    attach(&server, &member, "ACME-1", "a.log", b"hello\n".to_vec()).await;
    let url = server.url(&format!("{TICKETS}/ACME-1"));
    error_of(client().delete(&url).bearer_auth(&member).send().await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_eq!(client().delete(&url).bearer_auth(&admin).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    error_of(client().get(&url).bearer_auth(&admin).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    assert!(stored_files(&server).is_empty());
    let next = create(&server, &member, json!({ "subject": "Next", "description": "numbers are not reused" })).await;
    assert_eq!(next["ticket_id"], "ACME-2");
    server.stop().await;
}

#[tokio::test]
async fn browser_sessions_use_the_org_routes() {
    let server = TestServer::start().await;
    server.user("acme", "ada@acme.test", Role::Member, "a long test password").await;
    let http = browser();
    let signed_in = http
        .post(server.url("/rpc/sign-in"))
        .header("Origin", server.origin())
        .form(&[("email", "ada@acme.test"), ("password", "a long test password")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let created = http
        .post(server.url("/org/support/tickets"))
        .header("Origin", server.origin())
        .json(&json!({ "subject": "From the portal", "description": "typed in a browser" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["source"], "portal");
    let forged = http
        .post(server.url("/org/support/tickets"))
        .header("Origin", "http://evil.example")
        .json(&json!({ "subject": "forged", "description": "x" }))
        .send()
        .await
        .unwrap();
    error_of(forged, StatusCode::FORBIDDEN).await;
    let listed: Value = http.get(server.url("/org/support/tickets")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["pagination"]["total_count"], 1);
    error_of(http.get(server.url("/org/nothing")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    error_of(client().get(server.url("/org/support/tickets")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

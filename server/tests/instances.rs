//! Instances over the API: admins add them, everyone lists them, and the
//! platform context's values never come back out.

mod common;

use common::{client, TestServer};
use opsdesk_app::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const INSTANCES: &str = "/api/v1/org/instances";

#[tokio::test]
async fn admins_add_instances_whose_secrets_stay_inside() {
    let server = TestServer::start().await;
    let admin = server.token("acme", "root@acme.test", Role::Admin).await;
    let member = server.token("acme", "ada@acme.test", Role::Member).await;
    let other = server.token("globex", "hank@globex.test", Role::Admin).await;
    let http = client();

    let body = json!({
        "name": "prod-eu",
        "summary": "EKS 1.30 in eu-west-1, payments and checkout",
        "platform_context": { "k8s_namespace": "payments", "kubeconfig": "c2VjcmV0LWt1YmVjb25maWc=" },
        "terminal": { "containers": "kubectl get pods -o name" },
    });
    let response = http.post(server.url(INSTANCES)).bearer_auth(&member).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = http.post(server.url(INSTANCES)).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "prod-eu");
    assert_eq!(created["context_keys"], json!(["k8s_namespace", "kubeconfig"]));

    let listed = http.get(server.url(INSTANCES)).bearer_auth(&member).send().await.unwrap().text().await.unwrap();
    assert!(!listed.contains("c2VjcmV0"), "a context value reached a client: {listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["local", "prod-eu"], "the built-in instance comes first");

    let again = http.post(server.url(INSTANCES)).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    for (bad, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x/../y" }), "name"),
        (json!({ "name": "ok", "platform_context": "not an object" }), "platform_context"),
        (json!({ "name": "ok", "terminal": [1] }), "terminal"),
    ] {
        let response = http.post(server.url(INSTANCES)).bearer_auth(&admin).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert!(error["error"]["fields"][field].is_string(), "{error}");
    }

    // Another org neither sees it nor can point a ticket at it.
    let theirs: Value = http.get(server.url(INSTANCES)).bearer_auth(&other).send().await.unwrap().json().await.unwrap();
    assert!(theirs.as_array().unwrap().iter().all(|i| i["name"] != "prod-eu"));
    let ticket = http
        .post(server.url("/api/v1/org/support/tickets"))
        .bearer_auth(&other)
        .json(&json!({ "subject": "x", "cluster_id": created["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A ticket about it carries the summary, never the context.
    let ticket: Value = http
        .post(server.url("/api/v1/org/support/tickets"))
        .bearer_auth(&member)
        .json(
            &json!({ "subject": "Payments pods restarting", "description": "OOMKilled", "cluster_id": created["id"] }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = ticket.to_string();
    assert!(text.contains("EKS 1.30") && !text.contains("c2VjcmV0"), "{text}");
    server.stop().await;
}

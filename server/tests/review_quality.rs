//! Review quality through the API on the labelled set in
//! `tests/data/review_labelled.json`: category and severity accuracy, and
//! whether duplicates are found (and near-misses are not flagged) among an
//! org's real tickets. Prints the figures; fails below the floors.

mod common;

use common::{client, TestServer};
use opsdesk_app::model::Role;
use serde_json::{json, Value};

const TICKETS: &str = "/api/v1/org/support/tickets";
/// Floors well under today's figures: a regression fails, noise does not.
const MIN_CATEGORY_ACCURACY: f64 = 0.85;
const MIN_SEVERITY_ACCURACY: f64 = 0.80;
const MIN_DUPLICATE_RECALL: f64 = 0.90;
const MAX_FALSE_FLAGS: f64 = 0.10;

fn labelled() -> Value {
    serde_json::from_str(include_str!("data/review_labelled.json")).expect("labelled set parses")
}

async fn review(server: &TestServer, token: &str, subject: &Value, description: &Value) -> Value {
    let response = client()
        .post(server.url(&format!("{TICKETS}/review")))
        .bearer_auth(token)
        .json(&json!({ "subject": subject, "description": description }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn categories_and_severities_match_the_labels() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let set = labelled();
    let cases = set["categories"].as_array().unwrap();
    let (mut category_hits, mut severity_hits) = (0, 0);
    for case in cases {
        let review = review(&server, &token, &case["subject"], &case["description"]).await;
        if review["category"] == case["category"] {
            category_hits += 1;
        } else {
            println!("category: {:?} → {} (labelled {})", case["subject"], review["category"], case["category"]);
        }
        if review["severity"] == case["severity"] {
            severity_hits += 1;
        } else {
            println!("severity: {:?} → {} (labelled {})", case["subject"], review["severity"], case["severity"]);
        }
    }
    let category = category_hits as f64 / cases.len() as f64;
    let severity = severity_hits as f64 / cases.len() as f64;
    println!(
        "review quality: category {category_hits}/{} = {:.1}%, severity {severity_hits}/{} = {:.1}%",
        cases.len(),
        category * 100.0,
        cases.len(),
        severity * 100.0
    );
    assert!(category >= MIN_CATEGORY_ACCURACY, "category accuracy {category:.3}");
    assert!(severity >= MIN_SEVERITY_ACCURACY, "severity accuracy {severity:.3}");
    server.stop().await;
}

#[tokio::test]
async fn duplicates_are_found_among_the_orgs_tickets() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let set = labelled();
    let pairs = set["duplicates"].as_array().unwrap();
    // Every "existing" ticket goes into one org, as in real life.
    let mut ids = Vec::new();
    for pair in pairs {
        let response = client()
            .post(server.url(TICKETS))
            .bearer_auth(&token)
            .json(&json!({ "subject": pair["existing"]["subject"], "description": pair["existing"]["description"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Value>().await.unwrap()["ticket_id"].as_str().unwrap().to_owned());
    }
    let (mut found, mut found_top, mut flagged_true, mut true_cases) = (0, 0, 0, 0);
    let (mut false_flags, mut false_cases) = (0, 0);
    for (pair, id) in pairs.iter().zip(&ids) {
        let review = review(&server, &token, &pair["new"]["subject"], &pair["new"]["description"]).await;
        let duplicates = review["duplicates"].as_array().unwrap();
        let position = duplicates.iter().position(|d| d["ticket_id"] == id.as_str());
        let flagged = review["status"] == "flagged" && position == Some(0);
        if pair["duplicate"] == true {
            true_cases += 1;
            found += usize::from(position.is_some());
            found_top += usize::from(position == Some(0));
            flagged_true += usize::from(flagged);
            if position != Some(0) {
                println!("missed duplicate of {id}: {:?} → {:?}", pair["new"]["subject"], duplicates);
            }
        } else {
            false_cases += 1;
            false_flags += usize::from(flagged);
            if flagged {
                println!("near-miss flagged as {id}: {:?}", pair["new"]["subject"]);
            }
        }
    }
    let recall = found_top as f64 / true_cases as f64;
    let false_flag_rate = false_flags as f64 / false_cases as f64;
    println!(
        "duplicates: listed {found}/{true_cases}, ranked first {found_top}/{true_cases} = {:.1}%, flagged {flagged_true}/{true_cases}; near-misses flagged {false_flags}/{false_cases}",
        recall * 100.0
    );
    assert!(recall >= MIN_DUPLICATE_RECALL, "duplicate recall {recall:.3}");
    assert!(false_flag_rate <= MAX_FALSE_FLAGS, "near-misses flagged {false_flag_rate:.3}");
    server.stop().await;
}

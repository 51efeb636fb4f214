//! Projects end to end through the REST API: a plan is created, approved
//! (stage 1 opens, its agent gets the plan), its tickets are resolved (the
//! next stage opens), stages start early, edits make revisions that never
//! touch opened tickets, approvals and resolutions race without opening
//! anything twice, and bad plans are refused naming the field.

mod common;

use common::agent::{serve_agent, Answer, Shared};
use common::api::{Api, TICKETS};
use common::TestServer;
use opsdesk_app::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

const PROJECTS: &str = "/api/v1/org/projects";

async fn api(role: Role) -> Api {
    let server = TestServer::start().await;
    let token = server.token("acme", "lead@acme.test", role).await;
    Api { server, token }
}

fn task(title: &str) -> Value {
    json!({ "title": title, "description": format!("Do {title}."), "acceptance_criteria": format!("{title} is done.") })
}

fn plan(stages: &[(&str, &[&str])]) -> Value {
    let stages: Vec<Value> = stages
        .iter()
        .map(|(name, tasks)| json!({ "name": name, "tasks": tasks.iter().map(|t| task(t)).collect::<Vec<_>>() }))
        .collect();
    json!({ "title": "Upgrade prod to Kubernetes 1.30", "goal": "Stay on a supported version.", "stages": stages })
}

/// `(number, ticket ids)` of each stage.
fn stage_tickets(project: &Value) -> Vec<(u64, Vec<String>)> {
    project["stage_progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let ids = s["tickets"].as_array().unwrap().iter().map(|t| t["ticket_id"].as_str().unwrap().to_owned());
            (s["number"].as_u64().unwrap(), ids.collect())
        })
        .collect()
}

fn states(project: &Value) -> Vec<String> {
    project["stage_progress"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap().to_owned()).collect()
}

async fn ticket_count(api: &Api) -> u64 {
    let (status, page) = api.get(TICKETS).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["pagination"]["total_count"].as_u64().unwrap()
}

async fn close(api: &Api, ticket: &str) {
    let (status, body) = api.post(&format!("{TICKETS}/{ticket}/close"), json!({ "reason": "done" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn approval_opens_stage_one_and_resolving_it_opens_stage_two() {
    let api = api(Role::Admin).await;
    let script: Shared = Arc::default();
    let endpoint = serve_agent(script.clone()).await;
    script.lock().unwrap().answers.push_back(Answer::Json(json!({ "content": "On it.", "thread_id": "$THREAD" })));
    let (status, agent) = api
        .post(
            "/api/v1/org/agents",
            json!({ "name": "Upgrader", "slug": "upgrader", "description": "Upgrades clusters", "endpoint_url": endpoint }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");

    let mut body = plan(&[("Prepare", &["Back up etcd", "Check deprecated APIs"]), ("Upgrade", &["Upgrade nodes"])]);
    body["stages"][0]["tasks"][0]["agent_id"] = json!("upgrader");
    body["stages"][0]["tasks"][0]["instance_id"] = json!("local");
    let (status, project) = api.post(PROJECTS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let id = project["id"].as_str().unwrap().to_owned();
    assert_eq!(project["status"], "draft");
    assert_eq!(project["revision"], 1);
    assert_eq!(project["approved_revision"], Value::Null);
    assert_eq!((project["tasks_total"].as_u64(), project["progress"].as_u64()), (Some(3), Some(0)));
    assert_eq!(states(&project), ["waiting", "waiting"]);
    // Agents and instances are stored by id whatever named them.
    assert_eq!(project["stages"][0]["tasks"][0]["agent_id"], agent["id"]);
    assert_eq!(ticket_count(&api).await, 0, "a draft opens nothing");

    let (status, project) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!((project["status"].as_str(), project["approved_revision"].as_i64()), (Some("active"), Some(1)));
    assert_eq!(states(&project), ["open", "waiting"]);
    let stages = stage_tickets(&project);
    assert_eq!(stages[0].1.len(), 2);
    assert!(stages[1].1.is_empty());
    assert_eq!(project["stage_progress"][1]["tasks"][0]["title"], "Upgrade nodes");

    // The ticket carries its project, stage and task, and the plan.
    let (backup, apis) = (stages[0].1[0].clone(), stages[0].1[1].clone());
    let (_, detail) = api.get(&format!("{TICKETS}/{backup}")).await;
    let ticket = &detail;
    assert_eq!((ticket["project_id"].as_str(), ticket["stage"].as_u64()), (Some(id.as_str()), Some(1)));
    assert_eq!((ticket["subject"].as_str(), ticket["source"].as_str()), (Some("Back up etcd"), Some("project")));
    let description = ticket["description"].as_str().unwrap();
    assert!(description.contains("Back up etcd is done.") && description.contains("stage 1 of 2"), "{description}");
    assert!(ticket["cluster_id"].is_string(), "the task's instance is the ticket's");

    // Its agent started at once, with the task and the whole approved plan.
    api.wait_for(&backup, 0, "agent_reply").await;
    let request = script.lock().unwrap().requests[0].1.clone();
    let first = request["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(first.starts_with("Back up etcd"), "{first}");
    assert!(first.contains("Stage 2: Upgrade") && first.contains("Upgrade nodes"), "{first}");
    assert!(first.contains("Back up etcd  ← this ticket") && !first.contains("Check deprecated APIs  ←"), "{first}");
    // The task without an agent has none.
    let (_, other) = api.get(&format!("{TICKETS}/{apis}")).await;
    assert!(other["agents"].as_array().unwrap().is_empty(), "{}", other["agents"]);

    // Approving again opens nothing.
    let (status, again) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(stage_tickets(&again), stages);
    assert_eq!(ticket_count(&api).await, 2);

    // One ticket done: stage 2 waits for the other.
    close(&api, &backup).await;
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(states(&project), ["open", "waiting"]);
    assert_eq!(project["progress"], 33);

    // The last one resolved: stage 2 opens.
    let (status, body) =
        api.call(Method::PATCH, &format!("{TICKETS}/{apis}"), Some(json!({ "status": "resolved" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(states(&project), ["done", "open"]);
    assert_eq!(project["opened_stages"], 2);
    assert_eq!(project["stage_progress"][1]["early"], false);
    let upgrade = stage_tickets(&project)[1].1[0].clone();
    let (_, detail) = api.get(&format!("{TICKETS}/{upgrade}")).await;
    assert_eq!(detail["stage"], 2);

    close(&api, &upgrade).await;
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!((project["status"].as_str(), project["progress"].as_u64()), (Some("done"), Some(100)));
    let (_, list) = api.get(PROJECTS).await;
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!((list[0]["status"].as_str(), list[0]["tasks_done"].as_u64()), (Some("done"), Some(3)));
    api.server.stop().await;
}

#[tokio::test]
async fn stages_start_early_and_edits_make_revisions_that_leave_opened_tickets_alone() {
    let api = api(Role::Operator).await;
    let (_, project) = api.post(PROJECTS, plan(&[("One", &["a"]), ("Two", &["b", "c"]), ("Three", &["d"])])).await;
    let id = project["id"].as_str().unwrap().to_owned();
    let start = |n: &str| format!("{PROJECTS}/{id}/stages/{n}/start");

    let (status, body) = api.post(&start("1"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a draft starts nothing: {body}");
    let (status, project) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({ "revision": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{project}");

    let (status, body) = api.post(&start("3"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("stage 2"), "{body}");
    for missing in ["4", "0", "x", "-1"] {
        let (status, body) = api.post(&start(missing), json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "stage {missing}: {body}");
    }

    let (status, project) = api.post(&start("2"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!(states(&project), ["open", "open", "waiting"]);
    assert_eq!(project["stage_progress"][1]["early"], true);
    assert_eq!(project["stage_progress"][1]["opened_by"]["email"], "lead@acme.test");
    let opened = stage_tickets(&project);
    let (status, again) = api.post(&start("2"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(stage_tickets(&again), opened, "starting an open stage opens nothing");

    // An edit is a new revision, waiting for approval; opened tickets stay.
    let mut edited = plan(&[("One", &["a (renamed)"]), ("Two", &["b"]), ("Three", &["d", "e"])]);
    edited["revision"] = json!(1);
    let (status, project) = api.call(Method::PATCH, &format!("{PROJECTS}/{id}"), Some(edited.clone())).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!((project["revision"].as_i64(), project["approved_revision"].as_i64()), (Some(2), Some(1)));
    assert_eq!(stage_tickets(&project), opened);
    assert_eq!(project["stage_progress"][0]["tasks"][0]["title"], "a", "stage 1 shows what it opened from");
    assert_eq!(project["stage_progress"][2]["tasks"].as_array().unwrap().len(), 1, "stage 3 opens from revision 1");
    assert_eq!(project["stages"][2]["tasks"].as_array().unwrap().len(), 2, "the latest plan has the edit");
    let (_, detail) = api.get(&format!("{TICKETS}/{}", opened[0].1[0])).await;
    assert_eq!(detail["subject"], "a");
    let history: Vec<i64> =
        project["revisions"].as_array().unwrap().iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(history, [2, 1]);

    // Stale edits and approvals are refused; an unchanged plan is no revision.
    let (status, body) = api.call(Method::PATCH, &format!("{PROJECTS}/{id}"), Some(edited)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({ "revision": 1 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, same) =
        api.call(Method::PATCH, &format!("{PROJECTS}/{id}"), Some(json!({ "goal": project["goal"] }))).await;
    assert_eq!((status, same["revision"].as_i64()), (StatusCode::OK, Some(2)), "{same}");

    // Approving revision 2 changes what stage 3 will open, and opens nothing now.
    let (status, project) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({ "revision": 2 })).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!(project["approved_revision"], 2);
    assert_eq!(stage_tickets(&project), opened);
    assert_eq!(project["stage_progress"][2]["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(project["tasks_total"], 5, "3 opened tickets + the 2 tasks of stage 3");

    // Finishing stages 1 and 2 opens stage 3 from revision 2.
    for ticket in opened.iter().flat_map(|(_, ids)| ids) {
        close(&api, ticket).await;
    }
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(states(&project), ["done", "done", "open"]);
    assert_eq!(project["stage_progress"][2]["opened_revision"], 2);
    assert_eq!(stage_tickets(&project)[2].1.len(), 2);
    api.server.stop().await;
}

#[tokio::test]
async fn racing_approvals_and_resolutions_open_each_stage_once() {
    let api = api(Role::Admin).await;
    let (_, project) = api.post(PROJECTS, plan(&[("One", &["a", "b", "c"]), ("Two", &["d", "e"])])).await;
    let id = project["id"].as_str().unwrap().to_owned();
    let approve = format!("{PROJECTS}/{id}/approve");
    let approvals = (0..8).map(|_| api.post(&approve, json!({})));
    for (status, body) in futures_util::future::join_all(approvals).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    let stage_one = stage_tickets(&project)[0].1.clone();
    assert_eq!(stage_one.len(), 3);
    assert_eq!(ticket_count(&api).await, 3);

    let paths: Vec<String> = stage_one.iter().map(|t| format!("{TICKETS}/{t}/close")).collect();
    let closes = paths.iter().map(|path| api.post(path, json!({})));
    for (status, body) in futures_util::future::join_all(closes).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, project) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(stage_tickets(&project)[1].1.len(), 2, "{project:#}");
    assert_eq!(ticket_count(&api).await, 5);
    api.server.stop().await;
}

#[tokio::test]
async fn bad_plans_are_refused_naming_the_field_and_nothing_is_stored() {
    let api = api(Role::Admin).await;
    let field_error = |body: &Value, field: &str| {
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        assert!(body["error"]["fields"].get(field).is_some(), "expected a message for {field}: {body}");
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "title": "t", "goal": "g", "stages": [] }), "stages"),
        (json!({ "title": " ", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "title": "x" }] }] }), "title"),
        (json!({ "title": "t", "goal": "", "stages": [{ "name": "s", "tasks": [{ "title": "x" }] }] }), "goal"),
        (json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [] }] }), "stages[0].tasks"),
        (
            json!({ "title": "t", "goal": "g", "stages": [{ "name": "", "tasks": [{ "title": "x" }] }] }),
            "stages[0].name",
        ),
        (
            json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "title": "x" }] }, { "name": "s2", "tasks": [{ "title": "" }] }] }),
            "stages[1].tasks[0].title",
        ),
        (
            json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "title": "x", "agent_id": "nobody" }] }] }),
            "stages[0].tasks[0].agent_id",
        ),
        (
            json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "title": "x", "instance_id": "nowhere" }] }] }),
            "stages[0].tasks[0].instance_id",
        ),
        (
            json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "titel": "x" }] }] }),
            "stages[0].tasks[0].title",
        ),
        (json!({ "title": "t", "goal": "g" }), "stages"),
    ];
    for (body, field) in cases {
        let (status, answer) = api.post(PROJECTS, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {answer}");
        field_error(&answer, field);
    }
    // An agent limited to another instance may not take a task on this one.
    let (_, instance) = api.post("/api/v1/org/instances", json!({ "name": "prod" })).await;
    let (status, agent) = api
        .post(
            "/api/v1/org/agents",
            json!({ "name": "Prod only", "slug": "prod-only", "description": "", "endpoint_url": "http://127.0.0.1:9",
                    "instance_ids": [instance["id"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let body = json!({ "title": "t", "goal": "g", "stages": [{ "name": "s", "tasks": [{ "title": "x", "agent_id": "prod-only", "instance_id": "local" }] }] });
    let (status, answer) = api.post(PROJECTS, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    field_error(&answer, "stages[0].tasks[0].agent_id");
    let (_, list) = api.get(PROJECTS).await;
    assert_eq!(list, json!([]), "nothing half-written");

    // An edit is checked the same way and leaves the plan as it was.
    let (_, project) = api.post(PROJECTS, plan(&[("One", &["a"])])).await;
    let id = project["id"].as_str().unwrap();
    let (status, answer) = api
        .call(
            Method::PATCH,
            &format!("{PROJECTS}/{id}"),
            Some(json!({ "stages": [{ "name": "x", "tasks": [{ "title": "" }] }] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    field_error(&answer, "stages[0].tasks[0].title");
    let (_, unchanged) = api.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(unchanged["revision"], 1);
    let (status, answer) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({ "revision": "one" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, _) = api.get(&format!("{PROJECTS}/00000000-0000-0000-0000-000000000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    api.server.stop().await;
}

#[tokio::test]
async fn roles_and_orgs_gate_projects() {
    let api = api(Role::Member).await;
    let (status, project) = api.post(PROJECTS, plan(&[("One", &["a"])])).await;
    assert_eq!(status, StatusCode::CREATED, "members plan: {project}");
    let id = project["id"].as_str().unwrap().to_owned();
    let (status, _) = api.post(&format!("{PROJECTS}/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "approving opens tickets and starts agents: operators only");
    let (status, _) = api.post(&format!("{PROJECTS}/{id}/stages/1/start"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let viewer = Api { token: api.server.token("acme", "viewer@acme.test", Role::Viewer).await, server: api.server };
    let (status, _) = viewer.post(PROJECTS, plan(&[("One", &["a"])])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = viewer.get(PROJECTS).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));

    let stranger =
        Api { token: viewer.server.token("globex", "eve@globex.test", Role::Admin).await, server: viewer.server };
    let (status, _) = stranger.get(&format!("{PROJECTS}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another org's project does not exist");
    let (status, _) = stranger.post(&format!("{PROJECTS}/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = stranger.get(PROJECTS).await;
    assert_eq!(list, json!([]));
    stranger.server.stop().await;
}

#[tokio::test]
async fn plans_are_drafted_from_the_goal() {
    let api = api(Role::Member).await;
    let (status, templates) = api.get(&format!("{PROJECTS}/templates")).await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    assert!(templates.as_array().unwrap().len() >= 5);

    let goal = "Upgrade the prod Kubernetes cluster from 1.29 to 1.30 before support ends";
    let (status, draft) = api.post(&format!("{PROJECTS}/draft"), json!({ "goal": goal, "agent_id": "runbook" })).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["drafted_by"], "template:kubernetes-upgrade");
    assert_eq!(draft["goal"], goal);
    let tasks: Vec<&Value> =
        draft["stages"].as_array().unwrap().iter().flat_map(|s| s["tasks"].as_array().unwrap()).collect();
    assert!(tasks.len() >= 3 && tasks.iter().all(|t| t["agent_id"].is_string()), "{draft}");

    // The draft is a valid plan as it stands.
    let body = json!({ "title": draft["title"], "goal": draft["goal"], "stages": draft["stages"] });
    let (status, project) = api.post(PROJECTS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{project}");

    let (status, draft) =
        api.post(&format!("{PROJECTS}/draft"), json!({ "goal": goal, "template": "certificate-rotation" })).await;
    assert_eq!((status, draft["drafted_by"].as_str()), (StatusCode::OK, Some("template:certificate-rotation")));
    for (body, field) in [
        (json!({ "goal": " " }), "goal"),
        (json!({ "goal": goal, "template": "nope" }), "template"),
        (json!({ "goal": goal, "instance_id": "nowhere" }), "instance_id"),
    ] {
        let (status, answer) = api.post(&format!("{PROJECTS}/draft"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(answer["error"]["fields"].get(field).is_some(), "{answer}");
    }
    api.server.stop().await;
}

//! The foundation end to end over real HTTP: health, sign-in through the
//! real server function, sessions, API tokens, the error format, Origin
//! checks, roles and org isolation.

mod common;

use common::{browser, client, TestServer};
use opsdesk_app::model::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "a long test password";

/// Asserts the documented error shape and answers the body.
async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert_eq!(body["error"]["code"], code, "unexpected error: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {body}");
    assert!(body["error"]["fields"].is_object(), "error without fields: {body}");
    body
}

/// Signs in through the sign-in server function, as the page's form does.
async fn sign_in(server: &TestServer, http: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    http.post(server.url("/rpc/sign-in"))
        .header("Origin", server.origin())
        .form(&[("email", email), ("password", password), ("next", "/admin")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let server = TestServer::start().await;
    let response = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
    server.stop().await;
}

#[tokio::test]
async fn pages_send_strangers_to_sign_in_and_back() {
    let server = TestServer::start().await;
    server.user("acme", "ada@acme.test", Role::Admin, PASSWORD).await;
    let http = browser();

    let response = http.get(server.url("/admin?tab=people")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=/admin%3Ftab%3Dpeople");

    let login = http.get(server.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await.unwrap().contains("Sign in"));

    let response = sign_in(&server, &http, "Ada@Acme.test", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("opsdesk_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(response.headers()["location"], "/admin");

    let page = http.get(server.url("/admin")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("ada@acme.test") && html.contains("People"), "the page is not the signed-in admin page");

    let me: Value = http.get(server.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@acme.test");
    assert_eq!(me["org"]["slug"], "acme");
    assert_eq!(me["role"], "admin");

    let out = http.post(server.url("/rpc/sign-out")).header("Origin", server.origin()).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let after = http.get(server.url("/api/v1/me")).send().await.unwrap();
    expect_error(after, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    server.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_people_get_the_same_answer() {
    let server = TestServer::start().await;
    server.user("acme", "ada@acme.test", Role::Member, PASSWORD).await;
    for (email, password) in [("ada@acme.test", "wrong password!"), ("nobody@acme.test", PASSWORD)] {
        let response = sign_in(&server, &browser(), email, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "wrong email or password");
    }
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_browser_writes_are_refused() {
    let server = TestServer::start().await;
    server.user("acme", "ada@acme.test", Role::Admin, PASSWORD).await;
    let http = browser();

    let forged = http
        .post(server.url("/rpc/sign-in"))
        .header("Origin", "http://evil.example")
        .form(&[("email", "ada@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    expect_error(forged, StatusCode::FORBIDDEN, "forbidden").await;

    assert_eq!(sign_in(&server, &http, "ada@acme.test", PASSWORD).await.status(), StatusCode::OK);
    let body = json!({ "name": "from a browser" });
    let no_origin = http.post(server.url("/api/v1/tokens")).json(&body).send().await.unwrap();
    expect_error(no_origin, StatusCode::FORBIDDEN, "forbidden").await;
    let other = http
        .post(server.url("/api/v1/tokens"))
        .header("Origin", "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(other, StatusCode::FORBIDDEN, "forbidden").await;
    let own =
        http.post(server.url("/api/v1/tokens")).header("Origin", server.origin()).json(&body).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);

    let upgrade = http
        .get(server.url("/api/v1/me"))
        .header("Origin", "http://evil.example")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .send()
        .await
        .unwrap();
    expect_error(upgrade, StatusCode::FORBIDDEN, "forbidden").await;
    server.stop().await;
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked() {
    let server = TestServer::start().await;
    let secret = server.token("acme", "bot@acme.test", Role::Operator).await;
    let http = client();

    let me: Value = http.get(server.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["email"], "bot@acme.test");
    assert_eq!(me["org"]["slug"], "acme");
    assert_eq!(me["role"], "operator");

    let missing = http.get(server.url("/api/v1/me")).send().await.unwrap();
    expect_error(missing, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let unknown = http.get(server.url("/api/v1/me")).bearer_auth("odk_0000").send().await.unwrap();
    expect_error(unknown, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let basic = http.get(server.url("/api/v1/me")).header("Authorization", "Basic Ym90OnB3").send().await.unwrap();
    expect_error(basic, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    let created = http
        .post(server.url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .json(&json!({ "name": "second" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let second = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();
    let listed: Value =
        http.get(server.url("/api/v1/tokens")).bearer_auth(&second).send().await.unwrap().json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|token| token.get("secret").is_none() && token.get("token_hash").is_none()));

    let revoked = http.delete(server.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = http.get(server.url("/api/v1/me")).bearer_auth(&second).send().await.unwrap();
    let body = expect_error(after, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"));
    let again = http.delete(server.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&secret).send().await.unwrap();
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
    server.stop().await;
}

#[tokio::test]
async fn every_api_failure_speaks_the_error_format() {
    let server = TestServer::start().await;
    let admin = server.token("acme", "root@acme.test", Role::Admin).await;
    let http = client();

    let unknown = http.get(server.url("/api/v1/nope")).bearer_auth(&admin).send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let unknown_anonymous = http.get(server.url("/api/nothing/here")).send().await.unwrap();
    expect_error(unknown_anonymous, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = http.put(server.url("/api/v1/me")).bearer_auth(&admin).send().await.unwrap();
    expect_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let users = server.url("/api/v1/users");
    let malformed = http
        .post(&users)
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, "invalid_json").await;
    let not_json =
        http.post(&users).bearer_auth(&admin).header("Content-Type", "text/plain").body("{}").send().await.unwrap();
    expect_error(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let oversized = http
        .post(&users)
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_error(oversized, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let missing = http.post(&users).bearer_auth(&admin).json(&json!({ "role": "member" })).send().await.unwrap();
    let body = expect_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["email"].is_string(), "{body}");
    let bad_role = http
        .post(&users)
        .bearer_auth(&admin)
        .json(&json!({ "email": "x@acme.test", "role": "root" }))
        .send()
        .await
        .unwrap();
    let body = expect_error(bad_role, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["role"].is_string(), "{body}");
    let bad_values = http
        .post(&users)
        .bearer_auth(&admin)
        .json(&json!({ "email": "not-an-email", "role": "member", "password": "short" }))
        .send()
        .await
        .unwrap();
    let body = expect_error(bad_values, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["fields"]["email"].is_string() && body["error"]["fields"]["password"].is_string(), "{body}");

    let created = http
        .post(&users)
        .bearer_auth(&admin)
        .json(&json!({ "email": "New@Acme.test", "role": "member", "password": "long enough pw" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["email"], "new@acme.test");
    let duplicate = http
        .post(&users)
        .bearer_auth(&admin)
        .json(&json!({ "email": "new@acme.test", "role": "member" }))
        .send()
        .await
        .unwrap();
    expect_error(duplicate, StatusCode::CONFLICT, "conflict").await;
    server.stop().await;
}

#[tokio::test]
async fn roles_gate_what_people_may_do() {
    let server = TestServer::start().await;
    let viewer = server.token("acme", "viewer@acme.test", Role::Viewer).await;
    let http = client();
    let listed = http.get(server.url("/api/v1/users")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let add = http
        .post(server.url("/api/v1/users"))
        .bearer_auth(&viewer)
        .json(&json!({ "email": "x@acme.test", "role": "admin", "password": "long enough pw" }))
        .send()
        .await
        .unwrap();
    expect_error(add, StatusCode::FORBIDDEN, "forbidden").await;
    server.stop().await;
}

#[tokio::test]
async fn orgs_never_see_each_other() {
    let server = TestServer::start().await;
    let acme = server.token("acme", "root@acme.test", Role::Admin).await;
    let globex = server.token("globex", "root@globex.test", Role::Admin).await;
    let http = client();

    let acme_tokens: Value =
        http.get(server.url("/api/v1/tokens")).bearer_auth(&acme).send().await.unwrap().json().await.unwrap();
    let acme_token_id = acme_tokens[0]["id"].as_str().unwrap().to_owned();

    let globex_users: Value =
        http.get(server.url("/api/v1/users")).bearer_auth(&globex).send().await.unwrap().json().await.unwrap();
    let emails: Vec<&str> = globex_users.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["root@globex.test"]);
    let globex_tokens: Value =
        http.get(server.url("/api/v1/tokens")).bearer_auth(&globex).send().await.unwrap().json().await.unwrap();
    assert!(globex_tokens.as_array().unwrap().iter().all(|t| t["id"] != acme_token_id.as_str()));

    // Another org's id is a 404, indistinguishable from an id that never existed.
    let cross =
        http.delete(server.url(&format!("/api/v1/tokens/{acme_token_id}"))).bearer_auth(&globex).send().await.unwrap();
    let cross = expect_error(cross, StatusCode::NOT_FOUND, "not_found").await;
    let never = http.delete(server.url("/api/v1/tokens/no-such-token")).bearer_auth(&globex).send().await.unwrap();
    let never = expect_error(never, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(cross, never);
    assert_eq!(http.get(server.url("/api/v1/me")).bearer_auth(&acme).send().await.unwrap().status(), StatusCode::OK);

    // An email is one person in one org: another org cannot claim it.
    let claim = http
        .post(server.url("/api/v1/users"))
        .bearer_auth(&globex)
        .json(&json!({ "email": "root@acme.test", "role": "admin", "password": "long enough pw" }))
        .send()
        .await
        .unwrap();
    expect_error(claim, StatusCode::CONFLICT, "conflict").await;
    server.stop().await;
}

//! The ticket and project CLI end to end: the real `opsdesk` binary, run as a child
//! process, against a real server on port 0 with a real SQLite file.

mod common;

use common::TestServer;
use opsdesk_app::model::Role;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What a run of `opsdesk` left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit code 0 and answers stdout.
    fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "opsdesk failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout
    }
}

/// Runs `opsdesk` with a home directory of its own (so no real config file
/// is read) and only the environment the test gives it.
struct Cli {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Cli {
    fn new(env: &[(&str, &str)]) -> Cli {
        Cli {
            home: tempfile::tempdir().expect("temporary home"),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    /// A CLI pointed at `server` as a person of org `acme` with this role.
    async fn for_server(server: &TestServer, role: Role) -> Cli {
        let token = server.token("acme", "ada@acme.test", role).await;
        let url = server.url("");
        Cli::new(&[("OPSDESK_SERVER", url.as_str()), ("OPSDESK_TOKEN", token.as_str())])
    }

    fn config_path(&self) -> PathBuf {
        self.home.path().join(".config").join("opsdesk").join("config")
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    /// The server runs on this test's runtime: the blocking child process
    /// waits on a blocking thread so the server keeps answering.
    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env = self.env.clone();
        let home = self.home.path().to_path_buf();
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_opsdesk"));
            command
                .args(&args)
                .env_remove("OPSDESK_SERVER")
                .env_remove("OPSDESK_TOKEN")
                .env_remove("OPSDESK_CONFIG")
                .env_remove("COLUMNS")
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("RUST_LOG", "warn")
                .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for (key, value) in &env {
                command.env(key, value);
            }
            let mut child = command.spawn().expect("opsdesk starts");
            if let Some(text) = stdin {
                // Dropping the handle closes the pipe: end of input.
                child.stdin.take().expect("piped stdin").write_all(text.as_bytes()).expect("stdin written");
            }
            let output = child.wait_with_output().expect("opsdesk finishes");
            Run {
                code: output.status.code(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        })
        .await
        .expect("the blocking task ends")
    }
}

const SUBJECT: &str = "Disk full on node-3 of the prod-eu cluster";
const DESCRIPTION: &str = "Since 09:00 UTC writes fail on node-3 with `No space left on device` \
    (errno 28). df shows /var at 100%; the Kubernetes 1.29 node runs Ubuntu 22.04. \
    Pods on the node are evicted and restarted in a loop.";

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_works_a_ticket_from_creation_to_closing() {
    let server = TestServer::start().await;
    let cli = Cli::for_server(&server, Role::Member).await;

    // Create, with the review shown first.
    let created = cli
        .run(&[
            "tickets",
            "create",
            "--subject",
            SUBJECT,
            "--description",
            DESCRIPTION,
            "--severity",
            "high",
            "--review",
        ])
        .await
        .ok();
    assert!(created.contains("review "), "the review is not shown: {created}");
    assert!(created.contains("created ACME-1"), "{created}");
    assert!(created.contains("opsdesk tickets show ACME-1"), "{created}");

    // Create another, its description read from stdin.
    let second = cli
        .run_with_stdin(
            &["tickets", "create", "--subject", "Grafana login loops back to the sign-in page", "--description", "-"],
            Some("After the SSO change, signing in to Grafana at grafana.acme.test returns to /login.\n"),
        )
        .await
        .ok();
    assert!(second.contains("created ACME-2"), "{second}");

    // List: a table with both, and the footer.
    let list = cli.run(&["tickets", "list"]).await.ok();
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("SUBJECT"), "{list}");
    assert!(lines.iter().any(|l| l.starts_with("ACME-1 ") && l.contains("high") && l.contains("Disk full")), "{list}");
    assert!(lines.iter().any(|l| l.starts_with("ACME-2 ")), "{list}");
    assert_eq!(lines.last().copied(), Some("page 1 of 1 (2 tickets)"), "{list}");

    // --json: the server's answer, parseable, with its pagination.
    let json: Value = serde_json::from_str(&cli.run(&["tickets", "list", "--json"]).await.ok()).expect("JSON");
    assert_eq!(json["pagination"]["total_count"], 2, "{json}");
    assert_eq!(json["result"].as_array().map(Vec::len), Some(2), "{json}");

    // Show: the header block and the timeline; filed via the CLI.
    let show = cli.run(&["tickets", "show", "ACME-1"]).await.ok();
    assert!(show.starts_with(&format!("ACME-1  {SUBJECT}\n")), "{show}");
    assert!(show.contains("severity   high"), "{show}");
    assert!(show.contains("created the ticket (via cli)"), "{show}");
    assert!(show.contains("Timeline ("), "{show}");

    // Comment, as an argument and from stdin.
    let commented = cli.run(&["tickets", "comment", "ACME-1", "Rotated the logs; /var is at 41% now."]).await.ok();
    assert!(commented.starts_with("commented on ACME-1"), "{commented}");
    cli.run_with_stdin(&["tickets", "comment", "ACME-1", "-"], Some("Watching it for an hour.\n")).await.ok();

    // Attach a small text file, sent under its own name.
    let file = cli.home.path().join("df-output.txt");
    std::fs::write(&file, "Filesystem  Size  Used Avail Use% Mounted on\n/dev/sda1   50G   50G     0 100% /var\n")
        .unwrap();
    let attached = cli.run(&["tickets", "attach", "ACME-1", file.to_str().unwrap()]).await.ok();
    assert!(attached.starts_with("attached df-output.txt to ACME-1"), "{attached}");

    let show = cli.run(&["tickets", "show", "ACME-1"]).await.ok();
    assert!(show.contains("Rotated the logs; /var is at 41% now."), "{show}");
    assert!(show.contains("Watching it for an hour."), "{show}");
    assert!(show.contains("df-output.txt"), "{show}");

    // Close (the person who raised it may), then the status filter.
    let closed = cli.run(&["tickets", "close", "ACME-1", "--reason", "logs rotated"]).await.ok();
    assert_eq!(closed.trim(), "closed ACME-1");
    let detail: Value = serde_json::from_str(&cli.run(&["tickets", "--json", "show", "ACME-1"]).await.ok()).unwrap();
    assert_eq!(detail["status"], "closed", "{detail}");
    assert_eq!(detail["source"], "cli", "{detail}");
    assert_eq!(detail["attachments"][0]["filename"], "df-output.txt", "{detail}");
    let closed_list = cli.run(&["tickets", "list", "--status", "closed"]).await.ok();
    assert!(closed_list.contains("ACME-1") && !closed_list.contains("ACME-2"), "{closed_list}");
    assert!(closed_list.ends_with("page 1 of 1 (1 ticket)\n"), "{closed_list}");
    server.stop().await;
}

/// A two-stage plan: stage 1 has two tasks (one on the built-in `local`
/// instance), stage 2 one; no task names an agent.
const PLAN: &str = r#"{
  "title": "Move the staging database to the new volume",
  "goal": "Staging reads and writes from the 200 GB volume, with a tested backup, and the old volume is gone.",
  "stages": [
    {
      "name": "Prepare",
      "tasks": [
        {
          "title": "Take a full backup of the staging database",
          "description": "Run pg_dump of the staging database to the backup bucket before anything moves.",
          "acceptance_criteria": "A dump newer than one hour restores cleanly into a scratch database."
        },
        {
          "title": "Check free space and mounts on the local host",
          "description": "Confirm the new 200 GB volume is attached and mounted at /srv/pgdata-new.",
          "acceptance_criteria": "df shows /srv/pgdata-new with at least 150 GB free.",
          "instance_id": "local"
        }
      ]
    },
    {
      "name": "Switch over",
      "tasks": [
        {
          "title": "Point PostgreSQL at the new data directory and restart it",
          "description": "Stop PostgreSQL, rsync the data directory to the new volume, point data_directory at it.",
          "acceptance_criteria": "The staging app passes its smoke tests against the restarted database."
        }
      ]
    }
  ]
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_creates_approves_and_shows_a_project() {
    let server = TestServer::start().await;
    // Who may approve is the server's rule; an admin may do everything.
    let cli = Cli::for_server(&server, Role::Admin).await;
    let plan = cli.home.path().join("plan.json");
    std::fs::write(&plan, PLAN).unwrap();

    // Create: a draft, and a confirmation naming its id.
    let created = cli.run(&["projects", "create", "--file", plan.to_str().unwrap()]).await.ok();
    assert!(created.starts_with("created "), "{created}");
    assert!(created.contains("Move the staging database to the new volume"), "{created}");
    let listed: Value = serde_json::from_str(&cli.run(&["projects", "list", "--json"]).await.ok()).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let id = listed[0]["id"].as_str().expect("the project's id").to_owned();
    assert!(created.contains(&format!("opsdesk projects approve {id}")), "{created}");

    // List: a table with the whole id, the draft's status and no stage opened.
    let list = cli.run(&["projects", "list"]).await.ok();
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("PROGRESS") && lines[0].contains("TITLE"), "{list}");
    let row = lines.iter().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("no row: {list}"));
    assert!(row.contains("draft") && row.contains("0/2") && row.contains("Move the staging database"), "{list}");
    assert_eq!(lines.last().copied(), Some("1 project"), "{list}");

    // Approve: stage 1 opens one ticket per task, and the output names them.
    let approved = cli.run(&["projects", "approve", id.as_str()]).await.ok();
    assert!(approved.contains("approved revision 1"), "{approved}");
    assert!(approved.contains("opened stage 1 · Prepare: 2 tickets"), "{approved}");
    let shown = cli.run(&["projects", "show", id.as_str(), "--json"]).await.ok();
    let project: Value = serde_json::from_str(&shown).expect("JSON");
    let stages = project["stage_progress"].as_array().expect("stage_progress");
    let stage_one: Vec<&str> = stages[0]["tickets"]
        .as_array()
        .expect("stage 1's tickets")
        .iter()
        .map(|t| t["ticket_id"].as_str().expect("a ticket id"))
        .collect();
    assert_eq!(stage_one.len(), 2, "{project}");
    for ticket_id in &stage_one {
        assert!(approved.contains(*ticket_id), "{ticket_id} is not in\n{approved}");
    }
    assert_eq!(stages[1]["state"], "waiting", "{project}");
    assert!(stages[1]["tickets"].as_array().is_some_and(Vec::is_empty), "{project}");

    // Show: stage 1's tickets, open; stage 2 waiting with its task; the history.
    let show = cli.run(&["projects", "show", id.as_str()]).await.ok();
    assert!(show.starts_with(&format!("{id}  Move the staging database to the new volume\n")), "{show}");
    assert!(show.contains("  status     active\n"), "{show}");
    assert!(show.contains("Stage 1 · Prepare · open"), "{show}");
    for ticket_id in &stage_one {
        let line = show.lines().find(|l| l.trim_start().starts_with(&format!("{ticket_id} ")));
        assert!(line.is_some_and(|l| l.contains(" open ")), "{ticket_id} is not listed as open in\n{show}");
    }
    assert!(show.contains("Stage 2 · Switch over · waiting"), "{show}");
    assert!(show.contains("Point PostgreSQL at the new data directory and restart it"), "{show}");
    assert!(show.contains("Revisions (1)"), "{show}");

    // Approving the approved revision again opens nothing.
    let again = cli.run(&["projects", "approve", id.as_str()]).await.ok();
    assert_eq!(again, "already approved at revision 1; nothing opened\n");

    // From standard input, the title from the flag, approved at once.
    let rehearsal = r#"{"goal": "Know how long the staging move takes before doing it.", "stages": [{"name": "Rehearse",
        "tasks": [{"title": "Restore last night's staging dump into a scratch database and time it",
        "description": "Restore the newest dump from the backup bucket into a scratch database on the local host.",
        "acceptance_criteria": "The restore finishes and its duration is written on the ticket."}]}]}"#;
    let piped = cli
        .run_with_stdin(
            &["projects", "create", "--file", "-", "--title", "Rehearse the staging move", "--approve"],
            Some(rehearsal),
        )
        .await
        .ok();
    assert!(piped.starts_with("created ") && piped.contains("Rehearse the staging move"), "{piped}");
    assert!(piped.contains("opened stage 1 · Rehearse: 1 ticket"), "{piped}");
    let list = cli.run(&["projects", "list"]).await.ok();
    assert!(list.ends_with("2 projects\n"), "{list}");

    // Errors: the server's message, each invalid field, exit 2.
    let unknown = cli.run(&["projects", "show", "no-such-project"]).await;
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(unknown.stderr.starts_with("error: ") && unknown.stdout.is_empty(), "{unknown:?}");
    let untitled = PLAN.replacen("Take a full backup of the staging database", "", 1);
    let invalid = cli.run_with_stdin(&["projects", "create", "--file", "-"], Some(untitled.as_str())).await;
    assert_eq!(invalid.code, Some(2), "{invalid:?}");
    assert!(invalid.stderr.starts_with("error: "), "{invalid:?}");
    assert!(invalid.stderr.contains("stages[0].tasks[0].title"), "the field is not named: {invalid:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flagged_review_refuses_to_file_unless_told_yes() {
    let server = TestServer::start().await;
    let cli = Cli::for_server(&server, Role::Member).await;
    cli.run(&["tickets", "create", "--subject", SUBJECT, "--description", DESCRIPTION]).await.ok();

    // The same report again: a strong duplicate, so the review flags it.
    let again = ["tickets", "create", "--subject", SUBJECT, "--description", DESCRIPTION, "--review"];
    let refused = cli.run(&again).await;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stdout.contains("ACME-1"), "the duplicate is not shown: {refused:?}");
    assert!(refused.stderr.starts_with("error: the review flagged this ticket"), "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    let list: Value = serde_json::from_str(&cli.run(&["tickets", "list", "--json"]).await.ok()).unwrap();
    assert_eq!(list["pagination"]["total_count"], 1, "a refused ticket was filed: {list}");

    let mut with_yes = again.to_vec();
    with_yes.push("--yes");
    let filed = cli.run(&with_yes).await.ok();
    assert!(filed.contains("created ACME-2"), "{filed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_print_the_message_and_exit_2() {
    let server = TestServer::start().await;
    let cli = Cli::for_server(&server, Role::Member).await;

    let unknown = cli.run(&["tickets", "show", "ACME-999"]).await;
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(unknown.stderr.starts_with("error: "), "{unknown:?}");
    assert!(unknown.stdout.is_empty(), "{unknown:?}");

    let empty = cli.run(&["tickets", "create", "--subject", "", "--description", "x"]).await;
    assert_eq!(empty.code, Some(2), "{empty:?}");
    assert!(empty.stderr.starts_with("error: ") && empty.stderr.contains("subject"), "{empty:?}");

    // The server refuses executables by their content.
    cli.run(&["tickets", "create", "--subject", SUBJECT, "--description", DESCRIPTION]).await.ok();
    let script = cli.home.path().join("fix.sh");
    std::fs::write(&script, "#!/bin/sh\nrm -rf /var/log/old\n").unwrap();
    let refused = cli.run(&["tickets", "attach", "ACME-1", script.to_str().unwrap()]).await;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.starts_with("error: ") && refused.stderr.contains("executable"), "{refused:?}");

    let bad_token = cli.run(&["tickets", "list", "--token", "not-a-token"]).await;
    assert_eq!(bad_token.code, Some(2), "{bad_token:?}");
    assert!(bad_token.stderr.contains("hint: check the API token"), "{bad_token:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_token_says_how_to_give_one() {
    let server = TestServer::start().await;
    let url = server.url("");
    let cli = Cli::new(&[("OPSDESK_SERVER", url.as_str())]);
    let run = cli.run(&["tickets", "list"]).await;
    assert_ne!(run.code, Some(0), "{run:?}");
    let config = cli.config_path().display().to_string();
    for way in ["--token", "OPSDESK_TOKEN", config.as_str()] {
        assert!(run.stderr.contains(way), "the message does not mention {way}: {run:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_file_is_the_last_fallback() {
    let server = TestServer::start().await;
    let token = server.token("acme", "ada@acme.test", Role::Member).await;
    let cli = Cli::new(&[]);
    let path = cli.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("# opsdesk\nserver = \"{}\"\ntoken = \"{token}\"  # ada's\n", server.url("")))
        .unwrap();

    let list = cli.run(&["tickets", "list"]).await.ok();
    assert!(list.contains("no tickets"), "{list}");

    // A flag beats the file: this server cannot be reached, and the error says which.
    let unreachable = cli.run(&["tickets", "list", "--server", "http://127.0.0.1:1"]).await;
    assert_eq!(unreachable.code, Some(1), "{unreachable:?}");
    assert!(unreachable.stderr.contains("could not reach the opsdesk server at http://127.0.0.1:1"), "{unreachable:?}");

    // An explicit config file must exist.
    let missing = cli.run(&["tickets", "list", "--config", "/nonexistent/opsdesk.conf"]).await;
    assert_ne!(missing.code, Some(0), "{missing:?}");
    assert!(missing.stderr.contains("/nonexistent/opsdesk.conf"), "{missing:?}");
    server.stop().await;
}

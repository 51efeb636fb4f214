//! Evaluates agents on realistic tickets (the method is in docs/agent-eval.md).
//!
//! Starts an opsdesk server in this process (port 0, a temporary data
//! directory), creates an org with an operator token, and for every agent
//! named and every case of the data set (`server/eval/tickets/*.json`):
//!
//! 1. raises a ticket with the case's subject and problem, whose id becomes
//!    the conversation's `thread_id`;
//! 2. sends the problem to `POST /agents/{slug}/api/sendMessage` over the
//!    agent protocol (seeds/agent-api.txt) and scores the first answer's
//!    proposed commands (`data.cmds[].command`) against the case's
//!    `expect_first` patterns;
//! 3. plays the person who runs the proposed commands in their own terminal
//!    and shares what they printed (`data.executed_cmds`; nothing is ever
//!    approved, so nothing runs on this machine): each command's output is
//!    the recorded output of the case's first `diagnostics` entry whose
//!    pattern matches it, with `grep`, `head` and `tail` stages applied, or
//!    "(no output)" (the rules are in [`terminal`]);
//! 4. repeats up to `--turns` answers, and stops as soon as an answer that
//!    followed shared output (`content`, plus `reasoning` if present, without
//!    the commands it proposes) matches one of the case's `finding` patterns.
//!
//! Run it with:
//!
//!     cargo run --release -p opsdesk-server --example eval_agents -- \
//!         --agent runbook [--agent llm-linux …] [--cases server/eval/tickets] [--turns 3] \
//!         [--case ID …] [--markdown docs/agent-eval.md] [--transcripts target/eval] [--check]
//!
//! LLM-backed built-ins read `OPSDESK_LLM_BASE_URL`, `OPSDESK_LLM_MODEL` and
//! `OPSDESK_LLM_API_KEY` from this process's environment. An agent's failure
//! (an HTTP error, an answer off the protocol) is recorded for that case and
//! the run goes on. Prints a Markdown report on standard output (progress
//! goes to standard error). It asserts no timing.

use anyhow::{anyhow, bail, Context as _};
use clap::Parser as _;
use opsdesk_app::model::{
    ExecutedCommand, MessageData, ProtocolCommand, ProtocolMessage, ProtocolRole, Role, SendMessageRequest,
    SendMessageResponse,
};
use opsdesk_server::accounts::{self, UserInput};
use opsdesk_server::{build_state, serve, Options};
use pattern::Pattern;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use terminal::Terminal;

/// The data set shipped with the repository.
const DEFAULT_CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/tickets");
/// The areas a case may belong to, in report order.
const AREAS: [&str; 5] = ["linux", "containers", "kubernetes", "deployments", "observability"];
/// What the person writes when sharing the outputs of the proposed commands.
const SHARED: &str = "I ran them in the terminal; here is what they printed.";
/// The markers between which `--markdown` writes the report.
const BEGIN_MARKER: &str = "<!-- eval_agents:begin -->";
const END_MARKER: &str = "<!-- eval_agents:end -->";
/// How long one agent answer may take (LLM agents can be slow).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// Evaluates agents on recorded tickets; see docs/agent-eval.md.
#[derive(clap::Parser, Debug)]
#[command(name = "eval_agents")]
struct Args {
    /// An agent slug to evaluate (repeatable; default `runbook`), served at
    /// `/agents/{slug}/api/sendMessage`.
    #[arg(long = "agent", value_name = "SLUG")]
    agents: Vec<String>,
    /// A case file (a JSON array of cases, or one case) or a directory of them.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CASES)]
    cases: PathBuf,
    /// Answers per case at most: the first proposes, each later one sees the outputs.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    turns: u32,
    /// Only this case (repeatable).
    #[arg(long = "case", value_name = "ID")]
    only: Vec<String>,
    /// Also write the report into this Markdown file, between the lines
    /// `<!-- eval_agents:begin -->` and `<!-- eval_agents:end -->`.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write every conversation as JSON to DIR/<agent>/<case>.json.
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,
    /// Only check the data set (fields, patterns, no finding given away) and exit.
    #[arg(long)]
    check: bool,
}

// --- the data set --------------------------------------------------------

/// One ticket of the data set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Unique, lowercase with dashes (it names the transcript file).
    id: String,
    /// One of [`AREAS`].
    area: String,
    subject: String,
    /// What the person writes; it must not give the finding away.
    problem: String,
    /// Sent on every user message, as the helpdesk sends an instance's context.
    #[serde(default)]
    platform_context: Option<Value>,
    /// What the person's terminal prints, first match wins.
    diagnostics: Vec<Diagnostic>,
    /// A first-answer proposal matching any of these is a right first diagnostic.
    expect_first: Vec<String>,
    /// An answer matching any of these has reached the finding.
    finding: Vec<String>,
    /// For the reader of the data set and the transcripts.
    root_cause: String,
}

/// A recorded command output.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Diagnostic {
    /// Matched against each command of a proposal (see [`terminal`]).
    #[serde(rename = "match")]
    pattern: String,
    /// One string, or a list of lines.
    output: Text,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text {
    One(String),
    Lines(Vec<String>),
}

impl Text {
    fn joined(&self) -> String {
        match self {
            Text::One(text) => text.clone(),
            Text::Lines(lines) => lines.join("\n"),
        }
    }
}

/// A case with its patterns compiled.
struct Compiled<'a> {
    case: &'a Case,
    terminal: Terminal,
    expect_first: Vec<Pattern>,
    finding: Vec<Pattern>,
}

/// Reads a case file, or every `*.json` of a directory in name order.
fn load_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        bail!("no *.json case files in {}", path.display());
    }
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let value: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        for (n, item) in items.into_iter().enumerate() {
            let id = item["id"].as_str().unwrap_or("?").to_owned();
            let case: Case = serde_json::from_value(item)
                .with_context(|| format!("{}: case #{} (`{id}`)", file.display(), n + 1))?;
            cases.push(case);
        }
    }
    Ok(cases)
}

/// Compiles every pattern and checks the cases; answers every problem found at once.
fn compile(cases: &[Case]) -> anyhow::Result<Vec<Compiled<'_>>> {
    let mut problems = Vec::new();
    let mut compiled = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for case in cases {
        let mut problem = |what: String| problems.push(format!("`{}`: {what}", case.id));
        if !seen.insert(case.id.as_str()) {
            problem("duplicate id".into());
        }
        if case.id.is_empty() || !case.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            problem("the id must be lowercase letters, digits and dashes".into());
        }
        if !AREAS.contains(&case.area.as_str()) {
            problem(format!("area `{}` is not one of {}", case.area, AREAS.join(", ")));
        }
        if case.subject.trim().is_empty() || case.subject.chars().count() > 200 {
            problem("the subject must be 1 to 200 characters".into());
        }
        if case.problem.trim().is_empty() || case.problem.chars().count() > 10_000 {
            problem("the problem must be 1 to 10,000 characters".into());
        }
        if case.root_cause.trim().is_empty() {
            problem("root_cause is empty".into());
        }
        if case.platform_context.as_ref().is_some_and(|c| !c.is_object()) {
            problem("platform_context must be an object".into());
        }
        if case.diagnostics.is_empty() || case.expect_first.is_empty() || case.finding.is_empty() {
            problem("diagnostics, expect_first and finding need one entry at least".into());
        }
        let mut compile_all = |patterns: &[String], field: &str| -> Vec<Pattern> {
            patterns
                .iter()
                .filter_map(|source| match Pattern::new(source, true) {
                    Ok(pattern) => Some(pattern),
                    Err(error) => {
                        problem(format!("{field} pattern `{source}`: {error}"));
                        None
                    }
                })
                .collect()
        };
        let expect_first = compile_all(case.expect_first.as_slice(), "expect_first");
        let finding = compile_all(case.finding.as_slice(), "finding");
        let sources: Vec<String> = case.diagnostics.iter().map(|d| d.pattern.clone()).collect();
        let matchers = compile_all(sources.as_slice(), "diagnostics");
        for (source, pattern) in case.finding.iter().zip(&finding) {
            if pattern.is_match(&case.subject) || pattern.is_match(&case.problem) {
                problem(format!("finding pattern `{source}` matches the ticket itself: it gives the finding away"));
            }
        }
        for diagnostic in &case.diagnostics {
            if diagnostic.output.joined().trim().is_empty() {
                problem(format!("the output for `{}` is empty", diagnostic.pattern));
            }
        }
        if matchers.len() == case.diagnostics.len() {
            let entries = matchers
                .into_iter()
                .zip(&case.diagnostics)
                .map(|(pattern, d)| terminal::Entry::new(&d.pattern, pattern, d.output.joined()))
                .collect();
            compiled.push(Compiled { case, terminal: Terminal::new(entries), expect_first, finding });
        }
    }
    if !problems.is_empty() {
        bail!("the data set has {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
    }
    Ok(compiled)
}

// --- the server ------------------------------------------------------------

/// An opsdesk server in this process, and the operator token the run acts with.
struct Server {
    base: String,
    token: String,
    http: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Starts on 127.0.0.1:0 with a fresh data directory; creates org `eval` and an operator.
    async fn start() -> anyhow::Result<Server> {
        let data_dir = tempfile::tempdir()?;
        let options = Options {
            llm: server_llm_from_env()?,
            llm_timeout: std::env::var("OPSDESK_LLM_TIMEOUT_SECS")
                .ok()
                .and_then(|secs| secs.trim().parse::<u64>().ok())
                .map_or(opsdesk_server::llm::settings::DEFAULT_TIMEOUT, |secs| Duration::from_secs(secs.max(1))),
            ..Options::on_loopback(data_dir.path().to_path_buf())
        };
        let state = build_state(&options).await?;
        let input = UserInput { email: "eval@eval.test", name: "Evaluation", role: Role::Operator, password: None };
        let me = accounts::ensure_user(state.store.as_ref(), "eval", input).await.map_err(|e| anyhow!("{e}"))?;
        let token =
            accounts::create_token(state.store.as_ref(), &me, "eval_agents").await.map_err(|e| anyhow!("{e}"))?.secret;
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().timeout(ANSWER_TIMEOUT).build()?;
        Ok(Server { base, token, http, stop, task, _data_dir: data_dir })
    }

    /// The model the org's LLM agents use: "`name` (server)", "none", or "unknown".
    async fn model_in_force(&self) -> String {
        let response = self.http.get(format!("{}/api/v1/org/llm", self.base)).bearer_auth(&self.token).send().await;
        let Ok(response) = response.and_then(|r| r.error_for_status()) else { return "unknown".to_owned() };
        let view: Value = response.json().await.unwrap_or(Value::Null);
        match (view["source"].as_str(), view["model"].as_str()) {
            (Some("none"), _) => "none".to_owned(),
            (Some(source), Some(model)) => format!("`{}` ({source})", cell(model)),
            _ => "unknown".to_owned(),
        }
    }

    /// Raises the case's ticket; answers its internal id (the protocol's `thread_id`).
    async fn raise_ticket(&self, case: &Case) -> Result<String, String> {
        let response = self
            .http
            .post(format!("{}/api/v1/org/support/tickets", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "subject": case.subject, "description": case.problem }))
            .send()
            .await
            .map_err(|e| format!("raising the ticket: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("raising the ticket: HTTP {}: {}", status.as_u16(), error_message(&body)));
        }
        body["id"].as_str().map(str::to_owned).ok_or_else(|| "the created ticket has no `id`".to_owned())
    }

    /// One protocol request to a built-in agent.
    async fn send(
        &self,
        agent: &str,
        thread_id: &str,
        messages: &[ProtocolMessage],
    ) -> Result<SendMessageResponse, String> {
        let request = SendMessageRequest { messages: messages.to_vec(), thread_id: Some(thread_id.to_owned()) };
        let response = self
            .http
            .post(format!("{}/agents/{agent}/api/sendMessage", self.base))
            .bearer_auth(&self.token)
            .json(&request)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("reading the answer: {e}"))?;
        if !status.is_success() {
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(format!("HTTP {}: {}", status.as_u16(), error_message(&body)));
        }
        serde_json::from_str(&text).map_err(|e| format!("the answer is not the protocol's: {e}"))
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("the server stopped with an error: {error}"),
            Err(error) => eprintln!("the server task failed: {error}"),
        }
    }
}

/// The server-wide model endpoint from `OPSDESK_LLM_BASE_URL`, `OPSDESK_LLM_MODEL` and
/// `OPSDESK_LLM_API_KEY`, as `opsdesk serve` reads them (both of the first two, or neither).
fn server_llm_from_env() -> anyhow::Result<Option<opsdesk_server::llm::settings::ServerLlm>> {
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match (var("OPSDESK_LLM_BASE_URL"), var("OPSDESK_LLM_MODEL")) {
        (Some(base_url), Some(model)) => Ok(Some(opsdesk_server::llm::settings::ServerLlm {
            base_url: base_url.trim_end_matches('/').to_owned(),
            model,
            api_key: var("OPSDESK_LLM_API_KEY"),
        })),
        (None, None) => Ok(None),
        _ => bail!("set both OPSDESK_LLM_BASE_URL and OPSDESK_LLM_MODEL, or neither"),
    }
}

/// The message of the API's error format (`{"error": {"message": …}}`), or the body, shortened.
fn error_message(body: &Value) -> String {
    let message = match body["error"]["message"].as_str() {
        Some(message) => message.to_owned(),
        None => match body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
    };
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match message.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

// --- one case, one agent ---------------------------------------------------

/// How a case went for an agent.
#[derive(Debug, Default)]
struct Outcome {
    /// Proposals of the first answer that matched `expect_first`, and how many there were.
    first: Option<(usize, usize)>,
    /// The answer (1-based) that reached the finding; only answers after shared output count.
    found_at: Option<u32>,
    /// The first answer, written before any output, already named the finding (not counted).
    named_before_evidence: bool,
    /// Commands proposed over all answers.
    commands: usize,
    /// Answers received.
    answers: u32,
    /// Set when an answer proposed nothing more (and the finding was not reached).
    gave_up_at: Option<u32>,
    /// The first failure, with the answer it stopped at.
    error: Option<(u32, String)>,
    /// Time spent in the conversation (raising the ticket excluded).
    elapsed: Duration,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A user message as the helpdesk sends it: the instance's context on every one.
fn user_message(content: &str, context: &Value, data: MessageData) -> ProtocolMessage {
    ProtocolMessage {
        role: ProtocolRole::User,
        content: content.to_owned(),
        platform_context: Some(context.clone()),
        data,
        timestamp: Some(now()),
    }
}

/// An answer as it goes back into the history: its content, its proposals (not yet
/// decided), the commands it ran and its links.
fn assistant_message(answer: &SendMessageResponse) -> ProtocolMessage {
    let cmds = answer
        .data
        .cmds
        .iter()
        .map(|c| ProtocolCommand {
            command: c.command.clone(),
            execute: false,
            files: Vec::new(),
            rejection_reason: None,
            explanation: None,
            risk: None,
        })
        .collect();
    ProtocolMessage {
        role: ProtocolRole::Assistant,
        content: answer.content.clone(),
        platform_context: None,
        data: MessageData {
            cmds,
            executed_cmds: answer.data.executed_cmds.clone(),
            url_configs: answer.data.url_configs.clone(),
            files: Vec::new(),
        },
        timestamp: Some(now()),
    }
}

/// Drives one conversation; answers how it went and the messages exchanged.
async fn run_case(server: &Server, agent: &str, case: &Compiled<'_>, turns: u32) -> (Outcome, Vec<ProtocolMessage>) {
    let mut outcome = Outcome::default();
    let context = case.case.platform_context.clone().unwrap_or_else(|| json!({}));
    let mut messages = vec![user_message(&case.case.problem, &context, MessageData::default())];
    let thread_id = match server.raise_ticket(case.case).await {
        Ok(id) => id,
        Err(error) => {
            outcome.error = Some((1, error));
            return (outcome, messages);
        }
    };
    // Only the conversation is timed: raising the ticket may call a model for its review.
    let started = Instant::now();
    for turn in 1..=turns {
        let answer = match server.send(agent, &thread_id, &messages).await {
            Ok(answer) => answer,
            Err(error) => {
                outcome.error = Some((turn, error));
                break;
            }
        };
        outcome.answers = turn;
        let proposed: Vec<String> = answer.data.cmds.iter().map(|c| c.command.clone()).collect();
        outcome.commands += proposed.len();
        // The answer's own proposals are not findings (`grep -i 'no space left' …` is a question).
        let mut text = format!("{}\n{}", answer.content, answer.reasoning.as_deref().unwrap_or(""));
        for command in proposed.iter().filter(|c| !c.trim().is_empty()) {
            text = text.replace(command.as_str(), " ");
        }
        let names_finding = case.finding.iter().any(|p| p.is_match(&text));
        messages.push(assistant_message(&answer));
        if turn == 1 {
            let right = proposed.iter().filter(|c| case.expect_first.iter().any(|p| p.is_match(c))).count();
            outcome.first = Some((right, proposed.len()));
            outcome.named_before_evidence = names_finding;
        } else if names_finding {
            outcome.found_at = Some(turn);
            break;
        }
        if proposed.is_empty() {
            outcome.gave_up_at = Some(turn);
            break;
        }
        if turn == turns {
            break;
        }
        let executed_cmds = proposed
            .iter()
            .map(|command| ExecutedCommand { command: command.clone(), output: case.terminal.run(command) })
            .collect();
        messages.push(user_message(SHARED, &context, MessageData { executed_cmds, ..MessageData::default() }));
    }
    outcome.elapsed = started.elapsed();
    (outcome, messages)
}

/// Writes DIR/<agent>/<case>.json: the case, how it went and every message.
fn write_transcript(
    dir: &Path,
    agent: &str,
    case: &Compiled<'_>,
    outcome: &Outcome,
    messages: &[ProtocolMessage],
) -> anyhow::Result<()> {
    let dir = dir.join(agent);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let transcript = json!({
        "agent": agent,
        "case": case.case.id,
        "area": case.case.area,
        "root_cause": case.case.root_cause,
        "outcome": {
            "first_answer": first_cell(outcome),
            "finding": finding_cell(outcome),
            "commands": outcome.commands,
            "answers": outcome.answers,
            "seconds": outcome.elapsed.as_secs_f64(),
        },
        "messages": messages,
    });
    let path = dir.join(format!("{}.json", case.case.id));
    std::fs::write(&path, serde_json::to_string_pretty(&transcript)?)
        .with_context(|| format!("writing {}", path.display()))
}

// --- the report ------------------------------------------------------------

/// Every outcome of one agent, in case order.
struct AgentRun {
    agent: String,
    outcomes: Vec<Outcome>,
}

impl AgentRun {
    /// Time spent in the agent's conversations.
    fn elapsed(&self) -> Duration {
        self.outcomes.iter().map(|o| o.elapsed).sum()
    }
}

/// Markdown table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn first_cell(outcome: &Outcome) -> String {
    match (outcome.first, &outcome.error) {
        (Some((right, proposed)), _) => format!("{} {right}/{proposed}", if right > 0 { "✓" } else { "✗" }),
        (None, Some((_, error))) => format!("error: {}", cell(error)),
        (None, None) => "—".to_owned(),
    }
}

fn finding_cell(outcome: &Outcome) -> String {
    let dagger = if outcome.named_before_evidence { " †" } else { "" };
    match (outcome.found_at, outcome.first, &outcome.error, outcome.gave_up_at) {
        (Some(turn), ..) => format!("turn {turn}{dagger}"),
        (None, None, Some(_), _) => "—".to_owned(),
        (None, _, Some((turn, error)), _) => format!("✗{dagger} (error at turn {turn}: {})", cell(error)),
        (None, _, None, Some(turn)) => format!("✗{dagger} (no proposals at turn {turn})"),
        (None, ..) => format!("✗{dagger}"),
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{part}/{whole} ({:.0}%)", part as f64 * 100.0 / whole as f64)
    }
}

fn duration(d: Duration) -> String {
    let seconds = d.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The whole report: a summary table, rates by area, then one table per agent.
fn report(runs: &[AgentRun], cases: &[Compiled<'_>], turns: u32, model: &str) -> String {
    let mut out = String::new();
    let areas: Vec<(&str, usize)> = AREAS
        .iter()
        .map(|area| (*area, cases.iter().filter(|c| c.case.area == *area).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let _ = writeln!(
        out,
        "Run on {} with `--turns {turns}`: {} cases ({}); model of the LLM agents: {model}.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        cases.len(),
        areas.iter().map(|(area, n)| format!("{area} {n}")).collect::<Vec<_>>().join(", "),
    );
    out.push_str(
        "| agent | first diagnostic right | finding reached | mean turns to finding | commands per case | errors | wall time |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        let n = run.outcomes.len();
        let first = run.outcomes.iter().filter(|o| o.first.is_some_and(|(right, _)| right > 0)).count();
        let found: Vec<u32> = run.outcomes.iter().filter_map(|o| o.found_at).collect();
        let mean_turns = if found.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.1}", found.iter().sum::<u32>() as f64 / found.len() as f64)
        };
        let commands = run.outcomes.iter().map(|o| o.commands).sum::<usize>() as f64 / n.max(1) as f64;
        let errors = run.outcomes.iter().filter(|o| o.error.is_some()).count();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {mean_turns} | {commands:.1} | {errors} | {} |",
            run.agent,
            percent(first, n),
            percent(found.len(), n),
            duration(run.elapsed()),
        );
    }

    out.push_str("\nBy area (first diagnostic right · finding reached):\n\n| agent |");
    for (area, n) in &areas {
        let _ = write!(out, " {area} ({n}) |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(areas.len()));
    out.push('\n');
    for run in runs {
        let _ = write!(out, "| `{}` |", run.agent);
        for (area, n) in &areas {
            let of_area = || run.outcomes.iter().zip(cases).filter(|(_, c)| c.case.area == *area).map(|(o, _)| o);
            let first = of_area().filter(|o| o.first.is_some_and(|(right, _)| right > 0)).count();
            let found = of_area().filter(|o| o.found_at.is_some()).count();
            let _ = write!(out, " {first}/{n} · {found}/{n} |");
        }
        out.push('\n');
    }

    for run in runs {
        let _ = writeln!(out, "\n#### `{}`\n", run.agent);
        out.push_str("| case | area | first proposals right | finding reached | commands |\n|---|---|---|---|---:|\n");
        for (outcome, case) in run.outcomes.iter().zip(cases) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                case.case.id,
                case.case.area,
                first_cell(outcome),
                finding_cell(outcome),
                outcome.commands,
            );
        }
    }
    out.push_str(
        "\n\"✓ 2/4\": 2 of the first answer's 4 proposals were right first diagnostics. \
         \"turn n\": the n-th answer (the first to follow shared output is turn 2) named the finding. \
         †: the first answer, written before any output, already named it (not counted).\n",
    );
    out
}

/// Puts `report` between the markers of a Markdown file, keeping the rest.
fn write_into(path: &Path, report: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN_MARKER), text.find(END_MARKER)) else {
        bail!("{} lacks the lines {BEGIN_MARKER} and {END_MARKER}", path.display());
    };
    if end < begin {
        bail!("{}: {END_MARKER} comes before {BEGIN_MARKER}", path.display());
    }
    let updated = format!("{}{BEGIN_MARKER}\n\n{}\n{}", &text[..begin], report.trim_end(), &text[end..]);
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let agents = if args.agents.is_empty() { vec!["runbook".to_owned()] } else { args.agents.clone() };
    if let Some(bad) =
        agents.iter().find(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        bail!("`{bad}` is not an agent slug");
    }
    let mut cases = load_cases(&args.cases)?;
    if !args.only.is_empty() {
        if let Some(unknown) = args.only.iter().find(|id| !cases.iter().any(|c| &c.id == *id)) {
            bail!("no case `{unknown}` in {}", args.cases.display());
        }
        cases.retain(|c| args.only.contains(&c.id));
    }
    let compiled = compile(&cases)?;
    if args.check {
        let by_area: Vec<String> =
            AREAS.iter().map(|area| format!("{area} {}", cases.iter().filter(|c| c.area == *area).count())).collect();
        println!("{} cases, all well-formed ({})", cases.len(), by_area.join(", "));
        return Ok(());
    }

    let server = Server::start().await?;
    let mut runs = Vec::new();
    let model = server.model_in_force().await;
    eprintln!("model of the LLM agents: {model}");
    for agent in &agents {
        let mut outcomes = Vec::new();
        for case in &compiled {
            let (outcome, messages) = run_case(&server, agent, case, args.turns).await;
            eprintln!(
                "[{agent}] {}: first {}, finding {}, {} command(s), {}",
                case.case.id,
                first_cell(&outcome),
                finding_cell(&outcome),
                outcome.commands,
                duration(outcome.elapsed),
            );
            if let Some(dir) = &args.transcripts {
                write_transcript(dir, agent, case, &outcome, &messages)?;
            }
            outcomes.push(outcome);
        }
        runs.push(AgentRun { agent: agent.clone(), outcomes });
    }
    server.stop().await;

    let report = report(&runs, &compiled, args.turns, &model);
    print!("{report}");
    if let Some(path) = &args.markdown {
        write_into(path, &report)?;
        eprintln!("wrote the report into {}", path.display());
    }
    Ok(())
}

// --- patterns ----------------------------------------------------------------

mod pattern {
    //! A small regular-expression matcher, so that the data set's patterns need no
    //! new dependency. It understands the common subset of the `regex` crate's syntax
    //! (and of `grep -E`): literals, `.`, classes `[a-z0-9_-]`, `[^…]`, `[[:space:]]`,
    //! `\d \w \s` (and negations), `\b \B`, `^ $`, groups `(…)` and `(?:…)`, a leading
    //! `(?i)`, alternation `|`, and the repetitions `* + ? {n} {n,} {n,m}` (lazy
    //! variants accepted: for "is there a match" they are the same). `.` does not
    //! match a line break. Anything else is refused when compiling, never guessed.

    /// A compiled pattern.
    #[derive(Clone, Debug)]
    pub struct Pattern {
        alternatives: Vec<Vec<Node>>,
        ignore_case: bool,
    }

    #[derive(Clone, Debug)]
    enum Node {
        Char(char),
        Any,
        Class {
            negated: bool,
            items: Vec<Item>,
        },
        Start,
        End,
        /// `\b` (true) or `\B` (false).
        Boundary(bool),
        Group(Vec<Vec<Node>>),
        Repeat {
            node: Box<Node>,
            min: usize,
            max: Option<usize>,
        },
    }

    #[derive(Clone, Debug)]
    enum Item {
        Range(char, char),
        /// `\d` (true) or `\D` (false); the same for the next two.
        Digit(bool),
        Word(bool),
        Space(bool),
        Posix(&'static str),
    }

    const POSIX: [&str; 10] =
        ["alpha", "digit", "alnum", "space", "blank", "upper", "lower", "punct", "xdigit", "word"];

    impl Pattern {
        /// Compiles `source`; with `ignore_case`, letters match in either case.
        pub fn new(source: &str, ignore_case: bool) -> Result<Pattern, String> {
            let mut parser = Parser { chars: source.chars().collect(), pos: 0, ignore_case };
            let alternatives = parser.alternation(0)?;
            Ok(Pattern { alternatives, ignore_case })
        }

        /// Whether the pattern matches anywhere in `text`.
        pub fn is_match(&self, text: &str) -> bool {
            let text: Vec<char> =
                if self.ignore_case { text.chars().map(lower).collect() } else { text.chars().collect() };
            let matcher = Matcher { text: &text, ignore_case: self.ignore_case };
            (0..=text.len()).any(|start| matcher.alternatives(&self.alternatives, start, &mut |_| true))
        }
    }

    /// Lower case, one character for one (so positions stay aligned).
    fn lower(c: char) -> char {
        let mut folded = c.to_lowercase();
        match (folded.next(), folded.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }

    fn upper(c: char) -> char {
        let mut folded = c.to_uppercase();
        match (folded.next(), folded.next()) {
            (Some(u), None) => u,
            _ => c,
        }
    }

    fn is_word(c: char) -> bool {
        c.is_alphanumeric() || c == '_'
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
        ignore_case: bool,
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }

        fn eat(&mut self, c: char) -> bool {
            let found = self.peek() == Some(c);
            if found {
                self.pos += 1;
            }
            found
        }

        fn literal(&self, c: char) -> char {
            if self.ignore_case {
                lower(c)
            } else {
                c
            }
        }

        /// Alternatives up to the end, or up to the `)` closing a group (consumed).
        fn alternation(&mut self, depth: usize) -> Result<Vec<Vec<Node>>, String> {
            let mut alternatives = vec![Vec::new()];
            loop {
                match self.peek() {
                    None if depth > 0 => return Err("a `(` is not closed".into()),
                    None => return Ok(alternatives),
                    Some(')') if depth > 0 => {
                        self.pos += 1;
                        return Ok(alternatives);
                    }
                    Some(')') => return Err(format!("unmatched `)` at {}", self.pos)),
                    Some('|') => {
                        self.pos += 1;
                        alternatives.push(Vec::new());
                    }
                    Some(_) => {
                        let atom = self.atom(depth)?;
                        let node = self.repetition(atom)?;
                        if let Some(sequence) = alternatives.last_mut() {
                            sequence.push(node);
                        }
                    }
                }
            }
        }

        fn atom(&mut self, depth: usize) -> Result<Node, String> {
            let c = self.chars[self.pos];
            self.pos += 1;
            Ok(match c {
                '(' => {
                    if self.eat('?') {
                        if self.eat('i') {
                            // Case is decided by the caller; `(?i)` alone matches the empty string.
                            if self.eat(')') {
                                return Ok(Node::Group(vec![Vec::new()]));
                            }
                            if !self.eat(':') {
                                return Err(format!("unsupported group flags at {}", self.pos));
                            }
                        } else if !self.eat(':') {
                            return Err(format!("unsupported group syntax at {}", self.pos));
                        }
                    }
                    Node::Group(self.alternation(depth + 1)?)
                }
                '[' => self.class()?,
                '.' => Node::Any,
                '^' => Node::Start,
                '$' => Node::End,
                '\\' => self.escape()?,
                '*' | '+' | '?' | '{' => return Err(format!("`{c}` with nothing to repeat at {}", self.pos - 1)),
                c => Node::Char(self.literal(c)),
            })
        }

        fn perl_class(c: char) -> Option<Item> {
            Some(match c {
                'd' => Item::Digit(true),
                'D' => Item::Digit(false),
                'w' => Item::Word(true),
                'W' => Item::Word(false),
                's' => Item::Space(true),
                'S' => Item::Space(false),
                _ => return None,
            })
        }

        fn escape(&mut self) -> Result<Node, String> {
            let Some(c) = self.peek() else { return Err("a trailing `\\`".into()) };
            self.pos += 1;
            if let Some(item) = Self::perl_class(c) {
                return Ok(Node::Class { negated: false, items: vec![item] });
            }
            Ok(match c {
                'b' => Node::Boundary(true),
                'B' => Node::Boundary(false),
                'n' => Node::Char('\n'),
                't' => Node::Char('\t'),
                c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape `\\{c}`")),
                c => Node::Char(self.literal(c)),
            })
        }

        /// One character of a class, escapes resolved; `Err` for a class escape (`\d`…).
        fn class_char(&mut self) -> Result<Result<char, Item>, String> {
            let Some(c) = self.peek() else { return Err("a `[` is not closed".into()) };
            self.pos += 1;
            if c != '\\' {
                return Ok(Ok(c));
            }
            let Some(e) = self.peek() else { return Err("a trailing `\\`".into()) };
            self.pos += 1;
            if let Some(item) = Self::perl_class(e) {
                return Ok(Err(item));
            }
            match e {
                'n' => Ok(Ok('\n')),
                't' => Ok(Ok('\t')),
                e if e.is_ascii_alphanumeric() => Err(format!("unsupported escape `\\{e}` in a class")),
                e => Ok(Ok(e)),
            }
        }

        fn class(&mut self) -> Result<Node, String> {
            let negated = self.eat('^');
            let mut items = Vec::new();
            let mut first = true;
            loop {
                // `]` right after `[` or `[^` is a literal.
                if !first && self.eat(']') {
                    break;
                }
                first = false;
                if self.peek() == Some('[') && self.chars.get(self.pos + 1) == Some(&':') {
                    let rest: String = self.chars[self.pos + 2..].iter().collect();
                    let Some(end) = rest.find(":]") else { return Err("a `[:` is not closed".into()) };
                    let Some(name) = POSIX.iter().copied().find(|n| *n == &rest[..end]) else {
                        return Err(format!("unknown class `[:{}:]`", &rest[..end]));
                    };
                    items.push(Item::Posix(name));
                    self.pos += 2 + rest[..end].chars().count() + 2;
                    continue;
                }
                let low = match self.class_char()? {
                    Ok(c) => c,
                    Err(item) => {
                        items.push(item);
                        continue;
                    }
                };
                let is_range = self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|n| *n != ']');
                if !is_range {
                    items.push(Item::Range(low, low));
                    continue;
                }
                self.pos += 1;
                let Ok(high) = self.class_char()? else { return Err("a class escape cannot end a range".into()) };
                if high < low {
                    return Err(format!("the range `{low}-{high}` is backwards"));
                }
                items.push(Item::Range(low, high));
            }
            Ok(Node::Class { negated, items })
        }

        fn repetition(&mut self, node: Node) -> Result<Node, String> {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    let start = self.pos + 1;
                    let Some(length) = self.chars[start..].iter().position(|c| *c == '}') else {
                        return Err("a `{` is not closed".into());
                    };
                    let body: String = self.chars[start..start + length].iter().collect();
                    let number =
                        |text: &str| text.trim().parse::<usize>().map_err(|_| format!("bad repetition `{{{body}}}`"));
                    let bounds = match body.split_once(',') {
                        None => {
                            let n = number(body.as_str())?;
                            (n, Some(n))
                        }
                        Some((low, "")) => (number(low)?, None),
                        Some((low, high)) => (number(low)?, Some(number(high)?)),
                    };
                    self.pos = start + length; // at the `}`
                    bounds
                }
                _ => return Ok(node),
            };
            self.pos += 1;
            self.eat('?'); // lazy: the same for "is there a match"
            if max.is_some_and(|max| max < min) {
                return Err(format!("a repetition's maximum is below its minimum at {}", self.pos));
            }
            if matches!(node, Node::Start | Node::End | Node::Boundary(_)) {
                return Err(format!("an anchor cannot repeat, at {}", self.pos));
            }
            if matches!(self.peek(), Some('*' | '+' | '?' | '{')) {
                return Err(format!("a repetition cannot repeat, at {}", self.pos));
            }
            Ok(Node::Repeat { node: Box::new(node), min, max })
        }
    }

    /// Backtracking in continuation-passing style: each step calls `next` with the
    /// position it reached, and answers whether the rest of the pattern matched.
    struct Matcher<'t> {
        text: &'t [char],
        ignore_case: bool,
    }

    impl Matcher<'_> {
        fn alternatives(&self, alternatives: &[Vec<Node>], at: usize, next: &mut dyn FnMut(usize) -> bool) -> bool {
            for sequence in alternatives {
                if self.sequence(sequence, at, &mut *next) {
                    return true;
                }
            }
            false
        }

        fn sequence(&self, nodes: &[Node], at: usize, next: &mut dyn FnMut(usize) -> bool) -> bool {
            match nodes.split_first() {
                None => next(at),
                Some((node, rest)) => self.node(node, at, &mut |after| self.sequence(rest, after, &mut *next)),
            }
        }

        fn node(&self, node: &Node, at: usize, next: &mut dyn FnMut(usize) -> bool) -> bool {
            match node {
                Node::Start => at == 0 && next(at),
                Node::End => at == self.text.len() && next(at),
                Node::Boundary(wanted) => self.boundary(at) == *wanted && next(at),
                Node::Group(alternatives) => self.alternatives(alternatives, at, next),
                Node::Repeat { node: inner, min, max } if is_single(inner) => {
                    // One character at a time: count greedily, then give back (no recursion).
                    let max = (*max).unwrap_or(usize::MAX);
                    let mut count = 0;
                    while count < max && at + count < self.text.len() && self.single(inner, self.text[at + count]) {
                        count += 1;
                    }
                    loop {
                        if count < *min {
                            return false;
                        }
                        if next(at + count) {
                            return true;
                        }
                        if count == 0 {
                            return false;
                        }
                        count -= 1;
                    }
                }
                Node::Repeat { node: inner, min, max } => self.repeat(inner, *min, *max, 0, at, next),
                other => at < self.text.len() && self.single(other, self.text[at]) && next(at + 1),
            }
        }

        fn repeat(
            &self,
            node: &Node,
            min: usize,
            max: Option<usize>,
            done: usize,
            at: usize,
            next: &mut dyn FnMut(usize) -> bool,
        ) -> bool {
            if max.is_none_or(|max| done < max) {
                // An empty match only counts towards the minimum (no endless loop).
                let more = self.node(node, at, &mut |after| {
                    (after != at || done < min) && self.repeat(node, min, max, done + 1, after, &mut *next)
                });
                if more {
                    return true;
                }
            }
            done >= min && next(at)
        }

        fn single(&self, node: &Node, c: char) -> bool {
            match node {
                Node::Char(expected) => *expected == c,
                Node::Any => c != '\n',
                Node::Class { negated, items } => {
                    // The text is in lower case when case is ignored: try the upper case too.
                    let hit = items.iter().any(|item| item_matches(item, c))
                        || (self.ignore_case && upper(c) != c && items.iter().any(|item| item_matches(item, upper(c))));
                    hit != *negated
                }
                _ => false,
            }
        }

        fn boundary(&self, at: usize) -> bool {
            let before = at > 0 && is_word(self.text[at - 1]);
            let after = at < self.text.len() && is_word(self.text[at]);
            before != after
        }
    }

    fn is_single(node: &Node) -> bool {
        matches!(node, Node::Char(_) | Node::Any | Node::Class { .. })
    }

    fn item_matches(item: &Item, c: char) -> bool {
        match item {
            Item::Range(low, high) => (*low..=*high).contains(&c),
            Item::Digit(yes) => c.is_ascii_digit() == *yes,
            Item::Word(yes) => is_word(c) == *yes,
            Item::Space(yes) => c.is_whitespace() == *yes,
            Item::Posix(name) => match *name {
                "alpha" => c.is_alphabetic(),
                "digit" => c.is_ascii_digit(),
                "alnum" => c.is_alphanumeric(),
                "space" => c.is_whitespace(),
                "blank" => c == ' ' || c == '\t',
                "upper" => c.is_uppercase(),
                "lower" => c.is_lowercase(),
                "punct" => c.is_ascii_punctuation(),
                "xdigit" => c.is_ascii_hexdigit(),
                _ => is_word(c),
            },
        }
    }
}

// --- the person's terminal ---------------------------------------------------

mod terminal {
    //! What the person's terminal prints for a proposed command, from recorded outputs.
    //!
    //! A proposal is split like a shell would split it: `;`, `&&`, `||` and line breaks
    //! separate commands, `|` separates the stages of one (quotes, `$(…)` and backquotes
    //! are respected). For each command:
    //!
    //! - an entry written for a whole pipeline (its pattern contains `\|`) is matched
    //!   against the stages joined with ` | `, and its output is printed as it is;
    //! - otherwise the first entry whose pattern matches the producing stage (the first
    //!   one that is not an `echo` or `printf` feeding the others) gives the output, and
    //!   every `grep`, `head` and `tail` stage from there on (the producer too, when it
    //!   reads a file) filters it as it would; other stages (`sort`, `awk`, `wc`…) pass
    //!   it through unchanged.
    //!
    //! A command no entry matches prints nothing; a proposal that prints nothing shares
    //! "(no output)".

    use super::pattern::Pattern;

    /// What a proposal that prints nothing shares.
    pub const NO_OUTPUT: &str = "(no output)";

    /// A recorded output and the pattern of the commands that print it.
    pub struct Entry {
        pub pattern: Pattern,
        /// The pattern names later stages (`\|`): match the whole pipeline, filter nothing.
        pub whole_pipeline: bool,
        pub output: String,
    }

    impl Entry {
        pub fn new(source: &str, pattern: Pattern, output: String) -> Entry {
            Entry { pattern, whole_pipeline: source.contains("\\|"), output }
        }
    }

    /// Recorded outputs, looked up by pattern, first match wins.
    pub struct Terminal {
        entries: Vec<Entry>,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Syntax {
        Basic,
        Extended,
        Fixed,
    }

    impl Terminal {
        pub fn new(entries: Vec<Entry>) -> Terminal {
            Terminal { entries }
        }

        /// What running `command` prints.
        pub fn run(&self, command: &str) -> String {
            let mut printed = Vec::new();
            for stages in split(command) {
                let whole = stages.join(" | ");
                let output = match self.entries.iter().find(|e| e.whole_pipeline && e.pattern.is_match(&whole)) {
                    Some(entry) => Some(entry.output.clone()),
                    None => self.produce(&stages),
                };
                if let Some(output) = output.filter(|o| !o.trim().is_empty()) {
                    printed.push(output);
                }
            }
            if printed.is_empty() {
                NO_OUTPUT.to_owned()
            } else {
                printed.join("\n")
            }
        }

        /// The producing stage's output, filtered by the stages from there on.
        fn produce(&self, stages: &[String]) -> Option<String> {
            let start = stages
                .iter()
                .position(|stage| {
                    let words = words(stage);
                    !matches!(program(&words).first().map(String::as_str), Some("echo" | "printf" | "true" | "yes"))
                })
                .unwrap_or(0);
            let entry = self.entries.iter().find(|e| !e.whole_pipeline && e.pattern.is_match(&stages[start]))?;
            let mut output = entry.output.clone();
            for stage in &stages[start..] {
                output = filter(stage, &output).unwrap_or(output);
            }
            Some(output)
        }
    }

    /// `a | b && c; d` → `[[a, b], [c], [d]]`.
    pub(super) fn split(command: &str) -> Vec<Vec<String>> {
        let chars: Vec<char> = command.chars().collect();
        let mut commands: Vec<Vec<String>> = Vec::new();
        let mut stages: Vec<String> = Vec::new();
        let mut current = String::new();
        let (mut single, mut double, mut backquote) = (false, false, false);
        let mut depth = 0usize;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            i += 1;
            if single {
                single = c != '\'';
                current.push(c);
                continue;
            }
            if c == '\\' {
                current.push(c);
                if let Some(n) = next {
                    current.push(n);
                    i += 1;
                }
                continue;
            }
            if double {
                double = c != '"';
                current.push(c);
                continue;
            }
            let nested = depth > 0 || backquote;
            match c {
                '\'' => single = true,
                '"' => double = true,
                '`' => backquote = !backquote,
                '$' if next == Some('(') => {
                    depth += 1;
                    current.push_str("$(");
                    i += 1;
                    continue;
                }
                '(' if depth > 0 => depth += 1,
                ')' if depth > 0 => depth -= 1,
                ';' | '\n' if !nested => {
                    stages.push(std::mem::take(&mut current));
                    commands.push(std::mem::take(&mut stages));
                    continue;
                }
                '&' | '|' if !nested && next == Some(c) => {
                    stages.push(std::mem::take(&mut current));
                    commands.push(std::mem::take(&mut stages));
                    i += 1;
                    continue;
                }
                '|' if !nested => {
                    if next == Some('&') {
                        i += 1; // `|&` pipes standard error too
                    }
                    stages.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        stages.push(current);
        commands.push(stages);
        commands
            .into_iter()
            .map(|stages| stages.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>())
            .filter(|stages| !stages.is_empty())
            .collect()
    }

    /// A stage's words as the program sees them: quotes removed, redirections dropped.
    pub(super) fn words(stage: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut started = false;
        let (mut single, mut double) = (false, false);
        let mut chars = stage.chars().peekable();
        while let Some(c) = chars.next() {
            if single {
                if c == '\'' {
                    single = false;
                } else {
                    word.push(c);
                }
                continue;
            }
            if double {
                match c {
                    '"' => double = false,
                    '\\' if chars.peek().is_some_and(|n| "\"\\$`".contains(*n)) => word.extend(chars.next()),
                    c => word.push(c),
                }
                continue;
            }
            match c {
                '\'' => {
                    single = true;
                    started = true;
                }
                '"' => {
                    double = true;
                    started = true;
                }
                '\\' => {
                    word.extend(chars.next());
                    started = true;
                }
                c if c.is_whitespace() => {
                    if started {
                        words.push(std::mem::take(&mut word));
                        started = false;
                    }
                }
                c => {
                    word.push(c);
                    started = true;
                }
            }
        }
        if started {
            words.push(word);
        }
        let mut kept = Vec::new();
        let mut target_next = false;
        for word in words {
            if target_next {
                target_next = false;
                continue;
            }
            let redirect = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
            if redirect.starts_with('>') || redirect.starts_with('<') {
                // `2>/dev/null` carries its target; `>` alone takes the next word.
                target_next = redirect.trim_start_matches(['>', '<', '&']).is_empty();
                continue;
            }
            kept.push(word);
        }
        kept
    }

    /// The program and its arguments, after `sudo`, `env` and variable assignments.
    fn program(words: &[String]) -> &[String] {
        let mut i = 0;
        while let Some(word) = words.get(i) {
            let assignment = word.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if matches!(word.as_str(), "sudo" | "env" | "command" | "time" | "nice") || assignment {
                i += 1;
            } else if i > 0 && word.starts_with('-') && words[i - 1] != "--" {
                // Options of sudo and friends; these two take a value.
                i += if matches!(word.as_str(), "-u" | "-g") { 2 } else { 1 };
            } else {
                break;
            }
        }
        &words[i.min(words.len())..]
    }

    /// The output after this stage, or `None` when the stage leaves it as it is.
    fn filter(stage: &str, input: &str) -> Option<String> {
        let words = words(stage);
        let (program, args) = program(&words).split_first()?;
        let name = program.rsplit('/').next().unwrap_or(program.as_str());
        match name {
            "grep" | "egrep" | "fgrep" | "zgrep" => grep(name, args, input),
            "head" => lines(args, input, false),
            "tail" => lines(args, input, true),
            _ => None,
        }
    }

    /// `grep` with the options that change which lines come out
    /// (`-i -v -c -w -x -E -F -e -m`, context `-A -B -C -N`).
    fn grep(name: &str, args: &[String], input: &str) -> Option<String> {
        let mut syntax = match name {
            "egrep" => Syntax::Extended,
            "fgrep" => Syntax::Fixed,
            _ => Syntax::Basic,
        };
        let (mut ignore_case, mut invert, mut count, mut word, mut line) = (false, false, false, false, false);
        let mut max: Option<usize> = None;
        let (mut after, mut before) = (0usize, 0usize);
        let number = |value: Option<String>| value.and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let mut patterns = Vec::new();
        let mut operands = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                operands.extend(args[i..].iter().cloned());
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (option, value) = match long.split_once('=') {
                    Some((option, value)) => (option, Some(value.to_owned())),
                    None => (long, None),
                };
                match option {
                    "ignore-case" => ignore_case = true,
                    "invert-match" => invert = true,
                    "count" => count = true,
                    "word-regexp" => word = true,
                    "line-regexp" => line = true,
                    "extended-regexp" | "perl-regexp" => syntax = Syntax::Extended,
                    "fixed-strings" => syntax = Syntax::Fixed,
                    "basic-regexp" => syntax = Syntax::Basic,
                    "regexp" | "max-count" | "after-context" | "before-context" | "context" | "file" => {
                        let value = match value {
                            Some(value) => Some(value),
                            None => {
                                i += 1;
                                args.get(i - 1).cloned()
                            }
                        };
                        match option {
                            "regexp" => patterns.extend(value),
                            "max-count" => max = value.and_then(|v| v.parse().ok()),
                            "after-context" => after = number(value),
                            "before-context" => before = number(value),
                            "context" => (after, before) = (number(value.clone()), number(value)),
                            _ => {}
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if arg.len() > 1 && arg.starts_with('-') {
                let flags: Vec<char> = arg.chars().skip(1).collect();
                for (j, &flag) in flags.iter().enumerate() {
                    if flag.is_ascii_digit() {
                        // `-5` is `-C 5`.
                        let digits: String = flags[j..].iter().take_while(|c| c.is_ascii_digit()).collect();
                        (after, before) = (number(Some(digits.clone())), number(Some(digits)));
                        break;
                    }
                    match flag {
                        'i' | 'y' => ignore_case = true,
                        'v' => invert = true,
                        'c' => count = true,
                        'w' => word = true,
                        'x' => line = true,
                        'E' | 'P' => syntax = Syntax::Extended,
                        'F' => syntax = Syntax::Fixed,
                        'G' => syntax = Syntax::Basic,
                        'e' | 'm' | 'A' | 'B' | 'C' | 'f' | 'd' | 'D' => {
                            let attached: String = flags[j + 1..].iter().collect();
                            let value = if attached.is_empty() {
                                i += 1;
                                args.get(i - 1).cloned()
                            } else {
                                Some(attached)
                            };
                            match flag {
                                'e' => patterns.extend(value),
                                'm' => max = value.and_then(|v| v.parse().ok()),
                                'A' => after = number(value),
                                'B' => before = number(value),
                                'C' => (after, before) = (number(value.clone()), number(value)),
                                _ => {}
                            }
                            break;
                        }
                        _ => {}
                    }
                }
                continue;
            }
            operands.push(arg.clone());
        }
        if patterns.is_empty() {
            if operands.is_empty() {
                return None;
            }
            patterns.push(operands.remove(0));
        }
        let mut compiled = Vec::new();
        for pattern in patterns.iter().flat_map(|p| p.split('\n')) {
            let mut source = translate(pattern, syntax);
            if word {
                source = format!("\\b(?:{source})\\b");
            }
            if line {
                source = format!("^(?:{source})$");
            }
            // A pattern this matcher cannot read filters nothing (rather than everything).
            compiled.push(Pattern::new(&source, ignore_case).ok()?);
        }
        let lines: Vec<&str> = input.lines().collect();
        let mut hits = Vec::new();
        for (i, text) in lines.iter().enumerate() {
            if max.is_some_and(|max| hits.len() >= max) {
                break;
            }
            if compiled.iter().any(|p| p.is_match(text)) != invert {
                hits.push(i);
            }
        }
        if count {
            return Some(hits.len().to_string());
        }
        // Each hit with its context; `--` between groups that do not touch, as GNU grep prints.
        let mut out: Vec<&str> = Vec::new();
        let mut printed_to: Option<usize> = None;
        for &hit in &hits {
            let end = (hit + after).min(lines.len() - 1);
            let start = match (printed_to, hit.saturating_sub(before)) {
                (Some(done), start) if start <= done + 1 => done + 1,
                (Some(_), start) if after + before > 0 => {
                    out.push("--");
                    start
                }
                (_, start) => start,
            };
            out.extend(lines.iter().take(end + 1).skip(start).copied());
            printed_to = Some(printed_to.map_or(end, |done| done.max(end)));
        }
        Some(out.join("\n"))
    }

    /// grep's basic and fixed syntaxes in the matcher's (extended) one; `\<`, `\>` → `\b`.
    fn translate(pattern: &str, syntax: Syntax) -> String {
        let mut out = String::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if syntax == Syntax::Fixed {
                if "\\.+*?()|[]{}^$".contains(c) {
                    out.push('\\');
                }
                out.push(c);
                continue;
            }
            match c {
                '\\' => match chars.next() {
                    Some('<' | '>') => out.push_str("\\b"),
                    Some(e) if syntax == Syntax::Basic && "|(){}+?".contains(e) => out.push(e),
                    Some(e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => out.push_str("\\\\"),
                },
                c if syntax == Syntax::Basic && "|(){}+?".contains(c) => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out
    }

    /// `head` and `tail`: `-n N`, `-nN`, `-N`, `--lines=N`, `tail -n +N`, `head -n -N`.
    fn lines(args: &[String], input: &str, tail: bool) -> Option<String> {
        let mut spec = "10".to_owned();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "-n" || arg == "--lines" {
                spec = args.get(i).cloned().unwrap_or_default();
                i += 1;
            } else if let Some(value) = arg.strip_prefix("--lines=") {
                spec = value.to_owned();
            } else if let Some(value) = arg.strip_prefix("-n") {
                spec = value.to_owned();
            } else if arg.len() > 1 && arg.starts_with('-') && arg[1..].chars().all(|c| c.is_ascii_digit()) {
                spec = arg[1..].to_owned();
            } else if arg.starts_with("-c") || arg.starts_with("--bytes") {
                return None; // bytes, not lines: leave it
            }
        }
        let from_start = spec.starts_with('+');
        let all_but = spec.starts_with('-');
        let n: usize = spec.trim_start_matches(['+', '-']).parse().ok()?;
        let all: Vec<&str> = input.lines().collect();
        let kept = match (tail, from_start, all_but) {
            (true, true, _) => &all[n.saturating_sub(1).min(all.len())..],
            (true, false, _) => &all[all.len().saturating_sub(n)..],
            (false, _, true) => &all[..all.len().saturating_sub(n)],
            (false, _, false) => &all[..n.min(all.len())],
        };
        Some(kept.join("\n"))
    }
}

//! `opsdesk tickets …`: the ticket command line, a client of the REST API
//! (`/api/v1/org/support/tickets`) authenticated with an API token.
//!
//! Where it connects and as whom comes from, in order: the flags, the
//! environment (`OPSDESK_SERVER`, `OPSDESK_TOKEN`), the config file
//! (`$XDG_CONFIG_HOME/opsdesk/config`, else `~/.config/opsdesk/config`, or
//! `--config` / `OPSDESK_CONFIG`), and for the server `http://127.0.0.1:3000`.
//!
//! Output is for people (aligned tables, one-line confirmations) unless
//! `--json` asks for the server's raw answer. Server errors print
//! `error: <message>` and one line per invalid field on stderr; the exit code
//! is 2 for a 4xx answer and 1 for anything else that failed.

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Local, TimeZone, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use opsdesk_app::error::{AppError, ErrorCode};
use opsdesk_app::model::{
    human_size, Attachment, Category, CloseTicket, CreateTicket, DuplicateCandidate, FindingLevel, NewComment,
    PersonRef, Review, ReviewRequest, ReviewStatus, Severity, Source, Status, TicketDetail, TicketPage, TimelineEntry,
    TimelineEvent, MAX_PAGE_SIZE,
};
use reqwest::multipart::{Form, Part};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fmt;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The server when neither a flag, the environment nor the config file names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";

/// Where the ticket endpoints live under the server's URL.
const TICKETS_PATH: [&str; 5] = ["api", "v1", "org", "support", "tickets"];

/// Widest subject in `list` when the terminal's width is unknown.
const DEFAULT_SUBJECT_WIDTH: usize = 60;
/// Narrowest subject in `list`, however narrow the terminal.
const MIN_SUBJECT_WIDTH: usize = 10;
/// Where `--help` lists the options every `tickets` subcommand shares.
const CLIENT_HEADING: &str = "Server and output";
/// Space between table columns.
const GAP: &str = "  ";

// --- the command line -------------------------------------------------------

/// Where the API is and who calls it; shared by every `tickets` and
/// `projects` subcommand (the options are global, so they may follow the
/// subcommand too).
#[derive(Clone, Default, Args)]
pub struct ClientArgs {
    /// The opsdesk server's URL [default: `server` in the config file, else http://127.0.0.1:3000]
    #[arg(long, global = true, help_heading = CLIENT_HEADING, env = "OPSDESK_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// An API token (create one under Admin → API tokens or with `opsdesk admin create-token`)
    /// [default: `token` in the config file]
    #[arg(long, global = true, help_heading = CLIENT_HEADING, env = "OPSDESK_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the server's raw JSON answer instead of tables and text.
    #[arg(long, global = true, help_heading = CLIENT_HEADING)]
    pub json: bool,
    /// Config file with `server = "…"` and `token = "…"` lines
    /// [default: $XDG_CONFIG_HOME/opsdesk/config, else ~/.config/opsdesk/config]
    #[arg(long, global = true, help_heading = CLIENT_HEADING, env = "OPSDESK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// `opsdesk tickets [OPTIONS] <COMMAND>`: what the `tickets` subcommand parses.
#[derive(Debug, Args)]
pub struct TicketsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: TicketsCommand,
}

/// Never prints the token.
impl fmt::Debug for ClientArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientArgs")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("json", &self.json)
            .field("config", &self.config)
            .finish()
    }
}

/// `opsdesk tickets …`.
#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets.
    #[command(visible_alias = "ls")]
    List {
        /// Only tickets in this status; repeat for several.
        #[arg(long, value_name = "STATUS", value_parser = status_parser())]
        status: Vec<Status>,
        /// Only tickets about this instance.
        #[arg(long, value_name = "CLUSTER_ID")]
        cluster: Option<String>,
        /// Full-text search in subjects, descriptions and comments.
        #[arg(short = 'q', long = "query", value_name = "TEXT")]
        query: Option<String>,
        /// Which page, from 1.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        page: Option<u32>,
        /// Tickets per page (at most 100).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
        page_size: Option<u32>,
    },
    /// Show a ticket and its timeline.
    Show {
        /// The ticket's id, e.g. ACME-12.
        ticket_id: String,
    },
    /// Raise a ticket.
    Create {
        /// One line saying what is wrong.
        #[arg(long)]
        subject: String,
        /// The details; `-` reads them from standard input.
        #[arg(
            long,
            value_name = "TEXT",
            required_unless_present = "description_file",
            conflicts_with = "description_file"
        )]
        description: Option<String>,
        /// Read the details from a file (`-` for standard input).
        #[arg(long, value_name = "PATH")]
        description_file: Option<PathBuf>,
        /// What kind of request it is (the review suggests one when omitted).
        #[arg(long, value_parser = category_parser())]
        category: Option<Category>,
        /// How bad it is (the review suggests one when omitted).
        #[arg(long, value_parser = severity_parser())]
        severity: Option<Severity>,
        /// The instance the ticket is about.
        #[arg(long, value_name = "CLUSTER_ID")]
        cluster: Option<String>,
        /// Run the AI review first and show its findings, questions and likely
        /// duplicates; refuse to file a flagged ticket unless --yes.
        #[arg(long)]
        review: bool,
        /// File the ticket even if the review flags it (e.g. as a likely duplicate).
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Comment on a ticket.
    Comment {
        /// The ticket's id, e.g. ACME-12.
        ticket_id: String,
        /// The comment; `-` reads it from standard input.
        body: String,
    },
    /// Close a ticket.
    Close {
        /// The ticket's id, e.g. ACME-12.
        ticket_id: String,
        /// Why, for the timeline.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Attach a file to a ticket.
    Attach {
        /// The ticket's id, e.g. ACME-12.
        ticket_id: String,
        /// The file to upload; it is sent under its own file name.
        path: PathBuf,
    },
}

fn status_parser() -> impl TypedValueParser<Value = Status> {
    PossibleValuesParser::new(Status::ALL.iter().map(|value| value.as_str())).try_map(|value| value.parse::<Status>())
}

fn category_parser() -> impl TypedValueParser<Value = Category> {
    PossibleValuesParser::new(Category::ALL.iter().map(|value| value.as_str()))
        .try_map(|value| value.parse::<Category>())
}

fn severity_parser() -> impl TypedValueParser<Value = Severity> {
    PossibleValuesParser::new(Severity::ALL.iter().map(|value| value.as_str()))
        .try_map(|value| value.parse::<Severity>())
}

// --- running ----------------------------------------------------------------

/// Runs one `tickets` subcommand. Server errors are printed here and become
/// the exit code (2 for 4xx, 1 otherwise); other failures (no token, server
/// unreachable, unreadable file) are returned for `main` to print.
pub async fn run(args: ClientArgs, command: TicketsCommand) -> anyhow::Result<ExitCode> {
    let settings = load_settings(&args)?;
    let api = Api::new(settings)?;
    report_api_failure(execute(&api, args.json, command).await)
}

/// Prints a server error (`error: …`, its fields, a hint) and answers its
/// exit code, so every client subcommand fails the same way; other failures
/// go back for `main` to print.
pub(crate) fn report_api_failure(result: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(error) => match error.downcast::<ApiFailure>() {
            Ok(failure) => {
                eprint!("{}", render_api_error(&failure));
                Ok(failure.exit_code())
            }
            Err(other) => Err(other),
        },
    }
}

async fn execute(api: &Api, json: bool, command: TicketsCommand) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    match command {
        TicketsCommand::List { status, cluster, query, page, page_size } => {
            let mut params: Vec<(&str, String)> = status.iter().map(|s| ("status", s.as_str().to_owned())).collect();
            params.extend(cluster.map(|c| ("cluster_id", c)));
            params.extend(query.map(|q| ("q", q)));
            params.extend(page.map(|p| ("page", p.to_string())));
            params.extend(page_size.map(|s| ("page_size", s.to_string())));
            let body = api.get(&[], &params).await?;
            if json {
                return print_raw(&body);
            }
            let page: TicketPage = decode(&body, "a ticket list")?;
            emit(&format_ticket_list(&page, now, &Local, terminal_columns()))?;
        }
        TicketsCommand::Show { ticket_id } => {
            let body = api.get(&[ticket_segment(&ticket_id)?], &[]).await?;
            if json {
                return print_raw(&body);
            }
            let detail: TicketDetail = decode(&body, "a ticket")?;
            emit(&format_ticket_detail(&detail, &Local))?;
        }
        TicketsCommand::Create { subject, description, description_file, category, severity, cluster, review, yes } => {
            let description = match (description, description_file) {
                (Some(text), _) if text == "-" => read_stdin("description")?,
                (Some(text), _) => text,
                (None, Some(path)) if path.as_os_str() == "-" => read_stdin("description")?,
                (None, Some(path)) => trim_trailing_newlines(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read the description from {}", path.display()))?,
                ),
                (None, None) => bail!("give the details with --description or --description-file"),
            };
            let input = NewTicketInput { subject, description, category, severity, cluster, review, yes };
            return create(api, json, input).await;
        }
        TicketsCommand::Comment { ticket_id, body } => {
            let text = if body == "-" { read_stdin("comment")? } else { body };
            let answer = api
                .post_json(&[ticket_segment(&ticket_id)?, "comments"], &NewComment { body: text, author_type: None })
                .await?;
            if json {
                return print_raw(&answer);
            }
            let entry: TimelineEntry = decode(&answer, "a timeline entry")?;
            emit(&format!("commented on {} (timeline #{})", one_line(&ticket_id), entry.seq))?;
        }
        TicketsCommand::Close { ticket_id, reason } => {
            let answer = api.post_json(&[ticket_segment(&ticket_id)?, "close"], &CloseTicket { reason }).await?;
            if json {
                return print_raw(&answer);
            }
            let detail: TicketDetail = decode(&answer, "a ticket")?;
            emit(&format_closed(&detail))?;
        }
        TicketsCommand::Attach { ticket_id, path } => {
            let segment = ticket_segment(&ticket_id)?;
            let metadata =
                tokio::fs::metadata(&path).await.with_context(|| format!("cannot read {}", path.display()))?;
            if !metadata.is_file() {
                bail!("{} is not a file", path.display());
            }
            // Streams the file (no full read into memory) under its own name.
            let part = Part::file(&path).await.with_context(|| format!("cannot open {}", path.display()))?;
            let answer = api.post_form(&[segment, "attachments"], Form::new().part("file", part)).await?;
            if json {
                return print_raw(&answer);
            }
            let attachment: Attachment = decode(&answer, "an attachment")?;
            emit(&format_attached(&attachment, &ticket_id))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `tickets create` was given.
struct NewTicketInput {
    subject: String,
    description: String,
    category: Option<Category>,
    severity: Option<Severity>,
    cluster: Option<String>,
    review: bool,
    yes: bool,
}

/// The body of `POST …/tickets`: the text as given, `source: cli`, the
/// review it follows (if any), and `acknowledged` only with `--yes`.
fn create_body(input: &NewTicketInput, review_id: Option<String>) -> CreateTicket {
    CreateTicket {
        subject: Some(input.subject.clone()),
        description: Some(input.description.clone()),
        category: input.category,
        severity: input.severity,
        cluster_id: input.cluster.clone(),
        review_id,
        acknowledged: input.yes.then_some(true),
        source: Some(Source::Cli),
        ..CreateTicket::default()
    }
}

async fn create(api: &Api, json: bool, input: NewTicketInput) -> anyhow::Result<ExitCode> {
    let mut review_json = None;
    let mut review_id = None;
    if input.review {
        let request = ReviewRequest {
            subject: input.subject.clone(),
            description: input.description.clone(),
            category: input.category,
            cluster_id: input.cluster.clone(),
        };
        let body = api.post_json(&["review"], &request).await?;
        let review: Review = decode(&body, "a review")?;
        if json {
            review_json = Some(decode::<serde_json::Value>(&body, "JSON")?);
        } else {
            emit(&format_review(&review))?;
        }
        if review.status == ReviewStatus::Flagged && !input.yes {
            if let Some(review) = review_json {
                emit(&serde_json::json!({ "review": review }).to_string())?;
            }
            eprint!("{}", format_refusal(&review));
            return Ok(ExitCode::from(2));
        }
        review_id = Some(review.review_id);
    }
    let request = create_body(&input, review_id);
    let body = match api.post_json(&[], &request).await {
        Ok(body) => body,
        Err(error) => return Err(with_conflict_hint(error, input.review)),
    };
    if json {
        return match review_json {
            Some(review) => {
                let ticket = decode::<serde_json::Value>(&body, "JSON")?;
                emit(&serde_json::json!({ "review": review, "ticket": ticket }).to_string())?;
                Ok(ExitCode::SUCCESS)
            }
            None => print_raw(&body),
        };
    }
    let detail: TicketDetail = decode(&body, "a ticket")?;
    emit(&format_created(&detail, &api.web_url(&["tickets", &detail.ticket.ticket_id])))?;
    Ok(ExitCode::SUCCESS)
}

/// A 409 on create means the server's own review flagged the ticket.
fn with_conflict_hint(error: anyhow::Error, reviewed: bool) -> anyhow::Error {
    match error.downcast::<ApiFailure>() {
        Ok(mut failure) if failure.status == StatusCode::CONFLICT => {
            failure.hint = Some(if reviewed {
                "pass --yes to file it anyway".to_owned()
            } else {
                "rerun with --review to see the review, or pass --yes to file it anyway".to_owned()
            });
            failure.into()
        }
        Ok(failure) => failure.into(),
        Err(other) => other,
    }
}

/// Prints a raw answer as it came.
pub(crate) fn print_raw(body: &str) -> anyhow::Result<ExitCode> {
    emit(body)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout, ending with a newline; a closed pipe (`| head`) is not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    match write() {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

pub(crate) fn read_stdin(what: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("reading the {what} from standard input; finish with Ctrl-D");
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text).with_context(|| format!("cannot read the {what} from standard input"))?;
    Ok(trim_trailing_newlines(text))
}

fn trim_trailing_newlines(mut text: String) -> String {
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    text
}

/// A ticket id as a path segment.
fn ticket_segment(ticket_id: &str) -> anyhow::Result<&str> {
    id_segment(ticket_id, "a ticket id (expected something like ACME-12)")
}

/// An id as a path segment; `.` and `..` would silently change the route.
/// `what` completes "`…` is not …" in the error.
pub(crate) fn id_segment<'a>(id: &'a str, what: &str) -> anyhow::Result<&'a str> {
    let trimmed = id.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        bail!("`{id}` is not {what}");
    }
    Ok(trimmed)
}

pub(crate) fn decode<T: DeserializeOwned>(body: &str, what: &str) -> anyhow::Result<T> {
    serde_json::from_str(body).with_context(|| {
        format!("the server's answer is not {what} as this CLI expects (is --server an opsdesk of the same version?)")
    })
}

/// The terminal's width when stdout is one: `COLUMNS`, else `stty size`.
pub(crate) fn terminal_columns() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        return Some(columns).filter(|&c| c > 0);
    }
    stty_columns()
}

#[cfg(unix)]
fn stty_columns() -> Option<usize> {
    let tty = std::fs::File::open("/dev/tty").ok()?;
    let output =
        std::process::Command::new("stty").arg("size").stdin(tty).stderr(std::process::Stdio::null()).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.split_whitespace().nth(1)?.parse::<usize>().ok().filter(|&c| c > 0)
}

#[cfg(not(unix))]
fn stty_columns() -> Option<usize> {
    None
}

// --- settings: flags, environment, config file ------------------------------

/// Where to connect and as whom, once resolved.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) server: Url,
    pub(crate) token: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings").field("server", &self.server.as_str()).field("token", &"<redacted>").finish()
    }
}

/// What the config file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ConfigFile {
    server: Option<String>,
    token: Option<String>,
}

/// Flags and environment (already merged by clap), then the config file
/// (read only when something is still missing), then the default server.
pub(crate) fn load_settings(args: &ClientArgs) -> anyhow::Result<Settings> {
    let server = non_empty(args.server.as_deref());
    let token = non_empty(args.token.as_deref());
    let explicit = args.config.as_deref().filter(|path| !path.as_os_str().is_empty());
    let (file, path) = if server.is_some() && token.is_some() {
        (ConfigFile::default(), explicit.map(Path::to_path_buf))
    } else {
        load_config(explicit)?
    };
    resolve(server, token, &file, path.as_deref())
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The precedence rule itself: given (flag or environment) > file > default.
fn resolve(
    server: Option<String>,
    token: Option<String>,
    file: &ConfigFile,
    config_path: Option<&Path>,
) -> anyhow::Result<Settings> {
    let server = server.or_else(|| file.server.clone()).unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let server = parse_server(&server)?;
    let token = token.or_else(|| file.token.clone()).ok_or_else(|| missing_token(config_path))?;
    Ok(Settings { server, token })
}

fn missing_token(config_path: Option<&Path>) -> anyhow::Error {
    let file = match config_path {
        Some(path) => format!("add `token = \"…\"` to {}", path.display()),
        None => "add `token = \"…\"` to a config file given with --config".to_owned(),
    };
    anyhow!(
        "no API token: pass --token, set OPSDESK_TOKEN, or {file} \
         (create a token under Admin → API tokens or with `opsdesk admin create-token`)"
    )
}

/// `http(s)://host[:port][/prefix]`; a bare `host:port` means http.
pub(crate) fn parse_server(raw: &str) -> anyhow::Result<Url> {
    let raw = raw.trim();
    let full = if raw.contains("://") { raw.to_owned() } else { format!("http://{raw}") };
    let mut url = Url::parse(&full).with_context(|| format!("`{raw}` is not a server URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host_str().is_none() {
        bail!("`{raw}` is not a server URL (expected http://host:port or https://host)");
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `$XDG_CONFIG_HOME/opsdesk/config`, else `$HOME/.config/opsdesk/config`.
fn default_config_path(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_config_home.map(PathBuf::from).filter(|p| p.is_absolute());
    let base = xdg.or_else(|| home.filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("opsdesk").join("config"))
}

/// Reads the config file: one named explicitly must exist; the default one may not.
fn load_config(explicit: Option<&Path>) -> anyhow::Result<(ConfigFile, Option<PathBuf>)> {
    let (path, required) = match explicit {
        Some(path) => (Some(path.to_path_buf()), true),
        None => (default_config_path(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME")), false),
    };
    let Some(path) = path else {
        return Ok((ConfigFile::default(), None));
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let config = parse_config(&text).map_err(|error| anyhow!("{}: {error}", path.display()))?;
            Ok((config, Some(path)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {
            Ok((ConfigFile::default(), Some(path)))
        }
        Err(error) => Err(anyhow!(error).context(format!("cannot read the config file {}", path.display()))),
    }
}

/// Parses the config file: a TOML subset of `key = "value"` lines (basic or
/// literal strings), blank lines and `#` comments. Unknown keys are ignored
/// so newer files work with older binaries; anything else is an error
/// naming the line.
fn parse_config(text: &str) -> Result<ConfigFile, String> {
    let mut config = ConfigFile::default();
    let mut seen = Vec::<String>::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, rest)) = line.split_once('=') else {
            return Err(format!("line {line_no}: expected `key = \"value\"`"));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("line {line_no}: `{key}` is not a key (expected `key = \"value\"`)"));
        }
        let value = parse_toml_string(rest.trim()).map_err(|error| format!("line {line_no}: {key}: {error}"))?;
        if seen.iter().any(|k| k == key) {
            return Err(format!("line {line_no}: `{key}` is set twice"));
        }
        seen.push(key.to_owned());
        match key {
            "server" => config.server = Some(value),
            "token" => config.token = Some(value),
            _ => {}
        }
    }
    Ok(config)
}

/// A basic (`"…"`, with escapes) or literal (`'…'`) TOML string, optionally
/// followed by a `#` comment.
fn parse_toml_string(input: &str) -> Result<String, String> {
    let mut chars = input.chars();
    let quote = match chars.next() {
        Some(q @ ('"' | '\'')) => q,
        _ => return Err("the value must be quoted, e.g. \"…\"".to_owned()),
    };
    let mut value = String::new();
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => {
                closed = true;
                break;
            }
            '\\' if quote == '"' => match chars.next() {
                Some('"') => value.push('"'),
                Some('\\') => value.push('\\'),
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                Some(other) => return Err(format!("unsupported escape `\\{other}`")),
                None => break,
            },
            c => value.push(c),
        }
    }
    if !closed {
        return Err("the string is not closed".to_owned());
    }
    let rest = chars.as_str().trim_start();
    if !rest.is_empty() && !rest.starts_with('#') {
        return Err(format!("unexpected `{rest}` after the value"));
    }
    Ok(value)
}

// --- HTTP -------------------------------------------------------------------

/// The REST client: one server, one token, one group of endpoints.
pub(crate) struct Api {
    http: reqwest::Client,
    server: Url,
    token: String,
    /// Where this client's endpoints live under the server's URL.
    base: &'static [&'static str],
}

impl Api {
    fn new(settings: Settings) -> anyhow::Result<Api> {
        Api::at(settings, &TICKETS_PATH)
    }

    /// A client of the endpoints under `base` (e.g. `api/v1/org/projects`).
    pub(crate) fn at(settings: Settings, base: &'static [&'static str]) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("opsdesk-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Api { http, server: settings.server, token: settings.token, base })
    }

    /// The server as people typed it, without a trailing slash.
    fn server_name(&self) -> &str {
        self.server.as_str().trim_end_matches('/')
    }

    /// `{server}/<segments>`, each segment percent-encoded.
    fn url_with(&self, prefix: &[&str], segments: &[&str]) -> Url {
        let mut url = self.server.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(prefix).extend(segments);
        }
        url
    }

    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        self.url_with(self.base, segments)
    }

    /// A page of the web app, for hints.
    pub(crate) fn web_url(&self, segments: &[&str]) -> String {
        self.url_with(&[], segments).to_string()
    }

    pub(crate) async fn get(&self, segments: &[&str], query: &[(&str, String)]) -> anyhow::Result<String> {
        self.send(self.http.get(self.endpoint(segments)).query(query)).await
    }

    pub(crate) async fn post_json<B: Serialize + ?Sized>(&self, segments: &[&str], body: &B) -> anyhow::Result<String> {
        self.send(self.http.post(self.endpoint(segments)).json(body)).await
    }

    async fn post_form(&self, segments: &[&str], form: Form) -> anyhow::Result<String> {
        self.send(self.http.post(self.endpoint(segments)).multipart(form)).await
    }

    /// Sends with the token; a 2xx answers its body, anything else an [`ApiFailure`].
    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let body = response.text().await.map_err(|error| self.transport_error(error))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(ApiFailure { status, error: parse_error_body(status, &body), hint: None }.into())
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> anyhow::Error {
        let cause = root_cause(&error);
        if error.is_connect() {
            anyhow!("could not reach the opsdesk server at {}: {cause}", self.server_name())
        } else if error.is_timeout() {
            anyhow!("the opsdesk server at {} did not answer in time: {cause}", self.server_name())
        } else {
            anyhow!("the request to the opsdesk server at {} failed: {cause}", self.server_name())
        }
    }
}

/// The innermost cause, e.g. "Connection refused (os error 111)".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub error: AppError,
    /// What to try next, when the CLI knows better than the server.
    pub hint: Option<String>,
}

impl ApiFailure {
    /// 2 for the caller's mistakes (4xx), 1 for the server's.
    pub fn exit_status(&self) -> u8 {
        if self.status.is_client_error() {
            2
        } else {
            1
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_status())
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error.message)
    }
}

impl std::error::Error for ApiFailure {}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: AppError,
}

/// The documented `{"error": {...}}`; leniently, its message when the code
/// is one this CLI does not know; else a message naming the HTTP status.
fn parse_error_body(status: StatusCode, body: &str) -> AppError {
    if let Ok(envelope) = serde_json::from_str::<ErrorEnvelope>(body) {
        return envelope.error;
    }
    let code = code_for_status(status);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(message) = value["error"]["message"].as_str() {
            let mut error = AppError::new(code, message);
            if let Some(fields) = value["error"]["fields"].as_object() {
                error.fields = fields
                    .iter()
                    .map(|(field, message)| (field.clone(), message.as_str().unwrap_or_default().to_owned()))
                    .collect();
            }
            error.details = value["error"].get("details").cloned().filter(|d| !d.is_null());
            return error;
        }
    }
    let mut message = format!("the server answered {status}");
    let text = one_line(body.trim());
    if !text.is_empty() && !body.trim_start().starts_with('<') {
        message.push_str(": ");
        message.push_str(&truncate(&text, 200));
    }
    AppError::new(code, message)
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        400..=499 => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    }
}

/// `error: <message>`, a line per invalid field, what the details say, a hint.
fn render_api_error(failure: &ApiFailure) -> String {
    let error = &failure.error;
    let mut out = format!("error: {}\n", one_line(&error.message));
    let lines = error.fields.iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>();
    // A one-field validation message is that field's line already; don't say it twice.
    if !(lines.len() == 1 && lines[0] == error.message) {
        for line in &lines {
            out.push_str(&format!("  {}\n", one_line(line)));
        }
    }
    if let Some(details) = error.details.as_ref().and_then(|d| d.as_object()) {
        out.push_str(&render_error_details(details));
    }
    let hint = failure.hint.clone().or_else(|| {
        (failure.status == StatusCode::UNAUTHORIZED)
            .then(|| "check the API token (--token, OPSDESK_TOKEN or `token` in the config file)".to_owned())
    });
    if let Some(hint) = hint {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out
}

fn render_error_details(details: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::new();
    if let Some(reason) = details.get("flag_reason").and_then(|r| r.as_str()) {
        out.push_str(&format!("  flagged: {}\n", one_line(reason)));
    }
    if let Some(duplicates) = details.get("duplicates") {
        let duplicates: Vec<DuplicateCandidate> = serde_json::from_value(duplicates.clone()).unwrap_or_default();
        if !duplicates.is_empty() {
            out.push_str("  possible duplicates:\n");
            out.push_str(&indent(&format_duplicates(&duplicates), "    "));
        }
    }
    for (key, value) in details {
        match key.as_str() {
            // Said already (the message, the lines above).
            "flag_reason" | "duplicates" | "review_status" => {}
            _ => {
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                out.push_str(&format!("  {key}: {}\n", truncate(&one_line(&text), 200)));
            }
        }
    }
    out
}

// --- human output -----------------------------------------------------------

fn format_ticket_list<Tz: TimeZone>(page: &TicketPage, now: DateTime<Utc>, tz: &Tz, columns: Option<usize>) -> String
where
    Tz::Offset: fmt::Display,
{
    let mut out = String::new();
    if page.result.is_empty() {
        out.push_str("no tickets\n");
    } else {
        let rows = page
            .result
            .iter()
            .map(|t| {
                vec![
                    one_line(&t.ticket_id),
                    t.status.as_str().to_owned(),
                    t.severity.as_str().to_owned(),
                    t.category.as_str().to_owned(),
                    relative_time(t.updated_at, now, tz),
                    one_line(&t.subject),
                ]
            })
            .collect::<Vec<_>>();
        out.push_str(&format_table(&["ID", "STATUS", "SEVERITY", "CATEGORY", "UPDATED", "SUBJECT"], &rows, columns));
    }
    out.push_str(&page_footer(page));
    out
}

fn page_footer(page: &TicketPage) -> String {
    let p = &page.pagination;
    let noun = if p.total_count == 1 { "ticket" } else { "tickets" };
    format!("page {} of {} ({} {noun})\n", p.page, p.total_pages.max(1), p.total_count)
}

/// Left-aligned columns separated by two spaces; the last column is not
/// padded and is cut to the rest of `columns` (or 60 when the width is unknown).
pub(crate) fn format_table(headers: &[&str], rows: &[Vec<String>], columns: Option<usize>) -> String {
    let count = headers.len();
    if count == 0 {
        return String::new();
    }
    let mut widths = headers.iter().map(|h| display_width(h)).collect::<Vec<_>>();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(cell));
        }
    }
    let fixed = widths[..count - 1].iter().sum::<usize>() + GAP.len() * (count - 1);
    let last_width = match columns {
        Some(total) => total.saturating_sub(fixed).max(MIN_SUBJECT_WIDTH),
        None => DEFAULT_SUBJECT_WIDTH,
    };
    let header = headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate().take(count) {
            if index + 1 == count {
                line.push_str(&truncate(cell, last_width));
            } else {
                line.push_str(&pad(cell, widths[index]));
                line.push_str(GAP);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// "just now", "5m ago", "3h ago", "2d ago", then the date.
pub(crate) fn relative_time<Tz: TimeZone>(at: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let seconds = (now - at).num_seconds();
    match seconds {
        i64::MIN..=59 => "just now".to_owned(),
        60..=3_599 => format!("{}m ago", seconds / 60),
        3_600..=86_399 => format!("{}h ago", seconds / 3_600),
        86_400..=604_799 => format!("{}d ago", seconds / 86_400),
        _ => at.with_timezone(tz).format("%Y-%m-%d").to_string(),
    }
}

pub(crate) fn stamp<Tz: TimeZone>(at: &DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    at.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string()
}

pub(crate) fn person(person: &PersonRef) -> String {
    let name = one_line(person.name.trim());
    if name.is_empty() {
        one_line(&person.email)
    } else {
        format!("{name} <{}>", one_line(&person.email))
    }
}

pub(crate) fn short_person(person: &PersonRef) -> String {
    let name = one_line(person.name.trim());
    if name.is_empty() {
        one_line(&person.email)
    } else {
        name
    }
}

fn format_ticket_detail<Tz: TimeZone>(detail: &TicketDetail, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let t = &detail.ticket;
    let mut out = format!("{}  {}\n", one_line(&t.ticket_id), one_line(&t.subject));
    let mut field = |label: &str, value: String| out.push_str(&format!("  {}{value}\n", pad(label, 11)));
    field("status", t.status.as_str().to_owned());
    field("severity", t.severity.as_str().to_owned());
    field("category", t.category.as_str().to_owned());
    field("source", t.source.as_str().to_owned());
    if let Some(cluster) = &t.cluster_id {
        field("cluster", one_line(cluster));
    }
    let by = t.created_by.as_ref().map(|p| format!(" by {}", person(p))).unwrap_or_default();
    field("created", format!("{}{by}", stamp(&t.created_at, tz)));
    field("updated", stamp(&t.updated_at, tz));
    let summary = t.ai_summary.as_deref().map(one_line).filter(|s| !s.is_empty());
    field(
        "review",
        match summary {
            Some(summary) => format!("{}: {summary}", t.ai_review_status),
            None => t.ai_review_status.as_str().to_owned(),
        },
    );
    if let Some(of) = &t.duplicate_of {
        field("duplicate", format!("of {}", one_line(of)));
    }
    field("following", if detail.following { "yes" } else { "no" }.to_owned());
    let description = multiline(t.description.trim_end());
    if !description.is_empty() {
        out.push('\n');
        out.push_str(&indent(&description, "  "));
    }
    if !detail.attachments.is_empty() {
        out.push_str(&format!("\nAttachments ({})\n", detail.attachments.len()));
        let rows = detail
            .attachments
            .iter()
            .map(|a| {
                let sha = a.sha256.chars().take(12).collect::<String>();
                vec![one_line(&a.filename), human_size(a.size), one_line(&a.content_type), format!("sha256:{sha}")]
            })
            .collect::<Vec<_>>();
        out.push_str(&indent(&format_rows(&rows), "  "));
    }
    out.push_str(&format!("\nTimeline ({})\n", detail.timeline.len()));
    out.push_str(&format_timeline(&detail.timeline, tz));
    out
}

/// Each entry: `#seq  time  author  what happened`, details indented below.
fn format_timeline<Tz: TimeZone>(entries: &[TimelineEntry], tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let seq_width = entries.iter().map(|e| e.seq.to_string().len()).max().unwrap_or(1);
    let authors = entries.iter().map(entry_author).collect::<Vec<_>>();
    let author_width = authors.iter().map(|a| display_width(a)).max().unwrap_or(0);
    let mut out = String::new();
    for (entry, author) in entries.iter().zip(&authors) {
        let (line, details) = describe_event(&entry.event);
        out.push_str(&format!(
            "  #{:<seq_width$}  {}  {}  ",
            entry.seq,
            stamp(&entry.at, tz),
            pad(author, author_width)
        ));
        out.push_str(&line);
        out.push('\n');
        if !details.is_empty() {
            out.push_str(&indent(&details, "      "));
        }
    }
    out
}

fn entry_author(entry: &TimelineEntry) -> String {
    match &entry.author {
        Some(p) => short_person(p),
        None => entry.author_type.as_str().to_owned(),
    }
}

/// A one-liner for the event and, for some kinds, more lines (a comment's text).
fn describe_event(event: &TimelineEvent) -> (String, String) {
    match event {
        TimelineEvent::Created { source } => (format!("created the ticket (via {source})"), String::new()),
        TimelineEvent::Comment { body } => ("commented:".to_owned(), multiline(body.trim_end())),
        TimelineEvent::StatusChanged { from, to, reason } => {
            let mut line = format!("changed the status from {from} to {to}");
            if let Some(reason) = reason.as_deref().map(one_line).filter(|r| !r.is_empty()) {
                line.push_str(&format!(": {reason}"));
            }
            (line, String::new())
        }
        TimelineEvent::FieldChanged { field, from, to } => {
            (format!("changed {} from {} to {}", one_line(field), one_line(from), one_line(to)), String::new())
        }
        TimelineEvent::Reviewed { status, summary, reviewer, notes } => {
            let mut line = format!("review {status} ({})", one_line(reviewer));
            let summary = one_line(summary);
            if !summary.is_empty() {
                line.push_str(&format!(": {summary}"));
            }
            let notes = notes.iter().map(|n| format!("- {}\n", one_line(n))).collect::<String>();
            (line, notes)
        }
        TimelineEvent::Clarified { answers } => {
            let noun = if answers.len() == 1 { "question" } else { "questions" };
            let lines = answers
                .iter()
                .map(|a| format!("{}: {}\n", one_line(&a.question_id), one_line(&a.answer)))
                .collect::<String>();
            (format!("answered {} clarifying {noun}", answers.len()), lines)
        }
        TimelineEvent::Attached { attachment } => (
            format!(
                "attached {} ({}, {})",
                one_line(&attachment.filename),
                human_size(attachment.size),
                one_line(&attachment.content_type)
            ),
            String::new(),
        ),
        TimelineEvent::Followed => ("followed the ticket".to_owned(), String::new()),
        TimelineEvent::DuplicateLinked { of } => {
            (format!("linked it as a duplicate of {}", one_line(of)), String::new())
        }
        TimelineEvent::InstanceContext { instance_id, name, summary } => (
            format!("added the context of instance {} ({})", one_line(name), one_line(instance_id)),
            multiline(summary.trim_end()),
        ),
        TimelineEvent::AgentsAssigned { agents } => {
            let names: Vec<String> = agents.iter().map(|a| one_line(&a.name)).collect();
            (format!("assigned agents: {}", names.join(", ")), String::new())
        }
        TimelineEvent::Message { agent, content } => {
            (format!("wrote to {}:", one_line(&agent.name)), multiline(content.trim_end()))
        }
        TimelineEvent::AgentReply { agent, content, reasoning, links, .. } => {
            let mut more = multiline(content.trim_end());
            if let Some(reasoning) = reasoning {
                more.push_str(&format!("reasoning: {}\n", one_line(reasoning)));
            }
            for link in links {
                more.push_str(&format!("link: {} ({})\n", one_line(&link.url), one_line(&link.description)));
            }
            (format!("{} answered:", one_line(&agent.name)), more)
        }
        TimelineEvent::AgentFailed { agent, reason, .. } => {
            (format!("{} failed: {}", one_line(&agent.name), one_line(reason)), String::new())
        }
        TimelineEvent::CommandProposed { cmd_id, agent, command, files, explanation, risk } => {
            let mut details = files.iter().map(|f| format!("file: {}\n", one_line(f))).collect::<String>();
            if let Some(explanation) = explanation {
                details.push_str(&format!("why: {}\n", one_line(explanation)));
            }
            let risk = risk.map(|r| format!(" ({r} risk)")).unwrap_or_default();
            (format!("{} proposed [{}]{risk}: {}", one_line(&agent.name), cmd_id, one_line(command)), details)
        }
        TimelineEvent::CommandDecided { cmd_id, action, reason } => {
            let mut line = format!("decided {action} on [{cmd_id}]");
            if let Some(reason) = reason.as_deref().map(one_line) {
                line.push_str(&format!(": {reason}"));
            }
            (line, String::new())
        }
        TimelineEvent::CommandRan { command, output, exit_code, ran_by, truncated, terminal, .. } => {
            let status = exit_code.map_or("no exit status".to_owned(), |c| format!("exit {c}"));
            let cut = if *truncated { ", output cut" } else { "" };
            let place = match terminal {
                Some(run) if run.shared => ", in the terminal, shared with agents",
                Some(_) => ", in the terminal, not shared",
                None => "",
            };
            (format!("ran ({ran_by}, {status}{cut}{place}): {}", one_line(command)), multiline(output.trim_end()))
        }
        TimelineEvent::TerminalOpened { scope, instance, .. } => {
            (format!("opened a terminal: {} on {}", scope.label(), one_line(instance)), String::new())
        }
        TimelineEvent::TerminalShared { share_context, .. } => {
            let verb = if *share_context { "started" } else { "stopped" };
            (format!("{verb} sharing the terminal's commands with agents"), String::new())
        }
        TimelineEvent::TerminalClosed { reason, .. } => {
            (format!("terminal ended: {}", one_line(reason)), String::new())
        }
        TimelineEvent::FileWritten { path, size, agent } => (
            format!("{} wrote {} ({})", one_line(&agent.name), one_line(path), human_size(*size as i64)),
            String::new(),
        ),
        TimelineEvent::FileRefused { path, reason, agent } => (
            format!("{}'s file {} was refused: {}", one_line(&agent.name), one_line(path), one_line(reason)),
            String::new(),
        ),
    }
}

fn format_review(review: &Review) -> String {
    let mut out = format!("review {} ({})\n", review.status, one_line(&review.reviewer));
    if let Some(reason) = review.flag_reason.as_deref().map(one_line).filter(|r| !r.is_empty()) {
        out.push_str(&format!("  flagged:   {reason}\n"));
    }
    out.push_str(&format!("  summary:   {}\n", one_line(&review.summary)));
    out.push_str(&format!("  suggests:  severity {}, category {}\n", review.severity, review.category));
    if !review.findings.is_empty() {
        out.push_str("findings:\n");
        let rows = review
            .findings
            .iter()
            .map(|f| {
                let level = match f.level {
                    FindingLevel::Info => "info",
                    FindingLevel::Warning => "warning",
                };
                vec![level.to_owned(), one_line(&f.code), one_line(&f.message)]
            })
            .collect::<Vec<_>>();
        out.push_str(&indent(&format_rows(&rows), "  "));
    }
    if !review.questions.is_empty() {
        out.push_str("questions:\n");
        let rows = review.questions.iter().map(|q| vec![one_line(&q.id), one_line(&q.question)]).collect::<Vec<_>>();
        out.push_str(&indent(&format_rows(&rows), "  "));
    }
    if !review.duplicates.is_empty() {
        out.push_str("possible duplicates:\n");
        out.push_str(&indent(&format_duplicates(&review.duplicates), "  "));
    }
    out
}

fn format_duplicates(duplicates: &[DuplicateCandidate]) -> String {
    let rows = duplicates
        .iter()
        .map(|d| {
            let score = format!("{:.0}%", (d.score.clamp(0.0, 1.0) * 100.0).round());
            vec![one_line(&d.ticket_id), d.status.as_str().to_owned(), score, truncate(&one_line(&d.subject), 60)]
        })
        .collect::<Vec<_>>();
    format_rows(&rows)
}

fn format_refusal(review: &Review) -> String {
    let reason = review.flag_reason.as_deref().map(one_line).filter(|r| !r.is_empty());
    let mut out = match reason {
        Some(reason) => format!("error: the review flagged this ticket: {reason}\n"),
        None => "error: the review flagged this ticket\n".to_owned(),
    };
    if let Some(first) = review.duplicates.first() {
        out.push_str(&format!(
            "hint: consider commenting on {} instead (`opsdesk tickets comment {} …`)\n",
            one_line(&first.ticket_id),
            one_line(&first.ticket_id)
        ));
    }
    out.push_str("hint: pass --yes to file it anyway\nnothing was filed\n");
    out
}

fn format_created(detail: &TicketDetail, web_url: &str) -> String {
    let t = &detail.ticket;
    format!(
        "created {id}: {subject}\n  status {status}, severity {severity}, category {category}\n  \
         see it with `opsdesk tickets show {id}` or at {web_url}\n",
        id = one_line(&t.ticket_id),
        subject = one_line(&t.subject),
        status = t.status,
        severity = t.severity,
        category = t.category,
    )
}

fn format_closed(detail: &TicketDetail) -> String {
    let t = &detail.ticket;
    if t.status == Status::Closed {
        format!("closed {}", one_line(&t.ticket_id))
    } else {
        format!("{} is now {}", one_line(&t.ticket_id), t.status)
    }
}

fn format_attached(attachment: &Attachment, ticket_id: &str) -> String {
    format!(
        "attached {} to {} ({}, {})",
        one_line(&attachment.filename),
        one_line(ticket_id),
        human_size(attachment.size),
        one_line(&attachment.content_type)
    )
}

/// Rows aligned like a table without headers and without truncation.
pub(crate) fn format_rows(rows: &[Vec<String>]) -> String {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; count];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(cell));
        }
    }
    let mut out = String::new();
    for row in rows {
        let line = row.iter().zip(&widths).map(|(cell, &width)| pad(cell, width)).collect::<Vec<_>>().join(GAP);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|line| if line.is_empty() { "\n".to_owned() } else { format!("{prefix}{line}\n") }).collect()
}

// --- text helpers (unicode- and terminal-safe) ------------------------------

/// One line of server text: control characters (newlines, escapes) become spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Several lines of server text: keeps newlines and tabs, drops other
/// control characters so text cannot drive the terminal.
pub(crate) fn multiline(text: &str) -> String {
    text.replace("\r\n", "\n").chars().filter(|&c| !c.is_control() || c == '\n' || c == '\t').collect()
}

/// Columns a character takes in a terminal: 0 for combining marks and
/// zero-width characters, 2 for East Asian wide characters and most emoji.
fn char_width(c: char) -> usize {
    let cp = c as u32;
    if c.is_control()
        || matches!(cp,
            0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
            | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F
            | 0xFE20..=0xFE2F | 0xE0100..=0xE01EF)
    {
        0
    } else if matches!(cp,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F900..=0x1F9FF | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD)
    {
        2
    } else {
        1
    }
}

fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// Cuts `text` to at most `max` columns, ending with `…` when cut; never
/// splits a character.
fn truncate(text: &str, max: usize) -> String {
    if display_width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let width = char_width(c);
        if used + width > max - 1 {
            break;
        }
        used += width;
        out.push(c);
    }
    out.push('…');
    out
}

/// Pads with spaces to `width` columns.
pub(crate) fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(display_width(text))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use opsdesk_app::model::{AuthorType, ClarificationAnswer, ClarifyingQuestion, Finding, Pagination, Ticket};

    /// `opsdesk tickets` as its own program, as `cli/mod.rs` mounts it.
    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        tickets: TicketsArgs,
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn ticket(number: i64, subject: &str) -> Ticket {
        Ticket {
            ticket_id: format!("ACME-{number}"),
            id: format!("0190-{number}"),
            number,
            subject: subject.to_owned(),
            description: "The disk on node-3 is full.\nSee the attached df output.".to_owned(),
            category: Category::Bug,
            severity: Severity::High,
            status: Status::InProgress,
            source: Source::Cli,
            cluster_id: Some("prod-eu".to_owned()),
            ai_summary: Some("Disk full on a production node".to_owned()),
            ai_review_status: ReviewStatus::Passed,
            duplicate_of: None,
            created_by: Some(PersonRef { id: "u1".into(), email: "ada@acme.test".into(), name: "Ada".into() }),
            created_at: at("2024-05-01T12:00:00Z"),
            updated_at: at("2024-05-01T13:30:00Z"),
            last_seq: 3,
            comment_count: 1,
            attachment_count: 0,
            project_id: None,
            stage: None,
        }
    }

    fn page(tickets: Vec<Ticket>, total_pages: u32, total_count: u64) -> TicketPage {
        TicketPage { result: tickets, pagination: Pagination { page: 1, page_size: 25, total_pages, total_count } }
    }

    fn failure(status: u16, body: &str) -> ApiFailure {
        let status = StatusCode::from_u16(status).unwrap();
        ApiFailure { status, error: parse_error_body(status, body), hint: None }
    }

    // --- the command line ---

    #[test]
    fn the_command_line_is_well_formed() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn global_options_may_follow_the_subcommand_and_statuses_repeat() {
        let cli = TestCli::try_parse_from([
            "tickets",
            "list",
            "--json",
            "--status",
            "open",
            "--status",
            "in_progress",
            "-q",
            "disk",
            "--server",
            "http://desk:3000",
            "--token",
            "t0k",
        ])
        .unwrap();
        assert!(cli.tickets.client.json);
        assert_eq!(cli.tickets.client.server.as_deref(), Some("http://desk:3000"));
        assert_eq!(cli.tickets.client.token.as_deref(), Some("t0k"));
        match cli.tickets.command {
            TicketsCommand::List { status, query, .. } => {
                assert_eq!(status, vec![Status::Open, Status::InProgress]);
                assert_eq!(query.as_deref(), Some("disk"));
            }
            other => panic!("parsed as {other:?}"),
        }
        let error = TestCli::try_parse_from(["tickets", "list", "--status", "done"]).unwrap_err().to_string();
        assert!(error.contains("pending_review") && error.contains("closed"), "{error}");
        assert!(TestCli::try_parse_from(["tickets", "list", "--page-size", "101"]).is_err());
        assert!(format!("{:?}", cli.tickets.client).contains("<redacted>"));
        assert!(!format!("{:?}", cli.tickets.client).contains("t0k"));
    }

    #[test]
    fn create_needs_a_description_from_one_place() {
        assert!(TestCli::try_parse_from(["t", "create", "--subject", "x"]).is_err());
        assert!(TestCli::try_parse_from(["t", "create", "--subject", "x", "--description", "-"]).is_ok());
        assert!(TestCli::try_parse_from(["t", "create", "--subject", "x", "--description-file", "d.txt"]).is_ok());
        let both = ["t", "create", "--subject", "x", "--description", "y", "--description-file", "d.txt"];
        assert!(TestCli::try_parse_from(both).is_err());
        let cli = TestCli::try_parse_from([
            "t",
            "create",
            "--subject",
            "x",
            "--description",
            "y",
            "--severity",
            "critical",
            "--category",
            "feature_request",
            "--review",
            "-y",
        ])
        .unwrap();
        match cli.tickets.command {
            TicketsCommand::Create { severity, category, review, yes, .. } => {
                assert_eq!(severity, Some(Severity::Critical));
                assert_eq!(category, Some(Category::FeatureRequest));
                assert!(review && yes);
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    // --- config file and precedence ---

    #[test]
    fn the_config_file_is_a_small_toml_subset() {
        let text = "# opsdesk\n\nserver = \"http://desk.example:3000\"  # the team's\n  token='s3cr\"et' \nother = \"ignored\"\n";
        let config = parse_config(text).unwrap();
        assert_eq!(config.server.as_deref(), Some("http://desk.example:3000"));
        assert_eq!(config.token.as_deref(), Some("s3cr\"et"));
        assert_eq!(parse_config("token = \"a\\\"b\\\\c\"").unwrap().token.as_deref(), Some("a\"b\\c"));
        assert_eq!(parse_config("token = \"with # hash\"").unwrap().token.as_deref(), Some("with # hash"));
        assert_eq!(parse_config("").unwrap(), ConfigFile::default());
    }

    #[test]
    fn config_mistakes_name_the_line() {
        assert_eq!(
            parse_config("# ok\ntoken = abc").unwrap_err(),
            "line 2: token: the value must be quoted, e.g. \"…\""
        );
        assert!(parse_config("[section]").unwrap_err().starts_with("line 1:"));
        assert!(parse_config("token = \"open").unwrap_err().contains("not closed"));
        assert!(parse_config("token = \"a\" b").unwrap_err().contains("unexpected `b`"));
        assert!(parse_config("token = \"a\"\ntoken = \"b\"").unwrap_err().contains("set twice"));
        assert!(parse_config("token = \"\\x\"").unwrap_err().contains("unsupported escape"));
    }

    #[test]
    fn flags_and_environment_beat_the_file_which_beats_the_default() {
        let file = ConfigFile { server: Some("http://file:1".into()), token: Some("file-token".into()) };
        let given = resolve(Some("https://given.example".into()), Some("given-token".into()), &file, None).unwrap();
        assert_eq!(given.server.as_str(), "https://given.example/");
        assert_eq!(given.token, "given-token");
        let from_file = resolve(None, None, &file, None).unwrap();
        assert_eq!((from_file.server.as_str(), from_file.token.as_str()), ("http://file:1/", "file-token"));
        let default = resolve(None, Some("t".into()), &ConfigFile::default(), None).unwrap();
        assert_eq!(default.server.as_str(), "http://127.0.0.1:3000/");
        assert!(!format!("{default:?}").contains("\"t\""));
        // Empty values (e.g. `OPSDESK_TOKEN=`) count as not given.
        let args = ClientArgs { token: Some("  ".into()), server: Some("x:1".into()), ..ClientArgs::default() };
        assert_eq!(non_empty(args.token.as_deref()), None);
        assert_eq!(parse_server("desk:8080").unwrap().as_str(), "http://desk:8080/");
        assert_eq!(parse_server("http://desk/prefix/").unwrap().as_str(), "http://desk/prefix/");
        assert!(parse_server("ftp://desk").is_err());
    }

    #[test]
    fn a_missing_token_names_all_three_ways_to_give_one() {
        let path = Path::new("/home/ada/.config/opsdesk/config");
        let message = resolve(None, None, &ConfigFile::default(), Some(path)).unwrap_err().to_string();
        for way in ["--token", "OPSDESK_TOKEN", "/home/ada/.config/opsdesk/config", "token = "] {
            assert!(message.contains(way), "{message} does not mention {way}");
        }
        let message = resolve(None, None, &ConfigFile::default(), None).unwrap_err().to_string();
        assert!(message.contains("--config"), "{message}");
    }

    #[test]
    fn the_default_config_path_follows_xdg() {
        assert_eq!(
            default_config_path(Some("/xdg".into()), Some("/home/ada".into())),
            Some(PathBuf::from("/xdg/opsdesk/config"))
        );
        assert_eq!(
            default_config_path(Some("relative".into()), Some("/home/ada".into())),
            Some(PathBuf::from("/home/ada/.config/opsdesk/config"))
        );
        assert_eq!(default_config_path(None, None), None);
    }

    #[test]
    fn an_explicit_config_file_must_exist_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(load_config(Some(&missing)).unwrap_err().to_string().contains("cannot read the config file"));
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "token: x\n").unwrap();
        let error = load_config(Some(&bad)).unwrap_err().to_string();
        assert!(error.contains("bad: line 1"), "{error}");
        let good = dir.path().join("good");
        std::fs::write(&good, "token = \"abc\"\n").unwrap();
        let (config, path) = load_config(Some(&good)).unwrap();
        assert_eq!((config.token.as_deref(), path), (Some("abc"), Some(good)));
    }

    #[test]
    fn urls_encode_ticket_ids_and_keep_a_path_prefix() {
        let settings = Settings { server: parse_server("http://desk/ops/").unwrap(), token: "t".into() };
        let api = Api::new(settings).unwrap();
        assert_eq!(api.endpoint(&[]).as_str(), "http://desk/ops/api/v1/org/support/tickets");
        assert_eq!(
            api.endpoint(&["ACME-1/x", "comments"]).as_str(),
            "http://desk/ops/api/v1/org/support/tickets/ACME-1%2Fx/comments"
        );
        assert_eq!(api.web_url(&["tickets", "ACME-1"]), "http://desk/ops/tickets/ACME-1");
        assert_eq!(api.server_name(), "http://desk/ops");
        assert!(ticket_segment("..").is_err());
        assert_eq!(ticket_segment(" ACME-1 ").unwrap(), "ACME-1");
    }

    // --- tables and text ---

    #[test]
    fn widths_count_columns_not_bytes() {
        assert_eq!(display_width("héllo"), 5);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("日本"), 4);
        assert_eq!(display_width("🚀"), 2);
    }

    #[test]
    fn truncation_is_unicode_safe() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("disk full on node-3", 10), "disk full…");
        assert_eq!(truncate("ééééééé", 4), "ééé…");
        assert_eq!(truncate("日本語のテキスト", 7), "日本語…");
        assert_eq!(truncate("日本語のテキスト", 6), "日本…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("abc", 1), "…");
        for max in 0..12 {
            assert!(display_width(&truncate("naïve 日本 e\u{301}t\u{e9} 🚀", max)) <= max);
        }
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        assert_eq!(one_line("a\nb\x1b[31mc\t"), "a b [31mc ");
        assert_eq!(multiline("a\r\nb\x1b[2J\tc"), "a\nb[2J\tc");
    }

    #[test]
    fn tables_align_columns_and_cut_the_last_one() {
        let rows = vec![
            vec!["ACME-1".to_owned(), "open".to_owned(), "日本語のテキストです".to_owned()],
            vec!["ACME-10".to_owned(), "in_progress".to_owned(), "short".to_owned()],
        ];
        let table = format_table(&["ID", "STATUS", "SUBJECT"], &rows, Some(34));
        let lines = table.lines().collect::<Vec<_>>();
        assert_eq!(lines[0], "ID       STATUS       SUBJECT");
        assert_eq!(lines[1], "ACME-1   open         日本語のテ…");
        assert_eq!(lines[2], "ACME-10  in_progress  short");
        assert!(lines.iter().all(|line| display_width(line) <= 34));
        // Unknown width: the last column gets 60 columns; never fewer than 10.
        let long = vec![vec!["ACME-1".to_owned(), "x".repeat(100)]];
        let table = format_table(&["ID", "SUBJECT"], &long, None);
        assert_eq!(display_width(table.lines().nth(1).unwrap()), 8 + 60);
        let table = format_table(&["ID", "SUBJECT"], &long, Some(5));
        assert_eq!(display_width(table.lines().nth(1).unwrap()), 8 + 10);
    }

    #[test]
    fn the_list_has_a_header_rows_and_a_footer() {
        let now = at("2024-05-01T14:00:00Z");
        let mut second = ticket(2, "Wörk queue stuck\nafter deploy");
        second.status = Status::Open;
        second.severity = Severity::Low;
        second.updated_at = at("2024-04-01T10:00:00Z");
        let text = format_ticket_list(&page(vec![ticket(1, "Disk full"), second], 3, 51), now, &Utc, None);
        let lines = text.lines().collect::<Vec<_>>();
        assert_eq!(lines[0], "ID      STATUS       SEVERITY  CATEGORY  UPDATED     SUBJECT");
        assert_eq!(lines[1], "ACME-1  in_progress  high      bug       30m ago     Disk full");
        assert_eq!(lines[2], "ACME-2  open         low       bug       2024-04-01  Wörk queue stuck after deploy");
        assert_eq!(lines[3], "page 1 of 3 (51 tickets)");
        let empty = format_ticket_list(&page(vec![], 0, 0), now, &Utc, None);
        assert_eq!(empty, "no tickets\npage 1 of 1 (0 tickets)\n");
        assert!(format_ticket_list(&page(vec![ticket(1, "x")], 1, 1), now, &Utc, None).ends_with("(1 ticket)\n"));
    }

    #[test]
    fn relative_times() {
        let now = at("2024-05-10T12:00:00Z");
        assert_eq!(relative_time(at("2024-05-10T11:59:30Z"), now, &Utc), "just now");
        assert_eq!(relative_time(at("2024-05-10T12:00:30Z"), now, &Utc), "just now");
        assert_eq!(relative_time(at("2024-05-10T11:55:00Z"), now, &Utc), "5m ago");
        assert_eq!(relative_time(at("2024-05-10T09:00:00Z"), now, &Utc), "3h ago");
        assert_eq!(relative_time(at("2024-05-08T12:00:00Z"), now, &Utc), "2d ago");
        assert_eq!(relative_time(at("2024-04-01T12:00:00Z"), now, &Utc), "2024-04-01");
    }

    #[test]
    fn show_renders_a_header_and_every_kind_of_timeline_entry() {
        let ada = PersonRef { id: "u1".into(), email: "ada@acme.test".into(), name: "Ada".into() };
        let attachment = Attachment {
            id: "a1".into(),
            filename: "df.txt".into(),
            content_type: "text/plain".into(),
            size: 2048,
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
            uploaded_by: Some(ada.clone()),
            created_at: at("2024-05-01T12:05:00Z"),
        };
        let events = vec![
            TimelineEvent::Created { source: Source::Cli },
            TimelineEvent::Reviewed {
                status: ReviewStatus::Passed,
                summary: "Disk full".into(),
                reviewer: "offline".into(),
                notes: vec!["mentions an error".into()],
            },
            TimelineEvent::Clarified {
                answers: vec![ClarificationAnswer { question_id: "no_environment".into(), answer: "prod".into() }],
            },
            TimelineEvent::Comment { body: "Rotated the logs.\nDisk at 40% now.".into() },
            TimelineEvent::Attached { attachment: attachment.clone() },
            TimelineEvent::FieldChanged { field: "severity".into(), from: "high".into(), to: "low".into() },
            TimelineEvent::Followed,
            TimelineEvent::DuplicateLinked { of: "ACME-3".into() },
            TimelineEvent::InstanceContext {
                instance_id: "i1".into(),
                name: "prod-eu".into(),
                summary: "3 nodes".into(),
            },
            TimelineEvent::StatusChanged { from: Status::Open, to: Status::Closed, reason: Some("fixed".into()) },
        ];
        let timeline = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| TimelineEntry {
                seq: i as i64 + 1,
                at: at("2024-05-01T12:00:00Z"),
                author_type: if i == 1 { AuthorType::Ai } else { AuthorType::User },
                author: if i == 1 { None } else { Some(ada.clone()) },
                event,
            })
            .collect::<Vec<_>>();
        let detail = TicketDetail {
            ticket: ticket(1, "Disk full"),
            comments: vec![],
            attachments: vec![attachment],
            timeline,
            following: true,
            agents: vec![],
        };
        let text = format_ticket_detail(&detail, &Utc);
        let expected = [
            "ACME-1  Disk full",
            "  status     in_progress",
            "  cluster    prod-eu",
            "  created    2024-05-01 12:00 by Ada <ada@acme.test>",
            "  review     passed: Disk full on a production node",
            "  following  yes",
            "  The disk on node-3 is full.",
            "Attachments (1)",
            "  df.txt  2.0 KiB  text/plain  sha256:2cf24dba5fb0",
            "Timeline (10)",
            "  #1   2024-05-01 12:00  Ada  created the ticket (via cli)",
            "  #2   2024-05-01 12:00  ai   review passed (offline): Disk full",
            "      - mentions an error",
            "  #3   2024-05-01 12:00  Ada  answered 1 clarifying question",
            "      no_environment: prod",
            "  #4   2024-05-01 12:00  Ada  commented:",
            "      Rotated the logs.",
            "      Disk at 40% now.",
            "  #5   2024-05-01 12:00  Ada  attached df.txt (2.0 KiB, text/plain)",
            "  #6   2024-05-01 12:00  Ada  changed severity from high to low",
            "  #7   2024-05-01 12:00  Ada  followed the ticket",
            "  #8   2024-05-01 12:00  Ada  linked it as a duplicate of ACME-3",
            "  #9   2024-05-01 12:00  Ada  added the context of instance prod-eu (i1)",
            "      3 nodes",
            "  #10  2024-05-01 12:00  Ada  changed the status from open to closed: fixed",
        ];
        let lines = text.lines().collect::<Vec<_>>();
        for line in expected {
            assert!(lines.contains(&line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn confirmations_are_one_line() {
        let mut detail = TicketDetail {
            ticket: ticket(7, "x"),
            comments: vec![],
            attachments: vec![],
            timeline: vec![],
            following: false,
            agents: vec![],
        };
        detail.ticket.status = Status::Closed;
        assert_eq!(format_closed(&detail), "closed ACME-7");
        let attachment = Attachment {
            id: "a".into(),
            filename: "notes.txt".into(),
            content_type: "text/plain".into(),
            size: 12,
            sha256: String::new(),
            uploaded_by: None,
            created_at: at("2024-05-01T12:00:00Z"),
        };
        assert_eq!(format_attached(&attachment, "ACME-7"), "attached notes.txt to ACME-7 (12 B, text/plain)");
        let created = format_created(&detail, "http://desk/tickets/ACME-7");
        assert!(created.starts_with("created ACME-7: x\n"), "{created}");
        assert!(created.contains("http://desk/tickets/ACME-7"), "{created}");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn a_review_shows_findings_questions_and_duplicates() {
        let review = Review {
            review_id: "r1".into(),
            status: ReviewStatus::Flagged,
            flag_reason: Some("likely a duplicate of ACME-3".into()),
            summary: "Disk full".into(),
            severity: Severity::High,
            category: Category::Bug,
            findings: vec![Finding {
                code: "no_error_text".into(),
                level: FindingLevel::Warning,
                message: "No error message quoted".into(),
            }],
            questions: vec![ClarifyingQuestion {
                id: "no_error_text".into(),
                question: "What error do you see?".into(),
            }],
            duplicates: vec![DuplicateCandidate {
                ticket_id: "ACME-3".into(),
                subject: "Disk full on node-3".into(),
                status: Status::Open,
                score: 0.873,
            }],
            reviewer: "offline".into(),
        };
        let text = format_review(&review);
        for part in [
            "review flagged (offline)",
            "flagged:   likely a duplicate of ACME-3",
            "warning  no_error_text  No error message quoted",
            "no_error_text  What error do you see?",
            "ACME-3  open  87%  Disk full on node-3",
        ] {
            assert!(text.contains(part), "missing {part:?} in\n{text}");
        }
        let refusal = format_refusal(&review);
        assert!(refusal.starts_with("error: the review flagged this ticket: likely a duplicate of ACME-3\n"));
        assert!(refusal.contains("--yes") && refusal.contains("ACME-3"), "{refusal}");
    }

    // --- errors ---

    #[test]
    fn errors_print_the_message_and_each_field() {
        let body = r#"{"error":{"code":"validation_failed","message":"severity: unknown; subject: is required","fields":{"severity":"unknown","subject":"is required"}}}"#;
        let rendered = render_api_error(&failure(422, body));
        assert_eq!(
            rendered,
            "error: severity: unknown; subject: is required\n  severity: unknown\n  subject: is required\n"
        );
        let body = r#"{"error":{"code":"validation_failed","message":"subject: is required","fields":{"subject":"is required"}}}"#;
        assert_eq!(render_api_error(&failure(422, body)), "error: subject: is required\n");
        let body = r#"{"error":{"code":"validation_failed","message":"the ticket is invalid","fields":{"subject":"is required"}}}"#;
        assert_eq!(render_api_error(&failure(422, body)), "error: the ticket is invalid\n  subject: is required\n");
        let body = r#"{"error":{"code":"not_found","message":"ticket not found","fields":{}}}"#;
        let not_found = failure(404, body);
        assert_eq!(render_api_error(&not_found), "error: ticket not found\n");
        assert_eq!(not_found.exit_status(), 2);
        assert_eq!(failure(500, "{}").exit_status(), 1);
    }

    #[test]
    fn errors_survive_unknown_codes_and_foreign_bodies() {
        let body = r#"{"error":{"code":"brand_new","message":"slow down","fields":{"x":"y"}}}"#;
        assert_eq!(render_api_error(&failure(429, body)), "error: slow down\n  x: y\n");
        let html = failure(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(render_api_error(&html), "error: the server answered 502 Bad Gateway\n");
        assert_eq!(html.exit_status(), 1);
        let text = failure(400, "nope\n");
        assert_eq!(render_api_error(&text), "error: the server answered 400 Bad Request: nope\n");
        let unauthenticated =
            failure(401, r#"{"error":{"code":"unauthenticated","message":"invalid token","fields":{}}}"#);
        assert!(render_api_error(&unauthenticated).contains("hint: check the API token"));
    }

    #[test]
    fn conflicts_show_why_and_the_duplicates() {
        let body = r#"{"error":{"code":"conflict","message":"the review flagged this ticket","fields":{},
            "details":{"flag_reason":"likely duplicate","duplicates":[{"ticket_id":"ACME-3","subject":"Disk full","status":"open","score":0.9}],"allowed":["open","closed"]}}}"#;
        let error = with_conflict_hint(failure(409, body).into(), false);
        let failure = error.downcast::<ApiFailure>().unwrap();
        let rendered = render_api_error(&failure);
        assert_eq!(
            rendered,
            "error: the review flagged this ticket\n  flagged: likely duplicate\n  possible duplicates:\n    ACME-3  open  90%  Disk full\n  allowed: open, closed\nhint: rerun with --review to see the review, or pass --yes to file it anyway\n"
        );
    }

    #[test]
    fn the_create_body_says_cli_and_acknowledges_only_with_yes() {
        let mut input = NewTicketInput {
            subject: "s".into(),
            description: "d".into(),
            category: None,
            severity: Some(Severity::Low),
            cluster: None,
            review: false,
            yes: false,
        };
        let body = serde_json::to_value(create_body(&input, None)).unwrap();
        assert_eq!(body["subject"], "s");
        assert_eq!(body["description"], "d");
        assert_eq!(body["severity"], "low");
        assert_eq!(body["source"], "cli");
        assert!(body["acknowledged"].is_null() && body["review_id"].is_null() && body["category"].is_null());
        input.yes = true;
        let body = serde_json::to_value(create_body(&input, Some("r1".into()))).unwrap();
        assert_eq!(body["acknowledged"], true);
        assert_eq!(body["review_id"], "r1");
        assert_eq!(trim_trailing_newlines("text\n\r\n".to_owned()), "text");
    }
}

//! The OpenAPI 3.0.3 document of the REST API, served at
//! `GET /api/v1/openapi.json` and held against the running server by
//! `server/tests/schemathesis.sh`.
//!
//! The document is assembled from small `json!` pieces (one function per area,
//! one per family of schemas): the macro's recursion limit bites on large
//! literals. Enumerations are spelled by the model types themselves
//! (`Status::ALL`, `ErrorCode::status`, …) so they cannot drift; the object
//! schemas are written here, and the tests below validate the serde output of
//! real model values against them, so a field added to a model without being
//! documented fails `cargo test`.
//!
//! Conventions: every response object lists all its fields as required (serde
//! always writes them; `Option`s as `null`) and forbids others, except fields
//! serde skips when empty (`skip_serializing_if`), which are optional and never
//! `null`; request bodies forbid unknown fields where the handler's type does
//! (`deny_unknown_fields`); optional request fields are `nullable` where the
//! handler takes an `Option`.

use crate::terminal::pty::{MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS};
use opsdesk_app::error::ErrorCode;
use opsdesk_app::model::{
    AgentActivity, AgentKind, AuthorType, Category, CommandAction, LlmSource, ProjectStatus, ProtocolRole, RanBy,
    ReviewStatus, Risk, Role, Severity, Source, StageState, Status, DEFAULT_AGENT_TIMEOUT_SECS, DEFAULT_PAGE_SIZE,
    MAX_AGENT_COMMANDS, MAX_AGENT_CONTENT_CHARS, MAX_AGENT_DESCRIPTION_CHARS, MAX_AGENT_FILES, MAX_AGENT_FILE_BYTES,
    MAX_AGENT_LINKS, MAX_AGENT_NAME_CHARS, MAX_AGENT_TIMEOUT_SECS, MAX_COMMAND_CHARS, MAX_COMMENT_CHARS,
    MAX_CRITERIA_CHARS, MAX_DESCRIPTION_CHARS, MAX_GOAL_CHARS, MAX_MESSAGE_CHARS, MAX_PAGE_SIZE,
    MAX_PROJECT_TITLE_CHARS, MAX_PROMPT_SUGGESTIONS, MAX_STAGES, MAX_STAGE_NAME_CHARS, MAX_SUBJECT_CHARS,
    MAX_TASKS_PER_STAGE, MIN_PASSWORD_LEN, TERMINAL_ACK_WINDOW,
};
use serde_json::{json, Map, Value};

/// Where the ticket routes live for token-authenticated clients.
const TICKETS: &str = "/api/v1/org/support/tickets";

/// Where the project routes live for token-authenticated clients.
const PROJECTS: &str = "/api/v1/org/projects";

/// Longest person or token name (`accounts::MAX_NAME_LEN`, which is private).
const MAX_NAME_CHARS: usize = 100;

/// Limits private to `crate::agents` and `crate::conversation`, mirrored:
/// most headers of a custom agent, longest prompt suggestion, most agents on
/// a ticket, longest decision reason, longest long-poll wait (seconds),
/// largest canvas file served (MiB).
const MAX_AGENT_HEADERS: usize = 20;
const MAX_SUGGESTION_CHARS: usize = 300;
const MAX_ASSIGNED_AGENTS: usize = 8;
const MAX_REASON_CHARS: usize = 2_000;
const MAX_WAIT_SECS: u64 = 60;
const MAX_SERVED_FILE_MIB: u64 = 16;

/// Live terminals one ticket may have at once (private to `crate::terminal`).
const MAX_TERMINALS_PER_TICKET: usize = 4;

/// Every agent activity (a plain serde enum, without `ALL`). The exhaustive
/// `match` in the tests stops this list from missing one added later.
const AGENT_ACTIVITIES: [AgentActivity; 2] = [AgentActivity::Working, AgentActivity::Idle];

/// Every error code. The exhaustive `match` in the tests stops this list from
/// missing a code added later.
const ERROR_CODES: [ErrorCode; 11] = [
    ErrorCode::BadRequest,
    ErrorCode::InvalidJson,
    ErrorCode::Unauthenticated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::MethodNotAllowed,
    ErrorCode::Conflict,
    ErrorCode::PayloadTooLarge,
    ErrorCode::UnsupportedMediaType,
    ErrorCode::ValidationFailed,
    ErrorCode::Internal,
];

/// What every authenticated operation may answer besides its own outcomes:
/// bad JSON or body (400), no valid token (401), unknown route or id (404),
/// wrong method (405), body over 1 MiB (413), not JSON (415), invalid (422),
/// and the generic 500.
const COMMON_ERRORS: &[u16] = &[400, 401, 404, 405, 413, 415, 422, 500];

/// Public routes still refuse a bad token: credentials, when sent, must be valid.
const BAD_TOKEN_ON_PUBLIC_ROUTE: &str = "An `Authorization` header was sent and is not a valid token.";

/// The media types an attachment may be downloaded as (the type detected from
/// its content when it was uploaded).
const ATTACHMENT_TYPES: &[&str] = &[
    "application/octet-stream",
    "text/plain",
    "image/png",
    "image/jpeg",
    "application/gzip",
    "application/x-tar",
    "application/json",
    "application/yaml",
];

/// `GET /api/v1/openapi.json`: this document (no authentication needed).
pub async fn serve() -> axum::Json<Value> {
    axum::Json(document())
}

/// The whole OpenAPI 3.0.3 document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": info(),
        "servers": [{ "url": "/", "description": "this server" }],
        "security": [{ "bearerAuth": [] }],
        "tags": tags(),
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: Admin → API tokens, `POST /api/v1/tokens`, or \
                        `opsdesk admin create-token`. It acts as its person, with their role.",
                },
            },
            "parameters": parameters(),
            "responses": error_responses(),
            "schemas": schemas(),
        },
    })
}

// --- document header ------------------------------------------------------

fn info() -> Value {
    json!({
        "title": "opsdesk",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "The REST API of opsdesk, a self-hosted helpdesk.\n\n\
            Scripts authenticate with `Authorization: Bearer <token>`. Every error has one shape, \
            `{\"error\": {\"code\", \"message\", \"fields\"}}`, and each code one HTTP status. \
            Roles (`viewer` < `member` < `operator` < `admin`) gate what a caller may do; \
            another org's ids answer 404, exactly as ids that never existed.\n\n\
            The ticket routes also exist under `/org/support/tickets` for browser sessions \
            (which must send an `Origin` naming this server on writes); only the token routes \
            are described here.",
        "license": { "name": "AGPL-3.0-or-later", "url": "https://www.gnu.org/licenses/agpl-3.0.html" },
    })
}

fn tags() -> Value {
    json!([
        { "name": "system", "description": "Health and this document." },
        { "name": "identity", "description": "The caller, the org's people, API tokens, instances, agents." },
        {
            "name": "tickets",
            "description": "Support tickets: review, create, list, update, comment, attach; work them with agents \
                and shared terminals.",
        },
        { "name": "agents", "description": "Built-in agents over the agent protocol." },
        {
            "name": "projects",
            "description": "Projects: a goal and a plan of ordered stages of tasks. Approving the plan opens one \
                ticket per task of the first stage; each later stage opens once every ticket of the one before is \
                resolved or closed, or when an operator starts it early.",
        },
    ])
}

// --- paths ----------------------------------------------------------------

fn paths() -> Value {
    let mut paths = Map::new();
    for (path, item) in system_paths()
        .into_iter()
        .chain(identity_paths())
        .chain(ticket_paths())
        .chain(conversation_paths())
        .chain(terminal_paths())
        .chain(agent_paths())
        .chain(project_paths())
    {
        paths.insert(path, item);
    }
    Value::Object(paths)
}

fn system_paths() -> Vec<(String, Value)> {
    let health = Op::new("health", "system", "Whether the server and its database answer")
        .public()
        .response(200, json_response("The database answers.", sref("Health")))
        .describe(401, BAD_TOKEN_ON_PUBLIC_ROUTE)
        .response(405, json!({ "description": "Not a GET (no body; `Allow` names GET, HEAD)." }))
        .errors(&[500, 503]);
    let openapi = Op::new("getOpenApi", "system", "This OpenAPI document")
        .public()
        .response(200, json_response("The document.", json!({ "type": "object" })))
        .errors(&[404, 405, 500])
        .describe(401, BAD_TOKEN_ON_PUBLIC_ROUTE);
    vec![
        ("/healthz".to_owned(), json!({ "get": health.build() })),
        ("/api/v1/openapi.json".to_owned(), json!({ "get": openapi.build() })),
    ]
}

fn identity_paths() -> Vec<(String, Value)> {
    let me = Op::new("getMe", "identity", "Who is calling: the person, their org and role")
        .response(200, json_response("The caller.", sref("Me")))
        .errors(COMMON_ERRORS);
    let list_users = Op::new("listUsers", "identity", "The people in the caller's org")
        .response(200, json_response("The org's people.", array(sref("UserView"))))
        .errors(COMMON_ERRORS);
    let create_user = Op::new("createUser", "identity", "Add a person to the org (admins)")
        .json_body("CreateUserRequest", true)
        .response(201, json_response("The person was added.", sref("UserView")))
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(409, "The email address is taken.");
    let list_tokens =
        Op::new("listTokens", "identity", "API tokens: all of the org's for admins, else the caller's own")
            .response(200, json_response("The tokens (never their secrets).", array(sref("ApiTokenView"))))
            .errors(COMMON_ERRORS);
    let create_token = Op::new("createToken", "identity", "Create an API token acting as the caller")
        .json_body("CreateTokenRequest", true)
        .response(201, json_response("The token, with its secret: shown this once.", sref("NewApiToken")))
        .errors(COMMON_ERRORS)
        .errors(&[403]);
    let revoke_token = Op::new("revokeToken", "identity", "Revoke an API token (own, or any of the org's for admins)")
        .response(204, json!({ "description": "Revoked." }))
        .errors(COMMON_ERRORS)
        .errors(&[403]);
    let list_instances = Op::new("listInstances", "identity", "The org's instances (context key names, never values)")
        .response(200, json_response("The instances, the built-in `local` first.", array(sref("InstanceView"))))
        .errors(COMMON_ERRORS);
    let create_instance = Op::new("createInstance", "identity", "Add an instance (admins)")
        .json_body("CreateInstanceRequest", true)
        .response(201, json_response("The instance, without its context's values.", sref("InstanceView")))
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(409, "The org already has an instance with this name.");
    let list_agents =
        Op::new("listAgents", "identity", "The org's agents, built-in and custom (header names, never values)")
            .response(200, json_response("The agents.", array(sref("AgentView"))))
            .errors(COMMON_ERRORS);
    let create_agent = Op::new("createAgent", "identity", "Register a custom agent (admins)")
        .doc("opsdesk calls it at `{endpoint_url}/api/sendMessage` with `headers`, whose values are never shown again.")
        .json_body("CreateAgentRequest", true)
        .response(201, json_response("The agent, without its header values.", sref("AgentView")))
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(409, "The org already has an agent with this slug.")
        .describe(422, "Invalid fields (`fields` names each), or `instance_ids` names an instance not in the org.");
    let get_llm = Op::new("getModelSettings", "identity", "The model endpoint in force for the org (never its key)")
        .doc("The org's own endpoint (`source: org`), else the server's `OPSDESK_LLM_*` (`server`), else `none`.")
        .response(200, json_response("The model settings.", sref("LlmSettingsView")))
        .errors(COMMON_ERRORS);
    let set_llm = Op::new("setModelSettings", "identity", "Set the org's own model endpoint (admins)")
        .doc("Any OpenAI-compatible chat-completions endpoint. `api_key` left out keeps the stored key; `\"\"` removes it.")
        .json_body("UpdateLlmSettingsRequest", true)
        .response(200, json_response("The settings now in force.", sref("LlmSettingsView")))
        .errors(COMMON_ERRORS)
        .errors(&[403]);
    let clear_llm = Op::new("clearModelSettings", "identity", "Go back to the server's model endpoint (admins)")
        .response(200, json_response("The settings now in force.", sref("LlmSettingsView")))
        .errors(COMMON_ERRORS)
        .errors(&[403]);
    vec![
        ("/api/v1/me".to_owned(), json!({ "get": me.build() })),
        (
            "/api/v1/org/llm".to_owned(),
            json!({ "get": get_llm.build(), "put": set_llm.build(), "delete": clear_llm.build() }),
        ),
        ("/api/v1/org/instances".to_owned(), json!({ "get": list_instances.build(), "post": create_instance.build() })),
        ("/api/v1/org/agents".to_owned(), json!({ "get": list_agents.build(), "post": create_agent.build() })),
        ("/api/v1/users".to_owned(), json!({ "get": list_users.build(), "post": create_user.build() })),
        ("/api/v1/tokens".to_owned(), json!({ "get": list_tokens.build(), "post": create_token.build() })),
        (
            "/api/v1/tokens/{token_id}".to_owned(),
            json!({ "parameters": [pref("TokenId")], "delete": revoke_token.build() }),
        ),
    ]
}

fn ticket_paths() -> Vec<(String, Value)> {
    vec![
        (format!("{TICKETS}/review"), json!({ "post": review_ticket().build() })),
        (TICKETS.to_owned(), json!({ "get": list_tickets().build(), "post": create_ticket().build() })),
        (
            format!("{TICKETS}/{{ticket_id}}"),
            json!({
                "parameters": [pref("TicketId")],
                "get": get_ticket().build(),
                "patch": update_ticket().build(),
                "delete": delete_ticket().build(),
            }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/comments"),
            json!({ "parameters": [pref("TicketId")], "post": add_comment().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/close"),
            json!({ "parameters": [pref("TicketId")], "post": close_ticket().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/follow"),
            json!({ "parameters": [pref("TicketId")], "post": follow_ticket().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/attachments"),
            json!({ "parameters": [pref("TicketId")], "post": upload_attachment().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/attachments/{{attachment_id}}"),
            json!({
                "parameters": [pref("TicketId"), pref("AttachmentId")],
                "get": download_attachment().build(),
            }),
        ),
    ]
}

fn review_ticket() -> Op {
    Op::new("reviewTicket", "tickets", "Run the AI review of a ticket before filing it")
        .doc(
            "Suggests a summary, severity and category, checks the text's quality, may ask \
            clarifying questions and lists likely duplicates. Nothing is filed: pass the answer's \
            `review_id` to `createTicket`.",
        )
        .json_body("ReviewRequest", true)
        .response(200, json_response("The review.", sref("Review")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
        .describe(422, "Invalid subject or description, or an unknown `cluster_id`.")
}

fn create_ticket() -> Op {
    let links = json!({
        "GetTicket": link("getTicket"),
        "UpdateTicket": link("updateTicket"),
        "AddComment": link("addComment"),
        "CloseTicket": link("closeTicket"),
        "FollowTicket": link("followTicket"),
        "UploadAttachment": link("uploadAttachment"),
        "DeleteTicket": link("deleteTicket"),
    });
    let mut created = json_response("The ticket was filed.", sref("TicketDetail"));
    created["links"] = links;
    Op::new("createTicket", "tickets", "File a ticket, from a review or from a subject and description")
        .doc(
            "With `review_id`, the review's text and suggestions are used (fields given here win). \
            A flagged review must be `acknowledged`. With `agent_id`, the agent is assigned, and `message` \
            is sent to it as the first turn.",
        )
        .json_body("CreateTicketRequest", true)
        .response(201, created)
        .errors(COMMON_ERRORS)
        .errors(&[403])
        .describe(
            422,
            "Invalid fields; a `review_id`, instance or `agent_id` unknown in the caller's org; an agent that may \
            not work on the instance; a `message` without `agent_id`; or `cluster_id` and `instance_id` disagree.",
        )
        .response(
            409,
            json_response(
                "The review flagged the ticket and `acknowledged` is not true; `details` says why.",
                sref("FlaggedConflict"),
            ),
        )
}

fn list_tickets() -> Op {
    let params = json!([
        {
            "name": "status", "in": "query", "style": "form", "explode": true,
            "description": "Only tickets in these statuses (repeat the parameter for several).",
            "schema": array(sref("Status")),
        },
        { "name": "cluster_id", "in": "query", "description": "Only tickets about this instance.", "schema": string() },
        {
            "name": "q", "in": "query", "description": "Search the subject and description.",
            "schema": { "type": "string", "maxLength": MAX_SUBJECT_CHARS },
        },
        {
            "name": "page", "in": "query", "description": "From 1.",
            "schema": { "type": "integer", "minimum": 1, "maximum": u32::MAX, "default": 1 },
        },
        {
            "name": "page_size", "in": "query",
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE },
        },
    ]);
    Op::new("listTickets", "tickets", "List the org's tickets, newest first")
        .params(params)
        .response(200, json_response("One page of tickets.", sref("TicketPage")))
        .errors(COMMON_ERRORS)
        .describe(422, "A filter or page value is out of range.")
}

fn get_ticket() -> Op {
    Op::new("getTicket", "tickets", "A ticket with its timeline, comments and attachments")
        .response(200, json_response("The ticket.", sref("TicketDetail")))
        .errors(COMMON_ERRORS)
}

fn update_ticket() -> Op {
    let conflict = json_response(
        "The status cannot move there from the current one (`details.allowed` lists where it can), \
        or the ticket changed while saving.",
        sref("TransitionConflict"),
    );
    Op::new(
        "updateTicket",
        "tickets",
        "Change a ticket's status, severity, category or subject, or link it as a duplicate (operators)",
    )
    .json_body("UpdateTicketRequest", true)
    .response(200, json_response("The updated ticket.", sref("TicketDetail")))
    .errors(COMMON_ERRORS)
    .errors(&[403])
    .response(409, conflict)
}

fn delete_ticket() -> Op {
    Op::new("deleteTicket", "tickets", "Delete a ticket and everything on it (admins)")
        .response(204, json!({ "description": "Deleted." }))
        .errors(COMMON_ERRORS)
        .errors(&[403])
}

fn add_comment() -> Op {
    Op::new("addComment", "tickets", "Comment on a ticket")
        .doc("`author_type: team` answers as the support team and needs the operator role.")
        .json_body("CreateCommentRequest", true)
        .response(201, json_response("The new timeline entry.", sref("TimelineEntry")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
}

fn close_ticket() -> Op {
    Op::new("closeTicket", "tickets", "Close a ticket")
        .doc("The body is optional: an empty body closes without a reason.")
        .json_body("CloseTicketRequest", false)
        .response(200, json_response("The closed ticket.", sref("TicketDetail")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
        .describe(403, "Only operators and the person who raised the ticket may close it.")
        .response(409, json_response("The ticket is already closed.", sref("TransitionConflict")))
}

fn follow_ticket() -> Op {
    Op::new("followTicket", "tickets", "Follow a ticket (e.g. instead of filing a duplicate)")
        .doc("The body is optional. Following needs only the viewer role; a `comment` needs member.")
        .json_body("FollowTicketRequest", false)
        .response(200, json_response("The ticket, now followed.", sref("TicketDetail")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
}

fn upload_attachment() -> Op {
    let body = json!({
        "required": true,
        "content": { "multipart/form-data": { "schema": sref("AttachmentUpload") } },
    });
    let mut created = json_response("The stored attachment.", sref("Attachment"));
    created["links"] = json!({
        "DownloadAttachment": {
            "operationId": "downloadAttachment",
            "parameters": { "ticket_id": "$request.path.ticket_id", "attachment_id": "$response.body#/id" },
        },
    });
    Op::new("uploadAttachment", "tickets", "Attach a file to a ticket")
        .doc("The type is detected from the content, not the name; only some types are accepted.")
        .body(body)
        .response(201, created)
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(409, "The ticket has as many attachments as it may.")
        .describe(413, "The file is larger than attachments may be.")
        .describe(415, "The file's type is not accepted (or the body is not multipart).")
}

fn download_attachment() -> Op {
    let mut content = Map::new();
    for media_type in ATTACHMENT_TYPES {
        content.insert((*media_type).to_owned(), json!({ "schema": { "type": "string", "format": "binary" } }));
    }
    let ok = json!({
        "description": "The file, as a download, typed as detected at upload.",
        "headers": {
            "Content-Disposition": {
                "required": true,
                "description": "`attachment; filename=\"…\"`: browsers save it rather than render it.",
                "schema": { "type": "string", "pattern": "^attachment" },
            },
        },
        "content": content,
    });
    Op::new("downloadAttachment", "tickets", "Download an attachment").response(200, ok).errors(COMMON_ERRORS)
}

fn conversation_paths() -> Vec<(String, Value)> {
    let ticket = || json!([pref("TicketId")]);
    vec![
        (
            format!("{TICKETS}/{{ticket_id}}/messages"),
            json!({ "parameters": ticket(), "post": post_message().build() }),
        ),
        (format!("{TICKETS}/{{ticket_id}}/retry"), json!({ "parameters": ticket(), "post": retry_turn().build() })),
        (
            format!("{TICKETS}/{{ticket_id}}/commands/{{cmd_id}}"),
            json!({ "parameters": [pref("TicketId"), pref("CommandId")], "post": decide_command().build() }),
        ),
        (format!("{TICKETS}/{{ticket_id}}/agents"), json!({ "parameters": ticket(), "put": assign_agents().build() })),
        (format!("{TICKETS}/{{ticket_id}}/events"), json!({ "parameters": ticket(), "get": ticket_events().build() })),
        (format!("{TICKETS}/{{ticket_id}}/files"), json!({ "parameters": ticket(), "get": list_files().build() })),
        (
            format!("{TICKETS}/{{ticket_id}}/files/{{path}}"),
            json!({ "parameters": [pref("TicketId"), pref("CanvasPath")], "get": get_file().build() }),
        ),
        (format!("{TICKETS}/{{ticket_id}}/live"), json!({ "parameters": ticket(), "get": watch_ticket().build() })),
    ]
}

fn post_message() -> Op {
    Op::new("postMessage", "tickets", "Send a message to an agent assigned to the ticket")
        .doc(
            "Commits the message, with any decisions on pending commands, and answers at once. The agent's turn \
            runs in the background (after a running one); its reply and proposed commands arrive on the timeline.",
        )
        .json_body("PostMessageRequest", true)
        .response(202, json_response("The message was committed.", sref("MessageAccepted")))
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(403, "Messages need the member role; `decisions` need operator.")
        .describe(409, "The ticket is resolved or closed: reopen it first.")
        .describe(
            422,
            "No agent is assigned (or `agent_id` is not); `content` is too long; a decision is `execute` or names \
            an unknown or already sent command; or there is nothing to send.",
        )
}

fn retry_turn() -> Op {
    Op::new("retryTurn", "tickets", "Run the agent's turn again after it failed")
        .doc("Sends the messages still waiting for an answer again, with what they carry.")
        .response(
            202,
            json_response("The turn started or is queued; `seq` is its last message.", sref("MessageAccepted")),
        )
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(409, "No message is waiting for an answer, or the ticket is resolved or closed.")
}

fn decide_command() -> Op {
    Op::new("decideCommand", "tickets", "Approve, reject or ignore a proposed command, or execute it now (operators)")
        .doc(
            "`approve` and `reject` go to the agent with the next message; `ignore` sends nothing. `execute` runs \
            the command now on the ticket's instance, in its canvas directory: typed into the ticket's first live \
            shell terminal (opened if there is none) where the instance has a shell, else run directly. Its \
            `command_ran` entry follows on the timeline, and its output reaches the agent with the next message \
            (from a terminal, only while the session shares context).",
        )
        .json_body("DecideCommandRequest", true)
        .response(200, json_response("The `command_decided` entry.", sref("TimelineEntry")))
        .response(202, json_response("`execute`: the `command_decided` entry; the run follows.", sref("TimelineEntry")))
        .errors(COMMON_ERRORS)
        .errors(&[403, 409])
        .describe(403, "Needs the operator role.")
        .describe(404, "No such ticket, or no such command on it.")
        .describe(409, "The decision was already sent to the agent, or the ticket is resolved or closed.")
        .describe(422, &format!("Invalid `action`, or `reason` longer than {MAX_REASON_CHARS} characters."))
}

fn assign_agents() -> Op {
    Op::new("assignAgents", "tickets", "Set the agents working the ticket")
        .doc("The first gets messages by default; an empty list unassigns all. An unchanged list adds no entry.")
        .json_body("AssignAgentsRequest", true)
        .response(200, json_response("The ticket, with its `agents`.", sref("TicketDetail")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
        .describe(
            422,
            &format!(
                "More than {MAX_ASSIGNED_AGENTS} agents, or one is not in the org or may not work on the ticket's \
                instance."
            ),
        )
}

fn ticket_events() -> Op {
    let params = json!([
        {
            "name": "after", "in": "query", "description": "Only entries after this seq (the last `last_seq`).",
            "schema": { "type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX, "default": 0 },
        },
        {
            "name": "wait", "in": "query", "description": "Seconds to wait for an entry when there is none yet.",
            "schema": { "type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECS, "default": 0 },
        },
    ]);
    Op::new("getTicketEvents", "tickets", "Timeline entries after a seq, waiting for new ones (long poll)")
        .params(params)
        .response(200, json_response("The entries after `after` (none if the wait ran out).", sref("EventsPage")))
        .errors(COMMON_ERRORS)
        .describe(422, "`after` or `wait` is out of range.")
}

fn list_files() -> Op {
    Op::new("listTicketFiles", "tickets", "The files of the ticket's canvas directory")
        .doc("Agents write files there for the commands they propose, and commands run there.")
        .response(200, json_response("The regular files, by path.", array(sref("CanvasFile"))))
        .errors(COMMON_ERRORS)
}

fn get_file() -> Op {
    let ok = json!({
        "description": "The file: UTF-8 text as `text/plain`, anything else as `application/octet-stream`.",
        "headers": {
            "Content-Disposition": {
                "required": true,
                "description": "`inline` for text; `attachment; filename=\"…\"` otherwise or with `download`.",
                "schema": { "type": "string", "pattern": "^(inline|attachment)" },
            },
        },
        "content": {
            "text/plain": { "schema": string() },
            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
        },
    });
    let params = json!([{
        "name": "download", "in": "query", "description": "Any value but `0` serves the file as a download.",
        "schema": string(),
    }]);
    Op::new("getTicketFile", "tickets", "One file of the ticket's canvas directory")
        .params(params)
        .response(200, ok)
        .errors(COMMON_ERRORS)
        .describe(
            400,
            &format!(
                "The path leads outside the canvas directory or through a symbolic link, or the file is larger \
                than {MAX_SERVED_FILE_MIB} MiB."
            ),
        )
        .describe(404, "No such ticket, or no such file.")
}

fn watch_ticket() -> Op {
    let not_upgrade = json!({
        "description": "Not a websocket upgrade request (a plain-text body, not the error format).",
        "content": { "text/plain": { "schema": string() } },
    });
    Op::new("watchTicket", "tickets", "The ticket live, over a websocket")
        .doc(
            "A websocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`) to JSON text frames. The client \
            sends `{\"type\": \"resume\", \"after\": <seq>}` (`ClientFrame`) within 15 seconds, and again with \
            its last seq whenever it lost track. The server (`ServerFrame`) answers with `entries` frames: every \
            timeline entry after that seq, then each new one as it is committed, in seq order without gaps. It \
            also sends `watchers` (everyone watching now), `activity` (an agent is `working` or `idle`), and \
            `deleted` (the ticket was deleted; the socket closes). A malformed client frame closes the socket \
            with code 1008.",
        )
        .response(101, json!({ "description": "Switching protocols: the websocket is open." }))
        .errors(COMMON_ERRORS)
        .response(400, not_upgrade)
        .describe(404, "No such ticket (checked once the request is a websocket upgrade).")
}

fn terminal_paths() -> Vec<(String, Value)> {
    let session = || json!([pref("TicketId"), pref("SessionId")]);
    vec![
        (
            format!("{TICKETS}/{{ticket_id}}/terminals"),
            json!({
                "parameters": [pref("TicketId")],
                "get": list_terminals().build(),
                "post": open_terminal().build(),
            }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/terminals/scopes"),
            json!({ "parameters": [pref("TicketId")], "get": list_terminal_scopes().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/terminals/{{session_id}}"),
            json!({ "parameters": session(), "patch": update_terminal().build(), "delete": end_terminal().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/terminals/{{session_id}}/recording"),
            json!({ "parameters": session(), "get": get_terminal_recording().build() }),
        ),
        (
            format!("{TICKETS}/{{ticket_id}}/terminals/{{session_id}}/live"),
            json!({ "parameters": session(), "get": watch_terminal().build() }),
        ),
    ]
}

/// A link from a response carrying a terminal session (`id`) to an operation on it.
fn session_link(operation_id: &str) -> Value {
    json!({
        "operationId": operation_id,
        "parameters": { "ticket_id": "$request.path.ticket_id", "session_id": "$response.body#/id" },
    })
}

fn list_terminals() -> Op {
    Op::new("listTerminals", "tickets", "The ticket's terminal sessions, live and ended")
        .response(200, json_response("The sessions, oldest first.", array(sref("TerminalSession"))))
        .errors(COMMON_ERRORS)
}

fn open_terminal() -> Op {
    let mut created = json_response("The new session, live.", sref("TerminalSession"));
    created["links"] = json!({
        "UpdateTerminal": session_link("updateTerminal"),
        "EndTerminal": session_link("endTerminal"),
        "GetTerminalRecording": session_link("getTerminalRecording"),
    });
    Op::new("openTerminal", "tickets", "Open a shared terminal on the ticket's instance (operators)")
        .doc(
            "Starts a shell on the ticket's instance (or in one of its containers: see `listTerminalScopes`), in \
            the ticket's canvas directory, recorded as asciicast from the first byte. Everyone who may read the \
            ticket can watch it live (`watchTerminal`); operators type. Commands typed in it land on the \
            timeline as `command_ran` entries with `terminal` set, and reach the agents while the session shares \
            context (`updateTerminal`). The body may be `{}`: the scope defaults to the instance's shell.",
        )
        .json_body("OpenTerminalRequest", true)
        .response(201, created)
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
        .describe(
            409,
            &format!(
                "The ticket is resolved or closed (reopen it first), or it already has \
                {MAX_TERMINALS_PER_TICKET} live terminals, or the server runs as many as it allows: close one first."
            ),
        )
        .describe(
            422,
            "The scope cannot open here (`fields.scope` says why): the instance has no shell or no such \
            container, or `kind` is unknown.",
        )
}

fn list_terminal_scopes() -> Op {
    Op::new("listTerminalScopes", "tickets", "Where a terminal can open on the ticket's instance (operators)")
        .doc("The instance's shell when it has one, then each container it lists; open one with `openTerminal`.")
        .response(200, json_response("The choices.", sref("TerminalScopes")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
}

fn update_terminal() -> Op {
    Op::new("updateTerminal", "tickets", "Share a terminal's commands with the agents, or stop sharing (operators)")
        .doc(
            "While `share_context` is on, each command typed in the session goes to the agents, with its output, \
            with the next message; its `command_ran` entry is recorded either way. A change adds a \
            `terminal_shared` entry; the current value again changes nothing.",
        )
        .json_body("UpdateTerminalRequest", true)
        .response(200, json_response("The session.", sref("TerminalSession")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
        .describe(404, "No such ticket, or no such terminal session on it.")
        .describe(409, "The session has ended.")
}

fn end_terminal() -> Op {
    Op::new("endTerminal", "tickets", "End a live terminal session (operators)")
        .doc(
            "Stops the shell and waits (up to 10 seconds) for its recording to be complete; a `terminal_closed` \
            entry follows on the timeline. The session and its recording stay.",
        )
        .response(200, json_response("The ended session (`live: false`).", sref("TerminalSession")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
        .describe(404, "No such ticket, or no such terminal session on it.")
        .describe(409, "The session has ended already.")
}

fn get_terminal_recording() -> Op {
    let ok = json!({
        "description": "The recording, asciicast v2: a JSON header line (`version` 2, `width`, `height`, \
            `timestamp`, …), then one JSON array per line: `[time, \"o\", data]` for output, \
            `[time, \"r\", \"COLSxROWS\"]` for a resize, `[time, \"m\", label]` for a marker, times in seconds \
            since the start. A live session's recording so far, up to its last complete line.",
        "headers": {
            "Content-Disposition": {
                "required": true,
                "description": "`attachment; filename=\"<ticket>-terminal-<id>.cast\"`: browsers save it.",
                "schema": { "type": "string", "pattern": "^attachment" },
            },
        },
        "content": { "application/x-asciicast": { "schema": string() } },
    });
    Op::new("getTerminalRecording", "tickets", "Download a terminal session's recording (asciicast v2)")
        .response(200, ok)
        .errors(COMMON_ERRORS)
        .describe(404, "No such ticket, no such terminal session on it, or no recording.")
}

fn watch_terminal() -> Op {
    let not_upgrade = json!({
        "description": "Not a websocket upgrade request (a plain-text body, not the error format).",
        "content": { "text/plain": { "schema": string() } },
    });
    Op::new("watchTerminal", "tickets", "A terminal live, over a websocket (operators type)")
        .doc(&format!(
            "A websocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`). Binary frames carry the \
            terminal's bytes both ways: its output to every watcher, and keystrokes to the shell (taken only from \
            operators; anyone else who may read the ticket watches). Text frames are JSON objects tagged by \
            `type`. Server → client: `hello` `{{session, can_type}}` first (a `TerminalSession`, and whether this \
            watcher may type); `reset` `{{offset, cols, rows}}`, followed by one binary frame with the current \
            screen: clear the terminal, size it, draw that frame; the stream goes on from byte `offset` (sent \
            after `hello`, and again to a watcher that fell too far behind); `size` `{{cols, rows}}` (the \
            terminal was resized); `shared` `{{share_context}}` (context sharing was switched); `ended` \
            `{{exit_code, reason}}` (`exit_code` may be `null`; the socket closes after it). Client → server: \
            `ack` `{{offset}}`, every stream byte before `offset` is drawn (the server keeps at most {} MiB \
            unacknowledged in flight: a client that does not ack stalls); `resize` `{{cols, rows}}` (operators \
            only; clamped to {MIN_COLS}–{MAX_COLS} columns and {MIN_ROWS}–{MAX_ROWS} rows). A malformed text \
            frame closes the socket with code 1008.",
            TERMINAL_ACK_WINDOW / (1024 * 1024),
        ))
        .response(101, json!({ "description": "Switching protocols: the websocket is open." }))
        .errors(COMMON_ERRORS)
        .response(400, not_upgrade)
        .describe(
            404,
            "No such ticket, or no such terminal session on it (checked once the request is a websocket upgrade).",
        )
        .describe(409, "The session has ended: replay its recording (`getTerminalRecording`) instead.")
}

fn agent_paths() -> Vec<(String, Value)> {
    let send = Op::new("sendMessage", "agents", "A built-in agent's answer over the agent protocol (operators)")
        .doc(
            "What opsdesk sends custom agents at `{endpoint_url}/api/sendMessage`, answered by a built-in agent. \
            Runs commands: before answering, it runs the approved commands of the last message \
            (`data.cmds` with `execute: true`) on the ticket's instance, in its canvas directory. `thread_id` \
            names the ticket (its internal id).",
        )
        .extension("x-opsdesk-runs-commands", json!(true))
        .json_body("SendMessageRequest", true)
        .response(200, json_response("The agent's answer.", sref("SendMessageResponse")))
        .errors(COMMON_ERRORS)
        .errors(&[403])
        .describe(403, "Needs the operator role.")
        .describe(404, "No built-in agent with this slug in the caller's org.")
        .describe(
            422,
            "No `thread_id`, or no ticket of the caller's org with it; no messages; or the last message is not the \
            user's.",
        );
    vec![(
        "/agents/{slug}/api/sendMessage".to_owned(),
        json!({ "parameters": [pref("AgentSlug")], "post": send.build() }),
    )]
}

fn project_paths() -> Vec<(String, Value)> {
    vec![
        (PROJECTS.to_owned(), json!({ "get": list_projects().build(), "post": create_project().build() })),
        (format!("{PROJECTS}/templates"), json!({ "get": list_plan_templates().build() })),
        (format!("{PROJECTS}/draft"), json!({ "post": draft_plan().build() })),
        (
            format!("{PROJECTS}/{{project_id}}"),
            json!({
                "parameters": [pref("ProjectId")],
                "get": get_project().build(),
                "patch": update_project().build(),
            }),
        ),
        (
            format!("{PROJECTS}/{{project_id}}/approve"),
            json!({ "parameters": [pref("ProjectId")], "post": approve_project().build() }),
        ),
        (
            format!("{PROJECTS}/{{project_id}}/stages/{{stage}}/start"),
            json!({ "parameters": [pref("ProjectId"), pref("StageNumber")], "post": start_project_stage().build() }),
        ),
    ]
}

/// A link from a response carrying a project (`id`) to an operation on it.
fn project_link(operation_id: &str) -> Value {
    json!({ "operationId": operation_id, "parameters": { "project_id": "$response.body#/id" } })
}

fn list_projects() -> Op {
    Op::new("listProjects", "projects", "The org's projects with their progress, newest first")
        .response(200, json_response("The projects, without their plans.", array(sref("ProjectSummary"))))
        .errors(COMMON_ERRORS)
}

fn create_project() -> Op {
    let mut created = json_response("The project, a draft at revision 1.", sref("Project"));
    created["links"] = json!({
        "GetProject": project_link("getProject"),
        "UpdateProject": project_link("updateProject"),
        "ApproveProject": project_link("approveProject"),
    });
    Op::new("createProject", "projects", "Create a project from a goal and a plan, as a draft")
        .doc(
            "Nothing opens until the plan is approved (`approveProject`). A task's `agent_id` (id or slug) and \
            `instance_id` (id or name) are stored as ids; its ticket gets them when its stage opens. \
            `draftPlan` drafts a plan to start from.",
        )
        .json_body("CreateProjectRequest", true)
        .response(201, created)
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the member role.")
        .describe(
            422,
            "Invalid fields (`fields` names each, e.g. `stages[0].tasks[1].title`), or a task's `agent_id` or \
            `instance_id` is not in the org.",
        )
}

fn list_plan_templates() -> Op {
    Op::new("listPlanTemplates", "projects", "The plan templates `draftPlan` can start from")
        .response(200, json_response("The templates.", array(sref("PlanTemplate"))))
        .errors(COMMON_ERRORS)
}

fn draft_plan() -> Op {
    Op::new("draftPlan", "projects", "Draft a plan from a goal; nothing is stored")
        .doc(
            "Fills a template (`template`, else the one that fits the goal best) with the goal. `agent_id` and \
            `instance_id` are put on every task. Edit the draft, then pass it to `createProject`.",
        )
        .json_body("DraftPlanRequest", true)
        .response(200, json_response("The drafted plan.", sref("PlanDraft")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the member role.")
        .describe(
            422,
            "`goal` is blank or too long, `template` is no template's `key`, or `agent_id` or `instance_id` is not \
            in the org.",
        )
}

fn get_project() -> Op {
    Op::new("getProject", "projects", "A project with its plan, its stages' tickets and every revision")
        .response(200, json_response("The project.", sref("Project")))
        .errors(COMMON_ERRORS)
}

fn update_project() -> Op {
    Op::new("updateProject", "projects", "Edit a project's plan: a new revision")
        .doc(
            "Fields left out keep their value. Send the `revision` you read: if the plan changed since, nothing is \
            saved (409), so that two editors never overwrite each other unknowingly. Stages open from the latest \
            approved revision: approve the new one (`approveProject`) for the stages still to open to follow it.",
        )
        .json_body("UpdateProjectRequest", true)
        .response(200, json_response("The project, at its new revision.", sref("Project")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the member role.")
        .describe(409, "`revision` is not the current revision: the plan changed since it was read.")
        .describe(
            422,
            "Invalid fields (`fields` names each, e.g. `stages[0].name`), or a task's `agent_id` or `instance_id` \
            is not in the org.",
        )
}

fn approve_project() -> Op {
    Op::new("approveProject", "projects", "Approve the current revision of a project's plan (operators)")
        .doc(
            "The body may be left out (or be `{}`): the latest revision is approved. Approving a draft makes the \
            project `active` and opens its first stage: one ticket per task. Later stages open from the latest \
            approved revision; approving an approved revision again opens nothing.",
        )
        .json_body("ApproveProjectRequest", false)
        .response(200, json_response("The project, approved.", sref("Project")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
        .describe(409, "`revision` is not the current revision: the plan changed since it was read.")
}

fn start_project_stage() -> Op {
    Op::new("startProjectStage", "projects", "Start a stage now: open its tickets early (operators)")
        .doc(
            "Each stage opens by itself once every ticket of the stage before is resolved or closed; this opens \
            the next one early: one ticket per task of the approved plan's stage.",
        )
        .response(200, json_response("The project, with the stage open.", sref("Project")))
        .errors(COMMON_ERRORS)
        .describe(403, "Needs the operator role.")
        .describe(404, "No such project in the caller's org, or no such stage in its plan.")
        .describe(
            409,
            "The plan is not approved yet, the stage has opened already, or a stage before it has not opened.",
        )
}

/// A link from a response carrying a ticket (`ticket_id`) to an operation on it.
fn link(operation_id: &str) -> Value {
    json!({ "operationId": operation_id, "parameters": { "ticket_id": "$response.body#/ticket_id" } })
}

// --- operations -----------------------------------------------------------

/// One operation, built step by step so that no single `json!` grows large.
struct Op(Map<String, Value>);

impl Op {
    fn new(operation_id: &str, tag: &str, summary: &str) -> Self {
        let mut op = Map::new();
        op.insert("operationId".into(), operation_id.into());
        op.insert("tags".into(), json!([tag]));
        op.insert("summary".into(), summary.into());
        op.insert("responses".into(), Value::Object(Map::new()));
        Op(op)
    }

    /// A longer description.
    fn doc(mut self, description: &str) -> Self {
        self.0.insert("description".into(), description.into());
        self
    }

    /// A specification extension (`x-…`).
    fn extension(mut self, name: &str, value: Value) -> Self {
        self.0.insert(name.into(), value);
        self
    }

    /// No authentication needed (an `Authorization` header, if sent, must still be valid).
    fn public(mut self) -> Self {
        self.0.insert("security".into(), json!([]));
        self
    }

    fn params(mut self, parameters: Value) -> Self {
        self.0.insert("parameters".into(), parameters);
        self
    }

    /// A JSON body of the named schema.
    fn json_body(self, schema: &str, required: bool) -> Self {
        self.body(json!({ "required": required, "content": { "application/json": { "schema": sref(schema) } } }))
    }

    fn body(mut self, body: Value) -> Self {
        self.0.insert("requestBody".into(), body);
        self
    }

    fn response(mut self, status: u16, response: Value) -> Self {
        self.responses().insert(status.to_string(), response);
        self
    }

    /// The shared error responses for these statuses.
    fn errors(mut self, statuses: &[u16]) -> Self {
        for status in statuses {
            let reference = format!("#/components/responses/{}", error_response_name(*status));
            self.responses().insert(status.to_string(), json!({ "$ref": reference }));
        }
        self
    }

    /// An error response with this operation's own description of when it happens.
    fn describe(mut self, status: u16, description: &str) -> Self {
        let mut response = error_response(status);
        response["description"] = description.into();
        self.responses().insert(status.to_string(), response);
        self
    }

    fn responses(&mut self) -> &mut Map<String, Value> {
        match self.0.get_mut("responses") {
            Some(Value::Object(responses)) => responses,
            _ => unreachable!("Op::new inserts the responses object"),
        }
    }

    fn build(self) -> Value {
        Value::Object(self.0)
    }
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

// --- shared parameters and error responses --------------------------------

fn parameters() -> Value {
    json!({
        "TicketId": {
            "name": "ticket_id", "in": "path", "required": true,
            "description": "The ticket's human id (`ACME-12`) or its internal id.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "AttachmentId": {
            "name": "attachment_id", "in": "path", "required": true,
            "schema": { "type": "string", "minLength": 1 },
        },
        "TokenId": {
            "name": "token_id", "in": "path", "required": true,
            "description": "The token's id (not its secret).",
            "schema": { "type": "string", "minLength": 1 },
        },
        "CommandId": {
            "name": "cmd_id", "in": "path", "required": true,
            "description": "The `cmd_id` of a `command_proposed` entry.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "CanvasPath": {
            "name": "path", "in": "path", "required": true,
            "description": "A file's `path` in the canvas directory, as listed; may contain `/`.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "SessionId": {
            "name": "session_id", "in": "path", "required": true,
            "description": "A terminal session's `id`.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "AgentSlug": {
            "name": "slug", "in": "path", "required": true,
            "description": "A built-in agent's slug, e.g. `runbook`.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "ProjectId": {
            "name": "project_id", "in": "path", "required": true,
            "description": "A project's `id`.",
            "schema": { "type": "string", "minLength": 1 },
        },
        "StageNumber": {
            "name": "stage", "in": "path", "required": true,
            "description": "A stage's `number` in the plan, from 1.",
            "schema": { "type": "integer", "minimum": 1, "maximum": u32::MAX },
        },
    })
}

/// The component name of the shared error response for an HTTP status.
fn error_response_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "ValidationFailed",
        500 => "Internal",
        503 => "Unavailable",
        _ => unreachable!("no shared error response for {status}"),
    }
}

/// Statuses that have a shared error response.
const ERROR_STATUSES: &[u16] = &[400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503];

fn error_responses() -> Value {
    let mut responses = Map::new();
    for status in ERROR_STATUSES {
        responses.insert(error_response_name(*status).to_owned(), error_response(*status));
    }
    Value::Object(responses)
}

/// An error response whose `code` is narrowed to the codes this status carries
/// (`ErrorCode::status` is the mapping; 503 is the health check's `internal`).
fn error_response(status: u16) -> Value {
    let codes: Vec<Value> = if status == 503 {
        vec![wire(ErrorCode::Internal)]
    } else {
        ERROR_CODES.iter().filter(|code| code.status() == status).map(|code| wire(*code)).collect()
    };
    let description = match status {
        400 => "The body is not valid JSON (`invalid_json`) or the request is malformed (`bad_request`).",
        401 => "No valid credentials: missing, malformed, unknown or revoked token.",
        403 => "The caller's role does not allow this (or a browser write came from another origin).",
        404 => "No such route, or no such resource in the caller's org.",
        405 => "The route does not take this method; `Allow` names those it takes.",
        409 => "The request conflicts with the resource's current state.",
        413 => "The body is larger than this endpoint accepts (1 MiB for JSON).",
        415 => "The body is not of the type this endpoint takes (JSON: `Content-Type: application/json`).",
        422 => "The body, query or path is well-formed but invalid; `fields` names the culprits.",
        503 => "The database does not answer.",
        _ => "Internal error; the server log has the details.",
    };
    let schema = json!({
        "allOf": [
            sref("Error"),
            { "type": "object", "properties": { "error": { "type": "object", "properties": { "code": { "enum": codes } } } } },
        ],
    });
    json_response(description, schema)
}

// --- schemas --------------------------------------------------------------

fn schemas() -> Value {
    let mut schemas = Map::new();
    for part in [
        enum_schemas(),
        error_schemas(),
        identity_schemas(),
        identity_request_schemas(),
        ticket_schemas(),
        review_schemas(),
        timeline_schemas(),
        ticket_request_schemas(),
        misc_schemas(),
        agent_schemas(),
        agent_request_schemas(),
        protocol_schemas(),
        live_schemas(),
        terminal_scope_schemas(),
        terminal_schemas(),
        project_schemas(),
        project_request_schemas(),
    ] {
        if let Value::Object(part) = part {
            schemas.extend(part);
        }
    }
    Value::Object(schemas)
}

/// The wire name of a serde unit variant.
fn wire<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("a unit enum variant serialises to its name")
}

/// A string enum from a model type's list of values.
fn wire_enum<T: serde::Serialize + Copy>(values: &[T], description: &str) -> Value {
    let names: Vec<Value> = values.iter().map(|value| wire(*value)).collect();
    json!({ "type": "string", "enum": names, "description": description })
}

fn enum_schemas() -> Value {
    json!({
        "Role": wire_enum(&Role::ALL, "What a person may do; each role can do everything the ones before it can."),
        "Category": wire_enum(Category::ALL, "What kind of request a ticket is."),
        "Severity": wire_enum(Severity::ALL, "How bad it is."),
        "Status": wire_enum(
            Status::ALL,
            "Where a ticket is in its lifecycle. `pending_review` → open or closed; closed → open only.",
        ),
        "Source": wire_enum(Source::ALL, "How a ticket was raised."),
        "LlmSource": wire_enum(LlmSource::ALL, "Where the model endpoint in force comes from."),
        "Risk": wire_enum(Risk::ALL, "How much a proposed command could change or break, as its agent judges it."),
        "ReviewStatus": wire_enum(ReviewStatus::ALL, "The outcome of the AI review."),
        "AuthorType": wire_enum(AuthorType::ALL, "Who wrote a timeline entry."),
        "FindingLevel": { "type": "string", "enum": ["info", "warning"], "description": "How serious a quality finding is." },
        "ErrorCode": wire_enum(&ERROR_CODES, "A stable, machine-readable error code; each maps to one HTTP status."),
        "AgentKind": wire_enum(AgentKind::ALL, "Where an agent runs: in opsdesk, or at an endpoint the org registered."),
        "CommandAction": wire_enum(
            CommandAction::ALL,
            "A decision on a proposed command: `approve` and `reject` go to the agent with the next message, \
            `ignore` sends nothing, `execute` runs it now.",
        ),
        "RanBy": wire_enum(RanBy::ALL, "Who ran a command: the agent (once approved), or a person (`execute`)."),
        "ProtocolRole": wire_enum(ProtocolRole::ALL, "Who speaks in a protocol message."),
        "AgentActivity": wire_enum(&AGENT_ACTIVITIES, "Whether an agent's turn is running."),
        "ProjectStatus": wire_enum(
            ProjectStatus::ALL,
            "Where a project is: its plan is being written (`draft`), its stages are opening tickets (`active`), \
            or every stage has opened and every ticket is resolved or closed (`done`).",
        ),
        "StageState": wire_enum(
            StageState::ALL,
            "Where a stage is: waiting for the stage before it, open (some of its tickets are not resolved or \
            closed yet), or done.",
        ),
    })
}

fn error_schemas() -> Value {
    json!({
        "Error": record(vec![("error", sref("ErrorDetail"))]).doc("The one error shape of the API."),
        "ErrorDetail": {
            "type": "object",
            "additionalProperties": false,
            "required": ["code", "message", "fields"],
            "properties": {
                "code": sref("ErrorCode"),
                "message": string().doc("For people; names the field for validation errors."),
                "fields": {
                    "type": "object",
                    "additionalProperties": string(),
                    "description": "Per-field messages for validation errors, keyed by the field's name.",
                },
                "details": { "description": "Structured extras for some codes (e.g. the allowed next statuses of a 409)." },
            },
        },
        "TransitionConflict": conflict_with("TransitionDetails", false),
        "TransitionDetails": {
            "type": "object",
            "required": ["status", "allowed"],
            "description": "Where the ticket is, and the statuses it may move to from there.",
            "properties": { "status": sref("Status"), "allowed": array(sref("Status")) },
        },
        "FlaggedConflict": conflict_with("FlaggedReview", true),
        "FlaggedReview": {
            "type": "object",
            "required": ["review_status", "flag_reason", "duplicates"],
            "description": "Why the review flagged the ticket; file it anyway with `acknowledged: true`.",
            "properties": {
                "review_status": { "type": "string", "enum": ["flagged"] },
                "flag_reason": string(),
                "duplicates": array(sref("DuplicateCandidate")),
            },
        },
    })
}

/// A 409 error whose `details` follow the named schema (always there, or only
/// for some causes).
fn conflict_with(details: &str, always: bool) -> Value {
    let mut error = json!({
        "type": "object",
        "properties": { "code": { "enum": ["conflict"] }, "details": sref(details) },
    });
    if always {
        error["required"] = json!(["details"]);
    }
    json!({ "allOf": [sref("Error"), { "type": "object", "properties": { "error": error } }] })
}

fn identity_schemas() -> Value {
    json!({
        "OrgView": record(vec![("id", string()), ("slug", string()), ("name", string())]).doc("An org as the caller sees it."),
        "UserView": record(vec![
            ("id", string()),
            ("email", string()),
            ("name", string()),
            ("role", sref("Role")),
            ("created_at", date_time()),
        ]).doc("A person as members of the same org see them."),
        "Me": record(vec![("user", sref("UserView")), ("org", sref("OrgView")), ("role", sref("Role"))])
            .doc("Who is calling."),
        "ApiTokenView": record(vec![
            ("id", string()),
            ("name", string()),
            ("user_email", string()),
            ("created_at", date_time()),
            ("last_used_at", date_time().nullable()),
            ("revoked_at", date_time().nullable()),
        ]).doc("An API token as listed: never the secret itself."),
        "InstanceView": record(vec![
            ("id", string()),
            ("name", string()),
            ("summary", string()),
            ("builtin", json!({ "type": "boolean" })),
            ("context_keys", array(string()).doc("The keys of `platform_context`; its values are never sent.")),
        ]).doc("An environment tickets are about and agents and terminals work in."),
        "NewApiToken": record(vec![
            ("token", sref("ApiTokenView")),
            ("secret", string().doc("The bearer token. Shown this once; only its hash is stored.")),
        ]).doc("A freshly created API token."),
    })
}

fn identity_request_schemas() -> Value {
    let user = input(
        &["email", "role"],
        vec![
            ("email", json!({ "type": "string", "minLength": 1, "description": "`name@example.com`; at most 254 bytes once trimmed." })),
            ("name", json!({ "type": "string", "maxLength": MAX_NAME_CHARS, "description": "Defaults to the part of the email before `@`." })),
            ("role", sref("Role")),
            (
                "password",
                json!({ "type": "string", "minLength": MIN_PASSWORD_LEN, "description": "For signing in through the browser; none leaves the person without one." })
                    .nullable(),
            ),
        ],
    );
    let token = input(
        &[],
        vec![(
            "name",
            string().doc("What the token is for; at most 100 characters once trimmed. Defaults to `API token`."),
        )],
    );
    let instance = input(
        &["name"],
        vec![
            ("name", json!({ "type": "string", "minLength": 1, "maxLength": 64, "description": "Letters, digits, spaces, dots, dashes, underscores; unique in the org." })),
            ("summary", json!({ "type": "string", "maxLength": 2000, "description": "Non-secret context attached to tickets about this instance." }).nullable()),
            ("platform_context", json!({ "type": "object", "description": "Sent to agents allowed on this instance with every user message; may hold credentials; never returned." }).nullable()),
            ("terminal", json!({ "type": "object", "description": "How to open shells there (used by the terminal)." }).nullable()),
        ],
    );
    json!({
        "CreateInstanceRequest": instance.example(json!({ "name": "prod-eu", "summary": "EKS in eu-west-1", "platform_context": { "k8s_namespace": "payments" } })),
        "CreateUserRequest": user.example(json!({ "email": "ada@acme.test", "name": "Ada", "role": "member" })),
        "CreateTokenRequest": token.example(json!({ "name": "CI" })),
    })
}

/// The fields of a ticket; `TicketDetail` adds to them (serde `flatten`).
fn ticket_properties() -> Properties {
    vec![
        ("ticket_id", string().doc("The human id, `<ORG>-<N>`; every API path accepts it.")),
        ("id", string().doc("The internal id (also accepted in paths).")),
        ("number", json!({ "type": "integer", "format": "int64", "minimum": 1 })),
        ("subject", string()),
        ("description", string()),
        ("category", sref("Category")),
        ("severity", sref("Severity")),
        ("status", sref("Status")),
        ("source", sref("Source")),
        ("cluster_id", string().nullable().doc("The instance the ticket is about, if any.")),
        ("ai_summary", string().nullable()),
        ("ai_review_status", sref("ReviewStatus")),
        ("duplicate_of", string().nullable().doc("Human id of the ticket this one duplicates, when linked.")),
        ("created_by", sref("PersonRef").nullable()),
        ("created_at", date_time()),
        ("updated_at", date_time()),
        ("last_seq", count().doc("Highest timeline `seq` so far.")),
        ("comment_count", count()),
        ("attachment_count", count()),
        ("project_id", string().nullable().doc("The project whose plan opened this ticket, if any.")),
        (
            "stage",
            json!({ "type": "integer", "minimum": 1 }).nullable().doc("The project stage (from 1) that opened it."),
        ),
    ]
}

fn ticket_schemas() -> Value {
    let mut detail = ticket_properties();
    detail.extend([
        ("comments", array(sref("TimelineEntry")).doc("The comment entries of the timeline, oldest first.")),
        ("attachments", array(sref("Attachment"))),
        ("timeline", array(sref("TimelineEntry")).doc("The whole timeline, oldest first.")),
        ("following", json!({ "type": "boolean", "description": "Whether the caller follows this ticket." })),
        ("agents", array(sref("AgentRef")).doc("The agents assigned now; the first gets messages by default.")),
    ]);
    json!({
        "PersonRef": record(vec![("id", string()), ("email", string()), ("name", string())])
            .doc("A person as shown next to what they did."),
        "Ticket": record(ticket_properties()).doc("A ticket without its timeline."),
        "TicketDetail": record(detail).doc("A ticket with everything on it."),
        "Attachment": record(vec![
            ("id", string()),
            ("filename", string()),
            ("content_type", string().doc("The type detected from the content, not the name.")),
            ("size", count().doc("Bytes.")),
            ("sha256", string()),
            ("uploaded_by", sref("PersonRef").nullable()),
            ("created_at", date_time()),
        ]).doc("An uploaded file on a ticket."),
        "Pagination": record(vec![
            ("page", json!({ "type": "integer", "minimum": 1 })),
            ("page_size", json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE })),
            ("total_pages", json!({ "type": "integer", "minimum": 0 })),
            ("total_count", json!({ "type": "integer", "format": "int64", "minimum": 0 })),
        ]),
        "TicketPage": record(vec![("result", array(sref("Ticket"))), ("pagination", sref("Pagination"))]),
    })
}

fn review_schemas() -> Value {
    json!({
        "Finding": record(vec![
            ("code", string().doc("Stable code, e.g. `too_short`, `no_error_text`, `no_environment`.")),
            ("level", sref("FindingLevel")),
            ("message", string()),
        ]).doc("Something the review noticed about the ticket's text."),
        "ClarifyingQuestion": record(vec![
            ("id", string().doc("Stable id to answer it by (the finding's code).")),
            ("question", string()),
        ]).doc("A question whose answer would make the ticket actionable."),
        "ClarificationAnswer": record(vec![("question_id", string()), ("answer", string())]),
        "DuplicateCandidate": record(vec![
            ("ticket_id", string()),
            ("subject", string()),
            ("status", sref("Status")),
            ("score", json!({ "type": "number", "format": "double", "minimum": 0, "maximum": 1, "description": "Similarity; higher is more alike." })),
        ]).doc("A likely duplicate among the org's tickets."),
        "Review": record(vec![
            ("review_id", string().doc("Pass it to `createTicket`.")),
            ("status", sref("ReviewStatus")),
            ("flag_reason", string().nullable().doc("Why the review flagged the ticket, when it did.")),
            ("summary", string()),
            ("severity", sref("Severity")),
            ("category", sref("Category")),
            ("findings", array(sref("Finding"))),
            ("questions", array(sref("ClarifyingQuestion"))),
            ("duplicates", array(sref("DuplicateCandidate")).doc("Ranked, most similar first.")),
            ("reviewer", string().doc("Which reviewer answered (`offline`, or an LLM's name).")),
        ]).doc("The review's answer."),
    })
}

/// The timeline's kinds (serde `tag = "kind"`, snake_case) with their own fields.
fn timeline_kinds() -> Vec<(&'static str, &'static str, Properties)> {
    vec![
        ("created", "The ticket was raised.", vec![("source", sref("Source"))]),
        ("comment", "A comment.", vec![("body", string())]),
        (
            "status_changed",
            "The status moved.",
            vec![("from", sref("Status")), ("to", sref("Status")), ("reason", string().nullable())],
        ),
        (
            "field_changed",
            "Severity, category or subject changed.",
            vec![("field", string()), ("from", string()), ("to", string())],
        ),
        (
            "reviewed",
            "The AI review's outcome at filing time.",
            vec![
                ("status", sref("ReviewStatus")),
                ("summary", string()),
                ("reviewer", string()),
                ("notes", array(string())),
            ],
        ),
        (
            "clarified",
            "Answers to the review's clarifying questions.",
            vec![("answers", array(sref("ClarificationAnswer")))],
        ),
        ("attached", "A file was attached.", vec![("attachment", sref("Attachment"))]),
        ("followed", "Someone follows the ticket.", vec![]),
        ("duplicate_linked", "The ticket was linked as a duplicate of another.", vec![("of", string())]),
        (
            "instance_context",
            "The instance's context, attached at creation.",
            vec![("instance_id", string()), ("name", string()), ("summary", string())],
        ),
        (
            "agents_assigned",
            "The agents working the ticket now (the first gets messages by default).",
            vec![("agents", array(sref("AgentRef")))],
        ),
        (
            "message",
            "A person's message to an agent; its turn runs in the background.",
            vec![("agent", sref("AgentRef")), ("content", string())],
        ),
        (
            "agent_reply",
            "An agent's answer to the messages up to `in_reply_to`.",
            vec![
                ("agent", sref("AgentRef")),
                ("content", string()),
                ("reasoning", string()),
                ("links", array(sref("UrlConfig"))),
                ("in_reply_to", seq()),
                ("delivered", array(seq()).doc("The decision and command-output entries this turn carried.")),
                ("proposed", array(string()).doc("The `cmd_id`s it proposed (`command_proposed` entries).")),
                ("ran", array(string()).doc("The `cmd_id`s it ran itself (`command_ran` entries).")),
            ],
        ),
        (
            "agent_failed",
            "An agent's turn failed; the messages stay pending until a retry.",
            vec![("agent", sref("AgentRef")), ("reason", string()), ("in_reply_to", seq())],
        ),
        (
            "command_proposed",
            "An agent proposed a command (`files` were written to the canvas directory), with why and how risky \
            when it said.",
            vec![
                ("cmd_id", string()),
                ("agent", sref("AgentRef")),
                ("command", string()),
                ("files", array(string())),
                ("explanation", string()),
                ("risk", sref("Risk")),
            ],
        ),
        (
            "command_decided",
            "A person decided about a proposed command.",
            vec![("cmd_id", string()), ("action", sref("CommandAction")), ("reason", string())],
        ),
        (
            "command_ran",
            "A command ran; `output` may be cut at the output cap (`truncated`).",
            vec![
                ("cmd_id", string().doc("The proposal it ran, or a fresh id for a command an agent ran unasked.")),
                ("command", string()),
                ("output", string()),
                ("exit_code", json!({ "type": "integer", "format": "int32" })),
                ("ran_by", sref("RanBy")),
                ("agent", sref("AgentRef").doc("The agent that ran it.")),
                ("truncated", json!({ "type": "boolean" })),
                ("terminal", sref("TerminalRun").doc("Set when a person typed it in a ticket terminal.")),
            ],
        ),
        (
            "terminal_opened",
            "A person opened a terminal on the ticket.",
            vec![
                ("session_id", string()),
                ("scope", sref("TerminalScope")),
                ("instance", string().doc("The instance's name.")),
            ],
        ),
        (
            "terminal_shared",
            "A terminal's context sharing with the agents was switched.",
            vec![("session_id", string()), ("share_context", json!({ "type": "boolean" }))],
        ),
        (
            "terminal_closed",
            "A terminal session ended; its recording is complete.",
            vec![
                ("session_id", string()),
                (
                    "exit_code",
                    json!({ "type": "integer", "format": "int32", "description": "Absent when it was killed." }),
                ),
                ("reason", string()),
            ],
        ),
        (
            "file_written",
            "An agent wrote a file in the canvas directory.",
            vec![("path", string()), ("size", count().doc("Bytes.")), ("agent", sref("AgentRef"))],
        ),
        (
            "file_refused",
            "An agent's file was refused (outside the canvas directory, too big, …).",
            vec![("path", string()), ("reason", string()), ("agent", sref("AgentRef"))],
        ),
    ]
}

/// The fields of a timeline kind that serde leaves out when empty.
fn timeline_optional(kind: &str) -> &'static [&'static str] {
    match kind {
        "agent_reply" => &["reasoning"],
        "command_proposed" => &["explanation", "risk"],
        "command_decided" => &["reason"],
        "command_ran" => &["cmd_id", "exit_code", "agent", "terminal"],
        "terminal_closed" => &["exit_code"],
        _ => &[],
    }
}

/// `status_changed` → `StatusChanged`.
fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// `status_changed` → `TimelineStatusChanged`.
fn timeline_schema_name(kind: &str) -> String {
    format!("Timeline{}", camel_case(kind))
}

fn timeline_schemas() -> Value {
    let mut schemas = Map::new();
    let mut one_of = Vec::new();
    let mut mapping = Map::new();
    for (kind, description, fields) in timeline_kinds() {
        let name = timeline_schema_name(kind);
        let mut properties = vec![
            (
                "seq",
                json!({ "type": "integer", "format": "int64", "minimum": 1, "description": "Position in the timeline, from 1, without gaps." }),
            ),
            ("at", date_time()),
            ("author_type", sref("AuthorType")),
            ("author", sref("PersonRef").nullable()),
            ("kind", json!({ "type": "string", "enum": [kind] })),
        ];
        properties.extend(fields);
        schemas.insert(name.clone(), record_optional(properties, timeline_optional(kind)).doc(description));
        one_of.push(sref(&name));
        mapping.insert(kind.to_owned(), format!("#/components/schemas/{name}").into());
    }
    schemas.insert(
        "TimelineEntry".to_owned(),
        json!({
            "description": "One entry of a ticket's append-only timeline; `kind` says what happened.",
            "oneOf": one_of,
            "discriminator": { "propertyName": "kind", "mapping": mapping },
        }),
    );
    Value::Object(schemas)
}

fn ticket_request_schemas() -> Value {
    json!({
        "ReviewRequest": input(
            &["subject", "description"],
            vec![
                ("subject", subject()),
                ("description", description()),
                ("category", sref("Category").nullable()),
                ("cluster_id", string().nullable().doc("An instance of the org; its context informs the review.")),
            ],
        ).example(json!({
            "subject": "Deploys fail with ImagePullBackOff since this morning",
            "description": "Every deploy to the staging cluster fails: pods stay in ImagePullBackOff with \
                `unauthorized: authentication required`. Nothing changed on our side.",
            "category": "bug",
        })),
        "CreateTicketRequest": create_ticket_request(),
        "UpdateTicketRequest": input(
            &[],
            vec![
                ("status", sref("Status").nullable()),
                ("severity", sref("Severity").nullable()),
                ("category", sref("Category").nullable()),
                ("subject", subject().nullable()),
                (
                    "duplicate_of",
                    json!({ "type": "string", "nullable": true, "description": "Human id of the ticket this one duplicates (same org, not itself)." }),
                ),
                ("reason", reason()),
            ],
        ).example(json!({ "status": "in_progress", "reason": "Looking into it" })),
        "CreateCommentRequest": input(
            &["body"],
            vec![
                ("body", json!({ "type": "string", "minLength": 1, "maxLength": MAX_COMMENT_CHARS })),
                (
                    "author_type",
                    json!({ "type": "string", "enum": ["user", "team"], "description": "`team` needs the operator role. Defaults to `user`." })
                        .nullable(),
                ),
            ],
        ).example(json!({ "body": "Still happening after the restart." })),
    })
}

fn create_ticket_request() -> Value {
    let answer = json!({
        "type": "object",
        "required": ["question_id", "answer"],
        "properties": {
            "question_id": string().doc("A question's `id` from the review."),
            "answer": string().doc("At most 2000 characters; blank answers are ignored."),
        },
    });
    let mut schema = input(
        &[],
        vec![
            ("subject", subject().nullable().doc("Required unless `review_id` or `message` is given.")),
            ("description", description().nullable()),
            ("category", sref("Category").nullable()),
            ("severity", sref("Severity").nullable()),
            ("cluster_id", string().nullable()),
            ("review_id", string().nullable().doc("A review from `reviewTicket`: its text and suggestions are used.")),
            (
                "acknowledged",
                json!({ "type": "boolean", "description": "Files a ticket the review flagged." }).nullable(),
            ),
            ("clarification_answers", array(answer).nullable().doc("Answers to the review's clarifying questions.")),
            (
                "source",
                json!({
                    "type": "string",
                    "enum": ["api", "cli", "portal"],
                    "description": "Defaults to how the caller authenticated (`api` for tokens).",
                })
                .nullable(),
            ),
            ("agent_id", string().nullable().doc("An agent (id or slug) to assign; `message` is its first turn.")),
            ("instance_id", string().nullable().doc("Same as `cluster_id`; when both are given they must agree.")),
            (
                "message",
                json!({ "type": "string", "maxLength": MAX_MESSAGE_CHARS }).nullable().doc(
                    "The first message to the agent (needs `agent_id`); the subject (its first line) and description \
                        default to it.",
                ),
            ),
        ],
    );
    schema["anyOf"] = json!([{ "required": ["subject"] }, { "required": ["review_id"] }, { "required": ["message"] }]);
    schema.example(json!({
        "subject": "Cannot invite a colleague to the org",
        "description": "The invite dialog answers `403 forbidden` for every address I try.",
        "category": "account",
        "severity": "medium",
        "source": "api",
    }))
}

fn misc_schemas() -> Value {
    json!({
        "CloseTicketRequest": input(&[], vec![("reason", reason())]).example(json!({ "reason": "Works again" })),
        "FollowTicketRequest": input(
            &[],
            vec![(
                "comment",
                json!({ "type": "string", "maxLength": MAX_COMMENT_CHARS })
                    .nullable()
                    .doc("Posted as a comment when not blank (needs the member role)."),
            )],
        )
        .example(json!({ "comment": "Same here since the upgrade." })),
        "AttachmentUpload": {
            "type": "object",
            "required": ["file"],
            "properties": { "file": { "type": "string", "format": "binary", "description": "The file (logs, manifests, screenshots)." } },
        },
        "Health": record(vec![("status", json!({ "type": "string", "enum": ["ok"] }))]),
    })
}

fn agent_schemas() -> Value {
    json!({
        "AgentRef": record(vec![("id", string()), ("slug", string()), ("name", string())])
            .doc("An agent as named on timeline entries."),
        "AgentView": record(vec![
            ("id", string()),
            ("slug", string()),
            ("name", string()),
            ("kind", sref("AgentKind")),
            ("backend", string().nullable().doc("For built-ins, what answers (`runbook`).")),
            ("description", string().doc("Its domain, for people choosing an agent.")),
            ("prompt_suggestions", array(string())),
            ("endpoint_url", string().nullable().doc("For custom agents, the base URL (`/api/sendMessage` is appended).")),
            ("header_names", array(string()).doc("The headers sent with its requests; their values are never shown.")),
            ("timeout_secs", json!({ "type": "integer", "minimum": 1, "maximum": MAX_AGENT_TIMEOUT_SECS })),
            ("instance_ids", array(string()).doc("The instances it may serve; empty means every instance.")),
        ]).doc("An agent of the org's registry."),
        "LlmSettingsView": record(vec![
            ("source", sref("LlmSource")),
            ("base_url", string().nullable()),
            ("model", string().nullable()),
            ("api_key_set", json!({ "type": "boolean", "description": "Whether a key is stored; it is never shown." })),
        ]).doc("The model endpoint the LLM agents and the review use."),
        "MessageAccepted": record(vec![
            ("seq", seq().doc("The message's timeline entry.")),
            ("agent", sref("AgentRef")),
            ("queued", json!({ "type": "boolean", "description": "A turn was already running, so this one waits its turn." })),
        ]).doc("A committed message; the agent's answer follows on the timeline."),
        "EventsPage": record(vec![
            ("entries", array(sref("TimelineEntry")).doc("Oldest first.")),
            ("last_seq", count().doc("The highest seq the ticket has; pass it as `after` next time.")),
        ]),
        "CanvasFile": record(vec![
            ("path", string().doc("Relative to the canvas directory, `/`-separated.")),
            ("size", count().doc("Bytes.")),
            ("modified_at", date_time()),
        ]).doc("A file in a ticket's canvas directory."),
    })
}

fn agent_request_schemas() -> Value {
    let agent = input(
        &["name", "slug", "endpoint_url"],
        vec![
            ("name", json!({ "type": "string", "minLength": 1, "maxLength": MAX_AGENT_NAME_CHARS })),
            (
                "slug",
                json!({ "type": "string", "minLength": 2, "maxLength": 40, "description": "Lowercase letters, digits and inner dashes; unique in the org." }),
            ),
            ("description", json!({ "type": "string", "maxLength": MAX_AGENT_DESCRIPTION_CHARS, "description": "Its domain, for people choosing an agent." })),
            (
                "endpoint_url",
                string().doc("`http(s)://host[:port][/base]`, without a query; requests go to `{endpoint_url}/api/sendMessage`."),
            ),
            (
                "headers",
                json!({ "type": "object", "maxProperties": MAX_AGENT_HEADERS, "additionalProperties": string(), "description": "Sent with every request (e.g. `Authorization`); never shown again." })
                    .nullable(),
            ),
            (
                "timeout_secs",
                json!({ "type": "integer", "minimum": 1, "maximum": MAX_AGENT_TIMEOUT_SECS, "default": DEFAULT_AGENT_TIMEOUT_SECS }).nullable(),
            ),
            (
                "prompt_suggestions",
                json!({ "type": "array", "maxItems": MAX_PROMPT_SUGGESTIONS, "items": { "type": "string", "maxLength": MAX_SUGGESTION_CHARS }, "description": "Blank ones are dropped." })
                    .nullable(),
            ),
            ("instance_ids", array(string()).nullable().doc("Instances it may serve; absent or empty means every instance.")),
        ],
    );
    let decision = input(
        &["cmd_id", "action"],
        vec![
            ("cmd_id", string()),
            ("action", sref("CommandAction").doc("Not `execute`: that is `decideCommand`'s.")),
            ("reason", decision_reason()),
        ],
    );
    let message = input(
        &[],
        vec![
            (
                "content",
                json!({ "type": "string", "maxLength": MAX_MESSAGE_CHARS, "description": "May be empty when the message carries decisions or command outputs." }),
            ),
            ("decisions", array(sref("CommandDecision")).doc("Decisions on pending commands (operators).")),
            (
                "agent_id",
                string().nullable().doc("Which assigned agent gets it (id or slug); the first assigned by default."),
            ),
        ],
    );
    let model = input(
        &["base_url", "model"],
        vec![
            ("base_url", string().doc("An http(s) URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:11434/v1`.")),
            ("model", json!({ "type": "string", "minLength": 1, "maxLength": 200 })),
            (
                "api_key",
                json!({ "type": "string", "maxLength": 4096 })
                    .nullable()
                    .doc("Write-only. Left out: kept; empty: removed."),
            ),
        ],
    );
    let assign = input(
        &["agent_ids"],
        vec![(
            "agent_ids",
            json!({ "type": "array", "maxItems": MAX_ASSIGNED_AGENTS, "items": string(), "description": "Ids or slugs." }),
        )],
    );
    json!({
        "UpdateLlmSettingsRequest": model.example(json!({ "base_url": "http://127.0.0.1:11434/v1", "model": "qwen2.5:14b" })),
        "CreateAgentRequest": agent.example(json!({
            "name": "Payments on-call",
            "slug": "payments",
            "description": "Knows the payments services and their dashboards.",
            "endpoint_url": "https://agents.example.com/payments",
            "headers": { "Authorization": "Bearer s3cret" },
            "timeout_secs": 60,
        })),
        "CommandDecision": decision.example(json!({ "cmd_id": "0195a3c4-c1", "action": "reject", "reason": "Not on prod" })),
        "PostMessageRequest": message.example(json!({ "content": "The disk on this host is filling up." })),
        "DecideCommandRequest": input(&["action"], vec![("action", sref("CommandAction")), ("reason", decision_reason())])
            .example(json!({ "action": "approve" })),
        "AssignAgentsRequest": assign.example(json!({ "agent_ids": ["runbook"] })),
    })
}

/// A decision's reason: recorded, and sent to the agent with a rejection.
fn decision_reason() -> Value {
    string()
        .nullable()
        .doc(&format!("Sent to the agent with a rejection; at most {MAX_REASON_CHARS} characters once trimmed."))
}

/// The agent protocol (`seeds/agent-api.txt`). These types ignore unknown
/// fields, and fields with a default may be left out.
fn protocol_schemas() -> Value {
    let request = lenient(
        &["messages"],
        vec![
            (
                "messages",
                array(sref("ProtocolMessage"))
                    .doc("The whole conversation, oldest first; the last is the current turn."),
            ),
            ("thread_id", string().nullable().doc("Stable for the ticket (its internal id); built-in agents need it.")),
        ],
    );
    let message = lenient(
        &["role", "content"],
        vec![
            ("role", sref("ProtocolRole")),
            ("content", string()),
            (
                "platform_context",
                json!({ "type": "object", "description": "The instance's context; only on user messages." }).nullable(),
            ),
            ("data", sref("MessageData")),
            ("timestamp", string().nullable().doc("RFC 3339 with microseconds.")),
        ],
    );
    let data = lenient(
        &[],
        vec![
            ("cmds", array(sref("ProtocolCommand"))),
            ("executed_cmds", array(sref("ExecutedCommand"))),
            ("url_configs", array(sref("UrlConfig"))),
            (
                "files",
                array(sref("AgentFile"))
                    .doc("An opsdesk extension: files to write to the canvas directory without a command."),
            ),
        ],
    );
    let command = lenient(
        &["command", "execute"],
        vec![
            ("command", string()),
            (
                "execute",
                json!({ "type": "boolean", "description": "From an agent, `false`: a proposal. From the person: `true` approved, `false` rejected." }),
            ),
            ("files", array(sref("AgentFile")).doc("Files to create before it runs.")),
            ("rejection_reason", string().nullable()),
            ("explanation", string().nullable().doc("An opsdesk extension: why the agent proposes it.")),
            ("risk", sref("Risk").nullable().doc("An opsdesk extension: how much it could change or break.")),
        ],
    );
    json!({
        "SendMessageRequest": request.example(json!({
            "messages": [{ "role": "user", "content": "The disk on this host is filling up.", "platform_context": {} }],
            "thread_id": "0195a3c4-t12",
        })),
        "ProtocolMessage": message.example(json!({ "role": "user", "content": "Which service uses port 8080?" })),
        "MessageData": data.doc("Structured data of a message.").example(json!({ "cmds": [{ "command": "df -h", "execute": false }] })),
        "ProtocolCommand": command
            .doc("A command: proposed by an agent, or answered by the person.")
            .example(json!({ "command": "df -h", "execute": false })),
        "AgentFile": lenient(&["file_path", "file_content"], vec![("file_path", string().doc("Relative to the canvas directory.")), ("file_content", string())])
            .doc("A file to create before a command runs.")
            .example(json!({ "file_path": "check.sh", "file_content": "#!/bin/sh\ndf -h\n" })),
        "ExecutedCommand": lenient(&["command", "output"], vec![("command", string()), ("output", string())])
            .doc("A command that ran, with what it printed.")
            .example(json!({ "command": "df -h", "output": "/dev/sda1  40G  39G  1G  98% /" })),
        "UrlConfig": lenient(&["url"], vec![("url", string()), ("description", string())])
            .doc("A link for the person to open.")
            .example(json!({ "url": "https://grafana.example.com/d/disk", "description": "Disk dashboard" })),
        "SendMessageResponse": send_message_response(),
    })
}

fn send_message_response() -> Value {
    let limits = format!(
        "An agent's answer is refused (not cut) beyond {MAX_AGENT_COMMANDS} `cmds` of at most {MAX_COMMAND_CHARS} \
        characters, each with at most {MAX_AGENT_FILES} files of at most {} KiB, {MAX_AGENT_COMMANDS} \
        `executed_cmds` and {MAX_AGENT_LINKS} `url_configs`.",
        MAX_AGENT_FILE_BYTES / 1024,
    );
    record_optional(
        vec![
            ("role", sref("ProtocolRole")),
            ("content", json!({ "type": "string", "maxLength": MAX_AGENT_CONTENT_CHARS })),
            ("data", sref("MessageData").doc(&limits)),
            ("thread_id", string().doc("The request's, echoed.")),
            ("reasoning", string()),
        ],
        &["role", "thread_id", "reasoning"],
    )
    .doc("An agent's answer: proposed commands (`execute: false`), the ones it ran, and links.")
}

/// The frames of `watchTicket`'s websocket (JSON text, tagged by `type`).
fn live_schemas() -> Value {
    let mut schemas = Map::new();
    let mut one_of = Vec::new();
    let mut mapping = Map::new();
    for (kind, description, fields) in [
        (
            "entries",
            "Committed timeline entries, in seq order, without gaps after the resume point.",
            vec![("entries", array(sref("TimelineEntry")))],
        ),
        (
            "watchers",
            "Everyone watching the ticket now (one per person).",
            vec![("watchers", array(sref("PersonRef")))],
        ),
        (
            "activity",
            "An agent started or finished a turn.",
            vec![("agent", sref("AgentRef")), ("activity", sref("AgentActivity"))],
        ),
        (
            "draft",
            "The answer an agent is writing, so far (models that stream); the committed `agent_reply` replaces it.",
            vec![("agent", sref("AgentRef")), ("text", string()), ("reasoning", string())],
        ),
        ("deleted", "The ticket was deleted; the socket closes.", vec![]),
    ] {
        let name = format!("ServerFrame{}", camel_case(kind));
        let mut properties = vec![("type", json!({ "type": "string", "enum": [kind] }))];
        properties.extend(fields);
        schemas.insert(name.clone(), record(properties).doc(description));
        one_of.push(sref(&name));
        mapping.insert(kind.to_owned(), format!("#/components/schemas/{name}").into());
    }
    schemas.insert(
        "ServerFrame".to_owned(),
        json!({
            "description": "Server → client; `type` says what it carries.",
            "oneOf": one_of,
            "discriminator": { "propertyName": "type", "mapping": mapping },
        }),
    );
    let resume = lenient(
        &["type", "after"],
        vec![
            ("type", json!({ "type": "string", "enum": ["resume"] })),
            (
                "after",
                json!({ "type": "integer", "format": "int64", "description": "The last seq the client has; 0 for all." }),
            ),
        ],
    );
    schemas.insert(
        "ClientFrame".to_owned(),
        resume
            .doc("Client → server: send every entry after `after`, then each new one.")
            .example(json!({ "type": "resume", "after": 0 })),
    );
    Value::Object(schemas)
}

/// Where a terminal runs (serde `tag = "kind"`, snake_case).
fn terminal_scope_schemas() -> Value {
    let mut schemas = Map::new();
    let mut one_of = Vec::new();
    let mut mapping = Map::new();
    for (kind, description, fields) in [
        ("shell", "The instance's own shell (administrator access to the instance).", vec![]),
        (
            "container",
            "A shell inside one of the instance's containers.",
            vec![("name", string().doc("As `listTerminalScopes` names it (`pod/container` on Kubernetes)."))],
        ),
    ] {
        let name = format!("TerminalScope{}", camel_case(kind));
        let mut properties = vec![("kind", json!({ "type": "string", "enum": [kind] }))];
        properties.extend(fields);
        schemas.insert(name.clone(), record(properties).doc(description));
        one_of.push(sref(&name));
        mapping.insert(kind.to_owned(), format!("#/components/schemas/{name}").into());
    }
    schemas.insert(
        "TerminalScope".to_owned(),
        json!({
            "description": "Where a terminal's shell runs on the ticket's instance; `kind` says which.",
            "oneOf": one_of,
            "discriminator": { "propertyName": "kind", "mapping": mapping },
        }),
    );
    Value::Object(schemas)
}

/// Terminal sessions, where they can open, how a typed command is recorded,
/// and the request bodies.
fn terminal_schemas() -> Value {
    let boolean = |description: &str| json!({ "type": "boolean", "description": description });
    // `TerminalScope` as a request takes it: unknown fields are ignored, not refused.
    let shell = lenient(&["kind"], vec![("kind", json!({ "type": "string", "enum": ["shell"] }))]);
    let container = lenient(
        &["kind", "name"],
        vec![("kind", json!({ "type": "string", "enum": ["container"] })), ("name", string())],
    );
    let scope = json!({
        "description": "Where the shell runs: a `scope` of `listTerminalScopes` (see `TerminalScope`).",
        "oneOf": [shell, container],
        "default": { "kind": "shell" },
    });
    json!({
        "TerminalSession": record(vec![
            ("id", string()),
            ("ticket_id", string().doc("The ticket's internal id (paths accept it).")),
            ("scope", sref("TerminalScope")),
            ("instance_id", string()),
            ("started_by", sref("PersonRef").nullable()),
            ("started_at", date_time()),
            ("ended_at", date_time().nullable().doc("`null` until the session has ended.")),
            (
                "exit_code",
                json!({ "type": "integer", "format": "int32" })
                    .nullable()
                    .doc("The shell's exit code; `null` while live or when it was killed."),
            ),
            ("end_reason", string().nullable().doc("Why it ended (`the shell exited`, `closed by Ada`, …).")),
            ("live", boolean("Whether the shell runs now: it can be watched, and typed in by operators.")),
            ("share_context", boolean("Whether the commands typed here go to the agents with the next message.")),
            ("cols", json!({ "type": "integer", "minimum": MIN_COLS, "maximum": MAX_COLS })),
            ("rows", json!({ "type": "integer", "minimum": MIN_ROWS, "maximum": MAX_ROWS })),
            ("integrated", boolean("Whether the shell reports its commands, so that they land on the timeline.")),
            ("recording_bytes", count().doc("Size of the asciicast recording so far, in bytes.")),
        ]).doc("A terminal session on a ticket, live or ended."),
        "ScopeChoice": record(vec![
            ("scope", sref("TerminalScope")),
            ("label", string().doc("For people: `prod-eu shell`, `container web-1`.")),
        ]).doc("A place a terminal can be opened."),
        "TerminalScopes": record(vec![
            ("instance_id", string()),
            ("instance_name", string()),
            ("scopes", array(sref("ScopeChoice")).doc("The instance's shell first (if any), then its containers.")),
            ("containers_error", string().nullable().doc("Why the containers could not be listed, if they could not.")),
        ]).doc("Where a terminal can open on the ticket's instance."),
        "TerminalRun": record(vec![
            ("session_id", string().doc("The terminal session it was typed in.")),
            ("started_at", date_time()),
            ("ended_at", date_time()),
            ("shared", boolean("Whether the session shared it with the agents.")),
        ]).doc("How a command typed in a ticket terminal was recorded."),
        "OpenTerminalRequest": input(&[], vec![("scope", scope)]).example(json!({ "scope": { "kind": "shell" } })),
        "UpdateTerminalRequest": input(
            &["share_context"],
            vec![("share_context", boolean("Whether the commands typed in this session reach the agents."))],
        )
        .example(json!({ "share_context": true })),
    })
}

/// A project's progress, in its summary and in full.
fn project_progress() -> Properties {
    let tally = |description: &str| json!({ "type": "integer", "minimum": 0, "description": description });
    vec![
        ("opened_stages", tally("How many stages have opened their tickets.")),
        ("tasks_done", tally("Tickets resolved or closed, of all the plan's tasks (opened or not).")),
        ("tasks_total", tally("The plan's tasks, opened or not.")),
        (
            "progress",
            json!({ "type": "integer", "minimum": 0, "maximum": 100, "description": "`tasks_done` as a whole percentage of `tasks_total`, rounded down." }),
        ),
    ]
}

/// Projects as the API answers them: plans, stages, revisions, progress.
fn project_schemas() -> Value {
    let revision = || json!({ "type": "integer", "format": "int64", "minimum": 1 });
    let mut summary = vec![
        ("id", string()),
        ("title", string()),
        ("goal", string()),
        ("status", sref("ProjectStatus")),
        ("revision", revision().doc("The latest revision of the plan.")),
        ("approved_revision", revision().nullable().doc("The revision stages open from; `null` while a draft.")),
        ("stage_count", json!({ "type": "integer", "minimum": 0, "description": "The stages of the plan." })),
    ];
    summary.extend(project_progress());
    summary.extend([
        ("created_by", sref("PersonRef").nullable()),
        ("created_at", date_time()),
        ("updated_at", date_time()),
    ]);
    let mut project = vec![
        ("id", string()),
        ("title", string().doc("The latest revision's.")),
        ("goal", string().doc("The latest revision's.")),
        ("status", sref("ProjectStatus")),
        (
            "revision",
            revision().doc("The latest revision of the plan; send it with `updateProject` and `approveProject`."),
        ),
        ("approved_revision", revision().nullable().doc("The revision stages open from; `null` while a draft.")),
        ("approved_by", sref("PersonRef").nullable()),
        ("approved_at", date_time().nullable()),
        ("stages", array(sref("PlanStage")).doc("The latest revision's plan.")),
        (
            "stage_progress",
            array(sref("StageView")).doc("Each stage of the approved plan (or of the draft), with its tickets."),
        ),
    ];
    project.extend(project_progress());
    project.extend([
        ("revisions", array(sref("PlanRevision")).doc("Every revision of the plan, newest first.")),
        ("created_by", sref("PersonRef").nullable()),
        ("created_at", date_time()),
        ("updated_at", date_time()),
    ]);
    json!({
        "PlanTask": record_optional(
            vec![
                ("title", string().doc("The subject of its ticket.")),
                ("description", string()),
                ("acceptance_criteria", string().doc("What done means for this task.")),
                ("agent_id", string().doc("The agent that works its ticket (its id); absent when none.")),
                ("instance_id", string().doc("The instance its ticket is about (its id); absent when none.")),
            ],
            &["agent_id", "instance_id"],
        ).doc("One task of a stage; it becomes one ticket when its stage opens."),
        "PlanStage": record(vec![("name", string()), ("tasks", array(sref("PlanTask")))])
            .doc("One stage of a plan: tasks that run in parallel."),
        "PlanRevision": record(vec![
            ("revision", revision()),
            ("title", string()),
            ("goal", string()),
            ("stages", array(sref("PlanStage"))),
            ("author", sref("PersonRef").nullable()),
            ("created_at", date_time()),
        ]).doc("One revision of a plan, as it was saved."),
        "ProjectTicket": record(vec![
            ("ticket_id", string().doc("The human id (`ACME-12`).")),
            ("subject", string()),
            ("status", sref("Status")),
            ("task", json!({ "type": "integer", "minimum": 0, "description": "The task's position in its stage, from 0." })),
        ]).doc("A ticket a stage opened."),
        "StageView": record(vec![
            ("number", json!({ "type": "integer", "minimum": 1, "description": "From 1; `startProjectStage` takes it." })),
            ("name", string()),
            ("state", sref("StageState")),
            (
                "tasks",
                array(sref("PlanTask")).doc("Of the revision it opened from, else of the approved (or latest) one."),
            ),
            ("tickets", array(sref("ProjectTicket")).doc("The tickets it opened; none while it waits.")),
            ("opened_at", date_time().nullable().doc("`null` while it waits.")),
            ("opened_by", sref("PersonRef").nullable()),
            ("early", json!({ "type": "boolean", "description": "Started by a person before the stage before it was done." })),
            ("opened_revision", revision().nullable().doc("The plan revision its tickets were opened from.")),
        ]).doc("One stage as it stands: the tickets it opened, or the tasks it will open."),
        "ProjectSummary": record(summary).doc("A project as listed: its progress, without its plan."),
        "Project": record(project).doc("A project with its plan, its stages' tickets and the plan's history."),
        "PlanTemplate": record(vec![
            ("key", string().doc("Pass it as `template` to `draftPlan`.")),
            ("name", string()),
            ("description", string()),
        ]).doc("A plan template `draftPlan` can start from."),
        "PlanDraft": record(vec![
            ("title", string()),
            ("goal", string()),
            ("stages", array(sref("PlanStage"))),
            ("drafted_by", string().doc("What drafted it: `template:<key>` today.")),
        ]).doc("A drafted plan, to edit and pass to `createProject`; nothing is stored."),
    })
}

/// The project request bodies. They refuse unknown fields; the stages and
/// tasks of a plan in them ignore unknown fields (`PlanStage` and `PlanTask`
/// are not `deny_unknown_fields`), and a task's optional fields may be left out.
fn project_request_schemas() -> Value {
    let title = || json!({ "type": "string", "minLength": 1, "maxLength": MAX_PROJECT_TITLE_CHARS });
    let goal = || json!({ "type": "string", "minLength": 1, "maxLength": MAX_GOAL_CHARS });
    let stages = || json!({ "type": "array", "minItems": 1, "maxItems": MAX_STAGES, "items": sref("PlanStageInput"), "description": "In order: each opens after the one before." });
    let revision =
        |description: &str| json!({ "type": "integer", "format": "int64", "minimum": 1 }).nullable().doc(description);
    let task = lenient(
        &["title"],
        vec![
            ("title", subject().doc("The subject of its ticket.")),
            (
                "description",
                json!({ "type": "string", "maxLength": MAX_DESCRIPTION_CHARS, "description": "Defaults to empty." }),
            ),
            (
                "acceptance_criteria",
                json!({ "type": "string", "maxLength": MAX_CRITERIA_CHARS, "description": "What done means for this task. Defaults to empty." }),
            ),
            ("agent_id", string().nullable().doc("An agent of the org (id or slug) to work its ticket.")),
            ("instance_id", string().nullable().doc("An instance of the org (id or name) its ticket is about.")),
        ],
    );
    let stage = lenient(
        &["name", "tasks"],
        vec![
            ("name", json!({ "type": "string", "minLength": 1, "maxLength": MAX_STAGE_NAME_CHARS })),
            (
                "tasks",
                json!({ "type": "array", "minItems": 1, "maxItems": MAX_TASKS_PER_STAGE, "items": sref("PlanTaskInput"), "description": "They run in parallel: one ticket each." }),
            ),
        ],
    );
    let create = input(&["title", "goal", "stages"], vec![("title", title()), ("goal", goal()), ("stages", stages())]);
    let update = input(
        &[],
        vec![
            ("title", title().nullable()),
            ("goal", goal().nullable()),
            ("stages", stages().nullable().doc("The whole new plan.")),
            ("revision", revision("The revision the edit was made on; when given, it must be the current one.")),
        ],
    );
    let draft = input(
        &["goal"],
        vec![
            ("goal", goal()),
            (
                "template",
                string()
                    .nullable()
                    .doc("A template's `key` (`listPlanTemplates`); by default the one that fits the goal best."),
            ),
            ("agent_id", string().nullable().doc("An agent of the org (id or slug) to put on every task.")),
            ("instance_id", string().nullable().doc("An instance of the org (id or name) to put on every task.")),
        ],
    );
    json!({
        "PlanTaskInput": task
            .doc("A task as `createProject` and `updateProject` take it (see `PlanTask`).")
            .example(json!({ "title": "Back up etcd", "acceptance_criteria": "A restore of the backup was tested.", "agent_id": "runbook" })),
        "PlanStageInput": stage
            .doc("A stage as `createProject` and `updateProject` take it (see `PlanStage`).")
            .example(json!({ "name": "Prepare", "tasks": [{ "title": "Back up etcd" }] })),
        "CreateProjectRequest": create.example(json!({
            "title": "Upgrade the staging cluster to Kubernetes 1.31",
            "goal": "Staging runs Kubernetes 1.31 with every workload healthy, so that production can follow.",
            "stages": [
                {
                    "name": "Prepare",
                    "tasks": [
                        { "title": "List the deprecated APIs in use", "acceptance_criteria": "Every manifest using one is listed." },
                        { "title": "Back up etcd", "acceptance_criteria": "A restore of the backup was tested." },
                    ],
                },
                { "name": "Upgrade", "tasks": [{ "title": "Upgrade the control plane, then the nodes", "description": "One node pool at a time." }] },
            ],
        })),
        "UpdateProjectRequest": update.example(json!({ "goal": "Staging and production run Kubernetes 1.31.", "revision": 1 })),
        "ApproveProjectRequest": input(
            &[],
            vec![("revision", revision("The revision being approved; when given, it must be the current one."))],
        )
        .example(json!({ "revision": 1 })),
        "DraftPlanRequest": draft.example(json!({ "goal": "Upgrade the staging cluster to Kubernetes 1.31", "agent_id": "runbook" })),
    })
}

// --- schema helpers -------------------------------------------------------

/// An object's fields, in order, with their schemas.
type Properties = Vec<(&'static str, Value)>;

fn sref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn pref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn count() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 0 })
}

/// A timeline position.
fn seq() -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": 1 })
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn subject() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": MAX_SUBJECT_CHARS })
}

/// Why a status changed (PATCH, close): recorded on the timeline.
fn reason() -> Value {
    string().nullable().doc("Why, recorded with the status change; at most 2000 characters once trimmed.")
}

fn description() -> Value {
    json!({ "type": "string", "maxLength": MAX_DESCRIPTION_CHARS })
}

/// A response object: every field required (serde always writes them), no others.
fn record(properties: Properties) -> Value {
    let required: Vec<Value> = properties.iter().map(|(name, _)| Value::from(*name)).collect();
    let properties: Map<String, Value> =
        properties.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect();
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// A request body of a `deny_unknown_fields` type.
fn input(required: &[&str], properties: Properties) -> Value {
    let mut schema = record(properties);
    schema["required"] = json!(required);
    if required.is_empty() {
        if let Value::Object(object) = &mut schema {
            object.remove("required");
        }
    }
    schema
}

/// A response object whose `optional` fields serde leaves out when empty
/// (`skip_serializing_if`): they may be absent, and are never `null`.
fn record_optional(properties: Properties, optional: &[&str]) -> Value {
    let mut schema = record(properties);
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|name| !optional.iter().any(|field| name == field));
    }
    schema
}

/// A request body of a type without `deny_unknown_fields` (unknown fields are ignored).
fn lenient(required: &[&str], properties: Properties) -> Value {
    let mut schema = input(required, properties);
    if let Value::Object(object) = &mut schema {
        object.remove("additionalProperties");
    }
    schema
}

/// Small builders on schema values.
trait SchemaExt {
    /// Adds a description (wrapping a `$ref`, whose siblings OpenAPI 3.0 ignores).
    fn doc(self, description: &str) -> Value;
    /// Allows `null` (wrapping a `$ref`; adding `null` to an inline `enum`).
    fn nullable(self) -> Value;
    /// Adds an example.
    fn example(self, example: Value) -> Value;
}

impl SchemaExt for Value {
    fn doc(self, description: &str) -> Value {
        let mut schema = wrap_ref(self);
        schema["description"] = description.into();
        schema
    }

    fn nullable(self) -> Value {
        let mut schema = wrap_ref(self);
        if let Some(Value::Array(values)) = schema.get_mut("enum") {
            values.push(Value::Null);
        }
        schema["nullable"] = true.into();
        schema
    }

    fn example(mut self, example: Value) -> Value {
        self["example"] = example;
        self
    }
}

/// `{"$ref": …}` → `{"allOf": [{"$ref": …}]}`, so that siblings count.
fn wrap_ref(schema: Value) -> Value {
    if schema.get("$ref").is_some() {
        json!({ "allOf": [schema] })
    } else {
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use opsdesk_app::error::AppError;
    use opsdesk_app::model::{
        AgentFile, AgentRef, AgentView, ApiTokenView, ApproveProject, AssignAgents, Attachment, CanvasFile,
        ClarificationAnswer, ClarifyingQuestion, ClientFrame, CloseTicket, CommandDecision, CreateTicket,
        DecideCommand, DraftPlan, DuplicateCandidate, EventsPage, ExecutedCommand, Finding, FindingLevel, FollowTicket,
        LlmSettingsView, Me, MessageAccepted, MessageData, NewAgent, NewApiToken, NewComment, NewProject, OpenTerminal,
        OrgView, Pagination, PersonRef, PlanDraft, PlanRevision, PlanStage, PlanTask, PlanTemplate, PostMessage,
        Project, ProjectSummary, ProjectTicket, ProtocolCommand, ProtocolMessage, Review, ReviewRequest, ScopeChoice,
        SendMessageRequest, SendMessageResponse, ServerFrame, StageView, TerminalRun, TerminalScope, TerminalScopes,
        TerminalSession, Ticket, TicketDetail, TicketPage, TimelineEntry, TimelineEvent, UpdateLlmSettings,
        UpdateProject, UpdateTerminal, UpdateTicket, UrlConfig, UserView,
    };
    use std::collections::BTreeSet;

    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths is an object") {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    found.push((path.clone(), method.to_owned(), operation));
                }
            }
        }
        found
    }

    fn walk<'a>(value: &'a Value, visit: &mut dyn FnMut(&'a Map<String, Value>)) {
        match value {
            Value::Object(object) => {
                visit(object);
                object.values().for_each(|child| walk(child, visit));
            }
            Value::Array(items) => items.iter().for_each(|child| walk(child, visit)),
            _ => {}
        }
    }

    #[test]
    fn is_an_openapi_3_0_3_object() {
        let doc = document();
        assert!(doc.is_object());
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
        // It survives a round trip through text, as it is served.
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), doc);
    }

    #[test]
    fn every_ref_points_to_an_existing_component() {
        let doc = document();
        let mut refs = Vec::new();
        walk(&doc, &mut |object| {
            if let Some(reference) = object.get("$ref") {
                refs.push(reference.as_str().expect("$ref is a string").to_owned());
            }
        });
        assert!(refs.len() > 50, "expected the document to use references, found {}", refs.len());
        for reference in refs {
            assert!(reference.starts_with("#/components/"), "{reference} is not a local component");
            assert!(doc.pointer(&reference[1..]).is_some(), "{reference} points nowhere");
        }
        // Discriminator mappings are references too.
        for union in ["TimelineEntry", "ServerFrame", "TerminalScope"] {
            for target in doc["components"]["schemas"][union]["discriminator"]["mapping"].as_object().unwrap().values()
            {
                assert!(doc.pointer(&target.as_str().unwrap()[1..]).is_some(), "{target} points nowhere");
            }
        }
    }

    #[test]
    fn every_operation_documents_a_client_error_and_is_uniquely_named() {
        let doc = document();
        let mut ids = BTreeSet::new();
        let all = operations(&doc);
        assert_eq!(all.len(), 50, "every route of the API is described");
        for (path, method, operation) in all {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|status| status.starts_with('4')), "{method} {path} lists no 4xx response");
            // The websocket upgrade succeeds with 101.
            let success = |status: &String| status.starts_with('2') || status == "101";
            assert!(responses.keys().any(success), "{method} {path} lists no success response");
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        }
        // Links name operations that exist.
        walk(&doc["paths"], &mut |object| {
            if let Some(Value::Object(links)) = object.get("links") {
                for link in links.values() {
                    assert!(ids.contains(link["operationId"].as_str().unwrap()), "link to unknown {link}");
                }
            }
        });
    }

    #[test]
    fn every_path_parameter_is_declared() {
        let doc = document();
        for (path, method, operation) in operations(&doc) {
            let item = &doc["paths"][&path];
            let mut declared = BTreeSet::new();
            for parameter in
                item["parameters"].as_array().into_iter().chain(operation["parameters"].as_array()).flatten()
            {
                let parameter = match parameter.get("$ref") {
                    Some(reference) => doc.pointer(&reference.as_str().unwrap()[1..]).unwrap(),
                    None => parameter,
                };
                if parameter["in"] == "path" {
                    assert_eq!(parameter["required"], true);
                    declared.insert(parameter["name"].as_str().unwrap().to_owned());
                }
            }
            let in_template: BTreeSet<String> =
                path.split('{').skip(1).map(|rest| rest.split('}').next().unwrap().to_owned()).collect();
            assert_eq!(declared, in_template, "{method} {path}");
        }
    }

    #[test]
    fn error_codes_are_complete_and_narrowed_per_status() {
        // A new ErrorCode fails to compile here until ERROR_CODES names it.
        for code in ERROR_CODES {
            match code {
                ErrorCode::BadRequest
                | ErrorCode::InvalidJson
                | ErrorCode::Unauthenticated
                | ErrorCode::Forbidden
                | ErrorCode::NotFound
                | ErrorCode::MethodNotAllowed
                | ErrorCode::Conflict
                | ErrorCode::PayloadTooLarge
                | ErrorCode::UnsupportedMediaType
                | ErrorCode::ValidationFailed
                | ErrorCode::Internal => {}
            }
        }
        let doc = document();
        let narrowed =
            &doc["components"]["responses"]["BadRequest"]["content"]["application/json"]["schema"]["allOf"][1];
        assert_eq!(
            narrowed["properties"]["error"]["properties"]["code"]["enum"],
            json!(["bad_request", "invalid_json"])
        );
        for status in ERROR_STATUSES {
            let name = error_response_name(*status);
            let codes = &doc["components"]["responses"][name]["content"]["application/json"]["schema"]["allOf"][1];
            assert!(
                !codes["properties"]["error"]["properties"]["code"]["enum"].as_array().unwrap().is_empty(),
                "{name}"
            );
        }
    }

    // --- the schemas against real serde output ----------------------------

    /// Checks `value` against `schema` for the keywords this document uses.
    fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = doc.pointer(&reference[1..]).ok_or(format!("{at}: {reference} points nowhere"))?;
            return check(doc, target, value, at);
        }
        if value.is_null() {
            return if schema["nullable"] == true { Ok(()) } else { Err(format!("{at}: null is not allowed")) };
        }
        for branch in schema["allOf"].as_array().into_iter().flatten() {
            check(doc, branch, value, at)?;
        }
        if let Some(branches) = schema["oneOf"].as_array() {
            let kind_property =
                schema["discriminator"]["propertyName"].as_str().ok_or(format!("{at}: no discriminator"))?;
            let kind = value[kind_property].as_str().ok_or(format!("{at}: no {kind_property}"))?;
            let target =
                schema["discriminator"]["mapping"][kind].as_str().ok_or(format!("{at}: {kind} is not mapped"))?;
            assert!(branches.contains(&json!({ "$ref": target })));
            return check(doc, &json!({ "$ref": target }), value, at);
        }
        let type_matches = match schema["type"].as_str() {
            None => true,
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("array") => value.is_array(),
            Some("object") => value.is_object(),
            Some(other) => return Err(format!("{at}: unknown type {other}")),
        };
        if !type_matches {
            return Err(format!("{at}: {value} is not {}", schema["type"]));
        }
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.contains(value) {
                return Err(format!("{at}: {value} is not one of {}", schema["enum"]));
            }
        }
        if schema["format"] == "date-time" {
            DateTime::parse_from_rfc3339(value.as_str().unwrap()).map_err(|e| format!("{at}: {value}: {e}"))?;
        }
        if let (Some(minimum), Some(number)) = (schema["minimum"].as_f64(), value.as_f64()) {
            if number < minimum {
                return Err(format!("{at}: {value} < {minimum}"));
            }
        }
        if let Some(items) = value.as_array() {
            for (index, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        if let Some(object) = value.as_object() {
            for name in schema["required"].as_array().into_iter().flatten() {
                if !object.contains_key(name.as_str().unwrap()) {
                    return Err(format!("{at}: {name} is documented as required but not sent"));
                }
            }
            for (name, field) in object {
                match schema["properties"].get(name) {
                    Some(field_schema) => check(doc, field_schema, field, &format!("{at}.{name}"))?,
                    None if schema["additionalProperties"] == false => {
                        return Err(format!("{at}: {name} is sent but not documented"));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    fn assert_conforms(name: &str, value: impl serde::Serialize) {
        let doc = document();
        let value = serde_json::to_value(value).unwrap();
        if let Err(error) = check(&doc, &sref(name), &value, name) {
            panic!("{error}\nin {value:#}");
        }
    }

    fn time() -> DateTime<Utc> {
        "2025-03-01T09:30:00.123Z".parse().unwrap()
    }

    fn person() -> PersonRef {
        PersonRef { id: "0195-u1".into(), email: "ada@acme.test".into(), name: "Ada".into() }
    }

    fn agent() -> AgentRef {
        AgentRef { id: "0195-g1".into(), slug: "runbook".into(), name: "Runbook".into() }
    }

    fn agent_file() -> AgentFile {
        AgentFile { file_path: "check.sh".into(), file_content: "df -h\n".into() }
    }

    fn attachment() -> Attachment {
        Attachment {
            id: "0195-a1".into(),
            filename: "pod.log".into(),
            content_type: "text/plain".into(),
            size: 812,
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            uploaded_by: Some(person()),
            created_at: time(),
        }
    }

    fn ticket(cluster: Option<&str>) -> Ticket {
        Ticket {
            ticket_id: "ACME-12".into(),
            id: "0195-t12".into(),
            number: 12,
            subject: "Deploys fail".into(),
            description: "ImagePullBackOff".into(),
            category: Category::Bug,
            severity: Severity::High,
            status: Status::Open,
            source: Source::Api,
            cluster_id: cluster.map(str::to_owned),
            ai_summary: cluster.map(|_| "Registry credentials expired".to_owned()),
            ai_review_status: ReviewStatus::Passed,
            duplicate_of: None,
            created_by: cluster.map(|_| person()),
            created_at: time(),
            updated_at: time(),
            last_seq: 3,
            comment_count: 1,
            attachment_count: 1,
            project_id: cluster.map(|_| "0195-p1".to_owned()),
            stage: cluster.map(|_| 2),
        }
    }

    /// One event of every kind. A new variant fails to compile in the match
    /// below until it is sampled here (and documented in `timeline_kinds`).
    fn every_event() -> Vec<TimelineEvent> {
        let events = vec![
            TimelineEvent::Created { source: Source::Cli },
            TimelineEvent::Comment { body: "Still failing".into() },
            TimelineEvent::StatusChanged { from: Status::Open, to: Status::InProgress, reason: None },
            TimelineEvent::StatusChanged {
                from: Status::InProgress,
                to: Status::Resolved,
                reason: Some("Fixed".into()),
            },
            TimelineEvent::FieldChanged { field: "severity".into(), from: "low".into(), to: "high".into() },
            TimelineEvent::Reviewed {
                status: ReviewStatus::Flagged,
                summary: "Too short".into(),
                reviewer: "offline".into(),
                notes: vec!["no error text".into()],
            },
            TimelineEvent::Clarified {
                answers: vec![ClarificationAnswer { question_id: "no_environment".into(), answer: "prod".into() }],
            },
            TimelineEvent::Attached { attachment: attachment() },
            TimelineEvent::Followed,
            TimelineEvent::DuplicateLinked { of: "ACME-3".into() },
            TimelineEvent::InstanceContext {
                instance_id: "i-1".into(),
                name: "staging".into(),
                summary: "k8s 1.31".into(),
            },
            TimelineEvent::AgentsAssigned { agents: vec![agent()] },
            TimelineEvent::Message { agent: agent(), content: "The disk is filling up".into() },
            TimelineEvent::AgentReply {
                agent: agent(),
                content: "Let us see what uses it".into(),
                reasoning: None,
                links: vec![],
                in_reply_to: 13,
                delivered: vec![],
                proposed: vec!["0195-c1".into()],
                ran: vec![],
            },
            TimelineEvent::AgentReply {
                agent: agent(),
                content: "/var/log holds 4 GB".into(),
                reasoning: Some("du ranks /var/log first".into()),
                links: vec![UrlConfig { url: "https://example.com/disk".into(), description: "Runbook".into() }],
                in_reply_to: 13,
                delivered: vec![17],
                proposed: vec![],
                ran: vec!["0195-c1".into()],
            },
            TimelineEvent::AgentFailed { agent: agent(), reason: "timed out".into(), in_reply_to: 13 },
            TimelineEvent::CommandProposed {
                cmd_id: "0195-c1".into(),
                agent: agent(),
                command: "du -sh /var/*".into(),
                files: vec!["check.sh".into()],
                explanation: Some("Which directory under /var holds the space".into()),
                risk: Some(Risk::Low),
            },
            TimelineEvent::CommandDecided { cmd_id: "0195-c1".into(), action: CommandAction::Approve, reason: None },
            TimelineEvent::CommandDecided {
                cmd_id: "0195-c1".into(),
                action: CommandAction::Reject,
                reason: Some("Not on prod".into()),
            },
            TimelineEvent::CommandRan {
                cmd_id: Some("0195-c1".into()),
                command: "du -sh /var/*".into(),
                output: "4.0G /var/log".into(),
                exit_code: Some(0),
                ran_by: RanBy::Person,
                agent: None,
                truncated: false,
                terminal: None,
            },
            TimelineEvent::CommandRan {
                cmd_id: None,
                command: "uptime".into(),
                output: "up 3 days".into(),
                exit_code: None,
                ran_by: RanBy::Agent,
                agent: Some(agent()),
                truncated: true,
                terminal: None,
            },
            TimelineEvent::CommandRan {
                cmd_id: None,
                command: "df -h /".into(),
                output: "/dev/sda1  40G  39G  1G  98% /".into(),
                exit_code: Some(0),
                ran_by: RanBy::Person,
                agent: None,
                truncated: false,
                terminal: Some(TerminalRun {
                    session_id: "0195-s1".into(),
                    started_at: time(),
                    ended_at: time(),
                    shared: true,
                }),
            },
            TimelineEvent::TerminalOpened {
                session_id: "0195-s1".into(),
                scope: TerminalScope::Shell,
                instance: "local".into(),
            },
            TimelineEvent::TerminalOpened {
                session_id: "0195-s2".into(),
                scope: TerminalScope::Container { name: "payments/web-1".into() },
                instance: "prod-eu".into(),
            },
            TimelineEvent::TerminalShared { session_id: "0195-s1".into(), share_context: true },
            TimelineEvent::TerminalClosed {
                session_id: "0195-s1".into(),
                exit_code: Some(0),
                reason: "the shell exited".into(),
            },
            TimelineEvent::TerminalClosed {
                session_id: "0195-s2".into(),
                exit_code: None,
                reason: "closed by Ada".into(),
            },
            TimelineEvent::FileWritten { path: "check.sh".into(), size: 6, agent: agent() },
            TimelineEvent::FileRefused {
                path: "../etc/passwd".into(),
                reason: "outside the canvas directory".into(),
                agent: agent(),
            },
        ];
        for event in &events {
            match event {
                TimelineEvent::Created { .. }
                | TimelineEvent::Comment { .. }
                | TimelineEvent::StatusChanged { .. }
                | TimelineEvent::FieldChanged { .. }
                | TimelineEvent::Reviewed { .. }
                | TimelineEvent::Clarified { .. }
                | TimelineEvent::Attached { .. }
                | TimelineEvent::Followed
                | TimelineEvent::DuplicateLinked { .. }
                | TimelineEvent::InstanceContext { .. }
                | TimelineEvent::AgentsAssigned { .. }
                | TimelineEvent::Message { .. }
                | TimelineEvent::AgentReply { .. }
                | TimelineEvent::AgentFailed { .. }
                | TimelineEvent::CommandProposed { .. }
                | TimelineEvent::CommandDecided { .. }
                | TimelineEvent::CommandRan { .. }
                | TimelineEvent::FileWritten { .. }
                | TimelineEvent::FileRefused { .. }
                | TimelineEvent::TerminalOpened { .. }
                | TimelineEvent::TerminalShared { .. }
                | TimelineEvent::TerminalClosed { .. } => {}
            }
        }
        events
    }

    fn entries() -> Vec<TimelineEntry> {
        every_event()
            .into_iter()
            .enumerate()
            .map(|(index, event)| TimelineEntry {
                seq: index as i64 + 1,
                at: time(),
                author_type: if index % 2 == 0 { AuthorType::System } else { AuthorType::User },
                author: (index % 2 == 1).then(person),
                event,
            })
            .collect()
    }

    #[test]
    fn tickets_and_timelines_match_their_schemas() {
        assert_conforms("Ticket", ticket(None));
        assert_conforms("Ticket", ticket(Some("i-1")));
        assert_conforms("Attachment", attachment());
        assert_conforms("Attachment", Attachment { uploaded_by: None, ..attachment() });
        for entry in entries() {
            assert_conforms("TimelineEntry", &entry);
        }
        assert_conforms(
            "TicketDetail",
            TicketDetail {
                ticket: ticket(Some("i-1")),
                comments: entries().into_iter().filter(|e| matches!(e.event, TimelineEvent::Comment { .. })).collect(),
                attachments: vec![attachment()],
                timeline: entries(),
                following: true,
                agents: vec![agent()],
            },
        );
        assert_conforms(
            "TicketPage",
            TicketPage {
                result: vec![ticket(None), ticket(Some("i-1"))],
                pagination: Pagination { page: 1, page_size: 25, total_pages: 1, total_count: 2 },
            },
        );
        // Every kind is documented, and nothing else.
        let documented: BTreeSet<String> = timeline_kinds().into_iter().map(|(kind, _, _)| kind.to_owned()).collect();
        let sent: BTreeSet<String> =
            entries().iter().map(|e| serde_json::to_value(e).unwrap()["kind"].as_str().unwrap().to_owned()).collect();
        assert_eq!(documented, sent);
        // The optional fields are fields of their kind.
        for (kind, _, fields) in timeline_kinds() {
            for name in timeline_optional(kind) {
                assert!(fields.iter().any(|(field, _)| field == name), "{kind}.{name} is not a field");
            }
        }
    }

    #[test]
    fn agents_conversations_and_frames_match_their_schemas() {
        let builtin = AgentView {
            id: "0195-g1".into(),
            slug: "runbook".into(),
            name: "Runbook".into(),
            kind: AgentKind::Builtin,
            backend: Some("runbook".into()),
            description: "Linux hosts and containers".into(),
            prompt_suggestions: vec!["The disk is filling up".into()],
            endpoint_url: None,
            header_names: vec![],
            timeout_secs: 300,
            instance_ids: vec![],
        };
        assert_conforms("AgentView", &builtin);
        for view in [
            LlmSettingsView { source: LlmSource::None, base_url: None, model: None, api_key_set: false },
            LlmSettingsView {
                source: LlmSource::Org,
                base_url: Some("http://127.0.0.1:11434/v1".into()),
                model: Some("qwen2.5:14b".into()),
                api_key_set: true,
            },
        ] {
            assert_conforms("LlmSettingsView", &view);
        }
        assert_conforms(
            "AgentView",
            AgentView {
                kind: AgentKind::Custom,
                backend: None,
                endpoint_url: Some("https://agents.example.com/payments".into()),
                header_names: vec!["Authorization".into()],
                instance_ids: vec!["i-1".into()],
                ..builtin
            },
        );
        assert_conforms("MessageAccepted", MessageAccepted { seq: 4, agent: agent(), queued: true });
        assert_conforms("EventsPage", EventsPage { entries: entries(), last_seq: 30 });
        assert_conforms("EventsPage", EventsPage { entries: vec![], last_seq: 0 });
        assert_conforms("CanvasFile", CanvasFile { path: "scripts/check.sh".into(), size: 6, modified_at: time() });
        let answer = SendMessageResponse {
            role: Some(ProtocolRole::Assistant),
            content: "Approve `df -h` to see the disks.".into(),
            data: MessageData {
                cmds: vec![ProtocolCommand {
                    command: "sh check.sh".into(),
                    execute: false,
                    files: vec![agent_file()],
                    rejection_reason: None,
                    explanation: Some("Runs the checks of the script it writes".into()),
                    risk: Some(Risk::Medium),
                }],
                executed_cmds: vec![ExecutedCommand { command: "uptime".into(), output: "up".into() }],
                url_configs: vec![UrlConfig { url: "https://example.com/disk".into(), description: String::new() }],
                files: vec![agent_file()],
            },
            thread_id: Some("0195-t12".into()),
            reasoning: Some("The root filesystem is at 98%".into()),
        };
        assert_conforms("SendMessageResponse", &answer);
        assert_conforms(
            "SendMessageResponse",
            SendMessageResponse {
                role: None,
                data: MessageData::default(),
                thread_id: None,
                reasoning: None,
                ..answer
            },
        );
        assert_conforms("ClientFrame", ClientFrame::Resume { after: 7 });
        // A new frame or activity fails to compile in the matches below until it is sampled here.
        for activity in AGENT_ACTIVITIES {
            match activity {
                AgentActivity::Working | AgentActivity::Idle => {}
            }
        }
        let frames = [
            ServerFrame::Entries { entries: entries() },
            ServerFrame::Watchers { watchers: vec![person()] },
            ServerFrame::Activity { agent: agent(), activity: AgentActivity::Working },
            ServerFrame::Activity { agent: agent(), activity: AgentActivity::Idle },
            ServerFrame::Draft { agent: agent(), text: "The disk is".into(), reasoning: String::new() },
            ServerFrame::Deleted,
        ];
        for frame in &frames {
            match frame {
                ServerFrame::Entries { .. }
                | ServerFrame::Watchers { .. }
                | ServerFrame::Activity { .. }
                | ServerFrame::Draft { .. }
                | ServerFrame::Deleted => {}
            }
            assert_conforms("ServerFrame", frame);
        }
    }

    #[test]
    fn terminals_match_their_schemas() {
        let live = TerminalSession {
            id: "0195-s1".into(),
            ticket_id: "0195-t12".into(),
            scope: TerminalScope::Shell,
            instance_id: "i-1".into(),
            started_by: Some(person()),
            started_at: time(),
            ended_at: None,
            exit_code: None,
            end_reason: None,
            live: true,
            share_context: false,
            cols: 100,
            rows: 30,
            integrated: true,
            recording_bytes: 4096,
        };
        assert_conforms("TerminalSession", &live);
        let ended = TerminalSession {
            scope: TerminalScope::Container { name: "payments/web-1".into() },
            started_by: None,
            ended_at: Some(time()),
            exit_code: Some(130),
            end_reason: Some("the shell exited".into()),
            live: false,
            share_context: true,
            integrated: false,
            ..live.clone()
        };
        assert_conforms("TerminalSession", &ended);
        // Killed (no exit code), and a live container.
        assert_conforms(
            "TerminalSession",
            TerminalSession { scope: TerminalScope::Shell, exit_code: None, ..ended.clone() },
        );
        assert_conforms("TerminalSession", TerminalSession { scope: ended.scope.clone(), ..live.clone() });
        let scopes = TerminalScopes {
            instance_id: "i-1".into(),
            instance_name: "prod-eu".into(),
            scopes: vec![
                ScopeChoice { scope: TerminalScope::Shell, label: "prod-eu shell".into() },
                ScopeChoice {
                    scope: TerminalScope::Container { name: "payments/web-1".into() },
                    label: "container payments/web-1".into(),
                },
            ],
            containers_error: None,
        };
        assert_conforms("TerminalScopes", &scopes);
        assert_conforms(
            "TerminalScopes",
            TerminalScopes { scopes: vec![], containers_error: Some("kubectl: not found".into()), ..scopes },
        );
        // A scope's fields belong to its kind.
        let doc = document();
        assert!(check(&doc, &sref("TerminalScope"), &json!({ "kind": "shell", "name": "web-1" }), "scope").is_err());
        assert!(check(&doc, &sref("TerminalScope"), &json!({ "kind": "container" }), "scope").is_err());
        assert!(check(&doc, &sref("TerminalScope"), &json!({ "kind": "vm" }), "scope").is_err());
    }

    /// A plan of three stages; tasks with and without an agent and an instance.
    fn plan() -> Vec<PlanStage> {
        let task = |title: &str| PlanTask { title: title.into(), ..Default::default() };
        vec![
            PlanStage {
                name: "Prepare".into(),
                tasks: vec![
                    PlanTask {
                        title: "Back up etcd".into(),
                        description: "Before touching the control plane".into(),
                        acceptance_criteria: "A restore of the backup was tested".into(),
                        agent_id: Some("0195-g1".into()),
                        instance_id: Some("i-1".into()),
                    },
                    PlanTask { agent_id: Some("0195-g1".into()), ..task("List the deprecated APIs in use") },
                ],
            },
            PlanStage {
                name: "Upgrade".into(),
                tasks: vec![PlanTask { instance_id: Some("i-1".into()), ..task("Upgrade the control plane") }],
            },
            PlanStage { name: "Clean up".into(), tasks: vec![task("Remove the old node pools")] },
        ]
    }

    #[test]
    fn projects_match_their_schemas() {
        let opened = |ticket_id: &str, status: Status, task: u32| ProjectTicket {
            ticket_id: ticket_id.into(),
            subject: "Back up etcd".into(),
            status,
            task,
        };
        let stages = vec![
            StageView {
                number: 1,
                name: "Prepare".into(),
                state: StageState::Done,
                tasks: plan()[0].tasks.clone(),
                tickets: vec![opened("ACME-20", Status::Resolved, 0), opened("ACME-21", Status::Closed, 1)],
                opened_at: Some(time()),
                opened_by: Some(person()),
                early: false,
                opened_revision: Some(1),
            },
            StageView {
                number: 2,
                name: "Upgrade".into(),
                state: StageState::Open,
                tasks: plan()[1].tasks.clone(),
                tickets: vec![opened("ACME-22", Status::InProgress, 0)],
                opened_at: Some(time()),
                opened_by: None,
                early: true,
                opened_revision: Some(2),
            },
            StageView {
                number: 3,
                name: "Clean up".into(),
                state: StageState::Waiting,
                tasks: plan()[2].tasks.clone(),
                tickets: vec![],
                opened_at: None,
                opened_by: None,
                early: false,
                opened_revision: None,
            },
        ];
        // A new state fails to compile in the match below until a stage in it is sampled here.
        for state in StageState::ALL {
            match state {
                StageState::Waiting | StageState::Open | StageState::Done => {}
            }
        }
        let sampled: BTreeSet<StageState> = stages.iter().map(|stage| stage.state).collect();
        assert_eq!(sampled, StageState::ALL.iter().copied().collect(), "a stage in every state");

        let revision = |revision: i64, author: Option<PersonRef>| PlanRevision {
            revision,
            title: "Upgrade staging to Kubernetes 1.31".into(),
            goal: "Staging runs Kubernetes 1.31".into(),
            stages: plan(),
            author,
            created_at: time(),
        };
        let active = Project {
            id: "0195-p1".into(),
            title: "Upgrade staging to Kubernetes 1.31".into(),
            goal: "Staging runs Kubernetes 1.31".into(),
            status: ProjectStatus::Active,
            revision: 3,
            approved_revision: Some(2),
            approved_by: Some(person()),
            approved_at: Some(time()),
            stages: plan(),
            stage_progress: stages.clone(),
            opened_stages: 2,
            tasks_done: 2,
            tasks_total: 4,
            progress: 50,
            revisions: vec![revision(3, Some(person())), revision(2, Some(person())), revision(1, None)],
            created_by: Some(person()),
            created_at: time(),
            updated_at: time(),
        };
        let draft = Project {
            status: ProjectStatus::Draft,
            revision: 1,
            approved_revision: None,
            approved_by: None,
            approved_at: None,
            stage_progress: stages
                .iter()
                .map(|stage| StageView {
                    state: StageState::Waiting,
                    tickets: vec![],
                    opened_at: None,
                    opened_by: None,
                    early: false,
                    opened_revision: None,
                    ..stage.clone()
                })
                .collect(),
            opened_stages: 0,
            tasks_done: 0,
            progress: 0,
            revisions: vec![revision(1, Some(person()))],
            created_by: None,
            ..active.clone()
        };
        let done = Project {
            status: ProjectStatus::Done,
            stage_progress: stages
                .iter()
                .map(|stage| StageView { state: StageState::Done, opened_at: Some(time()), ..stage.clone() })
                .collect(),
            opened_stages: 3,
            tasks_done: 4,
            progress: 100,
            ..active.clone()
        };
        // A new status fails to compile in the match below until a project in it is sampled here.
        for status in ProjectStatus::ALL {
            match status {
                ProjectStatus::Draft | ProjectStatus::Active | ProjectStatus::Done => {}
            }
        }
        let sampled: BTreeSet<ProjectStatus> = [&active, &draft, &done].iter().map(|project| project.status).collect();
        assert_eq!(sampled, ProjectStatus::ALL.iter().copied().collect(), "a project in every status");
        let summary = |project: &Project| ProjectSummary {
            id: project.id.clone(),
            title: project.title.clone(),
            goal: project.goal.clone(),
            status: project.status,
            revision: project.revision,
            approved_revision: project.approved_revision,
            stage_count: project.stages.len() as u32,
            opened_stages: project.opened_stages,
            tasks_done: project.tasks_done,
            tasks_total: project.tasks_total,
            progress: project.progress,
            created_by: project.created_by.clone(),
            created_at: project.created_at,
            updated_at: project.updated_at,
        };
        for project in [&active, &draft, &done] {
            assert_conforms("Project", project);
            assert_conforms("ProjectSummary", summary(project));
        }
        // A ticket a stage opened.
        assert_conforms("Ticket", Ticket { source: Source::Project, ..ticket(Some("i-1")) });

        assert_conforms(
            "PlanTemplate",
            PlanTemplate {
                key: "upgrade".into(),
                name: "Upgrade".into(),
                description: "Prepare, upgrade, verify, clean up.".into(),
            },
        );
        let drafted = PlanDraft {
            title: "Upgrade staging to Kubernetes 1.31".into(),
            goal: "Staging runs Kubernetes 1.31".into(),
            stages: plan(),
            drafted_by: "template:upgrade".into(),
        };
        assert_conforms("PlanDraft", &drafted);
        // A draft, as it comes, makes a `createProject` body.
        let doc = document();
        let body = NewProject { title: drafted.title, goal: drafted.goal, stages: drafted.stages };
        check(&doc, &sref("CreateProjectRequest"), &serde_json::to_value(&body).unwrap(), "body").unwrap();
        // A task leaves out the agent or instance it does not have; it never sends `null`.
        let task = json!({ "title": "Back up etcd", "description": "", "acceptance_criteria": "", "agent_id": null });
        assert!(check(&doc, &sref("PlanTask"), &task, "task").is_err());
    }

    #[test]
    fn reviews_match_their_schema() {
        let review = Review {
            review_id: "0195-r1".into(),
            status: ReviewStatus::Flagged,
            flag_reason: Some("Looks like a duplicate".into()),
            summary: "Registry credentials expired".into(),
            severity: Severity::Medium,
            category: Category::Technical,
            findings: vec![Finding {
                code: "too_short".into(),
                level: FindingLevel::Warning,
                message: "Say more".into(),
            }],
            questions: vec![ClarifyingQuestion { id: "no_environment".into(), question: "Which cluster?".into() }],
            duplicates: vec![DuplicateCandidate {
                ticket_id: "ACME-3".into(),
                subject: "Pulls fail".into(),
                status: Status::Resolved,
                score: 0.82,
            }],
            reviewer: "offline".into(),
        };
        assert_conforms("Review", &review);
        assert_conforms("Review", Review { flag_reason: None, status: ReviewStatus::Passed, ..review.clone() });
        assert_conforms(
            "Finding",
            Finding { code: "no_error_text".into(), level: FindingLevel::Info, message: "Paste the error".into() },
        );
    }

    #[test]
    fn identities_and_errors_match_their_schemas() {
        let user = UserView {
            id: "0195-u1".into(),
            email: "ada@acme.test".into(),
            name: "Ada".into(),
            role: Role::Admin,
            created_at: time(),
        };
        assert_conforms("UserView", &user);
        assert_conforms(
            "Me",
            Me {
                user: user.clone(),
                org: OrgView { id: "o1".into(), slug: "acme".into(), name: "Acme".into() },
                role: Role::Admin,
            },
        );
        let token = ApiTokenView {
            id: "0195-k1".into(),
            name: "CI".into(),
            user_email: "ada@acme.test".into(),
            created_at: time(),
            last_used_at: None,
            revoked_at: None,
        };
        assert_conforms(
            "ApiTokenView",
            ApiTokenView { last_used_at: Some(time()), revoked_at: Some(time()), ..token.clone() },
        );
        assert_conforms("NewApiToken", NewApiToken { token, secret: "odk_secret".into() });

        let doc = document();
        let invalid = json!({ "error": AppError::invalid_field("email", "email is required") });
        check(
            &doc,
            &doc["components"]["responses"]["ValidationFailed"]["content"]["application/json"]["schema"],
            &invalid,
            "422",
        )
        .unwrap();
        assert!(check(
            &doc,
            &doc["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"],
            &invalid,
            "404"
        )
        .is_err());
        // The 409s as `crate::tickets` sends them.
        let transition = json!({
            "error": AppError::conflict("a ticket cannot move from closed to resolved; allowed next: open")
                .with_details(json!({ "status": Status::Closed, "allowed": Status::Closed.next() }))
        });
        check(&doc, &sref("TransitionConflict"), &transition, "409").unwrap();
        let raced = json!({ "error": AppError::conflict("the ticket changed while saving; reload and try again") });
        check(&doc, &sref("TransitionConflict"), &raced, "409").unwrap();
        let flagged = json!({
            "error": AppError::conflict("Looks like ACME-3. Send \"acknowledged\": true to file it anyway.").with_details(
                json!({ "review_status": "flagged", "flag_reason": "Looks like ACME-3", "duplicates": Vec::<DuplicateCandidate>::new() })
            )
        });
        check(&doc, &sref("FlaggedConflict"), &flagged, "409").unwrap();
        assert!(check(&doc, &sref("FlaggedConflict"), &raced, "409").is_err(), "a flagged 409 always has details");
    }

    /// A request schema names exactly the model type's fields; its example is
    /// accepted; `null` is accepted exactly where the schema says `nullable`;
    /// unknown fields are refused exactly where it forbids them.
    fn assert_request_matches<T: serde::Serialize + serde::de::DeserializeOwned>(name: &str, sample: T) {
        let doc = document();
        let schema = &doc["components"]["schemas"][name];
        let properties = schema["properties"].as_object().unwrap();
        let sent = serde_json::to_value(sample).unwrap();
        let documented: BTreeSet<&String> = properties.keys().collect();
        assert_eq!(documented, sent.as_object().unwrap().keys().collect(), "{name}: documented vs model fields");
        let example = schema["example"].clone();
        if let Err(error) = serde_json::from_value::<T>(example.clone()) {
            panic!("{name}: the example is refused: {error}");
        }
        for (field, field_schema) in properties {
            let mut with_null = example.clone();
            with_null[field] = Value::Null;
            let accepted = serde_json::from_value::<T>(with_null).is_ok();
            assert_eq!(accepted, field_schema["nullable"] == true, "{name}.{field}: null accepted = {accepted}");
        }
        let mut unknown = example;
        unknown["not_a_field"] = json!(1);
        let accepted = serde_json::from_value::<T>(unknown).is_ok();
        assert_eq!(accepted, schema["additionalProperties"] != false, "{name}: unknown fields accepted = {accepted}");
    }

    #[test]
    fn request_schemas_match_the_model_types() {
        assert_request_matches("ReviewRequest", ReviewRequest::default());
        assert_request_matches("CreateTicketRequest", CreateTicket::default());
        assert_request_matches("UpdateTicketRequest", UpdateTicket::default());
        assert_request_matches("CreateCommentRequest", NewComment { body: "Hi".into(), author_type: None });
        assert_request_matches("CloseTicketRequest", CloseTicket::default());
        assert_request_matches("FollowTicketRequest", FollowTicket::default());
        assert_request_matches("CreateAgentRequest", NewAgent::default());
        assert_request_matches(
            "UpdateLlmSettingsRequest",
            UpdateLlmSettings { base_url: "http://x/v1".into(), model: "m".into(), api_key: Some("k".into()) },
        );
        assert_request_matches("AssignAgentsRequest", AssignAgents::default());
        assert_request_matches("PostMessageRequest", PostMessage::default());
        assert_request_matches(
            "CommandDecision",
            CommandDecision { cmd_id: "0195-c1".into(), action: CommandAction::Reject, reason: None },
        );
        assert_request_matches("DecideCommandRequest", DecideCommand { action: CommandAction::Execute, reason: None });
        assert_request_matches("OpenTerminalRequest", OpenTerminal::default());
        assert_request_matches(
            "OpenTerminalRequest",
            OpenTerminal { scope: TerminalScope::Container { name: "web-1".into() } },
        );
        assert_request_matches("UpdateTerminalRequest", UpdateTerminal { share_context: true });
        // An empty body opens the instance's shell, as the schema's default says.
        assert_eq!(serde_json::from_value::<OpenTerminal>(json!({})).unwrap(), OpenTerminal::default());
        assert_eq!(
            document()["components"]["schemas"]["OpenTerminalRequest"]["properties"]["scope"]["default"],
            serde_json::to_value(TerminalScope::default()).unwrap()
        );
        // The agent protocol, with every optional field present.
        let message = ProtocolMessage {
            role: ProtocolRole::User,
            content: "The disk is filling up".into(),
            platform_context: Some(json!({ "k8s_namespace": "payments" })),
            data: MessageData::default(),
            timestamp: Some("2025-03-01T09:30:00.123456Z".into()),
        };
        assert_request_matches(
            "SendMessageRequest",
            SendMessageRequest { messages: vec![message.clone()], thread_id: Some("0195-t12".into()) },
        );
        assert_request_matches("ProtocolMessage", message);
        // `files` is left out when empty: sample it present.
        assert_request_matches("MessageData", MessageData { files: vec![agent_file()], ..MessageData::default() });
        assert_request_matches(
            "ProtocolCommand",
            ProtocolCommand {
                command: "sh check.sh".into(),
                execute: false,
                files: vec![agent_file()],
                rejection_reason: Some("Not on prod".into()),
                explanation: Some("Runs the checks".into()),
                risk: Some(Risk::Low),
            },
        );
        assert_request_matches("AgentFile", agent_file());
        assert_request_matches("ExecutedCommand", ExecutedCommand { command: "uptime".into(), output: "up".into() });
        assert_request_matches(
            "UrlConfig",
            UrlConfig { url: "https://example.com".into(), description: "Docs".into() },
        );
        assert_request_matches("ClientFrame", ClientFrame::Resume { after: 0 });
        // Projects, with every optional field present.
        let task = PlanTask {
            title: "Back up etcd".into(),
            description: "Before the upgrade".into(),
            acceptance_criteria: "A restore of the backup was tested".into(),
            agent_id: Some("runbook".into()),
            instance_id: Some("staging".into()),
        };
        assert_request_matches("PlanTaskInput", task.clone());
        let stage = PlanStage { name: "Prepare".into(), tasks: vec![task] };
        assert_request_matches("PlanStageInput", stage.clone());
        assert_request_matches("CreateProjectRequest", NewProject::default());
        assert_request_matches(
            "UpdateProjectRequest",
            UpdateProject {
                title: Some("Upgrade staging".into()),
                goal: Some("Staging runs Kubernetes 1.31".into()),
                stages: Some(vec![stage]),
                revision: Some(2),
            },
        );
        assert_request_matches("ApproveProjectRequest", ApproveProject { revision: Some(2) });
        assert_request_matches(
            "DraftPlanRequest",
            DraftPlan {
                goal: "Upgrade staging".into(),
                template: Some("upgrade".into()),
                agent_id: Some("runbook".into()),
                instance_id: Some("staging".into()),
            },
        );
        // An empty body approves the current revision, as `approveProject` says.
        assert_eq!(serde_json::from_value::<ApproveProject>(json!({})).unwrap(), ApproveProject::default());
        // Nullable enums keep `null` among their values, as OpenAPI 3.0.3 asks.
        let source = &document()["components"]["schemas"]["CreateTicketRequest"]["properties"]["source"];
        assert_eq!(source["enum"], json!(["api", "cli", "portal", null]));
    }
}

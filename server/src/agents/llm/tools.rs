//! The tools an LLM agent may call, and how its calls become the protocol's
//! answer: `propose_command` → `data.cmds` (with explanation and risk),
//! `suggest_link` → `data.url_configs`, `write_file` → `data.files`. Every
//! call is checked; a bad one is refused with a reason the model (in one
//! repair round) and then the person get to see.

use crate::llm::{ToolCall, ToolSpec};
use opsdesk_app::model::{AgentFile, ProtocolCommand, Risk, UrlConfig, MAX_AGENT_FILE_BYTES, MAX_COMMAND_CHARS};
use serde_json::{json, Map, Value};

/// Most commands one turn may propose (the protocol allows more; people read them).
pub const MAX_PROPOSALS: usize = 6;
/// Longest explanation kept.
const MAX_EXPLANATION_CHARS: usize = 1_000;

/// The tools, described for the model.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "propose_command".into(),
            description: "Propose one shell command for the person to approve. It runs on the ticket's instance \
                          in the ticket's working directory once approved; you get its output next turn. Use \
                          {{key}} placeholders for platform context values."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": { "type": "string", "description": "The shell command, one line." },
                    "explanation": { "type": "string", "description": "Why this command, in one sentence." },
                    "risk": { "type": "string", "enum": ["low", "medium", "high"],
                              "description": "low: reads only; medium: changes something easy to undo; high: hard to undo or may cause an outage." },
                    "files": { "type": "array", "description": "Files to create (relative paths) before it runs.",
                               "items": { "type": "object", "properties": { "path": { "type": "string" }, "content": { "type": "string" } },
                                          "required": ["path", "content"] } }
                },
                "required": ["command", "explanation", "risk"]
            }),
        },
        ToolSpec {
            name: "suggest_link".into(),
            description: "Suggest a web page for the person to open (documentation, a dashboard).".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "url": { "type": "string", "description": "An http(s) URL." },
                    "description": { "type": "string" }
                },
                "required": ["url", "description"]
            }),
        },
        ToolSpec {
            name: "write_file".into(),
            description: "Write a file (a script, a manifest, notes) into the ticket's working directory, for the \
                          person to read or for a later command to use."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "Relative path, e.g. scripts/check.sh" },
                    "content": { "type": "string" }
                },
                "required": ["path", "content"]
            }),
        },
    ]
}

/// What the model's calls amount to, and why some were refused.
#[derive(Debug, Default)]
pub struct Outcome {
    pub cmds: Vec<ProtocolCommand>,
    pub links: Vec<UrlConfig>,
    pub files: Vec<AgentFile>,
    /// (call id, reason) of each refused call.
    pub refused: Vec<(String, String)>,
    /// Small repairs made to otherwise good calls, in words.
    pub repaired: Vec<String>,
}

/// Checks the calls. `already` holds commands proposed or rejected before
/// in this conversation: proposing one again is refused.
pub fn read_calls(calls: &[ToolCall], already: &[String], outcome: &mut Outcome) {
    for call in calls {
        let arguments = match &call.arguments {
            Ok(arguments) => arguments,
            Err(reason) => {
                outcome
                    .refused
                    .push((call.id.clone(), format!("`{}`: the arguments are not JSON ({reason})", call.name)));
                continue;
            }
        };
        let result = match call.name.as_str() {
            "propose_command" => propose(arguments, already, outcome),
            "suggest_link" => link(arguments, outcome),
            "write_file" => file(arguments, outcome),
            other => Err(format!("there is no tool `{other}`: use propose_command, suggest_link or write_file")),
        };
        if let Err(reason) = result {
            outcome.refused.push((call.id.clone(), format!("`{}`: {reason}", call.name)));
        }
    }
}

fn text<'a>(arguments: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    arguments.get(field).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

fn propose(arguments: &Map<String, Value>, already: &[String], outcome: &mut Outcome) -> Result<(), String> {
    let command = text(arguments, "command").ok_or("`command` is missing or empty")?;
    // Models sometimes wrap the command in backticks or prefix a prompt.
    let command = command.trim_matches('`').trim_start_matches("$ ").trim();
    if command.chars().count() > MAX_COMMAND_CHARS {
        return Err(format!("the command is longer than {MAX_COMMAND_CHARS} characters"));
    }
    if already.iter().any(|c| c == command) || outcome.cmds.iter().any(|c| c.command == command) {
        return Err(format!("`{command}` was already proposed or rejected in this conversation"));
    }
    if outcome.cmds.len() >= MAX_PROPOSALS {
        return Err(format!("at most {MAX_PROPOSALS} commands per turn"));
    }
    let risk = match text(arguments, "risk").map(str::to_ascii_lowercase) {
        Some(risk) => match risk.parse::<Risk>() {
            Ok(risk) => risk,
            Err(_) => {
                outcome.repaired.push(format!("an unknown risk `{risk}` was read as high"));
                Risk::High
            }
        },
        None => {
            outcome.repaired.push(format!("`{command}` came without a risk: marked high until a person judges it"));
            Risk::High
        }
    };
    let files = match arguments.get("files") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(file_of).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("`files` must be a list of {path, content}".into()),
    };
    let explanation = text(arguments, "explanation").map(|e| e.chars().take(MAX_EXPLANATION_CHARS).collect::<String>());
    outcome.cmds.push(ProtocolCommand {
        command: command.to_owned(),
        execute: false,
        files,
        rejection_reason: None,
        explanation,
        risk: Some(risk),
    });
    Ok(())
}

fn file_of(value: &Value) -> Result<AgentFile, String> {
    let object = value.as_object().ok_or("a file must be an object {path, content}")?;
    let path = text(object, "path").or_else(|| text(object, "file_path")).ok_or("a file needs a `path`")?;
    let content = object
        .get("content")
        .or_else(|| object.get("file_content"))
        .and_then(Value::as_str)
        .ok_or("a file needs its `content`")?;
    if content.len() > MAX_AGENT_FILE_BYTES {
        return Err(format!("the file {path} is larger than {} KiB", MAX_AGENT_FILE_BYTES / 1024));
    }
    if path.starts_with('/') || path.split('/').any(|part| part == "..") {
        return Err(format!("the path {path} must stay inside the working directory (relative, no `..`)"));
    }
    Ok(AgentFile { file_path: path.to_owned(), file_content: content.to_owned() })
}

fn link(arguments: &Map<String, Value>, outcome: &mut Outcome) -> Result<(), String> {
    let url = text(arguments, "url").ok_or("`url` is missing")?;
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        _ => return Err(format!("{url} is not an http(s) URL")),
    }
    let description = text(arguments, "description").unwrap_or_default().chars().take(300).collect();
    outcome.links.push(UrlConfig { url: url.to_owned(), description });
    Ok(())
}

fn file(arguments: &Map<String, Value>, outcome: &mut Outcome) -> Result<(), String> {
    let file = file_of(&Value::Object(arguments.clone()))?;
    outcome.files.push(file);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: Value) -> ToolCall {
        ToolCall {
            id: format!("call_{name}"),
            name: name.into(),
            arguments: Ok(arguments.as_object().unwrap().clone()),
        }
    }

    #[test]
    fn good_calls_become_the_answer() {
        let calls = [
            call(
                "propose_command",
                json!({ "command": "`df -h`", "explanation": "Which disk is full", "risk": "LOW" }),
            ),
            call(
                "propose_command",
                json!({ "command": "sh check.sh", "explanation": "Runs the checks", "risk": "low",
                                              "files": [{ "path": "check.sh", "content": "df -i\n" }] }),
            ),
            call("suggest_link", json!({ "url": "https://kubernetes.io/docs/", "description": "Docs" })),
            call("write_file", json!({ "path": "notes/plan.md", "content": "# Plan" })),
        ];
        let mut outcome = Outcome::default();
        read_calls(&calls, &[], &mut outcome);
        assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
        assert_eq!(outcome.cmds[0].command, "df -h");
        assert_eq!(outcome.cmds[0].risk, Some(Risk::Low));
        assert_eq!(outcome.cmds[1].files[0].file_path, "check.sh");
        assert_eq!(outcome.links[0].description, "Docs");
        assert_eq!(outcome.files[0].file_path, "notes/plan.md");
    }

    #[test]
    fn bad_calls_are_refused_with_a_reason() {
        let calls = [
            call("propose_command", json!({ "explanation": "no command" })),
            call("propose_command", json!({ "command": "systemctl restart nginx", "risk": "low", "explanation": "x" })),
            call("suggest_link", json!({ "url": "javascript:alert(1)" })),
            call("write_file", json!({ "path": "../../etc/passwd", "content": "x" })),
            call("delete_everything", json!({})),
            ToolCall { id: "call_x".into(), name: "propose_command".into(), arguments: Err("expected `,`".into()) },
        ];
        let mut outcome = Outcome::default();
        read_calls(&calls, &["systemctl restart nginx".to_owned()], &mut outcome);
        let reasons: Vec<&str> = outcome.refused.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(reasons.len(), 6, "{reasons:?}");
        assert!(reasons[0].contains("`command` is missing"));
        assert!(reasons[1].contains("already proposed or rejected"));
        assert!(reasons[2].contains("not an http(s) URL"));
        assert!(reasons[3].contains("inside the working directory"));
        assert!(reasons[4].contains("there is no tool"));
        assert!(reasons[5].contains("not JSON"));
        assert!(outcome.cmds.is_empty() && outcome.links.is_empty() && outcome.files.is_empty());
    }

    #[test]
    fn a_missing_or_unknown_risk_is_read_as_high_and_said() {
        let calls = [
            call("propose_command", json!({ "command": "rm -rf /tmp/cache", "explanation": "frees space" })),
            call("propose_command", json!({ "command": "kubectl delete pod x", "risk": "spicy" })),
        ];
        let mut outcome = Outcome::default();
        read_calls(&calls, &[], &mut outcome);
        assert!(outcome.cmds.iter().all(|c| c.risk == Some(Risk::High)));
        assert_eq!(outcome.repaired.len(), 2);
    }
}

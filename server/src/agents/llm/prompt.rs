//! The conversation as a model reads it: a system prompt for the agent's
//! specialty and the rules of the helpdesk, then the protocol's flat history
//! with decisions, rejections (and their reasons) and command outputs written
//! out, every word passed through the [`Redactor`] and every output held to
//! a budget (the full output stays in the canvas directory).

use super::redact::Redactor;
use super::Specialty;
use crate::llm::ChatMessage;
use opsdesk_app::model::{MessageData, ProtocolRole, SendMessageRequest};

/// How much of one command's output the model reads (head and tail).
pub const OUTPUT_BUDGET_CHARS: usize = 6_000;
/// Of which the head.
const OUTPUT_HEAD_CHARS: usize = 1_500;

/// The output as the model reads it: whole when short, else its head and
/// tail around a note of what was cut and where the whole of it is.
pub fn budget(output: &str, kept_as: Option<&str>) -> String {
    let chars = output.chars().count();
    if chars <= OUTPUT_BUDGET_CHARS {
        return output.to_owned();
    }
    let head: String = output.chars().take(OUTPUT_HEAD_CHARS).collect();
    let tail_len = OUTPUT_BUDGET_CHARS - OUTPUT_HEAD_CHARS;
    let tail: String = output.chars().skip(chars - tail_len).collect();
    let whole = kept_as.map(|path| format!("; the whole output is in {path}")).unwrap_or_default();
    let note = format!("\n[… {} characters cut here{whole} …]\n", chars - OUTPUT_BUDGET_CHARS);
    format!("{head}{note}{tail}")
}

/// The system prompt: who the agent is, where it works, how to act.
pub fn system(specialty: &Specialty, instance: &str, redactor: &Redactor) -> String {
    let keys = redactor.keys();
    let context = if keys.is_empty() {
        "The instance has no platform context.".to_owned()
    } else {
        format!(
            "The instance's platform context holds these keys: {}. Their values are kept from you; write \
             {{{{key}}}} in a command (e.g. `kubectl get pods -n {{{{k8s_namespace}}}}`) and the helpdesk fills in \
             the value when the command runs. Outputs show values as {{{{key}}}} too.",
            keys.join(", ")
        )
    };
    format!(
        "You are {name}, an agent in opsdesk, a helpdesk where infrastructure engineers work tickets with agents. \
         {focus}\n\n\
         You work on the instance \"{instance}\". Commands you propose run there, in the ticket's working \
         directory, only after a person approves them; you then get their output. People may also run commands \
         in a shared terminal and share them with you. {context}\n\n\
         How to work:\n\
         - Start with read-only diagnostics (risk low) that narrow the problem down; propose changes (risk medium \
           or high) only when the evidence shows what is wrong, and say what they change and how to undo them.\n\
         - Propose at most 4 commands per turn, each with the propose_command tool, one line each, with a \
           one-sentence explanation and an honest risk. Never propose a command that was rejected; respect the \
           reason given.\n\
         - Never invent output. Quote the lines of output that support a finding.\n\
         - Use suggest_link for documentation or dashboards, write_file for scripts or manifests the person \
           should read.\n\
         - Answer in short Markdown: what you see, what it means, what to do next.",
        name = specialty.name,
        focus = specialty.focus,
    )
}

/// Decisions and outputs carried by a user message, written out for the model.
fn user_data(data: &MessageData, redactor: &Redactor, budget_for: &mut dyn FnMut(&str, &str) -> String) -> String {
    let mut text = String::new();
    for command in &data.cmds {
        if command.execute {
            text.push_str(&format!("\nApproved: `{}`", redactor.redact(&command.command)));
        } else {
            let reason = command
                .rejection_reason
                .as_deref()
                .map(|r| format!(" — reason: {}", redactor.redact(r)))
                .unwrap_or_else(|| " (no reason given)".to_owned());
            text.push_str(&format!("\nRejected: `{}`{reason}", redactor.redact(&command.command)));
        }
    }
    for ran in &data.executed_cmds {
        let output = budget_for(&ran.command, &ran.output);
        text.push_str(&format!(
            "\nThe person ran `{}` in the terminal. Output:\n```\n{}\n```",
            redactor.redact(&ran.command),
            output.trim_end()
        ));
    }
    text
}

/// The whole conversation for the model. `ran` are the approved commands
/// that ran for this turn; `budget_for(command, output)` answers the output
/// as the model reads it (redacted, budgeted, kept whole on disk when cut).
pub fn messages(
    specialty: &Specialty,
    instance: &str,
    request: &SendMessageRequest,
    ran: &[opsdesk_app::model::ExecutedCommand],
    redactor: &Redactor,
    budget_for: &mut dyn FnMut(&str, &str) -> String,
) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::system(system(specialty, instance, redactor))];
    let last = request.messages.len().saturating_sub(1);
    for (index, message) in request.messages.iter().enumerate() {
        match message.role {
            ProtocolRole::User => {
                let mut text = redactor.redact(&message.content);
                text.push_str(&user_data(&message.data, redactor, budget_for));
                if index == last {
                    for run in ran {
                        let output = budget_for(&run.command, &run.output);
                        text.push_str(&format!(
                            "\nApproved and ran on {instance}: `{}`. Output:\n```\n{}\n```",
                            redactor.redact(&run.command),
                            output.trim_end()
                        ));
                    }
                }
                if text.trim().is_empty() {
                    text = "(no message)".to_owned();
                }
                messages.push(ChatMessage::user(text.trim().to_owned()));
            }
            ProtocolRole::Assistant => {
                let mut text = redactor.redact(&message.content);
                for command in &message.data.cmds {
                    text.push_str(&format!("\nProposed: `{}`", redactor.redact(&command.command)));
                }
                for ran in &message.data.executed_cmds {
                    let output = budget_for(&ran.command, &ran.output);
                    text.push_str(&format!(
                        "\nRan `{}`:\n```\n{}\n```",
                        redactor.redact(&ran.command),
                        output.trim_end()
                    ));
                }
                messages.push(ChatMessage::assistant(text.trim().to_owned()));
            }
        }
    }
    messages
}

/// Commands proposed or rejected earlier in the conversation (never proposed again).
pub fn earlier_commands(request: &SendMessageRequest) -> Vec<String> {
    request.messages.iter().flat_map(|m| m.data.cmds.iter().map(|c| c.command.trim().to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_outputs_keep_head_and_tail_and_say_where_the_rest_is() {
        assert_eq!(budget("ok\n", None), "ok\n");
        let long: String = (0..2_000).map(|i| format!("line {i}\n")).collect();
        let cut = budget(&long, Some("outputs/3-df.txt"));
        assert!(cut.starts_with("line 0\n"));
        assert!(cut.trim_end().ends_with("line 1999"));
        assert!(cut.contains("characters cut here; the whole output is in outputs/3-df.txt"));
        assert!(cut.chars().count() < OUTPUT_BUDGET_CHARS + 200);
    }
}

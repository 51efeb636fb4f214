//! A plan drafted by the org's model from the goal: asked for as JSON and
//! checked like a person's plan would be, so that a bad draft is refused
//! (and the template draft is used instead) rather than shown half-right.

use crate::agents::llm::redact::redact_secrets;
use crate::llm::{self, ChatMessage, LlmConfig};
use opsdesk_app::model::{
    PlanStage, PlanTask, MAX_CRITERIA_CHARS, MAX_DESCRIPTION_CHARS, MAX_STAGE_NAME_CHARS, MAX_SUBJECT_CHARS,
};
use serde::Deserialize;

/// A draft keeps to what a person can review at a glance.
const MAX_DRAFT_STAGES: usize = 8;
const MAX_DRAFT_TASKS: usize = 8;

const SYSTEM: &str = "You plan infrastructure changes for an operations team. Given a goal, answer with one JSON \
object and nothing else: {\"title\": string (at most 80 characters), \"stages\": [{\"name\": string, \"tasks\": \
[{\"title\": string (an imperative, at most 120 characters), \"description\": string (what to do, 1-3 \
sentences), \"acceptance_criteria\": string (how we know it is done, checkable)}]}]}. Order the stages so that \
each can start only when the one before is done: prepare and back up first, change next, verify last. Tasks of \
one stage run in parallel. 2 to 5 stages, 1 to 4 tasks each.";

#[derive(Deserialize)]
struct Draft {
    title: String,
    stages: Vec<DraftStage>,
}

#[derive(Deserialize)]
struct DraftStage {
    name: String,
    tasks: Vec<DraftTask>,
}

#[derive(Deserialize)]
struct DraftTask {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    acceptance_criteria: String,
}

/// The model's plan for `goal`: its title and stages.
pub async fn draft(http: &reqwest::Client, config: &LlmConfig, goal: &str) -> anyhow::Result<(String, Vec<PlanStage>)> {
    let messages =
        [ChatMessage::system(SYSTEM.to_owned()), ChatMessage::user(format!("Goal: {}", redact_secrets(goal)))];
    let completion = llm::chat(http, &llm::interactive(config), &messages, &[], false, &mut |_| {}).await?;
    parse(&completion.content)
}

/// Reads and checks the model's JSON (code fences and surrounding words allowed).
pub fn parse(text: &str) -> anyhow::Result<(String, Vec<PlanStage>)> {
    let object = llm::json_object(text).map_err(|e| anyhow::anyhow!(e))?;
    let draft: Draft =
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| anyhow::anyhow!("not a plan: {e}"))?;
    let within = |text: &str, max: usize| !text.trim().is_empty() && text.chars().count() <= max;
    if !within(&draft.title, MAX_SUBJECT_CHARS) {
        anyhow::bail!("the title is empty or too long");
    }
    if draft.stages.is_empty() || draft.stages.len() > MAX_DRAFT_STAGES {
        anyhow::bail!("{} stages (1 to {MAX_DRAFT_STAGES})", draft.stages.len());
    }
    let mut stages = Vec::with_capacity(draft.stages.len());
    for stage in draft.stages {
        if !within(&stage.name, MAX_STAGE_NAME_CHARS) || stage.tasks.is_empty() || stage.tasks.len() > MAX_DRAFT_TASKS {
            anyhow::bail!("a stage without a name, or with 0 or more than {MAX_DRAFT_TASKS} tasks");
        }
        let mut tasks = Vec::with_capacity(stage.tasks.len());
        for task in stage.tasks {
            if !within(&task.title, MAX_SUBJECT_CHARS)
                || task.description.chars().count() > MAX_DESCRIPTION_CHARS
                || task.acceptance_criteria.chars().count() > MAX_CRITERIA_CHARS
            {
                anyhow::bail!("a task without a title, or with text over the limits");
            }
            tasks.push(PlanTask {
                title: task.title.trim().to_owned(),
                description: task.description.trim().to_owned(),
                acceptance_criteria: task.acceptance_criteria.trim().to_owned(),
                agent_id: None,
                instance_id: None,
            });
        }
        stages.push(PlanStage { name: stage.name.trim().to_owned(), tasks });
    }
    Ok((draft.title.trim().to_owned(), stages))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_plan_is_read_and_a_bad_one_refused() {
        let good = "Here it is:\n```json\n{\"title\": \"Rotate certificates\", \"stages\": [{\"name\": \"Renew\", \
                    \"tasks\": [{\"title\": \"Renew api cert\", \"description\": \"d\", \"acceptance_criteria\": \"c\"}]}]}\n```";
        let (title, stages) = parse(good).unwrap();
        assert_eq!((title.as_str(), stages[0].tasks[0].title.as_str()), ("Rotate certificates", "Renew api cert"));
        for bad in [
            "no plan",
            "a } b {",
            "{\"title\": \"t\", \"stages\": []}",
            "{\"title\": \"\", \"stages\": [{\"name\": \"s\", \"tasks\": [{\"title\": \"x\"}]}]}",
            "{\"title\": \"t\", \"stages\": [{\"name\": \"s\", \"tasks\": []}]}",
            "{\"title\": \"t\", \"stages\": [{\"name\": \"s\", \"tasks\": [{\"title\": \" \"}]}]}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

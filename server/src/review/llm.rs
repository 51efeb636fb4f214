//! The LLM reviewer: the same analysis as the offline one (summary,
//! severity, category, findings, clarifying questions), asked of the org's
//! model as JSON and checked field by field. Anything off (no answer, not
//! JSON, a value outside the schema) is an error, and the review falls back
//! to the offline analysis, saying so.

use super::offline::Analysis;
use super::Reviewer;
use crate::agents::llm::redact::redact_secrets;
use crate::llm::{self, ChatMessage, LlmConfig};
use async_trait::async_trait;
use opsdesk_app::model::{Category, ClarifyingQuestion, Finding, FindingLevel, ReviewRequest, Severity};
use serde::Deserialize;

/// Longest summary kept (the offline reviewer's bound too).
const MAX_SUMMARY_CHARS: usize = 280;
/// Most findings and questions kept.
const MAX_ITEMS: usize = 6;

/// Reviews with the org's model.
pub struct LlmReviewer {
    pub http: reqwest::Client,
    pub config: LlmConfig,
}

#[async_trait]
impl Reviewer for LlmReviewer {
    fn name(&self) -> String {
        format!("llm ({})", self.config.model)
    }

    async fn analyse(&self, request: &ReviewRequest) -> anyhow::Result<Analysis> {
        let messages = [ChatMessage::system(SYSTEM.to_owned()), ChatMessage::user(user_text(request))];
        let config = llm::interactive(&self.config);
        let completion = llm::chat(&self.http, &config, &messages, &[], false, &mut |_| {}).await?;
        parse(&completion.content)
    }
}

const SYSTEM: &str = "You review support tickets for an infrastructure team before they are filed. Answer with \
one JSON object and nothing else, with exactly these fields:\n\
{\"summary\": string (one sentence, at most 280 characters, what is wrong and where),\n\
 \"severity\": \"low\" | \"medium\" | \"high\" | \"critical\" (critical: production down or data at risk for many),\n\
 \"category\": \"technical\" | \"bug\" | \"feature_request\" | \"account\" | \"billing\" | \"other\",\n\
 \"findings\": [{\"code\": snake_case string, \"level\": \"info\" | \"warning\", \"message\": string}] (what the \
 report lacks to be acted on: error text, environment, when it started, steps to reproduce; at most 6),\n\
 \"questions\": [{\"id\": the code of the finding it follows from, \"question\": string}] (at most 6)}";

fn user_text(request: &ReviewRequest) -> String {
    let hint = request.category.map(|c| format!("\nThe person chose the category: {c}")).unwrap_or_default();
    // The review sees what the person wrote, minus anything that looks like a secret.
    redact_secrets(&format!("Subject: {}\n\nDescription:\n{}{hint}", request.subject, request.description))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    summary: String,
    severity: String,
    category: String,
    #[serde(default)]
    findings: Vec<AnswerFinding>,
    #[serde(default)]
    questions: Vec<AnswerQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFinding {
    code: String,
    level: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerQuestion {
    id: String,
    question: String,
}

/// The model's text as an analysis: the JSON object (code fences allowed),
/// every field checked.
pub fn parse(text: &str) -> anyhow::Result<Analysis> {
    let object = llm::json_object(text).map_err(|e| anyhow::anyhow!(e))?;
    let answer: Answer = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| anyhow::anyhow!("the answer does not follow the review schema: {e}"))?;
    let summary = answer.summary.trim();
    if summary.is_empty() || summary.chars().count() > MAX_SUMMARY_CHARS {
        anyhow::bail!("the summary is empty or longer than {MAX_SUMMARY_CHARS} characters");
    }
    let severity: Severity = answer.severity.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let category: Category = answer.category.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let code_ok =
        |code: &str| !code.is_empty() && code.len() <= 40 && code.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let mut findings = Vec::new();
    for finding in answer.findings.into_iter().take(MAX_ITEMS) {
        if !code_ok(&finding.code) || finding.message.trim().is_empty() {
            anyhow::bail!("a finding has a bad code or no message");
        }
        let level = match finding.level.as_str() {
            "info" => FindingLevel::Info,
            "warning" => FindingLevel::Warning,
            other => anyhow::bail!("a finding's level `{other}` is not info or warning"),
        };
        findings.push(Finding { code: finding.code, level, message: finding.message.trim().to_owned() });
    }
    let mut questions = Vec::new();
    for question in answer.questions.into_iter().take(MAX_ITEMS) {
        if !code_ok(&question.id) || question.question.trim().is_empty() {
            anyhow::bail!("a question has a bad id or no text");
        }
        questions.push(ClarifyingQuestion { id: question.id, question: question.question.trim().to_owned() });
    }
    Ok(Analysis { category, severity, summary: summary.to_owned(), findings, questions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_answer_is_read_and_anything_else_refused() {
        let good = "```json\n{\"summary\": \"Checkout returns 502 in prod.\", \"severity\": \"critical\", \
                    \"category\": \"technical\", \"findings\": [{\"code\": \"no_timeline\", \"level\": \"warning\", \
                    \"message\": \"When did it start?\"}], \"questions\": [{\"id\": \"no_timeline\", \
                    \"question\": \"Since when?\"}]}\n```";
        let analysis = parse(good).unwrap();
        assert_eq!((analysis.severity, analysis.category), (Severity::Critical, Category::Technical));
        assert_eq!(analysis.questions[0].id, "no_timeline");
        for bad in [
            "no json here",
            "a } b {",
            "{\"summary\": \"x\", \"severity\": \"urgent\", \"category\": \"technical\"}",
            "{\"summary\": \"x\", \"severity\": \"low\", \"category\": \"money\"}",
            "{\"summary\": \"\", \"severity\": \"low\", \"category\": \"other\"}",
            "{\"summary\": \"x\", \"severity\": \"low\", \"category\": \"other\", \"mood\": \"sad\"}",
            "{\"summary\": \"x\", \"severity\": \"low\", \"category\": \"other\", \"findings\": [{\"code\": \"Bad Code\", \"level\": \"info\", \"message\": \"m\"}]}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

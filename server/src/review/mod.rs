//! The AI review that runs before a ticket is filed: a summary, severity and
//! category suggestion, quality findings, clarifying questions, and likely
//! duplicates among the org's tickets.
//!
//! The analysis of the text sits behind [`Reviewer`] (the offline heuristics
//! by default; an LLM reviewer can plug in). Duplicate search is the
//! server's own: full-text candidates from the store, re-ranked by TF-IDF
//! cosine over normalised terms, so that reordered and reworded reports of
//! one problem still meet.

pub mod llm;
pub mod offline;

use crate::store::Store;
use async_trait::async_trait;
use opsdesk_app::model::{DuplicateCandidate, ReviewRequest};
use std::collections::{HashMap, HashSet};

/// A score from which a ticket is listed as a likely duplicate.
pub const LIKELY_DUPLICATE: f64 = 0.30;
/// A score from which the review flags the ticket: filing it needs an
/// explicit acknowledgement.
pub const STRONG_DUPLICATE: f64 = 0.50;
/// How many likely duplicates a review lists.
const MAX_DUPLICATES: usize = 5;
/// How many full-text candidates are re-ranked.
const CANDIDATES: u32 = 50;
/// How many of the text's rarest terms go into the candidate query.
const QUERY_TERMS: usize = 16;
/// Terms in more than this share of all tickets say little about which one
/// is alike, yet make the full-text query rank a large part of the org: they
/// stay out of the candidate query (they still count in the final score).
const COMMON_TERM_SHARE: f64 = 0.05;
/// Rarest terms kept in the candidate query however common they are.
const MIN_QUERY_TERMS: usize = 4;
/// From this many tickets on, common terms are left out of the candidate
/// query; below it every ticket is cheap to rank.
const LARGE_CORPUS: i64 = 1_000;

/// Analyses a ticket's text.
#[async_trait]
pub trait Reviewer: Send + Sync + 'static {
    /// Shown in the review as who answered.
    fn name(&self) -> String;
    /// The analysis of subject and description.
    async fn analyse(&self, request: &ReviewRequest) -> anyhow::Result<offline::Analysis>;
}

/// The default reviewer: deterministic heuristics, no model, no network.
#[derive(Clone, Copy, Debug, Default)]
pub struct OfflineReviewer;

#[async_trait]
impl Reviewer for OfflineReviewer {
    fn name(&self) -> String {
        "offline".to_owned()
    }

    async fn analyse(&self, request: &ReviewRequest) -> anyhow::Result<offline::Analysis> {
        Ok(offline::analyse(&request.subject, &request.description, request.category))
    }
}

/// The normalised terms of a ticket's text, deduplicated, space-joined as stored.
pub fn stored_terms(subject: &str, description: &str) -> String {
    let mut seen = HashSet::new();
    offline::terms(&format!("{subject}\n{subject}\n{description}"))
        .into_iter()
        .filter(|term| seen.insert(term.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inverse document frequency with add-one smoothing; unseen terms weigh most.
fn idf(doc_freq: i64, total: i64) -> f64 {
    (1.0 + total.max(0) as f64 / (1.0 + doc_freq.max(0) as f64)).ln()
}

/// The org's tickets most like this text, best first, each scored in [0, 1].
pub async fn find_duplicates(
    store: &dyn Store,
    org_id: &str,
    subject: &str,
    description: &str,
) -> anyhow::Result<Vec<DuplicateCandidate>> {
    // The subject counts twice: it is the densest statement of the problem.
    let query_terms = offline::terms(&format!("{subject}\n{subject}\n{description}"));
    if query_terms.is_empty() {
        return Ok(Vec::new());
    }
    let distinct: Vec<String> = query_terms.iter().cloned().collect::<HashSet<_>>().into_iter().collect();
    let (frequencies, total) = store.term_frequencies(&distinct).await?;
    let weight = |term: &str| idf(frequencies.get(term).copied().unwrap_or(0), total);

    // Only terms some ticket has can find a candidate; rarest first.
    let mut rarest: Vec<String> =
        distinct.iter().filter(|t| frequencies.get(*t).copied().unwrap_or(0) > 0).cloned().collect();
    rarest.sort_by(|a, b| weight(b).total_cmp(&weight(a)).then_with(|| a.cmp(b)));
    if total >= LARGE_CORPUS {
        let common =
            |term: &String| frequencies.get(term).copied().unwrap_or(0) as f64 > COMMON_TERM_SHARE * total as f64;
        let informative = rarest.iter().take_while(|t| !common(t)).count().max(MIN_QUERY_TERMS);
        rarest.truncate(informative);
    }
    rarest.truncate(QUERY_TERMS);
    let candidates = store.duplicate_candidates(org_id, &rarest, CANDIDATES).await?;

    // Candidate terms not in the query still need weights for the cosine.
    let unknown: Vec<String> = candidates
        .iter()
        .flat_map(|c| c.terms.split_whitespace())
        .filter(|t| !frequencies.contains_key(*t))
        .map(str::to_owned)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut all_frequencies: HashMap<String, i64> = frequencies;
    if !unknown.is_empty() {
        all_frequencies.extend(store.term_frequencies(&unknown).await?.0);
    }
    let weight = |term: &str| idf(all_frequencies.get(term).copied().unwrap_or(0), total);

    let mut scored: Vec<DuplicateCandidate> = candidates
        .into_iter()
        .map(|candidate| {
            let terms: Vec<String> = candidate.terms.split_whitespace().map(str::to_owned).collect();
            let score = offline::similarity(&query_terms, &terms, &weight);
            DuplicateCandidate {
                ticket_id: candidate.ticket_key,
                subject: candidate.subject,
                status: candidate.status,
                score: (score * 1000.0).round() / 1000.0,
            }
        })
        .filter(|candidate| candidate.score >= LIKELY_DUPLICATE)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    scored.truncate(MAX_DUPLICATES);
    Ok(scored)
}

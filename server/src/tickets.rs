//! Tickets: the rules. Raising (with the AI review), reading, listing and
//! searching, the lifecycle, comments, following, attachments, deletion.
//! The REST API (token and session) and the pages both come through here.

use crate::attachments::{self, Upload};
use crate::auth;
use crate::canvas;
use crate::conversation;
use crate::projects;
use crate::review::{self, offline, STRONG_DUPLICATE};
use crate::state::AppState;
use crate::store::{AppendRefused, NewAttachment, NewEntry, NewTicket, TicketChanges, TicketRef};
use opsdesk_app::error::{AppError, AppResult};
use opsdesk_app::model::{
    assigned_agents, Attachment, AuthorType, ClarificationAnswer, ClarifyingQuestion, CloseTicket, CreateTicket,
    FollowTicket, InstanceView, Me, NewComment, Pagination, Permission, Review, ReviewRequest, ReviewStatus, Source,
    Status, Ticket, TicketDetail, TicketFilter, TicketPage, TimelineEntry, TimelineEvent, UpdateTicket,
    DEFAULT_PAGE_SIZE, MAX_COMMENT_CHARS, MAX_DESCRIPTION_CHARS, MAX_MESSAGE_CHARS, MAX_PAGE_SIZE, MAX_SUBJECT_CHARS,
};
use serde_json::json;
use std::collections::BTreeMap;

/// Longest answer to a clarifying question, and longest reason.
const MAX_ANSWER_CHARS: usize = 2_000;

/// The ticket a path names in the caller's org, or 404.
pub async fn find(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<Ticket> {
    let Some(reference) = TicketRef::parse(&me.org.slug, ticket_id) else {
        return Err(AppError::not_found("ticket"));
    };
    state.store.ticket(&me.org.id, &reference).await?.ok_or_else(|| AppError::not_found("ticket"))
}

/// Blank text does not count towards `min`; every character counts towards `max`.
pub(crate) fn check_len(fields: &mut BTreeMap<String, String>, field: &str, value: &str, min: usize, max: usize) {
    check_text(fields, field, field, value, min, max);
}

/// [`check_len`] for a field whose key (`stages[0].name`) is not how its
/// message names it (`name`).
pub(crate) fn check_text(
    fields: &mut BTreeMap<String, String>,
    key: &str,
    label: &str,
    value: &str,
    min: usize,
    max: usize,
) {
    let chars = value.chars().count();
    if value.trim().chars().count() < min {
        fields.insert(key.to_owned(), format!("{label} is required"));
    } else if chars > max {
        fields.insert(key.to_owned(), format!("{label} is longer than {max} characters ({chars})"));
    }
}

/// The single-field form of [`check_len`]: a 422 naming the field.
fn require_len(field: &str, value: &str, min: usize, max: usize) -> AppResult<()> {
    let mut fields = BTreeMap::new();
    check_len(&mut fields, field, value, min, max);
    AppError::invalid_fields(fields).map_or(Ok(()), Err)
}

/// Reads a ticket again after a change, with everything on it.
async fn reload(state: &AppState, me: &Me, ticket_id: String) -> AppResult<TicketDetail> {
    let ticket = state
        .store
        .ticket(&me.org.id, &TicketRef::Id(ticket_id))
        .await?
        .ok_or_else(|| AppError::not_found("ticket"))?;
    detail(state, me, ticket).await
}

/// Checks that `cluster_id` names one of the org's instances.
async fn check_cluster(state: &AppState, me: &Me, cluster_id: Option<&str>) -> AppResult<Option<InstanceView>> {
    let Some(cluster_id) = cluster_id.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    match state.store.instance(&me.org.id, cluster_id).await? {
        Some(instance) => Ok(Some(instance.into())),
        None => Err(AppError::invalid_field("cluster_id", "no instance with this id in your org")),
    }
}

/// Runs the AI review of a draft ticket and keeps it for creation.
pub async fn review(state: &AppState, me: &Me, request: ReviewRequest) -> AppResult<Review> {
    auth::require(me, Permission::Write)?;
    let mut fields = BTreeMap::new();
    check_len(&mut fields, "subject", &request.subject, 1, MAX_SUBJECT_CHARS);
    check_len(&mut fields, "description", &request.description, 0, MAX_DESCRIPTION_CHARS);
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    check_cluster(state, me, request.cluster_id.as_deref()).await?;
    let review = run_review(state, me, &request).await?;
    let stored_request = serde_json::to_string(&request).map_err(AppError::internal)?;
    let stored_result = serde_json::to_string(&review).map_err(AppError::internal)?;
    state.store.save_review(&me.org.id, &me.user.id, &review.review_id, &stored_request, &stored_result).await?;
    Ok(review)
}

/// The analysis (from the configured reviewer, the offline one if it fails)
/// and the duplicate search, combined into a review.
async fn run_review(state: &AppState, me: &Me, request: &ReviewRequest) -> AppResult<Review> {
    // The org's model reviews when one is configured; the server's reviewer otherwise.
    let chosen: std::sync::Arc<dyn review::Reviewer> = match crate::llm::settings::for_org(state, &me.org.id).await? {
        Some(config) => std::sync::Arc::new(review::llm::LlmReviewer { http: state.http.clone(), config }),
        None => state.reviewer.clone(),
    };
    let (analysis, reviewer) = match chosen.analyse(request).await {
        Ok(analysis) => (analysis, chosen.name()),
        Err(error) => {
            tracing::warn!("the {} reviewer failed, using the offline one: {error:#}", chosen.name());
            let analysis = offline::analyse(&request.subject, &request.description, request.category);
            let reason: String = format!("{error:#}").chars().take(200).collect();
            (analysis, format!("offline (fallback: the {} reviewer failed: {reason})", chosen.name()))
        }
    };
    let duplicates = review::find_duplicates(state.store.as_ref(), &me.org.id, &request.subject, &request.description)
        .await
        .map_err(AppError::internal)?;
    let strong = duplicates.iter().find(|d| d.score >= STRONG_DUPLICATE);
    let too_vague = ["too_short", "vague_subject"].iter().all(|code| analysis.findings.iter().any(|f| f.code == *code));
    let flag_reason = match strong {
        Some(duplicate) => Some(format!(
            "this looks like {} \"{}\" ({}, {:.0}% similar): follow it instead, or confirm this is a different problem",
            duplicate.ticket_id,
            duplicate.subject,
            duplicate.status.label().to_lowercase(),
            duplicate.score * 100.0
        )),
        None if too_vague => {
            Some("the subject and description are too vague to act on: answer the questions or add detail".to_owned())
        }
        None => None,
    };
    Ok(Review {
        review_id: crate::store::new_id(),
        status: if flag_reason.is_some() { ReviewStatus::Flagged } else { ReviewStatus::Passed },
        flag_reason,
        summary: analysis.summary,
        severity: analysis.severity,
        category: analysis.category,
        findings: analysis.findings,
        questions: analysis.questions,
        duplicates,
        reviewer,
    })
}

/// Raises a ticket; `default_source` is how the caller came in.
pub async fn create(state: &AppState, me: &Me, body: CreateTicket, default_source: Source) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Write)?;
    let source = body.source.unwrap_or(default_source);
    if !matches!(source, Source::Portal | Source::Api | Source::Cli) {
        return Err(AppError::invalid_field("source", "source must be portal, api or cli"));
    }
    // A stored review supplies the text and suggestions the body leaves out.
    let stored = match body.review_id.as_deref() {
        Some(review_id) => {
            let Some((request, result)) = state.store.review(&me.org.id, review_id).await? else {
                return Err(AppError::invalid_field("review_id", "no review with this id in your org"));
            };
            let request: ReviewRequest = serde_json::from_str(&request).map_err(AppError::internal)?;
            let result: Review = serde_json::from_str(&result).map_err(AppError::internal)?;
            Some((request, result))
        }
        None => None,
    };
    let message = body.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(AppError::invalid_field(
            "message",
            format!("message is longer than {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    // A ticket started from a message to an agent takes its subject and
    // description from the message unless they are given.
    let subject = body
        .subject
        .clone()
        .or_else(|| stored.as_ref().map(|(r, _)| r.subject.clone()))
        .or_else(|| message.as_deref().map(subject_from_message))
        .unwrap_or_default();
    let description = body
        .description
        .clone()
        .or_else(|| stored.as_ref().map(|(r, _)| r.description.clone()))
        .or_else(|| message.clone())
        .unwrap_or_default();
    let instance_id = match (body.cluster_id.as_deref(), body.instance_id.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::invalid_field("instance_id", "instance_id and cluster_id name different instances"))
        }
        (a, b) => a.or(b).map(str::to_owned),
    };
    let cluster_id = instance_id.or_else(|| stored.as_ref().and_then(|(r, _)| r.cluster_id.clone()));
    let agent_id = body.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if agent_id.is_none() && message.is_some() {
        return Err(AppError::invalid_field("agent_id", "a message needs an agent_id to go to"));
    }
    let answers: Vec<ClarificationAnswer> = body
        .clarification_answers
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.answer.trim().is_empty())
        .collect();

    let mut fields = BTreeMap::new();
    check_len(&mut fields, "subject", &subject, 1, MAX_SUBJECT_CHARS);
    check_len(&mut fields, "description", &description, 0, MAX_DESCRIPTION_CHARS);
    if answers.iter().any(|a| a.answer.chars().count() > MAX_ANSWER_CHARS) {
        fields
            .insert("clarification_answers".into(), format!("an answer is longer than {MAX_ANSWER_CHARS} characters"));
    }
    if let Some(error) = AppError::invalid_fields(fields) {
        return Err(error);
    }
    let instance = check_cluster(state, me, cluster_id.as_deref()).await?;
    let agent = match agent_id {
        Some(agent_id) => {
            let on = conversation::instance_or_local(state, &me.org.id, cluster_id.as_deref()).await?;
            Some(conversation::agent_on_instance(state, me, agent_id, "agent_id", &on).await?.view.to_ref())
        }
        None => None,
    };

    let review = match stored {
        Some((_, review)) => {
            if review.status == ReviewStatus::Flagged && body.acknowledged != Some(true) {
                let reason = review.flag_reason.clone().unwrap_or_else(|| "the review flagged this ticket".into());
                return Err(AppError::conflict(format!("{reason}. Send \"acknowledged\": true to file it anyway."))
                    .with_details(
                        json!({ "review_status": "flagged", "flag_reason": reason, "duplicates": review.duplicates }),
                    ));
            }
            review
        }
        // Without a prior review (scripts, the CLI), review now and record it, but do not block.
        None => {
            let request = ReviewRequest {
                subject: subject.clone(),
                description: description.clone(),
                category: body.category,
                cluster_id: cluster_id.clone(),
            };
            run_review(state, me, &request).await?
        }
    };

    let questions: BTreeMap<&str, &ClarifyingQuestion> = review.questions.iter().map(|q| (q.id.as_str(), q)).collect();
    let description = with_clarifications(&description, &answers, &questions);
    let mut entries = vec![NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::Created { source })];
    if let Some(instance) = &instance {
        entries.push(NewEntry::system(TimelineEvent::InstanceContext {
            instance_id: instance.id.clone(),
            name: instance.name.clone(),
            summary: instance.summary.clone(),
        }));
    }
    let mut notes: Vec<String> = review.findings.iter().map(|f| f.message.clone()).collect();
    notes.extend(
        review
            .duplicates
            .iter()
            .map(|d| format!("possible duplicate of {} ({:.0}% similar)", d.ticket_id, d.score * 100.0)),
    );
    if review.status == ReviewStatus::Flagged {
        notes.push(format!("filed despite the review's flag: {}", review.flag_reason.clone().unwrap_or_default()));
    }
    entries.push(NewEntry {
        author_type: AuthorType::Ai,
        author_id: None,
        event: TimelineEvent::Reviewed {
            status: review.status,
            summary: review.summary.clone(),
            reviewer: review.reviewer.clone(),
            notes,
        },
    });
    if !answers.is_empty() {
        entries.push(NewEntry::by(
            AuthorType::User,
            &me.user.id,
            TimelineEvent::Clarified { answers: answers.clone() },
        ));
    }
    entries.push(NewEntry::system(TimelineEvent::StatusChanged {
        from: Status::PendingReview,
        to: Status::Open,
        reason: Some("review complete".into()),
    }));

    let ticket = state
        .store
        .create_ticket(
            NewTicket {
                org_id: me.org.id.clone(),
                key_prefix: me.org.slug.to_uppercase(),
                terms: review::stored_terms(&subject, &description),
                subject: subject.trim().to_owned(),
                description,
                category: body.category.unwrap_or(review.category),
                severity: body.severity.unwrap_or(review.severity),
                status: Status::Open,
                source,
                cluster_id: instance.map(|i| i.id),
                ai_summary: Some(review.summary.clone()).filter(|s| !s.is_empty()),
                ai_review_status: review.status,
                duplicate_of: None,
                created_by: Some(me.user.id.clone()),
            },
            entries,
        )
        .await?;
    tracing::info!(ticket = %ticket.ticket_id, by = %me.user.email, %source, "ticket raised");
    if let Some(agent) = agent {
        conversation::start(state, me, &ticket, agent, message).await?;
        return reload(state, me, ticket.id).await;
    }
    detail(state, me, ticket).await
}

/// A subject from the first line of a message, cut at a word near 80 characters.
pub(crate) fn subject_from_message(message: &str) -> String {
    const LONGEST: usize = 80;
    let line = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    if line.chars().count() <= LONGEST {
        return line.to_owned();
    }
    let cut: String = line.chars().take(LONGEST).collect();
    let at_word = cut.rfind(' ').filter(|i| *i > LONGEST / 2).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.']))
}

/// The description with the answers to the review's questions appended, so
/// that search, agents and people all see them.
fn with_clarifications(
    description: &str,
    answers: &[ClarificationAnswer],
    questions: &BTreeMap<&str, &ClarifyingQuestion>,
) -> String {
    if answers.is_empty() {
        return description.trim().to_owned();
    }
    let mut text = description.trim().to_owned();
    text.push_str("\n\nClarifications:");
    for answer in answers {
        let question =
            questions.get(answer.question_id.as_str()).map_or(answer.question_id.as_str(), |q| q.question.as_str());
        text.push_str(&format!("\n- {question}\n  {}", answer.answer.trim()));
    }
    text
}

/// A ticket with its timeline, comments, attachments, and whether the caller follows it.
pub async fn detail(state: &AppState, me: &Me, ticket: Ticket) -> AppResult<TicketDetail> {
    let timeline = state.store.timeline(&ticket.id, 0).await?;
    let attachments = state.store.attachments(&ticket.id).await?;
    let following = state.store.is_following(&ticket.id, &me.user.id).await?;
    let comments = timeline.iter().filter(|e| matches!(e.event, TimelineEvent::Comment { .. })).cloned().collect();
    let agents = assigned_agents(&timeline);
    Ok(TicketDetail { ticket, comments, attachments, timeline, following, agents })
}

/// `GET .../tickets/{ticket_id}`.
pub async fn get(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Read)?;
    let ticket = find(state, me, ticket_id).await?;
    detail(state, me, ticket).await
}

/// `GET .../tickets`: filtered, searched, paginated.
pub async fn list(state: &AppState, me: &Me, filter: TicketFilter) -> AppResult<TicketPage> {
    auth::require(me, Permission::Read)?;
    let page = filter.page.unwrap_or(1);
    let page_size = filter.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page == 0 {
        return Err(AppError::invalid_field("page", "page starts at 1"));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(AppError::invalid_field("page_size", format!("page_size must be between 1 and {MAX_PAGE_SIZE}")));
    }
    if filter.q.as_ref().is_some_and(|q| q.chars().count() > MAX_SUBJECT_CHARS) {
        return Err(AppError::invalid_field("q", format!("q is longer than {MAX_SUBJECT_CHARS} characters")));
    }
    let (result, total_count) = state.store.list_tickets(&me.org.id, &filter, page, page_size).await?;
    let total_pages = total_count.div_ceil(u64::from(page_size)) as u32;
    Ok(TicketPage { result, pagination: Pagination { page, page_size, total_pages, total_count } })
}

/// Moves a ticket's status, answering 409 with the allowed next statuses
/// when the move is not part of the lifecycle.
async fn change(
    state: &AppState,
    me: &Me,
    mut ticket: Ticket,
    to_status: Option<(Status, Option<String>)>,
    mut changes: TicketChanges,
    entries: Vec<NewEntry>,
) -> AppResult<()> {
    // Retry once if someone else moved the status between our read and write.
    for _ in 0..2 {
        let mut all = entries.clone();
        if let Some((to, reason)) = &to_status {
            if !ticket.status.can_move_to(*to) {
                let allowed: Vec<&str> = ticket.status.next().iter().map(|s| s.as_str()).collect();
                return Err(AppError::conflict(format!(
                    "a ticket cannot move from {} to {}; allowed next: {}",
                    ticket.status,
                    to,
                    allowed.join(", ")
                ))
                .with_details(json!({ "status": ticket.status, "allowed": ticket.status.next() })));
            }
            changes.status = Some((ticket.status, *to));
            all.insert(
                0,
                NewEntry::by(
                    AuthorType::User,
                    &me.user.id,
                    TimelineEvent::StatusChanged { from: ticket.status, to: *to, reason: reason.clone() },
                ),
            );
        }
        match state.store.append(&ticket.id, changes.clone(), all).await? {
            Ok(_) => {
                // Done tickets keep no working files.
                if let Some((to, _)) = to_status.as_ref().filter(|(to, _)| to.is_done()) {
                    let reason = format!("the ticket was {}", to.label().to_lowercase());
                    state.terminals.end_ticket(&ticket.id, &reason);
                    canvas::remove(&state.config.data_dir, &ticket.id).await;
                    // The last ticket of a project's stage opens the next stage.
                    if let Some(project_id) = &ticket.project_id {
                        projects::ticket_finished(state, me, project_id).await;
                    }
                }
                return Ok(());
            }
            Err(AppendRefused::StatusMoved(now)) => ticket.status = now,
            Err(AppendRefused::AttachmentLimit) => return Err(AppError::internal("unexpected attachment refusal")),
        }
    }
    Err(AppError::conflict("the ticket changed while saving; reload and try again"))
}

/// A reason (status change, rejection) trimmed, empty meaning none, and within bounds.
pub(crate) fn clean_reason(reason: Option<String>) -> AppResult<Option<String>> {
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_ANSWER_CHARS) {
        return Err(AppError::invalid_field("reason", format!("reason is longer than {MAX_ANSWER_CHARS} characters")));
    }
    Ok(reason)
}

/// `PATCH .../tickets/{ticket_id}`: status, severity, category, subject, duplicate link.
pub async fn update(state: &AppState, me: &Me, ticket_id: &str, body: UpdateTicket) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Operate)?;
    let ticket = find(state, me, ticket_id).await?;
    let reason = clean_reason(body.reason)?;
    let mut changes = TicketChanges::default();
    let mut entries = Vec::new();
    let field = |name: &str, from: String, to: String| {
        NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::FieldChanged { field: name.to_owned(), from, to })
    };
    if let Some(subject) = body.subject {
        require_len("subject", &subject, 1, MAX_SUBJECT_CHARS)?;
        let subject = subject.trim().to_owned();
        if subject != ticket.subject {
            changes.terms = Some(review::stored_terms(&subject, &ticket.description));
            entries.push(field("subject", ticket.subject.clone(), subject.clone()));
            changes.subject = Some(subject);
        }
    }
    if let Some(severity) = body.severity.filter(|s| *s != ticket.severity) {
        entries.push(field("severity", ticket.severity.to_string(), severity.to_string()));
        changes.severity = Some(severity);
    }
    if let Some(category) = body.category.filter(|c| *c != ticket.category) {
        entries.push(field("category", ticket.category.to_string(), category.to_string()));
        changes.category = Some(category);
    }
    if let Some(original) = body.duplicate_of.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        let original = find(state, me, original)
            .await
            .map_err(|_| AppError::invalid_field("duplicate_of", "no ticket with this id in your org"))?;
        if original.id == ticket.id {
            return Err(AppError::invalid_field("duplicate_of", "a ticket cannot duplicate itself"));
        }
        if ticket.duplicate_of.as_deref() != Some(original.ticket_id.as_str()) {
            entries.push(NewEntry::by(
                AuthorType::User,
                &me.user.id,
                TimelineEvent::DuplicateLinked { of: original.ticket_id.clone() },
            ));
            changes.duplicate_of = Some(original.id);
        }
    }
    let to_status = body.status.filter(|s| *s != ticket.status || entries.is_empty()).map(|s| (s, reason));
    if to_status.is_some() || !entries.is_empty() {
        let id = ticket.id.clone();
        change(state, me, ticket, to_status, changes, entries).await?;
        return reload(state, me, id).await;
    }
    detail(state, me, ticket).await
}

/// `POST .../tickets/{ticket_id}/close`: operators, or the person who raised it.
pub async fn close(state: &AppState, me: &Me, ticket_id: &str, body: CloseTicket) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Write)?;
    let ticket = find(state, me, ticket_id).await?;
    let raised_it = ticket.created_by.as_ref().is_some_and(|p| p.id == me.user.id);
    if !raised_it && !me.can(Permission::Operate) {
        return Err(AppError::forbidden("only operators or the person who raised a ticket can close it"));
    }
    let reason = clean_reason(body.reason)?;
    let id = ticket.id.clone();
    change(state, me, ticket, Some((Status::Closed, reason)), TicketChanges::default(), Vec::new()).await?;
    reload(state, me, id).await
}

/// `POST .../tickets/{ticket_id}/comments`.
pub async fn comment(state: &AppState, me: &Me, ticket_id: &str, body: NewComment) -> AppResult<TimelineEntry> {
    auth::require(me, Permission::Write)?;
    let author_type = body.author_type.unwrap_or(AuthorType::User);
    match author_type {
        AuthorType::User => {}
        AuthorType::Team => auth::require(me, Permission::Operate)?,
        AuthorType::Ai | AuthorType::System => {
            return Err(AppError::invalid_field("author_type", "author_type must be user or team"));
        }
    }
    require_len("body", &body.body, 1, MAX_COMMENT_CHARS)?;
    let ticket = find(state, me, ticket_id).await?;
    let entry = NewEntry::by(author_type, &me.user.id, TimelineEvent::Comment { body: body.body.trim().to_owned() });
    match state.store.append(&ticket.id, TicketChanges::default(), vec![entry]).await? {
        Ok(mut entries) if !entries.is_empty() => Ok(entries.remove(0)),
        _ => Err(AppError::internal("a comment was not recorded")),
    }
}

/// `POST .../tickets/{ticket_id}/follow`: watch the ticket, keeping an
/// optional comment (e.g. the text of a duplicate that was not filed).
pub async fn follow(state: &AppState, me: &Me, ticket_id: &str, body: FollowTicket) -> AppResult<TicketDetail> {
    auth::require(me, Permission::Read)?;
    let ticket = find(state, me, ticket_id).await?;
    let comment = body.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(comment) = &comment {
        auth::require(me, Permission::Write)?;
        require_len("comment", comment, 1, MAX_COMMENT_CHARS)?;
    }
    let already = state.store.is_following(&ticket.id, &me.user.id).await?;
    let mut entries = Vec::new();
    if !already {
        state.store.follow(&ticket.id, &me.user.id).await?;
        entries.push(NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::Followed));
    }
    if let Some(comment) = comment {
        entries.push(NewEntry::by(AuthorType::User, &me.user.id, TimelineEvent::Comment { body: comment }));
    }
    if !entries.is_empty() {
        state
            .store
            .append(&ticket.id, TicketChanges::default(), entries)
            .await?
            .map_err(|_| AppError::internal("follow not recorded"))?;
    }
    get(state, me, ticket_id).await
}

/// `DELETE .../tickets/{ticket_id}` (admins): the ticket, its timeline and
/// its attachments' bytes where nothing else points at them.
pub async fn delete(state: &AppState, me: &Me, ticket_id: &str) -> AppResult<()> {
    auth::require(me, Permission::Administer)?;
    let ticket = find(state, me, ticket_id).await?;
    let sessions: Vec<String> = state.store.terminal_sessions(&ticket.id).await?.into_iter().map(|s| s.id).collect();
    let hashes = state.store.delete_ticket(&me.org.id, &ticket.id).await?;
    state.terminals.end_ticket_and_wait(&ticket.id, "the ticket was deleted").await;
    crate::terminal::remove_recordings(&state.config.data_dir, &sessions).await;
    canvas::remove(&state.config.data_dir, &ticket.id).await;
    for sha256 in hashes {
        if !state.store.attachment_blob_in_use(&sha256).await? {
            let _ = tokio::fs::remove_file(attachments::blob_path(&state.config.data_dir, &sha256)).await;
        }
    }
    tracing::info!(ticket = %ticket.ticket_id, by = %me.user.email, "ticket deleted");
    if let Some(project_id) = &ticket.project_id {
        projects::ticket_finished(state, me, project_id).await;
    }
    Ok(())
}

/// Stores an upload's bytes (type and size checked) and records it on the
/// ticket; a refused upload leaves no bytes and no row behind.
pub async fn attach<S, E>(
    state: &AppState,
    me: &Me,
    ticket_id: &str,
    filename: &str,
    mut chunks: S,
) -> AppResult<Attachment>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    auth::require(me, Permission::Write)?;
    let ticket = find(state, me, ticket_id).await?;
    let limits = state.config.attachments;
    if ticket.attachment_count >= i64::from(limits.max_per_ticket) {
        return Err(attachment_limit(limits.max_per_ticket));
    }
    let mut upload = Upload::start(&state.config.data_dir, limits).await?;
    while let Some(chunk) = chunks.next().await {
        let pushed = match chunk {
            Ok(chunk) => upload.push(&chunk).await,
            Err(error) => Err(AppError::bad_request(format!("the upload was interrupted: {error}"))),
        };
        if let Err(error) = pushed {
            upload.abandon().await;
            return Err(error);
        }
    }
    let blob = upload.finish(&state.config.data_dir).await?;
    let record = NewAttachment {
        filename: attachments::clean_filename(filename),
        content_type: blob.content_type.to_owned(),
        size: blob.size,
        sha256: blob.sha256.clone(),
        uploaded_by: me.user.id.clone(),
    };
    let error = match state.store.add_attachment(&ticket.id, record, limits.max_per_ticket).await {
        Ok(Ok(attachment)) => return Ok(attachment),
        Ok(Err(_)) => attachment_limit(limits.max_per_ticket),
        Err(error) => error.into(),
    };
    // Nothing recorded: drop the bytes unless another attachment shares them.
    if !state.store.attachment_blob_in_use(&blob.sha256).await.unwrap_or(true) {
        let _ = tokio::fs::remove_file(attachments::blob_path(&state.config.data_dir, &blob.sha256)).await;
    }
    Err(error)
}

fn attachment_limit(max: u32) -> AppError {
    AppError::conflict(format!("this ticket already has the maximum of {max} attachments"))
}

/// An attachment's metadata and the path of its bytes.
pub async fn attachment(
    state: &AppState,
    me: &Me,
    ticket_id: &str,
    attachment_id: &str,
) -> AppResult<(Attachment, std::path::PathBuf)> {
    auth::require(me, Permission::Read)?;
    let ticket = find(state, me, ticket_id).await?;
    let attachment =
        state.store.attachment(&ticket.id, attachment_id).await?.ok_or_else(|| AppError::not_found("attachment"))?;
    let path = attachments::blob_path(&state.config.data_dir, &attachment.sha256);
    Ok((attachment, path))
}

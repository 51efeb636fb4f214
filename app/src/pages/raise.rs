//! `/tickets/new`: raise a ticket. The person describes the problem, the AI
//! review suggests a summary, severity and category, asks what is missing
//! and shows likely duplicates; then the person files it, answers the
//! questions, or follows an existing ticket instead (keeping their words).

use super::badges::StatusBadge;
use super::ErrorNote;
use crate::api::{list_instances, raise_ticket, review_ticket, watch_ticket};
use crate::model::{
    Category, ClarificationAnswer, CreateTicket, FindingLevel, FollowTicket, Review, ReviewRequest, ReviewStatus,
    Severity, MAX_DESCRIPTION_CHARS, MAX_SUBJECT_CHARS,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use std::collections::BTreeMap;

/// The raise-a-ticket page.
#[component]
pub fn NewTicketPage() -> impl IntoView {
    let subject = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let category = RwSignal::new(Option::<Category>::None);
    let cluster = RwSignal::new(String::new());
    let instances = Resource::new(|| (), |_| list_instances());

    let review = Action::new(|request: &ReviewRequest| review_ticket(request.clone()));
    let reviewed = RwSignal::new(Option::<(Review, ReviewRequest)>::None);
    Effect::new(move || {
        if let Some(Ok(result)) = review.value().get() {
            let request = review
                .input()
                .get_untracked()
                .unwrap_or_else(|| current_request(subject, description, category, cluster));
            reviewed.set(Some((result, request)));
        }
    });
    let run_review = move || {
        review.dispatch(current_request(subject, description, category, cluster));
    };

    view! {
        <Title text="New ticket"/>
        <div class="page-head">
            <h1>"Raise a ticket"</h1>
        </div>
        <div class="raise">
            <form class="form panel" on:submit=move |ev| { ev.prevent_default(); run_review(); }>
                <label>
                    "Subject"
                    <input type="text" name="subject" required maxlength=MAX_SUBJECT_CHARS.to_string()
                        placeholder="e.g. Checkout API returns 502 in production"
                        prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Description"
                    <textarea name="description" rows="8" maxlength=MAX_DESCRIPTION_CHARS.to_string()
                        placeholder="What happens, since when, where (environment, cluster, service), the exact error, what you expected."
                        prop:value=description on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                    <span class="hint">{move || format!("{} / {MAX_DESCRIPTION_CHARS}", description.read().chars().count())}</span>
                </label>
                <div class="form-row">
                    <label>
                        "Category"
                        <select name="category" on:change=move |ev| category.set(event_target_value(&ev).parse().ok())>
                            <option value="">"Let the review suggest"</option>
                            {Category::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>
                        "Instance"
                        <select name="cluster_id" on:change=move |ev| cluster.set(event_target_value(&ev))>
                            <option value="">"None"</option>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    instances.await.unwrap_or_default().into_iter().map(|i| view! {
                                        <option value=i.id.clone() title=i.summary.clone()>{i.name}</option>
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </label>
                </div>
                {move || review.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
                <div class="actions">
                    <button type="submit" class="button button-primary" disabled=move || review.pending().get()>
                        {move || if review.pending().get() { "Reviewing…" } else if reviewed.read().is_some() { "Review again" } else { "Review" }}
                    </button>
                    <span class="hint">"The review suggests a summary, severity and category, and looks for duplicates."</span>
                </div>
            </form>
            {move || reviewed.get().map(|(result, request)| view! {
                <ReviewPanel review=result request subject description/>
            })}
        </div>
    }
    .into_any()
}

fn current_request(
    subject: RwSignal<String>,
    description: RwSignal<String>,
    category: RwSignal<Option<Category>>,
    cluster: RwSignal<String>,
) -> ReviewRequest {
    ReviewRequest {
        subject: subject.get_untracked(),
        description: description.get_untracked(),
        category: category.get_untracked(),
        cluster_id: Some(cluster.get_untracked()).filter(|c| !c.is_empty()),
    }
}

/// The review's suggestions and the person's decision.
#[component]
fn ReviewPanel(
    review: Review,
    request: ReviewRequest,
    subject: RwSignal<String>,
    description: RwSignal<String>,
) -> impl IntoView {
    let navigate = use_navigate();
    let severity = RwSignal::new(review.severity);
    let category = RwSignal::new(review.category);
    let acknowledged = RwSignal::new(false);
    let answers = RwSignal::new(BTreeMap::<String, String>::new());
    let flagged = review.status == ReviewStatus::Flagged;
    let stale = {
        let request = request.clone();
        move || subject.get() != request.subject || description.get() != request.description
    };

    let file = Action::new(|body: &CreateTicket| raise_ticket(body.clone()));
    let follow =
        Action::new(|(ticket_id, body): &(String, FollowTicket)| watch_ticket(ticket_id.clone(), body.clone()));
    {
        let navigate = navigate.clone();
        Effect::new(move || {
            if let Some(Ok(detail)) = file.value().get() {
                navigate(&format!("/tickets/{}", detail.ticket.ticket_id), Default::default());
            }
        });
    }
    Effect::new(move || {
        if let Some(Ok(detail)) = follow.value().get() {
            navigate(&format!("/tickets/{}", detail.ticket.ticket_id), Default::default());
        }
    });

    let review_id = review.review_id.clone();
    let submit = move |_| {
        let clarification_answers: Vec<ClarificationAnswer> = answers
            .get_untracked()
            .into_iter()
            .filter(|(_, answer)| !answer.trim().is_empty())
            .map(|(question_id, answer)| ClarificationAnswer { question_id, answer })
            .collect();
        file.dispatch(CreateTicket {
            subject: Some(subject.get_untracked()),
            description: Some(description.get_untracked()),
            category: Some(category.get_untracked()),
            severity: Some(severity.get_untracked()),
            cluster_id: request.cluster_id.clone(),
            review_id: Some(review_id.clone()),
            acknowledged: Some(acknowledged.get_untracked()),
            clarification_answers: Some(clarification_answers),
            ..Default::default()
        });
    };
    let draft_text = move || {
        let (subject, description) = (subject.get_untracked(), description.get_untracked());
        if description.trim().is_empty() {
            subject
        } else {
            format!("{subject}\n\n{description}")
        }
    };

    view! {
        <section class="panel review" aria-label="AI review">
            <div class="review-head">
                <h2>"AI review"</h2>
                <span class=if flagged { "badge flagged" } else { "badge passed" }>{if flagged { "flagged" } else { "passed" }}</span>
                <span class="muted">{format!("by {}", review.reviewer)}</span>
            </div>
            {move || stale().then(|| view! { <p class="notice notice-warn">"The text changed since this review: review again to refresh the suggestions."</p> })}
            <h3>"Suggested summary"</h3>
            <p class="summary">{review.summary.clone()}</p>
            <div class="form-row">
                <label>
                    "Severity"
                    <select on:change=move |ev| { if let Ok(s) = event_target_value(&ev).parse() { severity.set(s) } }>
                        {Severity::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == review.severity>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Category"
                    <select on:change=move |ev| { if let Ok(c) = event_target_value(&ev).parse() { category.set(c) } }>
                        {Category::ALL.iter().map(|c| view! { <option value=c.as_str() selected=*c == review.category>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            {(!review.findings.is_empty()).then(|| view! {
                <h3>"Quality"</h3>
                <ul class="findings">
                    {review.findings.iter().map(|f| view! {
                        <li class=match f.level { FindingLevel::Warning => "warning", FindingLevel::Info => "info" }>{f.message.clone()}</li>
                    }).collect_view()}
                </ul>
            })}
            {(!review.questions.is_empty()).then(|| view! {
                <h3>"Questions"</h3>
                <div class="questions">
                    {review.questions.iter().map(|q| {
                        let id = q.id.clone();
                        view! {
                            <label>
                                {q.question.clone()}
                                <textarea rows="2" name=format!("answer-{}", q.id)
                                    on:input=move |ev| { let value = event_target_value(&ev); answers.update(|a| { a.insert(id.clone(), value); }); }></textarea>
                            </label>
                        }
                    }).collect_view()}
                </div>
            })}
            {(!review.duplicates.is_empty()).then(|| view! {
                <h3>"Likely duplicates"</h3>
                <ul class="duplicates">
                    {review.duplicates.iter().map(|d| {
                        let ticket_id = d.ticket_id.clone();
                        view! {
                            <li>
                                <a class="mono" href=format!("/tickets/{}", d.ticket_id) target="_blank" rel="noopener">{d.ticket_id.clone()}</a>
                                <span class="subject">{d.subject.clone()}</span>
                                <StatusBadge status=d.status/>
                                <span class="score" title="similarity">{format!("{:.0}%", d.score * 100.0)}</span>
                                <button type="button" class="button"
                                    on:click=move |_| { follow.dispatch((ticket_id.clone(), FollowTicket { comment: Some(draft_text()) })); }>
                                    "Follow instead"
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <p class="hint">"Following adds you to that ticket and posts your text there as a comment, so nothing you wrote is lost."</p>
            })}
            {flagged.then(|| view! {
                <p class="notice notice-warn">{review.flag_reason.clone().unwrap_or_default()}</p>
                <label class="check">
                    <input type="checkbox" on:change=move |ev| acknowledged.set(event_target_checked(&ev))/>
                    "This is a different problem: file it anyway"
                </label>
            })}
            {move || file.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            {move || follow.value().get().and_then(Result::err).map(|error| view! { <ErrorNote error/> })}
            <div class="actions">
                <button type="button" class="button button-primary" on:click=submit
                    disabled=move || file.pending().get() || (flagged && !acknowledged.get())>
                    {move || if file.pending().get() { "Filing…" } else { "File ticket" }}
                </button>
            </div>
        </section>
    }
    .into_any()
}

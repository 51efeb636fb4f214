//! SQLite: tickets, timelines, attachments, reviews, followers, instances,
//! full-text and duplicate search.
//!
//! Every write to a ticket starts with an `update tickets … returning`, so the
//! transaction takes SQLite's write lock at its first statement: concurrent
//! writers queue on the busy timeout instead of failing to upgrade a read
//! lock, and `last_seq` hands out gap-free, never-repeated timeline seqs.

use super::SqliteStore;
use crate::store::{
    from_millis, new_id, to_millis, AppendRefused, Candidate, InstanceRecord, NewAttachment, NewEntry, NewTicket,
    StoreError, StoreResult, TicketChanges, TicketRef, TicketStore,
};
use async_trait::async_trait;
use chrono::Utc;
use opsdesk_app::model::{Attachment, PersonRef, Ticket, TicketFilter, TimelineEntry, TimelineEvent};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::HashMap;
use std::str::FromStr;

/// Columns `ticket_from_row` reads, from `TICKET_FROM`.
const TICKET_COLUMNS: &str = "t.id, t.number, t.ticket_key, t.subject, t.description, t.category, t.severity, \
     t.status, t.source, t.cluster_id, t.ai_summary, t.ai_review_status, d.ticket_key as duplicate_key, \
     t.created_at, t.updated_at, t.last_seq, t.comment_count, t.attachment_count, t.project_id, t.project_stage, \
     u.id as person_id, u.email as person_email, u.name as person_name";
const TICKET_FROM: &str =
    "tickets t left join users u on u.id = t.created_by left join tickets d on d.id = t.duplicate_of";

pub(super) fn parse<T: FromStr<Err = String>>(value: String) -> StoreResult<T> {
    value.parse().map_err(StoreError::Corrupt)
}

pub(super) fn person_from_row(row: &SqliteRow) -> StoreResult<Option<PersonRef>> {
    let id: Option<String> = row.try_get("person_id")?;
    Ok(match id {
        Some(id) => Some(PersonRef { id, email: row.try_get("person_email")?, name: row.try_get("person_name")? }),
        None => None,
    })
}

fn ticket_from_row(row: &SqliteRow) -> StoreResult<Ticket> {
    Ok(Ticket {
        ticket_id: row.try_get("ticket_key")?,
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        subject: row.try_get("subject")?,
        description: row.try_get("description")?,
        category: parse(row.try_get("category")?)?,
        severity: parse(row.try_get("severity")?)?,
        status: parse(row.try_get("status")?)?,
        source: parse(row.try_get("source")?)?,
        cluster_id: row.try_get("cluster_id")?,
        ai_summary: row.try_get("ai_summary")?,
        ai_review_status: parse(row.try_get("ai_review_status")?)?,
        duplicate_of: row.try_get("duplicate_key")?,
        created_by: person_from_row(row)?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        last_seq: row.try_get("last_seq")?,
        comment_count: row.try_get("comment_count")?,
        attachment_count: row.try_get("attachment_count")?,
        project_id: row.try_get("project_id")?,
        stage: row.try_get::<Option<i64>, _>("project_stage")?.and_then(|s| u32::try_from(s).ok()),
    })
}

fn entry_from_row(row: &SqliteRow) -> StoreResult<TimelineEntry> {
    let data: String = row.try_get("data")?;
    let event: TimelineEvent =
        serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(format!("timeline entry: {e}")))?;
    Ok(TimelineEntry {
        seq: row.try_get("seq")?,
        at: from_millis(row.try_get("created_at")?),
        author_type: parse(row.try_get("author_type")?)?,
        author: person_from_row(row)?,
        event,
    })
}

const ATTACHMENT_COLUMNS: &str = "a.id, a.filename, a.content_type, a.size, a.sha256, a.created_at, \
     u.id as person_id, u.email as person_email, u.name as person_name";

fn attachment_from_row(row: &SqliteRow) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: row.try_get("id")?,
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        uploaded_by: person_from_row(row)?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

fn instance_from_row(row: &SqliteRow) -> StoreResult<InstanceRecord> {
    let context: String = row.try_get("platform_context")?;
    let terminal: String = row.try_get("terminal")?;
    Ok(InstanceRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        summary: row.try_get("summary")?,
        platform_context: serde_json::from_str(&context)
            .map_err(|e| StoreError::Corrupt(format!("platform_context: {e}")))?,
        terminal: serde_json::from_str(&terminal).map_err(|e| StoreError::Corrupt(format!("terminal: {e}")))?,
        builtin: row.try_get::<i64, _>("builtin")? != 0,
    })
}

/// The org as a single full-text token (ids are UUIDs: drop the dashes).
fn org_token(org_id: &str) -> String {
    format!("o{}", org_id.replace('-', ""))
}

/// Quotes a word for an FTS5 query (doubling any quote inside).
fn fts_quote(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// The FTS5 query for a person's search text: every word must appear (as a
/// prefix) in the subject, description or comments. (The org is filtered on
/// the tickets table: intersecting with the org token here would walk every
/// ticket of a large org for nothing, since search results are not ranked.)
fn search_query(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("{}*", fts_quote(&w.to_lowercase())))
        .collect();
    (!words.is_empty()).then(|| format!("{{subject description comments}} : ({})", words.join(" ")))
}

/// Terms are plain lowercase words; anything else would not survive FTS5's tokenizer.
fn clean_term(term: &str) -> Option<String> {
    let clean: String = term.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    (!clean.is_empty()).then_some(clean)
}

async fn insert_entries(
    conn: &mut SqliteConnection,
    ticket_id: &str,
    first_seq: i64,
    entries: &[NewEntry],
    at: i64,
) -> StoreResult<()> {
    for (offset, entry) in entries.iter().enumerate() {
        let data = serde_json::to_value(&entry.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let kind = data["kind"].as_str().unwrap_or_default().to_owned();
        sqlx::query(
            "insert into timeline_entries (ticket_id, seq, kind, author_type, author_id, data, created_at) \
             values (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ticket_id)
        .bind(first_seq + offset as i64)
        .bind(kind)
        .bind(entry.author_type.as_str())
        .bind(&entry.author_id)
        .bind(data.to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Comment bodies of `entries`, for the full-text index.
fn comment_text(entries: &[NewEntry]) -> Option<String> {
    let bodies: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Comment { body } => Some(body.as_str()),
            _ => None,
        })
        .collect();
    (!bodies.is_empty()).then(|| bodies.join("\n"))
}

fn comment_count(entries: &[NewEntry]) -> i64 {
    entries.iter().filter(|e| matches!(e.event, TimelineEvent::Comment { .. })).count() as i64
}

impl SqliteStore {
    pub(super) async fn ticket_by_id(&self, ticket_id: &str) -> StoreResult<Option<Ticket>> {
        let sql = format!("select {TICKET_COLUMNS} from {TICKET_FROM} where t.id = ?");
        let row = sqlx::query(&sql).bind(ticket_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(ticket_from_row).transpose()
    }

    async fn entries_from(&self, ticket_id: &str, after: i64, limit: Option<i64>) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query(
            "select e.seq, e.created_at, e.author_type, e.data, \
             u.id as person_id, u.email as person_email, u.name as person_name \
             from timeline_entries e left join users u on u.id = e.author_id \
             where e.ticket_id = ? and e.seq > ? order by e.seq limit ?",
        )
        .bind(ticket_id)
        .bind(after)
        .bind(limit.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}

/// Which project task a ticket carries out: project id, stage (from 1), task (from 0).
pub(super) type TaskOf<'a> = (&'a str, u32, u32);

/// Numbers and inserts a ticket with its first entries inside `tx`; answers its id.
pub(super) async fn insert_ticket(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    new: &NewTicket,
    entries: &[NewEntry],
    task_of: Option<TaskOf<'_>>,
) -> StoreResult<String> {
    let id = new_id();
    let now = to_millis(Utc::now());
    let number: i64 =
        sqlx::query_scalar("update orgs set ticket_counter = ticket_counter + 1 where id = ? returning ticket_counter")
            .bind(&new.org_id)
            .fetch_one(&mut **tx)
            .await?;
    let rowid: i64 = sqlx::query_scalar(
        "insert into tickets (id, org_id, number, ticket_key, subject, description, category, severity, status, \
         source, cluster_id, ai_summary, ai_review_status, duplicate_of, created_by, created_at, updated_at, \
         last_seq, comment_count, terms, project_id, project_stage, project_task) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning rowid",
    )
    .bind(&id)
    .bind(&new.org_id)
    .bind(number)
    .bind(format!("{}-{number}", new.key_prefix))
    .bind(&new.subject)
    .bind(&new.description)
    .bind(new.category.as_str())
    .bind(new.severity.as_str())
    .bind(new.status.as_str())
    .bind(new.source.as_str())
    .bind(&new.cluster_id)
    .bind(&new.ai_summary)
    .bind(new.ai_review_status.as_str())
    .bind(&new.duplicate_of)
    .bind(&new.created_by)
    .bind(now)
    .bind(now)
    .bind(entries.len() as i64)
    .bind(comment_count(entries))
    .bind(&new.terms)
    .bind(task_of.map(|(project, _, _)| project))
    .bind(task_of.map(|(_, stage, _)| i64::from(stage)))
    .bind(task_of.map(|(_, _, task)| i64::from(task)))
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "insert into tickets_fts (rowid, subject, description, comments, terms, org) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(rowid)
    .bind(&new.subject)
    .bind(&new.description)
    .bind(comment_text(entries).unwrap_or_default())
    .bind(&new.terms)
    .bind(org_token(&new.org_id))
    .execute(&mut **tx)
    .await?;
    insert_entries(tx, &id, 1, entries, now).await?;
    Ok(id)
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn instances(&self, org_id: &str) -> StoreResult<Vec<InstanceRecord>> {
        let rows = sqlx::query("select * from instances where org_id = ? order by builtin desc, name")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(instance_from_row).collect()
    }

    async fn instance(&self, org_id: &str, instance_id: &str) -> StoreResult<Option<InstanceRecord>> {
        let row = sqlx::query("select * from instances where org_id = ? and id = ?")
            .bind(org_id)
            .bind(instance_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(instance_from_row).transpose()
    }

    async fn create_instance(
        &self,
        org_id: &str,
        name: &str,
        summary: &str,
        platform_context: &serde_json::Value,
        terminal: &serde_json::Value,
    ) -> StoreResult<InstanceRecord> {
        let id = new_id();
        sqlx::query(
            "insert into instances (id, org_id, name, summary, platform_context, terminal, builtin, created_at) \
             values (?, ?, ?, ?, ?, ?, 0, ?)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(name)
        .bind(summary)
        .bind(platform_context.to_string())
        .bind(terminal.to_string())
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(|e| super::conflict_on_unique(e, || format!("an instance named {name} already exists")))?;
        self.instance(org_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an instance just created is missing".into()))
    }

    async fn ensure_local_instance(&self, org_id: &str, summary: &str) -> StoreResult<InstanceRecord> {
        sqlx::query(
            "insert into instances (id, org_id, name, summary, platform_context, builtin, created_at) \
             values (?, ?, 'local', ?, '{}', 1, ?) on conflict (org_id, name) do nothing",
        )
        .bind(new_id())
        .bind(org_id)
        .bind(summary)
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("select * from instances where org_id = ? and name = 'local'")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        instance_from_row(&row)
    }

    async fn create_ticket(&self, new: NewTicket, entries: Vec<NewEntry>) -> StoreResult<Ticket> {
        let mut tx = self.pool.begin().await?;
        let id = insert_ticket(&mut tx, &new, &entries, None).await?;
        tx.commit().await?;
        self.ticket_by_id(&id).await?.ok_or_else(|| StoreError::Corrupt("a ticket just created is missing".into()))
    }

    async fn ticket(&self, org_id: &str, ticket: &TicketRef) -> StoreResult<Option<Ticket>> {
        let (clause, value) = match ticket {
            TicketRef::Number(number) => ("t.number = ?", number.to_string()),
            TicketRef::Id(id) => ("t.id = ?", id.clone()),
        };
        let sql = format!("select {TICKET_COLUMNS} from {TICKET_FROM} where t.org_id = ? and {clause}");
        let query = sqlx::query(&sql).bind(org_id);
        let query = match ticket {
            TicketRef::Number(number) => query.bind(*number),
            TicketRef::Id(_) => query.bind(value),
        };
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(ticket_from_row).transpose()
    }

    async fn list_tickets(
        &self,
        org_id: &str,
        filter: &TicketFilter,
        page: u32,
        page_size: u32,
    ) -> StoreResult<(Vec<Ticket>, u64)> {
        /// `by_search`: let the full-text match drive the query (the `+` keeps
        /// SQLite off the org index), which counts a search's matches in half
        /// the time of walking the org's tickets; pages stay on the index,
        /// whose order already is the answer's.
        fn push_filters<'a>(
            query: &mut QueryBuilder<'a, Sqlite>,
            org_id: &'a str,
            filter: &'a TicketFilter,
            by_search: bool,
        ) {
            let fts = filter.q.as_deref().and_then(search_query);
            if by_search && fts.is_some() {
                query.push(" where +t.org_id = ").push_bind(org_id);
            } else {
                query.push(" where t.org_id = ").push_bind(org_id);
            }
            if !filter.status.is_empty() {
                query.push(" and t.status in (");
                let mut list = query.separated(", ");
                for status in &filter.status {
                    list.push_bind(status.as_str());
                }
                query.push(")");
            }
            if let Some(cluster_id) = &filter.cluster_id {
                query.push(" and t.cluster_id = ").push_bind(cluster_id);
            }
            if let Some(fts) = fts {
                query.push(" and t.rowid in (select rowid from tickets_fts where tickets_fts match ").push_bind(fts);
                query.push(")");
            }
        }
        let mut count = QueryBuilder::<Sqlite>::new("select count(*) from tickets t");
        push_filters(&mut count, org_id, filter, true);
        let total: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;

        let mut select = QueryBuilder::<Sqlite>::new(format!("select {TICKET_COLUMNS} from {TICKET_FROM}"));
        push_filters(&mut select, org_id, filter, false);
        select.push(" order by t.number desc limit ").push_bind(i64::from(page_size));
        select.push(" offset ").push_bind(i64::from(page.saturating_sub(1)) * i64::from(page_size));
        let rows = select.build().fetch_all(&self.pool).await?;
        let tickets = rows.iter().map(ticket_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((tickets, total.max(0) as u64))
    }

    async fn timeline(&self, ticket_id: &str, after: i64) -> StoreResult<Vec<TimelineEntry>> {
        self.entries_from(ticket_id, after, None).await
    }

    async fn append(
        &self,
        ticket_id: &str,
        changes: TicketChanges,
        entries: Vec<NewEntry>,
    ) -> StoreResult<Result<Vec<TimelineEntry>, AppendRefused>> {
        let now = to_millis(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut update = QueryBuilder::<Sqlite>::new("update tickets set last_seq = last_seq + ");
        update.push_bind(entries.len() as i64);
        update.push(", updated_at = ").push_bind(now);
        update.push(", comment_count = comment_count + ").push_bind(comment_count(&entries));
        if let Some((_, to)) = changes.status {
            update.push(", status = ").push_bind(to.as_str());
        }
        if let Some(severity) = changes.severity {
            update.push(", severity = ").push_bind(severity.as_str());
        }
        if let Some(category) = changes.category {
            update.push(", category = ").push_bind(category.as_str());
        }
        if let Some(subject) = &changes.subject {
            update.push(", subject = ").push_bind(subject);
        }
        if let Some(duplicate_of) = &changes.duplicate_of {
            update.push(", duplicate_of = ").push_bind(duplicate_of);
        }
        if let Some(terms) = &changes.terms {
            update.push(", terms = ").push_bind(terms);
        }
        update.push(" where id = ").push_bind(ticket_id);
        if let Some((from, _)) = changes.status {
            update.push(" and status = ").push_bind(from.as_str());
        }
        update.push(" returning last_seq, rowid");
        let Some(row) = update.build().fetch_optional(&mut *tx).await? else {
            let status: Option<String> = sqlx::query_scalar("select status from tickets where id = ?")
                .bind(ticket_id)
                .fetch_optional(&mut *tx)
                .await?;
            return match status {
                Some(status) => Ok(Err(AppendRefused::StatusMoved(parse(status)?))),
                None => Err(StoreError::Database(sqlx::Error::RowNotFound)),
            };
        };
        let last_seq: i64 = row.try_get(0)?;
        let rowid: i64 = row.try_get(1)?;
        let first_seq = last_seq - entries.len() as i64 + 1;
        insert_entries(&mut tx, ticket_id, first_seq, &entries, now).await?;
        if let Some(text) = comment_text(&entries) {
            sqlx::query("update tickets_fts set comments = comments || char(10) || ? where rowid = ?")
                .bind(text)
                .bind(rowid)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(subject) = &changes.subject {
            sqlx::query("update tickets_fts set subject = ?, terms = coalesce(?, terms) where rowid = ?")
                .bind(subject)
                .bind(&changes.terms)
                .bind(rowid)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let committed = self.entries_from(ticket_id, first_seq - 1, Some(entries.len() as i64)).await?;
        self.hub.publish(ticket_id, &committed);
        Ok(Ok(committed))
    }

    async fn delete_ticket(&self, org_id: &str, ticket_id: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let hashes: Vec<String> = sqlx::query_scalar(
            "select distinct a.sha256 from attachments a join tickets t on t.id = a.ticket_id \
             where t.org_id = ? and t.id = ?",
        )
        .bind(org_id)
        .bind(ticket_id)
        .fetch_all(&mut *tx)
        .await?;
        let Some(rowid): Option<i64> =
            sqlx::query_scalar("delete from tickets where org_id = ? and id = ? returning rowid")
                .bind(org_id)
                .bind(ticket_id)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(Vec::new());
        };
        sqlx::query("delete from tickets_fts where rowid = ?").bind(rowid).execute(&mut *tx).await?;
        tx.commit().await?;
        self.hub.deleted(ticket_id);
        // Rows cascaded away; the caller drops the blobs nobody else points at.
        Ok(hashes)
    }

    async fn add_attachment(
        &self,
        ticket_id: &str,
        attachment: NewAttachment,
        limit: u32,
    ) -> StoreResult<Result<Attachment, AppendRefused>> {
        let now = to_millis(Utc::now());
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        let Some(last_seq): Option<i64> = sqlx::query_scalar(
            "update tickets set attachment_count = attachment_count + 1, last_seq = last_seq + 1, updated_at = ? \
             where id = ? and attachment_count < ? returning last_seq",
        )
        .bind(now)
        .bind(ticket_id)
        .bind(i64::from(limit))
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Err(AppendRefused::AttachmentLimit));
        };
        sqlx::query(
            "insert into attachments (id, ticket_id, filename, content_type, size, sha256, uploaded_by, created_at) \
             values (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(ticket_id)
        .bind(&attachment.filename)
        .bind(&attachment.content_type)
        .bind(attachment.size)
        .bind(&attachment.sha256)
        .bind(&attachment.uploaded_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "select {ATTACHMENT_COLUMNS} from attachments a left join users u on u.id = a.uploaded_by where a.id = ?"
        );
        let row = sqlx::query(&sql).bind(&id).fetch_one(&mut *tx).await?;
        let stored = attachment_from_row(&row)?;
        let entry = NewEntry {
            author_type: opsdesk_app::model::AuthorType::User,
            author_id: Some(attachment.uploaded_by.clone()),
            event: TimelineEvent::Attached { attachment: stored.clone() },
        };
        insert_entries(&mut tx, ticket_id, last_seq, std::slice::from_ref(&entry), now).await?;
        tx.commit().await?;
        if self.hub.is_watched(ticket_id) {
            self.hub.publish(ticket_id, &self.entries_from(ticket_id, last_seq - 1, Some(1)).await?);
        }
        Ok(Ok(stored))
    }

    async fn attachments(&self, ticket_id: &str) -> StoreResult<Vec<Attachment>> {
        let sql = format!(
            "select {ATTACHMENT_COLUMNS} from attachments a left join users u on u.id = a.uploaded_by \
             where a.ticket_id = ? order by a.created_at, a.id"
        );
        let rows = sqlx::query(&sql).bind(ticket_id).fetch_all(&self.pool).await?;
        rows.iter().map(attachment_from_row).collect()
    }

    async fn attachment(&self, ticket_id: &str, attachment_id: &str) -> StoreResult<Option<Attachment>> {
        let sql = format!(
            "select {ATTACHMENT_COLUMNS} from attachments a left join users u on u.id = a.uploaded_by \
             where a.ticket_id = ? and a.id = ?"
        );
        let row = sqlx::query(&sql).bind(ticket_id).bind(attachment_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(attachment_from_row).transpose()
    }

    async fn attachment_blob_in_use(&self, sha256: &str) -> StoreResult<bool> {
        let used: Option<i64> = sqlx::query_scalar("select 1 from attachments where sha256 = ? limit 1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(used.is_some())
    }

    async fn save_review(
        &self,
        org_id: &str,
        user_id: &str,
        review_id: &str,
        request: &str,
        result: &str,
    ) -> StoreResult<()> {
        sqlx::query("insert into reviews (id, org_id, user_id, request, result, created_at) values (?, ?, ?, ?, ?, ?)")
            .bind(review_id)
            .bind(org_id)
            .bind(user_id)
            .bind(request)
            .bind(result)
            .bind(to_millis(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn review(&self, org_id: &str, review_id: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("select request, result from reviews where org_id = ? and id = ?")
            .bind(org_id)
            .bind(review_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("request")?, row.try_get("result")?)),
            None => None,
        })
    }

    async fn follow(&self, ticket_id: &str, user_id: &str) -> StoreResult<()> {
        sqlx::query(
            "insert into ticket_followers (ticket_id, user_id, created_at) values (?, ?, ?) \
             on conflict (ticket_id, user_id) do nothing",
        )
        .bind(ticket_id)
        .bind(user_id)
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_following(&self, ticket_id: &str, user_id: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("select 1 from ticket_followers where ticket_id = ? and user_id = ?")
                .bind(ticket_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn duplicate_candidates(&self, org_id: &str, terms: &[String], limit: u32) -> StoreResult<Vec<Candidate>> {
        let words: Vec<String> = terms.iter().filter_map(|t| clean_term(t)).map(|t| fts_quote(&t)).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("org : {} AND terms : ({})", org_token(org_id), words.join(" OR "));
        let rows = sqlx::query(
            "select t.ticket_key, t.subject, t.status, t.terms from \
             (select rowid, rank from tickets_fts where tickets_fts match ? order by rank limit ?) f \
             join tickets t on t.rowid = f.rowid where t.org_id = ? order by f.rank",
        )
        .bind(query)
        .bind(i64::from(limit))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Candidate {
                    ticket_key: row.try_get("ticket_key")?,
                    subject: row.try_get("subject")?,
                    status: parse(row.try_get("status")?)?,
                    terms: row.try_get("terms")?,
                })
            })
            .collect()
    }

    async fn term_frequencies(&self, terms: &[String]) -> StoreResult<(HashMap<String, i64>, i64)> {
        let cleaned: Vec<String> = terms.iter().filter_map(|t| clean_term(t)).collect();
        let mut frequencies = HashMap::new();
        if !cleaned.is_empty() {
            let mut query = QueryBuilder::<Sqlite>::new(
                "select term, doc from tickets_fts_vocab where col = 'terms' and term in (",
            );
            let mut list = query.separated(", ");
            for term in &cleaned {
                list.push_bind(term);
            }
            query.push(")");
            for row in query.build().fetch_all(&self.pool).await? {
                frequencies.insert(row.try_get("term")?, row.try_get("doc")?);
            }
        }
        // The highest rowid stands in for the number of tickets: O(1), and
        // deletions make it only slightly larger than the true count.
        let total: Option<i64> = sqlx::query_scalar("select max(rowid) from tickets").fetch_one(&self.pool).await?;
        Ok((frequencies, total.unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_becomes_a_safe_prefix_query() {
        let query = search_query("disk \"full\" OR prod*").unwrap();
        assert_eq!(query, r#"{subject description comments} : ("disk"* "full"* "or"* "prod"*)"#);
        assert_eq!(search_query(" -- "), None);
    }
}

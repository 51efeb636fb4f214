//! SQLite: projects, their plan revisions, opened stages and stage tickets.

use super::tickets::{insert_ticket, parse};
use super::SqliteStore;
use crate::store::{
    from_millis, new_id, to_millis, OpenedStage, PlanText, ProjectRecord, ProjectStore, StageOpening, StageTicket,
    StoreError, StoreResult,
};
use async_trait::async_trait;
use chrono::Utc;
use opsdesk_app::model::{PersonRef, PlanRevision, PlanStage, ProjectTicket, Ticket};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// The person whose columns are `<prefix>_id`, `<prefix>_email`, `<prefix>_name`.
fn person(row: &SqliteRow, prefix: &str) -> StoreResult<Option<PersonRef>> {
    let id: Option<String> = row.try_get(format!("{prefix}_id").as_str())?;
    Ok(match id {
        Some(id) => Some(PersonRef {
            id,
            email: row.try_get(format!("{prefix}_email").as_str())?,
            name: row.try_get(format!("{prefix}_name").as_str())?,
        }),
        None => None,
    })
}

fn stages_from_json(json: &str) -> StoreResult<Vec<PlanStage>> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("project_revisions.stages: {e}")))
}

fn stages_to_json(stages: &[PlanStage]) -> String {
    serde_json::to_string(stages).expect("a plan serialises")
}

fn stage_number(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("stage number {value}")))
}

/// A revision read from columns prefixed `<prefix>_` (the latest and the approved one share a row).
fn revision_from_row(row: &SqliteRow, prefix: &str) -> StoreResult<Option<PlanRevision>> {
    let Some(revision) = row.try_get::<Option<i64>, _>(format!("{prefix}_revision").as_str())? else {
        return Ok(None);
    };
    Ok(Some(PlanRevision {
        revision,
        title: row.try_get(format!("{prefix}_title").as_str())?,
        goal: row.try_get(format!("{prefix}_goal").as_str())?,
        stages: stages_from_json(&row.try_get::<String, _>(format!("{prefix}_stages").as_str())?)?,
        author: person(row, &format!("{prefix}_author"))?,
        created_at: from_millis(row.try_get(format!("{prefix}_created_at").as_str())?),
    }))
}

/// A project with its latest and approved revisions and the people on it.
const PROJECT_SELECT: &str = "select p.id, p.org_id, p.created_at, p.updated_at, p.approved_at, \
     cu.id as creator_id, cu.email as creator_email, cu.name as creator_name, \
     au.id as approver_id, au.email as approver_email, au.name as approver_name, \
     l.revision as latest_revision, l.title as latest_title, l.goal as latest_goal, l.stages as latest_stages, \
     l.created_at as latest_created_at, lu.id as latest_author_id, lu.email as latest_author_email, \
     lu.name as latest_author_name, \
     a.revision as approved_revision, a.title as approved_title, a.goal as approved_goal, \
     a.stages as approved_stages, a.created_at as approved_created_at, apu.id as approved_author_id, \
     apu.email as approved_author_email, apu.name as approved_author_name \
     from projects p \
     join project_revisions l on l.project_id = p.id and l.revision = p.revision \
     left join project_revisions a on a.project_id = p.id and a.revision = p.approved_revision \
     left join users cu on cu.id = p.created_by \
     left join users au on au.id = p.approved_by \
     left join users lu on lu.id = l.author_id \
     left join users apu on apu.id = a.author_id";

fn project_from_row(row: &SqliteRow) -> StoreResult<ProjectRecord> {
    Ok(ProjectRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        latest: revision_from_row(row, "latest")?
            .ok_or_else(|| StoreError::Corrupt("a project without its latest revision".into()))?,
        approved: revision_from_row(row, "approved")?,
        approved_by: person(row, "approver")?,
        approved_at: row.try_get::<Option<i64>, _>("approved_at")?.map(from_millis),
        created_by: person(row, "creator")?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}

async fn insert_revision(
    conn: &mut sqlx::SqliteConnection,
    project_id: &str,
    revision: i64,
    author_id: &str,
    plan: PlanText<'_>,
    at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "insert into project_revisions (project_id, revision, title, goal, stages, author_id, created_at) \
         values (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(project_id)
    .bind(revision)
    .bind(plan.title)
    .bind(plan.goal)
    .bind(stages_to_json(plan.stages))
    .bind(author_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(&self, org_id: &str, author_id: &str, plan: PlanText<'_>) -> StoreResult<String> {
        let id = new_id();
        let now = to_millis(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into projects (id, org_id, revision, created_by, created_at, updated_at) values (?, ?, 1, ?, ?, ?)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(author_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_revision(&mut tx, &id, 1, author_id, plan, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn project(&self, org_id: &str, project_id: &str) -> StoreResult<Option<ProjectRecord>> {
        let sql = format!("{PROJECT_SELECT} where p.org_id = ? and p.id = ?");
        let row = sqlx::query(&sql).bind(org_id).bind(project_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn projects(&self, org_id: &str) -> StoreResult<Vec<ProjectRecord>> {
        let sql = format!("{PROJECT_SELECT} where p.org_id = ? order by p.created_at desc, p.id desc");
        let rows = sqlx::query(&sql).bind(org_id).fetch_all(&self.pool).await?;
        rows.iter().map(project_from_row).collect()
    }

    async fn project_revisions(&self, project_id: &str) -> StoreResult<Vec<PlanRevision>> {
        let rows = sqlx::query(
            "select r.revision as r_revision, r.title as r_title, r.goal as r_goal, r.stages as r_stages, \
             r.created_at as r_created_at, u.id as r_author_id, u.email as r_author_email, \
             u.name as r_author_name \
             from project_revisions r left join users u on u.id = r.author_id \
             where r.project_id = ? order by r.revision desc",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                revision_from_row(row, "r")?.ok_or_else(|| StoreError::Corrupt("a revision without a number".into()))
            })
            .collect()
    }

    async fn revise_project(
        &self,
        project_id: &str,
        expected: i64,
        author_id: &str,
        plan: PlanText<'_>,
    ) -> StoreResult<bool> {
        let now = to_millis(Utc::now());
        let mut tx = self.pool.begin().await?;
        // The conditional update comes first: it takes the write lock and
        // loses cleanly to a concurrent edit.
        let moved = sqlx::query("update projects set revision = ?, updated_at = ? where id = ? and revision = ?")
            .bind(expected + 1)
            .bind(now)
            .bind(project_id)
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        insert_revision(&mut tx, project_id, expected + 1, author_id, plan, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn approve_project(&self, project_id: &str, revision: i64, by: &str) -> StoreResult<bool> {
        let changed = sqlx::query(
            "update projects set approved_revision = ?, approved_by = ?, approved_at = ?, updated_at = ? \
             where id = ? and revision = ? and (approved_revision is null or approved_revision < ?)",
        )
        .bind(revision)
        .bind(by)
        .bind(to_millis(Utc::now()))
        .bind(to_millis(Utc::now()))
        .bind(project_id)
        .bind(revision)
        .bind(revision)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn opened_stages(&self, org_id: &str, project_id: Option<&str>) -> StoreResult<Vec<OpenedStage>> {
        let rows = sqlx::query(
            "select s.project_id, s.stage, s.revision, s.opened_at, s.early, \
             u.id as opener_id, u.email as opener_email, u.name as opener_name \
             from project_stages s join projects p on p.id = s.project_id \
             left join users u on u.id = s.opened_by \
             where p.org_id = ? and (? is null or s.project_id = ?) order by s.project_id, s.stage",
        )
        .bind(org_id)
        .bind(project_id)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OpenedStage {
                    project_id: row.try_get("project_id")?,
                    stage: stage_number(row.try_get("stage")?)?,
                    revision: row.try_get("revision")?,
                    opened_by: person(row, "opener")?,
                    opened_at: from_millis(row.try_get("opened_at")?),
                    early: row.try_get::<i64, _>("early")? != 0,
                })
            })
            .collect()
    }

    async fn stage_tickets(&self, org_id: &str, project_id: Option<&str>) -> StoreResult<Vec<StageTicket>> {
        let rows = sqlx::query(
            "select project_id, project_stage, project_task, ticket_key, subject, status from tickets \
             where org_id = ? and project_id is not null and (? is null or project_id = ?) \
             order by project_id, project_stage, project_task, number",
        )
        .bind(org_id)
        .bind(project_id)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StageTicket {
                    project_id: row.try_get("project_id")?,
                    stage: stage_number(row.try_get::<Option<i64>, _>("project_stage")?.unwrap_or(0))?,
                    ticket: ProjectTicket {
                        ticket_id: row.try_get("ticket_key")?,
                        subject: row.try_get("subject")?,
                        status: parse(row.try_get("status")?)?,
                        task: stage_number(row.try_get::<Option<i64>, _>("project_task")?.unwrap_or(0))?,
                    },
                })
            })
            .collect()
    }

    async fn open_stage(&self, opening: StageOpening<'_>) -> StoreResult<Option<Vec<Ticket>>> {
        let now = to_millis(Utc::now());
        let mut tx = self.pool.begin().await?;
        // Writing first takes the write lock (no read-then-upgrade race), and
        // the primary key refuses a stage that opened already.
        let inserted = sqlx::query(
            "insert into project_stages (project_id, stage, revision, opened_by, opened_at, early) \
             values (?, ?, ?, ?, ?, ?) on conflict (project_id, stage) do nothing",
        )
        .bind(opening.project_id)
        .bind(i64::from(opening.stage))
        .bind(opening.revision)
        .bind(opening.opened_by)
        .bind(now)
        .bind(opening.early)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let opened_before: i64 = sqlx::query_scalar("select count(*) from project_stages where project_id = ?")
            .bind(opening.project_id)
            .fetch_one(&mut *tx)
            .await?;
        // Stages open in order: this one must be the next after those open.
        if inserted == 0 || opened_before != i64::from(opening.stage) {
            return Ok(None);
        }
        sqlx::query("update projects set updated_at = ? where id = ?")
            .bind(now)
            .bind(opening.project_id)
            .execute(&mut *tx)
            .await?;
        let mut ids = Vec::with_capacity(opening.tickets.len());
        for task in &opening.tickets {
            let task_of = Some((opening.project_id, opening.stage, task.task));
            ids.push(insert_ticket(&mut tx, &task.ticket, &task.entries, task_of).await?);
        }
        tx.commit().await?;
        let mut tickets = Vec::with_capacity(ids.len());
        for id in ids {
            tickets.push(
                self.ticket_by_id(&id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a ticket just opened is missing".into()))?,
            );
        }
        Ok(Some(tickets))
    }
}

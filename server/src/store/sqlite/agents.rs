//! SQLite: the agent registry.

use super::SqliteStore;
use crate::store::{new_id, to_millis, AgentRecord, AgentStore, NewAgentRecord, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::Utc;
use opsdesk_app::model::AgentView;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

fn json_column<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("agents.{column}: {e}")))
}

fn agent_from_row(row: &SqliteRow) -> StoreResult<AgentRecord> {
    let headers: std::collections::BTreeMap<String, String> = json_column(row, "headers")?;
    let timeout: i64 = row.try_get("timeout_secs")?;
    let kind: String = row.try_get("kind")?;
    Ok(AgentRecord {
        view: AgentView {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            kind: kind.parse().map_err(StoreError::Corrupt)?,
            backend: row.try_get("backend")?,
            description: row.try_get("description")?,
            prompt_suggestions: json_column(row, "prompt_suggestions")?,
            endpoint_url: row.try_get("endpoint_url")?,
            header_names: headers.keys().cloned().collect(),
            timeout_secs: u32::try_from(timeout).unwrap_or(u32::MAX),
            instance_ids: json_column(row, "instance_ids")?,
        },
        org_id: row.try_get("org_id")?,
        headers,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

impl SqliteStore {
    async fn insert_agent(&self, agent: &NewAgentRecord, on_conflict: &str) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(&format!(
            "insert into agents (id, org_id, slug, name, kind, backend, description, prompt_suggestions, \
             endpoint_url, headers, timeout_secs, instance_ids, created_at) \
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {on_conflict}"
        ))
        .bind(&id)
        .bind(&agent.org_id)
        .bind(&agent.slug)
        .bind(&agent.name)
        .bind(agent.kind.as_str())
        .bind(&agent.backend)
        .bind(&agent.description)
        .bind(to_json(&agent.prompt_suggestions))
        .bind(&agent.endpoint_url)
        .bind(to_json(&agent.headers))
        .bind(i64::from(agent.timeout_secs))
        .bind(to_json(&agent.instance_ids))
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn agents(&self, org_id: &str) -> StoreResult<Vec<AgentRecord>> {
        let rows = sqlx::query("select * from agents where org_id = ? order by kind = 'custom', name")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn agent(&self, org_id: &str, id_or_slug: &str) -> StoreResult<Option<AgentRecord>> {
        let row = sqlx::query("select * from agents where org_id = ? and (id = ? or slug = ?)")
            .bind(org_id)
            .bind(id_or_slug)
            .bind(id_or_slug)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    async fn create_agent(&self, agent: NewAgentRecord) -> StoreResult<AgentRecord> {
        let id = self.insert_agent(&agent, "").await.map_err(|e| {
            super::conflict_on_unique(e, || format!("an agent with slug {} already exists", agent.slug))
        })?;
        self.agent(&agent.org_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an agent just created is missing".into()))
    }

    async fn ensure_agent(&self, agent: NewAgentRecord) -> StoreResult<()> {
        self.insert_agent(&agent, "on conflict (org_id, slug) do nothing").await?;
        Ok(())
    }

    async fn org_ids(&self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("select id from orgs").fetch_all(&self.pool).await?)
    }
}

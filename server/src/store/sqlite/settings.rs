//! SQLite: per-org settings.

use super::SqliteStore;
use crate::store::{to_millis, OrgLlmSettings, SettingsStore, StoreResult};
use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn llm_settings(&self, org_id: &str) -> StoreResult<Option<OrgLlmSettings>> {
        let row = sqlx::query("select base_url, model, api_key from org_llm_settings where org_id = ?")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(OrgLlmSettings {
                base_url: row.try_get("base_url")?,
                model: row.try_get("model")?,
                api_key: row.try_get("api_key")?,
            })
        })
        .transpose()
    }

    async fn set_llm_settings(&self, org_id: &str, settings: Option<&OrgLlmSettings>, by: &str) -> StoreResult<()> {
        match settings {
            Some(settings) => {
                sqlx::query(
                    "insert into org_llm_settings (org_id, base_url, model, api_key, updated_by, updated_at) \
                     values (?, ?, ?, ?, ?, ?) on conflict (org_id) do update set base_url = excluded.base_url, \
                     model = excluded.model, api_key = excluded.api_key, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at",
                )
                .bind(org_id)
                .bind(&settings.base_url)
                .bind(&settings.model)
                .bind(&settings.api_key)
                .bind(by)
                .bind(to_millis(Utc::now()))
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("delete from org_llm_settings where org_id = ?").bind(org_id).execute(&self.pool).await?;
            }
        }
        Ok(())
    }
}

//! SQLite: orgs, people, sessions, API tokens.

use super::{conflict_on_unique, SqliteStore};
use crate::store::{
    from_millis, new_id, parse_role, to_millis, AccountStore, NewToken, NewUser, StoreResult, UserRecord,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsdesk_app::model::{ApiTokenView, Me, OrgView, Role, UserView};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// A token's `last_used_at` is refreshed at most this often, so that API reads
/// do not each become a write.
const TOKEN_TOUCH_INTERVAL_MS: i64 = 60_000;

fn org_from_row(row: &SqliteRow) -> StoreResult<OrgView> {
    Ok(OrgView { id: row.try_get("id")?, slug: row.try_get("slug")?, name: row.try_get("name")? })
}

fn user_from_row(row: &SqliteRow) -> StoreResult<UserView> {
    Ok(UserView {
        id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        name: row.try_get("user_name")?,
        role: parse_role(row.try_get("role")?)?,
        created_at: from_millis(row.try_get("user_created_at")?),
    })
}

/// Builds the caller from a row of the `users ⋈ orgs` join in `CALLER_COLUMNS`.
fn caller_from_row(row: &SqliteRow) -> StoreResult<Me> {
    let user = user_from_row(row)?;
    let org = OrgView { id: row.try_get("org_id")?, slug: row.try_get("org_slug")?, name: row.try_get("org_name")? };
    Ok(Me { role: user.role, user, org })
}

fn token_from_row(row: &SqliteRow) -> StoreResult<ApiTokenView> {
    Ok(ApiTokenView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        user_email: row.try_get("email")?,
        created_at: from_millis(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(from_millis),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(from_millis),
    })
}

/// The columns `caller_from_row` reads, from `users u join orgs o`.
const CALLER_COLUMNS: &str = "u.id as user_id, u.email, u.name as user_name, u.role, u.created_at as user_created_at, \
     o.id as org_id, o.slug as org_slug, o.name as org_name";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<OrgView>> {
        let row =
            sqlx::query("select id, slug, name from orgs where slug = ?").bind(slug).fetch_optional(&self.pool).await?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn ensure_org(&self, slug: &str, name: &str) -> StoreResult<OrgView> {
        sqlx::query("insert into orgs (id, slug, name, created_at) values (?, ?, ?, ?) on conflict (slug) do nothing")
            .bind(new_id())
            .bind(slug)
            .bind(name)
            .bind(to_millis(Utc::now()))
            .execute(&self.pool)
            .await?;
        let row =
            sqlx::query("select id, slug, name from orgs where slug = ?").bind(slug).fetch_one(&self.pool).await?;
        org_from_row(&row)
    }

    async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("select count(*) from users").fetch_one(&self.pool).await?)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(
            "select id as user_id, org_id, email, name as user_name, role, created_at as user_created_at, password_hash \
             from users where email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(UserRecord {
                user: user_from_row(&row)?,
                org_id: row.try_get("org_id")?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn create_user(&self, new: NewUser<'_>) -> StoreResult<UserRecord> {
        let user = UserView {
            id: new_id(),
            email: new.email.to_owned(),
            name: new.name.to_owned(),
            role: new.role,
            created_at: Utc::now(),
        };
        sqlx::query(
            "insert into users (id, org_id, email, name, role, password_hash, created_at) values (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(new.org_id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(new.password_hash)
        .bind(to_millis(user.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict_on_unique(e, || format!("a user with email {} already exists", new.email)))?;
        Ok(UserRecord { user, org_id: new.org_id.to_owned(), password_hash: new.password_hash.map(str::to_owned) })
    }

    async fn update_user(
        &self,
        org_id: &str,
        user_id: &str,
        role: Role,
        password_hash: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "update users set role = ?, password_hash = coalesce(?, password_hash) where org_id = ? and id = ?",
        )
        .bind(role.as_str())
        .bind(password_hash)
        .bind(org_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_users(&self, org_id: &str) -> StoreResult<Vec<UserView>> {
        let rows = sqlx::query(
            "select id as user_id, email, name as user_name, role, created_at as user_created_at \
             from users where org_id = ? order by email",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn create_session(&self, user_id: &str, token_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
        let now = Utc::now();
        // Opportunistic clean-up keeps the table small without a background job.
        sqlx::query("delete from sessions where expires_at <= ?").bind(to_millis(now)).execute(&self.pool).await?;
        sqlx::query("insert into sessions (token_hash, user_id, created_at, expires_at) values (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user_id)
            .bind(to_millis(now))
            .bind(to_millis(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_caller(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Me>> {
        let sql = format!(
            "select {CALLER_COLUMNS} from sessions s join users u on u.id = s.user_id join orgs o on o.id = u.org_id \
             where s.token_hash = ? and s.expires_at > ?"
        );
        let row = sqlx::query(&sql).bind(token_hash).bind(to_millis(now)).fetch_optional(&self.pool).await?;
        row.as_ref().map(caller_from_row).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("delete from sessions where token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_api_token(&self, new: NewToken<'_>) -> StoreResult<ApiTokenView> {
        let id = new_id();
        sqlx::query(
            "insert into api_tokens (id, org_id, user_id, name, token_hash, created_at) values (?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(new.org_id)
        .bind(new.user_id)
        .bind(new.name)
        .bind(new.token_hash)
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "select t.id, t.name, u.email, t.created_at, t.last_used_at, t.revoked_at \
             from api_tokens t join users u on u.id = t.user_id where t.id = ?",
        )
        .bind(&id)
        .fetch_one(&self.pool)
        .await?;
        token_from_row(&row)
    }

    async fn token_caller(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Me>> {
        let sql = format!(
            "select {CALLER_COLUMNS}, t.id as token_id, t.last_used_at as token_used_at from api_tokens t join users u on u.id = t.user_id \
             join orgs o on o.id = u.org_id where t.token_hash = ? and t.revoked_at is null"
        );
        let Some(row) = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let token_id: String = row.try_get("token_id")?;
        let used_at: Option<i64> = row.try_get("token_used_at")?;
        if used_at.is_none_or(|at| to_millis(now) - at >= TOKEN_TOUCH_INTERVAL_MS) {
            sqlx::query("update api_tokens set last_used_at = ? where id = ?")
                .bind(to_millis(now))
                .bind(&token_id)
                .execute(&self.pool)
                .await?;
        }
        caller_from_row(&row).map(Some)
    }

    async fn list_api_tokens(&self, org_id: &str, user_id: Option<&str>) -> StoreResult<Vec<ApiTokenView>> {
        let rows = sqlx::query(
            "select t.id, t.name, u.email, t.created_at, t.last_used_at, t.revoked_at \
             from api_tokens t join users u on u.id = t.user_id \
             where t.org_id = ? and (? is null or t.user_id = ?) order by t.created_at desc, t.id desc",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_api_token(
        &self,
        org_id: &str,
        token_id: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "update api_tokens set revoked_at = ? \
             where org_id = ? and id = ? and revoked_at is null and (? is null or user_id = ?)",
        )
        .bind(to_millis(now))
        .bind(org_id)
        .bind(token_id)
        .bind(user_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

//! The ready demo of a fresh install: on the first start with an empty
//! database, an org and an admin whose generated password is printed once.

use crate::accounts::{self, UserInput};
use crate::auth::secrets;
use crate::store::Store;
use opsdesk_app::model::Role;

/// The demo org's slug.
pub const DEMO_ORG: &str = "demo";
/// The demo admin's email.
pub const DEMO_ADMIN_EMAIL: &str = "admin@opsdesk.local";

/// Credentials created for the demo; printed once on first start.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub email: String,
    pub password: String,
}

/// Creates the demo org and admin when no user exists yet; `None` otherwise.
pub async fn seed_if_empty(store: &dyn Store) -> anyhow::Result<Option<DemoCredentials>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let password = secrets::generate_password();
    let input = UserInput { email: DEMO_ADMIN_EMAIL, name: "Demo admin", role: Role::Admin, password: Some(&password) };
    accounts::ensure_user(store, DEMO_ORG, input).await.map_err(|e| anyhow::anyhow!("seeding the demo failed: {e}"))?;
    Ok(Some(DemoCredentials { email: DEMO_ADMIN_EMAIL.to_owned(), password }))
}

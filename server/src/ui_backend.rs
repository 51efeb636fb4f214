//! The server's side of the UI seam: [`Backend`] on [`AppState`], delegating
//! to the same services the REST API uses.

use crate::accounts::{self, UserInput};
use crate::state::AppState;
use opsdesk_app::backend::Backend;
use opsdesk_app::error::AppResult;
use opsdesk_app::model::{ApiTokenView, Me, NewApiToken, Role, UserView};

#[async_trait::async_trait]
impl Backend for AppState {
    async fn sign_in(&self, email: &str, password: &str) -> AppResult<http::HeaderValue> {
        accounts::sign_in(self, email, password).await.map(|(_, cookie)| cookie)
    }

    async fn sign_out(&self, headers: &http::HeaderMap) -> AppResult<http::HeaderValue> {
        accounts::sign_out(self, headers).await
    }

    async fn list_users(&self, me: &Me) -> AppResult<Vec<UserView>> {
        accounts::list_users(self, me).await
    }

    async fn create_user(&self, me: &Me, email: &str, name: &str, role: Role, password: &str) -> AppResult<UserView> {
        accounts::create_user(self, me, UserInput { email, name, role, password: Some(password) }).await
    }

    async fn list_tokens(&self, me: &Me) -> AppResult<Vec<ApiTokenView>> {
        accounts::list_tokens(self.store.as_ref(), me).await
    }

    async fn create_token(&self, me: &Me, name: &str) -> AppResult<NewApiToken> {
        accounts::create_token(self.store.as_ref(), me, name).await
    }

    async fn revoke_token(&self, me: &Me, token_id: &str) -> AppResult<()> {
        accounts::revoke_token(self.store.as_ref(), me, token_id).await
    }
}

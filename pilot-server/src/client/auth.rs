//! Sessions and users.

use reqwest::Method;

use super::Client;
use super::error::Result;
use super::transport::{Auth, Body, decode};
use crate::api::types::{
    CreateUserRequest, LoginRequest, PasswordChangeRequest, Role, SessionView, SetRoleRequest,
    UserView, VerifyResponse,
};

impl Client {
    /// Logs in (`POST /auth/login`) and returns the new session; use
    /// [`Client::with_token`] with its token for the calls that follow.
    /// Wrong credentials are an API error with status 401, repeated
    /// failures one with status 429.
    pub async fn login(&self, username: &str, password: &str) -> Result<SessionView> {
        let url = self.api_url(&["auth", "login"]);
        let body = Body::json(&LoginRequest {
            username: username.to_string(),
            password: password.to_string(),
        })?;
        let response = self
            .send(Method::POST, url.clone(), &[], body, Auth::Credentials)
            .await?;
        decode(url, response).await
    }

    /// Checks the session token (`GET /auth/verify`) and says whose it is.
    pub async fn verify(&self) -> Result<VerifyResponse> {
        self.get(self.api_url(&["auth", "verify"]), &[]).await
    }

    /// Changes the logged-in user's password (`POST /auth/password`). Every
    /// earlier token stops working; the returned session has a new one.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<SessionView> {
        let url = self.api_url(&["auth", "password"]);
        let body = Body::json(&PasswordChangeRequest {
            current: current.to_string(),
            new: new.to_string(),
        })?;
        let response = self
            .send(Method::POST, url.clone(), &[], body, Auth::Credentials)
            .await?;
        decode(url, response).await
    }

    /// Every user (`GET /users`, admin).
    pub async fn users(&self) -> Result<Vec<UserView>> {
        self.get(self.api_url(&["users"]), &[]).await
    }

    /// Creates a user (`POST /users`, admin).
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<UserView> {
        let body = Body::json(&CreateUserRequest {
            username: username.to_string(),
            password: password.to_string(),
            role,
        })?;
        self.call(Method::POST, self.api_url(&["users"]), &[], body)
            .await
    }

    /// Deletes a user and ends their sessions (`DELETE /users/{name}`, admin).
    pub async fn delete_user(&self, username: &str) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            self.api_url(&["users", username]),
            Body::Empty,
        )
        .await
    }

    /// Changes a user's role (`PUT /users/{name}/role`, admin).
    pub async fn set_user_role(&self, username: &str, role: Role) -> Result<UserView> {
        let body = Body::json(&SetRoleRequest { role })?;
        self.call(
            Method::PUT,
            self.api_url(&["users", username, "role"]),
            &[],
            body,
        )
        .await
    }
}

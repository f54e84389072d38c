//! Sessions and users.

use pilot_store::records::{Role, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"********")
            .finish()
    }
}

/// A new session: the bearer token for `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// The token (a JWT). Keep it private.
    pub token: String,
    /// Unix ms when the token expires.
    pub expires_at_ms: i64,
    /// Who it belongs to.
    pub user: UserView,
}

/// `GET /api/v1/auth/verify`: the token is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyResponse {
    /// Who the token belongs to.
    pub user: UserView,
    /// Unix ms when the token expires.
    pub expires_at_ms: i64,
}

/// `POST /api/v1/auth/password`. Every existing token of the user stops
/// working; the response carries a new one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    /// The current password.
    pub current: String,
    /// The new password (at least 8 characters).
    pub new: String,
}

impl std::fmt::Debug for PasswordChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChangeRequest { .. }")
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        UserView {
            username: user.username,
            role: user.role,
            created_ms: user.created_ms,
            updated_ms: user.updated_ms,
        }
    }
}

/// `POST /api/v1/users` (admin).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// Login name: 1 to 64 letters, digits, `.`, `_` or `-`.
    pub username: String,
    /// Password (at least 8 characters).
    pub password: String,
    /// Role.
    pub role: Role,
}

impl std::fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `PUT /api/v1/users/{username}/role` (admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    /// The new role.
    pub role: Role,
}

/// `PUT /api/v1/users/{username}/password` (admin).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new password (at least 8 characters).
    pub password: String,
}

impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetPasswordRequest { .. }")
    }
}

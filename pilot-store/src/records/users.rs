//! Users with argon2id password hashes and a role.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

use super::{SqlStore, check_name};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// Shortest password accepted.
const MIN_PASSWORD_LEN: usize = 8;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Everything, including users, nodes, secrets, settings and deploys.
    Admin,
    /// Read-only access to projects, deployments and metrics.
    Viewer,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(Error::invalid(
                "role",
                format!("{other:?} is not a role; use admin or viewer"),
            )),
        }
    }
}

/// A user account (the password hash stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    created_ms: i64,
    updated_ms: i64,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        let role = Role::from_str(&self.role).map_err(|_| Error::CorruptRow {
            table: "users",
            key: self.username.clone(),
            reason: format!("unknown role {:?}", self.role),
        })?;
        Ok(User {
            id: self.id,
            username: self.username,
            role,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        })
    }
}

/// `SELECT` of every user column followed by the given clause.
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, password_hash, role, created_ms, updated_ms FROM users ",
            $tail
        )
    };
}

/// Hashes a password with argon2id on a blocking thread.
async fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            format!("it must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::PasswordHash {
                reason: e.to_string(),
            })
    })
    .await
    .map_err(|e| Error::PasswordHash {
        reason: e.to_string(),
    })?
}

/// A hash of a random password, verified against when the user does not
/// exist so that unknown names cost as much time as wrong passwords.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut pw = [0u8; 16];
        rand::fill(&mut pw);
        Argon2::default()
            .hash_password(&pw)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks a password against a stored hash on a blocking thread.
async fn password_matches(password: &str, hash: String) -> Result<bool> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        match Argon2::default().verify_password(password.as_bytes(), hash.as_str()) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(Error::PasswordHash {
                reason: e.to_string(),
            }),
        }
    })
    .await
    .map_err(|e| Error::PasswordHash {
        reason: e.to_string(),
    })?
}

impl SqlStore {
    async fn user_row(&self, username: &str) -> Result<Option<UserRow>> {
        on_pool!(self.db, pool => sqlx::query_as::<_, UserRow>(select_user!("WHERE username = $1"))
            .bind(username)
            .fetch_optional(pool)
            .await)
        .db("read user")
    }
}

fn not_found(username: &str) -> Error {
    Error::NotFound {
        kind: "user",
        key: username.to_string(),
    }
}

/// Accounts and password checks.
impl SqlStore {
    /// Creates a user; the password is stored as an argon2id hash.
    pub async fn create_user(&self, username: &str, password: &str, role: Role) -> Result<User> {
        check_name("username", username)?;
        let hash = hash_password(password).await?;
        let now = now_ms();
        let sql = "INSERT INTO users (username, password_hash, role, created_ms, updated_ms) \
                   VALUES ($1, $2, $3, $4, $4) RETURNING id";
        let (id,): (i64,) = on_pool!(self.db, pool => sqlx::query_as(sql)
            .bind(username)
            .bind(&hash)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(pool)
            .await)
        .db_unique("insert user", "user", username)?;
        Ok(User {
            id,
            username: username.to_string(),
            role,
            created_ms: now,
            updated_ms: now,
        })
    }

    /// The user with this name.
    pub async fn user(&self, username: &str) -> Result<Option<User>> {
        self.user_row(username)
            .await?
            .map(UserRow::into_user)
            .transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, UserRow>(select_user!("ORDER BY username"))
            .fetch_all(pool)
            .await)
        .db("list users")?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// The user when the password is right; `None` for a wrong password or unknown user.
    pub async fn verify_password(&self, username: &str, password: &str) -> Result<Option<User>> {
        match self.user_row(username).await? {
            Some(row) => {
                let hash = row.password_hash.clone();
                if password_matches(password, hash).await? {
                    row.into_user().map(Some)
                } else {
                    Ok(None)
                }
            }
            None => {
                password_matches(password, decoy_hash().to_string()).await?;
                Ok(None)
            }
        }
    }

    /// Replaces a user's password.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        let hash = hash_password(password).await?;
        let sql = "UPDATE users SET password_hash = $1, updated_ms = $2 WHERE username = $3";
        let done = on_pool!(self.db, pool => sqlx::query(sql)
            .bind(&hash)
            .bind(now_ms())
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("update password")?;
        if done == 0 {
            return Err(not_found(username));
        }
        Ok(())
    }

    /// Changes a user's role.
    pub async fn set_role(&self, username: &str, role: Role) -> Result<()> {
        let sql = "UPDATE users SET role = $1, updated_ms = $2 WHERE username = $3";
        let done = on_pool!(self.db, pool => sqlx::query(sql)
            .bind(role.as_str())
            .bind(now_ms())
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("update role")?;
        if done == 0 {
            return Err(not_found(username));
        }
        Ok(())
    }

    /// Deletes a user.
    pub async fn delete_user(&self, username: &str) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("delete user")?;
        if done == 0 {
            return Err(not_found(username));
        }
        Ok(())
    }
}

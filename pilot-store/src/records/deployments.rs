//! Deployment history: every deployment journal the engine reports, with its
//! steps, state, reason, version, generation and timings.

use pilot_core::Deployment;
use pilot_core::engine::DeployState;
use serde::{Deserialize, Serialize};

use super::{SqlStore, from_json, to_json};
use crate::db::on_pool;
use crate::error::{DbContext, Error, Result};

/// One deployment on one node: the engine's journal and the node it ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRecord {
    /// The node that ran it.
    pub node: String,
    /// The engine's journal (`id`, `project`, `kind`, `generation`,
    /// `version`, `commit`, `state`, `steps[]` with
    /// `started_ms`/`finished_ms`, `created_ms`, `finished_ms`, `reason`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub deployment: Deployment,
}

#[derive(sqlx::FromRow)]
struct DeploymentRow {
    id: String,
    node: String,
    record: String,
}

impl DeploymentRow {
    fn into_record(self) -> Result<DeploymentRecord> {
        Ok(DeploymentRecord {
            deployment: from_json("deployments", &self.id, &self.record)?,
            node: self.node,
        })
    }
}

fn to_i64(field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::invalid(field, format!("{value} is out of range")))
}

/// Deployment history per project.
impl SqlStore {
    /// Inserts or updates a deployment (call it after every reported change).
    pub async fn save_deployment(&self, node: &str, deployment: &Deployment) -> Result<()> {
        let record = to_json("deployment", deployment)?;
        let sql = "INSERT INTO deployments \
             (id, project, node, state, generation, version, reason, created_ms, finished_ms, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET node = excluded.node, state = excluded.state, \
             generation = excluded.generation, version = excluded.version, \
             reason = excluded.reason, finished_ms = excluded.finished_ms, record = excluded.record";
        on_pool!(self.db, pool => sqlx::query(sql)
            .bind(&deployment.id)
            .bind(&deployment.project)
            .bind(node)
            .bind(deployment.state().to_string())
            .bind(to_i64("generation", deployment.generation)?)
            .bind(&deployment.version)
            .bind(&deployment.reason)
            .bind(deployment.created_ms)
            .bind(deployment.finished_ms)
            .bind(&record)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|source| match &source {
            sqlx::Error::Database(e) if e.is_foreign_key_violation() => Error::NotFound {
                kind: "project",
                key: deployment.project.clone(),
            },
            _ => Error::Database {
                action: "save deployment",
                cause: source,
            },
        })?;
        Ok(())
    }

    /// One deployment by id.
    pub async fn deployment(&self, id: &str) -> Result<Option<DeploymentRecord>> {
        let row = on_pool!(self.db, pool => sqlx::query_as::<_, DeploymentRow>(
            "SELECT id, node, record FROM deployments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)
        .db("read deployment")?;
        row.map(DeploymentRow::into_record).transpose()
    }

    /// The latest `limit` deployments of a project, newest first.
    pub async fn deployments(&self, project: &str, limit: u32) -> Result<Vec<DeploymentRecord>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, DeploymentRow>(
            "SELECT id, node, record FROM deployments WHERE project = $1 \
             ORDER BY created_ms DESC, id DESC LIMIT $2",
        )
        .bind(project)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)
        .db("list deployments")?;
        rows.into_iter().map(DeploymentRow::into_record).collect()
    }

    /// For every project at once, its newest deployment and its newest
    /// succeeded one (a single record when they are the same), grouped by
    /// project and newest first within each: what an overview of every
    /// project needs, in one query.
    pub async fn newest_and_live_deployments(&self) -> Result<Vec<(String, DeploymentRecord)>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, ProjectDeploymentRow>(
            "SELECT project, id, node, record FROM ( \
               SELECT project, id, node, record, state, created_ms, \
                 ROW_NUMBER() OVER (PARTITION BY project ORDER BY created_ms DESC, id DESC) AS newest, \
                 ROW_NUMBER() OVER (PARTITION BY project, state ORDER BY created_ms DESC, id DESC) \
                   AS newest_in_state \
               FROM deployments) AS ranked \
             WHERE newest = 1 OR (state = $1 AND newest_in_state = 1) \
             ORDER BY project, created_ms DESC, id DESC",
        )
        .bind(DeployState::Succeeded.to_string())
        .fetch_all(pool)
        .await)
        .db("list newest deployments")?;
        rows.into_iter()
            .map(|row| Ok((row.project, row.deployment.into_record()?)))
            .collect()
    }
}

/// A deployment row with its project.
#[derive(sqlx::FromRow)]
struct ProjectDeploymentRow {
    project: String,
    #[sqlx(flatten)]
    deployment: DeploymentRow,
}

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
             (id, project, node, state, generation, version, reason, created_ms, finished_ms, \
              public_port, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET node = excluded.node, state = excluded.state, \
             generation = excluded.generation, version = excluded.version, \
             reason = excluded.reason, finished_ms = excluded.finished_ms, \
             public_port = excluded.public_port, record = excluded.record";
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
            .bind(deployment.public_port.map(i32::from))
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
    /// succeeded one (a single summary when they are the same), grouped by
    /// project and newest first within each: what an overview of every
    /// project needs, in one query that reads no journal.
    pub async fn newest_and_live_deployments(&self) -> Result<Vec<DeploymentSummary>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, SummaryRow>(
            // Two index lookups per project: independent of how long the
            // histories are.
            "SELECT d.project, d.id, d.node, d.state, d.generation, d.version, d.reason, \
               d.created_ms, d.finished_ms, d.public_port \
             FROM projects AS p \
             JOIN deployments AS d ON d.id IN ( \
               (SELECT id FROM deployments WHERE project = p.name \
                ORDER BY created_ms DESC, id DESC LIMIT 1), \
               (SELECT id FROM deployments WHERE project = p.name AND state = $1 \
                ORDER BY created_ms DESC, id DESC LIMIT 1)) \
             ORDER BY d.project, d.created_ms DESC, d.id DESC",
        )
        .bind(DeployState::Succeeded.to_string())
        .fetch_all(pool)
        .await)
        .db("list newest deployments")?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }
}

/// What lists show of a deployment, without its journal's steps.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSummary {
    /// The project.
    pub project: String,
    /// The deployment's id.
    pub id: String,
    /// The node that ran it.
    pub node: String,
    /// Its overall state.
    pub state: DeployState,
    /// The generation it rolled out.
    pub generation: u64,
    /// The release's version label, once known.
    pub version: Option<String>,
    /// Why it failed or was rolled back.
    pub reason: Option<String>,
    /// Unix ms when it was created.
    pub created_ms: i64,
    /// Unix ms when it ended.
    pub finished_ms: Option<i64>,
    /// The project's public port for this release, once known.
    pub public_port: Option<u16>,
}

impl From<&DeploymentRecord> for DeploymentSummary {
    fn from(record: &DeploymentRecord) -> Self {
        let d = &record.deployment;
        DeploymentSummary {
            project: d.project.clone(),
            id: d.id.clone(),
            node: record.node.clone(),
            state: d.state(),
            generation: d.generation,
            version: d.version.clone(),
            reason: d.reason.clone(),
            created_ms: d.created_ms,
            finished_ms: d.finished_ms,
            public_port: d.public_port,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    project: String,
    id: String,
    node: String,
    state: String,
    generation: i64,
    version: Option<String>,
    reason: Option<String>,
    created_ms: i64,
    finished_ms: Option<i64>,
    public_port: Option<i32>,
}

impl SummaryRow {
    fn into_summary(self) -> Result<DeploymentSummary> {
        let corrupt = |reason: String| Error::CorruptRow {
            table: "deployments",
            key: self.id.clone(),
            reason,
        };
        let state = self
            .state
            .parse()
            .map_err(|_| corrupt(format!("unknown state {:?}", self.state)))?;
        let generation = u64::try_from(self.generation)
            .map_err(|_| corrupt("generation is out of range".into()))?;
        let public_port = self
            .public_port
            .map(u16::try_from)
            .transpose()
            .map_err(|_| corrupt("public_port is out of range".into()))?;
        Ok(DeploymentSummary {
            project: self.project,
            id: self.id,
            node: self.node,
            state,
            generation,
            version: self.version,
            reason: self.reason,
            created_ms: self.created_ms,
            finished_ms: self.finished_ms,
            public_port,
        })
    }
}

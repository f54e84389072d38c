//! Projects: their app config, the nodes they run on, their public port and status.

use std::fmt;
use std::str::FromStr;

use pilot_core::AppConfig;
use pilot_core::layout::validate_project_name;
use serde::{Deserialize, Serialize};

use super::{SqlStore, from_json, to_json};
use crate::db::{now_ms, on_pool};
use crate::error::{DbContext, Error, Result};

/// What a project is doing, as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProjectStatus {
    /// Created, never deployed.
    Created,
    /// A deployment is running.
    Deploying,
    /// The live release is serving.
    Running,
    /// Stopped on purpose.
    Stopped,
    /// The last deployment failed and nothing is serving.
    Failed,
}

impl ProjectStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Created => "created",
            ProjectStatus::Deploying => "deploying",
            ProjectStatus::Running => "running",
            ProjectStatus::Stopped => "stopped",
            ProjectStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for ProjectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProjectStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "created" => ProjectStatus::Created,
            "deploying" => ProjectStatus::Deploying,
            "running" => ProjectStatus::Running,
            "stopped" => ProjectStatus::Stopped,
            "failed" => ProjectStatus::Failed,
            other => {
                return Err(Error::invalid(
                    "project status",
                    format!(
                        "{other:?} is not a status; use created, deploying, running, stopped or failed"
                    ),
                ));
            }
        })
    }
}

/// Where a project's releases come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProjectSource {
    /// A git repository, deployed at the tip of `branch` (the remote's
    /// default branch when absent) unless a deploy names another ref.
    Git {
        /// The repository URL.
        url: String,
        /// The branch deploys follow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
    },
    /// Archives uploaded with each deploy.
    Upload,
}

/// A project to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    /// Unique name (see `pilot_core::layout::validate_project_name`).
    pub name: String,
    /// The app's configuration.
    pub config: AppConfig,
    /// Nodes the project is deployed to.
    pub nodes: Vec<String>,
    /// The public port its traffic arrives on, if fixed.
    pub public_port: Option<u16>,
    /// Where its releases come from.
    pub source: ProjectSource,
}

/// A stored project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Unique name.
    pub name: String,
    /// The app's configuration.
    pub config: AppConfig,
    /// Whether `config` was set by a user and replaces the one in each
    /// release (`false`: it is the config last read from the source).
    pub config_pinned: bool,
    /// Where its releases come from.
    pub source: ProjectSource,
    /// Nodes the project is deployed to, by name.
    pub nodes: Vec<String>,
    /// The public port, if fixed.
    pub public_port: Option<u16>,
    /// Last known status.
    pub status: ProjectStatus,
    /// Unix ms of creation.
    pub created_ms: i64,
    /// Unix ms of the last change.
    pub updated_ms: i64,
}

/// Where a project runs and how it stands: its nodes, public port and
/// status, without its configuration and source (the large parts).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectPlacement {
    /// Unique name.
    pub name: String,
    /// Nodes the project is deployed to, by name.
    pub nodes: Vec<String>,
    /// The public port its traffic arrives on, if fixed.
    pub public_port: Option<u16>,
    /// Where it stands.
    pub status: ProjectStatus,
}

impl From<&Project> for ProjectPlacement {
    fn from(project: &Project) -> Self {
        ProjectPlacement {
            name: project.name.clone(),
            nodes: project.nodes.clone(),
            public_port: project.public_port,
            status: project.status,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    name: String,
    config: String,
    config_pinned: bool,
    source: String,
    public_port: Option<i64>,
    status: String,
    created_ms: i64,
    updated_ms: i64,
    /// Its nodes, comma-separated by name (node names hold no commas).
    nodes: Option<String>,
}

/// The node list of a row (`string_agg` of the names, NULL for none).
fn split_nodes(nodes: Option<&str>) -> Vec<String> {
    nodes
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// A row's public port and status, refused when out of range or unknown.
fn checked_port_and_status(
    name: &str,
    public_port: Option<i64>,
    status: &str,
) -> Result<(Option<u16>, ProjectStatus)> {
    let corrupt = |reason: String| Error::CorruptRow {
        table: "projects",
        key: name.to_string(),
        reason,
    };
    let status = ProjectStatus::from_str(status)
        .map_err(|_| corrupt(format!("unknown status {status:?}")))?;
    let public_port = public_port
        .map(u16::try_from)
        .transpose()
        .map_err(|_| corrupt("public_port is out of range".into()))?;
    Ok((public_port, status))
}

impl ProjectRow {
    fn into_project(self) -> Result<Project> {
        let (public_port, status) =
            checked_port_and_status(&self.name, self.public_port, &self.status)?;
        Ok(Project {
            config: from_json("projects", &self.name, &self.config)?,
            config_pinned: self.config_pinned,
            source: from_json("projects", &self.name, &self.source)?,
            nodes: split_nodes(self.nodes.as_deref()),
            name: self.name,
            public_port,
            status,
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
        })
    }
}

/// `SELECT` of every project column followed by the given clause.
macro_rules! select_project {
    ($tail:literal) => {
        concat!(
            "SELECT name, config, config_pinned, source, public_port, status, created_ms, updated_ms, \
             (SELECT string_agg(node, ',' ORDER BY node) FROM project_nodes \
              WHERE project_nodes.project = projects.name) AS nodes \
             FROM projects ",
            $tail
        )
    };
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        kind: "project",
        key: name.to_string(),
    }
}

/// Maps a unique-key failure on insert to the name or the port that clashed.
fn duplicate_project(source: sqlx::Error, project: &NewProject) -> Error {
    match &source {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            let on_port = e.message().contains("public_port")
                || e.constraint().is_some_and(|c| c.contains("public_port"));
            match (on_port, project.public_port) {
                (true, Some(port)) => Error::AlreadyExists {
                    kind: "public port",
                    key: port.to_string(),
                },
                _ => Error::AlreadyExists {
                    kind: "project",
                    key: project.name.clone(),
                },
            }
        }
        _ => Error::Database {
            action: "insert project",
            cause: source,
        },
    }
}

/// Maps a foreign-key failure on `project_nodes` to a clear message.
fn unknown_node(source: sqlx::Error, nodes: &[String]) -> Error {
    match &source {
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => Error::invalid(
            "nodes",
            format!("one of {nodes:?} is not a registered node; register it first"),
        ),
        _ => Error::Database {
            action: "assign nodes to project",
            cause: source,
        },
    }
}

impl SqlStore {
    async fn update_project(
        &self,
        name: &str,
        action: &'static str,
        sql: &'static str,
        value: Option<String>,
    ) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query(sql)
            .bind(value)
            .bind(now_ms())
            .bind(name)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db(action)?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }
}

/// Projects and where they run.
impl SqlStore {
    /// Creates a project with status `created`; its nodes must be registered.
    pub async fn create_project(&self, project: NewProject) -> Result<Project> {
        validate_project_name(&project.name)?;
        let config = to_json("config", &project.config)?;
        let source = to_json("source", &project.source)?;
        let now = now_ms();
        let mut nodes = project.nodes.clone();
        nodes.sort();
        nodes.dedup();
        on_pool!(self.db, pool => {
            let mut tx = pool.begin().await.db("begin transaction")?;
            sqlx::query(
                "INSERT INTO projects (name, config, source, public_port, status, created_ms, updated_ms) \
                 VALUES ($1, $2, $6, $3, $4, $5, $5)",
            )
            .bind(&project.name)
            .bind(&config)
            .bind(project.public_port.map(i64::from))
            .bind(ProjectStatus::Created.as_str())
            .bind(now)
            .bind(&source)
            .execute(&mut *tx)
            .await
            .map_err(|e| duplicate_project(e, &project))?;
            for node in &nodes {
                sqlx::query("INSERT INTO project_nodes (project, node) VALUES ($1, $2)")
                    .bind(&project.name)
                    .bind(node)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| unknown_node(e, &nodes))?;
            }
            tx.commit().await.db("commit project")?;
        });
        Ok(Project {
            name: project.name,
            config: project.config,
            config_pinned: false,
            source: project.source,
            nodes,
            public_port: project.public_port,
            status: ProjectStatus::Created,
            created_ms: now,
            updated_ms: now,
        })
    }

    /// The project with this name.
    pub async fn project(&self, name: &str) -> Result<Option<Project>> {
        let row = on_pool!(self.db, pool => sqlx::query_as::<_, ProjectRow>(select_project!("WHERE name = $1"))
            .bind(name)
            .fetch_optional(pool)
            .await)
        .db("read project")?;
        row.map(ProjectRow::into_project).transpose()
    }

    /// Every project's placement, by name (no configuration is read).
    pub async fn project_placements(&self) -> Result<Vec<ProjectPlacement>> {
        let rows: Vec<(String, Option<i64>, String, Option<String>)> =
            on_pool!(self.db, pool => sqlx::query_as(
            "SELECT name, public_port, status, \
             (SELECT string_agg(node, ',' ORDER BY node) FROM project_nodes \
              WHERE project_nodes.project = projects.name) AS nodes \
             FROM projects ORDER BY name",
        )
        .fetch_all(pool)
        .await)
            .db("list project placements")?;
        rows.into_iter()
            .map(|(name, public_port, status, nodes)| {
                let (public_port, status) = checked_port_and_status(&name, public_port, &status)?;
                Ok(ProjectPlacement {
                    nodes: split_nodes(nodes.as_deref()),
                    name,
                    public_port,
                    status,
                })
            })
            .collect()
    }

    /// Every project, by name.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        let rows = on_pool!(self.db, pool => sqlx::query_as::<_, ProjectRow>(select_project!("ORDER BY name"))
            .fetch_all(pool)
            .await)
        .db("list projects")?;
        rows.into_iter().map(ProjectRow::into_project).collect()
    }

    /// Names of the projects assigned to a node.
    pub async fn projects_on_node(&self, node: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self.db, pool => sqlx::query_as(
            "SELECT project FROM project_nodes WHERE node = $1 ORDER BY project",
        )
        .bind(node)
        .fetch_all(pool)
        .await)
        .db("list projects of node")?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// Replaces a project's configuration and pins it: deploys send it
    /// instead of the release's own `config.vpspilot.json`.
    pub async fn update_project_config(&self, name: &str, config: &AppConfig) -> Result<()> {
        let config = to_json("config", config)?;
        self.update_project(
            name,
            "update project config",
            "UPDATE projects SET config = $1, config_pinned = TRUE, updated_ms = $2 WHERE name = $3",
            Some(config),
        )
        .await
    }

    /// Records the config read from the project's source, unless a pinned
    /// config is set (then nothing changes).
    pub async fn record_source_config(&self, name: &str, config: &AppConfig) -> Result<()> {
        let config = to_json("config", config)?;
        self.update_project(
            name,
            "record project config",
            "UPDATE projects SET config = CASE WHEN config_pinned THEN config ELSE $1 END, \
             updated_ms = $2 WHERE name = $3",
            Some(config),
        )
        .await
    }

    /// Changes where the project's releases come from.
    pub async fn set_project_source(&self, name: &str, source: &ProjectSource) -> Result<()> {
        let source = to_json("source", source)?;
        self.update_project(
            name,
            "update project source",
            "UPDATE projects SET source = $1, updated_ms = $2 WHERE name = $3",
            Some(source),
        )
        .await
    }

    /// Records a project's status.
    pub async fn set_project_status(&self, name: &str, status: ProjectStatus) -> Result<()> {
        self.update_project(
            name,
            "update project status",
            "UPDATE projects SET status = $1, updated_ms = $2 WHERE name = $3",
            Some(status.as_str().to_string()),
        )
        .await
    }

    /// Sets (or clears) the public port; ports are unique across projects.
    pub async fn set_public_port(&self, name: &str, port: Option<u16>) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query(
            "UPDATE projects SET public_port = $1, updated_ms = $2 WHERE name = $3",
        )
        .bind(port.map(i64::from))
        .bind(now_ms())
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .db_unique(
            "update public port",
            "public port",
            &port.map(|p| p.to_string()).unwrap_or_default(),
        )?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// Replaces the set of nodes a project runs on.
    pub async fn assign_nodes(&self, name: &str, nodes: &[String]) -> Result<()> {
        let mut nodes = nodes.to_vec();
        nodes.sort();
        nodes.dedup();
        on_pool!(self.db, pool => {
            let mut tx = pool.begin().await.db("begin transaction")?;
            let found = sqlx::query("UPDATE projects SET updated_ms = $1 WHERE name = $2")
                .bind(now_ms())
                .bind(name)
                .execute(&mut *tx)
                .await
                .db("touch project")?
                .rows_affected();
            if found == 0 {
                return Err(not_found(name));
            }
            sqlx::query("DELETE FROM project_nodes WHERE project = $1")
                .bind(name)
                .execute(&mut *tx)
                .await
                .db("clear project nodes")?;
            for node in &nodes {
                sqlx::query("INSERT INTO project_nodes (project, node) VALUES ($1, $2)")
                    .bind(name)
                    .bind(node)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| unknown_node(e, &nodes))?;
            }
            tx.commit().await.db("commit project nodes")?;
        });
        Ok(())
    }

    /// Deletes a project and its deployment history.
    pub async fn delete_project(&self, name: &str) -> Result<()> {
        let done = on_pool!(self.db, pool => sqlx::query("DELETE FROM projects WHERE name = $1")
            .bind(name)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .db("delete project")?;
        if done == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }
}

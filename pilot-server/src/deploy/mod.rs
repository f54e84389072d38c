//! Deploy orchestration: turns a request for a project into commands for
//! its nodes, follows them, records what happened.
//!
//! A [`Rollout`] is one deploy or rollback of a project across its nodes.
//! Secrets are resolved here, per node, and travel only inside the deploy
//! command. Every journal an agent reports is saved; progress goes out on
//! the [`EventBus`] as [`ServerEvent::Deploy`].

mod node_run;
mod rollout;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pilot_core::SecretStore;
use pilot_core::protocol::{ArchiveBytes, Command};
use pilot_core::source::{GitRef, SourceSpec};
use pilot_store::SqlStore;
use pilot_store::records::{Project, ProjectSource, ProjectStatus};
use tokio::sync::watch;

pub use rollout::{
    CanaryPlan, ControlAction, DeployOrder, NodeResult, NodeRollout, NodeRolloutState, Rollout,
    RolloutKind, RolloutStatus,
};

use crate::error::{Error, Result};
use crate::events::{EventBus, ServerEvent};
use crate::node_link::{CommandRun, NodeLink};

/// How many finished rollouts are kept for [`Deployer::rollout`].
const KEPT_ROLLOUTS: usize = 200;

/// How long start, stop, restart and remove may take on a node.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs deploys, rollbacks and service commands of projects on their nodes.
/// Cheap to clone.
#[derive(Clone)]
pub struct Deployer {
    inner: Arc<Inner>,
}

struct Inner {
    store: SqlStore,
    secrets: Arc<dyn SecretStore>,
    nodes: Arc<dyn NodeLink>,
    events: EventBus,
    rollouts: Mutex<Rollouts>,
}

#[derive(Default)]
struct Rollouts {
    by_id: HashMap<String, watch::Sender<Rollout>>,
    order: VecDeque<String>,
}

impl Deployer {
    /// A deployer over the given store, secrets, node link and event bus.
    pub fn new(
        store: SqlStore,
        secrets: Arc<dyn SecretStore>,
        nodes: Arc<dyn NodeLink>,
        events: EventBus,
    ) -> Self {
        Deployer {
            inner: Arc::new(Inner {
                store,
                secrets,
                nodes,
                events,
                rollouts: Mutex::new(Rollouts::default()),
            }),
        }
    }

    /// Starts a deploy of `order.project` to its nodes in the background and
    /// returns the rollout as planned. Fails at once when the project is
    /// unknown, has no nodes, or the request does not fit its source.
    pub async fn deploy(&self, order: DeployOrder) -> Result<Rollout> {
        let project = self.project(&order.project).await?;
        let (source, archive) = release_source(&project, order.reference, order.archive)?;
        let config = project
            .config_pinned
            .then(|| Box::new(project.config.clone()));
        let canary = order.canary.unwrap_or(CanaryPlan {
            nodes: Vec::new(),
            watch: Duration::ZERO,
        });
        let waves = waves(&project, &canary.nodes)?;
        let rollout = self.register(
            &project,
            RolloutKind::Deploy,
            &waves,
            &canary.nodes,
            &order.requested_by,
        );
        let deployer = self.clone();
        let plan = node_run::Plan {
            rollout: rollout.id.clone(),
            project: project.name.clone(),
            previous_status: project.status,
            waves,
            canary_watch: canary.watch,
            command: node_run::Template::Deploy {
                source,
                config,
                archive,
                public_port: project.public_port,
            },
        };
        self.set_status(&project.name, ProjectStatus::Deploying)
            .await;
        tokio::spawn(async move { deployer.run(plan).await });
        Ok(rollout)
    }

    /// Starts a rollback of every node of `project` to `generation` (the
    /// previous one when `None`) and returns the rollout as planned.
    pub async fn rollback(&self, project: &str, generation: Option<u64>) -> Result<Rollout> {
        let project = self.project(project).await?;
        let waves = waves(&project, &[])?;
        let rollout = self.register(&project, RolloutKind::Rollback, &waves, &[], "rollback");
        let plan = node_run::Plan {
            rollout: rollout.id.clone(),
            project: project.name.clone(),
            previous_status: project.status,
            waves,
            canary_watch: Duration::ZERO,
            command: node_run::Template::Rollback { generation },
        };
        let deployer = self.clone();
        tokio::spawn(async move { deployer.run(plan).await });
        Ok(rollout)
    }

    /// Starts, stops or restarts the project on every node and waits for the
    /// results; the project's status follows when every node succeeded.
    pub async fn control(&self, project: &str, action: ControlAction) -> Result<Vec<NodeResult>> {
        let project = self.project(project).await?;
        let name = project.name.clone();
        let results = self
            .on_every_node(&project, |project| match action {
                ControlAction::Start => Command::Start { project },
                ControlAction::Stop => Command::Stop { project },
                ControlAction::Restart => Command::Restart { project },
            })
            .await;
        if results.iter().all(|r| r.ok) {
            let status = match action {
                ControlAction::Stop => ProjectStatus::Stopped,
                ControlAction::Start | ControlAction::Restart => ProjectStatus::Running,
            };
            self.set_status(&name, status).await;
        }
        Ok(results)
    }

    /// Stops the project and deletes its releases on every node; the caller
    /// deletes the project's record.
    pub async fn remove(&self, project: &str) -> Result<Vec<NodeResult>> {
        let project = self.project(project).await?;
        Ok(self
            .on_every_node(&project, |project| Command::Remove { project })
            .await)
    }

    /// Asks every node of the project for its last `lines` log lines, and
    /// with `follow` for new ones as they come; one run per connected node
    /// (drop a run to stop following).
    pub async fn logs(&self, project: &str, lines: u32, follow: bool) -> Result<Vec<CommandRun>> {
        let project = self.project(project).await?;
        let mut runs = Vec::new();
        let mut last_error = None;
        for node in &project.nodes {
            let command = Command::Logs {
                project: project.name.clone(),
                lines,
                follow,
            };
            match self.inner.nodes.send(node, command).await {
                Ok(run) => runs.push(run),
                Err(e) => last_error = Some(e),
            }
        }
        match (runs.is_empty(), last_error) {
            (true, Some(e)) => Err(e.into()),
            (true, None) => Err(Error::NoNodes {
                project: project.name,
            }),
            _ => Ok(runs),
        }
    }

    /// The current state of a rollout, while it is kept.
    pub fn rollout(&self, id: &str) -> Option<Rollout> {
        let rollouts = self
            .inner
            .rollouts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        rollouts.by_id.get(id).map(|tx| tx.borrow().clone())
    }

    /// The rollouts of a project still kept, newest first.
    pub fn rollouts_of(&self, project: &str) -> Vec<Rollout> {
        let rollouts = self
            .inner
            .rollouts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        rollouts
            .order
            .iter()
            .rev()
            .filter_map(|id| rollouts.by_id.get(id))
            .map(|tx| tx.borrow().clone())
            .filter(|r| r.project == project)
            .collect()
    }

    /// Waits until the rollout ended and returns it; `None` for an unknown id.
    pub async fn wait(&self, id: &str) -> Option<Rollout> {
        let mut rx = {
            let rollouts = self
                .inner
                .rollouts
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            rollouts.by_id.get(id)?.subscribe()
        };
        let done = rx.wait_for(Rollout::is_finished).await.ok()?;
        Some(done.clone())
    }

    async fn project(&self, name: &str) -> Result<Project> {
        self.inner
            .store
            .project(name)
            .await?
            .ok_or_else(|| Error::UnknownProject {
                project: name.to_string(),
            })
    }

    async fn set_status(&self, project: &str, status: ProjectStatus) {
        if let Err(e) = self.inner.store.set_project_status(project, status).await {
            tracing::warn!(project, error = %e, "cannot record project status");
        }
    }

    fn register(
        &self,
        project: &Project,
        kind: RolloutKind,
        waves: &[Vec<String>],
        canary: &[String],
        requested_by: &str,
    ) -> Rollout {
        let started_ms = now_ms();
        let id = format!("r{started_ms:011x}{:05x}", rand::random::<u32>() & 0xf_ffff);
        let rollout = Rollout {
            id: id.clone(),
            project: project.name.clone(),
            kind,
            status: RolloutStatus::Running,
            reason: None,
            nodes: waves
                .iter()
                .flatten()
                .map(|node| NodeRollout {
                    node: node.clone(),
                    state: NodeRolloutState::Pending,
                    deployment: None,
                    generation: None,
                    error: None,
                })
                .collect(),
            canary: canary.to_vec(),
            requested_by: requested_by.to_string(),
            started_ms,
            finished_ms: None,
        };
        let (tx, _) = watch::channel(rollout.clone());
        let mut rollouts = self
            .inner
            .rollouts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        rollouts.by_id.insert(id.clone(), tx);
        rollouts.order.push_back(id);
        while rollouts.order.len() > KEPT_ROLLOUTS {
            let Some(oldest) = rollouts.order.front().cloned() else {
                break;
            };
            let finished = rollouts
                .by_id
                .get(&oldest)
                .is_none_or(|tx| tx.borrow().is_finished());
            if !finished {
                break;
            }
            rollouts.order.pop_front();
            rollouts.by_id.remove(&oldest);
        }
        rollout
    }

    /// Applies `change` to the rollout's snapshot and wakes its waiters.
    fn update(&self, id: &str, change: impl FnOnce(&mut Rollout)) {
        let rollouts = self
            .inner
            .rollouts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = rollouts.by_id.get(id) {
            tx.send_modify(change);
        }
    }

    async fn on_every_node(
        &self,
        project: &Project,
        command: impl Fn(String) -> Command,
    ) -> Vec<NodeResult> {
        let runs = project.nodes.iter().map(|node| {
            let command = command(project.name.clone());
            async move {
                let run = match self.inner.nodes.send(node, command).await {
                    Ok(run) => run,
                    Err(e) => return NodeResult::failed(node, e.to_string()),
                };
                match tokio::time::timeout(CONTROL_TIMEOUT, run.outcome(|_| {})).await {
                    Ok(Ok(outcome)) => node_run::outcome_result(node, &outcome),
                    Ok(Err(lost)) => NodeResult::failed(node, lost),
                    Err(_) => NodeResult::failed(
                        node,
                        format!(
                            "no answer within {} s; check the agent's log on {node}",
                            CONTROL_TIMEOUT.as_secs()
                        ),
                    ),
                }
            }
        });
        futures::future::join_all(runs).await
    }

    fn publish(&self, event: ServerEvent) {
        self.inner.events.publish(event);
    }
}

/// What the nodes fetch: the source spec, and the archive when uploaded.
fn release_source(
    project: &Project,
    reference: Option<GitRef>,
    archive: Option<Vec<u8>>,
) -> Result<(SourceSpec, Option<ArchiveBytes>)> {
    let invalid = |reason: &str| Error::InvalidRequest {
        project: project.name.clone(),
        reason: reason.to_string(),
    };
    if let Some(bytes) = archive {
        if reference.is_some() {
            return Err(invalid(
                "a git ref and an archive were both given; send one of them",
            ));
        }
        // The agent writes the bytes to a file of its own and fetches from it.
        let source = SourceSpec::Archive {
            path: "upload".into(),
        };
        return Ok((source, Some(ArchiveBytes(bytes))));
    }
    match &project.source {
        ProjectSource::Git { url, branch } => {
            let reference = reference
                .or_else(|| branch.clone().map(GitRef::Branch))
                .unwrap_or(GitRef::Default);
            Ok((
                SourceSpec::Git {
                    url: url.clone(),
                    reference,
                },
                None,
            ))
        }
        ProjectSource::Upload => Err(invalid(
            "the project deploys uploaded archives; send the app as a .zip or .tar.gz \
             (`pilot deploy PROJECT DIR` packs a directory)",
        )),
    }
}

/// The nodes in the order they are deployed: the canaries, then the rest.
fn waves(project: &Project, canary: &[String]) -> Result<Vec<Vec<String>>> {
    if project.nodes.is_empty() {
        return Err(Error::NoNodes {
            project: project.name.clone(),
        });
    }
    let all: BTreeSet<&String> = project.nodes.iter().collect();
    if let Some(stranger) = canary.iter().find(|n| !all.contains(n)) {
        return Err(Error::InvalidRequest {
            project: project.name.clone(),
            reason: format!(
                "canary node {stranger} is not one of the project's nodes ({})",
                project.nodes.join(", ")
            ),
        });
    }
    let canaries: BTreeSet<&String> = canary.iter().collect();
    let rest: Vec<String> = project
        .nodes
        .iter()
        .filter(|n| !canaries.contains(n))
        .cloned()
        .collect();
    let mut waves = Vec::new();
    if !canaries.is_empty() {
        waves.push(canaries.into_iter().cloned().collect());
    }
    if !rest.is_empty() {
        waves.push(rest);
    }
    Ok(waves)
}

pub(crate) use pilot_core::time::now_ms;

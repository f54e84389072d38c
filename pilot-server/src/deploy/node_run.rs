//! Running a rollout: wave by wave, node by node, following each agent's
//! updates into the rollout, the deployment history and the event bus.

use std::time::Duration;

use pilot_core::AppConfig;
use pilot_core::protocol::{ArchiveBytes, Command, CommandOutcome, DeploySecrets};
use pilot_core::source::SourceSpec;
use pilot_store::records::ProjectStatus;

use super::{Deployer, NodeResult, NodeRolloutState, RolloutStatus, now_ms};
use crate::events::ServerEvent;
use crate::node_link::CommandUpdate;

/// How often canaries are checked while they are watched.
const SOAK_POLL: Duration = Duration::from_millis(250);

/// Everything a background rollout needs.
pub(super) struct Plan {
    pub rollout: String,
    pub project: String,
    pub previous_status: ProjectStatus,
    /// Canaries first (when there are any), then the rest.
    pub waves: Vec<Vec<String>>,
    pub canary_watch: Duration,
    pub command: Template,
}

/// The command each node gets, before per-node secrets are added.
pub(super) enum Template {
    Deploy {
        source: SourceSpec,
        config: Option<Box<AppConfig>>,
        archive: Option<ArchiveBytes>,
        public_port: Option<u16>,
    },
    Rollback {
        generation: Option<u64>,
    },
}

/// What one node reported at the end.
struct NodeEnd {
    deployment: Option<String>,
    generation: Option<u64>,
}

/// Maps a command outcome to a node result.
pub(super) fn outcome_result(node: &str, outcome: &CommandOutcome) -> NodeResult {
    match outcome {
        CommandOutcome::Succeeded { .. } => NodeResult::ok(node),
        CommandOutcome::Failed { error } => NodeResult::failed(node, error.clone()),
        CommandOutcome::Refused { reason } => {
            NodeResult::failed(node, format!("the agent refused: {reason}"))
        }
    }
}

impl Deployer {
    /// Runs a registered rollout to its end.
    pub(super) async fn run(self, plan: Plan) {
        let mut failure: Option<String> = None;
        for (index, wave) in plan.waves.iter().enumerate() {
            if failure.is_some() {
                self.mark(&plan.rollout, wave, NodeRolloutState::Skipped, None);
                continue;
            }
            let ends =
                futures::future::join_all(wave.iter().map(|node| self.run_on_node(&plan, node)))
                    .await;
            failure = wave
                .iter()
                .zip(&ends)
                .find_map(|(node, end)| end.as_ref().err().map(|e| format!("node {node}: {e}")));
            // With canaries the first of two waves is theirs (see `waves`).
            let canary_wave = index == 0 && plan.waves.len() > 1;
            if canary_wave && failure.is_none() && !plan.canary_watch.is_zero() {
                failure = self.soak(wave, plan.canary_watch).await;
            }
            if canary_wave && failure.is_some() {
                self.roll_back_canaries(&plan, wave).await;
            }
        }
        self.finish(&plan, failure).await;
    }

    fn mark(&self, rollout: &str, nodes: &[String], state: NodeRolloutState, error: Option<&str>) {
        self.update(rollout, |r| {
            for node in nodes {
                if let Some(entry) = r.node_mut(node) {
                    entry.state = state;
                    if let Some(error) = error {
                        entry.error = Some(error.to_string());
                    }
                }
            }
        });
    }

    /// Sends the command to one node and follows it to the end.
    async fn run_on_node(&self, plan: &Plan, node: &str) -> Result<NodeEnd, String> {
        self.mark(
            &plan.rollout,
            &[node.to_string()],
            NodeRolloutState::Running,
            None,
        );
        let result = self.follow_node(plan, node).await;
        self.update(&plan.rollout, |r| {
            if let Some(entry) = r.node_mut(node) {
                match &result {
                    Ok(end) => {
                        entry.state = NodeRolloutState::Succeeded;
                        entry.deployment = end.deployment.clone().or(entry.deployment.take());
                        entry.generation = end.generation.or(entry.generation);
                    }
                    Err(error) => {
                        entry.state = NodeRolloutState::Failed;
                        entry.error = Some(error.clone());
                    }
                }
            }
        });
        result
    }

    async fn follow_node(&self, plan: &Plan, node: &str) -> Result<NodeEnd, String> {
        let command = self.command_for(plan, node).await?;
        let mut run = self
            .inner
            .nodes
            .send(node, command)
            .await
            .map_err(|e| e.to_string())?;
        while let Some(update) = run.next().await {
            match update {
                CommandUpdate::Progress(event) => {
                    self.publish(ServerEvent::Deploy {
                        project: plan.project.clone(),
                        node: node.to_string(),
                        rollout: plan.rollout.clone(),
                        event,
                    });
                }
                CommandUpdate::Journal(deployment) => {
                    if let Err(e) = self.inner.store.save_deployment(node, &deployment).await {
                        tracing::warn!(node, deployment = %deployment.id, error = %e, "cannot save deployment journal");
                    }
                    self.update(&plan.rollout, |r| {
                        if let Some(entry) = r.node_mut(node) {
                            entry.deployment = Some(deployment.id.clone());
                        }
                    });
                }
                CommandUpdate::Log(_) => {}
                CommandUpdate::Finished(CommandOutcome::Succeeded {
                    deployment,
                    generation,
                }) => {
                    return Ok(NodeEnd {
                        deployment,
                        generation,
                    });
                }
                CommandUpdate::Finished(outcome) => {
                    return Err(outcome_result(node, &outcome)
                        .error
                        .unwrap_or_else(|| "failed without a reason".into()));
                }
                CommandUpdate::Lost { reason } => {
                    return Err(format!("lost the connection to the agent: {reason}"));
                }
            }
        }
        Err("the link closed without a result".into())
    }

    async fn command_for(&self, plan: &Plan, node: &str) -> Result<Command, String> {
        let project = plan.project.clone();
        Ok(match &plan.command {
            Template::Deploy {
                source,
                config,
                archive,
                public_port,
            } => {
                let secrets = self
                    .inner
                    .secrets
                    .resolve(&project, Some(node))
                    .await
                    .map_err(|e| format!("cannot read the project's secrets: {e}"))?;
                Command::Deploy {
                    project,
                    source: source.clone(),
                    config: config.clone(),
                    archive: archive.clone(),
                    public_port: *public_port,
                    secrets: DeploySecrets::from(secrets),
                }
            }
            Template::Rollback { generation } => Command::Rollback {
                project,
                generation: *generation,
            },
        })
    }

    /// Watches the canaries for `watch`: each must stay connected.
    async fn soak(&self, canaries: &[String], watch: Duration) -> Option<String> {
        let until = tokio::time::Instant::now() + watch;
        loop {
            if let Some(gone) = canaries.iter().find(|n| !self.inner.nodes.is_online(n)) {
                return Some(format!(
                    "canary node {gone} disconnected while it was watched"
                ));
            }
            if tokio::time::Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(SOAK_POLL.min(until - tokio::time::Instant::now())).await;
        }
    }

    /// Sends the canaries that took the new release back to the previous one.
    async fn roll_back_canaries(&self, plan: &Plan, canaries: &[String]) {
        let Some(rollout) = self.rollout(&plan.rollout) else {
            return;
        };
        for entry in rollout.nodes.iter().filter(|n| canaries.contains(&n.node)) {
            if entry.state != NodeRolloutState::Succeeded {
                continue;
            }
            let command = Command::Rollback {
                project: plan.project.clone(),
                generation: None,
            };
            let result = match self.inner.nodes.send(&entry.node, command).await {
                Ok(run) => match run.outcome(|_| {}).await {
                    Ok(outcome) => outcome_result(&entry.node, &outcome),
                    Err(lost) => NodeResult::failed(&entry.node, lost),
                },
                Err(e) => NodeResult::failed(&entry.node, e.to_string()),
            };
            let (state, error) = if result.ok {
                (NodeRolloutState::RolledBack, None)
            } else {
                (
                    NodeRolloutState::Failed,
                    result
                        .error
                        .map(|e| format!("rolling the canary back failed: {e}")),
                )
            };
            self.mark(
                &plan.rollout,
                std::slice::from_ref(&entry.node),
                state,
                error.as_deref(),
            );
        }
    }

    async fn finish(&self, plan: &Plan, failure: Option<String>) {
        let succeeded = failure.is_none();
        // The project's status first: whoever waits on the rollout sees it.
        let status = match (succeeded, plan.previous_status) {
            (true, _) => ProjectStatus::Running,
            (false, ProjectStatus::Running) => ProjectStatus::Running,
            (false, ProjectStatus::Stopped) => ProjectStatus::Stopped,
            (false, _) => ProjectStatus::Failed,
        };
        self.set_status(&plan.project, status).await;
        self.update(&plan.rollout, |r| {
            r.status = if succeeded {
                RolloutStatus::Succeeded
            } else {
                RolloutStatus::Failed
            };
            r.reason = failure.clone();
            r.finished_ms = Some(now_ms());
        });
        self.publish(ServerEvent::RolloutFinished {
            project: plan.project.clone(),
            rollout: plan.rollout.clone(),
            succeeded,
            reason: failure,
        });
    }
}

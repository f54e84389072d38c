//! The persisted record of one deployment (its journal) and the state
//! machine that guards how it may change.

use crate::time::now_ms;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::project::Slot;
use crate::config::{AppConfig, Strategy};
use crate::error::{Error, Result};
use crate::source::SourceSpec;

/// The steps of a deployment, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Get the source into a new release directory.
    Fetch,
    /// Validate the config, resolve secrets, write `.env`.
    Configure,
    /// Prepare the toolchain and run the build.
    Build,
    /// Run the test command.
    Test,
    /// Start the release on its own port.
    Start,
    /// Wait until the release answers its health check.
    HealthCheck,
    /// Route the public port to the release and update `current`.
    Switch,
    /// Watch the live release; roll back when it fails.
    Watch,
    /// Drain and stop the previous release, prune old generations.
    Retire,
}

impl StepKind {
    /// Every step, in the order a deployment of a new release runs them.
    pub const ALL: [StepKind; 9] = [
        StepKind::Fetch,
        StepKind::Configure,
        StepKind::Build,
        StepKind::Test,
        StepKind::Start,
        StepKind::HealthCheck,
        StepKind::Switch,
        StepKind::Watch,
        StepKind::Retire,
    ];

    /// The step's name as shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Fetch => "fetch",
            StepKind::Configure => "configure",
            StepKind::Build => "build",
            StepKind::Test => "test",
            StepKind::Start => "start",
            StepKind::HealthCheck => "health_check",
            StepKind::Switch => "switch",
            StepKind::Watch => "watch",
            StepKind::Retire => "retire",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Started; its effects may be partly done.
    Running,
    /// Finished.
    Done,
    /// Failed.
    Failed,
    /// Its effects were undone.
    Reverted,
    /// Undoing it failed (the error says what is left).
    RevertFailed,
}

/// One step of a deployment and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step.
    pub step: StepKind,
    /// Its status.
    pub status: StepStatus,
    /// Unix ms when it started.
    pub started_ms: Option<i64>,
    /// Unix ms when it ended.
    pub finished_ms: Option<i64>,
    /// The error, secrets masked.
    pub error: Option<String>,
}

/// The overall state of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// Created, no step started.
    Pending,
    /// Running its steps.
    Running,
    /// A step failed (or the engine died); the done steps are being undone.
    Reverting,
    /// Every step finished; the release is live.
    Succeeded,
    /// Failed before traffic moved; the previous release kept serving.
    Failed,
    /// The release went live but failed while watched; traffic went back.
    RolledBack,
}

impl DeployState {
    /// Whether the deployment has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeployState::Succeeded | DeployState::Failed | DeployState::RolledBack
        )
    }

    fn may_become(self, next: DeployState) -> bool {
        use DeployState::*;
        matches!(
            (self, next),
            (Pending, Running)
                | (Pending, Reverting)
                | (Running, Succeeded)
                | (Running, Reverting)
                | (Reverting, Failed)
                | (Reverting, RolledBack)
        )
    }
}

impl fmt::Display for DeployState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DeployState::Pending => "pending",
            DeployState::Running => "running",
            DeployState::Reverting => "reverting",
            DeployState::Succeeded => "succeeded",
            DeployState::Failed => "failed",
            DeployState::RolledBack => "rolled_back",
        };
        f.write_str(s)
    }
}

impl std::str::FromStr for DeployState {
    type Err = String;

    /// The state named as [`fmt::Display`] writes it.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        use DeployState::*;
        [Pending, Running, Reverting, Succeeded, Failed, RolledBack]
            .into_iter()
            .find(|state| state.to_string() == s)
            .ok_or_else(|| format!("unknown deploy state {s:?}"))
    }
}

/// What a deployment does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeploymentKind {
    /// Fetch, build and roll out a new release.
    Deploy {
        /// Where the release comes from.
        source: SourceSpec,
        /// A config that replaces the release's own `config.vpspilot.json`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Box<AppConfig>>,
    },
    /// Roll out a kept generation again, without rebuilding.
    Rollback {
        /// The generation to go back to.
        to: u64,
    },
}

/// The journal of one deployment, written atomically after every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Unique, time-sortable id.
    pub id: String,
    /// The project.
    pub project: String,
    /// Deploy or rollback.
    pub kind: DeploymentKind,
    /// Rollout strategy.
    pub strategy: Strategy,
    /// The generation being rolled out.
    pub generation: u64,
    /// The release that was live when it started.
    pub previous: Option<Slot>,
    /// Version label of the release (short commit or content digest), once known.
    pub version: Option<String>,
    /// Full git commit of the release, when the source was git.
    pub commit: Option<String>,
    /// Port of the new release, once started.
    pub port: Option<u16>,
    /// The project's public port for this release, once known.
    pub public_port: Option<u16>,
    /// Whether Start reused an already running standby release.
    pub reused_standby: bool,
    /// Overall state.
    state: DeployState,
    /// Every step of the plan.
    pub steps: Vec<StepRecord>,
    /// Unix ms when it was created.
    pub created_ms: i64,
    /// Unix ms when it ended.
    pub finished_ms: Option<i64>,
    /// Why it failed or was rolled back (secrets masked).
    pub reason: Option<String>,
}

impl Deployment {
    /// A new pending deployment with the given plan.
    pub fn new(
        project: &str,
        kind: DeploymentKind,
        strategy: Strategy,
        generation: u64,
        previous: Option<Slot>,
        plan: &[StepKind],
    ) -> Self {
        let created_ms = now_ms();
        Deployment {
            id: new_id(created_ms),
            project: project.to_string(),
            kind,
            strategy,
            generation,
            previous,
            version: None,
            commit: None,
            port: None,
            public_port: None,
            reused_standby: false,
            state: DeployState::Pending,
            steps: plan
                .iter()
                .map(|&step| StepRecord {
                    step,
                    status: StepStatus::Pending,
                    started_ms: None,
                    finished_ms: None,
                    error: None,
                })
                .collect(),
            created_ms,
            finished_ms: None,
            reason: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> DeployState {
        self.state
    }

    /// Moves to `next` if the state machine allows it.
    pub fn transition(&mut self, next: DeployState) -> Result<()> {
        if !self.state.may_become(next) {
            return Err(Error::InvalidTransition {
                deployment: self.id.clone(),
                from: self.state.to_string(),
                to: next.to_string(),
            });
        }
        self.state = next;
        if next.is_final() {
            self.finished_ms = Some(now_ms());
        }
        Ok(())
    }

    /// The record of `step`.
    pub fn step(&self, step: StepKind) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == step)
    }

    pub(crate) fn step_mut(&mut self, step: StepKind) -> &mut StepRecord {
        let index = self
            .steps
            .iter()
            .position(|s| s.step == step)
            .unwrap_or_else(|| {
                self.steps.push(StepRecord {
                    step,
                    status: StepStatus::Pending,
                    started_ms: None,
                    finished_ms: None,
                    error: None,
                });
                self.steps.len() - 1
            });
        &mut self.steps[index]
    }

    /// Steps that were started (running or done), latest first: the revert order.
    pub fn started_steps_reversed(&self) -> Vec<StepKind> {
        self.steps
            .iter()
            .rev()
            .filter(|s| {
                matches!(
                    s.status,
                    StepStatus::Running | StepStatus::Done | StepStatus::Failed
                )
            })
            .map(|s| s.step)
            .collect()
    }

    /// Wall time from creation to the end, once ended.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_ms
            .map(|f| u64::try_from(f.saturating_sub(self.created_ms)).unwrap_or(0))
    }
}

fn new_id(ms: i64) -> String {
    let suffix: u16 = rand::random();
    format!("{ms:013}-{suffix:04x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_they_are_written() {
        use DeployState::*;
        for state in [Pending, Running, Reverting, Succeeded, Failed, RolledBack] {
            assert_eq!(state.to_string().parse::<DeployState>(), Ok(state));
        }
        assert!("done".parse::<DeployState>().is_err());
    }

    fn deployment() -> Deployment {
        Deployment::new(
            "shop",
            DeploymentKind::Rollback { to: 1 },
            Strategy::BlueGreen,
            1,
            Some(Slot {
                generation: 2,
                port: 4000,
            }),
            &[StepKind::Start, StepKind::Switch],
        )
    }

    #[test]
    fn guarded_transitions() {
        let mut d = deployment();
        assert!(d.transition(DeployState::Succeeded).is_err());
        d.transition(DeployState::Running).unwrap();
        d.transition(DeployState::Reverting).unwrap();
        let err = d.transition(DeployState::Succeeded).unwrap_err();
        assert!(err.to_string().contains("from reverting to succeeded"));
        d.transition(DeployState::RolledBack).unwrap();
        assert!(d.state().is_final() && d.finished_ms.is_some());
        assert!(d.transition(DeployState::Running).is_err());
    }

    #[test]
    fn revert_order_is_latest_first() {
        let mut d = deployment();
        d.step_mut(StepKind::Start).status = StepStatus::Done;
        d.step_mut(StepKind::Switch).status = StepStatus::Running;
        assert_eq!(
            d.started_steps_reversed(),
            vec![StepKind::Switch, StepKind::Start]
        );
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Deployment>(&json).unwrap(), d);
    }
}

//! Progress of deployments, sent to an injected [`EventSink`]. The engine
//! never prints.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::state::{DeployState, StepKind};
use crate::output::Stream;

/// Something that happened during a deployment: which deployment, of
/// which project, and what ([`DeployEventKind`]). On the wire it is one
/// flat object, `{"event": "<kind>", "deployment", "project", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployEvent {
    /// Deployment id.
    pub deployment: String,
    /// Project.
    pub project: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: DeployEventKind,
}

impl DeployEvent {
    /// An event of `deployment` of `project`.
    pub fn new(
        deployment: impl Into<String>,
        project: impl Into<String>,
        kind: DeployEventKind,
    ) -> Self {
        DeployEvent {
            deployment: deployment.into(),
            project: project.into(),
            kind,
        }
    }
}

/// What happened during a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeployEventKind {
    /// A step began.
    StepStarted {
        /// The step.
        step: StepKind,
    },
    /// A step finished successfully.
    StepFinished {
        /// The step.
        step: StepKind,
        /// How long it took.
        duration_ms: u64,
    },
    /// A step failed (secrets masked).
    StepFailed {
        /// The step.
        step: StepKind,
        /// Why.
        error: String,
    },
    /// A step's effects were undone.
    StepReverted {
        /// The step.
        step: StepKind,
    },
    /// Traffic of the project now goes to another release.
    Switched {
        /// Generation now receiving new connections.
        generation: u64,
    },
    /// One line of build or deploy output (secrets masked).
    Log {
        /// Which stream.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// The deployment ended.
    Finished {
        /// Its final state.
        state: DeployState,
        /// Why it did not succeed, if it did not.
        reason: Option<String>,
    },
}

/// Receives deployment events. Must not block.
pub trait EventSink: Send + Sync {
    /// One event.
    fn emit(&self, event: &DeployEvent);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: &DeployEvent) {}
}

/// Keeps every event in memory.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Mutex<Vec<DeployEvent>>,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<DeployEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl EventSink for EventLog {
    fn emit(&self, event: &DeployEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// Calls a closure for every event.
pub struct FnEvents<F>(pub F);

impl<F: Fn(&DeployEvent) + Send + Sync> EventSink for FnEvents<F> {
    fn emit(&self, event: &DeployEvent) {
        (self.0)(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_flat_object_on_the_wire() {
        let event = DeployEvent::new(
            "d-1",
            "shop",
            DeployEventKind::StepFinished {
                step: StepKind::Build,
                duration_ms: 1200,
            },
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": "step_finished",
                "deployment": "d-1",
                "project": "shop",
                "step": "build",
                "duration_ms": 1200,
            })
        );
        let back: DeployEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        let finished: DeployEvent = serde_json::from_str(
            r#"{"event":"finished","deployment":"d-2","project":"shop","state":"succeeded","reason":null}"#,
        )
        .unwrap();
        assert_eq!(
            finished.kind,
            DeployEventKind::Finished {
                state: DeployState::Succeeded,
                reason: None
            }
        );
    }
}

//! Progress of deployments, sent to an injected [`EventSink`]. The engine
//! never prints.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::state::{DeployState, StepKind};
use crate::output::Stream;

/// Something that happened during a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeployEvent {
    /// A step began.
    StepStarted {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// The step.
        step: StepKind,
    },
    /// A step finished successfully.
    StepFinished {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// The step.
        step: StepKind,
        /// How long it took.
        duration_ms: u64,
    },
    /// A step failed (secrets masked).
    StepFailed {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// The step.
        step: StepKind,
        /// Why.
        error: String,
    },
    /// A step's effects were undone.
    StepReverted {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// The step.
        step: StepKind,
    },
    /// Traffic of the project now goes to another release.
    Switched {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// Generation now receiving new connections.
        generation: u64,
    },
    /// One line of build or deploy output (secrets masked).
    Log {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
        /// Which stream.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// The deployment ended.
    Finished {
        /// Deployment id.
        deployment: String,
        /// Project.
        project: String,
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

//! What a node knows about one project: its public port, its kept
//! generations, and which one is live. Persisted as `state.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::fsutil::{read_json, write_json_atomic};
use crate::layout::{NodeLayout, ReleaseName};

/// One kept release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// Generation number, increasing per project.
    pub number: u64,
    /// Version label (short commit or content digest).
    pub version: String,
    /// Full git commit, when the source was git.
    pub commit: Option<String>,
    /// The deployment that built it.
    pub deployment: String,
    /// Unix ms when it was built.
    pub created_ms: i64,
}

impl Generation {
    /// The name of its release directory.
    pub fn release_name(&self) -> ReleaseName {
        ReleaseName::new(self.number, &self.version)
    }
}

/// A running release of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The generation running.
    pub generation: u64,
    /// The port it listens on.
    pub port: u16,
}

/// Everything the engine persists about one project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    /// The project.
    pub project: String,
    /// The stable public port.
    pub public_port: Option<u16>,
    /// The next generation number to hand out.
    pub next_generation: u64,
    /// The release receiving traffic.
    pub live: Option<Slot>,
    /// The previous release, kept running without traffic for instant rollback.
    pub standby: Option<Slot>,
    /// Kept generations, oldest first.
    pub generations: Vec<Generation>,
}

impl ProjectState {
    /// Loads the state of `project`, or a fresh one when it was never deployed.
    pub fn load(layout: &NodeLayout, project: &str) -> Result<Self> {
        Ok(
            read_json(&layout.state_file(project))?.unwrap_or_else(|| ProjectState {
                project: project.to_string(),
                next_generation: 1,
                ..ProjectState::default()
            }),
        )
    }

    /// Writes the state atomically.
    pub fn save(&self, layout: &NodeLayout) -> Result<()> {
        write_json_atomic(&layout.state_file(&self.project), self)
    }

    /// Whether the project has a state file on this node.
    pub fn exists(layout: &NodeLayout, project: &str) -> bool {
        Path::new(&layout.state_file(project)).exists()
    }

    /// The kept generation `number`.
    pub fn generation(&self, number: u64) -> Option<&Generation> {
        self.generations.iter().find(|g| g.number == number)
    }

    /// Numbers of every kept generation, oldest first.
    pub fn kept(&self) -> Vec<u64> {
        self.generations.iter().map(|g| g.number).collect()
    }

    /// The newest kept generation older than the live one: the default rollback target.
    pub fn previous_generation(&self) -> Option<u64> {
        let live = self.live?.generation;
        self.generations
            .iter()
            .rev()
            .map(|g| g.number)
            .find(|&n| n < live)
    }
}

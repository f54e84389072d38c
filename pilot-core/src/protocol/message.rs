//! The messages exchanged on the agent link.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;
use super::command::Command;
use super::token::NodeToken;
use crate::engine::{DeployEvent, Deployment};
use crate::metrics::{MetricBatch, TopProcesses};

/// Identifies one command; the agent's progress, log chunks and result name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandId(pub u64);

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CommandOutcome {
    /// The command did what was asked.
    Succeeded {
        /// The deployment id, for deploys and rollbacks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployment: Option<String>,
        /// The generation now serving, for deploys and rollbacks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        generation: Option<u64>,
    },
    /// The command was run and failed.
    Failed {
        /// Why, with secrets masked.
        error: String,
    },
    /// The agent did not run the command (e.g. secrets offered over clear text).
    Refused {
        /// Why.
        reason: String,
    },
}

/// A message from an agent to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// First message on a connection: who the agent is.
    Hello {
        /// The node name.
        node: String,
        /// The agent's [`PROTOCOL_VERSION`].
        version: u32,
        /// The node's token; masked in `Debug`.
        token: NodeToken,
        /// What the node reports about itself (OS, CPUs, memory, versions).
        system: serde_json::Value,
    },
    /// The agent is alive.
    Heartbeat {
        /// Agent clock, milliseconds since the Unix epoch.
        at_ms: i64,
    },
    /// A batch of metrics; the server acknowledges `seq` once it is stored.
    Metrics {
        /// The samples.
        batch: MetricBatch,
        /// Increases by one per batch, across reconnections.
        seq: u64,
    },
    /// The node's busiest processes, sent with each metrics collection; the
    /// server keeps the latest only.
    Processes {
        /// The processes.
        top: TopProcesses,
    },
    /// A step of a running command.
    Progress {
        /// The command.
        command_id: CommandId,
        /// What happened.
        event: DeployEvent,
    },
    /// The journal of a deployment or rollback a command ran, sent before its
    /// result (whether it succeeded or not).
    Journal {
        /// The command.
        command_id: CommandId,
        /// The engine's record: steps with timings, state, reason, version, generation.
        deployment: Box<Deployment>,
    },
    /// A command ended.
    Result {
        /// The command.
        command_id: CommandId,
        /// How it ended.
        outcome: CommandOutcome,
    },
    /// Log lines for a [`Command::Logs`] request.
    LogChunk {
        /// The command.
        command_id: CommandId,
        /// The lines, oldest first, secrets masked.
        lines: Vec<String>,
    },
}

impl AgentMessage {
    /// A hello at this build's [`PROTOCOL_VERSION`].
    pub fn hello(node: impl Into<String>, token: NodeToken, system: serde_json::Value) -> Self {
        AgentMessage::Hello {
            node: node.into(),
            version: PROTOCOL_VERSION,
            token,
            system,
        }
    }
}

/// A message from the server to an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The hello was accepted.
    Welcome {
        /// The server's [`PROTOCOL_VERSION`].
        version: u32,
        /// The node name the server knows the agent by.
        node: String,
        /// How often the agent must send a heartbeat.
        heartbeat_secs: u64,
    },
    /// The hello was refused; the server closes the connection.
    Refused {
        /// Why (unknown or revoked token, version mismatch, ...).
        reason: String,
    },
    /// Something to do.
    Command {
        /// Its id.
        id: CommandId,
        /// What to do.
        command: Command,
    },
    /// Stop a running command (e.g. a log follow); the agent answers with its result.
    Cancel {
        /// The command to stop.
        id: CommandId,
    },
    /// Metrics batches up to and including `seq` are stored.
    MetricsAck {
        /// The last stored batch.
        seq: u64,
    },
}

impl ServerMessage {
    /// A welcome at this build's [`PROTOCOL_VERSION`].
    pub fn welcome(node: impl Into<String>, heartbeat_secs: u64) -> Self {
        ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            node: node.into(),
            heartbeat_secs,
        }
    }
}

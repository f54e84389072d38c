//! What the server can ask of connected agents: [`NodeLink`].
//!
//! The agent listener ([`crate::hub`]) implements it over real connections;
//! tests of the layers above use the fake in `crate::testing` (feature
//! `test-util`).

use async_trait::async_trait;
use pilot_core::engine::{DeployEvent, Deployment};
use pilot_core::protocol::{Command, CommandId, CommandOutcome};
use tokio::sync::mpsc;

/// Why a command could not be sent or did not come back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The node has no live connection.
    #[error("node {node} is not connected; check that its agent runs and can reach the server")]
    NodeOffline {
        /// The node.
        node: String,
    },
    /// The node is not registered.
    #[error("node {node} is not registered; add it with `pilot node add {node}`")]
    UnknownNode {
        /// The node.
        node: String,
    },
}

/// Something an agent reported about a running command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandUpdate {
    /// A deploy step event.
    Progress(DeployEvent),
    /// Log lines, oldest first, secrets masked.
    Log(Vec<String>),
    /// The journal of the deployment the command ran (before its result).
    Journal(Box<Deployment>),
    /// The command ended; nothing follows.
    Finished(CommandOutcome),
    /// The connection to the agent dropped before a result arrived; nothing follows.
    Lost {
        /// What happened to the link.
        reason: String,
    },
}

impl CommandUpdate {
    /// Whether nothing follows this update.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            CommandUpdate::Finished(_) | CommandUpdate::Lost { .. }
        )
    }
}

/// A command sent to one node: its id and the updates the agent sends back.
///
/// Dropping the run before it finished cancels the command on the agent
/// (the link sends `Cancel` once it notices the receiver is gone); this is
/// how a log follow ends.
#[derive(Debug)]
pub struct CommandRun {
    /// The command's id on the link.
    pub id: CommandId,
    /// The node running it.
    pub node: String,
    updates: mpsc::Receiver<CommandUpdate>,
}

impl CommandRun {
    /// A run reading its updates from `updates`; the sending half belongs to
    /// the link, which must end the stream with a final update.
    pub fn new(
        id: CommandId,
        node: impl Into<String>,
        updates: mpsc::Receiver<CommandUpdate>,
    ) -> Self {
        CommandRun {
            id,
            node: node.into(),
            updates,
        }
    }

    /// The next update; `None` after the final one.
    pub async fn next(&mut self) -> Option<CommandUpdate> {
        self.updates.recv().await
    }

    /// Waits for the end of the command, handing every other update to
    /// `on_update`; returns the outcome, or the reason the link was lost.
    pub async fn outcome(
        mut self,
        mut on_update: impl FnMut(&CommandUpdate),
    ) -> Result<CommandOutcome, String> {
        while let Some(update) = self.updates.recv().await {
            match update {
                CommandUpdate::Finished(outcome) => return Ok(outcome),
                CommandUpdate::Lost { reason } => return Err(reason),
                other => on_update(&other),
            }
        }
        Err(format!(
            "the link to node {} closed without a result for command {}",
            self.node, self.id
        ))
    }
}

/// Sends commands to agents and tells which are connected.
#[async_trait]
pub trait NodeLink: Send + Sync {
    /// Names of the nodes with a live, authenticated connection, sorted.
    fn online(&self) -> Vec<String>;

    /// Whether `node` has a live, authenticated connection.
    fn is_online(&self, node: &str) -> bool {
        self.online().iter().any(|n| n == node)
    }

    /// Sends `command` to `node`; the run yields what the agent reports.
    async fn send(&self, node: &str, command: Command) -> Result<CommandRun, LinkError>;

    /// Closes the connection of `node`, if any (its token was revoked).
    fn disconnect(&self, node: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outcome_collects_updates_until_the_result() {
        let (tx, rx) = mpsc::channel(8);
        let run = CommandRun::new(CommandId(3), "web-1", rx);
        tx.send(CommandUpdate::Log(vec!["one".into()]))
            .await
            .unwrap();
        tx.send(CommandUpdate::Finished(CommandOutcome::Failed {
            error: "boom".into(),
        }))
        .await
        .unwrap();
        let mut seen = Vec::new();
        let outcome = run.outcome(|u| seen.push(u.clone())).await.unwrap();
        assert_eq!(seen, [CommandUpdate::Log(vec!["one".into()])]);
        assert_eq!(
            outcome,
            CommandOutcome::Failed {
                error: "boom".into()
            }
        );
    }

    #[tokio::test]
    async fn a_closed_link_without_result_is_reported() {
        let (tx, rx) = mpsc::channel(1);
        drop(tx);
        let err = CommandRun::new(CommandId(4), "web-2", rx)
            .outcome(|_| {})
            .await
            .unwrap_err();
        assert!(err.contains("web-2") && err.contains('4'), "{err}");
    }
}

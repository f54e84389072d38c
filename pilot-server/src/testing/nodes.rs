//! [`FakeNodes`]: the one fake of the [`NodeLink`] seam.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use pilot_core::protocol::{Command, CommandId, CommandOutcome};
use tokio::sync::{mpsc, watch};

use crate::node_link::{CommandRun, CommandUpdate, LinkError, NodeLink};

/// Computes what a fake agent answers to a command.
pub type Responder = Box<dyn Fn(&str, &Command) -> Vec<CommandUpdate> + Send + Sync>;

/// A [`NodeLink`] without network: nodes are online when the test says so,
/// every command is recorded, and a responder decides the updates each
/// command gets (by default: success, with generation 1 for deploys and
/// rollbacks). While [held](FakeNodes::hold), answers wait until
/// [`FakeNodes::release`].
pub struct FakeNodes {
    online: Mutex<BTreeSet<String>>,
    sent: Mutex<Vec<(String, Command)>>,
    responder: Responder,
    next_id: Mutex<u64>,
    open: watch::Sender<bool>,
}

impl FakeNodes {
    /// Fake nodes answering every command with success.
    pub fn new() -> Self {
        FakeNodes::with_responder(Box::new(|_, command| {
            let generation =
                matches!(command, Command::Deploy { .. } | Command::Rollback { .. }).then_some(1);
            vec![CommandUpdate::Finished(CommandOutcome::Succeeded {
                deployment: generation.map(|_| "fake-deployment".to_string()),
                generation,
            })]
        }))
    }

    /// Fake nodes answering with what `responder` returns.
    pub fn with_responder(responder: Responder) -> Self {
        FakeNodes {
            online: Mutex::new(BTreeSet::new()),
            sent: Mutex::new(Vec::new()),
            responder,
            next_id: Mutex::new(1),
            open: watch::Sender::new(true),
        }
    }

    /// Makes every answer wait until [`FakeNodes::release`].
    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    /// Lets every held and future answer through.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// Marks a node connected or not.
    pub fn set_online(&self, node: &str, online: bool) {
        let mut nodes = self.online.lock().unwrap_or_else(|e| e.into_inner());
        if online {
            nodes.insert(node.to_string());
        } else {
            nodes.remove(node);
        }
    }

    /// Every command sent so far, with its node, oldest first.
    pub fn sent(&self) -> Vec<(String, Command)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Default for FakeNodes {
    fn default() -> Self {
        FakeNodes::new()
    }
}

#[async_trait]
impl NodeLink for FakeNodes {
    fn online(&self) -> Vec<String> {
        let nodes = self.online.lock().unwrap_or_else(|e| e.into_inner());
        nodes.iter().cloned().collect()
    }

    async fn send(&self, node: &str, command: Command) -> Result<CommandRun, LinkError> {
        if !self.is_online(node) {
            return Err(LinkError::NodeOffline {
                node: node.to_string(),
            });
        }
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            *next += 1;
            CommandId(*next - 1)
        };
        let updates = (self.responder)(node, &command);
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((node.to_string(), command));
        let (tx, rx) = mpsc::channel(updates.len().max(1));
        if *self.open.borrow() {
            for update in updates {
                // The channel holds every update; the receiver is still here.
                let _ = tx.try_send(update);
            }
        } else {
            let mut open = self.open.subscribe();
            tokio::spawn(async move {
                if open.wait_for(|open| *open).await.is_ok() {
                    for update in updates {
                        let _ = tx.try_send(update);
                    }
                }
            });
        }
        Ok(CommandRun::new(id, node, rx))
    }

    fn disconnect(&self, node: &str) {
        self.set_online(node, false);
    }
}

//! Live events for WebSocket clients and anything else that watches the
//! server: node status, metrics, deployment progress, project status.

use std::sync::Arc;

use pilot_core::engine::DeployEvent;
use pilot_core::{Sample, TopProcesses};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Something that just happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// A node connected or disconnected.
    NodeStatus {
        /// The node.
        node: String,
        /// Whether it is connected now.
        online: bool,
        /// Unix ms of the change.
        at_ms: i64,
    },
    /// Samples a node sent, once stored.
    Metrics {
        /// The node.
        node: String,
        /// The samples.
        samples: Vec<Sample>,
    },
    /// A node's busiest processes.
    Processes {
        /// The node.
        node: String,
        /// The processes.
        top: TopProcesses,
    },
    /// Progress of a deployment on one node.
    Deploy {
        /// The project.
        project: String,
        /// The node.
        node: String,
        /// The server-side rollout this belongs to.
        rollout: String,
        /// What happened.
        event: DeployEvent,
    },
    /// A rollout ended (on every node).
    RolloutFinished {
        /// The project.
        project: String,
        /// The rollout.
        rollout: String,
        /// Whether every node ended serving the new release.
        succeeded: bool,
        /// Why not, if not.
        reason: Option<String>,
    },
}

impl ServerEvent {
    /// The project the event is about, if any.
    pub fn project(&self) -> Option<&str> {
        match self {
            ServerEvent::Deploy { project, .. } | ServerEvent::RolloutFinished { project, .. } => {
                Some(project)
            }
            _ => None,
        }
    }

    /// The node the event is about, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            ServerEvent::NodeStatus { node, .. }
            | ServerEvent::Metrics { node, .. }
            | ServerEvent::Processes { node, .. }
            | ServerEvent::Deploy { node, .. } => Some(node),
            ServerEvent::RolloutFinished { .. } => None,
        }
    }
}

/// Fan-out of [`ServerEvent`]s to any number of subscribers. Publishing
/// never blocks; a subscriber that falls behind by more than the capacity
/// misses the oldest events (and is told how many).
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<ServerEvent>>,
}

impl EventBus {
    /// A bus keeping up to `capacity` events per slow subscriber.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        EventBus { sender }
    }

    /// Sends an event to every current subscriber.
    pub fn publish(&self, event: ServerEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Arc::new(event));
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ServerEvent>> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_published_after_they_subscribed() {
        let bus = EventBus::new(4);
        bus.publish(ServerEvent::NodeStatus {
            node: "early".into(),
            online: true,
            at_ms: 1,
        });
        let mut rx = bus.subscribe();
        bus.publish(ServerEvent::NodeStatus {
            node: "web-1".into(),
            online: false,
            at_ms: 2,
        });
        let event = rx.recv().await.unwrap();
        assert_eq!(event.node(), Some("web-1"));
        let json = serde_json::to_value(&*event).unwrap();
        assert_eq!(json["type"], "node_status");
        assert_eq!(json["online"], false);
    }
}

//! Messages of the live event WebSocket (`GET /api/v1/ws`).
//!
//! The client sends a [`Subscription`] (again at any time to change it);
//! the server answers with [`WsNotice::Subscribed`] and then sends every
//! matching `ServerEvent` as JSON (`{"type": "node_status" | "metrics" |
//! "processes" | "deploy" | "rollout_finished", ...}`), plus notices.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::ServerEvent;

/// What a WebSocket client wants to receive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    /// Kinds of events.
    pub topics: Vec<Topic>,
    /// Only events about this project (events about no project still pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Only events about this node (events about no node still pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// A kind of live event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Metric samples and top processes of nodes.
    Metrics,
    /// Nodes connecting and disconnecting.
    Nodes,
    /// Deployment progress and finished rollouts.
    Deploys,
}

impl Subscription {
    /// Whether `event` is one this subscription asks for.
    pub fn wants(&self, event: &ServerEvent) -> bool {
        let topic = match event {
            ServerEvent::Metrics { .. } | ServerEvent::Processes { .. } => Topic::Metrics,
            ServerEvent::NodeStatus { .. } => Topic::Nodes,
            ServerEvent::Deploy { .. } | ServerEvent::RolloutFinished { .. } => Topic::Deploys,
        };
        self.topics.contains(&topic)
            && filter_passes(self.project.as_deref(), event.project())
            && filter_passes(self.node.as_deref(), event.node())
    }
}

/// A filter passes events about the wanted thing and events about no such thing.
fn filter_passes(wanted: Option<&str>, about: Option<&str>) -> bool {
    match (wanted, about) {
        (Some(wanted), Some(about)) => wanted == about,
        _ => true,
    }
}

/// Messages of the server about the socket itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WsNotice {
    /// The subscription now in force.
    Subscribed {
        /// It.
        subscription: Subscription,
    },
    /// The client fell behind and missed events.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A message from the client was not understood; the socket stays open.
    Error {
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_filter_by_topic_project_and_node() {
        let status = ServerEvent::NodeStatus {
            node: "web-1".into(),
            online: true,
            at_ms: 1,
        };
        let finished = ServerEvent::RolloutFinished {
            project: "shop".into(),
            rollout: "r1".into(),
            succeeded: true,
            reason: None,
        };
        let nodes_only = Subscription {
            topics: vec![Topic::Nodes],
            ..Subscription::default()
        };
        assert!(nodes_only.wants(&status));
        assert!(!nodes_only.wants(&finished));

        let other_node = Subscription {
            topics: vec![Topic::Nodes, Topic::Deploys],
            node: Some("web-2".into()),
            project: Some("shop".into()),
        };
        assert!(!other_node.wants(&status));
        assert!(other_node.wants(&finished));

        let other_project = Subscription {
            topics: vec![Topic::Deploys],
            project: Some("blog".into()),
            node: None,
        };
        assert!(!other_project.wants(&finished));
    }
}

//! [`Client::wait_rollout`]: a rollout followed live to its end.

use std::time::Duration;

use super::Client;
use super::error::Result;
use super::events::{EventStream, LiveMessage};
use crate::api::types::{Rollout, RolloutStatus, Subscription, Topic};
use crate::events::ServerEvent;

/// How often a followed rollout is also polled, in case an event was missed.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long one long poll waits on the server once the WebSocket is gone.
const LONG_POLL: Duration = Duration::from_secs(30);

impl Client {
    /// Follows rollout `id` until it ends and returns its final state.
    ///
    /// Progress comes live through the event WebSocket, subscribed to the
    /// deploys of the rollout's project: every [`ServerEvent::Deploy`] of
    /// this rollout, and its [`ServerEvent::RolloutFinished`], is handed to
    /// `on_event`. The rollout is also polled (`GET /rollouts/{id}`), so a
    /// missed event or a broken socket only makes the progress coarser,
    /// never the wait endless.
    pub async fn wait_rollout(
        &self,
        id: &str,
        mut on_event: impl FnMut(&ServerEvent) + Send,
    ) -> Result<Rollout> {
        let first = self.rollout(id).await?;
        if first.status != RolloutStatus::Running {
            return Ok(first);
        }
        let subscription = Subscription {
            topics: vec![Topic::Deploys],
            project: Some(first.project.clone()),
            node: None,
        };
        let stream = match self.events(&subscription).await {
            Ok(stream) => Some(stream),
            Err(e) => {
                tracing::warn!(error = %e, "no live progress; polling the rollout instead");
                None
            }
        };
        // The rollout may have ended before the subscription took effect.
        let current = self.rollout(id).await?;
        if current.status != RolloutStatus::Running {
            return Ok(current);
        }
        if let Some(stream) = stream {
            if let Some(done) = self.follow_live(stream, id, &mut on_event).await? {
                return Ok(done);
            }
            tracing::warn!("the live connection closed; polling the rollout instead");
        }
        loop {
            let now = self.rollout_after(id, LONG_POLL).await?;
            if now.status != RolloutStatus::Running {
                return Ok(now);
            }
        }
    }

    /// Reads live events until the rollout ended (its final state) or the
    /// socket closed (`None`).
    async fn follow_live(
        &self,
        mut stream: EventStream,
        id: &str,
        on_event: &mut (impl FnMut(&ServerEvent) + Send),
    ) -> Result<Option<Rollout>> {
        let start = tokio::time::Instant::now() + POLL_INTERVAL;
        let mut poll = tokio::time::interval_at(start, POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                message = stream.next() => message,
                _ = poll.tick() => {
                    let now = self.rollout(id).await?;
                    if now.status != RolloutStatus::Running {
                        return Ok(Some(now));
                    }
                    continue;
                }
            };
            let message = match message {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the live connection broke");
                    return Ok(None);
                }
                None => return Ok(None),
            };
            match message {
                LiveMessage::Event(event) if belongs_to(&event, id) => {
                    on_event(&event);
                    if matches!(event, ServerEvent::RolloutFinished { .. }) {
                        stream.close().await;
                        return self.final_rollout(id).await.map(Some);
                    }
                }
                LiveMessage::Lagged { .. } => {
                    let now = self.rollout(id).await?;
                    if now.status != RolloutStatus::Running {
                        return Ok(Some(now));
                    }
                }
                LiveMessage::Event(_) => {}
            }
        }
    }

    /// The rollout after its end was announced (the server may take a
    /// moment to publish the final snapshot).
    async fn final_rollout(&self, id: &str) -> Result<Rollout> {
        let now = self.rollout(id).await?;
        if now.status != RolloutStatus::Running {
            return Ok(now);
        }
        self.rollout_after(id, LONG_POLL).await
    }
}

/// Whether `event` is progress or the end of rollout `id`.
fn belongs_to(event: &ServerEvent, id: &str) -> bool {
    match event {
        ServerEvent::Deploy { rollout, .. } | ServerEvent::RolloutFinished { rollout, .. } => {
            rollout == id
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::events::parse;

    #[test]
    fn only_events_of_the_followed_rollout_count() {
        let deploy = r#"{"type":"deploy","project":"shop","node":"web-1","rollout":"r1",
            "event":{"event":"step_started","deployment":"d1","project":"shop","step":"build"}}"#;
        let Some(LiveMessage::Event(event)) = parse(deploy) else {
            panic!("a deploy event");
        };
        assert!(belongs_to(&event, "r1"));
        assert!(!belongs_to(&event, "r2"));
        let status = ServerEvent::NodeStatus {
            node: "web-1".into(),
            online: true,
            at_ms: 1,
        };
        assert!(!belongs_to(&status, "r1"));
    }
}

//! Live events over the WebSocket `GET /api/v1/ws`: [`Client::events`]
//! and the [`EventStream`] it returns.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

use super::Client;
use super::error::{ClientError, Result};
use super::socket::Socket;
use crate::api::types::Subscription;
use crate::events::ServerEvent;

/// How long the server may take to confirm a subscription.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One message of the event socket.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveMessage {
    /// Something happened on the server.
    Event(ServerEvent),
    /// The client fell behind and the server dropped this many events;
    /// re-read whatever state matters.
    Lagged {
        /// How many events were missed.
        missed: u64,
    },
}

/// The live events of a subscription. Dropping it closes the socket.
pub struct EventStream {
    socket: Socket,
    url: String,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the event WebSocket and subscribes; returns once the server
    /// confirmed the subscription, so no event published afterwards is missed.
    pub async fn events(&self, subscription: &Subscription) -> Result<EventStream> {
        let (mut socket, url) = self.open_socket(self.api_url(&["ws"])).await?;
        let text = serde_json::to_string(subscription).map_err(|e| ClientError::BadMessage {
            reason: format!("cannot encode the subscription: {e}"),
        })?;
        socket
            .send(Message::text(text))
            .await
            .map_err(|e| ClientError::websocket(&url, e))?;
        let confirmed = async {
            while let Some(message) = socket.next().await {
                let message = message.map_err(|e| ClientError::websocket(&url, e))?;
                let Message::Text(text) = message else {
                    continue;
                };
                match serde_json::from_str::<Incoming>(&text) {
                    Ok(Incoming::Control(Control::Subscribed {})) => return Ok(()),
                    Ok(Incoming::Control(Control::Error { message })) => {
                        return Err(ClientError::BadMessage {
                            reason: format!("the server refused the subscription: {message}"),
                        });
                    }
                    _ => continue,
                }
            }
            Err(ClientError::BadMessage {
                reason: "the server closed the socket before confirming the subscription"
                    .to_string(),
            })
        };
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, confirmed).await {
            Ok(Ok(())) => Ok(EventStream { socket, url }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ClientError::BadMessage {
                reason: format!(
                    "no subscription confirmation within {} s",
                    SUBSCRIBE_TIMEOUT.as_secs()
                ),
            }),
        }
    }
}

impl EventStream {
    /// The next event; `None` once the server closed the socket. Messages
    /// this client version does not know are skipped.
    pub async fn next(&mut self) -> Option<Result<LiveMessage>> {
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(ClientError::websocket(&self.url, e))),
            };
            let text = match message {
                Message::Text(text) => text,
                Message::Close(_) => return None,
                _ => continue,
            };
            match serde_json::from_str::<Incoming>(&text) {
                Ok(incoming) => {
                    if let Some(message) = incoming.into_message() {
                        return Some(Ok(message));
                    }
                }
                Err(e) => tracing::debug!(error = %e, "skipped a live message not understood"),
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        // The server may be gone already; nothing is left to do then.
        let _ = self.socket.close(None).await;
    }
}

/// What the server says about the subscription itself.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Subscribed {},
    Lagged { missed: u64 },
    Error { message: String },
}

/// Every message of the event socket, as JSON has it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Incoming {
    Control(Control),
    Event(ServerEvent),
    /// A message of a newer server; skipped.
    Unknown(serde::de::IgnoredAny),
}

impl Incoming {
    fn into_message(self) -> Option<LiveMessage> {
        match self {
            Incoming::Event(event) => Some(LiveMessage::Event(event)),
            Incoming::Control(Control::Lagged { missed }) => Some(LiveMessage::Lagged { missed }),
            Incoming::Control(Control::Error { message }) => {
                tracing::warn!(%message, "the event socket reported a problem");
                None
            }
            Incoming::Control(Control::Subscribed {}) | Incoming::Unknown(_) => None,
        }
    }
}

/// Reads one message as the event stream would.
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Option<LiveMessage> {
    serde_json::from_str::<Incoming>(text)
        .ok()
        .and_then(Incoming::into_message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::TopProcesses;
    use pilot_core::engine::{DeployEvent, DeployEventKind};

    #[test]
    fn every_server_event_reads_back() {
        let events = [
            ServerEvent::NodeStatus {
                node: "web-1".into(),
                online: true,
                at_ms: 5,
            },
            ServerEvent::Deploy {
                project: "shop".into(),
                node: "web-1".into(),
                rollout: "r1".into(),
                event: DeployEvent {
                    deployment: "d1".into(),
                    project: "shop".into(),
                    kind: DeployEventKind::Switched { generation: 4 },
                },
            },
            ServerEvent::RolloutFinished {
                project: "shop".into(),
                rollout: "r1".into(),
                succeeded: false,
                reason: Some("web-1 failed".into()),
            },
            ServerEvent::Processes {
                node: "web-1".into(),
                top: TopProcesses::default(),
            },
        ];
        for event in events {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(parse(&text), Some(LiveMessage::Event(event)));
        }
        assert_eq!(
            parse(r#"{"type":"lagged","missed":3}"#),
            Some(LiveMessage::Lagged { missed: 3 })
        );
        assert_eq!(
            parse(r#"{"type":"subscribed","subscription":{"topics":[]}}"#),
            None
        );
        assert_eq!(parse(r#"{"type":"something_new","x":1}"#), None);
        assert_eq!(parse("not json"), None);
    }
}

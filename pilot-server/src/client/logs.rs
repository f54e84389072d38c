//! Log lines of a project's services: the last lines, or a live follow.

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use super::Client;
use super::error::{ClientError, Result};
use super::transport::pairs;
use crate::api::types::{LogBatch, LogsResponse};

impl Client {
    /// The last `lines` lines of the project's services on each node
    /// (`GET /projects/{name}/logs`), secrets masked.
    pub async fn logs(&self, project: &str, lines: Option<u32>) -> Result<LogsResponse> {
        let query = pairs([("lines", lines.map(|n| n.to_string()))]);
        self.get(self.api_url(&["projects", project, "logs"]), &query)
            .await
    }

    /// Follows the project's logs live over the WebSocket
    /// `GET /projects/{name}/logs/ws`: the last `lines` lines of every
    /// node, then new ones as they come, each batch handed to `on_batch`.
    /// A node whose stream ended sends a batch with `done`. Returns when the
    /// server closes the socket; drop the future to stop following.
    pub async fn follow_logs(
        &self,
        project: &str,
        lines: u32,
        mut on_batch: impl FnMut(&LogBatch) + Send,
    ) -> Result<()> {
        let mut url = self.api_url(&["projects", project, "logs", "ws"]);
        url.query_pairs_mut()
            .append_pair("lines", &lines.to_string())
            .append_pair("follow", "true");
        let (mut socket, ws_url) = self.open_socket(url).await?;
        while let Some(message) = socket.next().await {
            let message = message.map_err(|e| ClientError::websocket(&ws_url, e))?;
            let text = match message {
                Message::Text(text) => text,
                Message::Close(_) => break,
                _ => continue,
            };
            let batch: LogBatch =
                serde_json::from_str(&text).map_err(|e| ClientError::BadMessage {
                    reason: e.to_string(),
                })?;
            on_batch(&batch);
        }
        Ok(())
    }
}

//! Logs of a project's live release: the last lines as one chunk, then, when
//! following, new lines as they are written until the server cancels the
//! command or the link drops.

use std::time::Duration;

use pilot_core::engine::service_name;
use pilot_core::protocol::{AgentMessage, CommandId, CommandOutcome};
use pilot_core::service::LogFollow;
use tokio_util::sync::CancellationToken;

use super::Dispatcher;

/// Most lines sent in one chunk while following.
const MAX_CHUNK_LINES: usize = 500;
/// How often a follow looks for a live release when there is none (after a
/// removal, or between the retirement of one release and the next).
const RELEASE_POLL: Duration = Duration::from_millis(250);

/// What a logs command asks for.
pub(crate) struct LogsOrder {
    /// The project.
    pub project: String,
    /// How many past lines to send.
    pub lines: u32,
    /// Keep sending new lines.
    pub follow: bool,
}

impl Dispatcher {
    /// Sends the last lines, then follows if asked until `cancel` or `lost`.
    pub(super) async fn logs(
        &self,
        id: CommandId,
        order: LogsOrder,
        cancel: &CancellationToken,
        lost: &CancellationToken,
    ) -> CommandOutcome {
        // Subscribe before reading the tail so no line falls in between.
        let mut follow = match order.follow {
            true => self.follow_live(&order.project).await,
            false => None,
        };
        let tail = match self.engine.logs(&order.project, order.lines as usize).await {
            Ok(lines) => lines,
            Err(error) => {
                return CommandOutcome::Failed {
                    error: error.to_string(),
                };
            }
        };
        self.outbox.push(AgentMessage::LogChunk {
            command_id: id,
            lines: tail,
        });
        if order.follow {
            tokio::select! {
                () = self.forward(id, &order.project, &mut follow) => {}
                () = cancel.cancelled() => {}
                () = lost.cancelled() => {}
            }
        }
        CommandOutcome::Succeeded {
            deployment: None,
            generation: None,
        }
    }

    /// Forwards new lines in chunks, following whichever release is live.
    async fn forward(&self, id: CommandId, project: &str, follow: &mut Option<LogFollow>) {
        loop {
            let Some(lines) = follow.as_mut() else {
                tokio::time::sleep(RELEASE_POLL).await;
                *follow = self.follow_live(project).await;
                continue;
            };
            match lines.recv().await {
                Some(first) => {
                    let mut chunk = vec![first];
                    while chunk.len() < MAX_CHUNK_LINES {
                        match lines.try_recv() {
                            Ok(line) => chunk.push(line),
                            Err(_) => break,
                        }
                    }
                    self.outbox.push(AgentMessage::LogChunk {
                        command_id: id,
                        lines: chunk,
                    });
                }
                // The release was retired or removed; pick up the next one.
                None => *follow = None,
            }
        }
    }

    /// New lines of the project's live release, if it has one.
    async fn follow_live(&self, project: &str) -> Option<LogFollow> {
        let live = self.engine.project(project).ok()?.live?;
        let service = service_name(project, live.generation);
        match self.engine.parts().services.follow(&service).await {
            Ok(follow) => Some(follow),
            Err(error) => {
                tracing::debug!(project, %error, "cannot follow the live release's log yet");
                None
            }
        }
    }
}

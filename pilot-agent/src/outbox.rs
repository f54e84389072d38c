//! Messages about commands (progress, log chunks, journals, results) waiting
//! for the link. Commands keep running while the link is down; what they
//! report waits here and goes out, in order, once a connection is welcomed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use pilot_core::engine::{DeployEvent, DeployEventKind};
use pilot_core::protocol::AgentMessage;
use tokio::sync::Notify;

use crate::status::{Counters, lock};

/// How many output lines (build output, log chunks) wait at most; journals,
/// results and step events always wait.
pub(crate) const MAX_QUEUED_OUTPUT: usize = 10_000;

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<AgentMessage>,
    /// How many of `messages` are output lines.
    output: usize,
}

/// The queue of command messages (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    max_output: usize,
    pushed: Notify,
    counters: Arc<Counters>,
}

impl Outbox {
    /// An empty outbox keeping at most `max_output` output lines.
    pub fn new(max_output: usize, counters: Arc<Counters>) -> Self {
        Outbox {
            queue: Mutex::new(Queue::default()),
            max_output,
            pushed: Notify::new(),
            counters,
        }
    }

    /// Queues a message. An output line beyond the bound is dropped and
    /// counted (the newest go, so what is queued stays in order).
    pub fn push(&self, message: AgentMessage) {
        let output = is_output(&message);
        {
            let mut queue = lock(&self.queue);
            if output {
                if queue.output >= self.max_output {
                    self.counters
                        .messages_dropped
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
                queue.output += 1;
            }
            queue.messages.push_back(message);
        }
        self.pushed.notify_one();
    }

    /// The oldest waiting message, left in place until [`Outbox::pop`].
    pub fn front(&self) -> Option<AgentMessage> {
        lock(&self.queue).messages.front().cloned()
    }

    /// Removes the oldest message once it was written.
    pub fn pop(&self) {
        let mut queue = lock(&self.queue);
        if let Some(message) = queue.messages.pop_front()
            && is_output(&message)
        {
            queue.output -= 1;
        }
    }

    /// How many messages wait.
    pub fn len(&self) -> usize {
        lock(&self.queue).messages.len()
    }

    /// Completes after the next push, or at once if one happened since the
    /// last wait ended. Meant for one waiter at a time (the link's writer).
    pub async fn pushed(&self) {
        self.pushed.notified().await;
    }
}

/// Whether a message is an output line, which may be dropped when too many wait.
fn is_output(message: &AgentMessage) -> bool {
    matches!(
        message,
        AgentMessage::LogChunk { .. }
            | AgentMessage::Progress {
                event: DeployEvent {
                    kind: DeployEventKind::Log { .. },
                    ..
                },
                ..
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::output::Stream;
    use pilot_core::protocol::{CommandId, CommandOutcome};

    fn line(n: u64) -> AgentMessage {
        AgentMessage::LogChunk {
            command_id: CommandId(n),
            lines: vec![format!("line {n}")],
        }
    }

    #[test]
    fn output_beyond_the_bound_is_dropped_but_results_always_wait() {
        let counters = Arc::new(Counters::default());
        let outbox = Outbox::new(2, counters.clone());
        outbox.push(line(1));
        outbox.push(AgentMessage::Progress {
            command_id: CommandId(1),
            event: DeployEvent {
                deployment: "d".into(),
                project: "p".into(),
                kind: DeployEventKind::Log {
                    stream: Stream::Stdout,
                    line: "x".into(),
                },
            },
        });
        outbox.push(line(3));
        let result = AgentMessage::Result {
            command_id: CommandId(1),
            outcome: CommandOutcome::Succeeded {
                deployment: None,
                generation: None,
            },
        };
        outbox.push(result.clone());
        assert_eq!(outbox.len(), 3);
        assert_eq!(counters.messages_dropped.load(Ordering::Relaxed), 1);
        assert_eq!(outbox.front(), Some(line(1)));
        outbox.pop();
        outbox.push(line(4));
        outbox.pop();
        assert_eq!(outbox.front(), Some(result));
        outbox.pop();
        assert_eq!(outbox.front(), Some(line(4)));
    }
}

//! Running the server's commands through the node's deploy engine.
//!
//! Each command runs on its own task, so the link keeps reading while a
//! build takes minutes. Commands on one project run one after another (logs
//! excepted, which only read); what they report goes through the outbox, so
//! a command that outlives its connection still delivers its journal and
//! result once the agent is back. A deploy carrying secrets is refused
//! unless the link may carry them ([`link_allows_secrets`]).

mod control;
mod deploy;
mod logs;
mod progress;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use pilot_core::Engine;
use pilot_core::protocol::{AgentMessage, Command, CommandId, CommandOutcome, link_allows_secrets};
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub(crate) use self::progress::ProgressRoutes;

use self::control::Control;
use self::deploy::DeployOrder;
use self::logs::LogsOrder;
use crate::outbox::Outbox;
use crate::status::{Counters, lock};

/// The connection a command arrived on.
#[derive(Debug, Clone)]
pub(crate) struct LinkInfo {
    /// The server's address.
    pub peer: SocketAddr,
    /// Whether the connection is encrypted.
    pub tls: bool,
    /// Cancelled when the connection drops (ends log follows).
    pub lost: CancellationToken,
}

/// Starts commands and tracks the running ones.
pub(crate) struct Dispatcher {
    engine: Arc<Engine>,
    outbox: Arc<Outbox>,
    progress: Arc<ProgressRoutes>,
    counters: Arc<Counters>,
    uploads_dir: PathBuf,
    projects: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cancels: Mutex<HashMap<CommandId, CancellationToken>>,
    tasks: Mutex<JoinSet<()>>,
}

impl Dispatcher {
    /// A dispatcher running commands on `engine`; uploaded archives are
    /// written to `uploads_dir` while they are deployed.
    pub fn new(
        engine: Arc<Engine>,
        outbox: Arc<Outbox>,
        progress: Arc<ProgressRoutes>,
        counters: Arc<Counters>,
        uploads_dir: PathBuf,
    ) -> Self {
        Dispatcher {
            engine,
            outbox,
            progress,
            counters,
            uploads_dir,
            projects: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Starts `command` on its own task; its result goes to the outbox.
    pub fn start(self: &Arc<Self>, id: CommandId, command: Command, link: LinkInfo) {
        if let Some(outcome) = refusal(&command, link.peer, link.tls) {
            tracing::warn!(command = %id, project = command.project(), peer = %link.peer,
                "refused a deploy carrying secrets over a clear-text link");
            self.outbox.push(AgentMessage::Result {
                command_id: id,
                outcome,
            });
            return;
        }
        let cancel = CancellationToken::new();
        lock(&self.cancels).insert(id, cancel.clone());
        let this = self.clone();
        let task = async move {
            let _running = RunningCommand::count(&this.counters);
            let project = command.project().to_owned();
            tracing::info!(command = %id, project, kind = kind(&command), "command started");
            let run = AssertUnwindSafe(this.run(id, command, &link, &cancel)).catch_unwind();
            let outcome = run.await.unwrap_or_else(|_| CommandOutcome::Failed {
                error: "the agent's task for this command panicked; this is a bug in Pilot, \
                        please report it with the agent's log"
                    .to_owned(),
            });
            tracing::info!(command = %id, project, ?outcome, "command finished");
            this.outbox.push(AgentMessage::Result {
                command_id: id,
                outcome,
            });
            lock(&this.cancels).remove(&id);
        };
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Cancels a running command (a log follow ends; other commands finish
    /// what they do, a half-done deploy being worse than a finished one).
    pub fn cancel(&self, id: CommandId) {
        match lock(&self.cancels).get(&id) {
            Some(token) => token.cancel(),
            None => tracing::debug!(command = %id, "cancel for a command that is not running"),
        }
    }

    /// Aborts every running command and waits for their tasks to end. An
    /// interrupted deploy is reverted by the engine's recovery at the next start.
    pub async fn shutdown(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        tasks.shutdown().await;
    }

    /// Runs one command to its outcome.
    async fn run(
        &self,
        id: CommandId,
        command: Command,
        link: &LinkInfo,
        cancel: &CancellationToken,
    ) -> CommandOutcome {
        match command {
            Command::Logs {
                project,
                lines,
                follow,
            } => {
                let order = LogsOrder {
                    project,
                    lines,
                    follow,
                };
                self.logs(id, order, cancel, &link.lost).await
            }
            Command::Deploy {
                project,
                source,
                config,
                archive,
                public_port,
                secrets,
            } => {
                let _turn = self.turn(&project).await;
                let order = DeployOrder {
                    project,
                    source,
                    config,
                    archive,
                    public_port,
                    secrets,
                };
                self.deploy(id, order).await
            }
            Command::Rollback {
                project,
                generation,
            } => {
                let _turn = self.turn(&project).await;
                self.rollback(id, &project, generation).await
            }
            Command::Start { project } => {
                let _turn = self.turn(&project).await;
                self.control(&project, Control::Start).await
            }
            Command::Stop { project } => {
                let _turn = self.turn(&project).await;
                self.control(&project, Control::Stop).await
            }
            Command::Restart { project } => {
                let _turn = self.turn(&project).await;
                self.control(&project, Control::Restart).await
            }
            Command::Remove { project } => {
                let _turn = self.turn(&project).await;
                self.remove(&project).await
            }
        }
    }

    /// Waits for the turn of `project`: its commands that change something
    /// run one after another.
    async fn turn(&self, project: &str) -> OwnedMutexGuard<()> {
        let project_lock = lock(&self.projects)
            .entry(project.to_owned())
            .or_default()
            .clone();
        project_lock.lock_owned().await
    }
}

/// Counts a command as running for as long as it lives (an aborted
/// command's task drops it too).
struct RunningCommand(Arc<Counters>);

impl RunningCommand {
    fn count(counters: &Arc<Counters>) -> Self {
        counters.commands_running.fetch_add(1, Ordering::Relaxed);
        RunningCommand(counters.clone())
    }
}

impl Drop for RunningCommand {
    fn drop(&mut self) {
        self.0.commands_running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The refusal of a command that carries secrets over a link that may not
/// carry them: a clear-text connection to a server that is not on this machine.
pub(crate) fn refusal(command: &Command, peer: SocketAddr, tls: bool) -> Option<CommandOutcome> {
    (command.carries_secrets() && !link_allows_secrets(peer, tls)).then(|| {
        CommandOutcome::Refused {
            reason: format!(
                "the deploy of {} carries secrets but the link to the server ({peer}) is not \
                 encrypted; enable TLS on the agent link (start the agent with --tls-fingerprint) \
                 or deploy without secrets",
                command.project()
            ),
        }
    })
}

/// A command's kind, for logs (never its content: it may carry secrets).
fn kind(command: &Command) -> &'static str {
    match command {
        Command::Deploy { .. } => "deploy",
        Command::Rollback { .. } => "rollback",
        Command::Start { .. } => "start",
        Command::Stop { .. } => "stop",
        Command::Restart { .. } => "restart",
        Command::Logs { .. } => "logs",
        Command::Remove { .. } => "remove",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::SecretValue;
    use pilot_core::protocol::DeploySecrets;
    use pilot_core::source::SourceSpec;

    fn deploy(with_secret: bool) -> Command {
        let mut secrets = DeploySecrets::new();
        if with_secret {
            secrets.insert("API_KEY", SecretValue::new("s3cr3t-value"));
        }
        Command::Deploy {
            project: "shop".into(),
            source: SourceSpec::Dir {
                path: "/app".into(),
            },
            config: None,
            archive: None,
            public_port: None,
            secrets,
        }
    }

    #[test]
    fn secrets_over_a_clear_remote_link_are_refused_with_a_reason() {
        let remote: SocketAddr = "203.0.113.7:55001".parse().unwrap();
        let Some(CommandOutcome::Refused { reason }) = refusal(&deploy(true), remote, false) else {
            panic!("a deploy with secrets over clear text to {remote} must be refused");
        };
        assert!(reason.contains("enable TLS"), "{reason}");
        assert!(reason.contains("shop"), "{reason}");
        assert!(!reason.contains("s3cr3t-value"), "{reason}");
    }

    #[test]
    fn secrets_pass_over_tls_or_loopback_and_plain_deploys_pass_anywhere() {
        let remote: SocketAddr = "203.0.113.7:55001".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:55001".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:55001".parse().unwrap();
        assert_eq!(refusal(&deploy(true), remote, true), None);
        assert_eq!(refusal(&deploy(true), loopback, false), None);
        assert_eq!(refusal(&deploy(true), mapped, false), None);
        assert_eq!(refusal(&deploy(false), remote, false), None);
    }
}

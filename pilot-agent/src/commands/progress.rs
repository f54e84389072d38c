//! The engine's [`EventSink`]: each deploy event goes to the server as
//! progress of the command deploying that project. The engine runs one
//! deployment per project at a time, so the project names the command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pilot_core::engine::{DeployEvent, EventSink};
use pilot_core::protocol::{AgentMessage, CommandId};

use crate::outbox::Outbox;
use crate::status::lock;

/// Routes deploy events to the command that runs the project's deployment.
#[derive(Debug)]
pub(crate) struct ProgressRoutes {
    routes: Mutex<HashMap<String, CommandId>>,
    outbox: Arc<Outbox>,
}

impl ProgressRoutes {
    /// No routes yet; events will be queued in `outbox`.
    pub fn new(outbox: Arc<Outbox>) -> Self {
        ProgressRoutes {
            routes: Mutex::new(HashMap::new()),
            outbox,
        }
    }

    /// Sends the events of `project` as progress of `command` until the
    /// returned guard is dropped.
    pub fn route(self: &Arc<Self>, project: &str, command: CommandId) -> RouteGuard {
        lock(&self.routes).insert(project.to_owned(), command);
        RouteGuard {
            routes: self.clone(),
            project: project.to_owned(),
        }
    }
}

impl EventSink for ProgressRoutes {
    fn emit(&self, event: &DeployEvent) {
        let command = lock(&self.routes).get(event.project.as_str()).copied();
        match command {
            Some(command_id) => self.outbox.push(AgentMessage::Progress {
                command_id,
                event: event.clone(),
            }),
            // Recovery at start-up deploys nothing on anyone's behalf.
            None => tracing::debug!(
                project = event.project.as_str(),
                "deploy event without a command"
            ),
        }
    }
}

/// Removes a project's route when dropped.
#[derive(Debug)]
pub(crate) struct RouteGuard {
    routes: Arc<ProgressRoutes>,
    project: String,
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        lock(&self.routes.routes).remove(&self.project);
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Counters;
    use pilot_core::engine::DeployEventKind;

    fn switched(project: &str) -> DeployEvent {
        DeployEvent {
            deployment: "d".into(),
            project: project.into(),
            kind: DeployEventKind::Switched { generation: 1 },
        }
    }

    #[test]
    fn events_reach_the_command_of_their_project_while_routed() {
        let outbox = Arc::new(Outbox::new(10, Arc::new(Counters::default())));
        let routes = Arc::new(ProgressRoutes::new(outbox.clone()));
        let guard = routes.route("shop", CommandId(7));
        routes.emit(&switched("blog"));
        routes.emit(&switched("shop"));
        drop(guard);
        routes.emit(&switched("shop"));
        assert_eq!(outbox.len(), 1);
        assert_eq!(
            outbox.front(),
            Some(AgentMessage::Progress {
                command_id: CommandId(7),
                event: switched("shop"),
            })
        );
    }
}

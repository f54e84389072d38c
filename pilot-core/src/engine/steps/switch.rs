//! Switch: the public port goes to the new release, `current` follows.

use std::net::SocketAddr;

use super::super::events::{DeployEvent, DeployEventKind};
use super::super::execution::Execution;
use super::super::project::{Generation, Slot};
use super::super::state::{DeploymentKind, StepKind};
use super::point_current;
use crate::error::{Error, Result};
use crate::router::Route;
use crate::time::now_ms;

impl Execution<'_> {
    pub(in crate::engine) async fn switch(&mut self) -> Result<()> {
        let port = self.record.port.ok_or_else(|| Error::CorruptState {
            path: self.engine.layout().deployments_dir(self.project()),
            reason: "switch before the release had a port".into(),
        })?;
        let public_port = self
            .record
            .public_port
            .or(self.state.public_port)
            .ok_or_else(|| Error::CorruptState {
                path: self.engine.layout().state_file(self.project()),
                reason: "the project has no public port".into(),
            })?;
        self.route_to(public_port, port).await?;
        let generation = self.record.generation;
        self.emit(DeployEvent {
            deployment: self.record.id.clone(),
            project: self.project().to_string(),
            kind: DeployEventKind::Switched { generation },
        });
        let version = self.record.version.clone().unwrap_or_default();
        point_current(self, generation, &version)?;
        if matches!(self.record.kind, DeploymentKind::Deploy { .. })
            && self.state.generation(generation).is_none()
        {
            self.state.generations.push(Generation {
                number: generation,
                version,
                commit: self.record.commit.clone(),
                deployment: self.record.id.clone(),
                created_ms: now_ms(),
            });
        }
        self.state.public_port = Some(public_port);
        self.state.live = Some(Slot { generation, port });
        if self
            .state
            .standby
            .is_some_and(|s| s.generation == generation)
        {
            self.state.standby = None;
        }
        self.state.save(self.engine.layout())?;
        self.log.note(&format!(
            "traffic on port {public_port} now goes to generation {generation}"
        ));
        self.fault_point(StepKind::Switch).await;
        Ok(())
    }

    pub(in crate::engine) async fn route_to(&self, public_port: u16, port: u16) -> Result<()> {
        let options = &self.engine.options;
        self.engine
            .parts
            .router
            .set_route(&Route {
                project: self.project().to_string(),
                public: SocketAddr::new(options.public_ip, public_port),
                upstream: SocketAddr::new(options.slot_ip, port),
            })
            .await
    }

    pub(in crate::engine) async fn revert_switch(&mut self) -> Result<()> {
        let generation = self.record.generation;
        match self.record.previous {
            Some(previous) => {
                if let Some(public_port) = self.state.public_port.or(self.record.public_port) {
                    self.route_to(public_port, previous.port).await?;
                    self.emit(DeployEvent {
                        deployment: self.record.id.clone(),
                        project: self.project().to_string(),
                        kind: DeployEventKind::Switched {
                            generation: previous.generation,
                        },
                    });
                }
                if let Some(g) = self.state.generation(previous.generation).cloned() {
                    point_current(self, g.number, &g.version)?;
                }
                self.state.live = Some(previous);
                if self.state.standby == Some(previous) {
                    self.state.standby = None;
                }
            }
            None => {
                self.engine
                    .parts
                    .router
                    .remove_route(self.project())
                    .await?;
                let link = self.engine.layout().current_link(self.project());
                match std::fs::remove_file(&link) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("remove", link, e)),
                }
                self.state.live = None;
            }
        }
        if matches!(self.record.kind, DeploymentKind::Deploy { .. }) {
            self.state.generations.retain(|g| g.number != generation);
        }
        self.state.save(self.engine.layout())
    }
}

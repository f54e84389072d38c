//! Retire: drain and stop the previous release, prune old generations.

use std::net::SocketAddr;

use super::super::execution::Execution;
use super::super::service_name;
use super::super::state::StepKind;
use super::remove_unkept_releases;
use crate::config::Strategy;
use crate::error::Result;

impl Execution<'_> {
    pub(in crate::engine) async fn retire(&mut self) -> Result<()> {
        if self.config.is_none() {
            self.load_release()?;
        }
        let deployment = self.loaded_config()?.deployment.clone();
        let services = self.engine.parts.services.clone();
        let generation = self.record.generation;
        if let Some(previous) = self.record.previous.filter(|p| p.generation != generation) {
            let previous_name = service_name(self.project(), previous.generation);
            if self.record.port != Some(previous.port) {
                let upstream = SocketAddr::new(self.engine.options.slot_ip, previous.port);
                let report = self
                    .engine
                    .parts
                    .router
                    .drain(self.project(), upstream, deployment.drain())
                    .await?;
                self.log.note(&format!(
                    "drained generation {}: {} connections finished, {} cut",
                    previous.generation, report.finished, report.cut
                ));
            }
            if deployment.warm_standby && self.record.strategy == Strategy::BlueGreen {
                if let Some(old) = self
                    .state
                    .standby
                    .filter(|s| s.generation != previous.generation)
                {
                    services
                        .remove(&service_name(self.project(), old.generation))
                        .await?;
                }
                self.state.standby = Some(previous);
                self.log.note(&format!(
                    "generation {} kept running as standby",
                    previous.generation
                ));
            } else {
                services.remove(&previous_name).await?;
                if self
                    .state
                    .standby
                    .is_some_and(|s| s.generation == previous.generation)
                {
                    self.state.standby = None;
                }
            }
        }
        if !deployment.warm_standby
            && let Some(old) = self.state.standby.take()
        {
            services
                .remove(&service_name(self.project(), old.generation))
                .await?;
        }
        self.fault_point(StepKind::Retire).await;
        self.prune(deployment.keep_generations.max(1) as usize)
            .await?;
        self.state.save(self.engine.layout())
    }

    /// Drops the oldest generations beyond `keep` (never the live or standby
    /// one) and any release directory that is not a kept generation.
    pub(in crate::engine) async fn prune(&mut self, keep: usize) -> Result<()> {
        let live = self.state.live.map(|s| s.generation);
        let standby = self.state.standby.map(|s| s.generation);
        while self.state.generations.len() > keep {
            let Some(index) = self
                .state
                .generations
                .iter()
                .position(|g| Some(g.number) != live && Some(g.number) != standby)
            else {
                break;
            };
            let old = self.state.generations.remove(index);
            self.engine
                .parts
                .services
                .remove(&service_name(self.project(), old.number))
                .await?;
            self.log.note(&format!("pruned generation {}", old.number));
        }
        remove_unkept_releases(self.engine.layout(), &self.state)
    }
}

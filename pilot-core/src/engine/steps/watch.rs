//! Watch: the live release is checked for a while; a failure rolls back.

use std::time::Duration;

use tokio::time::Instant;

use super::super::execution::Execution;
use super::super::service_name;
use super::super::state::StepKind;
use super::running;
use crate::error::{Error, Result};
use crate::health::FailureCounter;

impl Execution<'_> {
    pub(in crate::engine) async fn watch(&mut self) -> Result<()> {
        let deployment = self.loaded_config()?.deployment.clone();
        let window = deployment.watch();
        if window.is_zero() {
            return Ok(());
        }
        self.log
            .note(&format!("watching for {:.1} s", window.as_secs_f64()));
        let probe = self.probe()?;
        let services = self.engine.parts.services.clone();
        let name = service_name(self.project(), self.record.generation);
        let deadline = Instant::now() + window;
        let interval = deployment.interval().max(Duration::from_millis(10));
        let tick = interval.min(Duration::from_millis(250));
        let mut next_check = Instant::now() + interval;
        let mut counter = FailureCounter::new(deployment.healthcheck_retries);
        let restarts_before = services
            .status(&name)
            .await
            .map(|s| s.restarts)
            .unwrap_or(0);
        while Instant::now() < deadline {
            tokio::time::sleep(tick.min(deadline.saturating_duration_since(Instant::now()))).await;
            let exited = match services.status(&name).await {
                Ok(status) if status.restarts > restarts_before => Some(format!(
                    "the process exited ({}) and was restarted",
                    status
                        .last_exit
                        .unwrap_or_else(|| "no exit recorded".into())
                )),
                _ => running(services.as_ref(), &name).await.err(),
            };
            if let Some(exited) = exited {
                return Err(Error::Unhealthy {
                    target: probe.target(),
                    reason: self.redactor.mask(&exited).into_owned(),
                });
            }
            if Instant::now() >= next_check {
                next_check = Instant::now() + interval;
                if let Some(verdict) = counter.record(probe.check().await) {
                    return Err(Error::Unhealthy {
                        target: probe.target(),
                        reason: self.redactor.mask(&verdict).into_owned(),
                    });
                }
            }
        }
        self.fault_point(StepKind::Watch).await;
        Ok(())
    }
}

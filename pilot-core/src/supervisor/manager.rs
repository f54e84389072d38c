//! [`ServiceManager`] for [`Supervisor`].

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{broadcast, mpsc};

use super::state::{self, Desired, ServiceRecord};
use super::supervised::{self, Supervised};
use super::{Supervisor, lock_map, logfile, stop};
use crate::error::{Error, Result};
use crate::service::{LogFollow, ServiceManager, ServiceSpec, ServiceState, ServiceStatus};

/// Lines queued for one follower before its forwarder waits.
const FOLLOW_QUEUE: usize = 256;

#[async_trait]
impl ServiceManager for Supervisor {
    fn name(&self) -> &'static str {
        "supervisor"
    }

    /// Registers the service, or replaces the spec of an installed one; a
    /// running service keeps running and uses the new spec from its next start.
    async fn install(&self, spec: &ServiceSpec) -> Result<()> {
        self.shared.ensure_attached()?;
        state::validate_name(&spec.name)?;
        let slot = lock_map(&self.slots)
            .entry(spec.name.clone())
            .or_insert_with(|| Supervised::new(ServiceRecord::new(spec.clone())))
            .clone();
        let mut st = slot.inner.lock().await;
        st.record.spec = spec.clone();
        self.shared.save(&st.record)
    }

    async fn start(&self, name: &str) -> Result<()> {
        let slot = self.slot(name)?;
        let mut st = slot.inner.lock().await;
        if st.instance.is_some() {
            return Ok(());
        }
        st.tracker.reset();
        st.record.desired = Desired::Running;
        match supervised::launch(&self.shared, &slot, &mut st) {
            Ok(running) => {
                supervised::watch_over(&self.shared, &slot, &mut st, running);
                Ok(())
            }
            Err(error) => {
                st.new_epoch();
                st.record.state = ServiceState::Exited {
                    reason: format!("start failed: {error}"),
                };
                self.shared.persist(&st.record);
                Err(error)
            }
        }
    }

    async fn stop(&self, name: &str) -> Result<()> {
        let slot = self.slot(name)?;
        let mut st = slot.inner.lock().await;
        stop::stop_locked(&self.shared, &slot, &mut st).await
    }

    async fn remove(&self, name: &str) -> Result<()> {
        self.shared.ensure_attached()?;
        let Some(slot) = lock_map(&self.slots).get(name).cloned() else {
            return Ok(());
        };
        let mut st = slot.inner.lock().await;
        stop::stop_locked(&self.shared, &slot, &mut st).await?;
        state::delete(&self.shared.state_dir, name)?;
        let mut slots = lock_map(&self.slots);
        if slots.get(name).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            slots.remove(name);
        }
        tracing::info!(service = name, "service removed");
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<ServiceStatus> {
        let slot = self.slot(name)?;
        let st = slot.inner.lock().await;
        Ok(st.record.status())
    }

    async fn list(&self) -> Result<Vec<ServiceStatus>> {
        self.shared.ensure_attached()?;
        let slots: Vec<Arc<Supervised>> = lock_map(&self.slots).values().cloned().collect();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            out.push(slot.inner.lock().await.record.status());
        }
        Ok(out)
    }

    /// The last `lines` lines, continuing into rotated files when the
    /// current one holds fewer.
    async fn logs(&self, name: &str, lines: usize) -> Result<Vec<String>> {
        let slot = self.slot(name)?;
        let path = slot.inner.lock().await.record.spec.log_file.clone();
        let keep = self.shared.options.log_keep;
        let read_path = path.clone();
        tokio::task::spawn_blocking(move || logfile::tail(&read_path, keep, lines))
            .await
            .map_err(|e| Error::io("read log", &path, std::io::Error::other(e)))?
            .map_err(|e| Error::io("read log", &path, e))
    }

    /// New lines as they are pumped. A follower that falls behind misses
    /// lines instead of slowing the service down; the stream ends when the
    /// service is removed or the supervisor detaches.
    async fn follow(&self, name: &str) -> Result<LogFollow> {
        let slot = self.slot(name)?;
        let mut lines = slot.followers.subscribe();
        drop(slot);
        let (tx, rx) = mpsc::channel(FOLLOW_QUEUE);
        let service = name.to_string();
        self.shared.spawn(async move {
            loop {
                tokio::select! {
                    line = lines.recv() => match line {
                        Ok(line) => {
                            if tx.send(line).await.is_err() {
                                break;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(service = %service, missed, "slow log follower missed lines");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    () = tx.closed() => break,
                }
            }
        });
        Ok(rx)
    }
}

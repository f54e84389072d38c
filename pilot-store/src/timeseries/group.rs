//! Group commit for [`MetricsSink::accept`](pilot_core::MetricsSink::accept):
//! a batch handed in while another write holds the store waits, and the
//! first waiter to get the store stores every waiting batch with one
//! [`write_batches`](TimeseriesStore::write_batches) commit. Many agents
//! sending small batches at once then cost one disk flush per round instead
//! of one per batch, without a collector in the caller.

use pilot_core::MetricBatch;
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::TimeseriesStore;
use super::write::check;
use crate::error::{Error, Result};

/// A batch waiting for the next commit, and where its outcome goes.
#[derive(Debug)]
pub(super) struct Waiting {
    batch: MetricBatch,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

impl TimeseriesStore {
    /// Stores a batch durably, in one commit with the batches other tasks
    /// hand in at the same time. When it returns `Ok`, every sample is in the
    /// database; when it fails, none is.
    pub(super) async fn write_grouped(&self, batch: MetricBatch) -> Result<()> {
        self.db.ensure_writable("write samples")?;
        check(&batch)?;
        if batch.samples.is_empty() {
            return Ok(());
        }
        let (done, mut outcome) = oneshot::channel();
        self.lock().waiting.push(Waiting { batch, done });
        let writer = self.writer.lock().await;
        // The writer drains the waiting batches only while holding the lock,
        // and answers before letting go: either an earlier writer stored this
        // batch, or it is still waiting and this call stores the group.
        match outcome.try_recv() {
            Ok(result) => return result.map_err(|reason| Error::GroupWrite { reason }),
            Err(TryRecvError::Closed) => {
                return Err(Error::GroupWrite {
                    reason: "the write holding it was cancelled".into(),
                });
            }
            Err(TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut self.lock().waiting);
        let (batches, dones): (Vec<MetricBatch>, Vec<_>) =
            group.into_iter().map(|w| (w.batch, w.done)).unzip();
        let result = self.write_locked(&batches).await;
        let shared = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
        for done in dones {
            // This call's own receiver is among them; a dropped one gave up.
            let _ = done.send(shared.clone());
        }
        drop(writer);
        self.compact_if_due(result?).await
    }
}

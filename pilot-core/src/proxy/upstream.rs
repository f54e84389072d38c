//! One upstream of a project and the connections the proxy has open to it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::router::DrainReport;

/// How long a drain waits for cut connections to actually close.
const CUT_GRACE: Duration = Duration::from_millis(500);

/// An upstream address with the count of open connections to it and the
/// token that closes them.
#[derive(Debug)]
pub(crate) struct Upstream {
    addr: SocketAddr,
    open: AtomicU64,
    closed: AtomicU64,
    /// Cancelled to cut the connections registered so far; replaced by a
    /// fresh child of `parent` at each cut, so later connections live on.
    cut: Mutex<CancellationToken>,
    /// The project's token: cancelled when the route is removed.
    parent: CancellationToken,
    idle: Notify,
}

/// Marks one open connection; closing it (dropping the guard) updates the count.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    upstream: Arc<Upstream>,
    token: CancellationToken,
}

impl Upstream {
    /// A new upstream whose connections close when `parent` is cancelled.
    pub(crate) fn new(addr: SocketAddr, parent: &CancellationToken) -> Arc<Self> {
        Arc::new(Upstream {
            addr,
            open: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            cut: Mutex::new(parent.child_token()),
            parent: parent.clone(),
            idle: Notify::new(),
        })
    }

    /// The upstream's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections open right now.
    pub(crate) fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }

    /// Counts a new connection until the returned guard is dropped.
    pub(crate) fn register(self: &Arc<Self>) -> ConnGuard {
        self.open.fetch_add(1, Ordering::SeqCst);
        let token = self
            .cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ConnGuard {
            upstream: Arc::clone(self),
            token,
        }
    }

    /// Waits until no connection is open or until `timeout`, then cuts the
    /// connections still open.
    pub(crate) async fn drain(&self, timeout: Duration) -> DrainReport {
        let closed_before = self.closed.load(Ordering::SeqCst);
        if self.wait_idle(Instant::now() + timeout).await {
            return DrainReport {
                finished: self.closed.load(Ordering::SeqCst) - closed_before,
                cut: 0,
            };
        }
        let fresh = self.parent.child_token();
        let old = std::mem::replace(
            &mut *self.cut.lock().unwrap_or_else(PoisonError::into_inner),
            fresh,
        );
        let finished = self.closed.load(Ordering::SeqCst) - closed_before;
        let cut = self.open();
        old.cancel();
        self.wait_idle(Instant::now() + CUT_GRACE).await;
        DrainReport { finished, cut }
    }

    /// Whether the connection count reached zero before `deadline`.
    async fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.open() == 0;
            }
        }
    }
}

impl ConnGuard {
    /// The upstream this connection goes to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.upstream.addr
    }

    /// Cancelled when the connection must be closed (drain deadline, route removed).
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.upstream.closed.fetch_add(1, Ordering::SeqCst);
        if self.upstream.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.upstream.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[tokio::test]
    async fn drain_counts_finished_connections() {
        let parent = CancellationToken::new();
        let upstream = Upstream::new(addr(), &parent);
        let guard = upstream.register();
        assert_eq!(upstream.open(), 1);
        let closer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(guard);
        });
        let report = upstream.drain(Duration::from_secs(5)).await;
        assert_eq!(
            report,
            DrainReport {
                finished: 1,
                cut: 0
            }
        );
        closer.await.unwrap();
    }

    #[tokio::test]
    async fn drain_cuts_at_the_deadline_and_later_connections_live_on() {
        let parent = CancellationToken::new();
        let upstream = Upstream::new(addr(), &parent);
        let stuck = upstream.register();
        let token = stuck.token().clone();
        let holder = tokio::spawn(async move {
            token.cancelled().await;
            drop(stuck);
        });
        let report = upstream.drain(Duration::from_millis(50)).await;
        assert_eq!(
            report,
            DrainReport {
                finished: 0,
                cut: 1
            }
        );
        holder.await.unwrap();
        let later = upstream.register();
        assert!(!later.token().is_cancelled());
        parent.cancel();
        assert!(later.token().is_cancelled());
    }
}

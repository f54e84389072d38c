//! Settings of the agent listener.

use std::time::Duration;

use pilot_core::protocol::{FrameCodec, TlsIdentity};

/// How the [`Hub`](super::Hub) serves agents.
///
/// ```
/// use std::time::Duration;
/// use pilot_server::hub::HubOptions;
///
/// let options = HubOptions::default().with_heartbeat(Duration::from_secs(5));
/// assert_eq!(options.offline_after, Duration::from_secs(15));
/// ```
#[derive(Debug)]
pub struct HubOptions {
    /// How often agents must send a heartbeat (sent to them in the welcome).
    pub heartbeat: Duration,
    /// A connection silent this long is closed and its node marked offline.
    pub offline_after: Duration,
    /// Time allowed after accepting a connection for the TLS handshake and the hello.
    pub hello_timeout: Duration,
    /// How often, at most, a connected node's heartbeats are written to the
    /// store (`last_seen_ms`); the hello and the disconnection always are.
    /// Each write is a commit that holds the database's write lock, so with
    /// many nodes this stays long; whether a node is connected right now is
    /// [`Hub::connection`](super::Hub::connection), not `last_seen_ms`.
    pub seen_every: Duration,
    /// The certificate agents connect to; plain TCP when absent.
    pub tls: Option<TlsIdentity>,
    /// Largest frame accepted from an agent, in bytes.
    pub max_frame_len: usize,
    /// Metrics batches waiting to be stored, from all connections together;
    /// a full queue slows the agents down instead of growing memory.
    pub ingest_queue: usize,
    /// Most batches stored in one database transaction.
    pub max_group: usize,
}

impl HubOptions {
    /// Sets the heartbeat and, as by default, `offline_after` to three heartbeats.
    pub fn with_heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self.offline_after = heartbeat.saturating_mul(3);
        self
    }

    /// Serves agents over TLS with this identity.
    pub fn with_tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The heartbeat in whole seconds, as the welcome carries it (at least 1).
    pub(crate) fn heartbeat_secs(&self) -> u64 {
        self.heartbeat.as_secs().max(1)
    }
}

impl Default for HubOptions {
    /// Heartbeat every 10 s, offline after 3 missed heartbeats, 10 s for
    /// the hello, last-seen written every 5 min, 16 MiB frames, plain TCP,
    /// 1024 queued batches (half a second of 10,000 agents sending every
    /// 5 s; a decoded batch of 40 samples takes about 25 KB), up to 512
    /// batches per transaction.
    fn default() -> Self {
        HubOptions {
            heartbeat: Duration::from_secs(10),
            offline_after: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(10),
            seen_every: Duration::from_secs(300),
            tls: None,
            max_frame_len: FrameCodec::DEFAULT_MAX_FRAME_LEN,
            ingest_queue: 1024,
            max_group: 512,
        }
    }
}

//! Simulated agents: real TCP connections and real frames. Each one says
//! hello with its node token, sends a 40-sample batch every interval and a
//! heartbeat every 10 s, and times every batch from send to acknowledgement.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pilot_core::protocol::{AgentMessage, FrameCodec, NodeToken, ServerMessage};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::samples::BatchMaker;

/// Connections opened at the same time while the crowd connects.
const CONNECTING_AT_ONCE: usize = 128;

/// Heartbeat period of the simulated agents (the hub's default).
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What the crowd measured.
#[derive(Default)]
pub struct Tally {
    /// Whether batches sent now are timed.
    pub measuring: AtomicBool,
    /// Send-to-acknowledgement times of timed batches, in microseconds.
    pub latencies_us: Mutex<Vec<u32>>,
    /// Timed batches sent.
    pub sent: AtomicU64,
    /// Batches sent in all.
    pub sent_total: AtomicU64,
    /// Acknowledgements received in all.
    pub acked_total: AtomicU64,
}

/// A crowd of connected agents.
pub struct Crowd {
    tasks: JoinSet<()>,
    go: CancellationToken,
    stop: CancellationToken,
    /// The measurements.
    pub tally: Arc<Tally>,
}

use pilot_core::time::now_ms;

impl Crowd {
    /// Connects one agent per `(node, token)`; returns once every agent was
    /// welcomed. They send nothing until [`Crowd::start`].
    pub async fn connect(
        address: SocketAddr,
        nodes: &[(String, NodeToken)],
        interval: Duration,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let stop = CancellationToken::new();
        let go = CancellationToken::new();
        let tally = Arc::new(Tally::default());
        let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let mut connecting = JoinSet::new();
        for (node, token) in nodes.iter().cloned() {
            let gate = Arc::clone(&gate);
            connecting.spawn(async move {
                let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                welcome(address, &node, token).await.map(|tcp| (node, tcp))
            });
        }
        let mut tasks = JoinSet::new();
        let mut index = 0u64;
        while let Some(joined) = connecting.join_next().await {
            let (node, tcp) = joined??;
            // Spread the agents evenly over the interval.
            let phase = interval.mul_f64((index % 1000) as f64 / 1000.0);
            index += 1;
            let agent = agent(tcp, node, interval, phase, Arc::clone(&tally), stop.clone());
            let go = go.clone();
            tasks.spawn(async move {
                go.cancelled().await;
                agent.await;
            });
        }
        Ok(Crowd {
            tasks,
            go,
            stop,
            tally,
        })
    }

    /// Lets every agent send.
    pub fn start(&self) {
        self.go.cancel();
    }

    /// Disconnects every agent.
    pub async fn stop(mut self) {
        self.go.cancel();
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Connects, says hello and waits for the welcome.
async fn welcome(address: SocketAddr, node: &str, token: NodeToken) -> Result<TcpStream, String> {
    let mut tcp = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect {node}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let codec = FrameCodec::new();
    let hello = AgentMessage::hello(node, token, serde_json::json!({ "cpus": 2 }));
    codec
        .write(&mut tcp, &hello)
        .await
        .map_err(|e| format!("hello of {node}: {e}"))?;
    match codec.read::<_, ServerMessage>(&mut tcp).await {
        Ok(Some(ServerMessage::Welcome { .. })) => Ok(tcp),
        other => Err(format!("{node} was not welcomed: {other:?}")),
    }
}

/// One agent: a sending task and an acknowledgement reader.
async fn agent(
    tcp: TcpStream,
    node: String,
    interval: Duration,
    phase: Duration,
    tally: Arc<Tally>,
    stop: CancellationToken,
) {
    let (mut reader, mut writer) = tcp.into_split();
    let (timed, mut pending) = mpsc::unbounded_channel::<(u64, Instant, bool)>();
    let codec = FrameCodec::new();
    let acks = {
        let tally = Arc::clone(&tally);
        async move {
            let mut waiting: VecDeque<(u64, Instant, bool)> = VecDeque::new();
            while let Ok(Some(message)) = codec.read::<_, ServerMessage>(&mut reader).await {
                let ServerMessage::MetricsAck { seq } = message else {
                    continue;
                };
                let now = Instant::now();
                while let Ok(entry) = pending.try_recv() {
                    waiting.push_back(entry);
                }
                while waiting.front().is_some_and(|(s, _, _)| *s <= seq) {
                    let Some((_, sent, measured)) = waiting.pop_front() else {
                        break;
                    };
                    tally.acked_total.fetch_add(1, Ordering::Relaxed);
                    if measured {
                        let us = now.duration_since(sent).as_micros();
                        let us = u32::try_from(us).unwrap_or(u32::MAX);
                        tally
                            .latencies_us
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(us);
                    }
                }
            }
        }
    };
    let sends = async move {
        let mut maker = BatchMaker::new(&node);
        let start = tokio::time::Instant::now() + phase;
        let mut batches = tokio::time::interval_at(start, interval);
        let mut heartbeats = tokio::time::interval_at(start + HEARTBEAT / 2, HEARTBEAT);
        let mut seq = 0u64;
        loop {
            let message = tokio::select! {
                _ = batches.tick() => {
                    seq += 1;
                    let measured = tally.measuring.load(Ordering::Relaxed);
                    if measured {
                        tally.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    tally.sent_total.fetch_add(1, Ordering::Relaxed);
                    if timed.send((seq, Instant::now(), measured)).is_err() {
                        return;
                    }
                    AgentMessage::Metrics { batch: maker.next(now_ms()), seq }
                }
                _ = heartbeats.tick() => AgentMessage::Heartbeat { at_ms: now_ms() },
            };
            if codec.write(&mut writer, &message).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = stop.cancelled() => {}
        () = acks => {}
        () = sends => {}
    }
}

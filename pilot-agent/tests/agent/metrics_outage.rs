//! Metrics survive outages: batches collected while the server is away are
//! spooled on disk and all replayed, in order, once it is back, also across
//! an agent restart; a spool that fills up drops its oldest batches and
//! counts them. Every sample is counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use crate::support::{Conn, FakeServer, options, wait_for};
use pilot_agent::{Agent, AgentStatus, MetricSpool};
use pilot_core::protocol::{AgentMessage, NodeToken, ServerMessage};

/// The address of a server that is down: bound once for a free port, then closed.
async fn down_server() -> SocketAddr {
    FakeServer::bind().await.addr()
}

/// Batches received by the fake server: seq → samples.
type Received = BTreeMap<u64, usize>;

/// Receives (and acknowledges) metric batches until `through` arrived.
async fn receive_through(conn: &mut Conn, received: &mut Received, through: u64) {
    while received
        .keys()
        .next_back()
        .is_none_or(|&last| last < through)
    {
        let (seq, samples) = conn
            .recv_until(|m| match m {
                AgentMessage::Metrics { batch, seq } => Some((*seq, batch.samples.len())),
                _ => None,
            })
            .await;
        assert!(samples > 0, "batch {seq} is empty");
        // A batch sent again after a reconnect is the same batch.
        if let Some(before) = received.insert(seq, samples) {
            assert_eq!(before, samples, "batch {seq} changed between sends");
        }
        conn.send(ServerMessage::MetricsAck { seq }).await;
    }
}

/// Checks that the server's batches and those still spooled are exactly
/// 1..=last, with as many samples as the agents collected.
fn assert_nothing_lost(data_dir: &Path, received: &Received, statuses: &[AgentStatus]) {
    let spool = MetricSpool::open(data_dir.join("agent/metrics"), u64::MAX).unwrap();
    let mut all = received.clone();
    for (seq, batch) in spool.pending().unwrap() {
        all.entry(seq).or_insert(batch.samples.len());
    }
    let last = statuses.last().unwrap().last_seq.unwrap();
    let seqs: Vec<u64> = all.keys().copied().collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "a batch is missing");
    let collected: u64 = statuses.iter().map(|s| s.samples_collected).sum();
    let arrived: usize = all.values().sum();
    assert_eq!(arrived as u64, collected, "samples were lost");
    assert!(statuses.iter().all(|s| s.batches_dropped == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_collected_during_an_outage_are_all_replayed() {
    let data = tempfile::tempdir().unwrap();
    let addr = down_server().await;
    let token = NodeToken::generate();
    let agent = Agent::start(options(data.path(), addr, &token))
        .await
        .unwrap();
    let down = wait_for(&agent, "spool batches while the server is down", |s| {
        s.batches_buffered >= 5 && s.reconnects >= 2
    })
    .await;
    assert!(!down.connected);

    let server = FakeServer::bind_to(addr).await;
    let mut conn = server.accept().await;
    conn.welcome("web-1", 1).await;
    let mut received = Received::new();
    let target = down.last_seq.unwrap() + 3;
    receive_through(&mut conn, &mut received, target).await;
    let first_new = received.keys().next().copied();
    assert_eq!(first_new, Some(1), "replay starts with the oldest batch");

    wait_for(&agent, "take the acknowledgements", |s| {
        s.batches_acked >= target
    })
    .await;
    let last = agent.shutdown().await.unwrap();
    assert_nothing_lost(data.path(), &received, &[last]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_batches_survive_an_agent_restart() {
    let data = tempfile::tempdir().unwrap();
    let addr = down_server().await;
    let token = NodeToken::generate();
    let first = Agent::start(options(data.path(), addr, &token))
        .await
        .unwrap();
    wait_for(&first, "spool batches while the server is down", |s| {
        s.batches_buffered >= 4
    })
    .await;
    let first = first.shutdown().await.unwrap();
    let spooled = first.last_seq.unwrap();

    let server = FakeServer::bind_to(addr).await;
    let second = Agent::start(options(data.path(), addr, &token))
        .await
        .unwrap();
    let mut conn = server.accept().await;
    conn.welcome("web-1", 1).await;
    let mut received = Received::new();
    receive_through(&mut conn, &mut received, spooled + 3).await;
    let second = second.shutdown().await.unwrap();
    assert!(
        second.last_seq.unwrap() > spooled,
        "sequence numbers went on"
    );
    assert_nothing_lost(data.path(), &received, &[first, second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_drops_the_oldest_batches_and_counts_them() {
    let data = tempfile::tempdir().unwrap();
    let addr = down_server().await;
    let mut opts = options(data.path(), addr, &NodeToken::generate());
    // Room for a few batches only.
    opts.metrics_buffer_bytes = 40 * 1024;
    let agent = Agent::start(opts).await.unwrap();
    let full = wait_for(&agent, "drop batches from a full spool", |s| {
        s.batches_dropped >= 3
    })
    .await;
    assert!(full.bytes_buffered <= 40 * 1024 || full.batches_buffered == 1);

    let server = FakeServer::bind_to(addr).await;
    let mut conn = server.accept().await;
    conn.welcome("web-1", 1).await;
    let first_replayed = conn
        .recv_until(|m| match m {
            AgentMessage::Metrics { seq, .. } => Some(*seq),
            _ => None,
        })
        .await;
    let last = agent.shutdown().await.unwrap();
    assert!(last.batches_dropped >= 3);
    assert!(
        first_replayed > full.batches_dropped,
        "batch {first_replayed} should have been dropped (oldest first, {} dropped)",
        full.batches_dropped
    );
    // Dropped and waiting batches account for every sequence number.
    let spool = MetricSpool::open(data.path().join("agent/metrics"), u64::MAX).unwrap();
    let pending = spool.pending().unwrap();
    let oldest_waiting = pending
        .first()
        .map_or(last.last_seq.unwrap() + 1, |(s, _)| *s);
    assert_eq!(oldest_waiting, last.batches_dropped + 1);
    let seqs: Vec<u64> = pending.iter().map(|(s, _)| *s).collect();
    let expected: Vec<u64> = (oldest_waiting..=last.last_seq.unwrap()).collect();
    assert_eq!(seqs, expected, "the newest batches wait, without gaps");
}

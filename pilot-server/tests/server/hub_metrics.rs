//! Metrics and processes: stored under the registered node, acknowledged
//! once queryable, published, replays harmless, many agents at once.

use crate::support::agents::{TestHub, batch, eventually};
use pilot_core::protocol::{AgentMessage, ServerMessage};
use pilot_core::time::now_ms;
use pilot_core::{ProcessSummary, Sample, TopProcesses};
use pilot_server::{NodeLink, ServerEvent};
use pilot_store::timeseries::{RangeQuery, SeriesSelector};

/// Raw points of metric `name` on `node` over the last and next hour.
async fn points(t: &TestHub, node: &str, name: &str) -> usize {
    let now = now_ms();
    let selector = SeriesSelector::metric(name).on_node(node);
    let result = t
        .metrics
        .query(&RangeQuery::raw(selector, now - 3_600_000, now + 3_600_000))
        .await
        .expect("query");
    result.iter().map(|s| s.points.len()).sum()
}

#[tokio::test]
async fn metrics_are_stored_under_the_registered_node_acknowledged_and_published() {
    let t = TestHub::start().await;
    let mut events = t.events.subscribe();
    let mut agent = t.agent("web-1").await;
    let _ = events.recv().await.expect("the connection event");
    // The batch claims another node: the hub files it under the registered one.
    let sent = batch("db-1", "cpu_usage_percent", now_ms(), 3);
    agent
        .send(&AgentMessage::Metrics {
            batch: sent.clone(),
            seq: 7,
        })
        .await;
    assert_eq!(
        agent.recv().await,
        Some(ServerMessage::MetricsAck { seq: 7 })
    );
    // Acknowledged means queryable.
    assert_eq!(points(&t, "web-1", "cpu_usage_percent").await, 3);
    assert_eq!(points(&t, "db-1", "cpu_usage_percent").await, 0);
    let event = events.recv().await.expect("the metrics event");
    assert_eq!(
        *event,
        ServerEvent::Metrics {
            node: "web-1".into(),
            samples: sent.samples
        }
    );
    let stats = t.hub.stats();
    assert_eq!((stats.batches_stored, stats.samples_stored), (1, 3));
    t.stop().await;
}

#[tokio::test]
async fn replayed_batches_are_acknowledged_again_and_stored_once() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    let start = now_ms();
    for seq in [1, 2, 1, 2] {
        let sent = batch("web-1", &format!("metric_{seq}"), start, 4);
        agent
            .send(&AgentMessage::Metrics { batch: sent, seq })
            .await;
    }
    for seq in [1, 2, 1, 2] {
        assert_eq!(agent.recv().await, Some(ServerMessage::MetricsAck { seq }));
    }
    assert_eq!(points(&t, "web-1", "metric_1").await, 4);
    assert_eq!(points(&t, "web-1", "metric_2").await, 4);
    t.stop().await;
}

#[tokio::test]
async fn a_batch_the_store_refuses_is_acknowledged_and_the_link_stays_up() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    let mut bad = batch("web-1", "", now_ms(), 1);
    bad.samples.push(Sample {
        name: "fine".into(),
        labels: Default::default(),
        timestamp_ms: now_ms(),
        value: 1.0,
    });
    agent
        .send(&AgentMessage::Metrics { batch: bad, seq: 1 })
        .await;
    assert_eq!(
        agent.recv().await,
        Some(ServerMessage::MetricsAck { seq: 1 })
    );
    let good = batch("web-1", "load", now_ms(), 2);
    agent
        .send(&AgentMessage::Metrics {
            batch: good,
            seq: 2,
        })
        .await;
    assert_eq!(
        agent.recv().await,
        Some(ServerMessage::MetricsAck { seq: 2 })
    );
    assert_eq!(points(&t, "web-1", "load").await, 2);
    let stats = t.hub.stats();
    assert_eq!((stats.batches_rejected, stats.batches_stored), (1, 1));
    t.stop().await;
}

#[tokio::test]
async fn batches_of_many_agents_are_all_stored_and_acknowledged_in_order() {
    let t = TestHub::start().await;
    let mut agents = Vec::new();
    for i in 0..20 {
        agents.push(t.agent(&format!("node-{i}")).await);
    }
    let start = now_ms();
    let runs = agents.into_iter().map(|mut agent| async move {
        for seq in 0..10u64 {
            let sent = batch("ignored", "requests", start + 10_000 * seq as i64, 5);
            agent
                .send(&AgentMessage::Metrics { batch: sent, seq })
                .await;
        }
        for seq in 0..10u64 {
            assert_eq!(agent.recv().await, Some(ServerMessage::MetricsAck { seq }));
        }
    });
    futures::future::join_all(runs).await;
    for i in 0..20 {
        assert_eq!(points(&t, &format!("node-{i}"), "requests").await, 50);
    }
    let stats = t.hub.stats();
    assert_eq!(stats.batches_stored, 200);
    assert!(stats.commits <= 200, "{stats:?}");
    t.stop().await;
}

#[tokio::test]
async fn the_latest_top_processes_are_kept_and_published() {
    let t = TestHub::start().await;
    let mut events = t.events.subscribe();
    let mut agent = t.agent("web-1").await;
    let _ = events.recv().await.expect("the connection event");
    let top = |pid: u32| TopProcesses {
        timestamp_ms: now_ms(),
        by_cpu: vec![ProcessSummary {
            pid,
            name: "python".into(),
            project: Some("shop".into()),
            cpu_percent: Some(12.5),
            rss_bytes: 1 << 20,
            threads: 3,
        }],
        by_memory: Vec::new(),
    };
    assert_eq!(t.hub.top_processes("web-1"), None);
    agent.send(&AgentMessage::Processes { top: top(1) }).await;
    let second = top(2);
    agent
        .send(&AgentMessage::Processes {
            top: second.clone(),
        })
        .await;
    eventually("the latest processes are kept", || async {
        t.hub.top_processes("web-1").as_ref() == Some(&second)
    })
    .await;
    let event = events.recv().await.expect("the processes event");
    assert!(
        matches!(&*event, ServerEvent::Processes { node, top } if node == "web-1" && top.by_cpu[0].pid == 1),
        "{event:?}"
    );
    drop(agent);
    eventually("the node is offline", || async {
        t.hub.online().is_empty()
    })
    .await;
    assert_eq!(t.hub.top_processes("web-1"), Some(second));
    t.stop().await;
}

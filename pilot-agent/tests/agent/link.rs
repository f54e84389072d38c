//! The agent's link against a fake server on loopback: hello, welcome and
//! heartbeats, metrics and top processes, the Prometheus endpoint, a
//! refused token, reconnecting after a drop, and TLS with a pinned
//! self-signed certificate.

use crate::support::{FakeServer, VERSION, hello_parts, options, wait_for, within};
use pilot_agent::{Agent, Error, ServerTls};
use pilot_core::protocol::{AgentMessage, NodeToken, SelfSignedCert, ServerMessage, TlsAcceptor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_welcome_heartbeats_metrics_and_prometheus() {
    let data = tempfile::tempdir().unwrap();
    let server = FakeServer::bind().await;
    let token = NodeToken::generate();
    let mut opts = options(data.path(), server.addr(), &token);
    opts.node_name = Some("asked-name".into());
    opts.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let agent = Agent::start(opts).await.unwrap();

    let mut conn = server.accept().await;
    let (node, version, sent_token, system) = hello_parts(&conn.hello);
    assert_eq!((node, version), ("asked-name", VERSION));
    assert_eq!(sent_token, &token);
    assert!(system["hostname"].is_string(), "{system}");
    assert!(system["cpu_cores"].as_u64().unwrap() >= 1, "{system}");
    conn.welcome("web-1", 1).await;

    conn.recv_until(|m| matches!(m, AgentMessage::Heartbeat { .. }).then_some(()))
        .await;
    let (batch, seq) = conn
        .recv_until(|m| match m {
            AgentMessage::Metrics { batch, seq } => Some((batch.clone(), *seq)),
            _ => None,
        })
        .await;
    assert_eq!(batch.node, "web-1", "batches carry the welcomed name");
    assert!(seq >= 1);
    assert!(batch.samples.iter().any(|s| s.name == "memory_used_bytes"));
    conn.send(ServerMessage::MetricsAck { seq }).await;
    let top = conn
        .recv_until(|m| match m {
            AgentMessage::Processes { top } => Some(top.clone()),
            _ => None,
        })
        .await;
    assert!(!top.by_memory.is_empty());
    // A second heartbeat comes on its own.
    conn.recv_until(|m| matches!(m, AgentMessage::Heartbeat { .. }).then_some(()))
        .await;

    let status = wait_for(&agent, "count the acknowledgement", |s| {
        s.batches_acked >= 1
    })
    .await;
    assert!(status.connected);
    assert_eq!(status.connections, 1);
    assert_eq!(agent.node().as_deref(), Some("web-1"));

    let addr = agent.metrics_addr().expect("the endpoint was asked for");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("pilot_memory_used_bytes{node=\"web-1\"}"),
        "{text}"
    );

    let last = agent.shutdown().await.unwrap();
    assert!(!last.connected);
    assert!(last.batches_sent >= 1);
    // The welcomed name is announced in the next hello.
    let mut opts = options(data.path(), server.addr(), &token);
    opts.node_name = None;
    let agent = Agent::start(opts).await.unwrap();
    let conn = server.accept().await;
    assert_eq!(hello_parts(&conn.hello).0, "web-1");
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_the_agent_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let server = FakeServer::bind().await;
    let agent = Agent::start(options(data.path(), server.addr(), &NodeToken::generate()))
        .await
        .unwrap();
    let mut conn = server.accept().await;
    conn.send(ServerMessage::Refused {
        reason: "the token of node web-1 was revoked".into(),
    })
    .await;
    let stopped = within("stop after the refusal", agent.wait()).await;
    let error = stopped.expect_err("a refused agent stops with an error");
    assert!(matches!(error, Error::Refused { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("the token of node web-1 was revoked"),
        "{text}"
    );
    assert!(text.contains("pilot node add"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_with_backoff_after_the_server_drops_the_link() {
    let data = tempfile::tempdir().unwrap();
    let server = FakeServer::bind().await;
    let agent = Agent::start(options(data.path(), server.addr(), &NodeToken::generate()))
        .await
        .unwrap();
    let mut first = server.accept().await;
    first.welcome("web-1", 1).await;
    wait_for(&agent, "connect", |s| s.connected).await;
    drop(first);

    // A connection closed before the welcome counts as a failed attempt too.
    let refused_early = server.accept().await;
    drop(refused_early);

    let mut again = server.accept().await;
    again.welcome("web-1", 1).await;
    let status = wait_for(&agent, "reconnect", |s| s.connected && s.connections == 2).await;
    assert!(status.reconnects >= 2, "{status:?}");
    let backoff = status
        .last_backoff_ms
        .expect("the agent waited before reconnecting");
    assert!(
        (25..=400).contains(&backoff),
        "{backoff} ms is outside 50/2..400"
    );
    assert!(status.last_error.is_some());
    again
        .recv_until(|m| matches!(m, AgentMessage::Heartbeat { .. }).then_some(()))
        .await;
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_link_trusts_only_the_pinned_certificate() {
    let data = tempfile::tempdir().unwrap();
    let cert = SelfSignedCert::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let identity = cert.identity().unwrap();
    let acceptor = TlsAcceptor::from(identity.server_config().unwrap());
    let server = FakeServer::bind().await;
    let token = NodeToken::generate();

    let mut opts = options(data.path(), server.addr(), &token);
    opts.tls = ServerTls::Pinned(identity.fingerprint());
    let agent = Agent::start(opts).await.unwrap();
    let mut conn = server.accept_tls(&acceptor).await;
    assert_eq!(hello_parts(&conn.hello).2, &token);
    conn.welcome("secure-1", 1).await;
    conn.recv_until(|m| matches!(m, AgentMessage::Heartbeat { .. }).then_some(()))
        .await;
    wait_for(&agent, "connect over TLS", |s| s.connected).await;
    agent.shutdown().await.unwrap();

    // Another certificate than the pinned one: no hello ever goes out.
    let other = SelfSignedCert::generate(&["localhost".into()]).unwrap();
    let mut opts = options(data.path(), server.addr(), &token);
    opts.tls = ServerTls::Pinned(other.identity().unwrap().fingerprint());
    let agent = Agent::start(opts).await.unwrap();
    let stream = server.accept_raw().await;
    let refused = acceptor.accept(stream).await;
    assert!(
        refused.is_err(),
        "the agent must reject an unpinned certificate"
    );
    let status = wait_for(&agent, "report the failed handshake", |s| {
        s.last_error.is_some()
    })
    .await;
    let error = status.last_error.unwrap();
    assert!(error.contains("TLS handshake"), "{error}");
    assert!(!status.connected);
    agent.shutdown().await.unwrap();
}

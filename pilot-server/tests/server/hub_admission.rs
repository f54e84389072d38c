//! Who gets in: token and version checks, the welcome, replacement of a
//! node's connection, silence, operator disconnection and TLS.

use std::sync::Arc;
use std::time::Duration;

use crate::support::agents::{FakeAgent, PATIENCE, TestHub, eventually};
use pilot_core::protocol::{
    AgentMessage, NodeToken, PROTOCOL_VERSION, SelfSignedCert, ServerMessage, TlsConnector,
    pinned_client_config,
};
use pilot_server::hub::HubOptions;
use pilot_server::{NodeLink, ServerEvent};
use rustls::pki_types::ServerName;

fn refusal(answer: ServerMessage) -> String {
    match answer {
        ServerMessage::Refused { reason } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_token_is_refused_with_a_reason_and_the_connection_closed() {
    let t = TestHub::start().await;
    t.register("web-1").await;
    let mut agent = FakeAgent::connect(t.address).await;
    let reason = refusal(agent.hello("web-1", NodeToken::generate()).await);
    assert!(reason.contains("unknown or was revoked"), "{reason}");
    assert!(reason.contains("pilot node add"), "{reason}");
    assert_eq!(agent.recv().await, None, "the hub closes after refusing");
    assert!(t.hub.online().is_empty());
    assert_eq!(t.hub.stats().hellos_refused, 1);
    t.stop().await;
}

#[tokio::test]
async fn a_rotated_token_is_refused_and_the_new_one_welcomed() {
    let t = TestHub::start().await;
    let old = t.register("web-1").await;
    let new = t.store.rotate_node_token("web-1").await.expect("rotate");
    let mut agent = FakeAgent::connect(t.address).await;
    let reason = refusal(agent.hello("web-1", old).await);
    assert!(reason.contains("revoked"), "{reason}");
    let mut agent = FakeAgent::connect(t.address).await;
    let welcome = agent.hello("web-1", new).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    t.stop().await;
}

#[tokio::test]
async fn another_protocol_version_is_refused() {
    let t = TestHub::start().await;
    let token = t.register("web-1").await;
    let mut agent = FakeAgent::connect(t.address).await;
    agent
        .send(&AgentMessage::Hello {
            node: "web-1".into(),
            version: PROTOCOL_VERSION + 1,
            token,
            system: serde_json::json!({}),
        })
        .await;
    let reason = refusal(agent.recv().await.expect("an answer"));
    assert!(reason.contains("version"), "{reason}");
    assert!(t.hub.online().is_empty());
    t.stop().await;
}

#[tokio::test]
async fn a_connection_must_start_with_a_hello() {
    let t = TestHub::start().await;
    let mut agent = FakeAgent::connect(t.address).await;
    agent.send(&AgentMessage::Heartbeat { at_ms: 1 }).await;
    let reason = refusal(agent.recv().await.expect("an answer"));
    assert!(reason.contains("must be a hello"), "{reason}");
    t.stop().await;
}

#[tokio::test]
async fn the_welcome_carries_the_registered_name_and_the_hello_is_recorded() {
    let options = HubOptions::default().with_heartbeat(Duration::from_secs(7));
    let t = TestHub::with_options(options).await;
    let mut events = t.events.subscribe();
    let token = t.register("web-1").await;
    let mut agent = FakeAgent::connect(t.address).await;
    let welcome = agent.hello("calls-itself-db", token).await;
    assert_eq!(
        welcome,
        ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            node: "web-1".into(),
            heartbeat_secs: 7
        }
    );
    assert_eq!(t.hub.online(), ["web-1"]);
    assert!(t.hub.is_online("web-1") && !t.hub.is_online("calls-itself-db"));
    let info = t.hub.connection("web-1").expect("connection info");
    assert_eq!(info.peer, agent.local);
    assert!(!info.tls);
    assert_eq!(info.version, PROTOCOL_VERSION);
    let node = t.store.node("web-1").await.expect("read").expect("node");
    assert_eq!(node.system_info, Some(serde_json::json!({ "cpus": 2 })));
    assert!(node.last_seen_ms.is_some());
    let event = events.recv().await.expect("an event");
    assert!(
        matches!(&*event, ServerEvent::NodeStatus { node, online: true, .. } if node == "web-1"),
        "{event:?}"
    );
    agent.send(&AgentMessage::Heartbeat { at_ms: 5 }).await;
    eventually("the heartbeat is noted", || async {
        t.hub
            .connection("web-1")
            .is_some_and(|now| now.last_heartbeat_ms >= info.last_heartbeat_ms)
    })
    .await;
    drop(agent);
    let event = tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("an event");
    assert!(
        matches!(&*event, ServerEvent::NodeStatus { node, online: false, .. } if node == "web-1"),
        "{event:?}"
    );
    assert!(t.hub.online().is_empty());
    assert_eq!(t.hub.stats().connections, 0);
    t.stop().await;
}

#[tokio::test]
async fn a_second_connection_of_a_node_replaces_the_first() {
    let t = TestHub::start().await;
    let token = t.register("web-1").await;
    let mut first = FakeAgent::connect(t.address).await;
    first.hello("web-1", token.clone()).await;
    let mut events = t.events.subscribe();
    let mut second = FakeAgent::connect(t.address).await;
    let welcome = second.hello("web-1", token).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    assert_eq!(first.recv().await, None, "the first connection is closed");
    assert_eq!(t.hub.online(), ["web-1"]);
    let info = t.hub.connection("web-1").expect("connection");
    assert_eq!(info.peer, second.local);
    assert_eq!(t.hub.stats().replaced, 1);
    eventually("the replaced connection is gone", || async {
        t.hub.stats().connections == 1
    })
    .await;
    // The node never went offline: only the second connection's arrival was announced.
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(&*event, ServerEvent::NodeStatus { online: false, .. }),
            "{event:?}"
        );
    }
    second.send(&AgentMessage::Heartbeat { at_ms: 1 }).await;
    assert!(t.hub.is_online("web-1"));
    t.stop().await;
}

#[tokio::test]
async fn a_silent_node_is_disconnected_and_a_talkative_one_is_not() {
    let options = HubOptions {
        offline_after: Duration::from_millis(600),
        ..HubOptions::default()
    };
    let t = TestHub::with_options(options).await;
    let mut talkative = t.agent("web-1").await;
    let mut silent = t.agent("web-2").await;
    let beat = async {
        for i in 0..12 {
            talkative.send(&AgentMessage::Heartbeat { at_ms: i }).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (_, closed) = tokio::join!(beat, silent.recv());
    assert_eq!(closed, None, "the silent agent was disconnected");
    assert_eq!(t.hub.online(), ["web-1"]);
    assert_eq!(t.hub.stats().silent, 1);
    t.stop().await;
}

#[tokio::test]
async fn disconnect_closes_the_node_connection() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    t.hub.disconnect("web-1");
    assert_eq!(agent.recv().await, None);
    eventually("the node is offline", || async {
        !t.hub.is_online("web-1")
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn agents_connect_over_tls_with_the_pinned_certificate() {
    let cert = SelfSignedCert::generate(&["localhost".into()]).expect("certificate");
    let identity = cert.identity().expect("identity");
    let pin = identity.fingerprint();
    let t = TestHub::with_options(HubOptions::default().with_tls(identity)).await;
    let token = t.register("web-1").await;

    let connector = TlsConnector::from(pinned_client_config(pin).expect("client config"));
    let tcp = tokio::net::TcpStream::connect(t.address)
        .await
        .expect("connect");
    let local = tcp.local_addr().expect("local address");
    let name = ServerName::try_from("localhost").expect("server name");
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let mut agent = FakeAgent::over(Box::new(tls), local);
    let welcome = agent.hello("web-1", token).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    assert!(t.hub.connection("web-1").expect("connection").tls);

    // An agent pinning another certificate does not get through.
    let other = SelfSignedCert::generate(&["localhost".into()])
        .and_then(|c| c.identity())
        .expect("other identity");
    let connector =
        TlsConnector::from(pinned_client_config(other.fingerprint()).expect("client config"));
    let tcp = tokio::net::TcpStream::connect(t.address)
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("server name");
    assert!(connector.connect(name, tcp).await.is_err());
    let hub = Arc::clone(&t.hub);
    assert_eq!(hub.online(), ["web-1"]);
    t.stop().await;
}

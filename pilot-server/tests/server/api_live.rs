//! WebSockets over a real listener, metrics queries, system information,
//! the Prometheus exposition.

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::api::{CONFIG, TestApi};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use futures::{SinkExt, StreamExt};
use pilot_core::protocol::{Command, CommandOutcome};
use pilot_core::{MetricBatch, MetricsSink, Sample};
use pilot_server::testing::FakeNodes;
use pilot_server::{CommandUpdate, NodeLink, ServerEvent};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Serves the API on a loopback port until the test ends.
async fn serve(api: &TestApi) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api.app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message as JSON, within a few seconds.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("message");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("json"),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

use pilot_core::time::now_ms;

#[tokio::test]
async fn the_event_socket_needs_a_session_and_streams_what_was_subscribed() {
    let api = TestApi::new().await;
    let addr = serve(&api).await;

    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("expected 401, got {other:?}"),
    }

    let mut request = format!("ws://{addr}/api/v1/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", api.viewer).parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            "{\"topics\": [\"nodes\"], \"node\": \"web-1\"}".into(),
        ))
        .await
        .unwrap();
    let subscribed = next_json(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["subscription"]["topics"], json!(["nodes"]));

    api.state.events.publish(ServerEvent::Metrics {
        node: "web-1".into(),
        samples: Vec::new(),
    });
    api.state.events.publish(ServerEvent::NodeStatus {
        node: "web-2".into(),
        online: true,
        at_ms: 1,
    });
    api.state.events.publish(ServerEvent::NodeStatus {
        node: "web-1".into(),
        online: false,
        at_ms: 2,
    });
    let event = next_json(&mut socket).await;
    assert_eq!(
        event,
        json!({ "type": "node_status", "node": "web-1", "online": false, "at_ms": 2 })
    );

    socket.send(Message::Text("not json".into())).await.unwrap();
    let notice = next_json(&mut socket).await;
    assert_eq!(notice["type"], "error");

    let (mut by_query, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?token={}", api.admin))
            .await
            .expect("a token in the query works too");
    by_query
        .send(Message::Text("{\"topics\": [\"deploys\"]}".into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut by_query).await["type"], "subscribed");
}

#[tokio::test]
async fn the_log_socket_streams_every_nodes_lines() {
    let fake = FakeNodes::with_responder(Box::new(|node, command| match command {
        Command::Logs { follow: true, .. } => vec![
            CommandUpdate::Log(vec![format!("{node}: line 1"), format!("{node}: line 2")]),
            CommandUpdate::Log(vec![format!("{node}: line 3")]),
            CommandUpdate::Finished(CommandOutcome::Succeeded {
                deployment: None,
                generation: None,
            }),
        ],
        _ => vec![CommandUpdate::Finished(CommandOutcome::Succeeded {
            deployment: None,
            generation: None,
        })],
    }));
    let api = TestApi::build(fake, |_| {}).await;
    let repo = api.git_repo("shop", CONFIG);
    let created = api
        .json(
            Method::POST,
            "/api/v1/projects",
            &api.admin,
            json!({ "name": "shop", "nodes": ["web-1", "web-2"], "git": { "url": repo.to_string_lossy() } }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let addr = serve(&api).await;

    let (mut socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://{addr}/api/v1/projects/shop/logs/ws?lines=5&token={}",
        api.viewer
    ))
    .await
    .unwrap();
    let offline = next_json(&mut socket).await;
    assert_eq!(offline["node"], "web-2");
    assert_eq!(offline["done"], true);
    let mut lines = Vec::new();
    loop {
        let batch = next_json(&mut socket).await;
        assert_eq!(batch["node"], "web-1");
        lines.extend(batch["lines"].as_array().unwrap().iter().cloned());
        if batch["done"] == true {
            assert!(batch["error"].is_null());
            break;
        }
    }
    assert_eq!(
        lines,
        [
            json!("web-1: line 1"),
            json!("web-1: line 2"),
            json!("web-1: line 3")
        ]
    );
    assert!(matches!(
        &api.nodes.sent()[0].1,
        Command::Logs {
            lines: 5,
            follow: true,
            ..
        }
    ));
}

#[tokio::test]
async fn metrics_are_queried_by_range_step_aggregation_and_label() {
    let api = TestApi::new().await;
    let now = now_ms();
    let sample = |name: &str, project: Option<&str>, t: i64, v: f64| Sample {
        name: name.into(),
        labels: project
            .map(|p| [("project".to_string(), p.to_string())].into())
            .unwrap_or_default(),
        timestamp_ms: t,
        value: v,
    };
    api.state
        .metrics
        .accept(MetricBatch {
            node: "web-1".into(),
            samples: vec![
                sample("cpu_usage_percent", None, now - 60_000, 10.0),
                sample("cpu_usage_percent", None, now - 30_000, 30.0),
                sample("service_cpu_percent", Some("shop"), now - 30_000, 5.0),
                sample("service_cpu_percent", Some("blog"), now - 30_000, 7.0),
            ],
        })
        .await
        .unwrap();

    let raw = api
        .get(
            "/api/v1/metrics/query?metric=cpu_usage_percent&node=web-1&start=-5m&step=0",
            &api.viewer,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.text());
    let raw = raw.json();
    assert_eq!(raw["series"][0]["points"].as_array().unwrap().len(), 2);

    let stepped = api
        .get(
            "/api/v1/metrics/query?metric=cpu_usage_percent&start=-10m&step=10m&agg=max",
            &api.viewer,
        )
        .await
        .json();
    let points: Vec<f64> = stepped["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(points.iter().cloned().fold(f64::MIN, f64::max), 30.0);
    assert_eq!(stepped["aggregation"], "max");

    let labelled = api
        .get(
            "/api/v1/metrics/query?metric=service_cpu_percent&label.project=blog&step=0",
            &api.viewer,
        )
        .await
        .json();
    assert_eq!(labelled["series"].as_array().unwrap().len(), 1);
    assert_eq!(labelled["series"][0]["labels"]["project"], "blog");

    for bad in [
        "/api/v1/metrics/query",
        "/api/v1/metrics/query?metric=cpu&agg=median",
        "/api/v1/metrics/query?metric=cpu&start=yesterday",
        "/api/v1/metrics/query?metric=cpu&start=-1d&step=1ms",
        "/api/v1/metrics/query?metric=cpu&start=-1m&end=-2m",
    ] {
        assert_eq!(
            api.get(bad, &api.viewer).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }

    let latest = api
        .get("/api/v1/nodes/web-1/metrics/latest", &api.viewer)
        .await
        .json();
    assert!(
        latest
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "cpu_usage_percent" && v["value"] == 30.0)
    );
    let top = api
        .get("/api/v1/nodes/web-1/processes", &api.viewer)
        .await
        .json();
    assert_eq!(top["top"]["by_cpu"][0]["name"], "gunicorn");
    assert!(
        api.get("/api/v1/nodes/web-2/processes", &api.viewer)
            .await
            .json()["top"]
            .is_null()
    );
    assert_eq!(
        api.get("/api/v1/nodes/ghost/processes", &api.viewer)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let system = api.get("/api/v1/system", &api.viewer).await;
    assert_eq!(system.status, StatusCode::OK);
    assert!(system.json()["cpu_cores"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn nodes_are_enrolled_listed_rotated_and_revoked() {
    let api = TestApi::new().await;
    let enrolled = api
        .json(
            Method::POST,
            "/api/v1/nodes",
            &api.admin,
            json!({ "name": "db-1" }),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{}", enrolled.text());
    let body = enrolled.json();
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pilot_nt_"));
    let command = body["agent_command"].as_str().unwrap();
    assert!(
        command.contains("--token-file") && !command.contains(&token),
        "the token stays off the command line: {command}"
    );
    assert!(
        body["agent_command"]
            .as_str()
            .unwrap()
            .contains("--name db-1")
    );
    assert_eq!(body["node"]["online"], false);

    let list = api.get("/api/v1/nodes", &api.viewer).await;
    assert!(!list.text().contains(&token), "tokens are shown once");
    let nodes = list.json();
    let web1 = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "web-1")
        .unwrap();
    assert_eq!(web1["online"], true);
    assert_eq!(web1["connection"]["agent_version"], "0.1.0");

    let rotated = api
        .json(
            Method::POST,
            "/api/v1/nodes/web-1/token",
            &api.admin,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    assert_ne!(rotated.json()["token"], body["token"]);
    assert!(
        !api.nodes.is_online("web-1"),
        "the old connection was closed"
    );

    let taken = api
        .json(
            Method::POST,
            "/api/v1/nodes",
            &api.admin,
            json!({ "name": "db-1" }),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let revoked = api
        .json(
            Method::DELETE,
            "/api/v1/nodes/db-1",
            &api.admin,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/nodes/db-1", &api.viewer).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn prometheus_health_and_openapi_are_served() {
    let api = TestApi::new().await;
    api.get("/api/v1/nodes", &api.viewer).await;
    let metrics = api.get("/metrics", &api.viewer).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.text();
    assert!(text.contains("pilot_nodes_registered 2\n"), "{text}");
    assert!(text.contains("pilot_nodes_connected 1\n"), "{text}");
    assert!(
        text.contains("pilot_projects{status=\"running\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("pilot_http_requests_total{class=\"2xx\"}"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE pilot_rollouts_started_total counter"),
        "{text}"
    );

    let health = api.call(Method::GET, "/health", None, Body::empty()).await;
    assert_eq!(health.json()["status"], "ok");

    let document = api
        .call(Method::GET, "/api/v1/openapi.json", None, Body::empty())
        .await
        .json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(document["paths"]["/api/v1/projects/{name}/deploy"]["post"].is_object());
    assert!(document["components"]["schemas"]["Rollout"].is_object());
}

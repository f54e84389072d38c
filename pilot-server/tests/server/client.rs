//! The API client against a real server on a loopback port: sessions,
//! nodes, projects from archives made by `pack_dir`, secrets, deploys
//! followed live, logs, metrics and how errors come back.

use std::time::Duration;

use crate::support::scripted::{
    ADMIN_PASSWORD, BAD_CONFIG, BUILD_LINE, CONFIG, ServedApi, archive_names,
};
use pilot_core::engine::{DeployEvent, DeployEventKind};
use pilot_server::ServerEvent;
use pilot_server::api::types::{
    MetricsQuery, ProjectSourceView, RolloutStatus, Subscription, Topic,
};
use pilot_server::client::{ClientError, DeployTarget, LiveMessage, pack_dir};

/// Bounds every wait on the server, so a broken test fails instead of hanging.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("finished in time")
}

#[tokio::test]
async fn sessions_and_their_errors() {
    let server = ServedApi::start().await;
    let anonymous = server.client();

    let health = anonymous.health().await.unwrap();
    assert_eq!(health.status, "ok");

    let wrong = anonymous.login("ada", "wrong password").await.unwrap_err();
    assert!(
        matches!(&wrong, ClientError::Api { status: 401, code, .. } if code == "unauthorized"),
        "{wrong:?}"
    );
    assert!(
        wrong.to_string().contains("wrong user name or password"),
        "{wrong}"
    );

    let missing = anonymous.nodes().await.unwrap_err();
    assert!(
        matches!(missing, ClientError::NotLoggedIn { .. }),
        "{missing:?}"
    );
    assert!(
        missing.to_string().contains("run `pilot login`"),
        "{missing}"
    );
    assert_eq!(missing.status(), Some(401));

    let forged = server.client().with_token("not.a.token");
    let error = forged.nodes().await.unwrap_err();
    let ClientError::NotLoggedIn {
        reason,
        server: url,
    } = &error
    else {
        panic!("expected not logged in, got {error:?}");
    };
    assert!(reason.contains("malformed"), "{reason}");
    assert_eq!(url, &server.url());

    let session = anonymous.login("ada", ADMIN_PASSWORD).await.unwrap();
    assert_eq!(session.user.username, "ada");
    let admin = anonymous.with_token(session.token);
    let verified = admin.verify().await.unwrap();
    assert_eq!(verified.user.username, "ada");

    let users = admin.users().await.unwrap();
    assert_eq!(users.len(), 2);
    let viewer = server.viewer().await;
    let forbidden = viewer.create_node("web-9").await.unwrap_err();
    assert!(
        matches!(&forbidden, ClientError::Api { status: 403, code, .. } if code == "forbidden"),
        "{forbidden:?}"
    );
    assert!(forbidden.to_string().contains("admin"), "{forbidden}");
}

#[tokio::test]
async fn unreachable_servers_say_what_to_check() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = pilot_server::client::Client::new(&addr.to_string()).unwrap();
    let error = client.health().await.unwrap_err();
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("pilot serve"), "{error}");
}

#[tokio::test]
async fn nodes_are_enrolled_listed_and_revoked() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;

    let enrolment = admin.create_node("web-3").await.unwrap();
    assert_eq!(enrolment.node.name, "web-3");
    assert!(enrolment.token.starts_with("pilot_nt_"));
    assert!(enrolment.agent_command.contains("--token-file"));
    assert!(!enrolment.agent_command.contains(&enrolment.token));
    assert!(!format!("{enrolment:?}").contains(&enrolment.token));

    let taken = admin.create_node("web-3").await.unwrap_err();
    assert_eq!(taken.status(), Some(409), "{taken:?}");

    let nodes = admin.nodes().await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["bad-1", "web-1", "web-2", "web-3"]);
    assert!(nodes.iter().find(|n| n.name == "web-1").unwrap().online);
    assert!(!admin.node("web-2").await.unwrap().online);

    let rotated = admin.rotate_node_token("web-3").await.unwrap();
    assert_ne!(rotated.token, enrolment.token);

    admin.delete_node("web-3").await.unwrap();
    let gone = admin.node("web-3").await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    assert_eq!(gone.code(), Some("not_found"));
    assert!(admin.latest_metrics("web-1").await.unwrap().is_empty());
    assert!(admin.processes("web-1").await.unwrap().top.is_none());
}

#[tokio::test]
async fn projects_come_from_archives_made_by_pack_dir() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let dir = server.app_dir("shop", CONFIG);
    let archive = pack_dir(&dir).unwrap();
    let names = archive_names(&archive);
    assert!(
        names.contains(&"config.vpspilot.json".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with(".git")), "{names:?}");

    let nodes = vec!["web-1".to_string()];
    let created = admin
        .create_project_from_archive("shop", &nodes, Some(8300), archive, false)
        .await
        .unwrap();
    assert_eq!(created.project.summary.name, "shop");
    assert_eq!(created.project.summary.source, ProjectSourceView::Upload);
    assert_eq!(created.project.summary.public_port, Some(8300));
    assert!(created.rollout.is_none());

    let listed = admin.projects().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].app_type, "python");
    let detail = admin.project("shop").await.unwrap();
    assert_eq!(detail.online_nodes, ["web-1"]);

    let rejected = admin.update_config("shop", BAD_CONFIG).await.unwrap_err();
    assert_eq!(rejected.status(), Some(422));
    assert_eq!(rejected.code(), Some("invalid_config"));
    let problems = rejected.config_problems();
    assert!(problems.len() >= 2, "{problems:?}");
    assert!(
        problems.iter().any(|p| p.path == "runtime.python"),
        "{problems:?}"
    );
    assert!(problems.iter().all(|p| p.line.is_some()), "{problems:?}");

    let pinned = admin.update_config("shop", CONFIG).await.unwrap();
    assert!(pinned.summary.config_pinned);

    let missing = admin.project("nope").await.unwrap_err();
    assert!(missing.is_not_found());
    let removed = admin.remove_project("shop").await.unwrap();
    assert!(removed.nodes.iter().all(|n| n.ok), "{removed:?}");
    assert!(admin.projects().await.unwrap().is_empty());
}

#[tokio::test]
async fn secrets_are_set_listed_by_name_and_unset() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let archive = pack_dir(&server.app_dir("shop", CONFIG)).unwrap();
    let nodes = vec!["web-1".to_string(), "web-2".to_string()];
    admin
        .create_project_from_archive("shop", &nodes, None, archive, false)
        .await
        .unwrap();

    let before = admin.env("shop").await.unwrap();
    assert_eq!(before.missing, ["DB_PASSWORD"]);

    let value = "s3cret-value-never-shown";
    admin
        .set_env("shop", "DB_PASSWORD", value, None)
        .await
        .unwrap();
    admin
        .set_env("shop", "DB_PASSWORD", "node-only-value", Some("web-2"))
        .await
        .unwrap();
    let names = admin.env("shop").await.unwrap();
    assert_eq!(names.project, ["DB_PASSWORD"]);
    assert_eq!(names.nodes["web-2"], ["DB_PASSWORD"]);
    assert!(names.missing.is_empty());
    let shown = serde_json::to_string(&names).unwrap();
    assert!(!shown.contains(value) && !shown.contains("node-only-value"));

    let bad_key = admin
        .set_env("shop", "not a name", "x", None)
        .await
        .unwrap_err();
    assert_eq!(bad_key.status(), Some(422), "{bad_key:?}");

    admin
        .unset_env("shop", "DB_PASSWORD", Some("web-2"))
        .await
        .unwrap();
    admin.unset_env("shop", "DB_PASSWORD", None).await.unwrap();
    let after = admin.env("shop").await.unwrap();
    assert!(after.project.is_empty() && after.nodes.is_empty());
}

#[tokio::test]
async fn a_deploy_is_followed_live_to_its_end() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let dir = server.app_dir("shop", CONFIG);
    let nodes = vec!["web-1".to_string()];
    admin
        .create_project_from_archive("shop", &nodes, None, pack_dir(&dir).unwrap(), false)
        .await
        .unwrap();
    admin
        .set_env("shop", "DB_PASSWORD", "pw", None)
        .await
        .unwrap();

    // Node answers wait until wait_rollout subscribed and read the rollout twice.
    server.release_after_rollout_reads(2);
    let started = admin
        .deploy_archive("shop", pack_dir(&dir).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(started.status, RolloutStatus::Running);
    let mut seen = Vec::new();
    let done = within(admin.wait_rollout(&started.id, |e| seen.push(e.clone())))
        .await
        .unwrap();
    assert_eq!(done.status, RolloutStatus::Succeeded, "{done:?}");
    assert_eq!(done.nodes[0].generation, Some(1));

    let lines: Vec<&str> = seen
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Deploy {
                event:
                    DeployEvent {
                        kind: DeployEventKind::Log { line, .. },
                        ..
                    },
                node,
                ..
            } if node == "web-1" => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lines, [BUILD_LINE]);
    assert!(seen.iter().any(|e| matches!(
        e,
        ServerEvent::Deploy {
            event: DeployEvent {
                kind: DeployEventKind::StepFinished { .. },
                ..
            },
            ..
        }
    )));
    assert!(
        matches!(seen.last(), Some(ServerEvent::RolloutFinished { succeeded: true, rollout, .. }) if *rollout == started.id),
        "{seen:?}"
    );

    // A rollout that already ended comes back at once, without events.
    let again = within(admin.wait_rollout(&started.id, |_| panic!("no events")))
        .await
        .unwrap();
    assert_eq!(again.status, RolloutStatus::Succeeded);

    let history = admin.deployments("shop", Some(5)).await.unwrap();
    assert_eq!(history.len(), 1);
    let one = admin.deployment(&history[0].deployment.id).await.unwrap();
    assert_eq!(one.node, "web-1");
    assert!(
        admin
            .rollout("no-such-rollout")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn without_live_events_the_rollout_is_polled_to_its_end() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let dir = server.app_dir("shop", CONFIG);
    let nodes = vec!["web-1".to_string()];
    admin
        .create_project_from_archive("shop", &nodes, None, pack_dir(&dir).unwrap(), false)
        .await
        .unwrap();
    admin
        .set_env("shop", "DB_PASSWORD", "pw", None)
        .await
        .unwrap();
    server
        .live_off
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = admin.events(&Subscription::default()).await.unwrap_err();
    assert_eq!(refused.status(), Some(503), "{refused:?}");

    server.release_after_rollout_reads(2);
    let started = admin
        .deploy_archive("shop", pack_dir(&dir).unwrap(), None)
        .await
        .unwrap();
    let done = within(admin.wait_rollout(&started.id, |_| panic!("no live events")))
        .await
        .unwrap();
    assert_eq!(done.status, RolloutStatus::Succeeded, "{done:?}");
    assert!(
        *server.rollout_reads.borrow() >= 3,
        "the end came from a poll"
    );
}

#[tokio::test]
async fn a_failed_deploy_and_a_rollback_end_with_their_reason() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let repo_less = server.app_dir("api", CONFIG);
    let nodes = vec!["bad-1".to_string()];
    admin
        .create_project_from_archive("api", &nodes, None, pack_dir(&repo_less).unwrap(), false)
        .await
        .unwrap();
    admin
        .set_env("api", "DB_PASSWORD", "pw", None)
        .await
        .unwrap();
    let started = admin
        .deploy_archive("api", pack_dir(&repo_less).unwrap(), None)
        .await
        .unwrap();
    let done = within(admin.wait_rollout(&started.id, |_| {}))
        .await
        .unwrap();
    assert_eq!(done.status, RolloutStatus::Failed);
    assert!(
        done.nodes[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("build failed"),
        "{done:?}"
    );

    let back = admin.rollback("api", Some(1)).await.unwrap();
    let back = within(admin.wait_rollout(&back.id, |_| {})).await.unwrap();
    assert_eq!(back.project, "api");
    assert!(matches!(
        server.nodes.sent().last(),
        Some((
            _,
            pilot_core::protocol::Command::Rollback {
                generation: Some(1),
                ..
            }
        ))
    ));

    let git_deploy = admin
        .deploy("api", DeployTarget::Branch("main".into()), None)
        .await
        .unwrap_err();
    assert_eq!(git_deploy.status(), Some(422), "{git_deploy:?}");
    let results = admin.restart("api").await.unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].ok, "{results:?}");
}

#[tokio::test]
async fn logs_are_read_and_followed() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let nodes = vec!["web-1".to_string(), "web-2".to_string()];
    admin
        .create_project_from_archive(
            "shop",
            &nodes,
            None,
            pack_dir(&server.app_dir("shop", CONFIG)).unwrap(),
            false,
        )
        .await
        .unwrap();

    let logs = admin.logs("shop", Some(10)).await.unwrap();
    assert_eq!(logs.nodes.len(), 2);
    assert_eq!(logs.nodes[0].lines, ["web-1 line 1", "web-1 line 2"]);
    assert!(
        logs.nodes[1]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not connected")
    );

    let mut batches = Vec::new();
    within(admin.follow_logs("shop", 10, |b| batches.push(b.clone())))
        .await
        .unwrap();
    let lines: Vec<&String> = batches
        .iter()
        .filter(|b| b.node == "web-1")
        .flat_map(|b| &b.lines)
        .collect();
    assert_eq!(lines, ["web-1 line 1", "web-1 line 2"]);
    assert!(
        batches
            .iter()
            .any(|b| b.node == "web-2" && b.done && b.error.is_some())
    );
    assert!(matches!(
        server.nodes.sent().last(),
        Some((
            _,
            pilot_core::protocol::Command::Logs {
                follow: true,
                lines: 10,
                ..
            }
        ))
    ));

    let unknown = admin.follow_logs("nope", 5, |_| {}).await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");
}

#[tokio::test]
async fn live_events_arrive_after_the_subscription_is_confirmed() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let subscription = Subscription {
        topics: vec![Topic::Nodes],
        project: None,
        node: None,
    };
    let mut stream = within(admin.events(&subscription)).await.unwrap();
    server.state.events.publish(ServerEvent::NodeStatus {
        node: "web-2".into(),
        online: true,
        at_ms: 7,
    });
    let message = within(stream.next()).await.expect("open").unwrap();
    assert_eq!(
        message,
        LiveMessage::Event(ServerEvent::NodeStatus {
            node: "web-2".into(),
            online: true,
            at_ms: 7,
        })
    );
    stream.close().await;

    let refused = server.client().events(&subscription).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::NotLoggedIn { .. }),
        "{refused:?}"
    );
}

#[tokio::test]
async fn metrics_and_system_information() {
    let server = ServedApi::start().await;
    let admin = server.admin().await;
    let answer = admin
        .query_metrics(&MetricsQuery {
            metric: "cpu_usage_percent".into(),
            node: Some("web-1".into()),
            start: Some("-1h".into()),
            step: Some("1m".into()),
            ..MetricsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(answer.metric, "cpu_usage_percent");
    assert_eq!(answer.step_ms, 60_000);
    assert!(answer.series.is_empty());

    let bad = admin
        .query_metrics(&MetricsQuery {
            metric: "cpu_usage_percent".into(),
            step: Some("soon".into()),
            ..MetricsQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(422), "{bad:?}");

    let system = admin.system().await.unwrap();
    assert!(system.cpu_cores >= 1);
}

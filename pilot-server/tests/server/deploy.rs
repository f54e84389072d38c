//! Deploy orchestration against fake nodes and a real SQLite store.

use std::time::Duration;

use pilot_core::config;
use pilot_core::engine::{DeployEvent, DeployEventKind, Deployment, DeploymentKind, StepKind};
use pilot_core::protocol::{Command, CommandOutcome};
use pilot_core::source::{GitRef, SourceSpec};
use pilot_core::{SecretScope, SecretStore, SecretValue};
use pilot_server::deploy::{
    CanaryPlan, ControlAction, DeployOrder, NodeRolloutState, RolloutStatus,
};
use pilot_server::testing::{FakeNodes, TestServer};
use pilot_server::{CommandUpdate, Error, ServerEvent};
use pilot_store::SqliteDurability;
use pilot_store::records::{NewProject, ProjectSource, ProjectStatus};

/// The deployer of a [`TestServer`] over nodes answering with [`responder`].
type World = TestServer;

fn app_config() -> pilot_core::AppConfig {
    config::parse(
        r#"{"name": "Shop", "type": "python", "runtime": {"python": "3.11"},
            "start": {"command": "python3 app.py"}, "env": {"DB": "{{DB_URL}}"}}"#,
    )
    .expect("valid config")
}

fn journal(project: &str, generation: u64) -> Deployment {
    Deployment::new(
        project,
        DeploymentKind::Deploy {
            source: SourceSpec::Dir {
                path: "/srv/app".into(),
            },
            config: None,
        },
        pilot_core::config::Strategy::BlueGreen,
        generation,
        None,
        &[StepKind::Fetch, StepKind::Switch],
    )
}

/// Deploys succeed with progress and a journal, except on nodes named
/// `bad-*`, which fail at Build.
fn responder(node: &str, command: &Command) -> Vec<CommandUpdate> {
    let project = command.project().to_string();
    let Command::Deploy { .. } = command else {
        return vec![CommandUpdate::Finished(CommandOutcome::Succeeded {
            deployment: None,
            generation: Some(1),
        })];
    };
    let record = journal(&project, 3);
    let started = CommandUpdate::Progress(DeployEvent {
        deployment: record.id.clone(),
        project: project.clone(),
        kind: DeployEventKind::StepStarted {
            step: StepKind::Build,
        },
    });
    if node.starts_with("bad-") {
        return vec![
            started,
            CommandUpdate::Journal(Box::new(record)),
            CommandUpdate::Finished(CommandOutcome::Failed {
                error: "build failed: exit status 1".into(),
            }),
        ];
    }
    vec![
        started,
        CommandUpdate::Journal(Box::new(record.clone())),
        CommandUpdate::Finished(CommandOutcome::Succeeded {
            deployment: Some(record.id),
            generation: Some(3),
        }),
    ]
}

async fn world(nodes: &[&str], source: ProjectSource) -> World {
    let mut builder = TestServer::builder()
        .nodes(FakeNodes::with_responder(Box::new(responder)))
        .without_users()
        .durability(SqliteDurability::Full);
    for node in nodes {
        builder = builder.node(node, true);
    }
    let world = builder.build().await;
    world
        .store
        .create_project(NewProject {
            name: "shop".into(),
            config: app_config(),
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            public_port: None,
            source,
        })
        .await
        .unwrap();
    world
}

fn git() -> ProjectSource {
    ProjectSource::Git {
        url: "file:///srv/git/shop.git".into(),
        branch: Some("main".into()),
    }
}

fn order() -> DeployOrder {
    DeployOrder {
        project: "shop".into(),
        requested_by: "ada".into(),
        ..DeployOrder::default()
    }
}

async fn finished(w: &World, id: &str) -> pilot_server::deploy::Rollout {
    tokio::time::timeout(Duration::from_secs(10), w.deployer.wait(id))
        .await
        .expect("the rollout ends")
        .expect("the rollout is known")
}

#[tokio::test]
async fn a_deploy_reaches_every_node_with_its_own_secrets_and_is_recorded() {
    let w = world(&["web-1", "web-2"], git()).await;
    let project = SecretScope::project("shop");
    w.secrets
        .set(&project, "DB_URL", SecretValue::new("postgres://shared"))
        .await
        .unwrap();
    w.secrets
        .set(
            &SecretScope::node("shop", "web-2"),
            "DB_URL",
            SecretValue::new("postgres://web-2-only"),
        )
        .await
        .unwrap();
    let mut events = w.events.subscribe();

    let planned = w.deployer.deploy(order()).await.unwrap();
    assert_eq!(planned.status, RolloutStatus::Running);
    let done = finished(&w, &planned.id).await;
    assert_eq!(done.status, RolloutStatus::Succeeded, "{done:?}");
    assert!(
        done.nodes
            .iter()
            .all(|n| n.state == NodeRolloutState::Succeeded
                && n.generation == Some(3)
                && n.deployment.is_some())
    );

    let sent = w.nodes.sent();
    assert_eq!(sent.len(), 2);
    for (node, command) in &sent {
        let Command::Deploy {
            source,
            secrets,
            config,
            archive,
            ..
        } = command
        else {
            panic!("expected a deploy, got {command:?}");
        };
        assert_eq!(
            source,
            &SourceSpec::Git {
                url: "file:///srv/git/shop.git".into(),
                reference: GitRef::Branch("main".into()),
            }
        );
        assert!(config.is_none(), "the config is not pinned");
        assert!(archive.is_none());
        let values = secrets.clone().into_secret_values();
        let expected = if node == "web-2" {
            "postgres://web-2-only"
        } else {
            "postgres://shared"
        };
        assert_eq!(values["DB_URL"].expose(), expected);
    }
    assert_eq!(
        w.store.project("shop").await.unwrap().unwrap().status,
        ProjectStatus::Running
    );
    let history = w.store.deployments("shop", 10).await.unwrap();
    let mut recorded: Vec<&str> = history.iter().map(|r| r.node.as_str()).collect();
    recorded.sort();
    assert_eq!(recorded, ["web-1", "web-2"], "one journal per node");

    let mut saw_progress = false;
    let mut saw_end = false;
    while let Ok(event) = events.try_recv() {
        match &*event {
            ServerEvent::Deploy { rollout, .. } => saw_progress |= *rollout == planned.id,
            ServerEvent::RolloutFinished { succeeded, .. } => saw_end |= *succeeded,
            _ => {}
        }
    }
    assert!(saw_progress && saw_end);
}

#[tokio::test]
async fn pinned_configs_and_uploaded_archives_travel_with_the_command() {
    let w = world(&["web-1"], ProjectSource::Upload).await;
    let err = w.deployer.deploy(order()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("send the app as a .zip or .tar.gz"),
        "{err}"
    );
    let mut config = app_config();
    config.name = "Pinned".into();
    w.store
        .update_project_config("shop", &config)
        .await
        .unwrap();
    let planned = w
        .deployer
        .deploy(DeployOrder {
            archive: Some(vec![1, 2, 3]),
            ..order()
        })
        .await
        .unwrap();
    assert_eq!(
        finished(&w, &planned.id).await.status,
        RolloutStatus::Succeeded
    );
    let (_, command) = &w.nodes.sent()[0];
    let Command::Deploy {
        config, archive, ..
    } = command
    else {
        panic!("expected a deploy");
    };
    assert_eq!(config.as_deref().map(|c| c.name.as_str()), Some("Pinned"));
    assert_eq!(archive.as_ref().map(|a| a.0.clone()), Some(vec![1, 2, 3]));
}

#[tokio::test]
async fn bad_requests_fail_before_anything_is_sent() {
    let w = world(&["web-1"], git()).await;
    let unknown = w
        .deployer
        .deploy(DeployOrder {
            project: "nope".into(),
            ..order()
        })
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::UnknownProject { .. }), "{unknown}");
    let stranger = w
        .deployer
        .deploy(DeployOrder {
            canary: Some(CanaryPlan {
                nodes: vec!["web-9".into()],
                watch: Duration::ZERO,
            }),
            ..order()
        })
        .await
        .unwrap_err();
    assert!(
        stranger.to_string().contains("canary node web-9"),
        "{stranger}"
    );
    w.store.assign_nodes("shop", &[]).await.unwrap();
    let none = w.deployer.deploy(order()).await.unwrap_err();
    assert!(matches!(none, Error::NoNodes { .. }), "{none}");
    assert!(w.nodes.sent().is_empty());
}

#[tokio::test]
async fn a_failing_canary_stops_the_rollout_and_healthy_canaries_go_back() {
    let w = world(&["bad-1", "good-1", "web-2", "web-3"], git()).await;
    let planned = w
        .deployer
        .deploy(DeployOrder {
            canary: Some(CanaryPlan {
                nodes: vec!["bad-1".into(), "good-1".into()],
                watch: Duration::from_millis(50),
            }),
            ..order()
        })
        .await
        .unwrap();
    assert_eq!(planned.nodes[0].node, "bad-1", "canaries go first");
    let done = finished(&w, &planned.id).await;
    assert_eq!(done.status, RolloutStatus::Failed);
    assert!(
        done.reason
            .as_deref()
            .unwrap()
            .contains("node bad-1: build failed")
    );
    let state = |node: &str| done.nodes.iter().find(|n| n.node == node).unwrap().state;
    assert_eq!(state("bad-1"), NodeRolloutState::Failed);
    assert_eq!(state("good-1"), NodeRolloutState::RolledBack);
    assert_eq!(state("web-2"), NodeRolloutState::Skipped);
    assert_eq!(state("web-3"), NodeRolloutState::Skipped);
    let sent: Vec<_> = w
        .nodes
        .sent()
        .into_iter()
        .map(|(node, c)| (node, matches!(c, Command::Rollback { .. })))
        .collect();
    assert!(sent.contains(&("good-1".into(), true)), "{sent:?}");
    assert!(!sent.iter().any(|(n, _)| n.starts_with("web-")), "{sent:?}");
    assert_eq!(
        w.store.project("shop").await.unwrap().unwrap().status,
        ProjectStatus::Failed,
        "never deployed before, nothing serves"
    );
}

#[tokio::test]
async fn canaries_that_stay_healthy_let_the_rest_follow() {
    let w = world(&["web-1", "web-2", "web-3"], git()).await;
    let planned = w
        .deployer
        .deploy(DeployOrder {
            canary: Some(CanaryPlan {
                nodes: vec!["web-2".into()],
                watch: Duration::from_millis(100),
            }),
            ..order()
        })
        .await
        .unwrap();
    let done = finished(&w, &planned.id).await;
    assert_eq!(done.status, RolloutStatus::Succeeded, "{done:?}");
    let order: Vec<String> = w.nodes.sent().into_iter().map(|(n, _)| n).collect();
    assert_eq!(order[0], "web-2", "the canary went first: {order:?}");
    assert_eq!(order.len(), 3);
}

#[tokio::test]
async fn a_canary_that_disconnects_while_watched_fails_the_rollout() {
    let w = world(&["web-1", "web-2"], git()).await;
    let planned = w
        .deployer
        .deploy(DeployOrder {
            canary: Some(CanaryPlan {
                nodes: vec!["web-1".into()],
                watch: Duration::from_secs(5),
            }),
            ..order()
        })
        .await
        .unwrap();
    // Wait for the canary's deploy to finish, then pull its plug.
    for _ in 0..200 {
        let r = w.deployer.rollout(&planned.id).unwrap();
        if r.nodes[0].state == NodeRolloutState::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    w.nodes.set_online("web-1", false);
    let done = finished(&w, &planned.id).await;
    assert_eq!(done.status, RolloutStatus::Failed);
    assert!(done.reason.unwrap().contains("web-1 disconnected"));
    assert_eq!(done.nodes[1].state, NodeRolloutState::Skipped);
}

#[tokio::test]
async fn offline_nodes_fail_their_part_and_control_commands_report_per_node() {
    let w = world(&["web-1", "web-2"], git()).await;
    w.nodes.set_online("web-2", false);
    let planned = w.deployer.deploy(order()).await.unwrap();
    let done = finished(&w, &planned.id).await;
    assert_eq!(done.status, RolloutStatus::Failed);
    assert!(
        done.nodes[1]
            .error
            .as_deref()
            .unwrap()
            .contains("not connected")
    );

    let results = w
        .deployer
        .control("shop", ControlAction::Stop)
        .await
        .unwrap();
    assert!(results[0].ok && !results[1].ok);
    w.nodes.set_online("web-2", true);
    let results = w
        .deployer
        .control("shop", ControlAction::Stop)
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.ok));
    assert_eq!(
        w.store.project("shop").await.unwrap().unwrap().status,
        ProjectStatus::Stopped
    );
    let rollback = w.deployer.rollback("shop", Some(2)).await.unwrap();
    assert_eq!(
        finished(&w, &rollback.id).await.status,
        RolloutStatus::Succeeded
    );
    assert!(w.nodes.sent().iter().any(|(_, c)| matches!(
        c,
        Command::Rollback {
            generation: Some(2),
            ..
        }
    )));
    assert_eq!(w.deployer.rollouts_of("shop").len(), 2);
    let logs = w.deployer.logs("shop", 10, false).await.unwrap();
    assert_eq!(logs.len(), 2);
}

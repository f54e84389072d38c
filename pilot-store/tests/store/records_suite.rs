//! The records of `SqlStore` (users, nodes, projects, deployments, audit
//! log, settings), run unchanged on SQLite and on PostgreSQL.

use std::path::PathBuf;

use pilot_core::config::{self, Strategy};
use pilot_core::engine::{DeployState, DeploymentKind, StepKind};
use pilot_core::source::SourceSpec;
use pilot_core::{Deployment, SecretScope};
use pilot_store::records::{
    AuditFilter, DeploymentSummary, NewAuditEntry, NewProject, ProjectPlacement, ProjectSource,
    ProjectStatus, Role,
};
use pilot_store::{Database, Error, SqlStore};

fn app_config() -> pilot_core::AppConfig {
    config::parse(
        r#"{"name": "Shop", "type": "nodejs", "runtime": {"node": "20"},
            "start": {"command": "node server.js"}, "env": {"DB": "{{DB_URL}}"}}"#,
    )
    .expect("valid config")
}

async fn users(db: &Database) {
    let store = SqlStore::new(db.clone());
    let ada = store
        .create_user("ada", "correct horse", Role::Admin)
        .await
        .unwrap();
    store
        .create_user("bob", "battery staple", Role::Viewer)
        .await
        .unwrap();
    let dup = store.create_user("ada", "another one", Role::Viewer).await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "user", .. })),
        "{dup:?}"
    );
    let short = store.create_user("eve", "short", Role::Viewer).await;
    assert!(matches!(
        short,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));

    assert_eq!(
        store.verify_password("ada", "correct horse").await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        store.verify_password("ada", "wrong horse").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .verify_password("nobody", "correct horse")
            .await
            .unwrap(),
        None
    );

    store.set_password("ada", "new password").await.unwrap();
    assert!(
        store
            .verify_password("ada", "correct horse")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .verify_password("ada", "new password")
            .await
            .unwrap()
            .is_some()
    );
    store.set_role("bob", Role::Admin).await.unwrap();
    let names: Vec<(String, Role)> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.role))
        .collect();
    assert_eq!(
        names,
        [("ada".into(), Role::Admin), ("bob".into(), Role::Admin)]
    );
    store.delete_user("bob").await.unwrap();
    assert!(store.user("bob").await.unwrap().is_none());
    let missing = store.set_role("bob", Role::Viewer).await.unwrap_err();
    assert!(
        missing.to_string().contains("\"bob\" does not exist"),
        "{missing}"
    );
}

async fn nodes(db: &Database) {
    let store = SqlStore::new(db.clone());
    let (node, token) = store.register_node("web-1").await.unwrap();
    assert_eq!(node.last_seen_ms, None);
    assert_eq!(format!("{token:?}"), "NodeToken(********)");
    let found = store.authenticate_node(token.expose()).await.unwrap();
    assert_eq!(found.map(|n| n.name), Some("web-1".to_string()));
    assert!(
        store
            .authenticate_node("pnt_forged")
            .await
            .unwrap()
            .is_none()
    );

    let info = serde_json::json!({"os": "debian 12", "cpus": 2});
    store
        .record_heartbeat("web-1", 1_000, Some(&info))
        .await
        .unwrap();
    store.record_heartbeat("web-1", 2_000, None).await.unwrap();
    let node = store.node("web-1").await.unwrap().unwrap();
    assert_eq!(node.last_seen_ms, Some(2_000));
    assert_eq!(node.system_info, Some(info));
    assert!(node.is_online(2_500, 1_000));
    assert!(!node.is_online(5_000, 1_000));

    let rotated = store.rotate_node_token("web-1").await.unwrap();
    assert!(
        store
            .authenticate_node(token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .authenticate_node(rotated.expose())
            .await
            .unwrap()
            .is_some()
    );

    // Only the hash is stored.
    let store_text = format!("{:?}", store.nodes().await.unwrap());
    assert!(!store_text.contains(rotated.expose()));
    let dup = store.register_node("web-1").await;
    assert!(matches!(
        dup,
        Err(Error::AlreadyExists { kind: "node", .. })
    ));
    let bad = store.register_node("web 1").await.unwrap_err();
    assert!(bad.to_string().contains("node name"), "{bad}");
    store.delete_node("web-1").await.unwrap();
    assert!(store.nodes().await.unwrap().is_empty());
}

async fn projects(db: &Database) {
    let store = SqlStore::new(db.clone());
    store.register_node("n1").await.unwrap();
    store.register_node("n2").await.unwrap();
    let created = store
        .create_project(NewProject {
            name: "shop".into(),
            config: app_config(),
            nodes: vec!["n2".into(), "n1".into()],
            public_port: Some(8080),
            source: ProjectSource::Git {
                url: "https://example.test/shop.git".into(),
                branch: Some("main".into()),
            },
        })
        .await
        .unwrap();
    assert_eq!(created.nodes, ["n1", "n2"]);
    assert!(!created.config_pinned);
    assert_eq!(created.status, ProjectStatus::Created);
    assert_eq!(store.project("shop").await.unwrap(), Some(created));

    let clash = store
        .create_project(NewProject {
            name: "blog".into(),
            config: app_config(),
            nodes: vec![],
            public_port: Some(8080),
            source: ProjectSource::Upload,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            clash,
            Error::AlreadyExists {
                kind: "public port",
                ..
            }
        ),
        "{clash}"
    );
    let unknown = store
        .create_project(NewProject {
            name: "blog".into(),
            config: app_config(),
            nodes: vec!["n9".into()],
            public_port: None,
            source: ProjectSource::Upload,
        })
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("not a registered node"),
        "{unknown}"
    );
    assert!(
        store.project("blog").await.unwrap().is_none(),
        "the failed create left no row"
    );
    let invalid = store
        .create_project(NewProject {
            name: "../etc".into(),
            config: app_config(),
            nodes: vec![],
            public_port: None,
            source: ProjectSource::Upload,
        })
        .await;
    assert!(invalid.is_err());

    let mut from_source = app_config();
    from_source.name = "Shop from git".into();
    store
        .record_source_config("shop", &from_source)
        .await
        .unwrap();
    let shop = store.project("shop").await.unwrap().unwrap();
    assert_eq!(shop.config.name, "Shop from git");
    assert!(!shop.config_pinned);
    let mut config = app_config();
    config.name = "Shop v2".into();
    store.update_project_config("shop", &config).await.unwrap();
    store
        .record_source_config("shop", &from_source)
        .await
        .unwrap();
    store
        .set_project_source("shop", &ProjectSource::Upload)
        .await
        .unwrap();
    store
        .set_project_status("shop", ProjectStatus::Running)
        .await
        .unwrap();
    store.set_public_port("shop", Some(9090)).await.unwrap();
    store.assign_nodes("shop", &["n2".into()]).await.unwrap();
    let shop = store.project("shop").await.unwrap().unwrap();
    assert_eq!(shop.config.name, "Shop v2", "a pinned config wins");
    assert!(shop.config_pinned);
    assert_eq!(shop.source, ProjectSource::Upload);
    assert_eq!(shop.status, ProjectStatus::Running);
    assert_eq!(shop.public_port, Some(9090));
    assert_eq!(shop.nodes, ["n2"]);
    assert_eq!(store.projects_on_node("n2").await.unwrap(), ["shop"]);
    let summaries = store.project_placements().await.unwrap();
    let full: Vec<ProjectPlacement> = store
        .projects()
        .await
        .unwrap()
        .iter()
        .map(Into::into)
        .collect();
    assert_eq!(summaries, full);
    assert!(summaries.iter().any(|p| p.nodes == ["n2"]), "{summaries:?}");
    assert!(store.projects_on_node("n1").await.unwrap().is_empty());
    store.delete_node("n2").await.unwrap();
    assert!(
        store
            .project("shop")
            .await
            .unwrap()
            .unwrap()
            .nodes
            .is_empty()
    );
    assert_eq!(store.projects().await.unwrap().len(), 1);
    store.delete_project("shop").await.unwrap();
    assert!(store.delete_project("shop").await.is_err());
}

fn deployment(generation: u64) -> Deployment {
    Deployment::new(
        "shop",
        DeploymentKind::Deploy {
            source: SourceSpec::Dir {
                path: PathBuf::from("/srv/shop"),
            },
            config: None,
        },
        Strategy::BlueGreen,
        generation,
        None,
        &[StepKind::Fetch, StepKind::Build, StepKind::Switch],
    )
}

async fn deployments(db: &Database) {
    let store = SqlStore::new(db.clone());
    store
        .create_project(NewProject {
            name: "shop".into(),
            config: app_config(),
            nodes: vec![],
            public_port: None,
            source: ProjectSource::Upload,
        })
        .await
        .unwrap();
    let mut first = deployment(1);
    first.version = Some("abc1234".into());
    store.save_deployment("n1", &first).await.unwrap();
    first.transition(DeployState::Running).unwrap();
    first.transition(DeployState::Reverting).unwrap();
    first.reason = Some("build failed".into());
    first.transition(DeployState::Failed).unwrap();
    store.save_deployment("n1", &first).await.unwrap();
    let mut second = deployment(2);
    second.created_ms = first.created_ms + 1;
    store.save_deployment("n2", &second).await.unwrap();

    let got = store.deployment(&first.id).await.unwrap().unwrap();
    assert_eq!(got.node, "n1");
    assert_eq!(got.deployment, first);
    assert_eq!(got.deployment.state(), DeployState::Failed);
    assert_eq!(got.deployment.steps.len(), 3);
    let history = store.deployments("shop", 10).await.unwrap();
    let gens: Vec<u64> = history.iter().map(|r| r.deployment.generation).collect();
    assert_eq!(gens, [2, 1]);
    assert_eq!(store.deployments("shop", 1).await.unwrap().len(), 1);

    // The newest (generation 2, pending) is not live; nothing succeeded yet.
    let overview = |rows: Vec<DeploymentSummary>| {
        rows.into_iter()
            .map(|d| (d.project, d.generation))
            .collect::<Vec<_>>()
    };
    let newest = store.newest_and_live_deployments().await.unwrap();
    assert_eq!(overview(newest), [("shop".to_string(), 2)]);
    // An older succeeded one is listed after the newest.
    let mut live = deployment(3);
    live.created_ms = first.created_ms - 1;
    live.transition(DeployState::Running).unwrap();
    live.transition(DeployState::Succeeded).unwrap();
    store.save_deployment("n1", &live).await.unwrap();
    let newest = store.newest_and_live_deployments().await.unwrap();
    assert_eq!(
        overview(newest.clone()),
        [("shop".to_string(), 2), ("shop".to_string(), 3)]
    );
    // The summary says what the journal says.
    let mut journal = store.deployment(&live.id).await.unwrap().unwrap();
    assert_eq!(newest[1], DeploymentSummary::from(&journal));
    journal.deployment.public_port = Some(8080);
    store
        .save_deployment("n1", &journal.deployment)
        .await
        .unwrap();
    let newest = store.newest_and_live_deployments().await.unwrap();
    assert_eq!(newest[1].public_port, Some(8080));
    assert_eq!(newest[1].state, DeployState::Succeeded);

    let mut orphan = deployment(1);
    orphan.project = "ghost".into();
    let err = store.save_deployment("n1", &orphan).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: "project",
                ..
            }
        ),
        "{err}"
    );
    store.delete_project("shop").await.unwrap();
    assert!(store.deployment(&first.id).await.unwrap().is_none());
}

async fn audit_settings(db: &Database) {
    let store = SqlStore::new(db.clone());
    let scope = SecretScope::node("shop", "n1");
    let a = store
        .record_audit(NewAuditEntry::secret_changed(
            "ada",
            "secret.set",
            &scope,
            "DB_URL",
        ))
        .await
        .unwrap();
    let b = store
        .record_audit(NewAuditEntry {
            actor: "bob".into(),
            action: "project.create".into(),
            target: "project:blog".into(),
            detail: serde_json::json!({"port": 80}),
        })
        .await
        .unwrap();
    assert!(b > a);
    let all = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [b, a]);
    assert_eq!(
        all[1].detail,
        serde_json::json!({"secret": "DB_URL", "node": "n1"})
    );
    let shop = AuditFilter {
        target: Some("project:shop".into()),
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_entries(&shop).await.unwrap().len(), 1);
    let paged = AuditFilter {
        before_id: Some(b),
        limit: 5,
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_entries(&paged).await.unwrap()[0].id, a);

    assert_eq!(store.setting("site.name").await.unwrap(), None);
    store.set_setting("site.name", "Pilot").await.unwrap();
    store.set_setting("site.name", "Pilot 2").await.unwrap();
    store.set_setting("retention.days", "30").await.unwrap();
    assert_eq!(
        store.setting("site.name").await.unwrap().as_deref(),
        Some("Pilot 2")
    );
    assert_eq!(store.settings().await.unwrap().len(), 2);
    store.delete_setting("site.name").await.unwrap();
    store.delete_setting("site.name").await.unwrap();
    assert_eq!(
        store.settings().await.unwrap().keys().collect::<Vec<_>>(),
        ["retention.days"]
    );
}

crate::on_both_backends!(users, nodes, projects, deployments, audit_settings,);

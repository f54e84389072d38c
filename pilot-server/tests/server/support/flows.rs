//! Request sequences several test files share: fake nodes that journal,
//! project creation, uploads and waiting for rollouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use pilot_core::Deployment;
use pilot_core::config::Strategy;
use pilot_core::engine::{DeploymentKind, StepKind};
use pilot_core::protocol::{Command, CommandOutcome};
use pilot_core::source::SourceSpec;
use pilot_server::CommandUpdate;
use pilot_server::testing::FakeNodes;
use serde_json::{Value, json};

use super::api::{Reply, TestApi};

/// Fake nodes that report a journal for deploys and rollbacks, and log
/// lines for log requests.
pub fn journaling_nodes() -> FakeNodes {
    let generation = Arc::new(AtomicU64::new(0));
    FakeNodes::with_responder(Box::new(move |node, command| match command {
        Command::Deploy { project, .. } | Command::Rollback { project, .. } => {
            let gen_no = generation.fetch_add(1, Ordering::SeqCst) + 1;
            let kind = DeploymentKind::Deploy {
                source: SourceSpec::Dir {
                    path: "/srv/app".into(),
                },
                config: None,
            };
            let deployment = Deployment::new(
                project,
                kind,
                Strategy::BlueGreen,
                gen_no,
                None,
                &[StepKind::Fetch, StepKind::Build],
            );
            vec![
                CommandUpdate::Journal(Box::new(deployment.clone())),
                CommandUpdate::Finished(CommandOutcome::Succeeded {
                    deployment: Some(deployment.id),
                    generation: Some(gen_no),
                }),
            ]
        }
        Command::Logs { lines, .. } => vec![
            CommandUpdate::Log(vec![
                format!("{node}: started"),
                format!("asked for {lines}"),
            ]),
            CommandUpdate::Finished(CommandOutcome::Succeeded {
                deployment: None,
                generation: None,
            }),
        ],
        _ => vec![CommandUpdate::Finished(CommandOutcome::Succeeded {
            deployment: None,
            generation: None,
        })],
    }))
}

pub async fn create_git_project(api: &TestApi, name: &str, config: &str, nodes: &[&str]) -> Reply {
    let repo = api.git_repo(name, config);
    api.json(
        Method::POST,
        "/api/v1/projects",
        &api.admin,
        json!({
            "name": name,
            "nodes": nodes,
            "git": { "url": repo.to_string_lossy(), "branch": "main" },
        }),
    )
    .await
}

pub async fn upload(api: &TestApi, path: &str, archive: Vec<u8>) -> Reply {
    api.call(Method::POST, path, Some(&api.admin), Body::from(archive))
        .await
}

/// Waits for a rollout to end and returns it.
pub async fn finished(api: &TestApi, rollout: &Value) -> Value {
    let id = rollout["id"].as_str().expect("rollout id");
    let reply = api
        .get(&format!("/api/v1/rollouts/{id}?wait_secs=20"), &api.viewer)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let rollout = reply.json();
    assert_ne!(rollout["status"], "running", "{rollout}");
    rollout
}

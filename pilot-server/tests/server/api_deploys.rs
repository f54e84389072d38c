//! Secrets, deploys, rollbacks, start/stop/restart, logs, history and
//! removal through the real deployer.

use crate::support::api::{CONFIG, TestApi};
use crate::support::flows::{create_git_project, finished, journaling_nodes};
use axum::http::{Method, StatusCode};
use pilot_core::protocol::Command;
use pilot_core::{SecretScope, SecretStore};
use pilot_store::records::AuditFilter;
use serde_json::{Value, json};

const SECRET: &str = "s3cr3t-value-that-must-not-leak";

#[tokio::test]
async fn secrets_are_written_and_listed_by_name_but_never_returned() {
    let api = TestApi::build(journaling_nodes(), |_| {}).await;
    assert_eq!(
        create_git_project(&api, "shop", CONFIG, &["web-1"])
            .await
            .status,
        StatusCode::CREATED
    );

    let before = api
        .get("/api/v1/projects/shop/env", &api.viewer)
        .await
        .json();
    assert_eq!(before["missing"], json!(["DB_PASSWORD"]));

    let put = |token: String, key: &'static str, body: Value| {
        let api = &api;
        async move {
            api.json(
                Method::PUT,
                &format!("/api/v1/projects/shop/env/{key}"),
                &token,
                body,
            )
            .await
        }
    };
    assert_eq!(
        put(
            api.viewer.clone(),
            "DB_PASSWORD",
            json!({ "value": SECRET })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(api.admin.clone(), "DB_PASSWORD", json!({ "value": SECRET }))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put(
            api.admin.clone(),
            "DB_PASSWORD",
            json!({ "value": SECRET, "node": "web-1" })
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        put(
            api.admin.clone(),
            "DB_PASSWORD",
            json!({ "value": SECRET, "node": "ghost" })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(api.admin.clone(), "BAD-NAME", json!({ "value": SECRET }))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let names = api.get("/api/v1/projects/shop/env", &api.viewer).await;
    assert_eq!(
        names.json(),
        json!({ "project": ["DB_PASSWORD"], "nodes": { "web-1": ["DB_PASSWORD"] }, "missing": [] })
    );

    let deploy = api
        .json(
            Method::POST,
            "/api/v1/projects/shop/deploy",
            &api.admin,
            json!({}),
        )
        .await;
    assert_eq!(deploy.status, StatusCode::ACCEPTED, "{}", deploy.text());
    let rollout = finished(&api, &deploy.json()).await;
    assert_eq!(rollout["status"], "succeeded", "{rollout}");
    let Command::Deploy { secrets, .. } = &api.nodes.sent()[0].1 else {
        panic!("a deploy command was sent");
    };
    assert_eq!(
        secrets.names().collect::<Vec<_>>(),
        ["DB_PASSWORD"],
        "the value travels only in the command"
    );

    let mut seen = String::new();
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/shop",
        "/api/v1/projects/shop/env",
        "/api/v1/projects/shop/deployments",
        "/api/v1/nodes",
        "/api/v1/openapi.json",
    ] {
        seen.push_str(&api.get(path, &api.admin).await.text());
    }
    seen.push_str(&api.page("/", &api.admin).await.text());
    seen.push_str(&api.page("/projects/shop", &api.admin).await.text());
    seen.push_str(
        &api.get(
            &format!("/api/v1/rollouts/{}", rollout["id"].as_str().unwrap()),
            &api.admin,
        )
        .await
        .text(),
    );
    let audit = api
        .state
        .store
        .audit_entries(&AuditFilter::default())
        .await
        .unwrap();
    seen.push_str(&serde_json::to_string(&audit).unwrap());
    assert!(!seen.contains(SECRET), "a secret value leaked");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "secret.set" && e.detail["secret"] == "DB_PASSWORD")
    );

    let deleted = api
        .json(
            Method::DELETE,
            "/api/v1/projects/shop/env/DB_PASSWORD",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = api
        .get("/api/v1/projects/shop/env", &api.viewer)
        .await
        .json();
    assert_eq!(after["project"], json!([]));
}

#[tokio::test]
async fn deploys_rollbacks_control_logs_and_history_work_through_the_deployer() {
    let api = TestApi::build(journaling_nodes(), |_| {}).await;
    assert_eq!(
        create_git_project(&api, "shop", CONFIG, &["web-1"])
            .await
            .status,
        StatusCode::CREATED
    );
    api.state
        .secrets
        .set(
            &SecretScope::project("shop"),
            "DB_PASSWORD",
            pilot_core::SecretValue::new(SECRET),
        )
        .await
        .unwrap();

    let deploy = api
        .json(
            Method::POST,
            "/api/v1/projects/shop/deploy",
            &api.admin,
            json!({ "ref": { "type": "branch", "name": "main" } }),
        )
        .await;
    assert_eq!(deploy.status, StatusCode::ACCEPTED, "{}", deploy.text());
    let first = finished(&api, &deploy.json()).await;
    assert_eq!(first["nodes"][0]["generation"], 1);

    let rollback = api
        .json(
            Method::POST,
            "/api/v1/projects/shop/rollback",
            &api.admin,
            json!({ "generation": 1 }),
        )
        .await;
    assert_eq!(rollback.status, StatusCode::ACCEPTED);
    assert_eq!(rollback.json()["kind"], "rollback");
    finished(&api, &rollback.json()).await;
    assert!(matches!(
        api.nodes.sent().last(),
        Some((
            _,
            Command::Rollback {
                generation: Some(1),
                ..
            }
        ))
    ));
    let to_previous = api
        .json(
            Method::POST,
            "/api/v1/projects/shop/rollback",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(
        to_previous.status,
        StatusCode::ACCEPTED,
        "an empty body means the previous generation"
    );
    finished(&api, &to_previous.json()).await;
    assert!(matches!(
        api.nodes.sent().last(),
        Some((
            _,
            Command::Rollback {
                generation: None,
                ..
            }
        ))
    ));

    for action in ["stop", "start", "restart"] {
        let reply = api
            .json(
                Method::POST,
                &format!("/api/v1/projects/shop/{action}"),
                &api.admin,
                Value::Null,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text());
        assert_eq!(
            reply.json(),
            json!([{ "node": "web-1", "ok": true, "error": null }])
        );
    }

    let logs = api
        .get("/api/v1/projects/shop/logs?lines=7", &api.viewer)
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.text());
    assert_eq!(
        logs.json()["nodes"][0]["lines"],
        json!(["web-1: started", "asked for 7"])
    );

    let history = api
        .get("/api/v1/projects/shop/deployments", &api.viewer)
        .await
        .json();
    assert_eq!(history.as_array().unwrap().len(), 3, "{history}");
    let id = history[0]["deployment"]["id"].as_str().unwrap();
    let one = api
        .get(&format!("/api/v1/deployments/{id}"), &api.viewer)
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["node"], "web-1");
    assert_eq!(
        one.json()["deployment"]["steps"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        api.get("/api/v1/deployments/nope", &api.viewer)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v1/rollouts/nope", &api.viewer).await.status,
        StatusCode::NOT_FOUND
    );

    let page = api.page("/projects/shop", &api.viewer).await.text();
    assert!(page.contains(id), "the project page lists the deployment");

    let removed = api
        .json(
            Method::DELETE,
            "/api/v1/projects/shop",
            &api.admin,
            Value::Null,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(removed.json()["nodes"][0]["ok"], true);
    assert!(matches!(
        api.nodes.sent().last(),
        Some((_, Command::Remove { .. }))
    ));
    assert_eq!(
        api.get("/api/v1/projects/shop", &api.viewer).await.status,
        StatusCode::NOT_FOUND
    );
    let left = api
        .state
        .secrets
        .names(&SecretScope::project("shop"))
        .await
        .unwrap();
    assert!(left.is_empty(), "secrets go with the project");

    let audit = api
        .state
        .store
        .audit_entries(&AuditFilter::default())
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "project.create",
        "project.deploy",
        "project.rollback",
        "project.stop",
        "project.start",
        "project.restart",
        "project.delete",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

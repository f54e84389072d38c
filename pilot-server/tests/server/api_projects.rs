//! Projects from git, config checks and logs of offline nodes.

use crate::support::api::{BAD_CONFIG, CONFIG, TestApi};
use crate::support::flows::{create_git_project, journaling_nodes};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn git_projects_are_created_only_with_a_valid_config() {
    let api = TestApi::new().await;

    let bad = create_git_project(&api, "bad", BAD_CONFIG, &["web-1"]).await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad.text()
    );
    assert_eq!(bad.code(), "invalid_config");
    let details = bad.json()["error"]["details"].clone();
    let paths: Vec<&str> = details
        .as_array()
        .expect("details")
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"runtime.python") && paths.contains(&"start.command"),
        "{details}"
    );
    assert!(details[0]["message"].is_string() && details[0].get("line").is_some());

    let repo = api.dir.path().join("repos").join("empty");
    std::fs::create_dir_all(&repo).unwrap();
    let git = git2::Repository::init(&repo).unwrap();
    std::fs::write(repo.join("README"), "no config here").unwrap();
    crate::support::api::commit_all(&git, "readme");
    let missing = api
        .json(
            Method::POST,
            "/api/v1/projects",
            &api.admin,
            json!({ "name": "empty", "nodes": ["web-1"], "git": { "url": repo.to_string_lossy() } }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        missing.json()["error"]["details"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("config.vpspilot.json")
    );

    let created = create_git_project(&api, "shop", CONFIG, &["web-1"]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    assert_eq!(body["project"]["name"], "shop");
    assert_eq!(body["project"]["app_type"], "python");
    assert_eq!(body["project"]["status"], "created");
    assert_eq!(body["project"]["source"]["type"], "git");
    assert_eq!(body["project"]["online_nodes"], json!(["web-1"]));
    assert_eq!(body["webhook"]["secret"].as_str().unwrap().len(), 64);
    assert_eq!(body["webhook"]["path"], "/api/v1/webhooks/github/shop");

    let again = create_git_project(&api, "shop", CONFIG, &["web-1"]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let stranger = create_git_project(&api, "other", CONFIG, &["ghost"]).await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stranger.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ghost")
    );
    let bad_name = create_git_project(&api, "Bad Name", CONFIG, &["web-1"]).await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);

    let list = api.get("/api/v1/projects", &api.viewer).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let detail = api.get("/api/v1/projects/shop", &api.viewer).await.json();
    assert_eq!(detail["config"]["start"]["command"], "python app.py");
    let webhook = api
        .get("/api/v1/projects/shop/webhook", &api.admin)
        .await
        .json();
    assert_eq!(webhook["secret"], body["webhook"]["secret"]);
    assert_eq!(
        api.get("/api/v1/projects/nope", &api.viewer).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pinned_configs_are_checked_with_every_problem() {
    let api = TestApi::new().await;
    assert_eq!(
        create_git_project(&api, "shop", CONFIG, &["web-1"])
            .await
            .status,
        StatusCode::CREATED
    );
    let bad = api
        .call(
            Method::PUT,
            "/api/v1/projects/shop/config",
            Some(&api.admin),
            Body::from(BAD_CONFIG),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["details"].as_array().unwrap().len() >= 2);
    let new_config = CONFIG.replace("python app.py", "python serve.py");
    let good = api
        .call(
            Method::PUT,
            "/api/v1/projects/shop/config",
            Some(&api.admin),
            Body::from(new_config),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text());
    assert_eq!(good.json()["config_pinned"], true);
    assert_eq!(good.json()["config"]["start"]["command"], "python serve.py");
}

#[tokio::test]
async fn logs_of_offline_nodes_say_so_and_deploys_without_nodes_are_refused() {
    let api = TestApi::build(journaling_nodes(), |_| {}).await;
    assert_eq!(
        create_git_project(&api, "shop", CONFIG, &["web-1", "web-2"])
            .await
            .status,
        StatusCode::CREATED
    );
    let logs = api
        .get("/api/v1/projects/shop/logs", &api.viewer)
        .await
        .json();
    assert_eq!(logs["nodes"][1]["node"], "web-2");
    assert!(
        logs["nodes"][1]["error"]
            .as_str()
            .unwrap()
            .contains("not connected")
    );

    api.nodes.set_online("web-1", false);
    let none = api.get("/api/v1/projects/shop/logs", &api.viewer).await;
    assert_eq!(
        none.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        none.text()
    );
    assert_eq!(none.code(), "node_offline");
}

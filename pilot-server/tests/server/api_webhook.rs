//! The GitHub push webhook: signatures, events and the branch filter.

use crate::support::api::{CONFIG, TestApi};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use pilot_core::protocol::Command;
use pilot_core::source::{GitRef, SourceSpec};
use serde_json::{Value, json};
use sha2::Sha256;

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(
    api: &TestApi,
    project: &str,
    event: &str,
    signature: Option<String>,
    body: &Value,
) -> crate::support::api::Reply {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut request = crate::support::api::request(
        Method::POST,
        &format!("/api/v1/webhooks/github/{project}"),
        None,
        Body::from(bytes),
    );
    request
        .headers_mut()
        .insert("x-github-event", event.parse().unwrap());
    if let Some(signature) = signature {
        request
            .headers_mut()
            .insert("x-hub-signature-256", signature.parse().unwrap());
    }
    api.send(request).await
}

fn push(branch: &str, commit: &str) -> Value {
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "0000000000000000000000000000000000000000",
        "after": commit,
        "deleted": false,
        "repository": { "default_branch": "main", "full_name": "acme/shop" },
    })
}

#[tokio::test]
async fn signed_pushes_to_the_branch_deploy_and_everything_else_does_not() {
    let api = TestApi::new().await;
    let repo = api.git_repo("shop", CONFIG);
    let created = api
        .json(
            Method::POST,
            "/api/v1/projects",
            &api.admin,
            json!({ "name": "shop", "nodes": ["web-1"], "git": { "url": repo.to_string_lossy(), "branch": "main" } }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let secret = created.json()["webhook"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

    let body = push("main", commit);
    let bytes = serde_json::to_vec(&body).unwrap();
    let unsigned = deliver(&api, "shop", "push", None, &body).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.code(), "bad_signature");
    let wrong_key = deliver(
        &api,
        "shop",
        "push",
        Some(sign("not the secret", &bytes)),
        &body,
    )
    .await;
    assert_eq!(wrong_key.status, StatusCode::UNAUTHORIZED);
    let tampered = deliver(&api, "shop", "push", Some(sign(&secret, b"{}")), &body).await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);
    let unknown = deliver(&api, "nope", "push", Some(sign(&secret, &bytes)), &body).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(
        api.nodes.sent().is_empty(),
        "nothing deployed by refused deliveries"
    );

    let other = push("feature", commit);
    let ignored = deliver(
        &api,
        "shop",
        "push",
        Some(sign(&secret, &serde_json::to_vec(&other).unwrap())),
        &other,
    )
    .await;
    assert_eq!(ignored.status, StatusCode::ACCEPTED);
    assert_eq!(ignored.json()["status"], "ignored");
    assert!(
        ignored.json()["reason"]
            .as_str()
            .unwrap()
            .contains("feature")
    );

    let ping = json!({ "zen": "Keep it logically awesome." });
    let pinged = deliver(
        &api,
        "shop",
        "ping",
        Some(sign(&secret, &serde_json::to_vec(&ping).unwrap())),
        &ping,
    )
    .await;
    assert_eq!(pinged.status, StatusCode::ACCEPTED);
    assert_eq!(pinged.json()["status"], "ignored");

    let mut deleted = push("main", "0000000000000000000000000000000000000000");
    deleted["deleted"] = json!(true);
    let gone = deliver(
        &api,
        "shop",
        "push",
        Some(sign(&secret, &serde_json::to_vec(&deleted).unwrap())),
        &deleted,
    )
    .await;
    assert_eq!(gone.json()["status"], "ignored");
    assert!(api.nodes.sent().is_empty());

    let deploying = deliver(&api, "shop", "push", Some(sign(&secret, &bytes)), &body).await;
    assert_eq!(
        deploying.status,
        StatusCode::ACCEPTED,
        "{}",
        deploying.text()
    );
    assert_eq!(deploying.json()["status"], "deploying");
    let id = deploying.json()["rollout"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rollout = api
        .get(&format!("/api/v1/rollouts/{id}?wait_secs=20"), &api.viewer)
        .await
        .json();
    assert_eq!(rollout["requested_by"], "webhook");
    let sent = api.nodes.sent();
    let Command::Deploy {
        source: SourceSpec::Git { reference, .. },
        ..
    } = &sent[0].1
    else {
        panic!("a git deploy was sent: {sent:?}");
    };
    assert_eq!(
        reference,
        &GitRef::Commit(commit.to_string()),
        "the pushed commit is deployed"
    );
}

//! Projects from uploaded archives: the upload limit, unsafe archives,
//! deploys of uploads and temporary-file cleanup.

use crate::support::api::{CONFIG, TestApi, tar_gz_archive, zip_archive};
use crate::support::flows::{finished, journaling_nodes, upload};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use pilot_core::protocol::Command;

#[tokio::test]
async fn uploads_are_bounded_and_unsafe_archives_refused() {
    let api = TestApi::build(journaling_nodes(), |s| s.upload_limit = 64 * 1024).await;
    let path = "/api/v1/projects/shop/upload?nodes=web-1&deploy=true";

    let noise: String = (0..25_000)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect();
    let big = zip_archive(&[("config.vpspilot.json", CONFIG), ("blob.txt", &noise)]);
    assert!(big.len() > 64 * 1024);
    let mut declared = crate::support::api::request(
        Method::POST,
        path,
        Some(&api.admin),
        Body::from(big.clone()),
    );
    declared
        .headers_mut()
        .insert("content-length", big.len().to_string().parse().unwrap());
    let refused = api.send(declared).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.code(), "too_large");
    let streamed = upload(&api, path, big).await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "no length header either"
    );

    let escape = zip_archive(&[
        ("config.vpspilot.json", CONFIG),
        ("../../escaped.py", "boom"),
    ]);
    let slip = upload(&api, path, escape).await;
    assert_eq!(
        slip.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        slip.text()
    );
    assert_eq!(slip.code(), "invalid_archive");
    let absolute = zip_archive(&[
        ("config.vpspilot.json", CONFIG),
        ("/tmp/pilot-absolute.py", "boom"),
    ]);
    assert_eq!(upload(&api, path, absolute).await.code(), "invalid_archive");
    assert!(!api.dir.path().join("escaped.py").exists());
    assert!(!api.dir.path().join("tmp").join("escaped.py").exists());

    let garbage = upload(&api, path, b"this is not an archive".to_vec()).await;
    assert_eq!(garbage.code(), "invalid_archive");
    let no_config = upload(&api, path, zip_archive(&[("app.py", "print(1)")])).await;
    assert_eq!(no_config.code(), "invalid_config");
    assert_eq!(
        api.get("/api/v1/projects/shop", &api.viewer).await.status,
        StatusCode::NOT_FOUND,
        "nothing was created by refused uploads"
    );

    let good = tar_gz_archive(&[
        ("app/config.vpspilot.json", CONFIG),
        ("app/app.py", "print(1)"),
    ]);
    let created = upload(&api, path, good).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    assert_eq!(body["project"]["source"]["type"], "upload");
    let rollout = finished(&api, &body["rollout"]).await;
    assert_eq!(rollout["status"], "succeeded", "{rollout}");
    let sent = api.nodes.sent();
    assert!(
        matches!(
            &sent[0].1,
            Command::Deploy {
                archive: Some(_),
                ..
            }
        ),
        "the archive travels to the node"
    );

    let redeploy = upload(
        &api,
        "/api/v1/projects/shop/deploy/archive",
        zip_archive(&[("config.vpspilot.json", &CONFIG.replace("Shop", "Shop v2"))]),
    )
    .await;
    assert_eq!(redeploy.status, StatusCode::ACCEPTED, "{}", redeploy.text());
    finished(&api, &redeploy.json()).await;
    let detail = api.get("/api/v1/projects/shop", &api.viewer).await.json();
    assert_eq!(
        detail["app_name"], "Shop v2",
        "the upload's config was recorded"
    );

    let leftovers: Vec<_> = std::fs::read_dir(api.dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files are removed: {leftovers:?}"
    );
}

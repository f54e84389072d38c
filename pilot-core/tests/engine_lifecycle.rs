//! Deployment lifecycle on real components: failures that leave the live
//! release alone, generations kept and pruned, strategies, rollback targets,
//! warm standby, git sources, and recovery of a dead live release.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use pilot_core::Error;
use pilot_core::engine::{DeployRequest, DeployState, EventLog};
use pilot_core::source::{GitRef, SourceSpec};

fn public(port: u16) -> SocketAddr {
    format!("127.0.0.1:{port}").parse().unwrap()
}

fn dir(path: std::path::PathBuf) -> SourceSpec {
    SourceSpec::Dir { path }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_leaves_the_live_release_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let port = free_port();
    let apps = tmp.path().join("apps");
    engine
        .deploy(DeployRequest::new(
            "web",
            dir(app_version(&apps, "v1", |c| fast_deployment(c, port))),
        ))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    let bad = app_version(&apps, "v2", |c| {
        fast_deployment(c, port);
        c["build"]["commands"] = serde_json::json!(["echo compiling", "exit 3"]);
    });
    let failed = engine
        .deploy(DeployRequest::new("web", dir(bad)))
        .await
        .unwrap();
    assert_eq!(failed.state(), DeployState::Failed);
    let err = failed.clone().succeeded().unwrap_err().to_string();
    assert!(
        err.contains("build command `exit 3` failed with exit code 3"),
        "{err}"
    );
    assert!(err.contains(&format!("deploy-{}.log", failed.id)), "{err}");
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    let releases: Vec<_> = std::fs::read_dir(data.join("projects/web/releases"))
        .unwrap()
        .collect();
    assert_eq!(releases.len(), 1, "the failed release was removed");
    assert_eq!(engine.project("web").unwrap().live.unwrap().generation, 1);
    engine.parts().services.remove("web-g1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_generations_are_pruned_and_rollback_targets_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let port = free_port();
    let apps = tmp.path().join("apps");
    for v in 1..=4 {
        let app = app_version(&apps, &format!("v{v}"), |c| {
            fast_deployment(c, port);
            c["deployment"]["keep_generations"] = 2.into();
            c["deployment"]["watch_seconds"] = 0.into();
        });
        engine
            .deploy(DeployRequest::new("web", dir(app)))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
    }
    let state = engine.project("web").unwrap();
    assert_eq!(state.kept(), vec![3, 4]);
    let mut names: Vec<String> = std::fs::read_dir(data.join("projects/web/releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("3-") && names[1].starts_with("4-"));
    let running: Vec<String> = engine
        .parts()
        .services
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(running, vec!["web-g4".to_string()]);

    match engine.rollback("web", Some(1)).await {
        Err(Error::UnknownGeneration {
            generation: 1,
            kept,
            ..
        }) => assert_eq!(kept, vec![3, 4]),
        other => panic!("expected UnknownGeneration, got {other:?}"),
    }
    let back = engine
        .rollback("web", None)
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(back.generation, 3);
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello v3"
    );
    assert!(matches!(
        engine.rollback("nope", None).await,
        Err(Error::UnknownProject { .. })
    ));
    engine.parts().services.remove("web-g3").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_strategy_reuses_the_port_and_warm_standby_makes_rollback_instant() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let apps = tmp.path().join("apps");

    let port = free_port();
    for v in ["v1", "v2"] {
        let app = app_version(&apps, &format!("inplace-{v}"), |c| {
            fast_deployment(c, port);
            c["deployment"]["strategy"] = "in-place".into();
        });
        engine
            .deploy(DeployRequest::new("inplace", dir(app)))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
    }
    let deployments = engine.deployments("inplace").unwrap();
    assert_eq!(
        deployments[0].port, deployments[1].port,
        "in-place keeps the slot port"
    );
    let names: Vec<String> = engine
        .parts()
        .services
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, vec!["inplace-g2".to_string()]);
    engine.parts().services.remove("inplace-g2").await.unwrap();

    let port = free_port();
    for v in ["v1", "v2"] {
        let app = app_version(&apps, &format!("warm-{v}"), |c| {
            fast_deployment(c, port);
            c["deployment"]["warm_standby"] = true.into();
            c["deployment"]["watch_seconds"] = 0.into();
        });
        engine
            .deploy(DeployRequest::new("warm", dir(app)))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
    }
    let state = engine.project("warm").unwrap();
    assert_eq!(state.standby.map(|s| s.generation), Some(1));
    assert!(
        engine
            .parts()
            .services
            .status("warm-g1")
            .await
            .unwrap()
            .is_running()
    );
    let started = Instant::now();
    let back = engine
        .rollback("warm", None)
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert!(back.reused_standby);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello warm-v1"
    );
    let state = engine.project("warm").unwrap();
    assert_eq!(state.live.map(|s| s.generation), Some(1));
    assert_eq!(state.standby.map(|s| s.generation), Some(2));
    for name in ["warm-g1", "warm-g2"] {
        engine.parts().services.remove(name).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_from_git_and_refuses_a_concurrent_deploy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let port = free_port();
    let repo = app_version(tmp.path(), "git-v1", |c| {
        fast_deployment(c, port);
        c["build"]["commands"] = serde_json::json!(["sleep 1"]);
    });
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "v1"]);
    let source = SourceSpec::Git {
        url: repo.display().to_string(),
        reference: GitRef::Branch("main".into()),
    };
    let engine = Arc::new(engine);
    let first = {
        let engine = engine.clone();
        let source = source.clone();
        tokio::spawn(async move { engine.deploy(DeployRequest::new("web", source)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    match engine.deploy(DeployRequest::new("web", source)).await {
        Err(Error::Busy { project, .. }) => assert_eq!(project, "web"),
        other => panic!("expected Busy, got {other:?}"),
    }
    let done = first.await.unwrap().unwrap().succeeded().unwrap();
    assert_eq!(done.commit.as_ref().map(|c| c.len()), Some(40));
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello git-v1"
    );
    engine.parts().services.remove("web-g1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_restarts_a_dead_live_release() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let port = free_port();
    let app = app_version(&tmp.path().join("apps"), "v1", |c| fast_deployment(c, port));
    engine
        .deploy(DeployRequest::new("web", dir(app)))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    engine.parts().services.remove("web-g1").await.unwrap();
    assert!(get(public(port), "/").await.is_err());

    let report = engine.recover().await.unwrap();
    assert_eq!(report.restarted, vec!["web".to_string()]);
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    engine.stop("web").await.unwrap();
    engine.start("web").await.unwrap();
    assert_eq!(
        get(public(port), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    let lines = engine.logs("web", 10).await.unwrap();
    assert!(
        lines.iter().any(|l| l.contains("listening on 127.0.0.1")),
        "{lines:?}"
    );
    engine.parts().services.remove("web-g1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_node_app_deploys_from_an_uploaded_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let node_app =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/node-hello");
    let archive = tmp.path().join("upload.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(node_app.parent().unwrap())
        .arg("node-hello")
        .status()
        .unwrap();
    assert!(status.success());
    let done = engine
        .deploy(DeployRequest::new(
            "node",
            SourceSpec::Archive { path: archive },
        ))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert!(done.version.as_ref().unwrap().starts_with('a'));
    let addr = engine.public_addr("node").unwrap();
    let addr = public(addr.port());
    assert_eq!(get(addr, "/").await.unwrap(), "hello from node-hello 1.0.0");
    let log =
        std::fs::read_to_string(data.join(format!("logs/node/deploy-{}.log", done.id))).unwrap();
    assert!(log.contains("$ npm test --silent"), "{log}");
    engine.parts().services.remove("node-g1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_exits_in_the_watch_window_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (engine, _) = local_engine(&data, Arc::new(EventLog::new())).await;
    let port = free_port();
    let apps = tmp.path().join("apps");
    let v1 = app_version(&apps, "v1", |c| fast_deployment(c, port));
    engine.deploy(DeployRequest::new("web", dir(v1))).await.unwrap().succeeded().unwrap();
    let crashing = app_version(&apps, "v2", |c| {
        fast_deployment(c, port);
        c["start"]["command"] = "(sleep 1; kill -9 $$) & exec python3 app.py".into();
        c["deployment"]["watch_seconds"] = 5.into();
    });
    let outcome = engine.deploy(DeployRequest::new("web", dir(crashing))).await.unwrap();
    assert_eq!(outcome.state(), DeployState::RolledBack);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("signal 9"), "{reason}");
    assert_eq!(get(public(port), "/").await.unwrap(), "hello from python-hello v1");
    let names: Vec<String> = engine.parts().services.list().await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["web-g1".to_string()]);
    engine.parts().services.remove("web-g1").await.unwrap();
}

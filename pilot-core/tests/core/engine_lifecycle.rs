//! Deployment lifecycle on real components: failures that leave the live
//! release alone, generations kept and pruned, strategies, rollback targets,
//! warm standby, git and archive sources, and recovery of a dead live release.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use pilot_core::Error;
use pilot_core::engine::{DeployState, EventLog, NewRelease};
use pilot_core::source::{GitRef, SourceSpec};

async fn setup() -> Setup {
    Setup::new(Arc::new(EventLog::new())).await
}

async fn service_names(s: &Setup) -> Vec<String> {
    s.engine
        .parts()
        .services
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_leaves_the_live_release_alone() {
    let s = setup().await;
    s.deploy_ok("web", s.app("v1", |_| {})).await;
    let bad = s.app("v2", |c| {
        c["build"]["commands"] = serde_json::json!(["echo compiling", "exit 3"])
    });
    let failed = s.deploy("web", bad).await;
    assert_eq!(failed.state(), DeployState::Failed);
    let err = failed.clone().succeeded().unwrap_err().to_string();
    assert!(
        err.contains("build command `exit 3` failed with exit code 3"),
        "{err}"
    );
    assert!(err.contains(&format!("deploy-{}.log", failed.id)), "{err}");
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    let releases: Vec<_> = std::fs::read_dir(s.data.join("projects/web/releases"))
        .unwrap()
        .collect();
    assert_eq!(releases.len(), 1, "the failed release was removed");
    assert_eq!(s.engine.project("web").unwrap().live.unwrap().generation, 1);
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_generations_are_pruned_and_rollback_targets_checked() {
    let s = setup().await;
    for v in 1..=4 {
        let app = s.app(&format!("v{v}"), |c| {
            c["deployment"]["keep_generations"] = 2.into();
            c["deployment"]["watch_seconds"] = 0.into();
        });
        s.deploy_ok("web", app).await;
    }
    assert_eq!(s.engine.project("web").unwrap().kept(), vec![3, 4]);
    let mut names: Vec<String> = std::fs::read_dir(s.data.join("projects/web/releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("3-") && names[1].starts_with("4-"));
    assert_eq!(service_names(&s).await, vec!["web-g4".to_string()]);

    match s.engine.rollback("web", Some(1)).await {
        Err(Error::UnknownGeneration {
            generation: 1,
            kept,
            ..
        }) => assert_eq!(kept, vec![3, 4]),
        other => panic!("expected UnknownGeneration, got {other:?}"),
    }
    let back = s
        .engine
        .rollback("web", None)
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(back.generation, 3);
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v3"
    );
    assert!(matches!(
        s.engine.rollback("nope", None).await,
        Err(Error::UnknownProject { .. })
    ));
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_strategy_reuses_the_slot_port() {
    let s = setup().await;
    for v in ["v1", "v2"] {
        s.deploy_ok(
            "web",
            s.app(v, |c| c["deployment"]["strategy"] = "in-place".into()),
        )
        .await;
    }
    let deployments = s.engine.deployments("web").unwrap();
    assert_eq!(
        deployments[0].port, deployments[1].port,
        "in-place keeps the slot port"
    );
    assert_eq!(service_names(&s).await, vec!["web-g2".to_string()]);
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v2"
    );
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_standby_makes_rollback_instant() {
    let s = setup().await;
    for v in ["v1", "v2"] {
        let app = s.app(v, |c| {
            c["deployment"]["warm_standby"] = true.into();
            c["deployment"]["watch_seconds"] = 0.into();
        });
        s.deploy_ok("web", app).await;
    }
    let state = s.engine.project("web").unwrap();
    assert_eq!(state.standby.map(|s| s.generation), Some(1));
    assert!(
        s.engine
            .parts()
            .services
            .status("web-g1")
            .await
            .unwrap()
            .is_running()
    );
    let started = Instant::now();
    let back = s
        .engine
        .rollback("web", None)
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert!(back.reused_standby);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    let state = s.engine.project("web").unwrap();
    assert_eq!(state.live.map(|s| s.generation), Some(1));
    assert_eq!(state.standby.map(|s| s.generation), Some(2));
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_from_git_and_refuses_a_concurrent_deploy() {
    let s = setup().await;
    let repo = s.app("git-v1", |c| {
        c["build"]["commands"] = serde_json::json!(["sleep 1"])
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
    let s = Arc::new(s);
    let first = {
        let s = s.clone();
        let source = source.clone();
        tokio::spawn(async move { s.engine.deploy(NewRelease::new("web", source)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    match s.engine.deploy(NewRelease::new("web", source)).await {
        Err(Error::Busy { project, .. }) => assert_eq!(project, "web"),
        other => panic!("expected Busy, got {other:?}"),
    }
    let done = first.await.unwrap().unwrap().succeeded().unwrap();
    assert_eq!(done.commit.as_ref().map(|c| c.len()), Some(40));
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello git-v1"
    );
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_restarts_a_dead_live_release() {
    let s = setup().await;
    s.deploy_ok("web", s.app("v1", |_| {})).await;
    s.engine.parts().services.remove("web-g1").await.unwrap();
    assert!(get(s.public(), "/").await.is_err());

    let report = s.engine.recover().await.unwrap();
    assert_eq!(report.restarted, vec!["web".to_string()]);
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    s.engine.stop("web").await.unwrap();
    s.engine.start("web").await.unwrap();
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    let lines = s.engine.logs("web", 10).await.unwrap();
    assert!(
        lines.iter().any(|l| l.contains("listening on 127.0.0.1")),
        "{lines:?}"
    );
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_node_app_deploys_from_an_uploaded_archive() {
    let s = setup().await;
    let node_app =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/node-hello");
    let archive = s.tmp.path().join("upload.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(node_app.parent().unwrap())
        .arg("node-hello")
        .status()
        .unwrap();
    assert!(status.success());
    let done = s
        .engine
        .deploy(NewRelease::new(
            "node",
            SourceSpec::Archive { path: archive },
        ))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert!(done.version.as_ref().unwrap().starts_with('a'));
    let addr = s.engine.public_addr("node").unwrap();
    assert_eq!(get(addr, "/").await.unwrap(), "hello from node-hello 1.0.0");
    let log = std::fs::read_to_string(s.data.join(format!(
        "logs/node/deploy-{}.log",
        s.engine.deployments("node").unwrap()[0].id
    )))
    .unwrap();
    assert!(log.contains("$ npm test --silent"), "{log}");
    s.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_exits_in_the_watch_window_is_rolled_back() {
    let s = setup().await;
    s.deploy_ok("web", s.app("v1", |_| {})).await;
    let crashing = s.app("v2", |c| {
        c["start"]["command"] = "(sleep 1; kill -9 $$) & exec python3 app.py".into();
        c["deployment"]["watch_seconds"] = 5.into();
    });
    let outcome = s.deploy("web", crashing).await;
    assert_eq!(outcome.state(), DeployState::RolledBack);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("signal 9"), "{reason}");
    assert_eq!(
        get(s.public(), "/").await.unwrap(),
        "hello from python-hello v1"
    );
    assert_eq!(service_names(&s).await, vec!["web-g1".to_string()]);
    s.stop_all().await;
}

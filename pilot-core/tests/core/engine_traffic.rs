//! Zero downtime under load: deploys, a rollback, a release that never gets
//! healthy, and one that turns unhealthy after the switch, all while clients
//! keep sending requests to the public port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::*;
use pilot_core::engine::{DeployEvent, DeployEventKind, DeployState, FnEvents, NewRelease};
use pilot_core::source::SourceSpec;

/// Records when traffic switched to which version.
#[derive(Default)]
struct Switches(Mutex<Vec<(Instant, u64)>>);

fn events(switches: Arc<Switches>) -> Arc<FnEvents<impl Fn(&DeployEvent) + Send + Sync>> {
    Arc::new(FnEvents(move |event: &DeployEvent| {
        if let DeployEvent {
            kind: DeployEventKind::Switched { generation, .. },
            ..
        } = event
        {
            switches
                .0
                .lock()
                .unwrap()
                .push((Instant::now(), *generation));
        }
    }))
}

/// Checks every observation: no failures, and the version each request saw
/// is the one live when it started or one that went live while it ran.
fn check(observations: &[Observation], switches: &[(Instant, String)]) {
    assert!(
        observations.len() > 100,
        "too few requests: {}",
        observations.len()
    );
    let failures: Vec<_> = observations.iter().filter(|o| o.result.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed requests, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    for o in observations {
        let version = o.result.as_ref().unwrap();
        let live_at = |t: Instant| {
            switches
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .map(|(_, v)| v.clone())
        };
        let mut allowed: Vec<String> = live_at(o.start).into_iter().collect();
        allowed.extend(
            switches
                .iter()
                .filter(|(at, _)| *at > o.start && *at <= o.end)
                .map(|(_, v)| v.clone()),
        );
        assert!(
            allowed.contains(version),
            "a request answered by {version} while {allowed:?} was live"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deploys_and_rollbacks_drop_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let apps = tmp.path().join("apps");
    let port = free_port();
    let public: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let switches = Arc::new(Switches::default());
    let (engine, _) = local_engine(&tmp.path().join("data"), events(switches.clone())).await;
    let deploy = |version: &str, edit: fn(&mut serde_json::Value)| {
        let dir = app_version(&apps, version, |c| {
            fast_deployment(c, port);
            edit(c);
        });
        NewRelease::new("web", SourceSpec::Dir { path: dir })
    };

    let v1 = engine
        .deploy(deploy("v1", |_| {}))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(v1.generation, 1);
    assert_eq!(
        get(public, "/").await.unwrap(),
        "hello from python-hello v1"
    );

    let load = Load::start(public, 6);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let v2 = engine
        .deploy(deploy("v2", |_| {}))
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let back = engine
        .rollback("web", None)
        .await
        .unwrap()
        .succeeded()
        .unwrap();
    assert_eq!(back.generation, 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let v3 = engine
        .deploy(deploy("v3", |c| {
            c["env"]["UNHEALTHY_AFTER"] = "0.001".into();
            c["deployment"]["healthcheck_start_period"] = 1.5.into();
        }))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let observations = load.finish().await;

    assert_eq!(v3.state(), DeployState::Failed);
    let reason = v3.reason.clone().unwrap();
    assert!(reason.contains("HTTP status 503"), "{reason}");
    let live: Vec<(Instant, String)> = switches
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(at, g)| (*at, format!("v{g}")))
        .collect();
    assert_eq!(
        live.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ["v1", "v2", "v1"],
        "switches"
    );
    assert!(observations.iter().all(|o| o.result.as_deref() != Ok("v3")));
    for version in ["v1", "v2"] {
        assert!(
            observations
                .iter()
                .any(|o| o.result.as_deref() == Ok(version))
        );
    }
    check(&observations, &live);
    let state = engine.project("web").unwrap();
    assert_eq!(state.live.unwrap().generation, 1);
    assert_eq!(state.kept(), vec![1, 2]);
    assert_eq!(v2.generation, 2);
    assert!(
        !tmp.path()
            .join("data/projects/web/releases")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with("3-") })
    );
    engine.parts().services.remove("web-g1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_that_turns_unhealthy_after_the_switch_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let apps = tmp.path().join("apps");
    let port = free_port();
    let public: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let switches = Arc::new(Switches::default());
    let (engine, _) = local_engine(&tmp.path().join("data"), events(switches.clone())).await;
    let v1 = app_version(&apps, "v1", |c| fast_deployment(c, port));
    engine
        .deploy(NewRelease::new("web", SourceSpec::Dir { path: v1 }))
        .await
        .unwrap()
        .succeeded()
        .unwrap();

    let load = Load::start(public, 4);
    let v4 = app_version(&apps, "v4", |c| {
        fast_deployment(c, port);
        c["env"]["UNHEALTHY_AFTER"] = "2".into();
        c["deployment"]["watch_seconds"] = 8.into();
        c["deployment"]["healthcheck_interval"] = 0.5.into();
    });
    let started = Instant::now();
    let outcome = engine
        .deploy(NewRelease::new("web", SourceSpec::Dir { path: v4 }))
        .await
        .unwrap();
    let took = started.elapsed();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let observations = load.finish().await;

    assert_eq!(
        outcome.state(),
        DeployState::RolledBack,
        "{:?}",
        outcome.reason
    );
    let reason = outcome.reason.clone().unwrap();
    assert!(
        reason.contains("consecutive failed health checks"),
        "{reason}"
    );
    assert!(
        took.as_secs_f64() < 8.0,
        "rollback came only after the watch window: {took:?}"
    );
    let live: Vec<(Instant, String)> = switches
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(at, g)| {
            (
                *at,
                if *g == 1 {
                    "v1".to_string()
                } else {
                    "v4".to_string()
                },
            )
        })
        .collect();
    assert_eq!(
        live.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ["v1", "v4", "v1"],
        "v1, then v4, then back to v1"
    );
    assert!(observations.iter().any(|o| o.result.as_deref() == Ok("v4")));
    check(&observations, &live);
    let state = engine.project("web").unwrap();
    assert_eq!(state.live.unwrap().generation, 1);
    assert_eq!(state.kept(), vec![1]);
    assert_eq!(
        get(public, "/").await.unwrap(),
        "hello from python-hello v1"
    );
    engine.parts().services.remove("web-g1").await.unwrap();
}

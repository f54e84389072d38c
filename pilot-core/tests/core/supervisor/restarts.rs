//! The restart policy: backoff, the start limit, modes, and stops during a backoff.

use std::time::Duration;

use pilot_core::service::{RestartMode, RestartPolicy, ServiceManager, ServiceState};

use super::support::*;

#[tokio::test]
async fn a_crashing_service_backs_off_longer_each_time_until_the_start_limit() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let mut spec = sb.spec("crasher", "date +%s.%N; exit 3");
    spec.restart = RestartPolicy {
        mode: RestartMode::OnFailure,
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        start_limit_burst: 4,
        start_limit_interval: Duration::from_secs(30),
    };
    sup.install(&spec).await.unwrap();
    sup.start("crasher").await.unwrap();
    let status = wait_for_state(&sup, "crasher", |s| {
        matches!(s, ServiceState::Exited { .. })
    })
    .await;

    let ServiceState::Exited { reason } = &status.state else {
        unreachable!("waited for Exited");
    };
    assert!(
        reason.starts_with("start limit reached: 4 starts in 30 s; last exit code 3"),
        "{reason}"
    );
    assert_eq!(status.restarts, 3);
    assert_eq!(status.last_exit.as_deref(), Some("exit code 3"));
    assert_eq!(status.pid, None);

    wait_until("four start lines", || async {
        sup.logs("crasher", 10).await.unwrap().len() == 4
    })
    .await;
    let starts: Vec<f64> = sup
        .logs("crasher", 10)
        .await
        .unwrap()
        .iter()
        .map(|l| l.parse().expect("a timestamp"))
        .collect();
    // Each restart waits at least its backoff delay: 100, 200, then 400 ms.
    for (i, min) in [0.1, 0.2, 0.4].into_iter().enumerate() {
        let gap = starts[i + 1] - starts[i];
        assert!(
            gap >= min - 0.01,
            "gap {i} is {gap:.3} s, expected at least {min} s"
        );
    }

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        sup.logs("crasher", 10).await.unwrap().len(),
        4,
        "no start after the limit"
    );
    sup.remove("crasher").await.unwrap();
}

#[tokio::test]
async fn services_that_should_not_restart_stay_exited() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let mut never = sb.spec("never", "echo run; exit 2");
    never.restart.mode = RestartMode::Never;
    let clean = sb.spec("clean", "echo run; exit 0");
    for spec in [&never, &clean] {
        sup.install(spec).await.unwrap();
        sup.start(&spec.name).await.unwrap();
    }
    for (name, exit) in [("never", "exit code 2"), ("clean", "exit code 0")] {
        let status = wait_for_state(&sup, name, |s| matches!(s, ServiceState::Exited { .. })).await;
        assert_eq!(
            status.state,
            ServiceState::Exited {
                reason: exit.into()
            }
        );
        assert_eq!(status.restarts, 0);
        assert_eq!(sup.logs(name, 10).await.unwrap(), ["run"]);
    }
    let names: Vec<String> = sup
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["clean", "never"]);
}

#[tokio::test]
async fn a_stop_cancels_a_pending_restart() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let mut spec = sb.spec("flaky", "echo run; exit 1");
    spec.restart.backoff_initial = Duration::from_secs(10);
    spec.restart.backoff_max = Duration::from_secs(10);
    sup.install(&spec).await.unwrap();
    sup.start("flaky").await.unwrap();
    wait_for_state(&sup, "flaky", |s| *s == ServiceState::BackingOff).await;
    sup.stop("flaky").await.unwrap();
    assert_eq!(
        sup.status("flaky").await.unwrap().state,
        ServiceState::Stopped
    );

    // A start on request runs it at once, and the stop still holds for the old backoff.
    sup.start("flaky").await.unwrap();
    wait_until("a second run", || async {
        sup.logs("flaky", 10).await.unwrap().len() == 2
    })
    .await;
    sup.stop("flaky").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sup.status("flaky").await.unwrap().state,
        ServiceState::Stopped
    );
    assert_eq!(sup.logs("flaky", 10).await.unwrap().len(), 2);
}

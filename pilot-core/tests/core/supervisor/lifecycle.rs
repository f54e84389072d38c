//! Stopping (graceful, forced, whole trees) and the install/start/remove contract.

use std::time::Duration;

use pilot_core::Error;
use pilot_core::service::{ServiceManager, ServiceState};
use pilot_core::supervisor::SupervisorError;

use super::support::*;

#[tokio::test]
async fn stop_lets_a_service_handle_sigterm() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let mut spec = sb.spec(
        "polite",
        "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done",
    );
    spec.stop_timeout = Duration::from_secs(20);
    sup.install(&spec).await.unwrap();
    sup.start("polite").await.unwrap();
    wait_for_log(&sup, "polite", "ready").await;
    let pid = running_pid(&sup, "polite").await;

    sup.stop("polite").await.unwrap();
    let status = sup.status("polite").await.unwrap();
    assert_eq!(
        status.last_exit.as_deref(),
        Some("exit code 0"),
        "it exited on its own"
    );
    assert_eq!(status.state, ServiceState::Stopped);
    assert!(!alive(pid));
    wait_for_log(&sup, "polite", "got-term").await;
}

#[tokio::test]
async fn stop_kills_a_service_that_ignores_sigterm() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let mut spec = sb.spec(
        "stubborn",
        "trap '' TERM; echo ready; while :; do sleep 0.1; done",
    );
    spec.stop_timeout = Duration::from_millis(300);
    sup.install(&spec).await.unwrap();
    sup.start("stubborn").await.unwrap();
    wait_for_log(&sup, "stubborn", "ready").await;
    let pid = running_pid(&sup, "stubborn").await;

    sup.stop("stubborn").await.unwrap();
    let status = sup.status("stubborn").await.unwrap();
    assert_eq!(status.last_exit.as_deref(), Some("signal 9"));
    assert!(!alive(pid));
}

#[tokio::test]
async fn stop_kills_the_whole_tree_including_an_escaped_grandchild() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let spec = sb.spec(
        "tree",
        r#"sh -c 'echo "child $$"; while :; do :; done' &
           sh -c 'echo "child $$"; while :; do :; done' &
           setsid sh -c 'echo "escaped $$"; exec sleep 1000' &
           echo "parent $$"
           wait"#,
    );
    sup.install(&spec).await.unwrap();
    sup.start("tree").await.unwrap();
    let pid_of = |lines: &[String], prefix: &str| -> Vec<u32> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(prefix)?.parse().ok())
            .collect()
    };
    wait_until("four processes", || async {
        let lines = sup.logs("tree", 10).await.unwrap();
        pid_of(&lines, "child ").len() == 2 && pid_of(&lines, "escaped ").len() == 1
    })
    .await;
    wait_for_log(&sup, "tree", "parent").await;
    let lines = sup.logs("tree", 10).await.unwrap();
    let main = running_pid(&sup, "tree").await;
    assert_eq!(pid_of(&lines, "parent "), [main]);
    let escaped = pid_of(&lines, "escaped ")[0];
    assert_ne!(session_of(escaped), main, "the grandchild left the session");
    let mut pids = pid_of(&lines, "child ");
    pids.push(escaped);
    pids.push(main);
    for pid in &pids {
        assert!(alive(*pid), "{pid} runs before the stop");
    }

    sup.stop("tree").await.unwrap();
    for pid in &pids {
        assert!(!alive(*pid), "{pid} survived the stop");
    }
}

#[tokio::test]
async fn install_start_and_remove_follow_the_contract() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    sup.remove("unknown").await.unwrap();
    for err in [
        sup.status("unknown").await.unwrap_err(),
        sup.start("unknown").await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Supervisor(SupervisorError::UnknownService { name }) if name == "unknown"),
            "{err}"
        );
    }
    let err = sup
        .install(&sb.spec("../escape", "true"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Supervisor(SupervisorError::InvalidName { .. })),
        "{err}"
    );

    sup.install(&sb.spec("web", "echo v1; exec sleep 60"))
        .await
        .unwrap();
    sup.start("web").await.unwrap();
    let pid = running_pid(&sup, "web").await;
    sup.start("web").await.unwrap();
    assert_eq!(
        running_pid(&sup, "web").await,
        pid,
        "start on a running service is a no-op"
    );

    sup.install(&sb.spec("web", "echo v2; exec sleep 60"))
        .await
        .unwrap();
    assert_eq!(
        running_pid(&sup, "web").await,
        pid,
        "install does not restart"
    );
    sup.restart("web").await.unwrap();
    assert_ne!(running_pid(&sup, "web").await, pid);
    wait_for_log(&sup, "web", "v2").await;
    assert!(!alive(pid));

    let mut missing_cwd = sb.spec("nowhere", "true");
    missing_cwd.cwd = sb.path().join("missing");
    sup.install(&missing_cwd).await.unwrap();
    let err = sup.start("nowhere").await.unwrap_err();
    assert!(
        matches!(err, Error::Supervisor(SupervisorError::Spawn { .. })),
        "{err}"
    );
    assert!(matches!(
        sup.status("nowhere").await.unwrap().state,
        ServiceState::Exited { .. }
    ));

    sup.remove("web").await.unwrap();
    sup.remove("nowhere").await.unwrap();
    assert!(sup.list().await.unwrap().is_empty());
    assert!(!sup.state_dir().join("web.json").exists());
    assert!(sb.path().join("logs/web.log").exists(), "logs are kept");
}

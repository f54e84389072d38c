//! Detaching, re-adopting, and surviving a crash of the supervising process.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use pilot_core::Error;
use pilot_core::service::{RestartMode, RestartPolicy, ServiceManager, ServiceSpec};
use pilot_core::supervisor::{Supervisor, SupervisorError};

use super::support::*;

/// Set in the re-run test binary that plays a supervisor which gets killed.
const CRASH_CHILD_ENV: &str = "PILOT_SUPERVISOR_CRASH_CHILD";

#[tokio::test]
async fn detach_then_open_adopts_running_services() {
    let sb = Sandbox::new();
    let first = sb.open().await;
    first.install(&sb.spec("ticker", TICKER)).await.unwrap();
    first.start("ticker").await.unwrap();
    wait_for_log(&first, "ticker", "tick 3").await;
    let before = first.status("ticker").await.unwrap();

    let busy = Supervisor::open(sb.state_dir()).await.unwrap_err();
    assert!(
        matches!(
            busy,
            Error::Supervisor(SupervisorError::StateDirBusy { .. })
        ),
        "{busy}"
    );

    first.detach().await;
    let err = first.status("ticker").await.unwrap_err();
    assert!(
        matches!(err, Error::Supervisor(SupervisorError::Detached { .. })),
        "{err}"
    );
    let pid = before.pid.expect("pid");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(pid), "the service outlives its supervisor");

    let second = sb.open().await;
    let after = second.status("ticker").await.unwrap();
    assert_eq!(after.pid, before.pid);
    assert_eq!(after.started_at, before.started_at);
    assert_eq!(after.restarts, 0);
    assert!(after.is_running());

    let last_seen = *ticks(&second.logs("ticker", 5).await.unwrap())
        .last()
        .expect("ticks");
    let mut follow = second.follow("ticker").await.unwrap();
    wait_until("newer ticks in the log file", || async {
        let last = ticks(&second.logs("ticker", 5).await.unwrap());
        last.last().is_some_and(|t| *t > last_seen + 5)
    })
    .await;
    let line = tokio::time::timeout(Duration::from_secs(10), follow.recv())
        .await
        .expect("a followed line")
        .expect("an open stream");
    assert!(line.starts_with("tick "), "{line}");

    second.stop("ticker").await.unwrap();
    assert!(!alive(pid));
    drop(first);
}

#[tokio::test]
async fn a_service_that_died_while_detached_is_restarted_on_open() {
    let sb = Sandbox::new();
    let first = sb.open().await;
    first
        .install(&sb.spec("victim", r#"echo "started $$"; exec sleep 1000"#))
        .await
        .unwrap();
    first.start("victim").await.unwrap();
    let old = running_pid(&first, "victim").await;
    first.detach().await;
    kill_group(old);
    wait_until("the old process to end", || async { !alive(old) }).await;

    let second = sb.open().await;
    let status = second.status("victim").await.unwrap();
    assert!(status.is_running(), "{status:?}");
    let new = status.pid.expect("pid");
    assert_ne!(new, old);
    assert_eq!(status.restarts, 1);
    assert!(
        status
            .last_exit
            .as_deref()
            .is_some_and(|e| e.contains("no supervisor")),
        "{status:?}"
    );
    wait_for_log(&second, "victim", &format!("started {new}")).await;
    second.stop("victim").await.unwrap();
    assert!(!alive(new));
}

/// Plays the supervising process that gets killed: opens the supervisor,
/// starts a service that logs continuously, prints its pid, and waits.
async fn crash_child(sandbox: &Path) -> ! {
    let sup = Supervisor::open(sandbox.join("state")).await.expect("open");
    let mut spec = ServiceSpec {
        name: "survivor".into(),
        command: TICKER.into(),
        cwd: sandbox.to_path_buf(),
        env: BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]),
        log_file: sandbox.join("logs/survivor.log"),
        restart: RestartPolicy::default(),
        stop_timeout: Duration::from_secs(5),
        redact: vec![],
        memory_limit: None,
        cpu_limit: None,
    };
    spec.restart.mode = RestartMode::Always;
    sup.install(&spec).await.expect("install");
    sup.start("survivor").await.expect("start");
    let pid = sup
        .status("survivor")
        .await
        .expect("status")
        .pid
        .expect("pid");
    println!("SERVICE_PID={pid}");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

#[tokio::test]
async fn a_crashed_supervisor_leaves_its_service_running_and_logging() {
    if let Ok(dir) = std::env::var(CRASH_CHILD_ENV) {
        crash_child(Path::new(&dir)).await;
    }
    let sb = Sandbox::new();
    // This test's name in the binary: its module path without the crate.
    let test = format!(
        "{}::a_crashed_supervisor_leaves_its_service_running_and_logging",
        module_path!().split_once("::").map_or("", |(_, m)| m)
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture"])
        .env(CRASH_CHILD_ENV, sb.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid: u32 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("SERVICE_PID=")?.1.trim().parse().ok())
        .expect("the child prints the service pid");
    let started = start_ticks_of(pid);
    let log = sb.path().join("logs/survivor.log");
    let logged = || {
        ticks(
            &fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
    };
    wait_until("ticks from the first supervisor", || async {
        logged().len() >= 5
    })
    .await;

    child.kill().unwrap();
    child.wait().unwrap();
    let at_crash = logged().last().copied().expect("ticks");
    // About 50 lines a second: the service would die of SIGPIPE on its first
    // echo if the pipe had no reader left.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        alive(pid),
        "the service survived the crash of its supervisor"
    );
    assert_eq!(start_ticks_of(pid), started);

    let sup = sb.open().await;
    let status = sup.status("survivor").await.unwrap();
    assert_eq!(status.pid, Some(pid), "adopted, not restarted");
    assert_eq!(status.restarts, 0);
    wait_until("ticks from the new supervisor", || async {
        logged().last().is_some_and(|t| *t > at_crash + 60)
    })
    .await;
    // What the service wrote while nobody read waited in the pipe: the ticks
    // run on, with at most one gap where the killed supervisor lost a read.
    let all = logged();
    assert!(all.windows(2).all(|w| w[0] < w[1]), "ticks in order");
    let gaps = all.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert!(gaps <= 1, "{gaps} gaps in {all:?}");

    sup.stop("survivor").await.unwrap();
    assert!(!alive(pid));
}

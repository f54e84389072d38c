//! Environment, working directory, log files, rotation, followers and masking.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pilot_core::service::{ServiceManager, ServiceState};
use pilot_core::supervisor::SupervisorOptions;

use super::support::*;

#[tokio::test]
async fn env_and_cwd_reach_the_process() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let work = sb.path().join("work dir");
    fs::create_dir(&work).unwrap();
    let mut spec = sb.spec(
        "envcheck",
        r#"echo "foo=$FOO service=$PILOT_SERVICE supervisor=$PILOT_SUPERVISOR home=${HOME-unset} cwd=$(pwd)"; exec sleep 60"#,
    );
    spec.cwd = work.clone();
    spec.env.insert("FOO".into(), "bar baz".into());
    sup.install(&spec).await.unwrap();
    assert_eq!(
        sup.status("envcheck").await.unwrap().state,
        ServiceState::Stopped
    );
    sup.start("envcheck").await.unwrap();
    wait_for_log(&sup, "envcheck", "foo=").await;

    let expected = format!(
        "foo=bar baz service=envcheck supervisor={} home=unset cwd={}",
        sup.state_dir().display(),
        work.display()
    );
    assert_eq!(sup.logs("envcheck", 5).await.unwrap(), [expected]);
    let pid = running_pid(&sup, "envcheck").await;
    assert_eq!(session_of(pid), pid, "the service leads its own session");
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        Path::new("/dev/null")
    );
    assert!(sup.status("envcheck").await.unwrap().started_at.is_some());

    sup.stop("envcheck").await.unwrap();
    assert!(!alive(pid));
    let status = sup.status("envcheck").await.unwrap();
    assert_eq!(status.state, ServiceState::Stopped);
    assert_eq!(status.pid, None);
    assert_eq!(status.last_exit.as_deref(), Some("signal 15"));
    // Idempotent.
    sup.stop("envcheck").await.unwrap();
}

#[tokio::test]
async fn logs_are_rotated_and_read_back_across_files() {
    let sb = Sandbox::new();
    let options = SupervisorOptions {
        log_max_bytes: 200,
        log_keep: 3,
    };
    let sup = sb.open_with(options).await;
    let spec = sb.spec(
        "chatty",
        r#"i=0; while [ $i -lt 100 ]; do printf 'line-%03d\n' $i; i=$((i+1)); done; exec sleep 60"#,
    );
    sup.install(&spec).await.unwrap();
    sup.start("chatty").await.unwrap();
    wait_until("the last line", || async {
        sup.logs("chatty", 1).await.unwrap() == ["line-099"]
    })
    .await;

    // Nine bytes a line, 22 lines a file: 12 in the current file, 22 in each rotated one.
    let expected: Vec<String> = (70..100).map(|i| format!("line-{i:03}")).collect();
    assert_eq!(sup.logs("chatty", 30).await.unwrap(), expected);
    let all = sup.logs("chatty", 1000).await.unwrap();
    let expected: Vec<String> = (22..100).map(|i| format!("line-{i:03}")).collect();
    assert_eq!(all, expected, "the oldest file was dropped");
    let log = &spec.log_file;
    for n in ["", ".1", ".2", ".3"] {
        let path = PathBuf::from(format!("{}{n}", log.display()));
        let meta = fs::metadata(&path).unwrap();
        assert!(
            meta.len() <= 200,
            "{} has {} bytes",
            path.display(),
            meta.len()
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    }
    assert!(!PathBuf::from(format!("{}.4", log.display())).exists());
    sup.remove("chatty").await.unwrap();
}

#[tokio::test]
async fn follow_receives_new_lines_until_the_service_is_removed() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    sup.install(&sb.spec("ticker", TICKER)).await.unwrap();
    sup.start("ticker").await.unwrap();
    let mut follow = sup.follow("ticker").await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let line = tokio::time::timeout(Duration::from_secs(10), follow.recv())
            .await
            .expect("a line within 10 s")
            .expect("an open stream");
        seen.push(line);
    }
    let numbers = ticks(&seen);
    assert_eq!(numbers.len(), 3, "{seen:?}");
    assert_eq!(numbers[1], numbers[0] + 1);
    assert_eq!(numbers[2], numbers[0] + 2);

    sup.remove("ticker").await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while follow.recv().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends after remove");
}

#[tokio::test]
async fn secrets_are_masked_and_state_is_private() {
    let sb = Sandbox::new();
    let sup = sb.open().await;
    let secret = "sk_live_0123456789abcdef";
    let mut spec = sb.spec(
        "secretive",
        r#"echo "token=$API_TOKEN"; echo done; exec sleep 60"#,
    );
    spec.env.insert("API_TOKEN".into(), secret.into());
    spec.redact = vec![secret.into()];
    sup.install(&spec).await.unwrap();
    sup.start("secretive").await.unwrap();
    wait_for_log(&sup, "secretive", "done").await;

    let text = fs::read_to_string(&spec.log_file).unwrap();
    assert_eq!(text, "token=********\ndone\n");
    let state_file = sup.state_dir().join("secretive.json");
    let mode = fs::metadata(&state_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the state file holds the environment");
    let mode = fs::metadata(sup.state_dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    sup.stop("secretive").await.unwrap();
}

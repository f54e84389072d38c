//! The `pilot-agent` binary: the command line the NixOS host module renders
//! connects to a loopback server in clear text and stops cleanly on
//! SIGTERM; a remote server without TLS settings is refused with a message
//! saying what to pass.

use std::process::{Command, Stdio};

use crate::support::{FakeServer, hello_parts, within};
use pilot_core::protocol::{AgentMessage, NodeToken};

const BINARY: &str = env!("CARGO_BIN_EXE_pilot-agent");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_to_a_loopback_server_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let token = NodeToken::generate();
    let token_file = dir.path().join("agent.token");
    std::fs::write(&token_file, format!("{}\n", token.expose())).unwrap();
    let server = FakeServer::bind().await;
    let mut child = tokio::process::Command::new(BINARY)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--server")
        .arg(server.addr().to_string())
        .arg("--token-file")
        .arg(&token_file)
        .arg("--public-ip")
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let mut conn = server.accept().await;
    assert_eq!(hello_parts(&conn.hello).2, &token);
    conn.welcome("web-1", 1).await;
    conn.recv_until(|m| matches!(m, AgentMessage::Heartbeat { .. }).then_some(()))
        .await;

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = within("exit after SIGTERM", child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_remote_server_without_tls_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("agent.token");
    std::fs::write(&token_file, NodeToken::generate().expose()).unwrap();
    let output = Command::new(BINARY)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--server", "pilot.example.com:55001", "--token-file"])
        .arg(&token_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-fingerprint"), "{stderr}");
    assert!(stderr.contains("--no-tls"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the check"
    );
}

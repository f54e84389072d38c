//! Commands end to end: the fake server deploys `examples/apps/python-hello`
//! as an uploaded tar.gz through a real agent (host runtime, embedded
//! supervisor, in-process proxy), then a second version, a rollback, stop
//! and start, logs with follow and cancel, and removal. The app answers on
//! its public port at every stage.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Duration;

use crate::support::{Conn, FakeServer, command_of, options};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::FutureExt;
use pilot_agent::Agent;
use pilot_core::engine::{DeployEvent, DeployEventKind, DeployState, StepKind};
use pilot_core::protocol::{
    AgentMessage, ArchiveBytes, Command, CommandId, CommandOutcome, DeploySecrets, NodeToken,
    ServerMessage,
};
use pilot_core::service::ServiceManager;
use pilot_core::source::SourceSpec;
use pilot_core::supervisor::Supervisor;
use pilot_core::{AppConfig, NodeLayout, SecretValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The secret the app's greeting comes from.
const GREETING: &str = "salut-from-a-secret";

fn sample_app() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/python-hello")
}

/// The sample app as a tar.gz whose VERSION file says `version`.
fn app_archive(version: &str) -> Vec<u8> {
    let app = sample_app();
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for name in ["app.py", "config.vpspilot.json"] {
        tar.append_path_with_name(app.join(name), name).unwrap();
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(version.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "VERSION", version.as_bytes())
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// The sample's config with fast health checks and its greeting from a secret.
fn fast_config() -> AppConfig {
    let text = std::fs::read_to_string(sample_app().join("config.vpspilot.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    config["env"]["GREETING"] = "{{GREETING}}".into();
    let d = &mut config["deployment"];
    d["healthcheck_interval"] = 0.2.into();
    d["healthcheck_timeout"] = 1.0.into();
    d["healthcheck_start_period"] = 10.into();
    d["watch_seconds"] = 0.5.into();
    d["drain_seconds"] = 1.into();
    pilot_core::config::parse(&config.to_string()).unwrap()
}

fn deploy(version: &str) -> Command {
    let mut secrets = DeploySecrets::new();
    secrets.insert("GREETING", SecretValue::new(GREETING));
    Command::Deploy {
        project: "hello".into(),
        source: SourceSpec::Archive {
            path: "/uploaded/by/the/server.tar.gz".into(),
        },
        config: Some(Box::new(fast_config())),
        archive: Some(ArchiveBytes(app_archive(version))),
        public_port: None,
        secrets,
    }
}

/// Sends a command and collects what the agent says about it.
async fn run(conn: &mut Conn, id: u64, command: Command) -> Vec<AgentMessage> {
    let id = CommandId(id);
    conn.send(ServerMessage::Command { id, command }).await;
    conn.command_messages(id).await
}

fn outcome(messages: &[AgentMessage]) -> &CommandOutcome {
    match messages.last() {
        Some(AgentMessage::Result { outcome, .. }) => outcome,
        other => panic!("the last message is not a result: {other:?}"),
    }
}

/// The generation a deploy or rollback switched to, after checking its journal.
fn succeeded_generation(messages: &[AgentMessage]) -> (u64, u16) {
    let journal = messages
        .iter()
        .find_map(|m| match m {
            AgentMessage::Journal { deployment, .. } => Some(deployment),
            _ => None,
        })
        .expect("a journal before the result");
    assert_eq!(journal.state(), DeployState::Succeeded, "{journal:?}");
    let CommandOutcome::Succeeded {
        deployment,
        generation: Some(generation),
    } = outcome(messages)
    else {
        panic!("not a success: {:?}", outcome(messages));
    };
    assert_eq!(deployment.as_deref(), Some(journal.id.as_str()));
    assert_eq!(*generation, journal.generation);
    (*generation, journal.public_port.expect("a public port"))
}

/// The body of `GET /` on the public port, or `None` when nothing answers.
async fn greeting(port: u16) -> Option<String> {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .ok()?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200")
            .then(|| body.trim().to_owned())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt)
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_roll_back_control_follow_logs_and_remove_a_real_app() {
    let data = tempfile::tempdir().unwrap();
    let result = AssertUnwindSafe(lifecycle(data.path()))
        .catch_unwind()
        .await;
    remove_leftover_services(data.path()).await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn lifecycle(data_dir: &Path) {
    let server = FakeServer::bind().await;
    let mut opts = options(data_dir, server.addr(), &NodeToken::generate());
    opts.metrics_interval = Duration::from_secs(1);
    let agent = Agent::start(opts).await.unwrap();
    let mut conn = server.accept().await;
    conn.welcome("web-1", 1).await;

    // The link drops right after the deploy was sent: the deploy goes on and
    // everything it reported arrives on the next connection.
    conn.send(ServerMessage::Command {
        id: CommandId(1),
        command: deploy("v1"),
    })
    .await;
    // Once the agent has taken the command (its first progress arrived),
    // drop the link in the middle of the deploy. Dropping earlier could
    // discard the command itself: closing a socket with unread data resets it.
    let taken = conn
        .recv_until(|m| match m {
            AgentMessage::Progress { command_id, .. } if *command_id == CommandId(1) => {
                Some(m.clone())
            }
            _ => None,
        })
        .await;
    drop(conn);
    let mut conn = server.accept().await;
    conn.welcome("web-1", 1).await;
    let mut first = vec![taken];
    first.extend(conn.command_messages(CommandId(1)).await);
    let (generation, port) = succeeded_generation(&first);
    assert_eq!(generation, 1);
    let started: Vec<StepKind> = first
        .iter()
        .filter_map(|m| match m {
            AgentMessage::Progress {
                event:
                    DeployEvent {
                        kind: DeployEventKind::StepStarted { step, .. },
                        ..
                    },
                ..
            } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(started.first(), Some(&StepKind::Fetch), "{started:?}");
    assert!(started.contains(&StepKind::Switch), "{started:?}");
    for message in &first {
        let json = serde_json::to_string(message).unwrap();
        assert!(!json.contains(GREETING), "a secret leaked: {json}");
    }
    let expected = format!("{GREETING} from python-hello v1");
    assert_eq!(greeting(port).await.as_deref(), Some(expected.as_str()));
    // The live release is measured as the project's service.
    conn.recv_until(|m| match m {
        AgentMessage::Metrics { batch, .. } => batch
            .samples
            .iter()
            .any(|s| {
                s.name == "service_resident_memory_bytes"
                    && s.labels.get("project").map(String::as_str) == Some("hello")
            })
            .then_some(()),
        _ => None,
    })
    .await;
    let uploads = data_dir.join("agent/uploads");
    assert_eq!(
        std::fs::read_dir(&uploads).unwrap().count(),
        0,
        "upload kept"
    );

    let second = run(&mut conn, 2, deploy("v2")).await;
    assert_eq!(succeeded_generation(&second), (2, port));
    let expected_v2 = format!("{GREETING} from python-hello v2");
    assert_eq!(greeting(port).await.as_deref(), Some(expected_v2.as_str()));

    let back = run(
        &mut conn,
        3,
        Command::Rollback {
            project: "hello".into(),
            generation: None,
        },
    )
    .await;
    assert_eq!(succeeded_generation(&back).1, port);
    assert_eq!(greeting(port).await.as_deref(), Some(expected.as_str()));

    let stop = run(
        &mut conn,
        4,
        Command::Stop {
            project: "hello".into(),
        },
    )
    .await;
    assert!(
        matches!(outcome(&stop), CommandOutcome::Succeeded { .. }),
        "{stop:?}"
    );
    assert_eq!(greeting(port).await, None, "a stopped app must not answer");
    let start = run(
        &mut conn,
        5,
        Command::Start {
            project: "hello".into(),
        },
    )
    .await;
    assert!(
        matches!(outcome(&start), CommandOutcome::Succeeded { .. }),
        "{start:?}"
    );
    assert_eq!(greeting(port).await.as_deref(), Some(expected.as_str()));

    follow_logs_across_a_restart(&mut conn).await;

    let remove = run(
        &mut conn,
        9,
        Command::Remove {
            project: "hello".into(),
        },
    )
    .await;
    assert!(
        matches!(outcome(&remove), CommandOutcome::Succeeded { .. }),
        "{remove:?}"
    );
    assert_eq!(greeting(port).await, None);
    assert!(!data_dir.join("projects/hello").exists());
    assert!(!data_dir.join("logs/hello").exists());
    let gone = run(
        &mut conn,
        10,
        Command::Start {
            project: "hello".into(),
        },
    )
    .await;
    let CommandOutcome::Failed { error } = outcome(&gone) else {
        panic!("starting a removed project must fail: {gone:?}");
    };
    assert!(error.contains("hello"), "{error}");

    let broken = run(
        &mut conn,
        11,
        Command::Deploy {
            project: "broken".into(),
            source: SourceSpec::Dir {
                path: "/unused".into(),
            },
            config: None,
            archive: Some(ArchiveBytes(b"this is not an archive".to_vec())),
            public_port: None,
            secrets: DeploySecrets::new(),
        },
    )
    .await;
    let CommandOutcome::Failed { error } = outcome(&broken) else {
        panic!("a bad archive must fail the deploy: {broken:?}");
    };
    assert!(error.contains("broken"), "{error}");
    agent.shutdown().await.unwrap();
}

/// Logs with follow: the tail first, then the lines a restart writes, until cancelled.
async fn follow_logs_across_a_restart(conn: &mut Conn) {
    let logs = CommandId(6);
    conn.send(ServerMessage::Command {
        id: logs,
        command: Command::Logs {
            project: "hello".into(),
            lines: 50,
            follow: true,
        },
    })
    .await;
    let tail = chunk_of(conn, logs).await;
    assert!(
        tail.iter().any(|l| l.contains("listening on 127.0.0.1")),
        "{tail:?}"
    );
    let restart = CommandId(7);
    conn.send(ServerMessage::Command {
        id: restart,
        command: Command::Restart {
            project: "hello".into(),
        },
    })
    .await;
    let mut followed = Vec::new();
    let mut restarted = false;
    while !(restarted && followed.iter().any(|l: &String| l.contains("listening on"))) {
        let message = conn
            .recv_until(|m| {
                matches!(command_of(m), Some(id) if id == logs || id == restart).then(|| m.clone())
            })
            .await;
        match message {
            AgentMessage::LogChunk { lines, .. } => followed.extend(lines),
            AgentMessage::Result {
                command_id,
                outcome,
            } => {
                assert_eq!(command_id, restart, "the follow ended early: {outcome:?}");
                assert!(
                    matches!(outcome, CommandOutcome::Succeeded { .. }),
                    "{outcome:?}"
                );
                restarted = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        followed.iter().any(|l| l.contains("python-hello stopped")),
        "{followed:?}"
    );
    conn.send(ServerMessage::Cancel { id: logs }).await;
    let end = conn.command_messages(logs).await;
    assert!(
        matches!(outcome(&end), CommandOutcome::Succeeded { .. }),
        "{end:?}"
    );
}

/// The next log chunk of `command`.
async fn chunk_of(conn: &mut Conn, command: CommandId) -> Vec<String> {
    conn.recv_until(|m| match m {
        AgentMessage::LogChunk { command_id, lines } if *command_id == command => {
            Some(lines.clone())
        }
        _ => None,
    })
    .await
}

/// Stops whatever app a failed test left running (the agent must be gone).
async fn remove_leftover_services(data_dir: &Path) {
    let dir = NodeLayout::new(data_dir).supervisor_dir();
    for _ in 0..100 {
        match Supervisor::open(&dir).await {
            Ok(supervisor) => {
                for service in supervisor.list().await.unwrap_or_default() {
                    let _ = supervisor.remove(&service.name).await;
                }
                supervisor.detach().await;
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

//! The agent link's frames, messages, versions, secrets masking and tokens.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use pilot_core::engine::{DeployEvent, DeployEventKind, StepKind};
use pilot_core::protocol::{
    AgentMessage, Command, CommandId, CommandOutcome, DeploySecrets, FrameCodec, NodeToken,
    PROTOCOL_VERSION, ProtocolError, ServerMessage, TokenHash, check_version, link_allows_secrets,
};
use pilot_core::source::{GitRef, SourceSpec};
use pilot_core::{MetricBatch, Sample, SecretValue};
use tokio::io::{AsyncWriteExt, duplex};

fn deploy_secrets() -> DeploySecrets {
    let mut secrets = DeploySecrets::new();
    secrets.insert(
        "DATABASE_URL",
        SecretValue::new("postgres://u:s3cr3t-pw@db/app"),
    );
    secrets.insert("API_KEY", SecretValue::new("sk-live-0123456789"));
    secrets
}

fn deploy_command() -> Command {
    Command::Deploy {
        project: "shop".into(),
        archive: None,
        config: None,
        public_port: None,
        source: SourceSpec::Git {
            url: "https://example.test/shop.git".into(),
            reference: GitRef::Branch("main".into()),
        },
        secrets: deploy_secrets(),
    }
}

fn agent_messages() -> Vec<AgentMessage> {
    let batch = MetricBatch {
        node: "web-1".into(),
        samples: vec![Sample {
            name: "cpu_usage_percent".into(),
            labels: BTreeMap::from([("project".into(), "shop".into())]),
            timestamp_ms: 1_700_000_000_000,
            value: 12.5,
        }],
    };
    vec![
        AgentMessage::hello(
            "web-1",
            NodeToken::generate(),
            serde_json::json!({"os": "linux", "cpus": 2}),
        ),
        AgentMessage::Heartbeat {
            at_ms: 1_700_000_000_123,
        },
        AgentMessage::Metrics { batch, seq: 42 },
        AgentMessage::Progress {
            command_id: CommandId(7),
            event: DeployEvent {
                deployment: "d-1".into(),
                project: "shop".into(),
                kind: DeployEventKind::StepStarted {
                    step: StepKind::Build,
                },
            },
        },
        AgentMessage::Result {
            command_id: CommandId(7),
            outcome: CommandOutcome::Succeeded {
                deployment: Some("d-1".into()),
                generation: Some(3),
            },
        },
        AgentMessage::Result {
            command_id: CommandId(8),
            outcome: CommandOutcome::Failed {
                error: "build failed".into(),
            },
        },
        AgentMessage::Result {
            command_id: CommandId(9),
            outcome: CommandOutcome::Refused {
                reason: "secrets over clear text".into(),
            },
        },
        AgentMessage::LogChunk {
            command_id: CommandId(10),
            lines: vec!["listening on :8000".into(), "GET / 200".into()],
        },
    ]
}

fn server_messages() -> Vec<ServerMessage> {
    let mut commands = vec![
        deploy_command(),
        Command::Rollback {
            project: "shop".into(),
            generation: Some(2),
        },
        Command::Rollback {
            project: "shop".into(),
            generation: None,
        },
        Command::Start {
            project: "shop".into(),
        },
        Command::Stop {
            project: "shop".into(),
        },
        Command::Restart {
            project: "shop".into(),
        },
        Command::Logs {
            project: "shop".into(),
            lines: 100,
            follow: true,
        },
        Command::Remove {
            project: "shop".into(),
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, command)| ServerMessage::Command {
        id: CommandId(i as u64),
        command,
    })
    .collect::<Vec<_>>();
    commands.insert(0, ServerMessage::welcome("web-1", 10));
    commands.push(ServerMessage::Refused {
        reason: "token revoked".into(),
    });
    commands.push(ServerMessage::MetricsAck { seq: 42 });
    commands.push(ServerMessage::Cancel { id: CommandId(7) });
    commands
}

#[tokio::test]
async fn every_message_round_trips_through_the_codec() {
    let (mut agent, mut server) = duplex(64 * 1024);
    let codec = FrameCodec::new();

    let sent = agent_messages();
    for message in &sent {
        codec
            .write(&mut agent, message)
            .await
            .expect("write agent message");
    }
    for expected in &sent {
        let got: Option<AgentMessage> = codec.read(&mut server).await.expect("read");
        assert_eq!(got.as_ref(), Some(expected));
    }

    let sent = server_messages();
    for message in &sent {
        codec
            .write(&mut server, message)
            .await
            .expect("write server message");
    }
    drop(server);
    for expected in &sent {
        let got: Option<ServerMessage> = codec.read(&mut agent).await.expect("read");
        assert_eq!(got.as_ref(), Some(expected));
    }
    let end: Option<ServerMessage> = codec.read(&mut agent).await.expect("clean end");
    assert_eq!(end, None, "a close between frames is a clean end");
}

#[tokio::test]
async fn messages_are_tagged_snake_case_json() {
    let frame = FrameCodec::new()
        .encode(&AgentMessage::LogChunk {
            command_id: CommandId(1),
            lines: vec![],
        })
        .expect("encode");
    let body: serde_json::Value = serde_json::from_slice(&frame[4..]).expect("json");
    assert_eq!(body["type"], "log_chunk");
    let frame = FrameCodec::new()
        .encode(&ServerMessage::MetricsAck { seq: 1 })
        .expect("encode");
    let body: serde_json::Value = serde_json::from_slice(&frame[4..]).expect("json");
    assert_eq!(body, serde_json::json!({"type": "metrics_ack", "seq": 1}));
}

#[tokio::test]
async fn oversize_frame_is_refused_before_reading_its_body() {
    let (mut writer, mut reader) = duplex(1024);
    // Announce 4 GiB - 1 and send nothing else: the reader must refuse from the prefix alone.
    writer
        .write_all(&u32::MAX.to_be_bytes())
        .await
        .expect("write prefix");
    let err = FrameCodec::new()
        .read::<_, ServerMessage>(&mut reader)
        .await
        .unwrap_err();
    match err {
        ProtocolError::FrameTooLarge { len, max } => {
            assert_eq!(len, u64::from(u32::MAX));
            assert_eq!(max, FrameCodec::DEFAULT_MAX_FRAME_LEN);
        }
        other => panic!("expected FrameTooLarge, got {other}"),
    }

    let small = FrameCodec::with_max_frame_len(16);
    let err = small
        .encode(&AgentMessage::hello(
            "web-1",
            NodeToken::generate(),
            serde_json::Value::Null,
        ))
        .unwrap_err();
    assert!(
        matches!(err, ProtocolError::FrameTooLarge { max: 16, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("maximum of 16 bytes"), "{err}");
}

#[tokio::test]
async fn truncated_frames_are_reported() {
    let frame = FrameCodec::new()
        .encode(&ServerMessage::MetricsAck { seq: 9 })
        .expect("encode");

    for (cut, part) in [(2, "length prefix"), (frame.len() - 3, "body")] {
        let (mut writer, mut reader) = duplex(1024);
        writer.write_all(&frame[..cut]).await.expect("write");
        drop(writer);
        let err = FrameCodec::new()
            .read::<_, ServerMessage>(&mut reader)
            .await
            .unwrap_err();
        match err {
            ProtocolError::Truncated { part: got, .. } => assert_eq!(got, part),
            other => panic!("expected Truncated for {part}, got {other}"),
        }
    }
}

#[tokio::test]
async fn garbage_body_is_a_decode_error_naming_the_message_type() {
    let (mut writer, mut reader) = duplex(1024);
    writer.write_all(&[0, 0, 0, 2]).await.expect("prefix");
    writer.write_all(b"{]").await.expect("body");
    let err = FrameCodec::new()
        .read::<_, AgentMessage>(&mut reader)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Decode {
                expected: "AgentMessage",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn version_mismatch_names_both_versions() {
    check_version(PROTOCOL_VERSION).expect("same version");
    let theirs = PROTOCOL_VERSION + 1;
    let err = check_version(theirs).unwrap_err();
    assert!(
        matches!(err, ProtocolError::VersionMismatch { ours, theirs: t } if ours == PROTOCOL_VERSION && t == theirs)
    );
    let text = err.to_string();
    assert!(text.contains(&format!("version {theirs}")), "{text}");
    assert!(
        text.contains(&format!("version {PROTOCOL_VERSION}")),
        "{text}"
    );
}

#[test]
fn secrets_and_tokens_never_appear_in_debug_output() {
    let message = ServerMessage::Command {
        id: CommandId(1),
        command: deploy_command(),
    };
    let shown = format!("{message:?} {message:#?}");
    assert!(!shown.contains("s3cr3t-pw"), "{shown}");
    assert!(!shown.contains("sk-live"), "{shown}");
    assert!(
        shown.contains("DATABASE_URL") && shown.contains("********"),
        "{shown}"
    );

    let token = NodeToken::generate();
    let hello = AgentMessage::hello("web-1", token.clone(), serde_json::Value::Null);
    let shown = format!("{hello:?} {token} {token:?}");
    assert!(!shown.contains(token.expose()), "{shown}");
}

#[test]
fn deploy_secrets_travel_as_a_plain_object_and_convert_to_secret_values() {
    let frame = FrameCodec::new().encode(&deploy_command()).expect("encode");
    let body: serde_json::Value = serde_json::from_slice(&frame[4..]).expect("json");
    assert_eq!(body["secrets"]["API_KEY"], "sk-live-0123456789");

    let values: BTreeMap<String, SecretValue> = deploy_secrets().into();
    assert_eq!(values["API_KEY"].expose(), "sk-live-0123456789");
    assert_eq!(DeploySecrets::from(values), deploy_secrets());
}

#[test]
fn token_hash_is_stable_and_compares_only_its_own_token() {
    let token = NodeToken::generate();
    let stored = token.hash();
    assert_eq!(stored.to_hex().len(), 64);
    assert_eq!(stored, token.hash());
    assert!(token.verify(&stored));
    assert!(!NodeToken::generate().verify(&stored));

    let reloaded = TokenHash::from_hex(&stored.to_string()).expect("reload");
    assert!(reloaded.matches(&stored));
    assert!(TokenHash::from_hex("not-hex").is_err());

    let upper = token.expose().replace("pilot_nt_", "").to_uppercase();
    let reparsed = NodeToken::parse(&format!("pilot_nt_{upper}")).expect("upper-case hex");
    assert!(reparsed.verify(&stored));

    for bad in [
        "",
        "pilot_nt_",
        "pnt_00",
        "pilot_nt_zz",
        &format!("{}0", token.expose()),
    ] {
        assert!(
            matches!(
                NodeToken::parse(bad),
                Err(ProtocolError::InvalidToken { .. })
            ),
            "{bad:?}"
        );
    }
    let bad_hello = r#"{"type":"hello","node":"n","version":1,"token":"nope","system":null}"#;
    assert!(serde_json::from_str::<AgentMessage>(bad_hello).is_err());
}

#[test]
fn secrets_need_tls_or_loopback() {
    let table: [(&str, bool, bool); 8] = [
        ("127.0.0.1:55001", false, true),
        ("127.8.9.10:55001", false, true),
        ("[::1]:55001", false, true),
        ("[::ffff:127.0.0.1]:55001", false, true),
        ("10.0.0.5:55001", false, false),
        ("[2001:db8::1]:55001", false, false),
        ("10.0.0.5:55001", true, true),
        ("[2001:db8::1]:55001", true, true),
    ];
    for (peer, tls, allowed) in table {
        let addr: SocketAddr = peer.parse().expect("address");
        assert_eq!(link_allows_secrets(addr, tls), allowed, "{peer} tls={tls}");
    }
}

//! Commands over the link: the round trip, unknown and offline nodes, runs
//! lost with their connection, and cancellation when a run is dropped.

use crate::support::agents::TestHub;
use pilot_core::config::Strategy;
use pilot_core::engine::{DeployEvent, DeployEventKind, Deployment, DeploymentKind, StepKind};
use pilot_core::protocol::{AgentMessage, Command, CommandId, CommandOutcome, ServerMessage};
use pilot_server::{CommandUpdate, LinkError, NodeLink};

fn rollback() -> Command {
    Command::Rollback {
        project: "shop".into(),
        generation: Some(1),
    }
}

/// The id of the command the agent received, checking it is `expected`.
fn received(message: Option<ServerMessage>, expected: &Command) -> CommandId {
    match message {
        Some(ServerMessage::Command { id, command }) => {
            assert_eq!(&command, expected);
            id
        }
        other => panic!("expected a command, got {other:?}"),
    }
}

#[tokio::test]
async fn a_command_round_trip_carries_progress_logs_journal_and_result() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    let mut run = t.hub.send("web-1", rollback()).await.expect("send");
    assert_eq!(run.node, "web-1");
    let id = received(agent.recv().await, &rollback());
    assert_eq!(id, run.id);

    let event = DeployEvent {
        deployment: "d1".into(),
        project: "shop".into(),
        kind: DeployEventKind::StepStarted {
            step: StepKind::Start,
        },
    };
    let journal = Deployment::new(
        "shop",
        DeploymentKind::Rollback { to: 1 },
        Strategy::BlueGreen,
        1,
        None,
        &[StepKind::Start],
    );
    let outcome = CommandOutcome::Succeeded {
        deployment: Some(journal.id.clone()),
        generation: Some(1),
    };
    for message in [
        AgentMessage::Progress {
            command_id: id,
            event: event.clone(),
        },
        AgentMessage::LogChunk {
            command_id: id,
            lines: vec!["started".into()],
        },
        AgentMessage::Journal {
            command_id: id,
            deployment: Box::new(journal.clone()),
        },
        AgentMessage::Result {
            command_id: id,
            outcome: outcome.clone(),
        },
    ] {
        agent.send(&message).await;
    }
    assert_eq!(run.next().await, Some(CommandUpdate::Progress(event)));
    assert_eq!(
        run.next().await,
        Some(CommandUpdate::Log(vec!["started".into()]))
    );
    assert_eq!(
        run.next().await,
        Some(CommandUpdate::Journal(Box::new(journal)))
    );
    assert_eq!(run.next().await, Some(CommandUpdate::Finished(outcome)));
    assert_eq!(run.next().await, None, "nothing follows the result");
    // A late duplicate result is ignored and the link goes on.
    agent
        .send(&AgentMessage::Result {
            command_id: id,
            outcome: CommandOutcome::Failed {
                error: "late".into(),
            },
        })
        .await;
    let second = t.hub.send("web-1", rollback()).await.expect("send again");
    assert_ne!(second.id, id);
    assert_eq!(received(agent.recv().await, &rollback()), second.id);
    assert_eq!(t.hub.stats().commands_sent, 2);
    t.stop().await;
}

#[tokio::test]
async fn commands_to_offline_or_unknown_nodes_are_refused() {
    let t = TestHub::start().await;
    t.register("web-1").await;
    let offline = t.hub.send("web-1", rollback()).await.unwrap_err();
    assert_eq!(
        offline,
        LinkError::NodeOffline {
            node: "web-1".into()
        }
    );
    let unknown = t.hub.send("nobody", rollback()).await.unwrap_err();
    assert_eq!(
        unknown,
        LinkError::UnknownNode {
            node: "nobody".into()
        }
    );
    t.stop().await;
}

#[tokio::test]
async fn pending_runs_are_lost_when_the_connection_drops() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    let mut first = t.hub.send("web-1", rollback()).await.expect("send");
    let second = t.hub.send("web-1", rollback()).await.expect("send");
    let id = received(agent.recv().await, &rollback());
    assert_eq!(received(agent.recv().await, &rollback()), second.id);
    agent
        .send(&AgentMessage::LogChunk {
            command_id: id,
            lines: vec!["building".into()],
        })
        .await;
    assert_eq!(
        first.next().await,
        Some(CommandUpdate::Log(vec!["building".into()]))
    );
    drop(agent);
    match first.next().await {
        Some(CommandUpdate::Lost { reason }) => {
            assert!(reason.contains("web-1"), "{reason}");
            assert!(reason.contains("closed the connection"), "{reason}");
        }
        other => panic!("expected the run to be lost, got {other:?}"),
    }
    assert_eq!(first.next().await, None);
    let lost = second.outcome(|_| {}).await.unwrap_err();
    assert!(lost.contains("ended before command"), "{lost}");
    assert!(!t.hub.is_online("web-1"));
    t.stop().await;
}

#[tokio::test]
async fn dropping_a_run_cancels_the_command_on_the_agent() {
    let t = TestHub::start().await;
    let mut agent = t.agent("web-1").await;
    let follow = Command::Logs {
        project: "shop".into(),
        lines: 10,
        follow: true,
    };
    let mut run = t.hub.send("web-1", follow.clone()).await.expect("send");
    let id = received(agent.recv().await, &follow);
    agent
        .send(&AgentMessage::LogChunk {
            command_id: id,
            lines: vec!["one".into()],
        })
        .await;
    assert_eq!(
        run.next().await,
        Some(CommandUpdate::Log(vec!["one".into()]))
    );
    drop(run);
    assert_eq!(agent.recv().await, Some(ServerMessage::Cancel { id }));
    // The agent ends the command; its result has no reader and is dropped.
    agent
        .send(&AgentMessage::Result {
            command_id: id,
            outcome: CommandOutcome::Succeeded {
                deployment: None,
                generation: None,
            },
        })
        .await;
    // A finished run that is dropped afterwards is not cancelled.
    let mut done = t.hub.send("web-1", rollback()).await.expect("send");
    let done_id = received(agent.recv().await, &rollback());
    agent
        .send(&AgentMessage::Result {
            command_id: done_id,
            outcome: CommandOutcome::Failed {
                error: "no generation 1".into(),
            },
        })
        .await;
    assert!(matches!(
        done.next().await,
        Some(CommandUpdate::Finished(_))
    ));
    drop(done);
    agent.send(&AgentMessage::Heartbeat { at_ms: 1 }).await;
    let next = t.hub.send("web-1", rollback()).await.expect("send");
    assert_eq!(
        received(agent.recv().await, &rollback()),
        next.id,
        "no cancel was sent for the finished run"
    );
    t.stop().await;
}

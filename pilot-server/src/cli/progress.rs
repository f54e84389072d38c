//! The live view of a rollout: one line per node with its steps, and the
//! build output streamed above. On a terminal it redraws in place
//! (indicatif); elsewhere it prints one plain line per event.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pilot_core::engine::{DeployEvent, DeployEventKind, StepKind};

use super::output::duration_ms;
use crate::events::ServerEvent;

/// Shows deploy events as they come. Clones share the view.
#[derive(Clone)]
pub struct ProgressView {
    inner: Arc<Mutex<Inner>>,
}

enum Inner {
    /// Bars redrawn on the terminal.
    Live {
        multi: MultiProgress,
        nodes: BTreeMap<String, NodeLine>,
    },
    /// One line per event.
    Plain(Box<dyn Write + Send>),
}

/// The bar of one node and the steps it shows.
struct NodeLine {
    bar: ProgressBar,
    steps: Vec<(StepKind, Mark)>,
}

/// Where a step is, as drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Running,
    Done,
    Failed,
    Reverted,
}

impl ProgressView {
    /// Bars on standard error when it is a terminal, plain lines otherwise.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            ProgressView::new(Inner::Live {
                multi,
                nodes: BTreeMap::new(),
            })
        } else {
            ProgressView::plain(Box::new(std::io::stderr()))
        }
    }

    /// Plain lines on `out`.
    pub fn plain(out: Box<dyn Write + Send>) -> Self {
        ProgressView::new(Inner::Plain(out))
    }

    fn new(inner: Inner) -> Self {
        ProgressView {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// Shows one event.
    pub fn show(&self, event: &ServerEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match (&mut *inner, event) {
            (Inner::Plain(out), ServerEvent::Deploy { node, event, .. }) => {
                if let Some(line) = plain_line(node, event) {
                    // Progress output is best effort: a closed stderr must not stop the deploy.
                    let _ = writeln!(out, "{line}");
                }
            }
            (Inner::Live { multi, nodes }, ServerEvent::Deploy { node, event, .. }) => {
                live_event(multi, nodes, node, event);
            }
            (
                Inner::Plain(out),
                ServerEvent::RolloutFinished {
                    succeeded, reason, ..
                },
            ) => {
                let _ = match (succeeded, reason) {
                    (true, _) => writeln!(out, "rollout finished"),
                    (false, reason) => writeln!(
                        out,
                        "rollout failed: {}",
                        reason.as_deref().unwrap_or("no reason given")
                    ),
                };
            }
            (Inner::Live { nodes, .. }, ServerEvent::RolloutFinished { .. }) => {
                for line in nodes.values() {
                    if !line.bar.is_finished() {
                        line.bar.finish();
                    }
                }
            }
            _ => {}
        }
    }

    /// Stops redrawing; the last state stays on screen.
    pub fn finish(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *inner {
            Inner::Live { nodes, .. } => {
                for line in nodes.values() {
                    if !line.bar.is_finished() {
                        line.bar.finish();
                    }
                }
            }
            Inner::Plain(out) => {
                let _ = out.flush();
            }
        }
    }
}

/// The plain line of one deploy event, if it is worth one.
fn plain_line(node: &str, event: &DeployEvent) -> Option<String> {
    Some(match event {
        DeployEvent {
            kind: DeployEventKind::StepStarted { step, .. },
            ..
        } => format!("{node}: {step} started"),
        DeployEvent {
            kind:
                DeployEventKind::StepFinished {
                    step,
                    duration_ms: ms,
                    ..
                },
            ..
        } => format!("{node}: {step} done in {}", duration_ms(*ms)),
        DeployEvent {
            kind: DeployEventKind::StepFailed { step, error, .. },
            ..
        } => format!("{node}: {step} failed: {error}"),
        DeployEvent {
            kind: DeployEventKind::StepReverted { step, .. },
            ..
        } => format!("{node}: {step} undone"),
        DeployEvent {
            kind: DeployEventKind::Switched { generation, .. },
            ..
        } => {
            format!("{node}: traffic switched to generation {generation}")
        }
        DeployEvent {
            kind: DeployEventKind::Log { line, .. },
            ..
        } => format!("{node} | {line}"),
        DeployEvent {
            kind: DeployEventKind::Finished { state, reason, .. },
            ..
        } => match reason {
            Some(reason) => format!("{node}: {state}: {reason}"),
            None => format!("{node}: {state}"),
        },
    })
}

fn live_event(
    multi: &MultiProgress,
    nodes: &mut BTreeMap<String, NodeLine>,
    node: &str,
    event: &DeployEvent,
) {
    let NodeLine { bar, steps } = nodes.entry(node.to_string()).or_insert_with(|| {
        let bar = multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(node.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        NodeLine {
            bar,
            steps: Vec::new(),
        }
    });
    let mut mark = |step: StepKind, m: Mark| match steps.iter_mut().find(|(s, _)| *s == step) {
        Some(entry) => entry.1 = m,
        None => steps.push((step, m)),
    };
    match event {
        DeployEvent {
            kind: DeployEventKind::StepStarted { step, .. },
            ..
        } => mark(*step, Mark::Running),
        DeployEvent {
            kind: DeployEventKind::StepFinished { step, .. },
            ..
        } => mark(*step, Mark::Done),
        DeployEvent {
            kind: DeployEventKind::StepFailed { step, .. },
            ..
        } => mark(*step, Mark::Failed),
        DeployEvent {
            kind: DeployEventKind::StepReverted { step, .. },
            ..
        } => mark(*step, Mark::Reverted),
        DeployEvent {
            kind: DeployEventKind::Log { line, .. },
            ..
        } => {
            // Printing above the bars only fails when the terminal is gone.
            let _ = multi.println(format!("{node} | {line}"));
            return;
        }
        DeployEvent {
            kind: DeployEventKind::Switched { .. },
            ..
        } => {}
        DeployEvent {
            kind: DeployEventKind::Finished { state, reason, .. },
            ..
        } => {
            let tail = match reason {
                Some(reason) => format!("{state}: {reason}"),
                None => state.to_string(),
            };
            bar.finish_with_message(format!("{}  {tail}", steps_text(steps)));
            return;
        }
    }
    bar.set_message(steps_text(steps));
}

/// `✓ fetch  ✓ build  ▸ start`.
fn steps_text(steps: &[(StepKind, Mark)]) -> String {
    steps
        .iter()
        .map(|(step, mark)| {
            let symbol = match mark {
                Mark::Running => "▸",
                Mark::Done => "✓",
                Mark::Failed => "✗",
                Mark::Reverted => "↺",
            };
            format!("{symbol} {step}")
        })
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use pilot_core::engine::DeployState;

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn deploy(event: DeployEvent) -> ServerEvent {
        ServerEvent::Deploy {
            project: "shop".into(),
            node: "web-1".into(),
            rollout: "r1".into(),
            event,
        }
    }

    #[test]
    fn plain_view_prints_steps_output_and_the_end() {
        let buffer = Shared::default();
        let view = ProgressView::plain(Box::new(buffer.clone()));
        let ids = || ("d1".to_string(), "shop".to_string());
        let (deployment, project) = ids();
        view.show(&deploy(DeployEvent {
            deployment,
            project,
            kind: DeployEventKind::StepStarted {
                step: StepKind::Build,
            },
        }));
        let (deployment, project) = ids();
        view.show(&deploy(DeployEvent {
            deployment,
            project,
            kind: DeployEventKind::Log {
                stream: pilot_core::output::Stream::Stdout,
                line: "compiling".into(),
            },
        }));
        let (deployment, project) = ids();
        view.show(&deploy(DeployEvent {
            deployment,
            project,
            kind: DeployEventKind::StepFinished {
                step: StepKind::Build,
                duration_ms: 2_500,
            },
        }));
        let (deployment, project) = ids();
        view.show(&deploy(DeployEvent {
            deployment,
            project,
            kind: DeployEventKind::Finished {
                state: DeployState::Failed,
                reason: Some("health check failed".into()),
            },
        }));
        view.show(&ServerEvent::RolloutFinished {
            project: "shop".into(),
            rollout: "r1".into(),
            succeeded: false,
            reason: Some("web-1 failed".into()),
        });
        view.finish();
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "web-1: build started\nweb-1 | compiling\nweb-1: build done in 2.5s\n\
             web-1: failed: health check failed\nrollout failed: web-1 failed\n"
        );
    }

    #[test]
    fn step_marks_read_left_to_right() {
        let steps = [
            (StepKind::Fetch, Mark::Done),
            (StepKind::Build, Mark::Failed),
            (StepKind::Start, Mark::Reverted),
            (StepKind::Switch, Mark::Running),
        ];
        assert_eq!(steps_text(&steps), "✓ fetch  ✗ build  ↺ start  ▸ switch");
    }
}

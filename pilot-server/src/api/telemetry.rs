//! The server's own counters, exposed at `GET /metrics` in the Prometheus
//! text format: HTTP responses by status class and rollouts.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use super::state::AppState;
use crate::deploy::RolloutKind;
use crate::events::{EventBus, ServerEvent};

/// Counters updated as requests and rollouts go by.
#[derive(Debug, Default)]
pub(crate) struct Telemetry {
    /// Responses by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    responses: [AtomicU64; 5],
    /// Rollouts started through the API: deploys, rollbacks.
    started: [AtomicU64; 2],
    /// Rollouts finished: succeeded, failed.
    finished: [AtomicU64; 2],
}

impl Telemetry {
    /// Counts one response.
    fn count_response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a rollout started through the API.
    pub(crate) fn count_rollout(&self, kind: RolloutKind) {
        let i = match kind {
            RolloutKind::Deploy => 0,
            RolloutKind::Rollback => 1,
        };
        self.started[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts finished rollouts from the event bus until it closes.
    pub(crate) fn watch_rollouts(self: &Arc<Self>, events: &EventBus) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime: finished rollouts are not counted");
            return;
        };
        let mut rx = events.subscribe();
        let telemetry = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                let event = match rx.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if let ServerEvent::RolloutFinished { succeeded, .. } = &*event {
                    let Some(telemetry) = telemetry.upgrade() else {
                        return;
                    };
                    let i = if *succeeded { 0 } else { 1 };
                    telemetry.finished[i].fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    /// The counters in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        family(
            out,
            "pilot_http_requests_total",
            "counter",
            "HTTP responses by status class.",
        );
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "pilot_http_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                load(counter)
            );
        }
        family(
            out,
            "pilot_rollouts_started_total",
            "counter",
            "Rollouts started through the API, by kind.",
        );
        for (kind, counter) in ["deploy", "rollback"].iter().zip(&self.started) {
            let _ = writeln!(
                out,
                "pilot_rollouts_started_total{{kind=\"{kind}\"}} {}",
                load(counter)
            );
        }
        family(
            out,
            "pilot_rollouts_finished_total",
            "counter",
            "Rollouts finished, by result.",
        );
        for (result, counter) in ["succeeded", "failed"].iter().zip(&self.finished) {
            let _ = writeln!(
                out,
                "pilot_rollouts_finished_total{{result=\"{result}\"}} {}",
                load(counter)
            );
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Middleware counting every response by status class.
pub(crate) async fn count_responses(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    state.telemetry.count_response(response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_counted_by_class() {
        let t = Telemetry::default();
        t.count_response(200);
        t.count_response(204);
        t.count_response(401);
        t.count_rollout(RolloutKind::Rollback);
        let mut out = String::new();
        t.render(&mut out);
        assert!(
            out.contains("pilot_http_requests_total{class=\"2xx\"} 2\n"),
            "{out}"
        );
        assert!(out.contains("pilot_http_requests_total{class=\"4xx\"} 1\n"));
        assert!(out.contains("pilot_rollouts_started_total{kind=\"rollback\"} 1\n"));
        assert!(out.contains("# TYPE pilot_rollouts_finished_total counter\n"));
    }
}

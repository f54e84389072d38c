//! Prometheus exposition: [`PrometheusSink`] keeps the latest batch as
//! Prometheus text, [`PrometheusEndpoint`] serves it over HTTP.

mod http;
mod text;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use pilot_core::{MetricBatch, MetricsSink};

pub use self::http::PrometheusEndpoint;
pub use self::text::{TextRenderer, render_text};

/// Namespace of Pilot's metrics in Prometheus: `pilot_cpu_usage_percent`.
pub const DEFAULT_NAMESPACE: &str = "pilot";

#[derive(Debug)]
struct Exposition {
    renderer: TextRenderer,
    text: Arc<String>,
}

/// A sink that renders each batch it accepts as Prometheus text and keeps
/// the latest, for an endpoint to serve. Clones share the text.
///
/// Rendering happens on `accept`, so a scrape only copies bytes; the text
/// buffer is reused whenever no scrape still holds the previous one.
#[derive(Debug, Clone)]
pub struct PrometheusSink {
    state: Arc<Mutex<Exposition>>,
}

impl Default for PrometheusSink {
    fn default() -> Self {
        PrometheusSink::new(DEFAULT_NAMESPACE)
    }
}

impl PrometheusSink {
    /// A sink whose metric names start with `namespace` and `_`.
    pub fn new(namespace: impl Into<String>) -> Self {
        PrometheusSink {
            state: Arc::new(Mutex::new(Exposition {
                renderer: TextRenderer::new(namespace),
                text: Arc::new(String::new()),
            })),
        }
    }

    /// The exposition of the latest batch (empty before the first).
    pub fn text(&self) -> Arc<String> {
        Arc::clone(&self.lock().text)
    }

    /// Renders `batch` and makes it the latest.
    pub fn render(&self, batch: &MetricBatch) {
        let mut guard = self.lock();
        let state = &mut *guard;
        match Arc::get_mut(&mut state.text) {
            Some(text) => state.renderer.render(batch, text),
            None => {
                let mut text = String::with_capacity(state.text.len() + 1024);
                state.renderer.render(batch, &mut text);
                state.text = Arc::new(text);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Exposition> {
        // Rendering cannot leave the state half-updated in a way that
        // matters: the next batch replaces the text entirely.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl MetricsSink for PrometheusSink {
    async fn accept(&self, batch: MetricBatch) -> pilot_core::Result<()> {
        self.render(&batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::Sample;

    fn batch(value: f64) -> MetricBatch {
        MetricBatch {
            node: "n".into(),
            samples: vec![Sample {
                name: "load5".into(),
                labels: Default::default(),
                timestamp_ms: 0,
                value,
            }],
        }
    }

    #[tokio::test]
    async fn keeps_the_latest_batch_and_leaves_held_text_alone() {
        let sink = PrometheusSink::default();
        assert_eq!(sink.text().as_str(), "");
        sink.accept(batch(1.0)).await.unwrap();
        let held = sink.text();
        assert!(held.ends_with("pilot_load5{node=\"n\"} 1\n"), "{held}");
        sink.accept(batch(2.0)).await.unwrap();
        assert!(held.ends_with(" 1\n"));
        assert!(sink.text().ends_with("pilot_load5{node=\"n\"} 2\n"));
        drop(held);
        sink.accept(batch(3.0)).await.unwrap();
        assert!(sink.text().ends_with(" 3\n"));
    }
}

//! # pilot-metrics
//!
//! Metric sinks for Pilot. [`FanoutSink`] hands each batch to several sinks;
//! [`ChannelSink`] turns batches into a stream for another task.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use pilot_core::{MetricBatch, MetricsSink};
//! let (sink, mut rx) = pilot_metrics::ChannelSink::new(8);
//! sink.accept(MetricBatch { node: "local".into(), samples: vec![] }).await.unwrap();
//! assert_eq!(rx.recv().await.unwrap().node, "local");
//! # }
//! ```

pub mod error;
mod sinks;

pub use error::{Error, Result};
pub use sinks::{ChannelSink, FanoutSink};

//! # pilot-metrics
//!
//! Pilot's host and per-app metrics collector, its collection loop and its
//! sinks.
//!
//! - [`Collector`] measures the host (CPU total and per core with each mode,
//!   load, memory and swap, local filesystems, disk I/O, network traffic,
//!   process counts, uptime), the services it is given (CPU, resident memory,
//!   threads and processes summed over each service's process tree, session
//!   or cgroup, keyed by project) and the top processes by CPU and memory.
//!   It reads `/proc` directly, keeps its files open and reuses its buffers,
//!   so a collection is cheap and memory stays flat.
//! - [`CollectionLoop`] collects every interval (5 s by default) and hands
//!   each [`MetricBatch`](pilot_core::MetricBatch) to any
//!   [`MetricsSink`](pilot_core::MetricsSink): [`FanoutSink`],
//!   [`ChannelSink`], [`PrometheusSink`] (served by [`PrometheusEndpoint`]).
//! - [`SystemInfo`] describes the node for its registration.
//!
//! Metric names and kinds are listed in [`catalog::METRICS`]. Derived gauges
//! (percentages, per-second rates, the collection's duration) are rounded
//! where they are computed to a resolution finer than what was measured, so
//! every consumer sees the same short decimals: see [`precision`].
//!
//! ```
//! use pilot_metrics::{Collector, CollectorOptions, ServiceTarget};
//!
//! let mut collector = Collector::new(CollectorOptions::default())?;
//! // Measure this process as the service "docs-g1" of project "docs".
//! let me = ServiceTarget::process("docs-g1", std::process::id());
//! collector.collect(std::slice::from_ref(&me))?;
//! std::thread::sleep(std::time::Duration::from_millis(20));
//! let snapshot = collector.collect(&[me])?;
//! assert!(snapshot.cpu.is_some());
//! assert_eq!(snapshot.services[0].project, "docs");
//!
//! let batch = snapshot.to_batch("node-1");
//! let text = pilot_metrics::render_text(&batch, "pilot");
//! assert!(text.contains("# TYPE pilot_memory_used_bytes gauge"));
//! # Ok::<(), pilot_metrics::Error>(())
//! ```

pub mod catalog;
mod collection_loop;
mod collector;
pub mod error;
pub mod precision;
mod procfs;
mod prometheus;
mod samples;
mod sinks;
mod snapshot;
mod system_info;
mod targets;

pub use collection_loop::{CollectionLoop, DEFAULT_INTERVAL};
pub use collector::{Collector, CollectorOptions, ServiceTarget, project_of};
pub use error::{Error, Result};
pub use prometheus::{
    DEFAULT_NAMESPACE, PrometheusEndpoint, PrometheusSink, TextRenderer, render_text,
};
pub use sinks::{ChannelSink, FanoutSink};
pub use snapshot::{
    CpuModes, CpuUsage, DiskCounters, DiskIo, DiskRates, FilesystemUsage, MemoryUsage, NetCounters,
    NetRates, NetworkInterface, ProcessUsage, ServiceUsage, Snapshot, TaskCounts,
};
pub use system_info::{DiskInfo, SystemInfo};
pub use targets::{ManagedServices, ServiceTargets};

//! pilot-metrics' integration tests, one binary: host and per-service
//! figures against the kernel's own numbers, and the Prometheus exposition
//! and exporter.

mod common;

mod host_accuracy;
mod prometheus;
mod service_accuracy;

//! The metrics the collector produces: name, kind and meaning of each, for
//! exposition formats and dashboards.
//!
//! Derived gauges are rounded to a resolution finer than their measurement's
//! (see [`crate::precision`]), and their help text says so: every
//! `*_percent` and `*_per_second` gauge to 0.01, `collector_duration_seconds`
//! to the microsecond.

/// Whether a metric only goes up (a counter) or moves freely (a gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that can go up and down.
    Gauge,
    /// A cumulative count that only resets when its source restarts; its
    /// name ends in `_total`.
    Counter,
}

impl MetricKind {
    /// The Prometheus type name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// Description of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDesc {
    /// Sample name, e.g. "memory_used_bytes".
    pub name: &'static str,
    /// Gauge or counter.
    pub kind: MetricKind,
    /// One sentence on what it measures, with its labels.
    pub help: &'static str,
}

const fn gauge(name: &'static str, help: &'static str) -> MetricDesc {
    MetricDesc {
        name,
        kind: MetricKind::Gauge,
        help,
    }
}

const fn counter(name: &'static str, help: &'static str) -> MetricDesc {
    MetricDesc {
        name,
        kind: MetricKind::Counter,
        help,
    }
}

/// Every metric the collector produces, sorted by name.
pub const METRICS: &[MetricDesc] = &[
    counter(
        "collector_collections_total",
        "Collections made by this collector.",
    ),
    gauge(
        "collector_duration_seconds",
        "Time the latest collection took. Rounded to the microsecond.",
    ),
    gauge("cpu_cores", "Online logical CPUs."),
    gauge(
        "cpu_mode_percent",
        "Share of all CPUs' time spent in each mode since the previous collection, by mode. Rounded to 0.01.",
    ),
    gauge(
        "cpu_usage_percent",
        "Share of time the CPU was busy (neither idle nor waiting for I/O) since the previous collection; cpu=\"total\" is all CPUs together. Rounded to 0.01.",
    ),
    counter(
        "disk_io_time_seconds_total",
        "Time the block device had I/O in flight, by device.",
    ),
    gauge(
        "disk_read_bytes_per_second",
        "Bytes read from the block device per second since the previous collection, by device. Rounded to 0.01.",
    ),
    counter(
        "disk_read_bytes_total",
        "Bytes read from the block device, by device.",
    ),
    counter(
        "disk_reads_completed_total",
        "Reads completed by the block device, by device.",
    ),
    counter(
        "disk_writes_completed_total",
        "Writes completed by the block device, by device.",
    ),
    gauge(
        "disk_written_bytes_per_second",
        "Bytes written to the block device per second since the previous collection, by device. Rounded to 0.01.",
    ),
    counter(
        "disk_written_bytes_total",
        "Bytes written to the block device, by device.",
    ),
    gauge(
        "filesystem_available_bytes",
        "Space available to unprivileged users, by filesystem.",
    ),
    gauge(
        "filesystem_size_bytes",
        "Size of the filesystem, by filesystem.",
    ),
    gauge(
        "filesystem_usage_percent",
        "Used share of the filesystem as df computes it, by filesystem. Rounded to 0.01.",
    ),
    gauge(
        "filesystem_used_bytes",
        "Space used on the filesystem, by filesystem.",
    ),
    gauge("load1", "Load average over one minute."),
    gauge("load15", "Load average over fifteen minutes."),
    gauge("load5", "Load average over five minutes."),
    gauge(
        "memory_available_bytes",
        "Memory available to new work without swapping.",
    ),
    gauge(
        "memory_buffers_bytes",
        "Memory used for block-device buffers.",
    ),
    gauge(
        "memory_cached_bytes",
        "Memory used for the page cache and reclaimable kernel slab.",
    ),
    gauge("memory_free_bytes", "Memory not used at all."),
    gauge("memory_total_bytes", "Usable physical memory."),
    gauge(
        "memory_usage_percent",
        "Used share of physical memory. Rounded to 0.01.",
    ),
    gauge("memory_used_bytes", "Memory in use: total minus available."),
    gauge(
        "network_receive_bytes_per_second",
        "Bytes received per second since the previous collection, by interface. Rounded to 0.01.",
    ),
    counter(
        "network_receive_bytes_total",
        "Bytes received, by interface.",
    ),
    counter(
        "network_receive_drops_total",
        "Received packets dropped, by interface.",
    ),
    counter(
        "network_receive_errors_total",
        "Receive errors, by interface.",
    ),
    gauge(
        "network_receive_packets_per_second",
        "Packets received per second since the previous collection, by interface. Rounded to 0.01.",
    ),
    counter(
        "network_receive_packets_total",
        "Packets received, by interface.",
    ),
    gauge(
        "network_transmit_bytes_per_second",
        "Bytes sent per second since the previous collection, by interface. Rounded to 0.01.",
    ),
    counter("network_transmit_bytes_total", "Bytes sent, by interface."),
    counter(
        "network_transmit_drops_total",
        "Packets dropped on sending, by interface.",
    ),
    counter(
        "network_transmit_errors_total",
        "Transmit errors, by interface.",
    ),
    gauge(
        "network_transmit_packets_per_second",
        "Packets sent per second since the previous collection, by interface. Rounded to 0.01.",
    ),
    counter(
        "network_transmit_packets_total",
        "Packets sent, by interface.",
    ),
    gauge(
        "process_cpu_usage_percent",
        "CPU use of one of the top processes in percent of one core, by pid and command name. Rounded to 0.01.",
    ),
    gauge(
        "process_resident_memory_bytes",
        "Resident memory of one of the top processes, by pid and command name.",
    ),
    gauge("processes", "Processes on the machine."),
    gauge("processes_blocked", "Tasks blocked on I/O."),
    gauge("processes_running", "Tasks runnable."),
    gauge(
        "service_cpu_usage_percent",
        "CPU use of a project's services in percent of one core, summed over all their processes. Rounded to 0.01.",
    ),
    gauge("service_processes", "Processes of a project's services."),
    gauge(
        "service_resident_memory_bytes",
        "Resident memory of a project's services, summed over all their processes.",
    ),
    gauge("service_threads", "Threads of a project's services."),
    gauge("swap_free_bytes", "Swap space unused."),
    gauge("swap_total_bytes", "Swap space."),
    gauge("swap_used_bytes", "Swap space in use."),
    gauge(
        "system_boot_time_seconds",
        "Boot time in seconds since the Unix epoch.",
    ),
    gauge("system_uptime_seconds", "Time since boot."),
    gauge("threads", "Threads of all processes on the machine."),
];

/// The description of the metric called `name`, if the collector produces it.
pub fn describe(name: &str) -> Option<&'static MetricDesc> {
    METRICS
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METRICS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_counters_end_in_total() {
        assert!(METRICS.windows(2).all(|w| w[0].name < w[1].name));
        for m in METRICS {
            assert_eq!(
                m.kind == MetricKind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            assert!(m.help.ends_with('.'), "{}", m.name);
        }
        assert_eq!(describe("load1").map(|m| m.kind), Some(MetricKind::Gauge));
        for m in METRICS {
            let rounded = m.name.ends_with("_percent") || m.name.ends_with("_per_second");
            assert_eq!(m.help.ends_with(" Rounded to 0.01."), rounded, "{}", m.name);
        }
        assert!(
            describe("collector_duration_seconds")
                .is_some_and(|m| m.help.ends_with(" Rounded to the microsecond."))
        );
        assert_eq!(describe("nope"), None);
    }
}

//! A [`Snapshot`] as [`Sample`]s, named as in [`crate::catalog::METRICS`].

use std::collections::BTreeMap;

use pilot_core::{MetricBatch, Sample};

use crate::precision;
use crate::snapshot::{ProcessUsage, Snapshot};

/// Appends samples with one timestamp to a vector.
struct Writer<'a> {
    timestamp_ms: i64,
    out: &'a mut Vec<Sample>,
}

impl Writer<'_> {
    fn put(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push(Sample {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            timestamp_ms: self.timestamp_ms,
            value,
        });
    }
}

impl Snapshot {
    /// The samples of this snapshot for `node`.
    pub fn to_batch(&self, node: &str) -> MetricBatch {
        let mut samples = Vec::with_capacity(160);
        self.write_samples(&mut samples);
        MetricBatch {
            node: node.to_owned(),
            samples,
        }
    }

    /// Appends this snapshot's samples to `out`. Percentages and rates are
    /// left out when the snapshot has none (the first collection).
    pub fn write_samples(&self, out: &mut Vec<Sample>) {
        let mut w = Writer {
            timestamp_ms: self.timestamp_ms,
            out,
        };
        self.write_host(&mut w);
        self.write_devices(&mut w);
        self.write_services(&mut w);
        self.write_top(&mut w);
        w.put("collector_collections_total", &[], self.collections as f64);
        w.put(
            "collector_duration_seconds",
            &[],
            precision::duration_seconds(self.duration),
        );
    }

    fn write_host(&self, w: &mut Writer<'_>) {
        if let Some(cpu) = &self.cpu {
            w.put("cpu_usage_percent", &[("cpu", "total")], cpu.total.usage());
            for (index, modes) in &cpu.cores {
                w.put(
                    "cpu_usage_percent",
                    &[("cpu", &index.to_string())],
                    modes.usage(),
                );
            }
            for (mode, value) in cpu.total.named() {
                w.put("cpu_mode_percent", &[("mode", mode)], value);
            }
        }
        w.put("cpu_cores", &[], self.cpu_cores as f64);
        for (name, value) in ["load1", "load5", "load15"].into_iter().zip(self.load) {
            w.put(name, &[], value);
        }
        let m = &self.memory;
        for (name, value) in [
            ("memory_total_bytes", m.total),
            ("memory_used_bytes", m.used),
            ("memory_available_bytes", m.available),
            ("memory_free_bytes", m.free),
            ("memory_buffers_bytes", m.buffers),
            ("memory_cached_bytes", m.cached),
            ("swap_total_bytes", m.swap_total),
            ("swap_used_bytes", m.swap_used),
            ("swap_free_bytes", m.swap_free),
        ] {
            w.put(name, &[], value as f64);
        }
        w.put("memory_usage_percent", &[], m.used_percent());
        let t = &self.tasks;
        w.put("processes", &[], t.processes as f64);
        w.put("threads", &[], t.threads as f64);
        w.put("processes_running", &[], t.running as f64);
        w.put("processes_blocked", &[], t.blocked as f64);
        w.put("system_uptime_seconds", &[], self.uptime.as_secs_f64());
        w.put("system_boot_time_seconds", &[], self.boot_time as f64);
    }

    fn write_devices(&self, w: &mut Writer<'_>) {
        for fs in &self.filesystems {
            let labels = [
                ("device", fs.device.as_str()),
                ("mountpoint", fs.mountpoint.as_str()),
                ("fstype", fs.fstype.as_str()),
            ];
            w.put("filesystem_size_bytes", &labels, fs.size as f64);
            w.put("filesystem_used_bytes", &labels, fs.used as f64);
            w.put("filesystem_available_bytes", &labels, fs.available as f64);
            w.put("filesystem_usage_percent", &labels, fs.used_percent());
        }
        for disk in &self.disks {
            let labels = [("device", disk.device.as_str())];
            let c = &disk.counters;
            w.put("disk_read_bytes_total", &labels, c.read_bytes as f64);
            w.put("disk_written_bytes_total", &labels, c.written_bytes as f64);
            w.put("disk_reads_completed_total", &labels, c.reads as f64);
            w.put("disk_writes_completed_total", &labels, c.writes as f64);
            w.put(
                "disk_io_time_seconds_total",
                &labels,
                c.io_time_ms as f64 / 1000.0,
            );
            if let Some(r) = &disk.rates {
                w.put("disk_read_bytes_per_second", &labels, r.read_bytes);
                w.put("disk_written_bytes_per_second", &labels, r.written_bytes);
            }
        }
        for net in &self.network {
            let labels = [("interface", net.name.as_str())];
            let c = &net.counters;
            for (name, value) in [
                ("network_receive_bytes_total", c.rx_bytes),
                ("network_transmit_bytes_total", c.tx_bytes),
                ("network_receive_packets_total", c.rx_packets),
                ("network_transmit_packets_total", c.tx_packets),
                ("network_receive_errors_total", c.rx_errors),
                ("network_transmit_errors_total", c.tx_errors),
                ("network_receive_drops_total", c.rx_drops),
                ("network_transmit_drops_total", c.tx_drops),
            ] {
                w.put(name, &labels, value as f64);
            }
            if let Some(r) = &net.rates {
                w.put("network_receive_bytes_per_second", &labels, r.rx_bytes);
                w.put("network_transmit_bytes_per_second", &labels, r.tx_bytes);
                w.put("network_receive_packets_per_second", &labels, r.rx_packets);
                w.put("network_transmit_packets_per_second", &labels, r.tx_packets);
            }
        }
    }

    /// One series per project: the services of one project (its running
    /// generations) are summed.
    fn write_services(&self, w: &mut Writer<'_>) {
        for (i, service) in self.services.iter().enumerate() {
            let project = service.project.as_str();
            if self.services[..i].iter().any(|s| s.project == project) {
                continue;
            }
            let same = || self.services[i..].iter().filter(|s| s.project == project);
            let labels = [("project", project)];
            if service.cpu_percent.is_some() {
                // Each service's share is on the 0.01 grid already; the sum
                // is put back on it (2.09 + 0.01 is 2.0999999999999996).
                let cpu = precision::percent(same().filter_map(|s| s.cpu_percent).sum());
                w.put("service_cpu_usage_percent", &labels, cpu);
            }
            let rss: u64 = same().map(|s| s.rss_bytes).sum();
            w.put("service_resident_memory_bytes", &labels, rss as f64);
            w.put(
                "service_threads",
                &labels,
                same().map(|s| s.threads).sum::<u64>() as f64,
            );
            w.put(
                "service_processes",
                &labels,
                same().map(|s| s.processes).sum::<u64>() as f64,
            );
        }
    }

    /// The processes of both top lists, each once.
    fn write_top(&self, w: &mut Writer<'_>) {
        let cpu_pids = || self.top_cpu.iter().map(|p| p.pid);
        let extra = self
            .top_memory
            .iter()
            .filter(|p| !cpu_pids().any(|pid| pid == p.pid));
        for p in self.top_cpu.iter().chain(extra) {
            write_process(w, p);
        }
    }
}

fn write_process(w: &mut Writer<'_>, p: &ProcessUsage) {
    let pid = p.pid.to_string();
    let mut labels = vec![("pid", pid.as_str()), ("name", p.name.as_str())];
    if let Some(project) = &p.project {
        labels.push(("project", project.as_str()));
    }
    if let Some(cpu) = p.cpu_percent {
        w.put("process_cpu_usage_percent", &labels, cpu);
    }
    w.put("process_resident_memory_bytes", &labels, p.rss_bytes as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::describe;
    use crate::snapshot::{CpuUsage, ServiceUsage};

    fn service(name: &str, project: &str, cpu: f64, rss: u64) -> ServiceUsage {
        ServiceUsage {
            service: name.into(),
            project: project.into(),
            cpu_percent: Some(cpu),
            rss_bytes: rss,
            threads: 1,
            processes: 1,
        }
    }

    fn values<'a>(samples: &'a [Sample], name: &'a str) -> impl Iterator<Item = &'a Sample> {
        samples.iter().filter(move |s| s.name == name)
    }

    #[test]
    fn projects_sum_their_generations() {
        let snap = Snapshot {
            services: vec![
                service("shop-g1", "shop", 2.09, 100),
                service("blog-g4", "blog", 1.0, 7),
                service("shop-g2", "shop", 0.01, 50),
            ],
            ..Snapshot::default()
        };
        let batch = snap.to_batch("n1");
        let cpu: Vec<_> = values(&batch.samples, "service_cpu_usage_percent").collect();
        assert_eq!(cpu.len(), 2);
        assert_eq!(cpu[0].labels["project"], "shop");
        // 2.09 + 0.01 is 2.0999999999999996 in f64 arithmetic.
        assert_eq!(cpu[0].value, 2.1);
        let rss: Vec<_> = values(&batch.samples, "service_resident_memory_bytes").collect();
        assert_eq!((rss[0].value, rss[1].value), (150.0, 7.0));
        assert_eq!(
            values(&batch.samples, "service_processes")
                .next()
                .unwrap()
                .value,
            2.0
        );
    }

    #[test]
    fn every_sample_is_catalogued_and_top_processes_appear_once() {
        let p = |pid, cpu| ProcessUsage {
            pid,
            name: "worker".into(),
            project: Some("shop".into()),
            cpu_percent: cpu,
            rss_bytes: 4096,
            threads: 1,
        };
        let snap = Snapshot {
            cpu: Some(CpuUsage::default()),
            top_cpu: vec![p(1, Some(50.0)), p(2, Some(5.0))],
            top_memory: vec![p(2, Some(5.0)), p(3, Some(0.0))],
            services: vec![service("shop-g1", "shop", 1.0, 1)],
            timestamp_ms: 42,
            ..Snapshot::default()
        };
        let mut samples = Vec::new();
        snap.write_samples(&mut samples);
        for s in &samples {
            assert!(describe(&s.name).is_some(), "{}", s.name);
            assert_eq!(s.timestamp_ms, 42);
        }
        let rss: Vec<_> = values(&samples, "process_resident_memory_bytes")
            .map(|s| s.labels["pid"].as_str())
            .collect();
        assert_eq!(rss, ["1", "2", "3"]);
        assert_eq!(values(&samples, "cpu_mode_percent").count(), 8);
    }

    #[test]
    fn first_collection_has_no_percentages() {
        let snap = Snapshot {
            services: vec![ServiceUsage {
                cpu_percent: None,
                ..service("a", "a", 0.0, 0)
            }],
            ..Snapshot::default()
        };
        let batch = snap.to_batch("n");
        assert_eq!(values(&batch.samples, "cpu_usage_percent").count(), 0);
        assert_eq!(
            values(&batch.samples, "service_cpu_usage_percent").count(),
            0
        );
        assert_eq!(values(&batch.samples, "memory_total_bytes").count(), 1);
    }
}

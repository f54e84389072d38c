//! The Prometheus exposition parsed by a real parser (promtool), and the
//! exporter binary end to end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use pilot_core::MetricsSink;
use pilot_metrics::{Collector, CollectorOptions, PrometheusSink, ServiceTarget};

use crate::common::*;

/// Runs `promtool check metrics` on `text`; returns its combined output,
/// failing the test when promtool rejects the text. Callers check first that
/// promtool is there, with `require_tool("promtool")`.
fn promtool_check(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool rejected the exposition: {report}\n{text}"
    );
    report
}

#[tokio::test]
async fn a_full_collection_passes_promtool_without_lint_problems() {
    if !require_tool("promtool") {
        return;
    }
    let tree = ProcessTree::spawn("sleep 600 & wait");
    let mut c = Collector::new(CollectorOptions::default()).unwrap();
    let targets = [
        ServiceTarget::process("shop-g1", tree.pid()),
        ServiceTarget::process("odd \"name\"\\-g2", std::process::id()),
    ];
    c.collect(&targets).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let batch = c.collect(&targets).unwrap().to_batch("node \"1\"");
    let sink = PrometheusSink::default();
    sink.accept(batch.clone()).await.unwrap();
    let text = sink.text();
    let report = promtool_check(&text);
    assert_eq!(report.trim(), "", "promtool lint report");

    // Every sample is there, once, under its family.
    let lines = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(lines, batch.samples.len());
    assert!(text.contains("# TYPE pilot_network_receive_bytes_total counter"));
    assert!(text.contains("pilot_service_processes{node=\"node \\\"1\\\"\",project=\"shop\"} 2"));
    assert!(text.contains("project=\"odd \\\"name\\\"\\\\\""));
}

/// Starts the exporter binary; kills it on drop.
struct Exporter {
    child: std::process::Child,
    addr: String,
}

impl Exporter {
    fn start(args: &[&str]) -> Exporter {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pilot-metrics-exporter"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_owned();
        Exporter { child, addr }
    }

    fn scrape(&self) -> String {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_owned()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_exporter_serves_collections_and_stops_on_sigterm() {
    if !require_tool("promtool") {
        return;
    }
    let own = format!("tests-g1={}", std::process::id());
    let mut exporter = Exporter::start(&[
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "0.1",
        "--node",
        "t",
        "--service",
        &own,
    ]);
    let mut body = String::new();
    wait_for(
        "a collection with CPU usage",
        Duration::from_secs(20),
        || {
            body = exporter.scrape();
            body.contains("pilot_cpu_usage_percent{node=\"t\",cpu=\"total\"}")
        },
    );
    assert!(body.contains("pilot_service_resident_memory_bytes{node=\"t\",project=\"tests\"}"));
    assert_eq!(promtool_check(&body).trim(), "");
    assert_short_decimals(&body);

    let pid = nix::unistd::Pid::from_raw(exporter.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut status = None;
    wait_for("the exporter to exit", Duration::from_secs(10), || {
        status = exporter.child.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success());
}

/// Derived gauges are exposed with the decimals of their resolution: two
/// for percentages and rates, six for the collection's duration.
fn assert_short_decimals(body: &str) {
    let mut seen = 0;
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        let most = if name.ends_with("_percent") || name.ends_with("_per_second") {
            2
        } else if name == "pilot_collector_duration_seconds" {
            6
        } else {
            continue;
        };
        let decimals = value.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= most, "{line}: more than {most} decimals");
        seen += 1;
    }
    assert!(seen > 0, "the exposition has derived gauges");
}

#[test]
fn the_exporter_rejects_bad_arguments() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pilot-metrics-exporter"))
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["--interval", "0"][..],
        &["--listen", "nowhere"],
        &["--service", "x"],
        &["--bogus"],
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} explains itself");
    }
}

//! `pilot-metrics-exporter`: Pilot's collector with Prometheus exposition.
//!
//! ```text
//! pilot-metrics-exporter [--listen ADDR] [--interval SECONDS] [--node NAME]
//!                        [--service NAME=PID]...
//! ```
//!
//! Collects every interval (default 5 s) and serves the latest collection at
//! `http://ADDR/metrics` (default 127.0.0.1:9101). Prints the address it
//! listens on, then runs until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use pilot_metrics::{
    CollectionLoop, Collector, CollectorOptions, PrometheusEndpoint, PrometheusSink, ServiceTarget,
};

const USAGE: &str = "usage: pilot-metrics-exporter [--listen ADDR] [--interval SECONDS] [--node NAME] [--service NAME=PID]...";

/// The command line.
struct Args {
    listen: SocketAddr,
    interval: Duration,
    node: String,
    services: Vec<ServiceTarget>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 9101)),
        interval: pilot_metrics::DEFAULT_INTERVAL,
        node: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned()),
        services: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value; {USAGE}"));
        match flag.as_str() {
            "--listen" => {
                args.listen = value()?
                    .parse()
                    .map_err(|_| "--listen wants an address like 127.0.0.1:9101".to_owned())?;
            }
            "--interval" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|_| "--interval wants seconds, e.g. 5 or 0.5".to_owned())?;
                args.interval = Duration::try_from_secs_f64(secs)
                    .map_err(|_| "--interval wants a positive number of seconds".to_owned())?;
            }
            "--node" => args.node = value()?,
            "--service" => {
                let spec = value()?;
                let (name, pid) = spec
                    .split_once('=')
                    .and_then(|(n, p)| Some((n, p.parse().ok()?)))
                    .ok_or(format!("--service wants NAME=PID, got {spec:?}"))?;
                args.services.push(ServiceTarget::process(name, pid));
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(args)
}

async fn run(args: Args) -> pilot_metrics::Result<()> {
    let sink = PrometheusSink::default();
    let endpoint = PrometheusEndpoint::bind(args.listen, sink.clone()).await?;
    println!("listening on {}", endpoint.local_addr()?);
    let collector = Collector::new(CollectorOptions::default())?;
    let lp = CollectionLoop::new(args.node, collector, Arc::new(sink))
        .with_interval(args.interval)?
        .with_services(Arc::new(args.services));
    tokio::select! {
        () = endpoint.serve() => {}
        () = lp.run(pilot_core::daemon::shutdown_signal()) => {}
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    pilot_core::daemon::init_tracing("info");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

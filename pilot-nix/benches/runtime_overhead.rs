//! Overhead of `NixRuntime` per command once the dev shell is realised,
//! compared with the host runtime and with one `nix develop` per command.
//! Goal: under 5 ms beyond the command itself. Prints a table.
//!
//! `cargo bench -p pilot-nix --bench runtime_overhead` (needs Nix; installs
//! it with scripts/setup/nix.sh when missing).

#[path = "../tests/nix/support/mod.rs"]
#[allow(missing_docs)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use pilot_core::command::run_shell;
use pilot_core::output::NullSink;
use pilot_core::redact::Redactor;
use pilot_core::{HostRuntime, Runtime, Toolchain};
use pilot_nix::NixRuntime;

const RUNS: usize = 40;

struct Row {
    label: String,
    samples: Vec<Duration>,
}

impl Row {
    fn stat(&self, q: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let index = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    }

    fn mean(&self) -> f64 {
        self.samples.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0
            / self.samples.len() as f64
    }
}

async fn time_shell(line: &str, dir: &Path, toolchain: &Toolchain) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let exit = run_shell(line, dir, &toolchain.env, &Redactor::none(), &NullSink)
            .await
            .expect("the command runs");
        assert!(exit.success, "`{line}` failed");
        samples.push(start.elapsed());
    }
    samples
}

fn time_nix_develop(
    bed: &support::NixTestbed,
    flake: &Path,
    line: &str,
    runs: usize,
) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let (ok, _, err) =
                bed.nix(&["develop", "--", "--command", "sh", "-c", line], flake, "");
            assert!(ok, "nix develop: {err}");
            start.elapsed()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let bed = support::NixTestbed::new().expect("this benchmark needs Nix");
    let dir = bed.scratch("bench-app");
    std::fs::write(
        dir.join("config.vpspilot.json"),
        r#"{"name": "bench", "type": "python", "runtime": {"python": "3.11"}, "start": {"command": "true"}}"#,
    )
    .expect("write config");
    let config = pilot_core::config::load(&dir).expect("valid config");
    let runtime = NixRuntime::new(bed.options.clone());
    let start = Instant::now();
    let nix = runtime
        .prepare(&dir, &config)
        .await
        .expect("realise the dev shell");
    let realise = start.elapsed();
    let host_config = pilot_core::AppConfig {
        runtime: Default::default(),
        ..config.clone()
    };
    let host = HostRuntime::new()
        .prepare(&dir, &host_config)
        .await
        .expect("host toolchain");
    let flake = dir.join(".pilot/nix/flake");

    // The command itself: the toolchain's own binary by absolute path,
    // without the toolchain environment.
    let python = nix.env["PATH"]
        .split(':')
        .map(|dir| Path::new(dir).join("python3"))
        .find(|p| p.exists())
        .expect("python3 in the toolchain");
    let groups = [
        ("true", "true".to_string()),
        ("python3 -c pass", format!("{} -c pass", python.display())),
    ];
    let mut rows = Vec::new();
    for (line, direct) in &groups {
        rows.push(Row {
            label: format!("the command itself: {line}"),
            samples: time_shell(direct, &dir, &host).await,
        });
        rows.push(Row {
            label: format!("nix runtime: {line}"),
            samples: time_shell(line, &dir, &nix).await,
        });
        rows.push(Row {
            label: format!("nix develop per command: {line}"),
            samples: time_nix_develop(&bed, &flake, line, RUNS / 4),
        });
    }

    println!(
        "NixRuntime per-command overhead ({RUNS} runs each; nix develop {} runs)",
        RUNS / 4
    );
    println!(
        "dev shell realised once in {:.1} ms",
        realise.as_secs_f64() * 1000.0
    );
    println!(
        "{:<45} {:>10} {:>10} {:>10}",
        "command", "mean ms", "median ms", "p95 ms"
    );
    for row in &rows {
        println!(
            "{:<45} {:>10.2} {:>10.2} {:>10.2}",
            row.label,
            row.mean(),
            row.stat(0.5),
            row.stat(0.95)
        );
    }
    for ((line, _), rows) in groups.iter().zip(rows.chunks(3)) {
        println!(
            "`{line}`: the nix runtime adds {:+.2} ms (median) to the command itself; \
             one nix develop per command would add {:+.2} ms",
            rows[1].stat(0.5) - rows[0].stat(0.5),
            rows[2].stat(0.5) - rows[0].stat(0.5),
        );
    }
}

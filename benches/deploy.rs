//! Pilot's own deploy overhead and rollback time, on real components (the
//! embedded supervisor, the built-in proxy, the host runtime) with the
//! sample Python app.
//!
//! ```text
//! cargo bench -p pilot-benches --bench deploy
//! ```
//!
//! Overhead = wall time of a deploy − the app's own build (its build and test
//! commands: the Build step less the toolchain check, which is Pilot's work,
//! and the Test step) − its start-until-healthy time (HealthCheck step). The
//! watch window is set to 0 so it does not count here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_agent::{NodeEngine, Toolchain};
use pilot_benches::{ms, summarize, table};
use pilot_core::engine::{Deployment, Engine, EngineOptions, NewRelease, NoEvents, StepKind};
use pilot_core::source::SourceSpec;
use pilot_core::{HostRuntime, Runtime};

const DEPLOYS: usize = 20;
const ROLLBACKS: usize = 20;

fn app(dir: &Path, version: &str, warm: bool) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/python-hello");
    let out = dir.join(format!("{version}-{warm}"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(src.join("app.py"), out.join("app.py")).unwrap();
    std::fs::write(out.join("VERSION"), version).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.vpspilot.json")).unwrap())
            .unwrap();
    config["deployment"]["watch_seconds"] = 0.into();
    config["deployment"]["drain_seconds"] = 1.into();
    config["deployment"]["warm_standby"] = warm.into();
    std::fs::write(out.join("config.vpspilot.json"), config.to_string()).unwrap();
    out
}

fn step_ms(d: &Deployment, step: StepKind) -> u64 {
    d.step(step)
        .and_then(|s| u64::try_from(s.finished_ms?.saturating_sub(s.started_ms?)).ok())
        .unwrap_or(0)
}

/// How long the host runtime takes to resolve the app's toolchain.
async fn time_prepare(app: &Path) -> Duration {
    let config = pilot_core::config::load(app).unwrap();
    let started = Instant::now();
    HostRuntime::new().prepare(app, &config).await.unwrap();
    started.elapsed()
}

/// The node engine of `data`, opened as an agent opens it, on the host runtime.
async fn engine(data: &Path) -> Arc<Engine> {
    let options = EngineOptions {
        public_ip: "127.0.0.1".parse().unwrap(),
        ..EngineOptions::default()
    };
    NodeEngine::open(data, Toolchain::host(), options, Arc::new(NoEvents))
        .await
        .unwrap()
        .engine
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("data")).await;
    let apps = tmp.path().join("apps");

    let mut per_step: Vec<(StepKind, Vec<Duration>)> =
        StepKind::ALL.iter().map(|&s| (s, Vec::new())).collect();
    let mut overhead = Vec::new();
    let mut totals = Vec::new();
    let mut app_time = Vec::new();
    for i in 0..DEPLOYS {
        let dir = app(&apps, &format!("v{i}"), false);
        let started = Instant::now();
        let d = engine
            .deploy(NewRelease::new(
                "bench",
                SourceSpec::Dir { path: dir.clone() },
            ))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
        let total = started.elapsed();
        // The Build step also resolves the toolchain (Pilot's work): time it
        // alone and count only the rest as the app's build.
        let prepare = time_prepare(&dir).await;
        let build = Duration::from_millis(step_ms(&d, StepKind::Build)).saturating_sub(prepare);
        let own = build
            + Duration::from_millis(
                step_ms(&d, StepKind::Test) + step_ms(&d, StepKind::HealthCheck),
            );
        for (step, samples) in per_step.iter_mut() {
            samples.push(Duration::from_millis(step_ms(&d, *step)));
        }
        totals.push(total);
        app_time.push(own);
        overhead.push(total.saturating_sub(own));
    }

    let mut warm = Vec::new();
    for (i, v) in ["a", "b"].iter().enumerate() {
        let dir = app(&apps, v, true);
        engine
            .deploy(NewRelease::new("warm", SourceSpec::Dir { path: dir }))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
        assert_eq!(
            engine.project("warm").unwrap().live.unwrap().generation,
            i as u64 + 1
        );
    }
    for _ in 0..ROLLBACKS {
        let started = Instant::now();
        let d = engine.rollback("warm", None).await.unwrap();
        let took = started.elapsed();
        let d = d.succeeded().unwrap();
        assert!(d.reused_standby, "rollback did not reuse the warm standby");
        warm.push(took);
        // Roll "forward" again so the next rollback has a warm target too.
        let live = engine.project("warm").unwrap().live.unwrap().generation;
        let other = if live == 1 { 2 } else { 1 };
        engine
            .rollback("warm", Some(other))
            .await
            .unwrap()
            .succeeded()
            .unwrap();
    }

    let mut cold = Vec::new();
    for _ in 0..5 {
        // Alternate between the two newest generations: each rollback starts a stopped one.
        let state = engine.project("bench").unwrap();
        let live = state.live.unwrap().generation;
        let target = state.kept().into_iter().rev().find(|&g| g != live);
        let started = Instant::now();
        engine
            .rollback("bench", target)
            .await
            .unwrap()
            .succeeded()
            .unwrap();
        cold.push(started.elapsed());
    }

    let rows: Vec<Vec<String>> = [
        ("deploy wall time", &totals),
        ("app build + start-until-healthy", &app_time),
        ("pilot deploy overhead (goal < 100 ms)", &overhead),
        ("rollback to warm generation (goal < 1 s)", &warm),
        ("rollback to cold generation (starts it)", &cold),
    ]
    .iter()
    .map(|(name, samples)| {
        let s = summarize(samples).unwrap();
        vec![
            name.to_string(),
            s.count.to_string(),
            ms(s.p50),
            ms(s.p90),
            ms(s.max),
        ]
    })
    .collect();
    println!("{}", table(&["measure", "n", "p50", "p90", "max"], &rows));
    let steps: Vec<Vec<String>> = per_step
        .iter()
        .map(|(step, samples)| {
            let s = summarize(samples).unwrap();
            vec![step.to_string(), ms(s.p50), ms(s.p90), ms(s.max)]
        })
        .collect();
    println!(
        "\nper step of the {DEPLOYS} deploys:\n{}",
        table(&["step", "p50", "p90", "max"], &steps)
    );

    for status in engine.parts().services.list().await.unwrap() {
        engine.parts().services.remove(&status.name).await.unwrap();
    }
}

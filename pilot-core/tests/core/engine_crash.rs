//! Crash safety: for every step of a deployment, an engine process is killed
//! with SIGKILL at the worst moment of that step (its effect done, the
//! journal not yet updated). A new engine process then recovers. The live
//! release must serve throughout, the journal must be resolved, and no
//! orphan process or leftover file may remain.
//!
//! The engine runs in child processes: this test binary started again with
//! [`ROLE`] set, running only the test that started it. Traffic goes through
//! a proxy daemon that lives in the test process itself, as it would live in
//! its own process in production.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use pilot_core::engine::{Deployment, EngineOptions, EventLog, NewRelease, StepKind};
use pilot_core::proxy::{ProxyClient, ProxyDaemon};
use pilot_core::source::SourceSpec;
use pilot_core::supervisor::Supervisor;
use pilot_core::{MemorySecretStore, NodeLayout, ServiceManager};

/// Set in an engine process: what it does ("deploy" or "recover").
const ROLE: &str = "PILOT_CRASH_ROLE";
/// Starts the line of an engine process's result (the test harness prints
/// lines of its own).
const RESULT: &str = "engine result: ";

/// Test outcome; failures say what went wrong.
type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// One test per step kind, `killed_during_<step>`.
macro_rules! crash_tests {
    ($($test:ident: $step:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() -> Outcome {
                crash_test(stringify!($test), StepKind::$step)
            }
        )*
        const _: () = assert!(
            [$(StepKind::$step),*].len() == StepKind::ALL.len(),
            "one crash test per step kind"
        );
    };
}

crash_tests! {
    killed_during_fetch: Fetch,
    killed_during_configure: Configure,
    killed_during_build: Build,
    killed_during_test: Test,
    killed_during_start: Start,
    killed_during_health_check: HealthCheck,
    killed_during_switch: Switch,
    killed_during_watch: Watch,
    killed_during_retire: Retire,
}

/// Runs the crash test `test` for `step`, or, in an engine process started
/// by that test (the same test of this binary, with [`ROLE`] set), the
/// engine's role.
fn crash_test(test: &str, step: StepKind) -> Outcome {
    if let Ok(role) = std::env::var(ROLE) {
        child(&role);
        return Ok(());
    }
    assert_eq!(test, format!("killed_during_{step}"), "test name");
    let test = format!(
        "{}::{test}",
        module_path!().split_once("::").map_or("", |(_, m)| m)
    );
    crash_during(&test, step)
}

// ---- child side ----------------------------------------------------------------

fn child(role: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let data = PathBuf::from(std::env::var("PILOT_DATA").unwrap());
        let socket = NodeLayout::new(&data).proxy_socket();
        let router = Arc::new(ProxyClient::new(socket));
        let mut engine = engine(
            &data,
            router,
            Arc::new(MemorySecretStore::new()),
            Arc::new(EventLog::new()),
        )
        .await;
        if let Ok(step) = std::env::var("PILOT_PAUSE_STEP") {
            let step: StepKind = serde_json::from_value(step.into()).unwrap();
            let marker = PathBuf::from(std::env::var("PILOT_PAUSE_MARKER").unwrap());
            engine = pilot_core::Engine::new(
                engine.parts().clone(),
                EngineOptions {
                    public_ip: "127.0.0.1".parse().unwrap(),
                    stop_timeout: Duration::from_secs(3),
                    pause_in: Some((step, marker)),
                    ..EngineOptions::default()
                },
            );
        }
        match role {
            "deploy" => {
                let app = PathBuf::from(std::env::var("PILOT_APP").unwrap());
                let done = engine
                    .deploy(NewRelease::new("web", SourceSpec::Dir { path: app }))
                    .await
                    .unwrap();
                println!("{RESULT}{}", serde_json::to_string(&done).unwrap());
            }
            "recover" => {
                let report = engine.recover().await.unwrap();
                println!("{RESULT}{}", serde_json::to_string(&report).unwrap());
            }
            other => panic!("unknown role {other}"),
        }
    });
}

// ---- test side -----------------------------------------------------------------

/// Starts an engine process: `test` of this binary again, in `role`.
fn spawn_role(
    test: &str,
    role: &str,
    data: &Path,
    extra: &[(&str, String)],
) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture"])
        .env(ROLE, role)
        .env("PILOT_DATA", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Runs an engine process to its end; returns the result it printed.
fn run_role(test: &str, role: &str, data: &Path, extra: &[(&str, String)]) -> Outcome<String> {
    let out = spawn_role(test, role, data, extra)
        .wait_with_output()
        .unwrap();
    if !out.status.success() {
        return Err(format!("{role} child failed: {}", out.status).into());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT).map(|(_, r)| r.trim().to_string()))
        .ok_or_else(|| format!("{role} child printed no result: {stdout}"))?;
    Ok(result)
}

fn crash_during(test: &str, step: StepKind) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(crash_during_async(test, step))
}

async fn crash_during_async(test: &str, step: StepKind) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let layout = NodeLayout::new(&data);
    std::fs::create_dir_all(layout.run_dir()).unwrap();
    let (stop_proxy, proxy_stopped) = tokio::sync::oneshot::channel::<()>();
    let socket = layout.proxy_socket();
    let routes = layout.run_dir().join("routes.json");
    let daemon = tokio::spawn(async move {
        ProxyDaemon::run(&socket, &routes, async {
            let _ = proxy_stopped.await;
        })
        .await
    });
    let client = ProxyClient::new(layout.proxy_socket());
    let ready = Instant::now();
    while client.ping().await.is_err() {
        if ready.elapsed() > Duration::from_secs(10) {
            return Err("the proxy daemon did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let port = free_port();
    let public: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let apps = tmp.path().join("apps");
    let v1 = app_version(&apps, "v1", |c| fast_deployment(c, port));
    let v2 = app_version(&apps, "v2", |c| {
        fast_deployment(c, port);
        c["test"] = serde_json::json!({"command": "python3 -c 'print(\"tests pass\")'"});
    });
    let result = async {
        let first: Deployment = serde_json::from_str(&run_role(
            test,
            "deploy",
            &data,
            &[("PILOT_APP", v1.display().to_string())],
        )?)?;
        first.succeeded()?;
        assert_eq!(get(public, "/").await?, "hello from python-hello v1");

        let load = Load::start(public, 4);
        let marker = tmp.path().join("paused");
        let mut child = spawn_role(
            test,
            "deploy",
            &data,
            &[
                ("PILOT_APP", v2.display().to_string()),
                ("PILOT_PAUSE_STEP", step.as_str().to_string()),
                ("PILOT_PAUSE_MARKER", marker.display().to_string()),
            ],
        );
        let waiting = Instant::now();
        let mut early_end = None;
        while !marker.exists() && early_end.is_none() && waiting.elapsed() < Duration::from_secs(60)
        {
            early_end = child.try_wait()?;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = child.kill();
        let status = child.wait()?;
        if !marker.exists() {
            return Err(match early_end {
                Some(_) => format!("the engine ended ({status}) before reaching {step}"),
                None => format!("the engine never reached {step}"),
            }
            .into());
        }
        // The engine is dead: the live release must still serve.
        let during = get(public, "/").await?;
        let report = run_role(test, "recover", &data, &[])?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let observations = load.finish().await;
        let after = get(public, "/").await?;
        check_after_recovery(&data, step, &during, &after, &report, &observations)
    }
    .await;

    // Clean up whatever runs, whatever the outcome.
    let services = Supervisor::open(layout.supervisor_dir()).await?;
    for status in services.list().await? {
        services.remove(&status.name).await?;
    }
    let _ = stop_proxy.send(());
    daemon.await??;
    result
}

fn check_after_recovery(
    data: &Path,
    step: StepKind,
    during: &str,
    after: &str,
    report: &str,
    observations: &[Observation],
) -> Outcome {
    let layout = NodeLayout::new(data);
    // Killed after Switch, the new release serves while the engine is dead;
    // killed in Retire (past the watch window) it stays live after recovery.
    let expected_during = if step >= StepKind::Switch { "v2" } else { "v1" };
    let expected_after = if step == StepKind::Retire { "v2" } else { "v1" };
    assert_eq!(
        during,
        format!("hello from python-hello {expected_during}"),
        "while the engine was dead"
    );
    assert_eq!(
        after,
        format!("hello from python-hello {expected_after}"),
        "after recovery; report: {report}"
    );

    let failures: Vec<_> = observations.iter().filter(|o| o.result.is_err()).collect();
    assert!(
        observations.len() > 10,
        "too few requests: {}",
        observations.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed requests: {:?}",
        failures.len(),
        failures.first()
    );

    // Every journal is resolved.
    let journals = layout.deployments_dir("web");
    for entry in std::fs::read_dir(&journals)? {
        let record: Deployment = serde_json::from_slice(&std::fs::read(entry?.path())?)?;
        assert!(record.state().is_final(), "unresolved journal: {record:?}");
    }

    // Only the live release runs.
    let live = if expected_after == "v2" {
        "web-g2"
    } else {
        "web-g1"
    };
    let processes = supervised_pids(data);
    assert!(!processes.is_empty(), "the live release is not running");
    let orphans: Vec<_> = processes.iter().filter(|(_, s)| s != live).collect();
    assert!(orphans.is_empty(), "orphan processes: {orphans:?}");

    // Only kept releases remain; no temp or partial files.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.state_file("web"))?)?;
    let kept: Vec<String> = state["generations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let number = g["number"].as_u64().unwrap();
            pilot_core::ReleaseName::new(number, g["version"].as_str().unwrap()).to_string()
        })
        .collect();
    let mut releases: Vec<String> = std::fs::read_dir(layout.releases_dir("web"))?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    releases.sort();
    assert_eq!(releases, kept, "release directories");
    let mut stray = Vec::new();
    walk(&layout.projects_dir(), &mut |p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".tmp-") || name.ends_with(".fetching") {
            stray.push(p.to_path_buf());
        }
    });
    assert!(stray.is_empty(), "leftover files: {stray:?}");
    Ok(())
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        f(&path);
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, f);
        }
    }
}

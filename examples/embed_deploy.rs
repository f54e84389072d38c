//! Embedding Pilot's deploy engine in a Rust program.
//!
//! Deploys an app directory, deploys a second version of it with zero
//! downtime, then rolls back to the first, printing what the public port
//! answers at each stage. Everything runs in this process: the embedded
//! supervisor, the built-in proxy, the host runtime.
//!
//! ```text
//! cargo run -p pilot-core --example embed_deploy -- [APP_DIR] [--data DIR] [--port PORT] [--once]
//! ```
//!
//! APP_DIR defaults to `examples/apps/python-hello`; `--data` to
//! `./pilot-data/embed`. Without `--once` the app keeps serving until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pilot_core::engine::{
    DeployEvent, DeployEventKind, Engine, EngineOptions, EngineParts, FnEvents, NewRelease,
};
use pilot_core::proxy::Proxy;
use pilot_core::source::SourceSpec;
use pilot_core::supervisor::Supervisor;
use pilot_core::{CommandsBuilder, HostRuntime, MemorySecretStore, NodeLayout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Args {
    app: PathBuf,
    data: PathBuf,
    port: Option<u16>,
    once: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        app: Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/python-hello"),
        data: PathBuf::from("pilot-data/embed"),
        port: None,
        once: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data" => args.data = it.next().ok_or("--data needs a directory")?.into(),
            "--port" => {
                let port = it.next().ok_or("--port needs a number")?;
                args.port = Some(
                    port.parse()
                        .map_err(|_| format!("--port: {port:?} is not a port number"))?,
                );
            }
            "--once" => args.once = true,
            "-h" | "--help" => {
                return Err(
                    "usage: embed_deploy [APP_DIR] [--data DIR] [--port PORT] [--once]".into(),
                );
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => args.app = other.into(),
        }
    }
    Ok(args)
}

/// Copies `app` into `dir` with a different greeting, as a "second version".
fn second_version(app: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    let out = dir.join("v2");
    copy_dir(app, &out)?;
    let config_path = out.join("config.vpspilot.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path)?)?;
    config["env"]["GREETING"] = "hello again".into();
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)?;
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

async fn fetch(addr: SocketAddr) -> String {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: pilot\r\nConnection: close\r\n\r\n")
            .await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        Ok::<_, std::io::Error>(
            text.split("\r\n\r\n")
                .nth(1)
                .unwrap_or("")
                .trim()
                .to_string(),
        )
    };
    attempt
        .await
        .unwrap_or_else(|e| format!("request failed: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let layout = NodeLayout::new(&args.data);
    let events = Arc::new(FnEvents(|event: &DeployEvent| match event {
        DeployEvent {
            kind: DeployEventKind::StepStarted { step, .. },
            ..
        } => println!("  · {step}"),
        DeployEvent {
            kind: DeployEventKind::StepFailed { step, error, .. },
            ..
        } => println!("  ✗ {step}: {error}"),
        DeployEvent {
            kind: DeployEventKind::Switched { generation, .. },
            ..
        } => {
            println!("  → traffic to generation {generation}")
        }
        _ => {}
    }));
    let engine = Engine::new(
        EngineParts {
            services: Supervisor::open(layout.supervisor_dir()).await?,
            layout,
            runtime: Arc::new(HostRuntime::new()),
            builder: Arc::new(CommandsBuilder),
            router: Proxy::new(),
            secrets: Arc::new(MemorySecretStore::new()),
            events,
        },
        EngineOptions {
            public_ip: "127.0.0.1".parse()?,
            ..EngineOptions::default()
        },
    );
    let report = engine.recover().await?;
    if !report.reverted.is_empty() || !report.restarted.is_empty() {
        println!("recovered: {report:?}");
    }

    let mut app = args.app.clone();
    if let Some(port) = args.port {
        let dir = args.data.join("source");
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&args.app, &dir.join("v1"))?;
        let path = dir.join("v1/config.vpspilot.json");
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        config["port"] = port.into();
        std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
        app = dir.join("v1");
    }
    let project = "embed";

    println!("deploying {}", app.display());
    let first = engine
        .deploy(NewRelease::new(
            project,
            SourceSpec::Dir { path: app.clone() },
        ))
        .await?
        .succeeded()?;
    let public = engine.public_addr(project)?;
    println!(
        "generation {} live at http://{public}/ : {}",
        first.generation,
        fetch(public).await
    );

    let scratch = tempfile::tempdir()?;
    let v2 = second_version(&app, scratch.path())?;
    println!("deploying a second version");
    let second = engine
        .deploy(NewRelease::new(project, SourceSpec::Dir { path: v2 }))
        .await?
        .succeeded()?;
    println!(
        "generation {} live: {}",
        second.generation,
        fetch(public).await
    );

    println!("rolling back");
    let back = engine
        .rollback(project, Some(first.generation))
        .await?
        .succeeded()?;
    println!(
        "generation {} live again: {}",
        back.generation,
        fetch(public).await
    );

    if !args.once {
        println!("serving at http://{public}/ — press Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    for status in engine.parts().services.list().await? {
        engine.parts().services.remove(&status.name).await?;
    }
    println!("stopped");
    Ok(())
}

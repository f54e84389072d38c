//! The hub under test runs in a child process (this same executable with
//! `--hub-child DB`), so that its memory and CPU are its own.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use pilot_server::EventBus;
use pilot_server::hub::{Hub, HubOptions, HubStats};
use pilot_store::{Database, SqlStore, SqliteDurability, TimeseriesOptions, TimeseriesStore};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;

/// The argument that selects the child mode.
pub const CHILD_FLAG: &str = "--hub-child";

/// Child mode: serves agents from the database at `db` until stdin closes,
/// then prints its statistics as JSON.
pub async fn run_child(db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let database = Database::open_sqlite(db, SqliteDurability::Full).await?;
    let store = SqlStore::new(database.clone());
    let mut options = TimeseriesOptions::default();
    // Head samples kept in memory (the store's default otherwise).
    if let Some(n) = std::env::var("PILOT_BENCH_HEAD_MEMORY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.head_memory_samples = n;
    }
    let metrics = TimeseriesStore::open(database, options).await?;
    let hub = Arc::new(Hub::new(
        store,
        metrics,
        EventBus::default(),
        HubOptions::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("ready {}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(Arc::clone(&hub).serve(listener, shutdown.clone()));
    // The parent closes stdin to stop the hub.
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    stdin.read_to_end(&mut sink).await?;
    shutdown.cancel();
    server.await??;
    println!("{}", serde_json::to_string(&hub.stats())?);
    Ok(())
}

/// A hub child seen from the parent.
pub struct HubProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Where agents connect.
    pub address: SocketAddr,
    pid: u32,
}

/// CPU time a process used, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields after the command name start at field 3 (state); utime is 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of /proc/<pid>/status, in MiB.
fn status_mib(pid: u32, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl HubProcess {
    /// Starts a hub child on the database at `db`.
    pub async fn spawn(db: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_FLAG)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("the hub child exited at once")?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line).await?;
        let address = line
            .trim()
            .strip_prefix("ready ")
            .ok_or_else(|| format!("unexpected first line from the hub child: {line:?}"))?
            .parse()?;
        Ok(HubProcess {
            child,
            stdin,
            stdout,
            address,
            pid,
        })
    }

    /// CPU ticks used so far.
    pub fn cpu_ticks(&self) -> u64 {
        cpu_ticks(self.pid).unwrap_or(0)
    }

    /// Resident memory now and at its peak, in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        (
            status_mib(self.pid, "VmRSS:").unwrap_or(f64::NAN),
            status_mib(self.pid, "VmHWM:").unwrap_or(f64::NAN),
        )
    }

    /// Stops the hub and returns its statistics.
    pub async fn stop(mut self) -> Result<HubStats, Box<dyn std::error::Error>> {
        drop(self.stdin.take());
        let mut line = String::new();
        self.stdout.read_line(&mut line).await?;
        let stats = serde_json::from_str::<HubStats>(line.trim())?;
        self.child.wait().await?;
        Ok(stats)
    }
}

//! The proxy as its own process: a daemon driven over its control socket,
//! with its route table persisted across restarts.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proxy_support::{Switched, free_addr, get, http_upstream, switch_with_open_connections};
use pilot_core::proxy::{ProxyClient, ProxyDaemon, ProxyError, ProxyOptions};
use pilot_core::router::DrainReport;
use pilot_core::{Error, Route, Router};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A daemon running in the test's runtime.
struct Daemon {
    socket: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<pilot_core::Result<()>>,
}

impl Daemon {
    async fn start(dir: &Path) -> Daemon {
        Daemon::start_with(dir, ProxyOptions::default()).await
    }

    async fn start_with(dir: &Path, options: ProxyOptions) -> Daemon {
        let socket = dir.join("run/proxy.sock");
        let state = dir.join("state/routes.json");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let socket = socket.clone();
            async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                ProxyDaemon::run_with_options(&socket, &state, options, shutdown).await
            }
        });
        let client = ProxyClient::new(&socket);
        for _ in 0..200 {
            if client.ping().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.ping().await.expect("the daemon answers");
        Daemon {
            socket,
            stop: Some(stop),
            task,
        }
    }

    fn client(&self) -> ProxyClient {
        ProxyClient::new(&self.socket)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn route(project: &str, public: SocketAddr, upstream: SocketAddr) -> Route {
    Route {
        project: project.into(),
        public,
        upstream,
    }
}

#[tokio::test]
async fn a_client_drives_the_daemon_over_its_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let mode = std::fs::metadata(&daemon.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let client = daemon.client();
    let Switched {
        old,
        new,
        public,
        conns,
    } = switch_with_open_connections(&client, 1).await;
    assert_eq!(
        client.routes().await.unwrap(),
        vec![route("shop", public, new.addr)]
    );
    let report = client
        .drain("shop", old.addr, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        report,
        DrainReport {
            finished: 0,
            cut: 1
        }
    );
    drop(conns);

    client.remove_route("shop").await.unwrap();
    assert!(client.routes().await.unwrap().is_empty());
    std::net::TcpListener::bind(public).expect("the public port is free again");
    client.ping().await.unwrap();
    daemon.stop().await;
    assert!(!dir.path().join("run/proxy.sock").exists());
}

#[tokio::test]
async fn bind_errors_cross_the_socket_typed() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public = taken.local_addr().unwrap();

    let error = daemon
        .client()
        .set_route(&route("shop", public, free_addr()))
        .await
        .unwrap_err();
    match &error {
        Error::Proxy(ProxyError::Bind {
            addr,
            cause: source,
        }) => {
            assert_eq!(*addr, public);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert!(error.to_string().contains("pick another public port"));
    daemon.stop().await;
}

#[tokio::test]
async fn a_restarted_daemon_restores_its_routes() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = http_upstream("a").await;
    let (first, second) = (free_addr(), free_addr());
    let workers = ProxyOptions {
        workers: 2,
        ..ProxyOptions::default()
    };
    let daemon = Daemon::start_with(dir.path(), workers).await;
    let client = daemon.client();
    client
        .set_route(&route("shop", first, upstream.addr))
        .await
        .unwrap();
    client
        .set_route(&route("blog", second, upstream.addr))
        .await
        .unwrap();
    let before = client.routes().await.unwrap();
    daemon.stop().await;
    std::net::TcpListener::bind(first).expect("a stopped daemon frees its ports");
    std::net::TcpListener::bind(second).expect("a stopped daemon frees its ports");

    let daemon = Daemon::start_with(dir.path(), workers).await;
    assert_eq!(daemon.client().routes().await.unwrap(), before);
    assert_eq!(get(first).await.unwrap(), "a");
    assert_eq!(get(second).await.unwrap(), "a");
    daemon.stop().await;
}

#[tokio::test]
async fn traffic_flows_after_every_client_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let upstream = http_upstream("a").await;
    let public = free_addr();
    // The agent side: its own runtime on its own thread, gone once the route is set.
    let client = daemon.client();
    let upstream_addr = upstream.addr;
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(client.set_route(&route("shop", public, upstream_addr)))
            .unwrap();
    })
    .await
    .unwrap();
    for _ in 0..5 {
        assert_eq!(get(public).await.unwrap(), "a");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn a_second_daemon_on_a_live_socket_is_refused_and_a_stale_one_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run/proxy.sock");
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a dead daemon leaves its socket file");

    let daemon = Daemon::start(dir.path()).await;
    let state = dir.path().join("other.json");
    let error = ProxyDaemon::run(&socket, &state, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Proxy(ProxyError::AlreadyRunning { .. })),
        "{error:?}"
    );
    daemon.client().ping().await.unwrap();
    daemon.stop().await;
}

#[tokio::test]
async fn an_unreachable_socket_says_how_to_start_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("missing.sock");
    let error = ProxyClient::new(&socket).ping().await.unwrap_err();
    assert!(
        matches!(&error, Error::Proxy(ProxyError::Unreachable { socket: s, .. }) if *s == socket),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&socket.display().to_string()), "{message}");
    assert!(message.contains("pilot-proxy serve"), "{message}");
}

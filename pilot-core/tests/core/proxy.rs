//! The in-process proxy: routing, switching under load, drain, connect retry,
//! bind errors and route removal.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::proxy_support::{
    Switched, echo_connection, echo_upstream, free_addr, get, http_upstream, serve_http,
    shop_route, switch_with_open_connections,
};
use pilot_core::proxy::{Proxy, ProxyError, ProxyOptions, UpstreamStats};
use pilot_core::router::DrainReport;
use pilot_core::{Error, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn routes_new_connections_to_the_upstream() {
    let a = http_upstream("a").await;
    let proxy = Proxy::new();
    let public = free_addr();
    proxy.set_route(&shop_route(public, a.addr)).await.unwrap();

    assert_eq!(get(public).await.unwrap(), "a");
    assert_eq!(get(public).await.unwrap(), "a");
    assert_eq!(
        proxy.routes().await.unwrap(),
        vec![shop_route(public, a.addr)]
    );
    let stats = proxy.stats("shop").unwrap();
    assert_eq!(stats.upstream, a.addr);
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.connect_failures, 0);
    assert!(proxy.stats("other").is_none());
}

/// The upstream active after `switches` switches: "a" first, then alternating.
fn active(switches: u64) -> &'static str {
    if switches.is_multiple_of(2) { "a" } else { "b" }
}

/// Upstreams that were active at some point while the epoch went from `from`
/// to `to`; an odd epoch means a switch was in progress.
fn active_between(from: u64, to: u64) -> BTreeSet<&'static str> {
    (from..=to)
        .flat_map(|epoch| [active(epoch / 2), active(epoch.div_ceil(2))])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_under_load_loses_no_connection() {
    switch_under_load(ProxyOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_under_load_on_worker_threads_loses_no_connection() {
    switch_under_load(ProxyOptions {
        workers: 2,
        ..ProxyOptions::default()
    })
    .await;
}

/// 8 clients open new connections in a loop while the route switches 50
/// times between two upstreams.
async fn switch_under_load(options: ProxyOptions) {
    let a = http_upstream("a").await;
    let b = http_upstream("b").await;
    let proxy = Proxy::with_options(options);
    let public = free_addr();
    proxy.set_route(&shop_route(public, a.addr)).await.unwrap();

    let epoch = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (epoch, stop) = (Arc::clone(&epoch), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut outcome = (0u64, Vec::new(), BTreeSet::new());
                while !stop.load(Ordering::SeqCst) {
                    let from = epoch.load(Ordering::SeqCst);
                    let answer = get(public).await;
                    let to = epoch.load(Ordering::SeqCst);
                    match answer {
                        Ok(body) if active_between(from, to).contains(body.as_str()) => {
                            outcome.0 += 1;
                            outcome.2.insert(body);
                        }
                        Ok(body) => outcome
                            .1
                            .push(format!("{body} outside epochs {from}..={to}")),
                        Err(error) => outcome.1.push(error.to_string()),
                    }
                }
                outcome
            })
        })
        .collect();

    for switch in 1..=50u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let next = if active(switch) == "a" {
            a.addr
        } else {
            b.addr
        };
        epoch.fetch_add(1, Ordering::SeqCst);
        proxy.set_route(&shop_route(public, next)).await.unwrap();
        epoch.fetch_add(1, Ordering::SeqCst);
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    stop.store(true, Ordering::SeqCst);

    let mut served = 0;
    let mut seen = BTreeSet::new();
    for client in clients {
        let (ok, errors, bodies) = client.await.unwrap();
        assert!(errors.is_empty(), "failed requests: {errors:?}");
        served += ok;
        seen.extend(bodies);
    }
    assert!(served > 0);
    assert_eq!(seen, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    assert_eq!(proxy.stats("shop").unwrap().connect_failures, 0);
}

#[tokio::test]
async fn drain_waits_for_a_connection_that_finishes_and_half_close_passes_through() {
    let proxy = Proxy::new();
    let Switched {
        old,
        new,
        public: _,
        mut conns,
    } = switch_with_open_connections(proxy.as_ref(), 1).await;
    let mut conn = conns.remove(0);

    let client = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        conn.shutdown().await.unwrap();
        let mut rest = String::new();
        conn.read_to_string(&mut rest).await.unwrap();
        rest
    });
    let report = proxy
        .drain("shop", old.addr, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        report,
        DrainReport {
            finished: 1,
            cut: 0
        }
    );
    assert_eq!(client.await.unwrap(), "got 5 bytes");
    assert_eq!(
        proxy.stats("shop").unwrap().open,
        vec![UpstreamStats {
            upstream: new.addr,
            open: 0
        }]
    );
}

#[tokio::test]
async fn drain_cuts_a_connection_still_open_at_the_deadline() {
    let proxy = Proxy::new();
    let Switched {
        old,
        new: _new,
        public,
        mut conns,
    } = switch_with_open_connections(proxy.as_ref(), 1).await;
    let mut conn = conns.remove(0);
    let open_old = proxy.stats("shop").unwrap().open;
    assert!(open_old.contains(&UpstreamStats {
        upstream: old.addr,
        open: 1
    }));

    let report = proxy
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
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the cut connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert_eq!(get(public).await.unwrap(), "new");
    let unknown = proxy
        .drain("nobody", old.addr, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(unknown, DrainReport::default());
}

#[tokio::test]
async fn worker_threads_drain_and_close_their_connections() {
    let proxy = Proxy::with_options(ProxyOptions {
        workers: 2,
        ..ProxyOptions::default()
    });
    let Switched {
        old,
        new: _new,
        public,
        conns,
    } = switch_with_open_connections(proxy.as_ref(), 2).await;

    let report = proxy
        .drain("shop", old.addr, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        report,
        DrainReport {
            finished: 0,
            cut: 2
        }
    );
    for mut conn in conns {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the cut connection is closed");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    proxy.remove_route("shop").await.unwrap();
    std::net::TcpListener::bind(public).expect("the public port is free again");
}

#[tokio::test]
async fn connect_retry_covers_an_upstream_that_starts_late() {
    let upstream = free_addr();
    let proxy = Proxy::new();
    let public = free_addr();
    proxy
        .set_route(&shop_route(public, upstream))
        .await
        .unwrap();
    let started = Instant::now();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let listener = tokio::net::TcpListener::bind(upstream).await.unwrap();
        serve_http(listener, "late")
    });

    assert_eq!(get(public).await.unwrap(), "late");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let _server = late.await.unwrap();
    assert_eq!(proxy.stats("shop").unwrap().connect_failures, 0);
}

#[tokio::test]
async fn a_client_is_closed_when_the_upstream_never_answers() {
    let options = ProxyOptions {
        connect_retry: Duration::from_millis(200),
        ..ProxyOptions::default()
    };
    let proxy = Proxy::with_options(options);
    let public = free_addr();
    proxy
        .set_route(&shop_route(public, free_addr()))
        .await
        .unwrap();

    // The request is never read: the client sees a reset or an empty answer.
    get(public)
        .await
        .expect_err("no upstream ever answered, yet the client got an answer");
    assert_eq!(proxy.stats("shop").unwrap().connect_failures, 1);
}

#[tokio::test]
async fn a_taken_public_port_is_a_bind_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public = taken.local_addr().unwrap();
    let proxy = Proxy::new();

    let error = proxy
        .set_route(&shop_route(public, free_addr()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Proxy(ProxyError::Bind { addr, .. }) if *addr == public),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&public.to_string()), "{message}");
    assert!(message.contains("pick another public port"), "{message}");
    assert!(proxy.routes().await.unwrap().is_empty());
}

#[tokio::test]
async fn remove_route_closes_connections_and_frees_the_port() {
    let upstream = echo_upstream().await;
    let proxy = Proxy::new();
    let public = free_addr();
    proxy
        .set_route(&shop_route(public, upstream.addr))
        .await
        .unwrap();
    let mut conn = echo_connection(public).await;

    proxy.remove_route("shop").await.unwrap();
    assert!(proxy.routes().await.unwrap().is_empty());
    assert!(proxy.stats("shop").is_none());
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    std::net::TcpListener::bind(public).expect("the public port is free again");
    proxy.remove_route("shop").await.unwrap();
}

#[tokio::test]
async fn a_new_public_address_moves_the_listener() {
    let a = http_upstream("a").await;
    let b = http_upstream("b").await;
    let proxy = Proxy::new();
    let first = free_addr();
    proxy.set_route(&shop_route(first, a.addr)).await.unwrap();
    let second = free_addr();
    proxy.set_route(&shop_route(second, b.addr)).await.unwrap();

    assert_eq!(get(second).await.unwrap(), "b");
    assert_eq!(
        proxy.routes().await.unwrap(),
        vec![shop_route(second, b.addr)]
    );
    std::net::TcpListener::bind(first).expect("the old public port is free again");

    // Same port on another local address: the old listener gives way.
    let wildcard = SocketAddr::from(([0, 0, 0, 0], second.port()));
    proxy
        .set_route(&shop_route(wildcard, a.addr))
        .await
        .unwrap();
    assert_eq!(get(second).await.unwrap(), "a");
}

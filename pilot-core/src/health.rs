//! Health checks: is a release answering on its own port?
//!
//! A [`HealthProbe`] makes one attempt (HTTP GET of a path, any 2xx within
//! the timeout, or a plain TCP connect). [`wait_healthy`] polls a freshly
//! started release until it answers or its start period runs out;
//! [`FailureCounter`] turns single results into a verdict while a live
//! release is watched (N consecutive failures make it unhealthy).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::config::{DeploymentSection, HealthCheckKind};
use crate::error::{Error, Result};

/// One health check target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthProbe {
    /// HTTP or TCP.
    pub kind: HealthCheckKind,
    /// The release's own address.
    pub addr: SocketAddr,
    /// Path (and query) requested by HTTP checks.
    pub path: String,
    /// Time one attempt may take.
    pub timeout: Duration,
}

impl HealthProbe {
    /// The probe the config describes, aimed at `addr`.
    pub fn from_config(deployment: &DeploymentSection, addr: SocketAddr) -> Self {
        HealthProbe {
            kind: deployment.healthcheck_type,
            addr,
            path: deployment.health_path(),
            timeout: deployment.timeout(),
        }
    }

    /// What is probed, for messages: a URL or `tcp://addr`.
    pub fn target(&self) -> String {
        match self.kind {
            HealthCheckKind::Http => format!("http://{}{}", self.addr, self.path),
            HealthCheckKind::Tcp => format!("tcp://{}", self.addr),
        }
    }

    /// One attempt; `Err` holds the reason it failed.
    pub async fn check(&self) -> std::result::Result<(), String> {
        match timeout(self.timeout, self.attempt()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {:.1} s",
                self.timeout.as_secs_f64()
            )),
        }
    }

    async fn attempt(&self) -> std::result::Result<(), String> {
        let mut stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect failed: {e}"))?;
        if self.kind == HealthCheckKind::Tcp {
            return Ok(());
        }
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: pilot-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.path, self.addr
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending the request failed: {e}"))?;
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 4096 {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("reading the response failed: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        let line = line.lines().next().unwrap_or("").trim();
        let status = parse_status(line).ok_or_else(|| {
            if line.is_empty() {
                "the connection closed without a response".to_string()
            } else {
                format!("not an HTTP response: {:?}", truncate(line, 80))
            }
        })?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("HTTP status {status}"))
        }
    }
}

fn parse_status(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Polls `probe` until it succeeds, `start_period` runs out, or
/// `still_running` reports that the release's process is gone. The first
/// polls come quickly (`poll_min`), then the pause doubles up to `poll_max`,
/// so a fast app is seen healthy within milliseconds without hammering a
/// slow one. The error carries the reason of the last failed attempt.
pub async fn wait_healthy<F, Fut>(
    probe: &HealthProbe,
    start_period: Duration,
    (poll_min, poll_max): (Duration, Duration),
    mut still_running: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), String>>,
{
    let deadline = Instant::now() + start_period;
    let mut poll = poll_min;
    loop {
        let last = match probe.check().await {
            Ok(()) => return Ok(()),
            Err(reason) => reason,
        };
        if let Err(exited) = still_running().await {
            return Err(Error::Unhealthy {
                target: probe.target(),
                reason: format!("{exited} (last check: {last})"),
            });
        }
        if Instant::now() + poll > deadline {
            return Err(Error::Unhealthy {
                target: probe.target(),
                reason: format!(
                    "not healthy within the start period of {:.1} s; last check: {last}",
                    start_period.as_secs_f64()
                ),
            });
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(poll_max.max(poll_min));
    }
}

/// Counts consecutive failures of a watched release.
#[derive(Debug, Clone)]
pub struct FailureCounter {
    retries: u32,
    consecutive: u32,
    last_reason: Option<String>,
}

impl FailureCounter {
    /// A counter that declares a release unhealthy after `retries` failures in a row.
    pub fn new(retries: u32) -> Self {
        FailureCounter {
            retries: retries.max(1),
            consecutive: 0,
            last_reason: None,
        }
    }

    /// Records one result; returns the verdict reason once the release is unhealthy.
    pub fn record(&mut self, result: std::result::Result<(), String>) -> Option<String> {
        match result {
            Ok(()) => {
                self.consecutive = 0;
                None
            }
            Err(reason) => {
                self.consecutive += 1;
                self.last_reason = Some(reason.clone());
                (self.consecutive >= self.retries).then(|| {
                    format!(
                        "{} consecutive failed health checks; last: {reason}",
                        self.consecutive
                    )
                })
            }
        }
    }

    /// The reason of the last failure seen, if any.
    pub fn last_reason(&self) -> Option<&str> {
        self.last_reason.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(status: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        addr
    }

    fn probe(kind: HealthCheckKind, addr: SocketAddr) -> HealthProbe {
        HealthProbe {
            kind,
            addr,
            path: "/health".into(),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn http_2xx_is_healthy_and_others_are_not() {
        let ok = serve_once("204 No Content").await;
        assert_eq!(probe(HealthCheckKind::Http, ok).check().await, Ok(()));
        let bad = serve_once("503 Service Unavailable").await;
        assert_eq!(
            probe(HealthCheckKind::Http, bad).check().await,
            Err("HTTP status 503".into())
        );
        assert_eq!(probe(HealthCheckKind::Tcp, bad).check().await, Ok(()));
    }

    #[tokio::test]
    async fn refused_and_silent_targets_fail_with_reasons() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = probe(HealthCheckKind::Http, addr)
            .check()
            .await
            .unwrap_err();
        assert!(err.starts_with("connect failed"), "{err}");

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let mut p = probe(HealthCheckKind::Http, addr);
        p.timeout = Duration::from_millis(200);
        assert_eq!(p.check().await, Err("no answer within 0.2 s".into()));
        drop(silent);
    }

    #[tokio::test]
    async fn wait_healthy_reports_the_last_reason() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let p = probe(HealthCheckKind::Http, addr);
        let err = wait_healthy(
            &p,
            Duration::from_millis(300),
            (Duration::from_millis(10), Duration::from_millis(50)),
            || async { Ok(()) },
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("start period of 0.3 s"), "{text}");
        assert!(text.contains("connect failed"), "{text}");

        let err = wait_healthy(
            &p,
            Duration::from_secs(5),
            (Duration::from_millis(10), Duration::from_millis(50)),
            || async { Err("the process exited with exit code 3".to_string()) },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("exit code 3"));
    }

    #[test]
    fn failure_counter_needs_consecutive_failures() {
        let mut c = FailureCounter::new(2);
        assert_eq!(c.record(Err("a".into())), None);
        assert_eq!(c.record(Ok(())), None);
        assert_eq!(c.record(Err("b".into())), None);
        let verdict = c.record(Err("c".into())).unwrap();
        assert!(verdict.contains("2 consecutive") && verdict.ends_with("last: c"));
        assert_eq!(c.last_reason(), Some("c"));
    }
}

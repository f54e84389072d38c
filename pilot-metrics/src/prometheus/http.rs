//! A minimal HTTP/1.1 server for `GET /metrics`: one request per
//! connection, no dependencies beyond tokio.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::PrometheusSink;
use crate::error::{Error, Result};

/// Longest request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request and read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Content type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves a [`PrometheusSink`]'s latest text at `/metrics`.
#[derive(Debug)]
pub struct PrometheusEndpoint {
    listener: TcpListener,
    sink: PrometheusSink,
}

impl PrometheusEndpoint {
    /// Listens on `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, sink: PrometheusSink) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|cause| Error::Listen { addr, cause })?;
        Ok(PrometheusEndpoint { listener, sink })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::io("read the address of", "the metrics listener", e))
    }

    /// Answers requests until the future is dropped. Each connection is
    /// handled on its own task; failing connections are logged and dropped.
    pub async fn serve(self) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let sink = self.sink.clone();
                    tokio::spawn(async move {
                        let answered = tokio::time::timeout(CLIENT_TIMEOUT, answer(stream, &sink));
                        match answered.await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "metrics request failed")
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "metrics client too slow; connection dropped")
                            }
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a metrics connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Reads one request head and answers it.
async fn answer(mut stream: TcpStream, sink: &PrometheusSink) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large", "", b"").await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => {
            let text = sink.text();
            let body = if method == b"HEAD" {
                &b""[..]
            } else {
                text.as_bytes()
            };
            respond_len(&mut stream, "200 OK", CONTENT_TYPE, text.len(), body).await
        }
        (b"GET" | b"HEAD", b"/") => {
            respond(
                &mut stream,
                "200 OK",
                "text/plain",
                b"Pilot metrics: see /metrics\n",
            )
            .await
        }
        (b"GET" | b"HEAD", _) => {
            respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"not found; metrics are at /metrics\n",
            )
            .await
        }
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                b"only GET and HEAD are allowed\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    respond_len(stream, status, content_type, body.len(), body).await
}

async fn respond_len(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    length: usize,
    body: &[u8],
) -> io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n");
    if !content_type.is_empty() {
        head.push_str("Content-Type: ");
        head.push_str(content_type);
        head.push_str("\r\n");
    }
    if status.starts_with("405") {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_core::{MetricBatch, Sample};

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_metrics_and_refuses_the_rest() {
        let sink = PrometheusSink::default();
        sink.render(&MetricBatch {
            node: "n".into(),
            samples: vec![Sample {
                name: "load1".into(),
                labels: Default::default(),
                timestamp_ms: 0,
                value: 1.5,
            }],
        });
        let endpoint = PrometheusEndpoint::bind("127.0.0.1:0".parse().unwrap(), sink.clone())
            .await
            .unwrap();
        let addr = endpoint.local_addr().unwrap();
        let server = tokio::spawn(endpoint.serve());

        let ok = get(addr, "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").await;
        let (head, body) = ok.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(head.contains(CONTENT_TYPE));
        assert_eq!(body, sink.text().as_str());

        let head_only = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(head_only.ends_with("\r\n\r\n"));
        assert!(
            get(addr, "GET /nope HTTP/1.1\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 404")
        );
        let post = get(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405") && post.contains("Allow: GET, HEAD"));
        let taken = PrometheusEndpoint::bind(addr, sink).await;
        assert!(matches!(taken, Err(Error::Listen { .. })));
        server.abort();
    }
}

//! [`ProxyClient`]: a [`Router`] that drives a `pilot-proxy` daemon over its
//! control socket.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::ProxyError;
use super::control::{self, PROTOCOL_VERSION, Request, RequestLine, Response, ResponseLine};
use crate::error::Result;
use crate::router::{DrainReport, Route, Router};

/// Talks to a proxy daemon ([`ProxyDaemon`](super::ProxyDaemon)) through its
/// Unix control socket. Each call opens its own connection, so a client
/// survives daemon restarts and concurrent drains do not wait on each other.
#[derive(Debug, Clone)]
pub struct ProxyClient {
    socket: PathBuf,
}

impl ProxyClient {
    /// A client of the daemon listening on `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        ProxyClient {
            socket: socket.into(),
        }
    }

    /// The control socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Checks that the daemon answers and speaks this protocol version.
    pub async fn ping(&self) -> Result<()> {
        match self.call(Request::Ping).await? {
            Response::Pong => Ok(()),
            other => Err(self.unexpected("ping", &other)),
        }
    }

    /// Sends one request and reads its response; error responses become errors.
    async fn call(&self, request: Request) -> Result<Response> {
        let unreachable = |cause| ProxyError::Unreachable {
            socket: self.socket.clone(),
            cause,
        };
        let line = control::to_line(&RequestLine {
            version: PROTOCOL_VERSION,
            request,
        })
        .map_err(|e| self.protocol(format!("cannot encode the request: {e}")))?;
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(unreachable)?;
        let (read, mut write) = stream.into_split();
        write.write_all(&line).await.map_err(unreachable)?;
        let mut reader = BufReader::new(read);
        let mut answer = Vec::new();
        let got_line = control::read_line(&mut reader, &mut answer)
            .await
            .map_err(unreachable)?;
        if !got_line {
            return Err(unreachable(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection before answering",
            ))
            .into());
        }
        let response: ResponseLine = serde_json::from_slice(&answer)
            .map_err(|e| self.protocol(format!("cannot decode the response: {e}")))?;
        if response.version != PROTOCOL_VERSION {
            return Err(self
                .protocol(format!(
                    "the daemon speaks protocol version {}, this client {PROTOCOL_VERSION}",
                    response.version
                ))
                .into());
        }
        match response.response {
            error @ Response::Error { .. } => Err(error
                .into_error(&self.socket)
                .unwrap_or_else(|| self.protocol("an error without details".into()))
                .into()),
            other => Ok(other),
        }
    }

    fn protocol(&self, reason: String) -> ProxyError {
        ProxyError::Protocol {
            socket: self.socket.clone(),
            reason,
        }
    }

    fn unexpected(&self, asked: &str, got: &Response) -> crate::Error {
        self.protocol(format!("asked {asked}, got {got:?}")).into()
    }
}

#[async_trait]
impl Router for ProxyClient {
    fn name(&self) -> &'static str {
        "pilot-proxy"
    }

    async fn set_route(&self, route: &Route) -> Result<()> {
        let request = Request::SetRoute {
            route: route.clone(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(self.unexpected("set_route", &other)),
        }
    }

    async fn drain(
        &self,
        project: &str,
        upstream: SocketAddr,
        timeout: Duration,
    ) -> Result<DrainReport> {
        let request = Request::Drain {
            project: project.to_owned(),
            upstream,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        };
        match self.call(request).await? {
            Response::Drained { report } => Ok(report),
            other => Err(self.unexpected("drain", &other)),
        }
    }

    async fn remove_route(&self, project: &str) -> Result<()> {
        let request = Request::RemoveRoute {
            project: project.to_owned(),
        };
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(self.unexpected("remove_route", &other)),
        }
    }

    async fn routes(&self) -> Result<Vec<Route>> {
        match self.call(Request::Routes).await? {
            Response::Routes { routes } => Ok(routes),
            other => Err(self.unexpected("routes", &other)),
        }
    }
}

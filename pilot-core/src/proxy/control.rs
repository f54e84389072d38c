//! The daemon's control protocol: one JSON request per line, one JSON
//! response per line, each carrying the protocol version.
//!
//! ```text
//! {"version":1,"op":"set_route","route":{"project":"shop","public":"0.0.0.0:8080","upstream":"127.0.0.1:41233"}}
//! {"version":1,"reply":"done"}
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use super::ProxyError;
use crate::error::Error;
use crate::router::{DrainReport, Route};

/// Version of the control protocol spoken by this build.
pub(crate) const PROTOCOL_VERSION: u32 = 1;

/// Longest request or response line accepted, in bytes.
const MAX_LINE: u64 = 1 << 20;

/// A request line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequestLine {
    pub(crate) version: u32,
    #[serde(flatten)]
    pub(crate) request: Request,
}

/// What the client asks; mirrors the [`Router`](crate::Router) methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    Ping,
    SetRoute {
        route: Route,
    },
    Drain {
        project: String,
        upstream: SocketAddr,
        timeout_ms: u64,
    },
    RemoveRoute {
        project: String,
    },
    Routes,
}

/// A response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResponseLine {
    pub(crate) version: u32,
    #[serde(flatten)]
    pub(crate) response: Response,
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(crate) enum Response {
    Pong,
    Done,
    Drained {
        report: DrainReport,
    },
    Routes {
        routes: Vec<Route>,
    },
    Error {
        kind: ErrorKind,
        message: String,
        /// The address that could not be bound (`kind` = bind).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        addr: Option<SocketAddr>,
        /// The OS error number behind a bind failure, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        os_error: Option<i32>,
    },
}

/// The kind of a failure, so the client can rebuild a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// A public address could not be bound.
    Bind,
    /// The request line was not understood.
    BadRequest,
    /// The request used another protocol version.
    Version,
    /// Anything else that failed inside the daemon.
    Daemon,
}

impl Response {
    /// The wire form of an error raised while serving a request.
    pub(crate) fn from_error(error: &Error) -> Response {
        match error {
            Error::Proxy(ProxyError::Bind {
                addr,
                cause: source,
            }) => Response::Error {
                kind: ErrorKind::Bind,
                message: source.to_string(),
                addr: Some(*addr),
                os_error: source.raw_os_error(),
            },
            other => Response::failure(ErrorKind::Daemon, other.to_string()),
        }
    }

    /// An error response without address.
    pub(crate) fn failure(kind: ErrorKind, message: String) -> Response {
        Response::Error {
            kind,
            message,
            addr: None,
            os_error: None,
        }
    }

    /// The typed error an error response stands for; `None` for other responses.
    pub(crate) fn into_error(self, socket: &Path) -> Option<ProxyError> {
        let Response::Error {
            kind,
            message,
            addr,
            os_error,
        } = self
        else {
            return None;
        };
        Some(match (kind, addr) {
            (ErrorKind::Bind, Some(addr)) => ProxyError::Bind {
                addr,
                cause: match os_error {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::other(message),
                },
            },
            (ErrorKind::BadRequest | ErrorKind::Version, _) => ProxyError::Protocol {
                socket: socket.to_path_buf(),
                reason: message,
            },
            (ErrorKind::Bind | ErrorKind::Daemon, _) => ProxyError::Daemon { message },
        })
    }
}

/// Reads one line (without its newline) into `line`; `false` at end of input.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> io::Result<bool> {
    line.clear();
    let read = (&mut *reader)
        .take(MAX_LINE)
        .read_until(b'\n', line)
        .await?;
    if read == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if read as u64 == MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(true)
}

/// Serialises `value` as one line, newline included.
pub(crate) fn to_line<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_flat_json_with_a_version() {
        let line = RequestLine {
            version: PROTOCOL_VERSION,
            request: Request::Drain {
                project: "shop".into(),
                upstream: "127.0.0.1:4000".parse().unwrap(),
                timeout_ms: 1500,
            },
        };
        let text = String::from_utf8(to_line(&line).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\"version\":1,\"op\":\"drain\",\"project\":\"shop\",\"upstream\":\"127.0.0.1:4000\",\"timeout_ms\":1500}\n"
        );
        let back: RequestLine = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, line);
    }

    #[test]
    fn bind_errors_come_back_typed() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let error = Error::Proxy(ProxyError::Bind {
            addr,
            cause: io::Error::from(io::ErrorKind::AddrInUse),
        });
        let wire = serde_json::to_string(&Response::from_error(&error)).unwrap();
        let back: Response = serde_json::from_str(&wire).unwrap();
        match back.into_error(Path::new("/run/p.sock")) {
            Some(ProxyError::Bind {
                addr: got,
                cause: source,
            }) => {
                assert_eq!(got, addr);
                assert!(source.to_string().contains("in use"), "{source}");
            }
            other => panic!("expected a bind error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn overlong_lines_are_refused() {
        let long = vec![b'x'; MAX_LINE as usize + 10];
        let mut reader = tokio::io::BufReader::new(&long[..]);
        let mut line = Vec::new();
        let error = read_line(&mut reader, &mut line).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let mut short = tokio::io::BufReader::new(&b"{}\nrest"[..]);
        assert!(read_line(&mut short, &mut line).await.unwrap());
        assert_eq!(line, b"{}");
        assert!(read_line(&mut short, &mut line).await.unwrap());
        assert_eq!(line, b"rest");
        assert!(!read_line(&mut short, &mut line).await.unwrap());
    }
}

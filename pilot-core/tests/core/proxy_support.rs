//! Tiny upstreams and clients shared by the proxy tests.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A local address that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address")
}

/// A background server; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP-ish upstream: reads one request, answers `200 OK` with its name as
/// body, closes.
pub async fn http_upstream(name: &'static str) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    serve_http(listener, name)
}

/// [`http_upstream`] on a given address.
pub fn serve_http(listener: TcpListener, name: &'static str) -> Server {
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_request(&mut stream).await.is_ok() {
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                        name.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                }
            });
        }
    });
    Server { addr, task }
}

/// An upstream that echoes what it reads until the client closes, then
/// answers `got <n> bytes` and closes.
pub async fn echo_upstream() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.into_split();
                let mut buf = [0u8; 4096];
                let mut total = 0;
                loop {
                    match read.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            total += n;
                            if write.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = write
                    .write_all(format!("got {total} bytes").as_bytes())
                    .await;
            });
        }
    });
    Server { addr, task }
}

async fn read_request(stream: &mut TcpStream) -> io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// Sends one GET through `addr` and returns the body of a `200 OK` answer.
pub async fn get(addr: SocketAddr) -> io::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        match answer.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.1 200 ") => Ok(body.to_owned()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected answer {answer:?}"),
            )),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer within 10 s"))?
}

/// A connection through `addr` that has sent and read back `hello`, so the
/// proxy has connected it to its upstream.
pub async fn echo_connection(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect through proxy");
    stream.write_all(b"hello").await.expect("write");
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.expect("echo");
    assert_eq!(&buf, b"hello");
    stream
}

/// The route of project "shop".
pub fn shop_route(public: SocketAddr, upstream: SocketAddr) -> pilot_core::Route {
    pilot_core::Route {
        project: "shop".into(),
        public,
        upstream,
    }
}

/// Project "shop" after a switch: `conns` were opened through the public
/// address while it pointed at the echo upstream `old`; new connections now
/// go to the HTTP upstream `new` (answering "new", checked).
pub struct Switched {
    /// The echo upstream the open connections reach.
    pub old: Server,
    /// The upstream new connections reach.
    pub new: Server,
    /// The public address.
    pub public: SocketAddr,
    /// Connections still open to `old`.
    pub conns: Vec<TcpStream>,
}

/// Routes "shop" to an echo upstream, opens `open` connections through it,
/// then switches the route to an HTTP upstream.
pub async fn switch_with_open_connections(
    router: &dyn pilot_core::Router,
    open: usize,
) -> Switched {
    let old = echo_upstream().await;
    let new = http_upstream("new").await;
    let public = free_addr();
    router
        .set_route(&shop_route(public, old.addr))
        .await
        .unwrap();
    let mut conns = Vec::new();
    for _ in 0..open {
        conns.push(echo_connection(public).await);
    }
    router
        .set_route(&shop_route(public, new.addr))
        .await
        .unwrap();
    assert_eq!(get(public).await.unwrap(), "new");
    Switched {
        old,
        new,
        public,
        conns,
    }
}

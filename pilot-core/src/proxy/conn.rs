//! One proxied connection: connect to the upstream (retrying while it
//! refuses), then copy bytes both ways until both sides are done.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::route::ProjectRoute;
use super::upstream::ConnGuard;

/// First pause between two connect attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// Longest pause between two connect attempts.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// Forwards `client` to the upstream of `guard` until either side is done,
/// the connection is cut, or the upstream never answers.
pub(crate) async fn serve(client: TcpStream, guard: ConnGuard, route: Arc<ProjectRoute>) {
    let mut client = client;
    // Nagle only adds latency to a byte pipe; failure just keeps the default.
    let _ = client.set_nodelay(true);
    let cut = guard.token();
    let upstream = tokio::select! {
        biased;
        () = cut.cancelled() => return,
        connected = connect(guard.addr(), route.options.connect_retry) => connected,
    };
    let mut upstream = match upstream {
        Ok(stream) => stream,
        Err(error) => {
            route.count_connect_failure();
            tracing::warn!(
                project = %route.project,
                upstream = %guard.addr(),
                %error,
                "upstream did not accept the connection; closing the client"
            );
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let size = route.options.buffer_size;
    tokio::select! {
        biased;
        () = cut.cancelled() => {
            tracing::debug!(project = %route.project, upstream = %guard.addr(), "connection cut");
        }
        copied = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, size, size) => {
            if let Err(error) = copied {
                tracing::debug!(project = %route.project, upstream = %guard.addr(), %error, "connection ended with an error");
            }
        }
    }
}

/// Connects to `addr`, retrying with short pauses for up to `budget`.
pub(crate) async fn connect(addr: SocketAddr, budget: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + budget;
    let mut pause = FIRST_PAUSE;
    loop {
        let error = match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => error,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer within {budget:?}"),
                ));
            }
        };
        if Instant::now() + pause >= deadline {
            return Err(error);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_gives_up_after_the_budget() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = connect(addr, Duration::from_millis(100)).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}

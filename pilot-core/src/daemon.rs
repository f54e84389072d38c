//! What every Pilot program does at start and stop, in one place: logs to
//! standard error filtered by `PILOT_LOG` ([`init_tracing`], feature
//! `daemon`), and waiting for SIGINT or SIGTERM ([`shutdown_signal`]).

/// Environment variable with a log filter (e.g. `debug`, `pilot_server=trace`).
pub const ENV_LOG: &str = "PILOT_LOG";

/// Sends logs to standard error at `default` level and up (e.g. `"info"`),
/// or as `PILOT_LOG` says. Does nothing when a subscriber is set already
/// (e.g. by a program that embeds Pilot).
#[cfg(feature = "daemon")]
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(ENV_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. Where SIGTERM cannot be watched
/// it says so once on standard error and waits for SIGINT alone.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            eprintln!("warning: cannot watch SIGTERM ({error}); stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sigterm_ends_the_wait() {
        let wait = tokio::spawn(shutdown_signal());
        // Give the task time to install its handlers before the signal.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .expect("the wait ended")
            .unwrap();
    }
}

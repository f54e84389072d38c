//! What an agent is told at start: [`AgentOptions`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pilot_core::EngineOptions;
use pilot_core::protocol::{CertFingerprint, NodeToken};
use pilot_nix::{NixOptions, RuntimeKind};

use crate::error::{Error, Result};

/// How the agent trusts the server it connects to: the TLS of its side of
/// the link (the server side is the agent listener's own setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    /// Plain TCP. The agent then refuses deploys that carry secrets unless
    /// the server is on the loopback interface.
    Off,
    /// TLS, trusting exactly the server certificate with this fingerprint
    /// (pinned at enrolment).
    Pinned(CertFingerprint),
}

impl ServerTls {
    /// Whether the link is encrypted.
    pub fn is_on(&self) -> bool {
        matches!(self, ServerTls::Pinned(_))
    }
}

/// Everything an agent needs to run. Build it with [`AgentOptions::new`] and
/// change the fields that differ from the defaults.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Where releases, logs and the agent's own state (metrics spool, node
    /// name) live.
    pub data_dir: PathBuf,
    /// The server's agent port, `host:port`.
    pub server: String,
    /// The node's token, as `pilot node add` printed it.
    pub token: NodeToken,
    /// TLS of the link.
    pub tls: ServerTls,
    /// The name announced in the hello; by default the name the server gave
    /// last time, else the host name. The server's welcome decides.
    pub node_name: Option<String>,
    /// Time between metric collections (default 5 s).
    pub metrics_interval: Duration,
    /// Most bytes of unacknowledged metric batches kept on disk (default
    /// 64 MiB); beyond it the oldest batches are dropped and counted.
    pub metrics_buffer_bytes: u64,
    /// First reconnect delay (default 500 ms); doubles per failed attempt.
    pub backoff_min: Duration,
    /// Longest reconnect delay (default 30 s).
    pub backoff_max: Duration,
    /// How long a connection attempt and the hello may take (default 10 s).
    pub connect_timeout: Duration,
    /// Serve Prometheus `/metrics` on this address, if set.
    pub metrics_listen: Option<SocketAddr>,
    /// Address the apps' public ports listen on (default 0.0.0.0); it
    /// replaces `engine.public_ip`.
    pub public_ip: IpAddr,
    /// Deploy engine settings.
    pub engine: EngineOptions,
    /// Toolchains of deploys (default `auto`: Nix when it is installed).
    pub runtime: RuntimeKind,
    /// How Nix is called when the runtime is (or resolves to) Nix.
    pub nix: NixOptions,
}

/// The default time between metric collections.
pub const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_secs(5);
/// The default bound of the on-disk metrics spool.
pub const DEFAULT_METRICS_BUFFER_BYTES: u64 = 64 * 1024 * 1024;

impl AgentOptions {
    /// Options with every default: TLS off, metrics every 5 s, 64 MiB of
    /// spool, reconnects between 500 ms and 30 s, no Prometheus endpoint,
    /// apps public on 0.0.0.0, runtime chosen by whether Nix is installed.
    pub fn new(data_dir: impl Into<PathBuf>, server: impl Into<String>, token: NodeToken) -> Self {
        AgentOptions {
            data_dir: data_dir.into(),
            server: server.into(),
            token,
            tls: ServerTls::Off,
            node_name: None,
            metrics_interval: DEFAULT_METRICS_INTERVAL,
            metrics_buffer_bytes: DEFAULT_METRICS_BUFFER_BYTES,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            metrics_listen: None,
            public_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            engine: EngineOptions::default(),
            runtime: RuntimeKind::Auto,
            nix: NixOptions::default(),
        }
    }

    /// Checks the values that would make the agent misbehave.
    pub fn validate(&self) -> Result<()> {
        server_host(&self.server)?;
        let invalid = |option, problem| Err(Error::InvalidOption { option, problem });
        if self.metrics_interval.is_zero() {
            return invalid(
                "metrics_interval",
                "must be greater than zero; the default is 5 s",
            );
        }
        if self.backoff_min.is_zero() || self.backoff_max < self.backoff_min {
            return invalid(
                "backoff_min/backoff_max",
                "need 0 < backoff_min <= backoff_max; the defaults are 500 ms and 30 s",
            );
        }
        if self.connect_timeout.is_zero() {
            return invalid(
                "connect_timeout",
                "must be greater than zero; the default is 10 s",
            );
        }
        Ok(())
    }

    /// The agent's own state directory, `<data_dir>/agent`.
    pub fn agent_dir(&self) -> PathBuf {
        agent_dir(&self.data_dir)
    }
}

/// `<data_dir>/agent`: the metrics spool, the node name, uploaded archives.
pub fn agent_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("agent")
}

/// The host part of a `host:port` server address (brackets of an IPv6
/// address removed), after checking the port.
pub fn server_host(server: &str) -> Result<&str> {
    let invalid = |reason| Error::InvalidServerAddress {
        address: server.to_owned(),
        reason,
    };
    let (host, port) = server
        .rsplit_once(':')
        .ok_or_else(|| invalid("the port is missing"))?;
    port.parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(invalid("the host is missing"));
    }
    Ok(host)
}

/// Whether a `host:port` server address names this machine's loopback
/// interface (`localhost` or a loopback IP); host names are not resolved.
pub fn is_loopback_server(server: &str) -> Result<bool> {
    let host = server_host(server)?;
    Ok(host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_checked_and_loopback_is_recognised() {
        assert_eq!(
            server_host("pilot.example.com:55001").unwrap(),
            "pilot.example.com"
        );
        assert_eq!(server_host("[::1]:55001").unwrap(), "::1");
        assert!(server_host("pilot.example.com").is_err());
        assert!(server_host(":55001").is_err());
        assert!(server_host("host:0").is_err());
        assert!(server_host("host:port").is_err());
        assert!(is_loopback_server("127.0.0.1:1").unwrap());
        assert!(is_loopback_server("localhost:1").unwrap());
        assert!(is_loopback_server("[::1]:1").unwrap());
        assert!(!is_loopback_server("10.0.0.2:55001").unwrap());
        assert!(!is_loopback_server("pilot.example.com:55001").unwrap());
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        let mut options = AgentOptions::new("/tmp/x", "127.0.0.1:55001", NodeToken::generate());
        assert!(options.validate().is_ok());
        options.backoff_max = Duration::from_millis(1);
        let err = options.validate().unwrap_err().to_string();
        assert!(err.contains("backoff_min/backoff_max"), "{err}");
        options.backoff_max = Duration::from_secs(1);
        options.metrics_interval = Duration::ZERO;
        let err = options.validate().unwrap_err().to_string();
        assert!(err.contains("metrics_interval"), "{err}");
    }
}

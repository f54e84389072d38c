//! The typed client of Pilot's REST API and WebSockets, used by the
//! `pilot` CLI and the Python bindings.
//!
//! A [`Client`] holds the server's base URL and, once logged in, a session
//! token. Every API endpoint has a method taking and returning the API's
//! own types ([`crate::api::types`]); failures are [`ClientError`]s whose
//! messages say what to do next. [`Client::wait_rollout`] follows a deploy
//! live, [`Client::events`] streams any live event, [`Client::follow_logs`]
//! tails logs, and [`pack_dir`] turns an app
//! directory into the archive that [`Client::deploy_archive`] uploads.
//!
//! ```no_run
//! # async fn demo() -> pilot_server::client::Result<()> {
//! use pilot_server::client::{Client, DeployTarget};
//!
//! let client = Client::new("http://127.0.0.1:8080")?;
//! let session = client.login("admin", "correct horse battery").await?;
//! let client = client.with_token(session.token);
//! for node in client.nodes().await? {
//!     println!("{} online={}", node.name, node.online);
//! }
//! let rollout = client.deploy("shop", DeployTarget::Default, None).await?;
//! let done = client
//!     .wait_rollout(&rollout.id, |event| println!("{event:?}"))
//!     .await?;
//! println!("{:?}", done.status);
//! # Ok(())
//! # }
//! ```

mod auth;
mod deploys;
mod env;
mod error;
mod events;
mod follow;
mod logs;
mod metrics;
mod nodes;
mod pack;
mod projects;
mod socket;
mod tls;
mod transport;

use std::fmt;
use std::time::Duration;

use reqwest::Url;

pub use deploys::DeployTarget;
pub use error::{ClientError, ConfigProblem, Result};
pub use events::{EventStream, LiveMessage};
pub use pack::{pack_dir, pack_dir_excluding};

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one Pilot server. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port`, optionally
    /// with a path prefix; a bare `host:port` means `http://`), not logged in.
    pub fn new(base_url: &str) -> Result<Self> {
        tls::install_crypto_provider();
        let base = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("pilot/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Tls {
                url: base.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    /// The same client sending `token` (from [`Client::login`]) with every request.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The session token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base_url())
            .field("token", &self.token.as_ref().map(|_| "********"))
            .finish()
    }
}

/// Parses and checks a server base URL.
fn parse_base_url(text: &str) -> Result<Url> {
    let trimmed = text.trim();
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_and_checked() {
        let client = Client::new("127.0.0.1:8080").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        let client = Client::new("https://pilot.example.com/base/").unwrap();
        assert_eq!(client.base_url(), "https://pilot.example.com/base");
        assert!(matches!(
            Client::new("ftp://host"),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            Client::new(" "),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            Client::new("http://host/?x=1"),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn futures_can_move_between_threads() {
        fn send<T: Send>(_: T) {}
        let client = Client::new("http://127.0.0.1:1").unwrap();
        send(client.wait_rollout("r1", |_| {}));
        send(client.follow_logs("shop", 10, |_| {}));
        send(client.deploy_archive("shop", Vec::new(), None));
        send(client.events(&crate::api::types::Subscription::default()));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::new("http://127.0.0.1:1")
            .unwrap()
            .with_token("s3cret");
        let shown = format!("{client:?}");
        assert!(!shown.contains("s3cret"));
        assert_eq!(client.token(), Some("s3cret"));
    }
}

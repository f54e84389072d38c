//! TLS for the client: the process-wide rustls crypto provider and the
//! client configuration of `wss://` connections.

use std::sync::{Arc, Once};

use rustls::ClientConfig;
use rustls_platform_verifier::ConfigVerifierExt;

use super::error::{ClientError, Result};

/// Installs ring as rustls' process-wide crypto provider, once. Another
/// provider installed earlier by the embedding program is kept.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A TLS client configuration verifying servers with the system's roots.
pub(crate) fn client_config(url: &str) -> Result<Arc<ClientConfig>> {
    install_crypto_provider();
    ClientConfig::with_platform_verifier()
        .map(Arc::new)
        .map_err(|e| ClientError::Tls {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

//! The agent's side of TLS: a client configuration that trusts exactly one
//! certificate, identified by the fingerprint pinned at enrolment.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::error::{ProtocolError, Result};
use super::tls::{CertFingerprint, provider};

/// Accepts the server certificate whose SHA-256 is the pinned fingerprint and
/// nothing else; host name and expiry are not checked (the pin is the trust).
/// Handshake signatures are still verified against that certificate's key.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pinned: CertFingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    /// A verifier for one fingerprint.
    pub fn new(pinned: CertFingerprint) -> Self {
        PinnedCertVerifier {
            pinned,
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.pinned.matches(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(
                pinned = %self.pinned,
                presented = %CertFingerprint::of(end_entity),
                "server certificate does not match the pinned fingerprint"
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration that trusts only the certificate with
/// fingerprint `pinned`. Any server name may be used when connecting.
pub fn pinned_client_config(pinned: CertFingerprint) -> Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|cause| ProtocolError::TlsConfig { cause })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCertVerifier::new(pinned)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

//! The server's TLS identity: a certificate chain and key from PEM files or a
//! freshly generated self-signed certificate, its SHA-256 fingerprint, and the
//! rustls server configuration built from it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use super::error::{ProtocolError, Result};
use super::token::constant_time_eq;

/// The crypto provider every agent-link TLS configuration uses (ring).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The SHA-256 of a certificate's DER encoding. `Display` gives 64 lowercase
/// hex digits; parsing also accepts upper case and `:` separators.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(certificate: &CertificateDer<'_>) -> Self {
        CertFingerprint(Sha256::digest(certificate.as_ref()).into())
    }

    /// Whether `certificate` has this fingerprint (constant time).
    pub fn matches(&self, certificate: &CertificateDer<'_>) -> bool {
        constant_time_eq(&self.0, &Self::of(certificate).0)
    }
}

impl FromStr for CertFingerprint {
    type Err = ProtocolError;

    fn from_str(text: &str) -> Result<Self> {
        let digits: String = text.trim().chars().filter(|&c| c != ':').collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| {
            ProtocolError::InvalidFingerprint {
                fingerprint: text.to_owned(),
            }
        })?;
        Ok(CertFingerprint(bytes))
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

/// A certificate chain (leaf first) and its private key. `Debug` never prints the key.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert_path: &Path, key_path: &Path) -> Result<Self> {
        let chain = CertificateDer::pem_file_iter(cert_path)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|source| ProtocolError::Pem {
                item: "certificate",
                source_name: cert_path.to_path_buf(),
                cause: source,
            })?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|cause| ProtocolError::Pem {
            item: "private key",
            source_name: key_path.to_path_buf(),
            cause,
        })?;
        Self::from_parts(chain, key, cert_path)
    }

    /// Parses a PEM certificate chain and a PEM private key held in memory.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let origin = PathBuf::from("PEM text");
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|source| ProtocolError::Pem {
                item: "certificate",
                source_name: origin.clone(),
                cause: source,
            })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|cause| {
            ProtocolError::Pem {
                item: "private key",
                source_name: origin.clone(),
                cause,
            }
        })?;
        Self::from_parts(chain, key, &origin)
    }

    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        origin: &Path,
    ) -> Result<Self> {
        if chain.is_empty() {
            return Err(ProtocolError::NoCertificate {
                path: origin.to_path_buf(),
            });
        }
        Ok(TlsIdentity { chain, key })
    }

    /// The leaf certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The leaf certificate's fingerprint, for agents to pin at enrolment.
    pub fn fingerprint(&self) -> CertFingerprint {
        CertFingerprint::of(self.certificate())
    }

    /// A rustls server configuration presenting this identity, without client
    /// certificates (agents authenticate with their node token).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(self.chain.clone(), self.key.clone_key())
            })
            .map_err(|cause| ProtocolError::TlsConfig { cause })?;
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// A freshly generated self-signed certificate, in PEM so the server can keep
/// it (the fingerprint agents pinned must survive restarts). `Debug` never
/// prints the key.
#[derive(Clone)]
pub struct SelfSignedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM. Store it with mode 0600.
    pub key_pem: String,
}

impl SelfSignedCert {
    /// Generates a certificate valid for `names` (host names or IP addresses).
    pub fn generate(names: &[String]) -> Result<Self> {
        let certified = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|cause| ProtocolError::CertificateGeneration { cause })?;
        Ok(SelfSignedCert {
            cert_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
        })
    }

    /// The identity to serve with.
    pub fn identity(&self) -> Result<TlsIdentity> {
        TlsIdentity::from_pem(&self.cert_pem, &self.key_pem)
    }
}

impl fmt::Debug for SelfSignedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSignedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"********")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parses_with_colons_and_upper_case() {
        let cert = CertificateDer::from(vec![1u8, 2, 3]);
        let fp = CertFingerprint::of(&cert);
        let text = fp.to_string();
        assert_eq!(text.len(), 64);
        let colons: String = text
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<CertFingerprint>().expect("parse"), fp);
        assert!(fp.matches(&cert));
        assert!("abc".parse::<CertFingerprint>().is_err());
    }

    #[test]
    fn pem_without_certificate_is_refused() {
        let generated = SelfSignedCert::generate(&["localhost".into()]).expect("generate");
        let err = TlsIdentity::from_pem("", &generated.key_pem).unwrap_err();
        assert!(matches!(err, ProtocolError::NoCertificate { .. }), "{err}");
        assert!(!format!("{generated:?}").contains("PRIVATE KEY"));
    }
}

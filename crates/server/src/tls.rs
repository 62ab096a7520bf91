//! TLS through rustls only: TLS 1.3 and 1.2 with rustls' default (safe) cipher suites from the
//! `ring` provider, no TLS 1.1 or older, ALPN `h2` and `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// A TLS setup failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("reading certificate file {path}: {source}")]
    Cert {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate file {0} holds no certificate")]
    NoCert(String),
    #[error("reading private key file {path}: {source}")]
    Key {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    #[error("generating the development certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The protocol versions we speak.
pub const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A server configuration for this certificate chain and key.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_protocol_versions(VERSIONS)?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load_pem_files(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|source| TlsError::Cert {
            path: cert.display().to_string(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert(cert.display().to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key {
        path: key.display().to_string(),
        source,
    })?;
    Ok((chain, key))
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, made at start by `serve --dev`.
pub struct DevCertificate {
    /// The certificate, DER.
    pub cert: CertificateDer<'static>,
    /// The certificate, PEM (to hand to a client that should trust it).
    pub cert_pem: String,
    key: PrivateKeyDer<'static>,
    key_pem: String,
}

impl std::fmt::Debug for DevCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCertificate")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl DevCertificate {
    /// Generates a fresh key pair and certificate.
    pub fn generate() -> Result<Self, TlsError> {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
        let key = PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
        Ok(Self {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key,
            key_pem: signing_key.serialize_pem(),
        })
    }

    /// SHA-256 of the DER certificate, as colon-separated upper-case hex (what browsers show).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }

    /// The throwaway private key as PKCS#8 PEM, for tests that serve the certificate from files.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A server configuration serving this certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        server_config(vec![self.cert.clone()], self.key.clone_key())
    }
}

/// SHA-256 fingerprint of a DER certificate: `AB:CD:...`.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

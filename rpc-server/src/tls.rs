//! TLS termination (feature `tls`): `wss://` and `https://` on the same
//! port, with rustls.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the server's certificate chain and private key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

impl TlsConfig {
    /// TLS with the chain and key at these paths.
    pub fn new(cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        Self {
            cert_chain: cert_chain.into(),
            private_key: private_key.into(),
        }
    }

    /// Loads the files and builds the acceptor; a missing or bad file is an
    /// error that names it.
    pub(crate) fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let certs = CertificateDer::pem_file_iter(&self.cert_chain)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|err| invalid(&self.cert_chain, "certificate chain", err))?;
        if certs.is_empty() {
            return Err(invalid(
                &self.cert_chain,
                "certificate chain",
                "no certificate in it",
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.private_key)
            .map_err(|err| invalid(&self.private_key, "private key", err))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|err| invalid(&self.private_key, "certificate and key", err))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn invalid(path: &Path, what: &str, err: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("TLS {what} {}: {err}", path.display()),
    )
}

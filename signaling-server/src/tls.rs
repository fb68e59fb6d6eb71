//! HTTPS for the public listener and WSS on `/tls/ws` listen addresses: the certificate chain
//! and key from PEM files (`--tls-cert`, `--tls-key`), read again when the server gets SIGHUP,
//! so short-lived certificates renew without a restart. A pair that cannot be used is logged
//! and the one in service kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use tokio_rustls::TlsAcceptor;

/// Why a certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `--tls-cert` without `--tls-key`, or the other way round.
    #[error("--tls-cert and --tls-key go together: give both, or neither")]
    Incomplete,
    /// A file cannot be read as PEM.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    /// The key does not fit the certificate, or is of a kind rustls cannot sign with.
    #[error("the key does not go with the certificate: {0}")]
    Mismatch(rustls::Error),
}

/// The certificate in service, and the files it is read from.
#[derive(Debug)]
pub struct ReloadableCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadableCert {
    /// From the flags: `None` without TLS.
    pub fn from_flags(
        cert_file: Option<&Path>,
        key_file: Option<&Path>,
    ) -> Result<Option<Arc<Self>>, TlsError> {
        match (cert_file, key_file) {
            (None, None) => Ok(None),
            (Some(cert_file), Some(key_file)) => {
                let current = read_pair(cert_file, key_file)?;
                Ok(Some(Arc::new(Self {
                    cert_file: cert_file.to_owned(),
                    key_file: key_file.to_owned(),
                    current: RwLock::new(Arc::new(current)),
                })))
            }
            _ => Err(TlsError::Incomplete),
        }
    }

    /// Reads the files again; on success new handshakes get the new certificate.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = read_pair(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }

    /// A TLS configuration for HTTP/1.1 (pages and WebSocket upgrades) that always presents
    /// the certificate in service.
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// An acceptor for HTTPS with [`Self::server_config`].
    pub fn acceptor(self: &Arc<Self>) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config())
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn read_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |e: rustls::pki_types::pem::Error| TlsError::Unreadable {
            path,
            reason: e.to_string(),
        }
    };
    let certs = CertificateDer::pem_file_iter(cert_file)
        .map_err(unreadable(cert_file))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable(cert_file))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert_file.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(unreadable(key_file))?;
    CertifiedKey::from_der(certs, key, &rustls::crypto::ring::default_provider())
        .map_err(TlsError::Mismatch)
}

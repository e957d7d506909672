//! Ready-made rustls client configurations (ring provider) for
//! [`ConnectOptions::tls`](crate::ConnectOptions::tls).
//!
//! Any `rustls::ClientConfig` works there; these cover the usual cases. Certificates and host
//! names are always verified.
//!
//! ```no_run
//! use mqtt_blocking::{tls, ConnectOptions};
//!
//! // A broker with a certificate from a public CA:
//! let public = ConnectOptions::port(8883).with_tls(tls::webpki_roots());
//!
//! // A private CA, and a client certificate for mutual TLS:
//! let ca = std::fs::read("ca.pem")?;
//! let (cert, key) = (std::fs::read("client.pem")?, std::fs::read("client.key")?);
//! let private = ConnectOptions::port(8883).with_tls(tls::with_ca_pem(&ca, Some((&cert, &key)))?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use mqtt_client::Error;

/// Trusts the Mozilla root certificates bundled by `webpki-roots`; no client certificate.
pub fn webpki_roots() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    build(roots, None)
        .unwrap_or_else(|e| unreachable!("ring supports the default TLS versions: {e}"))
}

/// Trusts exactly the certificate authorities in `ca_pem` (one or more PEM certificates), and
/// presents `client` (certificate chain PEM, private key PEM) when given, for mutual TLS.
///
/// # Errors
///
/// [`Error::Tls`] when a PEM does not parse, holds no certificate, or the key does not fit.
pub fn with_ca_pem(
    ca_pem: &[u8],
    client: Option<(&[u8], &[u8])>,
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Tls("no certificate in the CA PEM".into()));
    }
    let client = match client {
        Some((chain_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Tls(format!("client certificate: {e}")))?;
            if chain.is_empty() {
                return Err(Error::Tls("no certificate in the client PEM".into()));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|e| Error::Tls(format!("client key: {e}")))?;
            Some((chain, key))
        }
        None => None,
    };
    build(roots, client)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(
    roots: RootCertStore,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(Error::tls)?
        .with_root_certificates(roots);
    let config = match client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Tls(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

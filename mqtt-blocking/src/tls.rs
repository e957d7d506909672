//! Ready-made rustls client configurations (with the provider the features choose) for
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

use rustls::ClientConfig;

use mqtt_client::Error;

pub use mqtt_tls::TlsOptions;

/// Trusts the Mozilla root certificates bundled by `webpki-roots`; no client certificate.
///
/// ```
/// let config = mqtt_blocking::tls::webpki_roots();
/// ```
#[cfg(all(feature = "webpki-roots", any(feature = "ring", feature = "aws-lc-rs")))]
#[cfg_attr(
    docsrs,
    doc(cfg(all(feature = "webpki-roots", any(feature = "ring", feature = "aws-lc-rs"))))
)]
pub fn webpki_roots() -> Arc<ClientConfig> {
    TlsOptions::webpki_roots()
        .client_config()
        .unwrap_or_else(|e| unreachable!("the built-in provider supports TLS 1.2 and 1.3: {e}"))
}

/// Trusts exactly the certificate authorities in `ca_pem`, and with `client` presents that
/// certificate chain and key (PEM; PKCS#8, PKCS#1 or SEC1) for mutual TLS. For files, a CA
/// directory or an encrypted key, build a [`TlsOptions`] and use
/// [`ConnectOptions::with_tls_options`](crate::ConnectOptions::with_tls_options).
///
/// ```
/// use mqtt_blocking::{tls, ConnectOptions};
///
/// # let made = rcgen::generate_simple_self_signed(vec!["broker.local".to_string()]).unwrap();
/// # let ca_pem = made.cert.pem().into_bytes();
/// # let (cert_pem, key_pem) = (ca_pem.clone(), made.key_pair.serialize_pem().into_bytes());
/// // ca_pem, cert_pem and key_pem hold PEM files, e.g. std::fs::read("ca.pem")?.
/// let server_only = tls::with_ca_pem(&ca_pem, None)?;
/// let mutual = tls::with_ca_pem(&ca_pem, Some((&cert_pem, &key_pem)))?;
/// let options = ConnectOptions::port(8883).with_tls(mutual);
/// assert!(tls::with_ca_pem(b"not a certificate", None).is_err());
/// # Ok::<(), mqtt_blocking::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Tls`] when a certificate or the key does not parse.
pub fn with_ca_pem(
    ca_pem: &[u8],
    client: Option<(&[u8], &[u8])>,
) -> Result<Arc<ClientConfig>, Error> {
    let mut tls = TlsOptions::with_ca_pem(ca_pem)?;
    if let Some((chain, key)) = client {
        tls = tls.with_client_cert_pem(chain, key)?;
    }
    tls.client_config()
}

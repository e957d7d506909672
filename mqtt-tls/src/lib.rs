//! TLS configuration for `mqtts://` and `wss://`, on rustls with the ring provider.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use mqtt_client::Error;

/// TLS settings: which roots to trust, an optional client certificate, and the server name to
/// verify.
///
/// Certificates and host names are always verified unless
/// [`danger_accept_invalid_certs`](TlsOptions::danger_accept_invalid_certs) says otherwise.
///
/// ```no_run
/// use mqtt_tokio::TlsOptions;
///
/// let ca = std::fs::read("ca.pem")?;
/// let tls = TlsOptions::with_ca_pem(&ca)?
///     .with_client_cert_pem(&std::fs::read("client.pem")?, &std::fs::read("client.key")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TlsOptions {
    roots: Roots,
    client_auth: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    /// Verify the certificate against this name instead of the host connected to.
    pub server_name: Option<String>,
    config: Option<Arc<ClientConfig>>,
}

#[derive(Clone)]
enum Roots {
    Store(Arc<RootCertStore>),
    AcceptAnything,
}

impl TlsOptions {
    /// Trust the Mozilla root certificates bundled by `webpki-roots`.
    pub fn webpki_roots() -> TlsOptions {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        TlsOptions::with_roots(roots)
    }

    /// Trust the operating system's root certificates.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when none could be loaded.
    #[cfg(feature = "native-roots")]
    pub fn native_roots() -> Result<TlsOptions, Error> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(loaded.certs);
        if roots.is_empty() {
            return Err(Error::Tls(format!(
                "no system root certificates: {:?}",
                loaded.errors
            )));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// Trust exactly the certificate authorities in `pem` (one or more PEM certificates).
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when `pem` holds no valid certificate.
    pub fn with_ca_pem(pem: &[u8]) -> Result<TlsOptions, Error> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(Error::Tls("no certificate in the CA PEM".into()));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// Trust the roots in `roots`.
    pub fn with_roots(roots: RootCertStore) -> TlsOptions {
        TlsOptions {
            roots: Roots::Store(Arc::new(roots)),
            client_auth: None,
            server_name: None,
            config: None,
        }
    }

    /// Use a `ClientConfig` built by the application as it is (roots, client certificates,
    /// ALPN, crypto provider). The server name is still the host unless
    /// [`server_name`](Self::server_name) is set.
    pub fn from_config(config: Arc<ClientConfig>) -> TlsOptions {
        TlsOptions {
            roots: Roots::Store(Arc::new(RootCertStore::empty())),
            client_auth: None,
            server_name: None,
            config: Some(config),
        }
    }

    /// **Accept any server certificate, for any name.** The connection is encrypted but not
    /// authenticated: anyone on the path can impersonate the broker. For tests against a broker
    /// with a self-signed certificate only.
    pub fn danger_accept_invalid_certs() -> TlsOptions {
        TlsOptions {
            roots: Roots::AcceptAnything,
            client_auth: None,
            server_name: None,
            config: None,
        }
    }

    /// Presents a client certificate (mutual TLS): `chain_pem` holds the certificate chain,
    /// `key_pem` its private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when either does not parse.
    pub fn with_client_cert_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsOptions, Error> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("client certificate: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Tls(
                "no certificate in the client certificate PEM".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::Tls(format!("client key: {e}")))?;
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// Verifies the server's certificate against `name` instead of the host connected to.
    pub fn with_server_name(mut self, name: impl Into<String>) -> TlsOptions {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls configuration these options describe.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when rustls refuses the configuration (a client key that does not fit
    /// the certificate, say).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let provider = Arc::new(crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?;
        let builder = match &self.roots {
            Roots::Store(roots) => builder.with_root_certificates(roots.clone()),
            Roots::AcceptAnything => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider))),
        };
        let config = match &self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| Error::Tls(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// The name to verify the certificate against: [`server_name`](Self::server_name), or
    /// `host`.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when it is neither a DNS name nor an IP address.
    pub fn verified_name(&self, host: &str) -> Result<ServerName<'static>, Error> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|e| Error::Tls(format!("server name {name:?}: {e}")))
    }
}

/// The error of a failed TLS handshake: [`Error::Tls`] when rustls refused the peer (an
/// unknown issuer, a name mismatch, ...), [`Error::Io`] when the socket failed.
pub fn handshake_error(error: std::io::Error) -> Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls_error) => Error::Tls(tls_error.to_string()),
        None => Error::Io(error),
    }
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = match &self.roots {
            Roots::Store(roots) => format!("{} roots", roots.len()),
            Roots::AcceptAnything => "ACCEPTS ANY CERTIFICATE".into(),
        };
        f.debug_struct("TlsOptions")
            .field("roots", &roots)
            .field("client_auth", &self.client_auth.is_some())
            .field("server_name", &self.server_name)
            .field("custom_config", &self.config.is_some())
            .finish()
    }
}

/// The verifier behind [`TlsOptions::danger_accept_invalid_certs`]: checks handshake
/// signatures (so the key exchange is sound) but trusts any certificate.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

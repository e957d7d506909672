//! TLS settings for the MQTT clients of this project (mqtt-tokio, mqtt-async-std,
//! mqtt-blocking), on rustls: which roots to trust, a client certificate, the server name,
//! from memory or from files, and the handshake errors put in words.
//!
//! ```no_run
//! use mqtt_tls::TlsOptions;
//!
//! // A private CA, and a client certificate for mutual TLS, from files:
//! let tls = TlsOptions::with_ca_file("ca.pem")?.with_client_cert_files("client.pem", "client.key")?;
//! let config = tls.client_config()?; // a rustls::ClientConfig
//! # Ok::<(), mqtt_client::Error>(())
//! ```
//!
//! Features: `ring` (default) or `aws-lc-rs` for rustls's crypto (without either, the
//! application installs rustls's process-wide default provider); `webpki-roots` (default) and
//! `native-roots` for root certificates; `encrypted-keys` for PKCS#8 keys encrypted with a
//! password.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use mqtt_client::Error;

pub use rustls;

/// TLS settings: which roots to trust, an optional client certificate, and the server name to
/// verify.
///
/// Certificates and host names are always verified unless
/// [`danger_accept_invalid_certs`](TlsOptions::danger_accept_invalid_certs) says otherwise.
/// When the handshake fails because of the server's certificate, the error's source is the
/// `rustls::Error`, so that the reason can be told apart:
///
/// ```
/// use std::error::Error as _;
/// use mqtt_tls::rustls::{self, CertificateError};
///
/// fn unknown_issuer(error: &mqtt_client::Error) -> bool {
///     matches!(
///         error.source().and_then(|e| e.downcast_ref::<rustls::Error>()),
///         Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
///     )
/// }
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

fn file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::tls_caused(format!("{what} {}", path.display()), e))
}

/// The roots in `pem`, added to `roots`; how many.
fn add_pem(roots: &mut RootCertStore, pem: &[u8], what: &str) -> Result<usize, Error> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::tls(format!("{what}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::tls_caused(what.to_owned(), e))?;
        added += 1;
    }
    Ok(added)
}

impl TlsOptions {
    /// Trust the Mozilla root certificates bundled by `webpki-roots`.
    ///
    /// ```
    /// let tls = mqtt_tls::TlsOptions::webpki_roots();
    /// assert!(tls.client_config().is_ok());
    /// ```
    #[cfg(feature = "webpki-roots")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webpki-roots")))]
    pub fn webpki_roots() -> TlsOptions {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        TlsOptions::with_roots(roots)
    }

    /// Trust the operating system's root certificates.
    ///
    /// ```no_run
    /// let tls = mqtt_tls::TlsOptions::native_roots()?;
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when none could be loaded.
    #[cfg(feature = "native-roots")]
    #[cfg_attr(docsrs, doc(cfg(feature = "native-roots")))]
    pub fn native_roots() -> Result<TlsOptions, Error> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(loaded.certs);
        if roots.is_empty() {
            return Err(Error::tls(format!(
                "no system root certificates: {:?}",
                loaded.errors
            )));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// The roots used when the application names none: `webpki-roots` with that feature,
    /// otherwise the system's with `native-roots`.
    ///
    /// ```
    /// # #[cfg(feature = "webpki-roots")] {
    /// // The usual public roots, for a broker reached by its IP address:
    /// let tls = mqtt_tls::TlsOptions::default_roots()?.with_server_name("broker.example");
    /// assert_eq!(tls.verified_name("10.0.0.7")?.to_str(), "broker.example");
    /// # }
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when neither feature is on, or the system has no roots.
    pub fn default_roots() -> Result<TlsOptions, Error> {
        #[cfg(feature = "webpki-roots")]
        return Ok(TlsOptions::webpki_roots());
        #[cfg(all(feature = "native-roots", not(feature = "webpki-roots")))]
        return TlsOptions::native_roots();
        #[cfg(not(any(feature = "webpki-roots", feature = "native-roots")))]
        Err(Error::tls(
            "no root certificates: name a CA (TlsOptions::with_ca_pem, with_ca_file) or enable \
             the `webpki-roots` or `native-roots` feature",
        ))
    }

    /// Trust exactly the certificate authorities in `pem` (one or more PEM certificates).
    ///
    /// ```no_run
    /// let tls = mqtt_tls::TlsOptions::with_ca_pem(&std::fs::read("ca.pem")?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when `pem` holds no valid certificate.
    pub fn with_ca_pem(pem: &[u8]) -> Result<TlsOptions, Error> {
        let mut roots = RootCertStore::empty();
        if add_pem(&mut roots, pem, "CA certificate")? == 0 {
            return Err(Error::tls("no certificate in the CA PEM"));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// Trust exactly the certificate authorities in the PEM file at `path`.
    ///
    /// ```no_run
    /// let tls = mqtt_tls::TlsOptions::with_ca_file("/etc/mosquitto/ca.pem")?;
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] naming the file when it can't be read or holds no valid certificate.
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<TlsOptions, Error> {
        let path = path.as_ref();
        let pem = file(path, "CA file")?;
        let mut roots = RootCertStore::empty();
        if add_pem(&mut roots, &pem, &format!("CA file {}", path.display()))? == 0 {
            return Err(Error::tls(format!(
                "no certificate in the CA file {}",
                path.display()
            )));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// Trust the certificate authorities in every `.pem` or `.crt` file of the directory at
    /// `path` (as OpenSSL's `CApath`, without the hashed names).
    ///
    /// ```no_run
    /// let tls = mqtt_tls::TlsOptions::with_ca_dir("/etc/ssl/certs")?;
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] naming the directory or file when one can't be read or holds an invalid
    /// certificate, or when the directory holds none.
    pub fn with_ca_dir(path: impl AsRef<Path>) -> Result<TlsOptions, Error> {
        let path = path.as_ref();
        let entries = std::fs::read_dir(path)
            .map_err(|e| Error::tls_caused(format!("CA directory {}", path.display()), e))?;
        let mut files: Vec<_> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("pem") || e.eq_ignore_ascii_case("crt"))
            })
            .collect();
        files.sort();
        let mut roots = RootCertStore::empty();
        for file_path in files {
            let pem = file(&file_path, "CA file")?;
            add_pem(
                &mut roots,
                &pem,
                &format!("CA file {}", file_path.display()),
            )?;
        }
        if roots.is_empty() {
            return Err(Error::tls(format!(
                "no certificate in the CA directory {}",
                path.display()
            )));
        }
        Ok(TlsOptions::with_roots(roots))
    }

    /// Trust the roots in `roots`.
    ///
    /// ```
    /// let tls = mqtt_tls::TlsOptions::with_roots(mqtt_tls::rustls::RootCertStore::empty());
    /// ```
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
    ///
    /// ```no_run
    /// # fn my_config() -> std::sync::Arc<mqtt_tls::rustls::ClientConfig> { unimplemented!() }
    /// let tls = mqtt_tls::TlsOptions::from_config(my_config());
    /// ```
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
    ///
    /// ```
    /// let tls = mqtt_tls::TlsOptions::danger_accept_invalid_certs();
    /// assert!(format!("{tls:?}").contains("ACCEPTS ANY CERTIFICATE"));
    /// ```
    pub fn danger_accept_invalid_certs() -> TlsOptions {
        TlsOptions {
            roots: Roots::AcceptAnything,
            client_auth: None,
            server_name: None,
            config: None,
        }
    }

    /// Presents a client certificate (mutual TLS): `chain_pem` holds the certificate chain,
    /// `key_pem` its private key (PKCS#8, PKCS#1 or SEC1, not encrypted).
    ///
    /// ```no_run
    /// let (chain, key) = (std::fs::read("client.pem")?, std::fs::read("client.key")?);
    /// let tls = mqtt_tls::TlsOptions::with_ca_file("ca.pem")?.with_client_cert_pem(&chain, &key)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when either does not parse.
    pub fn with_client_cert_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsOptions, Error> {
        let chain = chain(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            let hint = if key_pem.starts_with(b"-----BEGIN ENCRYPTED") {
                " (the key is encrypted: use with_encrypted_client_key_pem)"
            } else {
                ""
            };
            Error::tls(format!("client key: {e}{hint}"))
        })?;
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// [`with_client_cert_pem`](Self::with_client_cert_pem) from the files at `chain_path`
    /// and `key_path`.
    ///
    /// ```no_run
    /// let tls = mqtt_tls::TlsOptions::default_roots()?
    ///     .with_client_cert_files("client.pem", "client.key")?;
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] naming the file that can't be read or doesn't parse.
    pub fn with_client_cert_files(
        self,
        chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<TlsOptions, Error> {
        let chain = file(chain_path.as_ref(), "client certificate file")?;
        let key = file(key_path.as_ref(), "client key file")?;
        self.with_client_cert_pem(&chain, &key)
    }

    /// Presents a client certificate whose key is a PKCS#8 key encrypted with `password`
    /// (PEM label `ENCRYPTED PRIVATE KEY`, as `openssl pkcs8 -topk8` writes it; PBES2 with
    /// PBKDF2 or scrypt, and AES-CBC).
    ///
    /// ```no_run
    /// let (chain, key) = (std::fs::read("client.pem")?, std::fs::read("client.key")?);
    /// let tls = mqtt_tls::TlsOptions::default_roots()?
    ///     .with_encrypted_client_key_pem(&chain, &key, "secret")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when the chain or the key does not parse, or the password is wrong.
    #[cfg(feature = "encrypted-keys")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encrypted-keys")))]
    pub fn with_encrypted_client_key_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
        password: impl AsRef<[u8]>,
    ) -> Result<TlsOptions, Error> {
        use pkcs8::der::Decode;
        let chain = chain(chain_pem)?;
        let pem = std::str::from_utf8(key_pem).map_err(|e| Error::tls_caused("client key", e))?;
        let (label, der) = pkcs8::der::pem::decode_vec(pem.as_bytes())
            .map_err(|e| Error::tls(format!("client key: {e}")))?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(Error::tls(format!(
                "client key: a PEM {label:?}, not an \"ENCRYPTED PRIVATE KEY\""
            )));
        }
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(&der)
            .map_err(|e| Error::tls(format!("client key: {e}")))?;
        let key = info.decrypt(password).map_err(|e| {
            Error::tls(format!(
                "client key: can't decrypt it ({e}): wrong password, or an unsupported cipher"
            ))
        })?;
        let key = PrivateKeyDer::Pkcs8(key.as_bytes().to_vec().into());
        self.client_auth = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// Verifies the server's certificate against `name` instead of the host connected to.
    ///
    /// ```
    /// let tls = mqtt_tls::TlsOptions::danger_accept_invalid_certs().with_server_name("broker.local");
    /// assert_eq!(tls.server_name.as_deref(), Some("broker.local"));
    /// ```
    pub fn with_server_name(mut self, name: impl Into<String>) -> TlsOptions {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls configuration these options describe.
    ///
    /// ```
    /// # #[cfg(feature = "webpki-roots")] {
    /// let config = mqtt_tls::TlsOptions::webpki_roots().client_config()?;
    /// assert!(config.alpn_protocols.is_empty());
    /// # }
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when there is no crypto provider (see the crate's features), or rustls
    /// refuses the configuration (a client key that does not fit the certificate, say).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let provider = provider()?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::tls_caused("TLS versions", e))?;
        let builder = match &self.roots {
            Roots::Store(roots) => builder.with_root_certificates(roots.clone()),
            Roots::AcceptAnything => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider))),
        };
        let config = match &self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| Error::tls_caused("client certificate", e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// The name to verify the certificate against: [`server_name`](Self::server_name), or
    /// `host`.
    ///
    /// ```
    /// let tls = mqtt_tls::TlsOptions::danger_accept_invalid_certs();
    /// assert_eq!(tls.verified_name("127.0.0.1")?.to_str(), "127.0.0.1");
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when it is neither a DNS name nor an IP address.
    pub fn verified_name(&self, host: &str) -> Result<ServerName<'static>, Error> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|e| Error::tls_caused(format!("server name {name:?}"), e))
    }
}

fn chain(chain_pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::tls(format!("client certificate: {e}")))?;
    if chain.is_empty() {
        return Err(Error::tls("no certificate in the client certificate PEM"));
    }
    Ok(chain)
}

/// The crypto provider: aws-lc-rs or ring by feature, otherwise the process default.
fn provider() -> Result<Arc<CryptoProvider>, Error> {
    #[cfg(feature = "aws-lc-rs")]
    return Ok(Arc::new(crypto::aws_lc_rs::default_provider()));
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Ok(Arc::new(crypto::ring::default_provider()));
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    CryptoProvider::get_default().cloned().ok_or_else(|| {
        Error::tls(
            "no crypto provider: enable the `ring` or `aws-lc-rs` feature, or install rustls's \
             default provider (CryptoProvider::install_default)",
        )
    })
}

/// The error of a failed TLS handshake with `address` (`host:port`): [`Error::Tls`] when
/// rustls refused the peer (the `rustls::Error` is the source), or when the server hung up
/// or did not speak TLS at all (with a hint that it may be a plain port); [`Error::Io`]
/// when the socket failed otherwise.
///
/// ```
/// let io = std::io::Error::new(
///     std::io::ErrorKind::InvalidData,
///     mqtt_tls::rustls::Error::InvalidMessage(mqtt_tls::rustls::InvalidMessage::InvalidContentType),
/// );
/// let error = mqtt_tls::handshake_error("127.0.0.1:1883", io);
/// assert!(error.to_string().contains("plain MQTT port"));
/// ```
pub fn handshake_error(address: &str, error: std::io::Error) -> Error {
    if error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
    {
        let plain = matches!(
            error
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>()),
            Some(rustls::Error::InvalidMessage(_))
        );
        let context = if plain {
            format!(
                "TLS handshake with {address}: the server does not answer in TLS; is this a \
                 plain MQTT port? (then use mqtt:// or ws://)"
            )
        } else {
            format!("TLS handshake with {address}")
        };
        let tls = error
            .into_inner()
            .and_then(|inner| inner.downcast::<rustls::Error>().ok())
            .map(|e| *e);
        return match tls {
            Some(tls) => Error::tls_caused(context, tls),
            None => Error::tls(context),
        };
    }
    if matches!(
        error.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    ) {
        // A plain MQTT server reads the ClientHello as a malformed packet and hangs up
        // (rumqttd closes, mosquitto resets).
        return Error::tls_caused(
            format!(
                "TLS handshake with {address}: the server closed the connection; is this a \
                 plain MQTT port? (then use mqtt:// or ws://)"
            ),
            error,
        );
    }
    Error::Io(error)
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

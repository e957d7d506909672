//! Certificates for the TLS tests: a CA, a server certificate for `localhost` and
//! `127.0.0.1`, a client certificate, and an unrelated CA.

use std::sync::Arc;

use mqtt_tokio::rustls::pki_types::pem::PemObject;
use mqtt_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use mqtt_tokio::rustls::server::WebPkiClientVerifier;
use mqtt_tokio::rustls::{RootCertStore, ServerConfig, crypto};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// PEM files, as the tests and the TLS front need them.
pub struct Pki {
    pub ca: String,
    pub wrong_ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

fn new_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).expect("CA certificate"), key)
}

fn leaf(names: &[&str], issuer: &rcgen::Certificate, issuer_key: &KeyPair) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = CertificateParams::new(names).expect("leaf params");
    let cert = params
        .signed_by(&key, issuer, issuer_key)
        .expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn generate() -> Pki {
        let (ca, ca_key) = new_ca("mqtt test CA");
        let (wrong_ca, _) = new_ca("unrelated CA");
        let (server_cert, server_key) = leaf(&["localhost", "127.0.0.1"], &ca, &ca_key);
        let (client_cert, client_key) = leaf(&["test-client"], &ca, &ca_key);
        Pki {
            ca: ca.pem(),
            wrong_ca: wrong_ca.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }

    /// The server side: the server certificate, and with `mutual` a required client
    /// certificate signed by the CA.
    pub fn server_config(&self, mutual: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.server_cert.as_bytes())
                .collect::<Result<_, _>>()
                .expect("server chain");
        let key = PrivateKeyDer::from_pem_slice(self.server_key.as_bytes()).expect("server key");
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if mutual {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(self.ca.as_bytes()) {
                roots.add(cert.expect("CA")).expect("CA root");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(builder.with_single_cert(chain, key).expect("server config"))
    }
}

//! TLS settings from files: a CA file, a CA directory, a client certificate and key, an
//! encrypted PKCS#8 key; and errors that name the file and say what is wrong.

use std::path::PathBuf;

use mqtt_tls::TlsOptions;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqtt-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_ca_file_is_trusted() {
    let tls = TlsOptions::with_ca_file(data("client.pem")).expect("a PEM certificate");
    assert!(tls.client_config().is_ok());
}

#[test]
fn a_missing_or_empty_ca_file_is_named() {
    let error = TlsOptions::with_ca_file(data("absent.pem")).unwrap_err();
    assert!(error.to_string().contains("absent.pem"), "{error}");
    let error = TlsOptions::with_ca_file(data("encrypted.key")).unwrap_err();
    assert!(
        error.to_string().contains("no certificate in the CA file"),
        "{error}"
    );
}

#[test]
fn a_ca_directory_takes_every_pem_and_crt_file() {
    let dir = scratch("ca-dir");
    std::fs::copy(data("client.pem"), dir.join("one.pem")).unwrap();
    std::fs::copy(data("client.pem"), dir.join("two.crt")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a certificate").unwrap();
    assert!(TlsOptions::with_ca_dir(&dir).is_ok());

    let empty = scratch("ca-dir-empty");
    std::fs::write(empty.join("notes.txt"), "not a certificate").unwrap();
    let error = TlsOptions::with_ca_dir(&empty).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no certificate in the CA directory"),
        "{error}"
    );
    let error = TlsOptions::with_ca_dir(empty.join("absent")).unwrap_err();
    assert!(error.to_string().contains("CA directory"), "{error}");
}

#[test]
fn an_encrypted_key_needs_its_password() {
    let error = TlsOptions::with_ca_file(data("client.pem"))
        .unwrap()
        .with_client_cert_files(data("client.pem"), data("encrypted.key"))
        .unwrap_err();
    assert!(
        error.to_string().contains("with_encrypted_client_key_pem"),
        "{error}"
    );
    let error = TlsOptions::with_ca_file(data("client.pem"))
        .unwrap()
        .with_client_cert_files(data("client.pem"), data("absent.key"))
        .unwrap_err();
    assert!(error.to_string().contains("client key file"), "{error}");
}

#[cfg(feature = "encrypted-keys")]
#[test]
fn an_encrypted_pkcs8_key_is_decrypted() {
    let chain = std::fs::read(data("client.pem")).unwrap();
    let key = std::fs::read(data("encrypted.key")).unwrap();
    let tls = TlsOptions::with_ca_file(data("client.pem"))
        .unwrap()
        .with_encrypted_client_key_pem(&chain, &key, "secret")
        .expect("the right password");
    assert!(tls.client_config().is_ok(), "the key fits the certificate");
    let error = TlsOptions::with_ca_file(data("client.pem"))
        .unwrap()
        .with_encrypted_client_key_pem(&chain, &key, "wrong")
        .unwrap_err();
    assert!(error.to_string().contains("wrong password"), "{error}");
}

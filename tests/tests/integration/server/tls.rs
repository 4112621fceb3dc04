//! TLS termination: `wss://` with the project's client and `https://` on
//! the same port, with a certificate generated at test time; bad files are
//! clear startup errors.

use std::path::PathBuf;
use std::sync::Arc;

use rpc_client::Client;
use rpc_server::{Server, ServerConfig, ServerHandle, rpc_service};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use ws::within;

use crate::common::fixtures::LIMIT;
use crate::common::ws;

struct Calc;

#[rpc_service]
impl Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn echo(&self, s: String) -> String {
        s
    }
}

/// A self-signed certificate for localhost, written to PEM files.
struct Certificate {
    dir: PathBuf,
    pem: String,
}

impl Certificate {
    fn generate(name: &str) -> Self {
        let generated = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("a certificate");
        let dir = std::env::temp_dir().join(format!("rpc-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = generated.cert.pem();
        std::fs::write(dir.join("cert.pem"), &pem).unwrap();
        std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
        Self { dir, pem }
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

fn start(certificate: &Certificate) -> ServerHandle {
    Server::builder()
        .tls(certificate.cert(), certificate.key())
        .serve("127.0.0.1:0", Calc)
        .expect("TLS server")
        .spawn()
}

#[tokio::test]
async fn wss_with_the_projects_client() {
    within(LIMIT, async {
        let certificate = Certificate::generate("wss");
        let server = start(&certificate);
        let url = format!("wss://localhost:{}", server.local_addr().port());
        let client = Client::builder(&url)
            .tls_root_certificates(certificate.pem.as_bytes())
            .connect()
            .await
            .expect("a wss connection");
        assert_eq!(client.call::<i64>("add", (2, 3)).await.unwrap(), 5);
        // Large messages, read and written beside tungstenite, go through
        // TLS as well.
        let large: String = (0..300_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let echoed = client
            .call::<String>("echo", (large.clone(),))
            .await
            .unwrap();
        assert!(echoed == large, "the 300 KB echo came back intact");
        // Without trusting the certificate, the connection is refused.
        assert!(
            Client::builder(&url)
                .no_reconnect()
                .connect()
                .await
                .is_err()
        );
        server.shutdown_and_wait().await;
    })
    .await;
}

#[tokio::test]
async fn https_on_the_same_port() {
    within(LIMIT, async {
        let certificate = Certificate::generate("https");
        let server = start(&certificate);
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(certificate.pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("a TLS session");
        let body = r#"{"jsonrpc":"2.0","method":"add","params":[20,22],"id":1}"#;
        let request = format!(
            "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let _ = tls.read_to_end(&mut response).await;
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(r#"{"jsonrpc":"2.0","result":42,"id":1}"#), "{response}");
        server.shutdown_and_wait().await;
    })
    .await;
}

#[test]
fn a_missing_or_bad_file_is_a_clear_startup_error() {
    let certificate = Certificate::generate("bad");
    let missing = certificate.dir.join("nope.pem");
    let server = Server::builder()
        .tls(&missing, certificate.key())
        .serve("127.0.0.1:0", Calc);
    let message = server.expect_err("no certificate").to_string();
    assert!(
        message.contains("certificate chain") && message.contains("nope.pem"),
        "{message}"
    );

    // The certificate where the key should be.
    let server = Server::builder()
        .tls(certificate.cert(), certificate.cert())
        .serve("127.0.0.1:0", Calc);
    let message = server.expect_err("no key").to_string();
    assert!(message.contains("private key"), "{message}");
}

#[test]
fn tls_is_configured_from_the_environment() {
    let vars = |cert: Option<&str>, key: Option<&str>| {
        let (cert, key) = (cert.map(str::to_owned), key.map(str::to_owned));
        ServerConfig::from_lookup(move |name| match name {
            "RPC_TLS_CERT" => cert.clone(),
            "RPC_TLS_KEY" => key.clone(),
            _ => None,
        })
    };
    let config = vars(Some("/c.pem"), Some("/k.pem")).unwrap();
    let tls = config.tls.expect("TLS configured");
    assert_eq!(tls.cert_chain, PathBuf::from("/c.pem"));
    assert_eq!(
        vars(Some("/c.pem"), None).unwrap_err().variable(),
        "RPC_TLS_KEY"
    );
    assert_eq!(
        vars(None, Some("/k.pem")).unwrap_err().variable(),
        "RPC_TLS_CERT"
    );
}

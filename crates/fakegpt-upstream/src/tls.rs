//! HTTPS for the emulator: a self-signed certificate for `localhost` and
//! `127.0.0.1`, and a TLS listener for `axum::serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A freshly made certificate and the server configuration that uses it.
pub struct Identity {
    /// The certificate in PEM, for clients to trust.
    pub cert_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl Identity {
    /// A self-signed certificate for `localhost` and `127.0.0.1`.
    pub fn self_signed() -> std::io::Result<Identity> {
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names).map_err(|e| other(&e))?;
        let cert_pem = certified.cert.pem();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| other(&e))?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .map_err(|e| other(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Identity {
            cert_pem,
            config: Arc::new(config),
        })
    }
}

/// A TCP listener that completes a TLS handshake before handing out each
/// connection (handshakes that fail or take over 5 s are dropped).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Wraps `tcp` with `identity`.
    pub fn new(tcp: TcpListener, identity: &Identity) -> Self {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::clone(&identity.config)),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handshake = self.acceptor.accept(stream);
            match tokio::time::timeout(Duration::from_secs(5), handshake).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(err)) => tracing::debug!(%err, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

//! TLS on the agent link: a server with a generated certificate and agents
//! pinning its fingerprint, over real loopback sockets.

use pilot_core::protocol::{
    AgentMessage, CertFingerprint, FrameCodec, NodeToken, SelfSignedCert, ServerMessage,
    TlsAcceptor, TlsConnector, TlsIdentity, pinned_client_config,
};
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Accepts one TLS connection, reads a hello, answers with a welcome.
async fn serve_once(
    identity: &TlsIdentity,
) -> (std::net::SocketAddr, JoinHandle<Option<AgentMessage>>) {
    let acceptor = TlsAcceptor::from(identity.server_config().expect("server config"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut tls = acceptor.accept(tcp).await.ok()?;
        let codec = FrameCodec::new();
        let hello: Option<AgentMessage> = codec.read(&mut tls).await.expect("read hello");
        codec
            .write(&mut tls, &ServerMessage::welcome("web-1", 10))
            .await
            .expect("write welcome");
        hello
    });
    (addr, task)
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("pilot.invalid").expect("name")
}

#[tokio::test]
async fn agent_pinning_the_generated_certificate_exchanges_frames() {
    let generated = SelfSignedCert::generate(&["localhost".into()]).expect("generate");
    let identity = generated.identity().expect("identity");
    let fingerprint: CertFingerprint = identity.fingerprint().to_string().parse().expect("parse");
    let (addr, server) = serve_once(&identity).await;

    let connector = TlsConnector::from(pinned_client_config(fingerprint).expect("client config"));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut tls = connector
        .connect(server_name(), tcp)
        .await
        .expect("handshake");

    let codec = FrameCodec::new();
    let hello = AgentMessage::hello("web-1", NodeToken::generate(), serde_json::json!({}));
    codec.write(&mut tls, &hello).await.expect("write hello");
    let welcome: Option<ServerMessage> = codec.read(&mut tls).await.expect("read welcome");
    assert_eq!(welcome, Some(ServerMessage::welcome("web-1", 10)));
    assert_eq!(server.await.expect("server task"), Some(hello));
}

#[tokio::test]
async fn agent_pinning_another_certificate_refuses_the_server() {
    let identity = SelfSignedCert::generate(&["localhost".into()])
        .and_then(|c| c.identity())
        .expect("identity");
    let other = SelfSignedCert::generate(&["localhost".into()])
        .and_then(|c| c.identity())
        .expect("other identity");
    assert_ne!(identity.fingerprint(), other.fingerprint());
    let (addr, server) = serve_once(&identity).await;

    let connector =
        TlsConnector::from(pinned_client_config(other.fingerprint()).expect("client config"));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let err = connector
        .connect(server_name(), tcp)
        .await
        .expect_err("handshake must fail");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert_eq!(
        server.await.expect("server task"),
        None,
        "server saw no hello"
    );
}

#[test]
fn identity_loads_from_pem_files() {
    let generated =
        SelfSignedCert::generate(&["localhost".into(), "127.0.0.1".into()]).expect("generate");
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = dir.path().join("server.crt");
    let key_path = dir.path().join("server.key");
    std::fs::write(&cert_path, &generated.cert_pem).expect("write cert");
    std::fs::write(&key_path, &generated.key_pem).expect("write key");

    let from_files = TlsIdentity::from_pem_files(&cert_path, &key_path).expect("load");
    let from_memory = generated.identity().expect("identity");
    assert_eq!(from_files.fingerprint(), from_memory.fingerprint());
    from_files.server_config().expect("server config");

    let err = TlsIdentity::from_pem_files(&dir.path().join("missing.crt"), &key_path).unwrap_err();
    assert!(err.to_string().contains("missing.crt"), "{err}");
}

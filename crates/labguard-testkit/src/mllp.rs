//! The instrument edge in-process: a listener on ephemeral loopback ports over a real store,
//! and a mutual-TLS client sending one result.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_mllp::{Config, EnrollRequest, Server};
use labguard_store::Store;

/// A listener on ephemeral loopback ports; dropped with the runtime's shutdown sender.
pub struct Running {
    pub tls: SocketAddr,
    pub tcp: SocketAddr,
    /// The ASTM listeners (mutual TLS, legacy plain TCP).
    pub astm_tls: SocketAddr,
    pub astm_tcp: SocketAddr,
    /// The POCT1-A2 listeners (mutual TLS, legacy plain TCP).
    pub poct_tls: SocketAddr,
    pub poct_tcp: SocketAddr,
    pub stop: tokio::sync::oneshot::Sender<()>,
}

/// Binds every listener (MLLP, ASTM and POCT1-A2, each on mutual TLS and plain TCP) for the data dir
/// at `data_path` and runs them on the current runtime until `stop` is sent or dropped.
pub async fn start(data_path: &Path, store: Arc<Store>) -> Running {
    start_with(data_path, store, |_| {}).await
}

/// [`start`] with the configuration adjusted by `tune` (deadlines, limits) first.
pub async fn start_with(
    data_path: &Path,
    store: Arc<Store>,
    tune: impl FnOnce(&mut Config),
) -> Running {
    let mut cfg = Config::new(data_path);
    let any = || Some("127.0.0.1:0".parse().unwrap());
    cfg.tls_listen = any();
    cfg.tcp_listen = any();
    cfg.astm_tls_listen = any();
    cfg.astm_tcp_listen = any();
    cfg.poct_tls_listen = any();
    cfg.poct_tcp_listen = any();
    cfg.refresh = Duration::from_millis(100);
    tune(&mut cfg);
    let server = Server::bind(store, cfg).await.unwrap();
    let (tls, tcp) = (server.tls_addr().unwrap(), server.tcp_addr().unwrap());
    let (astm_tls, astm_tcp) = (
        server.astm_tls_addr().unwrap(),
        server.astm_tcp_addr().unwrap(),
    );
    let (poct_tls, poct_tcp) = (
        server.poct_tls_addr().unwrap(),
        server.poct_tcp_addr().unwrap(),
    );
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    Running {
        tls,
        tcp,
        astm_tls,
        astm_tcp,
        poct_tls,
        poct_tcp,
        stop,
    }
}

/// A mutual-TLS analyzer sending glucose as CHEM/CORELAB.
pub fn tls_req(name: &str) -> EnrollRequest {
    EnrollRequest {
        name: name.into(),
        sending_app: "CHEM".into(),
        sending_facility: "CORELAB".into(),
        analytes: vec!["2345-7".into()],
        legacy_allow: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

/// Sends one ORU for MRN-1 over mutual TLS with the device's certificate (`cert`, `key`)
/// trusting `ca_pem`, and returns the ACK code.
pub fn send_tls(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    ca_pem: &str,
    (cert, key): (&str, &str),
    control: &str,
) -> Option<String> {
    let cfg = tls_client_config(ca_pem, Some((cert, key))).unwrap();
    let mut c = rt.block_on(Client::tls(addr, "localhost", cfg)).unwrap();
    let ack = rt
        .block_on(c.send(crate::hl7::oru(control, "MRN-1", "95").as_bytes()))
        .unwrap();
    ack_code(&ack)
}
